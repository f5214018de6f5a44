"""Events the settlement service publishes on settlement.events (no names of people, no phones)."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event

PRODUCER = "settlement"


def _emit(tx, type_: str, payload: dict, key: str):
    return tx.emit(topics.SETTLEMENT, new_event(type_, payload, key=key, producer=PRODUCER,
                                                community_id=payload["community_id"]))


def merchant_changed(tx, merchant, type_: str):
    """MerchantRegistered / MerchantUpdated."""
    return _emit(tx, type_, merchant.event_facts(), merchant.merchant_id)


def catalog_item_changed(tx, item):
    """CatalogItemChanged."""
    return _emit(tx, "CatalogItemChanged", item.event_facts(), item.item_id)


def redemption_requested(tx, redemption, pay_code: str | None, merchant_name: str | None = None,
                         item_name: str | None = None):
    """RedemptionRequested: the ledger makes the pending `redeem` transfer (or posts it on a valid pay code).

    The shop's and the item's names travel too, so the member's approval says what it is for."""
    payload = {"redemption_id": redemption.redemption_id, "community_id": redemption.community_id,
               "merchant_id": redemption.merchant_id, "member_id": redemption.member_id,
               "points": redemption.points, "bill_fen": redemption.bill_fen, "staff_id": redemption.staff_id,
               "pay_code": pay_code, "item_id": redemption.item_id, "merchant_name": merchant_name,
               "item_name": item_name}
    return _emit(tx, "RedemptionRequested", payload, redemption.redemption_id)


def charge_issued(tx, charge, merchant_name: str):
    """ChargeIssued: a bill addressed to one member (a property-fee bill) awaits them, to pay in points. A till's
    收款码 (no member) is not announced: whoever scans it is standing at the till."""
    payload = {"charge_id": charge.charge_id, "community_id": charge.community_id, "merchant_id": charge.merchant_id,
               "member_id": charge.member_id, "bill_fen": charge.bill_fen, "memo": charge.memo,
               "merchant_name": merchant_name, "expires_at": charge.expires_at.isoformat()}
    return _emit(tx, "ChargeIssued", payload, charge.charge_id)


RESOLVED_TYPES = {"completed": "RedemptionCompleted", "declined": "RedemptionDeclined",
                  "expired": "RedemptionExpired", "reversed": "RedemptionReversed"}


def redemption_resolved(tx, redemption):
    """RedemptionCompleted / RedemptionDeclined / RedemptionExpired / RedemptionReversed."""
    return _emit(tx, RESOLVED_TYPES[redemption.state], redemption.event_facts(), redemption.redemption_id)


def batch_closed(tx, batch):
    """SettlementBatchClosed."""
    return _emit(tx, "SettlementBatchClosed", batch.closed_facts(), batch.batch_id)


def batch_paid(tx, batch):
    """SettlementBatchPaid: the ledger moves the batch's points from the merchant to the sponsor account."""
    return _emit(tx, "SettlementBatchPaid", batch.paid_facts(), batch.batch_id)
