"""What settlement does when community and ledger events arrive: read models and redemption outcomes."""
from __future__ import annotations

from datetime import datetime

from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.settlement.handlers import apply_outcome, apply_reversal
from services.settlement.repository import (ACCOUNTS, COMMUNITIES, MEMBERS, PAY_CODES, TRANSFERS,
                                            SettlementRepository)

FINAL_TYPES = ("TransferPosted", "TransferRejected", "TransferCancelled", "TransferExpired")


def parse_time(value, fallback: str | None = None) -> datetime:
    """An ISO date-time from an event (the envelope's time, then now, when missing or unreadable)."""
    for candidate in (value, fallback):
        if isinstance(candidate, datetime):
            return candidate
        if isinstance(candidate, str) and candidate:
            try:
                parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
            if parsed.tzinfo is not None:
                return parsed
    return utcnow()


# -- community.events ------------------------------------------------------------------------------
def community_changed(event: Event, payload: dict, tx: Tx) -> None:
    """Keep a community's point value and time zone."""
    settings = payload.get("settings") or {}
    tx[COMMUNITIES].update_one({"_id": payload["community_id"]}, {"$set": {
        "point_value_fen": payload.get("point_value_fen"), "timezone": settings.get("timezone")}}, upsert=True)


def member_changed(event: Event, payload: dict, tx: Tx) -> None:
    """Keep whether a member exists, is active, and which shop they staff."""
    tx[MEMBERS].update_one({"_id": payload["member_id"]}, {"$set": {
        "community_id": payload["community_id"], "status": payload.get("status") or "active",
        "merchant_id": payload.get("merchant_id"), "roles": payload.get("roles") or []}}, upsert=True)


def member_deactivated(event: Event, payload: dict, tx: Tx) -> None:
    """A deactivated member can no longer redeem."""
    tx[MEMBERS].update_one({"_id": payload["member_id"]}, {"$set": {
        "community_id": payload["community_id"], "status": "inactive"}}, upsert=True)


# -- ledger.events: accounts, balances and pay codes ---------------------------------------------------
def account_opened(event: Event, payload: dict, tx: Tx) -> None:
    """AccountOpened / CreditLimitChanged: whose account an id is and its limit (balances may come first)."""
    tx[ACCOUNTS].update_one({"_id": payload["account_id"]}, {"$set": {
        "community_id": payload["community_id"], "owner_kind": payload["owner_kind"],
        "owner_id": payload["owner_id"], "unit": payload["unit"],
        "credit_limit": payload.get("credit_limit") or 0}}, upsert=True)


def pay_code_issued(event: Event, payload: dict, tx: Tx) -> None:
    """A member's one-time pay code (digest only), so a till can refuse a bad one at once."""
    tx[PAY_CODES].update_one({"_id": payload["code_id"]}, {"$set": {
        "community_id": payload["community_id"], "member_id": payload["member_id"],
        "code_sha256": payload["code_sha256"].lower(), "max_points": payload.get("max_points"),
        "expires_at": parse_time(payload.get("expires_at"))}}, upsert=True)


def pay_code_used(event: Event, payload: dict, tx: Tx) -> None:
    """The ledger consumed a pay code (this may arrive before PayCodeIssued: both upsert)."""
    tx[PAY_CODES].update_one({"_id": payload["code_id"]}, {"$set": {
        "community_id": payload["community_id"], "member_id": payload.get("member_id"), "used": True,
        "transfer_id": payload.get("transfer_id")}}, upsert=True)


def _move(tx: Tx, account_id: str | None, field: str, delta: int) -> None:
    if account_id and delta:
        tx[ACCOUNTS].update_one({"_id": account_id}, {"$inc": {field: delta}}, upsert=True)


def _track_transfer(event: Event, payload: dict, tx: Tx) -> None:
    """Keep PT transfers by state, and each account's posted balance and pending reservations.

    Keyed by transfer id and driven by the transfer's previous state, so a repeated event moves nothing.
    """
    if payload.get("unit") != "PT":
        return
    transfer_id, amount = payload["transfer_id"], payload["amount"]
    previous = tx[TRANSFERS].find_one({"_id": transfer_id}, projection={"state": 1, "reserved": 1}) or {}
    state = previous.get("state")
    if state in ("posted", "rejected", "cancelled", "expired"):
        return  # resolved once; anything later is a duplicate
    debit, credit = payload.get("debit_account"), payload.get("credit_account")
    reserved = bool(previous.get("reserved"))
    if event.type == "TransferPending":
        if state == "pending":
            return
        _move(tx, debit, "reserved", amount)
        reserved, new_state = True, "pending"
    else:
        if reserved:
            _move(tx, debit, "reserved", -amount)
            reserved = False
        new_state = {"TransferPosted": "posted", "TransferRejected": "rejected",
                     "TransferCancelled": "cancelled", "TransferExpired": "expired"}[event.type]
        if new_state == "posted":
            _move(tx, debit, "posted", -amount)
            _move(tx, credit, "posted", amount)
    reference = payload.get("reference") or {}
    tx[TRANSFERS].update_one({"_id": transfer_id}, {"$set": {
        "community_id": payload["community_id"], "workflow": payload.get("workflow"), "unit": "PT",
        "amount": amount, "debit_account": debit, "credit_account": credit, "payer_id": payload.get("payer_id"),
        "payee_id": payload.get("payee_id"), "state": new_state, "reserved": reserved,
        "reference_kind": reference.get("kind"), "reference_id": reference.get("id"),
        "at": parse_time(payload.get("occurred_at"), event.occurred_at)}}, upsert=True)


def transfer_changed(event: Event, payload: dict, tx: Tx) -> None:
    """Track the transfer, then move the redemption it references (if any) to its outcome, or, for a posted
    reversal of a redemption's transfer, take the redemption out of (or charge it back against) settlement."""
    _track_transfer(event, payload, tx)
    reversed_ref = (payload.get("reverses") or {}).get("reference") or {}
    if event.type == "TransferPosted" and reversed_ref.get("kind") == "redemption" and reversed_ref.get("id"):
        _reversed(event, payload, tx, reversed_ref["id"])
        return
    reference = payload.get("reference") or {}
    if reference.get("kind") != "redemption" or not reference.get("id"):
        return
    redemption_id, transfer_id = reference["id"], payload["transfer_id"]
    at = parse_time(payload.get("occurred_at"), event.occurred_at)
    repo = SettlementRepository(tx)
    # Always write the outcome record first: it is the document the till's insert also writes.
    record = repo.touch_outcome(redemption_id, seen_at=utcnow())
    redemption = repo.redemption(redemption_id)
    if redemption is None:
        # The redemption is not visible yet: keep the outcome until it is.
        if event.type == "TransferPending":
            repo.touch_outcome(redemption_id, pending_transfer_id=transfer_id)
        elif not record.get("final_type"):
            repo.touch_outcome(redemption_id, final_type=event.type, transfer_id=transfer_id, at=at,
                               reason=payload.get("reason"))
        return
    apply_outcome(repo, tx, redemption, event.type, transfer_id, at, payload.get("reason"))


def _reversed(event: Event, payload: dict, tx: Tx, redemption_id: str) -> None:
    """A redemption's posted transfer was reversed in the ledger. Kept on the outcome record (the document the
    till and every outcome also write) so a reversal arriving before the completion is applied right after it."""
    at = parse_time(payload.get("occurred_at"), event.occurred_at)
    repo = SettlementRepository(tx)
    repo.touch_outcome(redemption_id, reversal={"transfer_id": payload["transfer_id"], "at": at})
    redemption = repo.redemption(redemption_id)
    if redemption is not None:
        apply_reversal(repo, tx, redemption, payload["transfer_id"], at)
