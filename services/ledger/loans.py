"""Points loans (积分借用, SPEC §5 "points loans / credit limit for eligible residents"), with a repayment plan.

- **Lending**: an admin lends a member of their community `points` (at most the rules' `points_loan_limit`,
  `shared.economy.check_loan`; the default 0 means the community lends nothing until it sets a limit) with a plan:
  `repay_percent` of every later award repays the loan (100, the default: awards repay it first, whole). One loan
  at a time per member (409 `loan_outstanding` while one is unpaid). The points are issued as a posted system
  transfer `s:<c>:issuance:PT` → member (reference `loan`): they land in a lot like any credit.
- **Repayment** (`repay_from`, called by the lifecycle whenever a transfer posts): an *award* posted to a member
  with an unpaid loan moves `loan_repayment(outstanding, award, repay_percent, held)` back to issuance at once
  (reference `loan_repayment`, the award named), and the loan records the line. Only awards repay — gifts and bills
  are the member's own business. When nothing is outstanding the loan is `repaid`.
- **The repayment view**: the loan with every repayment (the member: `/v1/loans/mine`; admins:
  `/v1/admin/loans?member_id=`), each line explained in Chinese and English.

The credit limit (`/v1/admin/accounts/{id}/credit-limit`) stays what it is: an overdraft, spent before it is
earned; a loan is points handed over now against a plan."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import MappingProxyType

from pymongo import InsertOne, UpdateOne

from shared.economy import check_loan, words
from shared.economy.wallet import loan_repayment
from shared.errors import Conflict, Forbidden
from shared.idempotency import once
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import lots, model
from services.ledger.ids import key_scope, source_transfer_id
from services.ledger.model import Actor, Transfer
from services.ledger.repository import LedgerRepository

LOANS = "loans"
NONE = MappingProxyType({})
ACTIVE = {"status": "active"}  # a member's unpaid loan (one at most)


@dataclass(frozen=True)
class LendPoints:
    """An admin lends a member points with a repayment plan."""

    actor: Actor
    member_id: str
    points: int
    repay_percent: int = 100
    memo: str | None = None
    idempotency_key: str | None = None
    body: dict = field(default_factory=dict)


def active_loan(repo: LedgerRepository, account_id: str) -> MappingProxyType:
    """The member's unpaid loan (empty when none), read once per transaction through the identity map."""
    key = (LOANS, account_id)
    if key not in repo.cache:
        doc = repo.tx[LOANS].find_one({"account_id": account_id, **ACTIVE})
        repo.cache[key] = MappingProxyType(doc) if doc else NONE
    return repo.cache[key]


def remember(repo: LedgerRepository, docs, account_ids) -> None:
    """What a group's one read brought (reads.prefetch): the unpaid loans of `account_ids` (the PT transfers'
    accounts), kept in the identity map as active_loan() would read them, so an award's repayment reads none."""
    found = {d["account_id"]: d for d in docs}
    for account_id in account_ids:
        repo.cache.setdefault((LOANS, account_id), MappingProxyType(found[account_id]) if account_id in found
                              else NONE)


def loan_view(doc) -> dict:
    """A loan as the member and the admins see it: what was lent, the plan, what is repaid and outstanding, and
    every repayment with its words."""
    return {k: doc.get(k) for k in ("loan_id", "community_id", "member_id", "principal", "repay_percent", "repaid",
                                    "outstanding", "status", "lent_at", "lent_by", "memo", "rule_version",
                                    "transfer_id", "repayments", "explanation")}


def lend(cmd: LendPoints, tx: Tx) -> tuple[dict, int]:
    actor = cmd.actor

    def compute_():
        if not actor.has_role("admin"):
            raise Forbidden("只有管理员可以借出积分。 Only an admin can lend points.", code="role_required")
        repo = LedgerRepository(tx)
        account_id = model.member_account_id(actor.community_id, cmd.member_id, "PT")
        member = life.known_account(repo, account_id, "这个社区没有这位成员。 No such member in this community.")
        if active_loan(repo, account_id):
            loan = active_loan(repo, account_id)
            raise Conflict(f"这位成员还有 {loan['outstanding']} 分借用未还清。 This member still owes "
                           f"{loan['outstanding']} points of an earlier loan.", code="loan_outstanding",
                           outstanding=loan["outstanding"], loan_id=loan["loan_id"])
        now = utcnow()
        rules = lots.rules_at(repo, actor.community_id, now)
        check_loan(rules, 0, cmd.points)
        loan_id = "ln_" + uuid.uuid4().hex[:20]
        items = [{"code": "loan_lent", "points": cmd.points, "repay_percent": cmd.repay_percent,
                  "rule_version": rules.version}]
        t = life.new_transfer(transfer_id=source_transfer_id(f"loan:{loan_id}"), community_id=actor.community_id,
                              workflow="system", unit="PT", amount=cmd.points,
                              debit=life.system_account(tx, repo, actor.community_id, "issuance", "PT"),
                              credit=member, payer_id=None, payee_id=cmd.member_id, initiator_id=actor.member_id,
                              now=now, ttl_days=0, source=f"loan:{loan_id}",
                              reference={"kind": "loan", "id": loan_id}, memo=cmd.memo,
                              details={"economy": {"items": items, "explanation": words(items)}})
        posted = life.post_at_once(tx, repo, t, now)
        doc = {"_id": loan_id, "loan_id": loan_id, "community_id": actor.community_id, "member_id": cmd.member_id,
               "account_id": account_id, "principal": cmd.points, "repay_percent": cmd.repay_percent, "repaid": 0,
               "outstanding": cmd.points, "status": "active", "lent_at": now, "lent_by": actor.member_id,
               "memo": cmd.memo, "rule_version": rules.version, "transfer_id": posted.transfer_id,
               "repayments": [], "explanation": words(items)}
        tx.defer(LOANS, InsertOne(doc))
        repo.cache[(LOANS, account_id)] = MappingProxyType(doc)
        return loan_view(doc), 201
    return once(tx, key_scope(actor, f"loan:{cmd.member_id}"), cmd.idempotency_key, cmd.body, compute_)


def repay_from(tx: Tx, repo: LedgerRepository, t: Transfer, now) -> None:
    """An award just posted to a member with an unpaid loan repays it per the plan, at once."""
    if t.workflow != "award" or t.unit != "PT" or not lots.is_member(t.credit_account):
        return
    loan = active_loan(repo, t.credit_account)
    if not loan:
        return
    member = repo.require_account(t.credit_account)
    points = loan_repayment(loan["outstanding"], t.amount, loan["repay_percent"], member.posted - member.pending_out)
    if not points:
        return
    outstanding = loan["outstanding"] - points
    items = [{"code": "loan_repaid", "points": -points, "award": t.amount, "outstanding": outstanding,
              "repay_percent": loan["repay_percent"], "loan_id": loan["loan_id"]}]
    source = f"loan-repayment:{t.transfer_id}"
    repayment = life.new_transfer(transfer_id=source_transfer_id(source), community_id=t.community_id,
                                  workflow="system", unit="PT", amount=points, debit=member,
                                  credit=life.system_account(tx, repo, t.community_id, "issuance", "PT"),
                                  payer_id=member.owner_id, payee_id=None, initiator_id=t.initiator_id, now=now,
                                  ttl_days=0, source=source, reference={"kind": "loan_repayment",
                                                                        "id": loan["loan_id"]},
                                  details={"economy": {"items": items, "explanation": words(items),
                                                       "repays_from": t.transfer_id}})
    life.post_at_once(tx, repo, repayment, now)
    line = {"transfer_id": repayment.transfer_id, "award_transfer_id": t.transfer_id, "award": t.amount,
            "points": points, "outstanding": outstanding, "at": now, "explanation": words(items)}
    status = "repaid" if outstanding == 0 else "active"
    tx.defer(LOANS, UpdateOne({"_id": loan["_id"], "repaid": loan["repaid"]},
                              {"$set": {"repaid": loan["repaid"] + points, "outstanding": outstanding,
                                        "status": status}, "$push": {"repayments": line}}), must_match=True)
    after = {**loan, "repaid": loan["repaid"] + points, "outstanding": outstanding, "status": status,
             "repayments": [*loan["repayments"], line]}
    repo.cache[(LOANS, t.credit_account)] = MappingProxyType(after) if status == "active" else NONE


def loans_of(db, community_id: str, member_id: str | None) -> list[dict]:
    """A community's loans (of one member when named), newest first."""
    query = {"community_id": community_id, **({"member_id": member_id} if member_id else {})}
    return [loan_view(d) for d in db[LOANS].find(query).sort("lent_at", -1).limit(200)]


HANDLERS = {LendPoints: lend}
