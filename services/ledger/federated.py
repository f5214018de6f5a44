"""The ledger's side of transfers between deployments (services/exchange/ccflow.py; Credit Commons): the exchange
service runs the protocol with the other node and tells the ledger on exchange.events what follows from each step;
the ledger keeps the balances. Each event is handled in the consumer's transaction with its processed-event record
(exactly once), and the transfer ids derive from the protocol's uuid, so a re-emitted fact moves nothing twice.

* `FederatedDebitRequested`: hold the payer's funds in a pending transfer payer → `p:<community>:cc-<node>:<unit>`
  (the community's clearing account for that neighbour node, unlimited; the node's net limit is the exchange's).
  Answered by TransferPending (held) or TransferRejected (insufficient funds, unknown or inactive account), with
  reference `{kind: "cc", id: uuid}`. Only the exchange resolves it: workflow `system`, no expiry of its own.
* `FederatedDebitSettled`: post it (the other node has credited its payee already: completion is remote-first).
* `FederatedDebitReleased`: cancel it, the hold released (erased or timed out on both nodes).
* `FederatedCreditDue`: credit the payee at once from the same clearing account (the other node has debited).

Per community and unit the sum of balances stays zero: every leg is inside one community."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.consumer import Subscription
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import model
from services.ledger.ids import source_transfer_id
from services.ledger.repository import LedgerRepository

NO_EXPIRY_DAYS = 36_500  # the exchange times it out on both nodes; the ledger's own expiry must not


class FederatedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    uuid = fields.String(required=True, validate=validate.Length(min=1, max=64))
    community_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    unit = fields.String(required=True, validate=validate.OneOf(model.UNITS))
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10**12))
    neighbour = fields.String(required=True, validate=validate.Length(min=1, max=64))
    memo = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)


def _new(tx: Tx, repo: LedgerRepository, p: dict, source: str, debit, credit, payer_id, payee_id, now):
    return life.new_transfer(transfer_id=source_transfer_id(source), community_id=p["community_id"],
                             workflow="system", unit=p["unit"], amount=p["amount"], debit=debit, credit=credit,
                             payer_id=payer_id, payee_id=payee_id, initiator_id="exchange", now=now,
                             ttl_days=NO_EXPIRY_DAYS, source=source, reference={"kind": "cc", "id": p["uuid"]},
                             memo=(p["memo"] or None) and p["memo"][:140], details={"neighbour": p["neighbour"]})


def _parties(tx: Tx, repo: LedgerRepository, p: dict):
    member = repo.account(model.member_account_id(p["community_id"], p["member_id"], p["unit"]))
    clearing = life.partner_account(tx, repo, p["community_id"], f"cc-{p['neighbour']}", p["unit"]) \
        if member is not None else model.system_of(p["community_id"], "issuance", p["unit"])
    return member, clearing


def on_debit_requested(event: Event, p: dict, tx: Tx) -> None:
    """Hold the payer's funds (or refuse, which the exchange turns into an erase on the other node)."""
    repo, now, source = LedgerRepository(tx), utcnow(), f"cc:{p['uuid']}"
    if repo.transfer(source_transfer_id(source)) is not None:
        return
    member, clearing = _parties(tx, repo, p)
    if member is None:
        stand_in = model.member_of(p["community_id"], p["member_id"], p["unit"])
        life.store_rejected(tx, repo, _new(tx, repo, p, source, stand_in, clearing, p["member_id"], None, now),
                            "unknown_account", now, event.id)
        return
    t = _new(tx, repo, p, source, member, clearing, p["member_id"], None, now)
    if member.status != "active":
        life.store_rejected(tx, repo, t, "account_inactive", now, event.id)
    elif not member.can_reserve(t.amount):
        life.store_rejected(tx, repo, t, "insufficient_funds", now, event.id)
    else:
        life.start_pending(tx, repo, t, require_funds=True, causation_id=event.id)


def _held(repo: LedgerRepository, p: dict):
    t = repo.transfer(source_transfer_id(f"cc:{p['uuid']}"))
    return t if t is not None and t.state == model.PENDING else None


def on_debit_settled(event: Event, p: dict, tx: Tx) -> None:
    """Post the held debit (the other node has completed)."""
    repo = LedgerRepository(tx)
    t = _held(repo, p)
    if t is not None:
        life.post_pending(tx, repo, t, "exchange", utcnow(), event.id)


def on_debit_released(event: Event, p: dict, tx: Tx) -> None:
    """Release the hold (erased or timed out on both nodes)."""
    repo = LedgerRepository(tx)
    t = _held(repo, p)
    if t is not None:
        life.close_pending(tx, repo, t, model.CANCELLED, "exchange", utcnow(), p.get("reason") or "erased")


def on_credit_due(event: Event, p: dict, tx: Tx) -> None:
    """Credit the payee of a transfer the other node completed (once per uuid)."""
    repo, now, source = LedgerRepository(tx), utcnow(), f"cc-in:{p['uuid']}"
    if repo.transfer(source_transfer_id(source)) is not None:
        return
    member, clearing = _parties(tx, repo, p)
    if member is None:  # the exchange only validates members it heard of; the ledger hears of them first
        stand_in = model.member_of(p["community_id"], p["member_id"], p["unit"])
        life.store_rejected(tx, repo, _new(tx, repo, p, source, clearing, stand_in, None, p["member_id"], now),
                            "unknown_account", now, event.id)
        return
    life.post_at_once(tx, repo, _new(tx, repo, p, source, clearing, member, None, p["member_id"], now), now, event.id)


def subscriptions() -> dict[str, Subscription]:
    """exchange.events type → (payload schema, handler)."""
    return {"FederatedDebitRequested": Subscription(FederatedSchema, on_debit_requested),
            "FederatedDebitSettled": Subscription(FederatedSchema, on_debit_settled),
            "FederatedDebitReleased": Subscription(FederatedSchema, on_debit_released),
            "FederatedCreditDue": Subscription(FederatedSchema, on_credit_due)}
