"""Events the ledger publishes on ledger.events (ids and amounts only; memos and names stay out)."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event
from services.ledger.model import CANCELLED, EXPIRED, PENDING, POSTED, REJECTED, Account, Transfer

PRODUCER = "ledger"
TRANSFER_EVENT = {PENDING: "TransferPending", POSTED: "TransferPosted", REJECTED: "TransferRejected",
                  CANCELLED: "TransferCancelled", EXPIRED: "TransferExpired"}
OWNER_KIND = {"member": "member", "system": "system", "merchant": "merchant", "partner": "partner"}


def _emit(tx, type_: str, payload: dict, key: str, causation_id: str | None = None):
    return tx.emit(topics.LEDGER, new_event(type_, payload, key=key, producer=PRODUCER,
                                            community_id=payload["community_id"], causation_id=causation_id))


def transfer_payload(t: Transfer, occurred_at) -> dict:
    """The payload every transfer event carries (a reversal also names the transfer it compensates: `reverses`,
    with that transfer's workflow and reference)."""
    payload = {"transfer_id": t.transfer_id, "community_id": t.community_id, "workflow": t.workflow,
               "unit": t.unit, "amount": t.amount, "debit_account": t.debit_account,
               "credit_account": t.credit_account, "payer_id": t.payer_id, "payee_id": t.payee_id,
               "initiator_id": t.initiator_id, "state": t.state, "reason": t.reason, "reference": t.reference,
               "occurred_at": occurred_at.isoformat()}
    if t.details.get("reverses"):
        payload["reverses"] = t.details["reverses"]
    award = t.details.get("award")
    if award:  # the member and staff learn of a cap cut or a hold from the event, not only from the API
        payload["award"] = {k: award[k] for k in ("amount", "status", "rule_version", "cuts")}
    if t.cross:
        payload["cross"] = t.cross
    return payload


def transfer_changed(tx, t: Transfer, occurred_at, causation_id: str | None = None):
    """TransferPending / Posted / Rejected / Cancelled / Expired, by the transfer's state."""
    return _emit(tx, TRANSFER_EVENT[t.state], transfer_payload(t, occurred_at), t.transfer_id, causation_id)


def account_opened(tx, a: Account, type_: str = "AccountOpened", **extra):
    """AccountOpened / CreditLimitChanged: the account's snapshot (credit_limit -1 means unlimited)."""
    return _emit(tx, type_, {"account_id": a.account_id, "community_id": a.community_id,
                             "owner_kind": OWNER_KIND[a.kind], "owner_id": a.owner_id, "unit": a.unit,
                             "credit_limit": a.credit_limit if a.credit_limit is not None else -1, **extra},
                 a.account_id)


def pay_code_issued(tx, code: dict):
    """PayCodeIssued (the code itself never leaves the member's phone; only its sha256)."""
    return _emit(tx, "PayCodeIssued", {"code_id": code["_id"], "community_id": code["community_id"],
                                       "member_id": code["member_id"], "code_sha256": code["code_sha256"],
                                       "max_points": code["max_points"],
                                       "expires_at": code["expires_at"].isoformat()}, code["_id"])


def pay_code_used(tx, code: dict, transfer_id: str):
    """PayCodeUsed."""
    return _emit(tx, "PayCodeUsed", {"code_id": code["_id"], "community_id": code["community_id"],
                                     "member_id": code["member_id"], "transfer_id": transfer_id}, code["_id"])


def honour_level_reached(tx, t: Transfer, level: dict):
    """HonourLevelReached: an award took the member to a new level (星级) of the community's honour titles."""
    return _emit(tx, "HonourLevelReached", {"community_id": t.community_id, "member_id": t.payee_id,
                                            "transfer_id": t.transfer_id, **{k: level[k] for k in (
                                                "level", "title_zh", "title_en", "honour_points", "rule_version")}},
                 t.credit_account)
def cross_transfer_posted(tx, t: Transfer, posted_at):
    """CrossTransferPosted: a cross-community transfer posted (the exchange service's net positions follow it;
    the contract in services/exchange/README.md). community_id = the payer's community."""
    c = t.cross
    payload = {"transfer_id": t.transfer_id, "community_id": t.community_id, "trust_line_id": c["trust_line_id"],
               "agreement_id": c["agreement_id"], "unit": t.unit, "workflow": t.workflow,
               "payer_community": c["payer_community"], "payee_community": c["payee_community"],
               "payer_id": t.payer_id, "payee_id": t.payee_id, "debit_amount": c["debit_amount"],
               "credit_amount": c["credit_amount"], "payer_point_value_fen": c["payer_point_value_fen"],
               "payee_point_value_fen": c["payee_point_value_fen"], "rate_version": c["rate_version"],
               "measure": c["measure"], "debit_account": t.debit_account,
               "payer_clearing_account": c["payer_clearing_account"],
               "payee_clearing_account": c["payee_clearing_account"], "credit_account": t.credit_account,
               "posted_at": posted_at.isoformat()}
    return _emit(tx, "CrossTransferPosted", payload, t.transfer_id)
