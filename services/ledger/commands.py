"""Commands the ledger accepts (imperative names)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from services.ledger.model import Actor


@dataclass(frozen=True)
class CreateTransfer:
    """A resident creates a bill (they are paid), a credit (they pay) or an award claim (community pays them)."""

    actor: Actor
    workflow: str
    unit: str
    counterparty_id: str | None = None
    amount: int | None = None
    counterparty_community: str | None = None  # another community's member: a cross-community transfer
    memo: str | None = None
    minutes: int | None = None
    activity_type: str | None = None
    service_class: str = "ordinary"
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)
    # Chosen with the command, so what it will touch is known before it runs (the shard of a hot account it
    # debits is read with the group's other documents) and a retry of the same command makes the same transfer.
    transfer_id: str = field(default_factory=lambda: "t_" + uuid.uuid4().hex)


@dataclass(frozen=True)
class ConfirmTransfer:
    actor: Actor
    transfer_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RejectTransfer:
    actor: Actor
    transfer_id: str
    reason: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CancelTransfer:
    actor: Actor
    transfer_id: str
    reason: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReverseTransfer:
    """An admin compensates a posted transfer with an opposite, posted one that references it."""

    actor: Actor
    transfer_id: str
    reason: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class GrantCreditLimit:
    """An admin sets an account's credit limit (a points loan or an hours overdraft)."""

    actor: Actor
    account_id: str
    credit_limit: int
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SetGiftPreference:
    """A member opts in (or out) of accepting gifts automatically (SPEC §4 `credit` auto-accept)."""

    actor: Actor
    auto_accept_credits: bool


@dataclass(frozen=True)
class IssuePayCode:
    """A member asks for a one-time code to show at a shop's till."""

    actor: Actor
    max_points: int
    ttl_seconds: int
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExpireTransfer:
    """The scheduler lapses a pending transfer whose TTL ran out (or auto-confirms a bill)."""

    transfer_id: str


@dataclass(frozen=True)
class ExpireLots:
    """The scheduler expires what remains of one member's lots due on `today` (the community's local day)."""

    account_id: str
    today: date


@dataclass(frozen=True)
class RemindExpiry:
    """The scheduler reminds one member of points expiring soon (the rules' reminder days before)."""

    account_id: str
    today: date


@dataclass(frozen=True)
class IssuePenalty:
    """A grid worker or admin penalises a member of their community (a reason the rules price)."""

    actor: Actor
    member_id: str
    reason: str
    memo: str | None = None
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RepairPenalty:
    """积分修复: a grid worker or admin restores points of a penalty after the member's community service."""

    actor: Actor
    penalty_id: str
    points: int
    memo: str | None = None
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


# -- appeals (积分异议申诉, services/ledger/appeals.py) ----------------------------------------------------
@dataclass(frozen=True)
class FileAppeal:
    """A member disputes one of their own decisions (an award, a cap cut, a penalty, an expiry, a disputed claim)."""

    actor: Actor
    kind: str
    subject_id: str
    reason: str
    points: int | None = None
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class UpholdAppeal:
    """A reviewer upholds an appeal with a compensation of `amount` (None: all that is disputed)."""

    actor: Actor
    appeal_id: str
    amount: int | None = None
    paid_by: str | None = None  # a disputed bill only: "community" pays instead of the requester
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DismissAppeal:
    """A reviewer dismisses an appeal with a reason."""

    actor: Actor
    appeal_id: str
    reason: str
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


# -- importing a community's past points records (services/ledger/history.py) -----------------------------
@dataclass(frozen=True)
class ImportPastPoints:
    """A staff migration step: a chunk of a community's past points records (a paper ledger, a previous system),
    each posted at its own past time `at`. `by` names who ran the import; `dry_run` checks and writes nothing."""

    community_id: str
    records: tuple  # of history.PastRecord
    by: str
    batch: str
    dry_run: bool = False
