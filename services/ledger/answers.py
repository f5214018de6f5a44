"""What the ledger answers about a transfer or an account: plain JSON values, the same for a command's
answer (and its idempotent replay) and for the read side (views)."""
from __future__ import annotations

from datetime import datetime

from services.ledger.model import Account, Transfer


def iso(value: datetime | None) -> str | None:
    """A time as ISO 8601 (None stays None)."""
    return value.isoformat() if value else None


def transfer_view(t: Transfer) -> dict:
    """A transfer as clients see it (plain JSON values, so an idempotent replay answers identically)."""
    return {"transfer_id": t.transfer_id, "community_id": t.community_id, "workflow": t.workflow, "unit": t.unit,
            "amount": t.amount, "debit_account": t.debit_account, "credit_account": t.credit_account,
            "payer_id": t.payer_id, "payee_id": t.payee_id, "initiator_id": t.initiator_id, "state": t.state,
            "reason": t.reason, "reference": t.reference, "memo": t.memo, "funds_reserved": t.reserved > 0,
            "created_at": iso(t.created_at), "expires_at": iso(t.expires_at), "resolved_at": iso(t.resolved_at),
            "resolved_by": t.resolved_by, "cross": t.cross, **economy_view(t)}


def economy_view(t: Transfer) -> dict:
    """What the points economy recorded on a transfer: the award's computation (amount, status, rule version,
    every line, its cap cuts, its words), the point lots it moved, an expiry's or penalty's lines."""
    return {k: t.details[k] for k in ("award", "lots", "economy") if t.details.get(k)}


def account_view(a: Account) -> dict:
    """An account's balances."""
    return {"account_id": a.account_id, "unit": a.unit, "kind": a.kind, "owner_id": a.owner_id,
            "status": a.status, "posted": a.posted, "pending_in": a.pending_in, "pending_out": a.pending_out,
            "credit_limit": a.credit_limit, "available": a.available}
