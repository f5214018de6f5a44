"""What the exchange service does when community and ledger events arrive: trust lines, rates, positions."""
from __future__ import annotations

from datetime import datetime

from shared.crossrate import measure
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.exchange import ccflow, events
from services.exchange.model import LINE_STATUS, TrustLine, lines_of_agreement
from services.exchange.repository import CcRepository, ExchangeRepository


def _when(event: Event) -> datetime:
    try:
        parsed = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return utcnow()
    return parsed if parsed.tzinfo else utcnow()


def _rate_refreshed(tx: Tx, repo: ExchangeRepository, line: TrustLine, values: dict, at: datetime) -> TrustLine:
    changed = line.with_point_values(values, at)
    if changed is None:
        return line
    repo.save_line(changed)
    if changed.rate_known and changed.rate_version != line.rate_version:
        events.rate_changed(tx, changed)
    return changed


# -- community.events -----------------------------------------------------------------------------
def community_changed(event: Event, payload: dict, tx: Tx) -> None:
    """CommunityCreated / CommunityUpdated: keep the point value; a new value is a new rate on its PT lines."""
    repo = ExchangeRepository(tx)
    cid = payload["community_id"]
    repo.save_community(cid, {"code": payload.get("code"), "name": payload.get("name"),
                              "point_value_fen": payload.get("point_value_fen")})
    for line in repo.open_lines_of(cid):
        _rate_refreshed(tx, repo, line, {cid: payload.get("point_value_fen")}, _when(event))


def agreement_changed(event: Event, payload: dict, tx: Tx) -> None:
    """PartnerAgreement*: accepted opens a trust line per unit; suspended/resumed/ended change or close them."""
    repo = ExchangeRepository(tx)
    repo.save_agreement(payload)
    at = _when(event)
    if event.type == "PartnerAgreementAccepted":
        values = repo.point_values(payload["proposer_id"], payload["partner_id"])
        for line in lines_of_agreement(payload, at):
            if repo.find_line(line.trust_line_id) is not None:
                continue
            repo.save_line(line)
            events.trust_line_changed(tx, line, "TrustLineOpened")
            _rate_refreshed(tx, repo, line, values, at)
        return
    status = LINE_STATUS.get(event.type)
    if status is None:
        return  # proposed / declined: no trust line yet
    for line in repo.lines_of_agreement(payload["agreement_id"]):
        changed = line.with_status(status, at)
        if changed is not None:
            repo.save_line(changed)
            events.trust_line_changed(tx, changed, "TrustLineClosed" if status == "closed" else "TrustLineChanged")


# -- ledger.events ----------------------------------------------------------------------------------
def cross_transfer_posted(event: Event, payload: dict, tx: Tx) -> None:
    """CrossTransferPosted: count the transfer into its trust line's net position (once per transfer)."""
    repo = ExchangeRepository(tx)
    if repo.has_entry(payload["transfer_id"]):
        return
    line = repo.line(payload["trust_line_id"])  # unknown line: a Problem, so the event is dead-lettered
    at = payload.get("posted_at") or _when(event)
    changed = line.posted(payload["payer_community"], payload["payee_community"], payload["debit_amount"],
                          payload["credit_amount"], payload.get("payee_point_value_fen"), at)
    repo.save_line(changed)
    repo.add_entry({"transfer_id": payload["transfer_id"], "trust_line_id": line.trust_line_id, "unit": line.unit,
                    "payer_community": payload["payer_community"], "payee_community": payload["payee_community"],
                    "debit_amount": payload["debit_amount"], "credit_amount": payload["credit_amount"],
                    "payer_point_value_fen": payload.get("payer_point_value_fen"),
                    "payee_point_value_fen": payload.get("payee_point_value_fen"),
                    "measure": measure(line.unit, payload["credit_amount"], payload.get("payee_point_value_fen")),
                    "workflow": payload.get("workflow"), "posted_at": at, "clearing_id": None})


# -- federation (ccflow.py) ---------------------------------------------------------------------------
def member_changed(event: Event, payload: dict, tx: Tx) -> None:
    """MemberJoined / MemberUpdated / MemberDeactivated: the public handle an address names, and whether the member
    may receive (only active members)."""
    status = "inactive" if event.type == "MemberDeactivated" else payload["status"]
    repo = CcRepository(tx)
    handle = payload["handle"] if event.type != "MemberDeactivated" else \
        repo.handle_of(payload["community_id"], payload["member_id"])
    repo.save_member(payload["community_id"], payload["member_id"], handle, status)


def ledger_transfer(event: Event, payload: dict, tx: Tx) -> None:
    """TransferPending / TransferRejected of a federated debit (reference kind `cc`): the ledger held the payer's
    funds, or refused to."""
    reference = payload.get("reference") or {}
    if reference.get("kind") != "cc":
        return
    ccflow.ledger_answered(tx, reference["id"], payload["state"] == "pending", payload.get("reason"), _when(event))
