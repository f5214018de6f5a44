"""Appeals (积分异议申诉) in the ledger: the command handlers, on `shared.economy.appeal`'s rules.

- **File** (`file_appeal`): the member names the decision (`kind`, `subject_id`: an award's or expiry's transfer,
  a penalty, a disputed claim's rejected transfer) and why; the ledger rebuilds the subject from what it stored
  (who decided, what is disputable, the member's grid) and keeps one appeal per subject (`appeals.subject_key`
  is unique). `AppealFiled`.
- **Uphold** (`uphold_appeal`): a reviewer who did not make the decision pays a compensation of at most what is
  still disputed, recorded with the appeal id (`reference: {kind: appeal, id}`):
  - an award, a cap cut, an expiry: from the community's `issuance` account to the member (a new lot earned
    today; like any credit it repays points owed first). A compensation is not an award: honour points and the
    caps' counters do not change;
  - a penalty: the penalised points back (`economy.restore_penalty`: owed points forgiven first, the rest from
    `s:<c>:penalty:PT` as a new lot; `reference.kind` `appeal_penalty`), counted as repaired on the penalty, so a
    later repair cannot restore them twice;
  - a disputed help claim: as its agreed transfer would have paid — the requester to the helper for a bill
    (the requester's limit applies: 422 `insufficient_funds` leaves the appeal open) unless the reviewer decides
    the community pays (`paid_by: community`, from its issuance account), the community's issuance to the helper
    for a task paid in points. `AppealUpheld`; the requests service completes the request.
- **Dismiss** (`dismiss_appeal`): a reason. `AppealDismissed`; the requests service closes a disputed request.

The requests service announces a disputed claim (`RequestDisputed`, `on_request_disputed`): only a claim it
marked disputed can be appealed.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from pymongo import InsertOne, UpdateOne

from shared import topics
from shared.economy import appeal as rules
from shared.economy import words
from shared.envelope import Event, new_event
from shared.errors import NotFound
from shared.idempotency import once
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import commands, economy, lots, model
from services.ledger import lifecycle as life
from services.ledger.ids import key_scope, source_transfer_id
from services.ledger.model import Actor
from services.ledger.repository import LedgerRepository, transfer_doc

APPEALS, DISPUTES = "appeals", "disputed_claims"
EVENT_FIELDS = ("appeal_id", "community_id", "member_id", "kind", "subject_id", "unit", "disputed", "status",
                "amount", "transfer_id", "decided_by", "request_id", "grid_id", "deciders")


def subject_key(community_id: str, kind: str, subject_id: str) -> str:
    """One appeal per decision: an award and its cap cut are two decisions."""
    return f"{community_id}:{kind}:{subject_id}"


def grid_of(repo: LedgerRepository, community_id: str, member_id: str | None) -> str | None:
    """The member's grid (网格) as the community's events told the ledger."""
    if not member_id:
        return None
    return lots.summary(repo, model.member_account_id(community_id, member_id, "PT")).get("grid_id")


def _not_found() -> NotFound:
    return NotFound("没有可申诉的这项决定。 No such decision to appeal.", code="appeal_subject_not_found")


def subject(tx: Tx, repo: LedgerRepository, community_id: str, kind: str, subject_id: str) -> rules.Subject:
    """The decision `kind` / `subject_id` of the community as the rules see it (404 when there is none)."""
    if kind == "penalty":
        doc = tx[economy.PENALTIES].find_one({"_id": subject_id})
        if doc is None or doc["community_id"] != community_id:
            raise _not_found()
        return rules.penalty_subject(doc, grid_of(repo, community_id, doc["member_id"]))
    t = repo.transfer(subject_id)
    if t is None or t.community_id != community_id or t.cross:
        raise _not_found()
    doc = transfer_doc(t)
    if kind in ("award", "cap_cut"):
        return rules.award_subject(kind, doc, t.payee_id, grid_of(repo, community_id, t.payee_id))
    if kind == "expiry":
        owner = model.parse_member_account_id(t.debit_account)
        return rules.expiry_subject(doc, owner[1] if owner else None)
    return rules.claim_subject(doc, tx[DISPUTES].find_one({"_id": subject_id}))


def reviewer(repo: LedgerRepository, actor: Actor) -> rules.Reviewer:
    return rules.Reviewer(actor.member_id, tuple(actor.roles), grid_of(repo, actor.community_id, actor.member_id))


def find(tx: Tx, community_id: str, appeal_id: str) -> dict:
    """An appeal of the community (404 `appeal_not_found`)."""
    doc = tx[APPEALS].find_one({"_id": appeal_id})
    if doc is None or doc["community_id"] != community_id:
        raise NotFound("没有这条申诉。 No such appeal.", code="appeal_not_found")
    return doc


def view(doc: dict) -> dict:
    """An appeal as the member and its reviewers see it: the decision, what is disputed, every step."""
    return {k: doc.get(k) for k in ("appeal_id", "community_id", "member_id", "kind", "subject_id", "unit",
                                    "disputed", "reason", "status", "filed_at", "decided_at", "decided_by",
                                    "amount", "transfer_id", "decision_reason", "request_id", "steps")}


def _announce(tx: Tx, type_: str, doc: dict) -> None:
    payload = {k: doc.get(k) for k in EVENT_FIELDS}
    tx.emit(topics.LEDGER, new_event(type_, payload, key=doc["appeal_id"], producer="ledger",
                                     community_id=doc["community_id"]))


# -- the handlers ---------------------------------------------------------------------------------------
def file_appeal(cmd: commands.FileAppeal, tx: Tx) -> tuple[dict, int]:
    """The member appeals one of their own decisions (see the module docstring)."""
    actor = cmd.actor

    def compute_():
        repo = LedgerRepository(tx)
        about = subject(tx, repo, actor.community_id, cmd.kind, cmd.subject_id)
        key = subject_key(actor.community_id, cmd.kind, cmd.subject_id)
        appeal_id = "ap_" + uuid.uuid4().hex[:20]
        doc = rules.file(appeal_id, about, actor.member_id, cmd.reason, cmd.points, utcnow(),
                         tx[APPEALS].find_one({"subject_key": key}))
        if cmd.kind == "claim":
            doc["request_id"] = tx[DISPUTES].find_one({"_id": cmd.subject_id})["request_id"]
        doc.update(_id=appeal_id, subject_key=key)
        tx.defer(APPEALS, InsertOne(doc))
        _announce(tx, "AppealFiled", doc)
        return view(doc), 201
    return once(tx, key_scope(actor, "appeals"), cmd.idempotency_key, cmd.body, compute_)


def uphold_appeal(cmd: commands.UpholdAppeal, tx: Tx) -> tuple[dict, int]:
    """A reviewer upholds the appeal and the compensation posts (see the module docstring)."""
    actor = cmd.actor

    def compute_():
        repo = LedgerRepository(tx)
        doc = find(tx, actor.community_id, cmd.appeal_id)
        about = subject(tx, repo, actor.community_id, doc["kind"], doc["subject_id"])
        now = utcnow()
        decided = rules.uphold(doc, reviewer(repo, actor), cmd.amount, about.disputable, now)
        claim = repo.transfer(doc["subject_id"]) if doc["kind"] == "claim" else None
        paid_by = rules.payer(doc["kind"], claim and claim.workflow, cmd.paid_by)
        decided = rules.with_transfer(decided, _compensate(tx, repo, actor, decided, paid_by, claim, now))
        _save(tx, decided)
        _announce(tx, "AppealUpheld", decided)
        return view(decided), 200
    return once(tx, key_scope(actor, f"uphold:{cmd.appeal_id}"), cmd.idempotency_key, cmd.body, compute_)


def dismiss_appeal(cmd: commands.DismissAppeal, tx: Tx) -> tuple[dict, int]:
    """A reviewer dismisses the appeal with a reason."""
    actor = cmd.actor

    def compute_():
        repo = LedgerRepository(tx)
        doc = find(tx, actor.community_id, cmd.appeal_id)
        decided = rules.dismiss(doc, reviewer(repo, actor), cmd.reason, utcnow())
        _save(tx, decided)
        _announce(tx, "AppealDismissed", decided)
        return view(decided), 200
    return once(tx, key_scope(actor, f"dismiss:{cmd.appeal_id}"), cmd.idempotency_key, cmd.body, compute_)


def _save(tx: Tx, decided: dict) -> None:
    changed = {k: decided[k] for k in ("status", "decided_at", "decided_by", "amount", "transfer_id",
                                       "decision_reason", "steps")}
    tx.defer(APPEALS, UpdateOne({"_id": decided["_id"], "status": rules.OPEN}, {"$set": changed}), must_match=True)


def _compensate(tx: Tx, repo: LedgerRepository, actor: Actor, appeal: dict, paid_by: str, claim, now: datetime
                ) -> str | None:
    """Post the compensation of an upheld appeal, paid by `paid_by` (`rules.payer`); its transfer id (None when
    a penalty's owed points were all that was given back)."""
    amount, appeal_id = appeal["amount"], appeal["appeal_id"]
    if paid_by == "penalty":
        penalty = economy.find_penalty(tx, actor.community_id, appeal["subject_id"])
        after = economy.restore_penalty(tx, repo, actor, penalty, amount, memo=None, appeal_id=appeal_id)
        return after["repairs"][-1]["transfer_id"]
    member = repo.require_account(model.member_account_id(actor.community_id, appeal["member_id"],
                                                          appeal["unit"]))
    debit = life.system_account(tx, repo, actor.community_id, "issuance", appeal["unit"])
    payer_id = None
    if paid_by == "requester":  # a bill: the requester pays, as the agreed transfer would have
        debit, payer_id = repo.require_account(claim.debit_account), claim.payer_id
    items = [{"code": "appeal_compensation", "points": amount, "appeal_id": appeal_id, "kind": appeal["kind"],
              "subject_id": appeal["subject_id"]}]
    source = f"appeal:{appeal_id}"
    t = life.new_transfer(transfer_id=source_transfer_id(source), community_id=actor.community_id,
                          workflow="system", unit=appeal["unit"], amount=amount, debit=debit, credit=member,
                          payer_id=payer_id, payee_id=appeal["member_id"], initiator_id=actor.member_id, now=now,
                          ttl_days=0, source=source, reference={"kind": "appeal", "id": appeal_id},
                          details={"appeal": {"appeal_id": appeal_id, "kind": appeal["kind"],
                                              "subject_id": appeal["subject_id"]},
                                   "economy": {"items": items, "explanation": words(items)}})
    return life.post_at_once(tx, repo, t, now).transfer_id


# -- what the requests service tells ----------------------------------------------------------------------
def on_request_disputed(event: Event, p: dict, tx: Tx) -> None:
    """RequestDisputed: the claim's rejected transfer may now be appealed by its helper."""
    if not p.get("transfer_id"):
        return
    tx.defer(DISPUTES, UpdateOne({"_id": p["transfer_id"]}, {"$setOnInsert": {
        "request_id": p["request_id"], "community_id": p["community_id"], "claim_id": p.get("claim_id"),
        "helper_id": p.get("helper_id"), "disputed_at": utcnow()}}, upsert=True))


HANDLERS = {commands.FileAppeal: file_appeal, commands.UpholdAppeal: uphold_appeal,
            commands.DismissAppeal: dismiss_appeal}
