"""The ledger's read of exchange.events: trust lines (terms, status), rates, and clearings (services/exchange/
README.md, "The ledger's side"). Run by the ledger's consumer, each event in the consumer's transaction with its
processed-event record (exactly once); the ledger never calls the exchange service."""
from __future__ import annotations

from shared.consumer import BadEvent, Subscription
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import schemas
from services.ledger.ids import source_transfer_id
from services.ledger.repository import LedgerRepository, TrustLines

_FACTS = ("agreement_id", "unit", "community_a", "community_b")


def on_trust_line(event: Event, p: dict, tx: Tx) -> None:
    """TrustLineOpened / Changed / Closed: the line's communities, unit, net limit and status."""
    TrustLines(tx).announce(p["trust_line_id"], {k: p[k] for k in (*_FACTS, "net_limit", "status")})


def on_rate_changed(event: Event, p: dict, tx: Tx) -> None:
    """RateChanged: the point values new cross transfers convert with (an older version never replaces a newer)."""
    lines = TrustLines(tx)
    known = lines.get(p["trust_line_id"])
    if known is not None and known.rate_version > p["rate_version"]:
        return
    lines.announce(p["trust_line_id"], {k: p[k] for k in (*_FACTS, "a_point_value_fen", "b_point_value_fen",
                                                          "rate_version")})


def on_clearing_completed(event: Event, p: dict, tx: Tx) -> None:
    """ClearingCompleted: each community's clearing account back by exactly its recorded balance (system transfers
    against its issuance account, ids from the clearing and the community), then `net −= record.net`; a record
    applied already (redelivered, or re-emitted under a new event id) moves nothing."""
    lines, repo, now = TrustLines(tx), LedgerRepository(tx), utcnow()
    line = lines.get(p["trust_line_id"])
    if line is None:
        raise BadEvent(f"ClearingCompleted for unknown trust line {p['trust_line_id']}")
    after = line.cleared(p)
    if after is None:
        return
    for move in line.clearing_moves(p):
        tid = source_transfer_id(move["source"])
        if repo.transfer(tid) is not None:
            continue
        clearing = life.partner_account(tx, repo, move["community_id"], move["partner_id"], line.unit)
        issuance = life.system_account(tx, repo, move["community_id"], "issuance", line.unit)
        debit, credit = (clearing, issuance) if move["debit"] == clearing.account_id else (issuance, clearing)
        t = life.new_transfer(transfer_id=tid, community_id=move["community_id"], workflow="system", unit=line.unit,
                              amount=move["amount"], debit=debit, credit=credit, payer_id=None, payee_id=None,
                              initiator_id="exchange", now=now, ttl_days=0, source=move["source"],
                              reference={"kind": "clearing", "id": p["clearing_id"]})
        life.post_at_once(tx, repo, t, now, event.id)
    lines.save(after)


def subscriptions() -> dict[str, Subscription]:
    """exchange.events type → (payload schema, handler)."""
    line = Subscription(schemas.TrustLineEventSchema, on_trust_line)
    return {"TrustLineOpened": line, "TrustLineChanged": line, "TrustLineClosed": line,
            "RateChanged": Subscription(schemas.RateChangedSchema, on_rate_changed),
            "ClearingCompleted": Subscription(schemas.ClearingCompletedSchema, on_clearing_completed)}
