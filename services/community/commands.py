"""Commands the community service accepts (imperative names)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CreateCommunity:
    code: str
    name: str
    point_value_fen: int
    admin: dict
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateCommunity:
    community_id: str
    changes: dict
    by: str | None = None   # the admin (settings.points_rules publishes a rules version in their name)
    at: object = None       # datetime: when (a rules version set through the settings takes effect then)


@dataclass(frozen=True)
class CreateGrid:
    community_id: str
    name: str
    neighbours: list = field(default_factory=list)


@dataclass(frozen=True)
class RegisterMember:
    community_id: str
    fields: dict


@dataclass(frozen=True)
class UpdateMember:
    community_id: str
    member_id: str
    changes: dict


@dataclass(frozen=True)
class DeactivateMember:
    community_id: str
    member_id: str


@dataclass(frozen=True)
class LogIn:
    community_code: str
    phone: str
    secret: str


@dataclass(frozen=True)
class ProposePartnership:
    """An admin of `community_id` proposes a partner agreement to the community whose code is `partner_code`."""

    community_id: str
    partner_code: str
    units: list
    clearing_period: str
    at: object  # datetime: time travels in commands


@dataclass(frozen=True)
class ActOnPartnership:
    """An admin of `community_id` accepts, declines, suspends, resumes or ends an agreement."""

    community_id: str
    agreement_id: str
    action: str
    at: object


@dataclass(frozen=True)
class PublishPointsRules:
    """An admin publishes a new version of the community's points rules, in effect from `effective_from`
    (None: at once); fields left out of `rules` keep the previous version's values."""

    community_id: str
    rules: dict
    effective_from: object  # datetime | None
    by: str | None
    at: object


@dataclass(frozen=True)
class ReplacePointsRules:
    """An admin replaces a version that has not taken effect yet."""

    community_id: str
    version: int
    rules: dict
    effective_from: object
    by: str | None
    at: object


@dataclass(frozen=True)
class RequestSimulation:
    """An admin asks for a rules simulation: the proposed rules (a stored version, or a draft document built on
    the current rules) against the current ones (the version in effect at `at`, or `current_version`), over a
    synthetic community (`params`, seeded)."""

    community_id: str
    params: dict
    proposed_version: int | None
    proposed_rules: dict | None
    current_version: int | None
    by: str
    at: object


@dataclass(frozen=True)
class StartMemberImport:
    """Before a bulk import: the community must exist; its rows are checked against its grids and members (or
    the first answer is given again, when this Idempotency-Key was used)."""

    community_id: str
    key: str | None
    body: dict
    rows: tuple  # member_import.Row | Outcome per row, as the create schema loaded them


@dataclass(frozen=True)
class ImportMembers:
    """One chunk of a bulk import: members already made (checked, secrets hashed, joined at the import's time),
    each with its row number; a phone registered meanwhile is found, not duplicated."""

    community_id: str
    members: tuple  # ((row, Member), ...)


@dataclass(frozen=True)
class FinishMemberImport:
    """After a bulk import: its answer, remembered under its Idempotency-Key."""

    community_id: str
    key: str | None
    body: dict
    answer: dict
