"""Commands the settlement service accepts (imperative names); `actor` is the authenticated caller."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.auth import Principal


@dataclass(frozen=True)
class RegisterMerchant:
    actor: Principal
    fields: dict


@dataclass(frozen=True)
class UpdateMerchant:
    actor: Principal
    merchant_id: str
    changes: dict


@dataclass(frozen=True)
class AddCatalogItem:
    actor: Principal
    merchant_id: str
    fields: dict


@dataclass(frozen=True)
class UpdateCatalogItem:
    actor: Principal
    item_id: str
    changes: dict


@dataclass(frozen=True)
class RequestRedemption:
    """Merchant staff charge a member's points at the till."""

    actor: Principal
    merchant_id: str
    member_id: str | None  # None: the member named by the pay code
    points: int
    bill_fen: int
    pay_code: str | None = None
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OrderCatalogItem:
    """A member orders an item of the points mall."""

    actor: Principal
    item_id: str
    pay_code: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CreateCharge:
    """Merchant staff ask for a bill to be paid partly in points (a 收款码, or a bill addressed to a member)."""

    actor: Principal
    merchant_id: str
    bill_fen: int
    memo: str
    member_id: str | None
    ttl_minutes: int
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PayCharge:
    """A member pays a charge with some of their points (they approve the ledger's charge next)."""

    actor: Principal
    charge_id: str
    points: int
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CreateBatch:
    """Draft (and optionally close) a merchant's batch of every completed, unbatched redemption before cutoff."""

    merchant_id: str
    community_id: str
    cutoff: datetime
    close: bool = False


@dataclass(frozen=True)
class CloseBatch:
    batch_id: str
    community_id: str


@dataclass(frozen=True)
class AcknowledgeOverBudget:
    batch_id: str
    community_id: str
    actor_id: str


@dataclass(frozen=True)
class PayBatch:
    batch_id: str
    community_id: str
    payment_reference: str


@dataclass(frozen=True)
class TopUpSponsorBudget:
    community_id: str
    amount_fen: int
    reference: str
    actor_id: str
