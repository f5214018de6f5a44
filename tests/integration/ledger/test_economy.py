"""The points economy in the ledger on the real stack (issue 13): awards computed by `shared.economy` under the
community's published rules, explained on the transfer; point lots following every PT move; expiry by the
scheduler, chunked, idempotent and resumable after the process is killed midway; reminders before expiry."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.testing import bearer, wait_until
from services.ledger import scheduler

ROOT = Path(__file__).resolve().parents[3]
OPERATOR = {"X-Operator-Key": "dev-operator-key"}


def _claim(c: str, helper: str, **kw) -> dict:
    payload = {"request_id": "r_" + uuid.uuid4().hex[:8], "community_id": c, "helper_id": helper,
               "payer_id": None, "unit": "PT", "minutes": 60, "activity_type": None, "service_class": "ordinary",
               "source": "activity", "claim_id": "cl_" + uuid.uuid4().hex[:8]}
    return {**payload, **kw}


def _award(kit, claim: dict) -> dict:
    kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"])
    return wait_until(lambda: kit.db.transfers.find_one({"reference.id": claim["request_id"]}),
                      message="award transfer")


def test_rules_published_through_the_community_api_change_the_next_award_and_a_cap_cut_is_explained(kit):
    community = kit.dep.service("community")
    code = "econ" + uuid.uuid4().hex[:6]
    made = community.http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": "积分社区", "point_value_fen": 10,
        "admin": {"display_name": "王主任", "phone": "13800000301", "password": "135790"}})
    assert made.status_code == 201, made.json
    cid = made.json["community"]["community_id"]
    admin = bearer(community.http.post("/v1/auth/login", json={"community_code": code, "phone": "13800000301",
                                                               "password": "135790"}).json["token"])
    joined = community.http.post(f"/v1/communities/{cid}/members", headers=admin, json={
        "display_name": "李阿姨", "phone": "13900000311", "password": "864200"})
    assert joined.status_code == 201, joined.json
    li = joined.json["member_id"]
    wait_until(lambda: kit.db.accounts.find_one({"_id": f"m:{cid}:{li}:PT"}), timeout=90, message="li's account")

    # Under the defaults (version 0): mediation 50, newcomer 1/3 ×200% +50, first participation +5 = 105.
    first = _award(kit, _claim(cid, li, activity_type="mediation"))
    assert first["amount"] == 105 and first["details"]["award"]["rule_version"] == 0

    # The admin publishes version 1: mediation 80, at most 100 per activity, in effect now.
    published = community.http.post(f"/v1/communities/{cid}/points-rules", headers=admin, json={
        "rules": {"activity_points": {"mediation": 80}, "caps": {"per_activity": 100, "per_year": 1000}}})
    assert published.status_code == 201, published.json
    version = published.json["version"]
    wait_until(lambda: kit.db.points_rules.find_one({"_id": f"{cid}:{version}"}), timeout=60, message="rules")

    # Mediation 80, newcomer 2/3 ×200% +80 = 160; per-activity cap 100 cuts 60 → 100 (no first bonus now).
    second = _award(kit, _claim(cid, li, activity_type="mediation"))
    award = second["details"]["award"]
    assert (second["amount"], award["rule_version"], award["status"]) == (100, version, "payable")
    assert [(i["code"], i["points"]) for i in award["items"]] == [
        ("base_activity", 80), ("newcomer_multiplier", 80), ("cap_per_activity", -60)]
    assert award["cuts"] == [{"code": "cap_per_activity", "points": -60, "cap": 100, "before": 160}]
    assert award["explanation"]["zh-CN"][-1] == "单次活动上限 100 分，160 分中扣减 60"
    # The member sees it on the transfer, and so does the staff member who confirms it.
    mine = kit.http.get(f"/v1/transfers/{second['_id']}", headers=kit.h(li, cid))
    assert mine.status_code == 200 and mine.json["award"]["cuts"] == award["cuts"]
    staff = kit.http.get(f"/v1/transfers/{second['_id']}", headers=kit.h("greg", cid, "grid_worker"))
    assert staff.json["award"]["explanation"]["en"][-1] == "Per-activity cap 100: 60 of 160 cut"
    # …and the transfer's event reports the cut.
    pending = kit.log.wait("TransferPending", transfer_id=second["_id"])[0]["payload"]
    assert pending["award"]["cuts"] == award["cuts"] and pending["award"]["rule_version"] == version
    summary = kit.db.member_economy.find_one({"_id": f"m:{cid}:{li}:PT"})
    assert (summary["participations"], summary["earned_this_year"]) == (2, 205)


def test_a_low_rating_holds_the_award_for_an_admin_and_a_rejected_award_stops_counting(kit):
    c = kit.community()
    kit.join(c, "ann")
    # Rated 2★ (≤ 2★ holds): the award waits at what a release pays, 20 + 20 (newcomer) + 5 = 45.
    held = _award(kit, _claim(c, "ann", activity_type="environment_cleanup", rating=2))
    assert held["amount"] == 45 and held["details"]["award"]["status"] == "held_for_review"
    assert held["details"]["award"]["amount"] == 0
    r = kit.act("confirm", held["_id"], "greg", c, "grid_worker")
    assert r.status_code == 403 and r.json["code"] == "award_held_for_review"
    released = kit.act("confirm", held["_id"], "root", c, "organizer", "admin").json
    assert released["state"] == "posted" and released["award"]["status"] == "payable"
    assert released["award"]["held"]["status"] == "held_for_review"
    assert kit.balance("ann", c, "PT")["posted"] == 45
    # A second claim, rejected by the verifier, no longer counts: the third is the newcomer's 2nd of 3.
    second = _award(kit, _claim(c, "ann", activity_type="environment_cleanup"))
    assert kit.act("reject", second["_id"], "greg", c, "grid_worker").json["state"] == "rejected"
    third = _award(kit, _claim(c, "ann", activity_type="environment_cleanup"))
    assert third["details"]["award"]["items"][1] == {"code": "newcomer_multiplier", "points": 20, "nth": 2, "of": 3,
                                                     "multiplier_percent": 200, "before": 20}


def test_an_admin_finds_a_held_award_in_their_queue_and_releases_it(kit):
    """An admin who is neither organizer nor grid worker: the held 2★ claim is in their queue, they release it,
    the volunteer's 45 points (20 + 20 newcomer + 5 first) are posted, and the audit passes."""
    c = kit.community()
    kit.join(c, "bea")
    held = _award(kit, _claim(c, "bea", activity_type="environment_cleanup", rating=2))
    assert held["details"]["award"]["status"] == "held_for_review"
    queue = kit.http.get("/v1/transfers/awaiting", headers=kit.h("root", c, "admin"))
    assert queue.status_code == 200 and [t["transfer_id"] for t in queue.json] == [held["_id"]]
    assert queue.json[0]["award"]["status"] == "held_for_review"
    assert kit.balance("bea", c, "PT")["posted"] == 0
    released = kit.act("confirm", held["_id"], "root", c, "admin")
    assert released.status_code == 200, released.json
    assert (released.json["state"], released.json["award"]["status"]) == ("posted", "payable")
    assert kit.balance("bea", c, "PT")["posted"] == 45
    assert kit.http.get("/v1/transfers/awaiting", headers=kit.h("root", c, "admin")).json == []
    assert kit.audit(c)["ok"]


def _lots(kit, account_id: str) -> list[dict]:
    return list(kit.db.point_lots.find({"account_id": account_id}).sort("earned_on", 1))


def test_credits_make_lots_and_debits_spend_the_oldest_first(kit):
    c = kit.community()
    kit.join(c, "amy", "ben")
    kit.fund("amy", c, points=30)
    kit.fund("amy", c, points=20)
    t = kit.transfer("amy", c, workflow="credit", unit="PT", counterparty_id="ben", amount=40).json
    posted = kit.act("confirm", t["transfer_id"], "ben", c).json
    assert [(i["code"], i["points"]) for i in posted["lots"]] == [("spent", -30), ("spent", -10), ("lot_earned", 40)]
    assert [lot["remaining"] for lot in _lots(kit, f"m:{c}:amy:PT")] == [0, 10]
    assert [lot["remaining"] for lot in _lots(kit, f"m:{c}:ben:PT")] == [40]


SLOW_EXPIRY = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from shared.config import Config
    from shared.runtime import build_runtime
    from services.ledger import scheduler

    committed = scheduler.GroupUnitOfWork.run

    def slow(self, commands, *args, **kwargs):  # half a second after each transaction, so the test kills midway
        results = committed(self, commands, *args, **kwargs)
        time.sleep(0.5)
        return results

    scheduler.GroupUnitOfWork.run = slow
    runtime = build_runtime(Config.from_env("ledger"))
    print(scheduler.expire_lots_due(runtime, at=datetime.fromisoformat(sys.argv[1]), chunk=int(sys.argv[2])),
          flush=True)
""")


def _run_expiry(kit, at: datetime, chunk: int) -> subprocess.Popen:
    cfg = kit.ledger.config
    env = {**os.environ, "MONGO_URL": cfg.mongo_url, "MONGO_DB": cfg.mongo_db, "KAFKA_BOOTSTRAP": cfg.kafka_bootstrap,
           "TOPIC_PREFIX": cfg.topic_prefix, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", SLOW_EXPIRY, at.isoformat(), str(chunk)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_expiry_killed_midway_resumes_and_expires_every_due_lot_exactly_once(kit):
    c = kit.community()
    members = [f"v{i:02d}" for i in range(24)]
    kit.join(c, *members)
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_year": None}, expiry={"mode": "rolling", "months": 1, "reminder_days": [7]})
    for i, m in enumerate(members):
        kit.fund(m, c, points=10 + i)
    # One member spends part of her lot first: only the rest expires.
    t = kit.transfer("v00", c, workflow="credit", unit="PT", counterparty_id="v01", amount=4).json
    assert kit.act("confirm", t["transfer_id"], "v01", c).json["state"] == "posted"
    accounts = [f"m:{c}:{m}:PT" for m in members]
    held = {a: sum(lot["remaining"] for lot in _lots(kit, a)) for a in accounts}
    assert held[accounts[0]] == 6 and held[accounts[1]] == 11 + 4
    due = {a: [lot["_id"] for lot in _lots(kit, a) if lot["remaining"]] for a in accounts}

    expires_on = datetime.fromisoformat(_lots(kit, accounts[0])[0]["expires_on"])
    # Seven days before: a reminder for each member, once however often the job runs.
    week_before = (expires_on - timedelta(days=7)).replace(hour=4, tzinfo=timezone.utc)
    assert scheduler.remind_due(kit.ledger.runtime, at=week_before, chunk=5) == len(members)
    assert scheduler.remind_due(kit.ledger.runtime, at=week_before, chunk=5) == 0
    reminder = kit.log.wait("PointsExpiring", member_id="v01")[0]["payload"]
    assert (reminder["days"], reminder["points"], reminder["expires_on"]) == (7, 15, expires_on.date().isoformat())

    at = expires_on.replace(hour=4, tzinfo=timezone.utc)  # noon in Shanghai on the expiry day
    proc = _run_expiry(kit, at, chunk=5)
    expiries = {"workflow": "system", "reference.kind": "expiry", "community_id": c}
    wait_until(lambda: kit.db.transfers.count_documents(expiries) >= 6 or proc.poll() is not None,
               message="expiry under way")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = kit.db.transfers.count_documents(expiries)
    assert 0 < done_before < len(members), "killed midway"
    # Restarted: it finishes what is left and touches nothing twice.
    rerun = _run_expiry(kit, at, chunk=5)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert kit.db.transfers.count_documents(expiries) == len(members)
    expired_lots = []
    for a in accounts:
        expired = list(kit.db.transfers.find({**expiries, "debit_account": a}))
        assert len(expired) == 1 and expired[0]["amount"] == held[a], a
        items = expired[0]["details"]["economy"]["items"]
        assert {i["code"] for i in items} == {"expired"} and {i["rule_version"] for i in items} == {1}
        expired_lots += [i["lot_id"] for i in items]
        assert sorted(i["lot_id"] for i in items) == sorted(due[a]), a
        assert all(lot["remaining"] == 0 for lot in _lots(kit, a))
        assert kit.balance(a.split(":")[2], c, "PT")["posted"] == 0
    assert len(expired_lots) == len(set(expired_lots))  # every due lot expired exactly once
    assert kit.db.accounts.find_one({"_id": f"s:{c}:expiry:PT"})["posted"] == sum(held.values())
    # A third run finds nothing due.
    scheduler.expire_lots_due(kit.ledger.runtime, at=at, chunk=5)
    assert kit.db.transfers.count_documents(expiries) == len(members)
    assert kit.audit(c)["ok"]


def test_a_penalty_larger_than_the_balance_is_owed_then_repaid_and_repair_restores_it(kit):
    c = kit.community()
    kit.join(c, "pat", "greg", "rita", grid_id="g1")
    kit.join(c, "otto", grid_id="g2")
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_year": None}, penalties={"noise": 10, "littering": 30},
              repair={"window_days": 30, "max_percent": 100})
    kit.fund("pat", c, points=6)
    staff = kit.h("greg", c, "grid_worker")

    def penalise(who_headers, **body):
        return kit.http.post("/v1/admin/penalties", json=body, headers=who_headers)

    nothing = {"transfers": kit.db.transfers.count_documents({"community_id": c}),
               "penalties": kit.db.penalties.count_documents({"community_id": c})}
    assert penalise(kit.h("rita", c), member_id="pat", reason="noise").status_code == 403
    r = penalise(staff, member_id="pat", reason="spitting")
    assert r.status_code == 422 and r.json["code"] == "unknown_penalty"
    r = penalise(staff, member_id="greg", reason="noise")
    assert r.status_code == 422 and r.json["code"] == "self_penalty"
    r = penalise(staff, member_id="otto", reason="noise")  # another grid's member: not greg's to penalise
    assert r.status_code == 403 and r.json["code"] == "not_your_grid"
    assert penalise(kit.h("root", c, "admin"), member_id="otto", reason="spitting").json["code"] == "unknown_penalty"
    r = penalise(staff, member_id="nobody", reason="noise")
    assert r.status_code == 404 and r.json["code"] == "unknown_account"
    assert nothing == {"transfers": kit.db.transfers.count_documents({"community_id": c}),
                       "penalties": kit.db.penalties.count_documents({"community_id": c})}

    # Noise costs 10; pat holds 6: 6 taken from her lot, 4 owed, balance 0 (never negative).
    r = penalise(staff, member_id="pat", reason="noise", memo="深夜噪音")
    assert r.status_code == 201, r.json
    penalty = r.json
    assert (penalty["amount"], penalty["taken"], penalty["owed"], penalty["rule_version"]) == (10, 6, 4, 1)
    assert [(i["code"], i["points"]) for i in penalty["items"]] == [("penalty", -6), ("penalty_debt", -4)]
    assert penalty["explanation"]["zh-CN"] == ["扣分「noise」6", "余额不足，4 分记为欠扣积分，以后获得的积分先行抵扣"]
    assert kit.balance("pat", c, "PT")["posted"] == 0
    assert kit.db.accounts.find_one({"_id": f"s:{c}:penalty:PT"})["posted"] == 6

    # She earns 20: the 4 owed are repaid first (to the penalty account), a lot of 16 is left.
    kit.fund("pat", c, points=20)
    assert kit.balance("pat", c, "PT")["posted"] == 16
    assert kit.db.accounts.find_one({"_id": f"s:{c}:penalty:PT"})["posted"] == 10
    assert [lot["remaining"] for lot in _lots(kit, f"m:{c}:pat:PT")] == [0, 16]

    # 积分修复: 10 restored as a new lot; no more than the penalty.
    url = f"/v1/admin/penalties/{penalty['penalty_id']}/repair"
    repaired = kit.http.post(url, json={"points": 10, "memo": "清理楼道"}, headers=staff)
    assert repaired.status_code == 200, repaired.json
    assert repaired.json["repaired"] == 10
    assert [(i["code"], i["points"]) for i in repaired.json["repairs"][0]["items"]] == [("repair_lot", 10)]
    too_much = kit.http.post(url, json={"points": 1}, headers=staff)
    assert too_much.status_code == 422 and too_much.json["code"] == "repair_exceeds_penalty"
    missing = kit.http.post("/v1/admin/penalties/pn_nope/repair", json={"points": 1}, headers=staff)
    assert missing.status_code == 404 and missing.json["code"] == "penalty_not_found"

    mine = kit.http.get("/v1/points", headers=kit.h("pat", c)).json
    assert (mine["balance"], mine["debt"], mine["honour_points"]) == (26, 0, 26)
    assert [lot["remaining"] for lot in mine["lots"]] == [16, 10]
    assert mine["penalties"][0]["repaired"] == 10 and mine["penalties"][0]["owed"] == 4
    assert kit.http.get("/v1/admin/members/pat/points", headers=staff).json == mine
    assert kit.http.get("/v1/admin/members/pat/points", headers=kit.h("rita", c)).status_code == 403
    assert kit.audit(c)["ok"]


YEAR_RULES = {
    "newcomer": {"activities": 2, "multiplier_percent": 150},
    "streak": {"every": 3, "points": 10, "max_gap_days": 31},
    "caps": {"per_activity": None, "per_day": 60, "per_year": 1000},
    "honour_levels": [{"threshold": 100, "title_zh": "一星志愿者", "title_en": "One-star volunteer"},
                      {"threshold": 200, "title_zh": "二星志愿者", "title_en": "Two-star volunteer"}],
    "penalties": {"noise": 10},
    "repair": {"window_days": 30, "max_percent": 100},
}


def test_a_year_of_one_members_life(kit):
    """Mei's year under custom rules, every figure worked by hand (T = today in Shanghai):
    D1 = T−300 clean-up in bad weather: 20 + 10, newcomer 1/2 ×150% +15 = 45, first participation +5 → 50;
    D2 = D1+10 mediation rated 5★: 50, newcomer 2/2 +25 = 75, 5★ +10% = 7.5 → 8 (half-even) = 83, daily cap 60
      cuts 23 → 60 — honour 110: 一星 reached;
    D3 = D1+26 patrol: 50, third in a row (gaps ≤ 31 days) +10 → 60 — honour 170;
    D4 = T−5 elder care after three months in a row: 30 + 20 → 50 (the streak broke) — honour 220: 二星;
    D5 = T−2 clean-up rated 2★: held for review, released by an admin → 20 — honour 240;
    a noise penalty takes 10 from the oldest lot (D1: 50 → 40); its repair restores 10 as a lot of today;
    a gift of 45 spends D1's 40 and 5 of D2's (60 → 55); on D2 + 12 months D2's 55 expire.
    Balance 50+60+60+50+20 −10 +10 −45 −55 = 140 in lots D3 60, D4 50, D5 20, repair 10; honour 240, 二星."""
    c = kit.community()
    kit.join(c, "mei", "bo", "greg", grid_id="g1")
    kit.rules(c, **YEAR_RULES)
    account = f"m:{c}:mei:PT"
    now = datetime.now(timezone.utc)
    today = now.astimezone(timezone(timedelta(hours=8))).date()
    d1 = today - timedelta(days=300)
    days = [d1, d1 + timedelta(days=10), d1 + timedelta(days=26), today - timedelta(days=5), today - timedelta(days=2)]
    activities = [dict(activity_type="environment_cleanup", bonuses=["bad_weather"]),
                  dict(activity_type="mediation", rating=5), dict(activity_type="safety_patrol"),
                  dict(activity_type="elder_care", bonuses=["three_consecutive_months"]),
                  dict(activity_type="environment_cleanup", rating=2)]
    expected = [
        (50, [("base_activity", 20), ("situational_bonus", 10), ("newcomer_multiplier", 15),
              ("first_participation_bonus", 5)]),
        (60, [("base_activity", 50), ("newcomer_multiplier", 25), ("rating_bonus", 8), ("cap_per_day", -23)]),
        (60, [("base_activity", 50), ("streak_bonus", 10)]),
        (50, [("base_activity", 30), ("situational_bonus", 20)]),
        (20, [("base_activity", 20), ("review_released", 0)]),
    ]
    levels = [0, 1, 1, 2, 2]
    for day, activity, (amount, lines), level in zip(days, activities, expected, levels):
        claim = _claim(c, "mei", **activity)
        at = f"{day.isoformat()}T02:00:00+00:00"  # 10:00 in Shanghai
        kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"], occurred_at=at)
        t = wait_until(lambda: kit.db.transfers.find_one({"reference.id": claim["request_id"]}), message="award")
        verifier = ("root", c, "organizer", "admin") if activity.get("rating") == 2 else ("greg", c, "grid_worker")
        posted = kit.act("confirm", t["_id"], *verifier).json
        assert posted["state"] == "posted" and posted["amount"] == amount, (day, posted)
        assert [(i["code"], i["points"]) for i in posted["award"]["items"]] == lines, day
        assert posted["award"]["rule_version"] == 1
        assert kit.db.member_economy.find_one({"_id": account}).get("level", 0) == level, day
    assert kit.balance("mei", c, "PT")["posted"] == 240
    reached = kit.log.wait("HonourLevelReached", 2, member_id="mei")
    assert sorted((e["payload"]["level"], e["payload"]["title_zh"], e["payload"]["honour_points"]) for e in reached
                  if e["payload"]["community_id"] == c) == [(1, "一星志愿者", 110), (2, "二星志愿者", 220)]
    lots = _lots(kit, account)
    assert [(lot["earned_on"], lot["remaining"]) for lot in lots] == [(d.isoformat(), a) for d, (a, _) in
                                                                       zip(days, expected)]

    staff = kit.h("greg", c, "grid_worker")
    penalty = kit.http.post("/v1/admin/penalties", json={"member_id": "mei", "reason": "noise"}, headers=staff).json
    assert penalty["items"][0]["lot_id"] == lots[0]["_id"] and penalty["taken"] == 10
    repaired = kit.http.post(f"/v1/admin/penalties/{penalty['penalty_id']}/repair", json={"points": 10},
                             headers=staff).json
    assert repaired["repairs"][0]["items"][0]["earned_on"] == today.isoformat()
    gift = kit.transfer("mei", c, workflow="credit", unit="PT", counterparty_id="bo", amount=45).json
    spent = kit.act("confirm", gift["transfer_id"], "bo", c).json["lots"]
    assert [(i["code"], i["points"], i["earned_on"]) for i in spent][:2] == [
        ("spent", -40, days[0].isoformat()), ("spent", -5, days[1].isoformat())]

    d2_expires = datetime.fromisoformat(_lots(kit, account)[1]["expires_on"]).replace(hour=4, tzinfo=timezone.utc)
    scheduler.expire_lots_due(kit.ledger.runtime, at=d2_expires)  # (other tests' communities share the database)
    scheduler.expire_lots_due(kit.ledger.runtime, at=d2_expires)
    expired = list(kit.db.transfers.find({"reference.kind": "expiry", "debit_account": account}))
    assert [(t["amount"], [i["lot_id"] for i in t["details"]["economy"]["items"]]) for t in expired] == [
        (55, [lots[1]["_id"]])]

    mine = kit.http.get("/v1/points", headers=kit.h("mei", c)).json
    assert (mine["balance"], mine["honour_points"], mine["debt"]) == (140, 240, 0)
    assert (mine["level"]["level"], mine["level"]["title_zh"], mine["level"]["points_to_next"]) == (2, "二星志愿者",
                                                                                                    None)
    assert [(lot["earned_on"], lot["remaining"]) for lot in mine["lots"]] == [
        (days[2].isoformat(), 60), (days[3].isoformat(), 50), (days[4].isoformat(), 20), (today.isoformat(), 10)]
    assert mine["penalties"][0]["repaired"] == 10
    assert kit.audit(c)["ok"]

    # Appeals (积分异议申诉, services/ledger/appeals.py): Mei disputes D2's daily-cap cut (23) and the expiry of D2's
    # 55. Greg confirmed D2, so he may not review it; root (an admin) upholds the cut in full: 23 from issuance, a
    # lot of today, recorded with the appeal id. The expiry appeal is dismissed with a reason. 140 + 23 = 163;
    # honour points stay 240 (a compensation is not an award).
    cut = kit.http.post("/v1/appeals", json={"kind": "cap_cut", "subject_id": kit.db.transfers.find_one(
        {"workflow": "award", "payee_id": "mei", "community_id": c, "details.award.cuts.0": {"$exists": True}})["_id"],
        "reason": "那天调解了两起纠纷"}, headers=kit.h("mei", c)).json
    lapse = kit.http.post("/v1/appeals", json={"kind": "expiry", "subject_id": expired[0]["_id"],
                                               "reason": "住院期间没能用"}, headers=kit.h("mei", c)).json
    assert (cut["disputed"], lapse["disputed"]) == (23, 55)
    refused = kit.http.post(f"/v1/admin/appeals/{cut['appeal_id']}/uphold", json={}, headers=staff)
    assert refused.status_code == 403 and refused.json["code"] == "reviewer_is_decider"
    admin = kit.h("root", c, "admin")
    upheld = kit.http.post(f"/v1/admin/appeals/{cut['appeal_id']}/uphold", json={}, headers=admin).json
    dismissed = kit.http.post(f"/v1/admin/appeals/{lapse['appeal_id']}/dismiss",
                              json={"reason": "到期前 30 天和 7 天都提醒过"}, headers=admin).json
    assert (upheld["status"], upheld["amount"], dismissed["status"]) == ("upheld", 23, "dismissed")
    history = kit.http.get("/v1/entries?unit=PT", headers=kit.h("mei", c)).json["items"]
    assert (history[0]["reference"], history[0]["delta"]) == ({"kind": "appeal", "id": cut["appeal_id"]}, 23)
    mine = kit.http.get("/v1/points", headers=kit.h("mei", c)).json
    assert (mine["balance"], mine["honour_points"]) == (163, 240)
    assert [a["status"] for a in kit.http.get("/v1/appeals/mine", headers=kit.h("mei", c)).json] == ["dismissed",
                                                                                                      "upheld"]
    assert kit.audit(c)["ok"]


def test_annual_clearing_on_the_date_the_community_chose(kit):
    c = kit.community()
    kit.join(c, "yan")
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_year": None}, expiry={"mode": "annual", "clearing_date": "06-30"})
    kit.fund("yan", c, points=25)
    today = datetime.now(timezone.utc).astimezone(timezone(timedelta(hours=8))).date()
    clearing = today.replace(month=6, day=30)
    if clearing <= today:  # the first clearing date after the day the points were earned (年度清零)
        clearing = clearing.replace(year=today.year + 1)
    lot = _lots(kit, f"m:{c}:yan:PT")[0]
    assert (lot["expires_on"], lot["rule_version"]) == (clearing.isoformat(), 1)
    eve = datetime(clearing.year, clearing.month, clearing.day, 4, tzinfo=timezone.utc) - timedelta(days=1)
    scheduler.expire_lots_due(kit.ledger.runtime, at=eve)  # the day before: nothing yet
    assert kit.db.transfers.find_one({"reference.kind": "expiry", "community_id": c}) is None
    scheduler.expire_lots_due(kit.ledger.runtime, at=eve + timedelta(days=1))
    cleared = kit.db.transfers.find_one({"reference.kind": "expiry", "community_id": c})
    assert (cleared["credit_account"], cleared["amount"]) == (f"s:{c}:expiry:PT", 25)
    assert cleared["details"]["economy"]["explanation"]["en"] == [f"25 of the points earned {today.isoformat()} expired"]
    assert kit.balance("yan", c, "PT")["posted"] == 0 and kit.audit(c)["ok"]
