"""Commands the requests service accepts (imperative names); `at` is the moment the caller acted."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    """Who acts: member and community from the token, and whether they hold a staff role."""

    member_id: str
    community_id: str
    is_staff: bool = False


@dataclass(frozen=True)
class PostRequest:
    actor: Actor
    fields: dict
    at: datetime
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AcceptRequest:
    actor: Actor
    request_id: str
    at: datetime


@dataclass(frozen=True)
class ReleaseHelper:
    actor: Actor
    request_id: str
    at: datetime


@dataclass(frozen=True)
class CancelRequest:
    actor: Actor
    request_id: str
    at: datetime


@dataclass(frozen=True)
class IssueCheckCode:
    actor: Actor
    request_id: str
    at: datetime


@dataclass(frozen=True)
class CheckIn:
    actor: Actor
    request_id: str
    code: str
    at: datetime


@dataclass(frozen=True)
class CheckOut:
    actor: Actor
    request_id: str
    code: str
    at: datetime


@dataclass(frozen=True)
class AgreeClaim:
    actor: Actor
    request_id: str
    minutes: int
    at: datetime


@dataclass(frozen=True)
class ClaimHelp:
    actor: Actor
    request_id: str
    minutes: int
    at: datetime
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RateHelp:
    actor: Actor
    request_id: str
    stars: int
    comment: str
    at: datetime


@dataclass(frozen=True)
class ExpireRequest:
    request_id: str
    at: datetime


@dataclass(frozen=True)
class PostOffer:
    actor: Actor
    fields: dict
    at: datetime


@dataclass(frozen=True)
class WithdrawOffer:
    actor: Actor
    offer_id: str
    at: datetime


@dataclass(frozen=True)
class PublishActivity:
    actor: Actor
    fields: dict
    at: datetime


@dataclass(frozen=True)
class SignUpForActivity:
    actor: Actor
    activity_id: str
    at: datetime


@dataclass(frozen=True)
class WithdrawFromActivity:
    actor: Actor
    activity_id: str
    at: datetime


@dataclass(frozen=True)
class VerifyAttendance:
    actor: Actor
    activity_id: str
    member_id: str
    minutes: int | None
    at: datetime
