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
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from pymongo import InsertOne

from shared.economy import HELD, Activity, Award, History, compute, explain, next_streak
from shared.envelope import new_event
from shared import topics
from shared.errors import Forbidden
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import commands, lots, model
from services.ledger.ids import source_transfer_id
from services.ledger.model import Actor, Transfer
from services.ledger.repository import LedgerRepository

REMINDERS = "expiry_reminders"


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
            "explanation": {"zh-CN": explain(items, "zh-CN"), "en": explain(items, "en")}}


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
                                               "explanation": _words(items)}})
    lots.save_wallet(repo, cmd.account_id, after, t.transfer_id)
    life.post_at_once(tx, repo, t, now)
    return points


def _words(items: list[dict]) -> dict:
    return {"zh-CN": explain(items, "zh-CN"), "en": explain(items, "en")}


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


HANDLERS = {commands.ExpireLots: expire_lots, commands.RemindExpiry: remind}
