"""Events the exchange service publishes on exchange.events (communities and amounts only, no people).

The ledger learns trust lines and rates from them; it never calls the exchange service."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event

PRODUCER = "exchange"


def _emit(tx, type_: str, payload: dict, key: str):
    return tx.emit(topics.EXCHANGE, new_event(type_, payload, key=key, producer=PRODUCER,
                                              community_id=payload["community_id"]))


def trust_line_changed(tx, line, type_: str):
    """TrustLineOpened / TrustLineChanged / TrustLineClosed (keyed by trust line: one line's events stay ordered)."""
    return _emit(tx, type_, line.line_facts(), line.trust_line_id)


def rate_changed(tx, line):
    """RateChanged: the point values both sides convert PT with (HOUR: 1:1, once)."""
    return _emit(tx, "RateChanged", line.rate_facts(), line.trust_line_id)


def clearing_completed(tx, record: dict):
    """ClearingCompleted: the ledger moves each side's clearing balance back to its issuance account."""
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
    return _emit(tx, "ClearingCompleted", {**payload, "community_id": record["community_a"]}, record["trust_line_id"])
