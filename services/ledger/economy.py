"""The points economy applied by the ledger (SPEC §5, issue 13), on `shared.economy`'s pure rules.

- **Rules**: every `PointsRulesVersioned` version is kept (`lots.store_rule_version`); an award is computed under
  the version in effect at the activity's time (`lots.rules_at`).
- **Awards** (`award_for`): the member's history summary (participations, streak, points today / this year in
  the community's time zone) feeds `shared.economy.compute`; the result — amount, status, rule version, every
  line, its cap cuts, the words in Chinese and English — is stored on the transfer (`details.award`) and counted
  into the summary in the same transaction. An award closed unpaid (rejected, cancelled, expired) is taken out of
  the counts again (`on_closed`); the streak stays. An award held for a low rating (≤ the rules' threshold) is a
  pending award of the amount a reviewer's release pays, which only an admin may confirm (`release`).
- **Expiry** (`expire_lots`, one member per transaction, run by the scheduler in chunks): what remains of the
  member's due lots moves to `s:<c>:expiry:PT` in one posted system transfer recording each lot and its rule
  version; lots already expired hold nothing, so a rerun (after a crash) does nothing twice.
- **Reminders** (`remind`): `PointsExpiring` events for the lots expiring in each of the rules' reminder days,
  once per member, day and lot date.
- **Penalties** (`issue_penalty`, by an admin or the grid worker of the member's grid, a reason the rules price): the points come from the
  member's oldest lots into `s:<c>:penalty:PT`; what the balance cannot cover is owed (`debt`) and repaid first
  from later credits (lifecycle posts that repayment). A penalty is refused (409 `points_reserved`) while
  pending transfers hold the points it would take.
- **Repair** (`repair_penalty`, 积分修复, within the rules' window and share): forgives owed points first, the rest
  comes back from `s:<c>:penalty:PT` as a new lot earned on the repair day.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import uuid

from pymongo import InsertOne, UpdateOne

from shared.economy import HELD, Activity, Award, History, Penalty, compute, next_streak, words
from shared.envelope import new_event
from shared import topics
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.idempotency import once
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import commands, lots, model
from services.ledger.ids import key_scope, source_transfer_id
from services.ledger.model import Actor, Transfer
from services.ledger.repository import LedgerRepository

REMINDERS, PENALTIES = "expiry_reminders", "penalties"
STAFF = ("admin", "grid_worker")  # who issues penalties and repairs them


# -- awards -------------------------------------------------------------------------------------------
def history(s, day: date, rules) -> History:
    """What the rules know of a member before this award, from their summary, on the community's `day`."""
    last = date.fromisoformat(s["last_day"]) if s["last_day"] else None
    return History(participations=s["participations"],
                   streak=next_streak(s["streak"], (day - last).days if last else None, rules),
                   earned_today=s["earned_today"] if s["day"] == day.isoformat() else 0,
                   earned_this_year=s["earned_this_year"] if s["year"] == day.year else 0,
                   honour_points=s["honour_points"])


def record(award: Award, day: date) -> dict:
    """What an award stores on its transfer: the computation, its cap cuts and its words."""
    items = [i.to_dict() for i in award.items]
    return {**award.to_dict(), "activity_day": day.isoformat(), "cuts": [i.to_dict() for i in award.cuts],
            "explanation": words(items)}


def award_for(repo: LedgerRepository, community_id: str, member_id: str, at: datetime,
              activity: Activity) -> tuple[int, dict]:
    """The points to pay `member_id` for `activity` done at `at`, and the award's record; the member's summary
    counts it (participation, streak, today's and this year's points)."""
    account_id = model.member_account_id(community_id, member_id, "PT")
    rules = lots.rules_at(repo, community_id, at)
    day = lots.local_day(repo, community_id, at)
    s = lots.summary(repo, account_id)
    before = history(s, day, rules)
    award = compute(rules, before, activity)
    stored, amount = record(award, day), award.amount
    if award.status == HELD:
        released = compute(rules, before, replace(activity, review_released=True))
        stored, amount = {**stored, "released": record(released, day)}, released.amount
    last = s["last_day"]
    lots.save_summary(repo, account_id, participations=s["participations"] + 1, streak=before.streak + 1,
                      last_day=max(last, day.isoformat()) if last else day.isoformat(),
                      **_counted(s, day, before.earned_today + amount, before.earned_this_year + amount))
    return amount, stored


def _counted(s, day: date, today: int, this_year: int) -> dict:
    """The day and year counters after an award on `day` (an award dated before the summary's day changes only
    the year's)."""
    out = {}
    if s["day"] is None or day.isoformat() >= s["day"]:
        out.update(day=day.isoformat(), earned_today=today)
    if s["year"] is None or day.year >= s["year"]:
        out.update(year=day.year, earned_this_year=this_year)
    return out


def is_held(t: Transfer) -> bool:
    return (t.details.get("award") or {}).get("status") == HELD


def release(t: Transfer, actor: Actor) -> Transfer:
    """Before an award held for a low rating posts: only an admin (the reviewer) may release it, and the
    transfer then records the released computation (the held one stays under `held`)."""
    if not is_held(t):
        return t
    if not actor.has_role("admin"):
        raise Forbidden("这笔奖励因低评价待审核，只有管理员可以发放。 This award is held for review after a low "
                        "rating: only an admin can release it.", code="award_held_for_review")
    held = {k: v for k, v in t.details["award"].items() if k != "released"}
    return replace(t, details={**t.details, "award": {**t.details["award"]["released"], "held": held}})


# -- expiry -------------------------------------------------------------------------------------------
def expire_lots(cmd: commands.ExpireLots, tx: Tx) -> int:
    """Expire the member's due lots into `s:<c>:expiry:PT` (one posted system transfer); the points expired."""
    repo = LedgerRepository(tx)
    held = lots.wallet(repo, cmd.account_id)
    after, items = held.expire(cmd.today)
    points = -sum(i["points"] for i in items)
    if not points:
        return 0
    account = repo.require_account(cmd.account_id)
    now = utcnow()
    expiry = life.system_account(tx, repo, account.community_id, "expiry", "PT")
    source = f"expiry:{cmd.account_id}:{cmd.today.isoformat()}"
    t = life.new_transfer(transfer_id=source_transfer_id(source), community_id=account.community_id,
                          workflow="system", unit="PT", amount=points, debit=account, credit=expiry,
                          payer_id=account.owner_id, payee_id=None, initiator_id="scheduler", now=now, ttl_days=0,
                          source=source, reference={"kind": "expiry", "id": cmd.today.isoformat()},
                          details={"economy": {"items": items, "rule_versions": sorted({i["rule_version"]
                                                                                        for i in items}),
                                               "explanation": words(items)}})
    lots.save_wallet(repo, cmd.account_id, after, t.transfer_id)
    life.post_at_once(tx, repo, t, now)
    return points


def prefetch_expiry(tx: Tx, cmds: list) -> None:
    """What a group of `ExpireLots` reads, read together: the communities, the members' and the expiry accounts
    (one aggregate), the members' lots and summaries (one find each)."""
    repo = LedgerRepository(tx)
    ids = [c.account_id for c in cmds]
    communities = sorted({a.split(":")[1] for a in ids})
    repo.load(communities=communities,
              accounts=[*ids, *(model.system_account_id(c, "expiry", "PT") for c in communities)])
    lots.load_wallets(repo, ids)


def remind(cmd: commands.RemindExpiry, tx: Tx) -> int:
    """`PointsExpiring` for each reminder due today, at most once per member, day and lot date."""
    repo = LedgerRepository(tx)
    account = repo.require_account(cmd.account_id)
    rules = lots.rules_at(repo, account.community_id, utcnow())
    sent = 0
    for due in lots.wallet(repo, cmd.account_id).reminders(cmd.today, rules):
        doc_id = f"{cmd.account_id}:{due['expires_on']}:{due['days']}"
        if tx[REMINDERS].find_one({"_id": doc_id}, {"_id": 1}) is not None:
            continue
        tx.defer(REMINDERS, InsertOne({"_id": doc_id, "account_id": cmd.account_id, "on": cmd.today.isoformat(),
                                       **due}))
        payload = {"community_id": account.community_id, "member_id": account.owner_id, "account_id":
                   cmd.account_id, "rule_version": rules.version, **due}
        tx.emit(topics.LEDGER, new_event("PointsExpiring", payload, key=cmd.account_id, producer="ledger",
                                         community_id=account.community_id))
        sent += 1
    return sent


# -- penalties and repair -----------------------------------------------------------------------------
def _staff(actor: Actor) -> None:
    if not actor.has_role(*STAFF):
        raise Forbidden("只有网格员或管理员可以扣分或修复积分。 Only a grid worker or an admin can issue or repair a "
                        "penalty.", code="role_required")


def _of_my_grid(repo: LedgerRepository, actor: Actor, account_id: str) -> None:
    """An admin acts on any member of the community; a grid worker only on the members of their own grid."""
    if actor.has_role("admin"):
        return
    mine = lots.summary(repo, model.member_account_id(actor.community_id, actor.member_id, "PT")).get("grid_id")
    if mine is None or mine != lots.summary(repo, account_id).get("grid_id"):
        raise Forbidden("这位成员不在您的网格。 This member is not in your grid.", code="not_your_grid")


def check_award_grid(repo: LedgerRepository, actor: Actor, t: Transfer) -> None:
    """A grid worker confirms or rejects only the award claims of the members of their own grid, as their queue
    shows them (`views.awaiting`); an organizer or admin, or a grid worker of no grid, those of the community."""
    if t.workflow != "award" or actor.has_role("organizer", "admin") or not actor.has_role("grid_worker"):
        return
    mine = lots.summary(repo, model.member_account_id(actor.community_id, actor.member_id, "PT")).get("grid_id")
    theirs = lots.summary(repo, model.member_account_id(t.community_id, t.payee_id, "PT")).get("grid_id")
    if mine is not None and mine != theirs:
        raise Forbidden("这位志愿者不在您的网格。 This volunteer is not in your grid.", code="not_your_grid")


def _points_move(tx: Tx, repo: LedgerRepository, *, kind: str, ref: str, debit, credit, amount: int, member_id: str,
                 actor: Actor, now, items: list[dict], memo: str | None) -> Transfer:
    """A posted system transfer between a member and `s:<c>:penalty:PT` (a penalty or a repair), its lines kept."""
    t = life.new_transfer(transfer_id=source_transfer_id(f"{kind}:{ref}"), community_id=actor.community_id,
                          workflow="system", unit="PT", amount=amount, debit=debit, credit=credit,
                          payer_id=member_id if debit.kind == "member" else None,
                          payee_id=member_id if credit.kind == "member" else None, initiator_id=actor.member_id,
                          now=now, ttl_days=0, source=f"{kind}:{ref}", reference={"kind": kind, "id": ref},
                          memo=memo, details={"economy": {"items": items, "explanation": words(items)}})
    return life.post_at_once(tx, repo, t, now)


def penalty_view(doc) -> dict:
    """A penalty as the member and staff see it: what it cost, what is owed, what was repaired, and why."""
    return {k: doc.get(k) for k in ("penalty_id", "community_id", "member_id", "reason", "amount", "taken", "owed",
                                    "issued_on", "issued_by", "rule_version", "memo", "repaired", "repairs",
                                    "transfer_id", "items", "explanation")}


def issue_penalty(cmd: commands.IssuePenalty, tx: Tx) -> tuple[dict, int]:
    """A grid worker or admin takes the points the rules set for `reason` from a member of their community."""
    actor = cmd.actor

    def compute_():
        _staff(actor)
        repo = LedgerRepository(tx)
        account_id = model.member_account_id(actor.community_id, cmd.member_id, "PT")
        account = life.known_account(repo, account_id, "这个社区没有这位成员。 No such member in this community.")
        if cmd.member_id == actor.member_id:
            raise Unprocessable("不能给自己扣分。 You cannot penalise yourself.", code="self_penalty")
        _of_my_grid(repo, actor, account_id)
        now = utcnow()
        rules = lots.rules_at(repo, actor.community_id, now)
        held = lots.wallet(repo, account_id)
        after, items = held.penalise(rules, cmd.reason)
        taken = -sum(i["points"] for i in items if i["code"] == "penalty")
        if taken > account.available:
            raise Conflict("部分积分正被待处理的转账占用，请在其处理后再扣分。 Some of these points are held by pending "
                           "transfers; issue the penalty once they are resolved.", code="points_reserved")
        penalty_id = "pn_" + uuid.uuid4().hex[:20]
        doc = {"_id": penalty_id, "penalty_id": penalty_id, "community_id": actor.community_id,
               "member_id": cmd.member_id, "account_id": account_id, "reason": cmd.reason,
               "amount": taken - sum(i["points"] for i in items if i["code"] == "penalty_debt"), "taken": taken,
               "owed": -sum(i["points"] for i in items if i["code"] == "penalty_debt"),
               "issued_on": lots.local_day(repo, actor.community_id, now).isoformat(), "issued_at": now,
               "issued_by": actor.member_id, "rule_version": rules.version, "memo": cmd.memo, "repaired": 0,
               "repairs": [], "transfer_id": None, "items": items, "explanation": words(items)}
        if taken:
            penalty_account = life.system_account(tx, repo, actor.community_id, "penalty", "PT")
            doc["transfer_id"] = _points_move(tx, repo, kind="penalty", ref=penalty_id, debit=account,
                                              credit=penalty_account, amount=taken, member_id=cmd.member_id,
                                              actor=actor, now=now, items=items, memo=cmd.memo).transfer_id
        lots.save_wallet(repo, account_id, after, doc["transfer_id"] or penalty_id)
        tx.defer(PENALTIES, InsertOne(doc))
        _announce(tx, "PenaltyIssued", doc)
        return penalty_view(doc), 201
    return once(tx, key_scope(actor, "penalties"), cmd.idempotency_key, cmd.body, compute_)


def _announce(tx: Tx, type_: str, doc: dict, **extra) -> None:
    payload = {"penalty_id": doc["_id"], "community_id": doc["community_id"], "member_id": doc["member_id"],
               "reason": doc["reason"], "amount": doc["amount"], "owed": doc["owed"], "repaired": doc["repaired"],
               "rule_version": doc["rule_version"], **extra}
    tx.emit(topics.LEDGER, new_event(type_, payload, key=doc["account_id"], producer="ledger",
                                     community_id=doc["community_id"]))


def repair_penalty(cmd: commands.RepairPenalty, tx: Tx) -> tuple[dict, int]:
    """积分修复: restore `points` of a penalty after community service (owed points forgiven first, the rest as a
    new lot), within the rules' repair window and share."""
    actor = cmd.actor

    def compute_():
        _staff(actor)
        repo = LedgerRepository(tx)
        doc = find_penalty(tx, actor.community_id, cmd.penalty_id)
        _of_my_grid(repo, actor, doc["account_id"])
        updated = restore_penalty(tx, repo, actor, doc, cmd.points, memo=cmd.memo)
        _announce(tx, "PenaltyRepaired", updated, points=cmd.points)
        return penalty_view(updated), 200
    return once(tx, key_scope(actor, f"repair:{cmd.penalty_id}"), cmd.idempotency_key, cmd.body, compute_)


def find_penalty(tx: Tx, community_id: str, penalty_id: str) -> dict:
    """A penalty of the community (404 `penalty_not_found`)."""
    doc = tx[PENALTIES].find_one({"_id": penalty_id})
    if doc is None or doc["community_id"] != community_id:
        raise NotFound("没有这条扣分记录。 No such penalty.", code="penalty_not_found")
    return doc


def restore_penalty(tx: Tx, repo: LedgerRepository, actor: Actor, doc: dict, points: int, *, memo: str | None,
                    appeal_id: str | None = None) -> dict:
    """Give back `points` of a penalty: a repair (the rules' window and share apply) or, with `appeal_id`, an
    appeal upheld (`Wallet.restore`: the reviewer decided, no window). Owed points are forgiven first, the rest
    moves back from `s:<c>:penalty:PT` as a new lot earned today; the penalty counts them as repaired. The
    penalty as it is after."""
    now = utcnow()
    rules = lots.rules_at(repo, actor.community_id, now)
    today = lots.local_day(repo, actor.community_id, now)
    account_id = doc["account_id"]
    kind, source = ("appeal_penalty", appeal_id) if appeal_id else ("repair", f"{doc['_id']}:{doc['repaired']}")
    new_lot = lots.lot_id(source_transfer_id(f"{kind}:{source}"), now)
    held = lots.wallet(repo, account_id)
    if appeal_id:
        after, items = held.restore(doc["_id"], new_lot, points, today, rules, source="appeal")
        items = [{**i, "appeal_id": appeal_id} for i in items]
    else:
        penalty = Penalty(doc["_id"], doc["reason"], doc["amount"], date.fromisoformat(doc["issued_on"]),
                          doc["repaired"])
        after, _, items = held.repair(penalty, new_lot, points, today, rules)
    restored = sum(i["points"] for i in items if i["code"] in ("repair_lot", "appeal_lot"))
    transfer_id = None
    if restored:
        penalty_account = life.system_account(tx, repo, actor.community_id, "penalty", "PT")
        if not penalty_account.can_post(restored, 0):
            raise Unprocessable("罚没账户积分不足以修复。 The penalty account holds too few points for this repair.",
                                code="insufficient_funds")
        transfer_id = _points_move(tx, repo, kind=kind, ref=source, debit=penalty_account,
                                   credit=repo.require_account(account_id), amount=restored,
                                   member_id=doc["member_id"], actor=actor, now=now, items=items,
                                   memo=memo).transfer_id
    lots.save_wallet(repo, account_id, after, transfer_id or doc["_id"])
    entry = {"on": today.isoformat(), "points": points, "by": actor.member_id, "rule_version": rules.version,
             "transfer_id": transfer_id, "items": items, "explanation": words(items), "memo": memo,
             "appeal_id": appeal_id}
    repaired = doc["repaired"] + points
    tx.defer(PENALTIES, UpdateOne({"_id": doc["_id"], "repaired": doc["repaired"]},
                                  {"$set": {"repaired": repaired}, "$push": {"repairs": entry}}),
             must_match=True)
    return {**doc, "repaired": repaired, "repairs": [*doc["repairs"], entry]}


HANDLERS = {commands.ExpireLots: expire_lots, commands.RemindExpiry: remind, commands.IssuePenalty: issue_penalty,
            commands.RepairPenalty: repair_penalty}
