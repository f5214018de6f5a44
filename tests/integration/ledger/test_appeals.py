"""Appeals (积分异议申诉) on the real stack: a member's year with a cap cut, an expiry and a penalty, each appealed;
reviewers who may and may not decide; compensations posted with the appeal id; a penalty upheld after a repair;
a disputed help claim appealed and paid as its bill would have been. Figures worked by hand in each docstring."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from shared.testing import wait_until
from services.ledger import scheduler

SHANGHAI = timezone(timedelta(hours=8))


def _award(kit, c: str, member: str, day, verifier: tuple, **activity) -> dict:
    """A claim for an activity done on `day`, confirmed by `verifier`: the posted award."""
    claim = {"request_id": "r_" + uuid.uuid4().hex[:8], "community_id": c, "helper_id": member, "payer_id": None,
             "unit": "PT", "minutes": 60, "activity_type": None, "service_class": "ordinary", "source": "activity",
             "claim_id": "cl_" + uuid.uuid4().hex[:8], **activity}
    kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"],
                occurred_at=f"{day.isoformat()}T02:00:00+00:00")
    t = wait_until(lambda: kit.db.transfers.find_one({"reference.id": claim["request_id"]}), message="award")
    posted = kit.act("confirm", t["_id"], *verifier)
    assert posted.status_code == 200 and posted.json["state"] == "posted", posted.json
    return posted.json


def _appeal(kit, who: tuple, **body):
    return kit.http.post("/v1/appeals", json=body, headers=kit.h(*who))


def _decide(kit, verb: str, appeal_id: str, who: tuple, **body):
    return kit.http.post(f"/v1/admin/appeals/{appeal_id}/{verb}", json=body, headers=kit.h(*who))


def _problem(r, status: int, code: str) -> None:
    assert r.status_code == status and r.json["code"] == code, (r.status_code, r.json)
    assert r.headers["Content-Type"].startswith("application/problem+json")


def test_a_members_year_of_appeals_one_cap_cut_upheld_in_part_a_penalty_dismissed_an_expiry_upheld(kit):
    """Mei (grid g1; greg and gus are its grid workers, ann and root admins), rules: per-day cap 60, no one-off
    bonuses, noise costs 10, lots expire after 12 months. T = today in Shanghai.
    D1 = T−380 clean-up 20, confirmed by greg → lot of 20 (expires D1 + 12 months, before today);
    D2 = T−100 mediation 50 + complex case 50 = 100, daily cap 60 cuts 40 → 60, confirmed by greg;
    the scheduler expires D1's 20; greg's noise penalty takes 10 from D2's lot (60 → 50). Balance 50.
    Appeals: the cap cut (40 disputed): greg decided it (403), gus, the grid's other worker, upholds 30 → 80;
    the penalty (10): greg issued it (403), a second appeal is refused (409), root dismisses it; the expiry (20):
    a grid worker may not review expiries (403), ann upholds all of it → 100.
    Balance by hand: 20 + 60 − 20 − 10 + 30 + 20 = 100; honour points stay 80 (compensations are not awards)."""
    c = kit.community()
    kit.join(c, "mei", "bo", "greg", "gus", grid_id="g1")
    kit.join(c, "otto", grid_id="g2")
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_activity": None, "per_day": 60, "per_year": None}, penalties={"noise": 10},
              expiry={"mode": "rolling", "months": 12, "reminder_days": [7]})
    account = f"m:{c}:mei:PT"
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    greg, gus, ann, root = ("greg", c, "grid_worker"), ("gus", c, "grid_worker"), ("ann", c, "admin"), \
        ("root", c, "admin")
    _award(kit, c, "mei", today - timedelta(days=380), greg, activity_type="environment_cleanup")
    d2 = _award(kit, c, "mei", today - timedelta(days=100), greg, activity_type="mediation", bonuses=["complex_case"])
    assert (d2["amount"], [(i["code"], i["points"]) for i in d2["award"]["cuts"]]) == (60, [("cap_per_day", -40)])
    scheduler.expire_lots_due(kit.ledger.runtime, at=datetime.now(timezone.utc))
    expiry = kit.db.transfers.find_one({"reference.kind": "expiry", "debit_account": account})
    assert expiry["amount"] == 20
    penalty = kit.http.post("/v1/admin/penalties", json={"member_id": "mei", "reason": "noise"},
                            headers=kit.h(*greg)).json
    assert kit.balance("mei", c, "PT")["posted"] == 50

    # Filing: only my own decisions, with a reason, once per decision.
    nothing = kit.db.appeals.count_documents({"community_id": c})
    _problem(_appeal(kit, ("bo", c), kind="cap_cut", subject_id=d2["transfer_id"], reason="不是我的"), 403,
             "not_your_decision")
    _problem(_appeal(kit, ("mei", c), kind="cap_cut", subject_id="t_nope", reason="?"), 404,
             "appeal_subject_not_found")
    _problem(_appeal(kit, ("mei", c), kind="cap_cut", subject_id=d2["transfer_id"], reason="   "), 422, "bad_reason")
    _problem(_appeal(kit, ("mei", c), kind="award", subject_id=d2["transfer_id"], reason="少了"), 422,
             "points_required")
    _problem(_appeal(kit, ("mei", c), kind="cap_cut", subject_id=d2["transfer_id"], reason="x", points=41), 422,
             "appeal_exceeds_disputed")
    _problem(_appeal(kit, ("mei", c), kind="expiry", subject_id=d2["transfer_id"], reason="x"), 422,
             "not_appealable")
    assert kit.db.appeals.count_documents({"community_id": c}) == nothing == 0

    cap = _appeal(kit, ("mei", c), kind="cap_cut", subject_id=d2["transfer_id"], reason="那天调解了两起纠纷")
    assert cap.status_code == 201, cap.json
    assert (cap.json["status"], cap.json["disputed"], cap.json["steps"][0]["step"]) == ("open", 40, "filed")
    pen = _appeal(kit, ("mei", c), kind="penalty", subject_id=penalty["penalty_id"], reason="那晚我不在家")
    exp = _appeal(kit, ("mei", c), kind="expiry", subject_id=expiry["_id"], reason="住院期间没能使用积分")
    assert (pen.status_code, pen.json["disputed"], exp.status_code, exp.json["disputed"]) == (201, 10, 201, 20)
    _problem(_appeal(kit, ("mei", c), kind="penalty", subject_id=penalty["penalty_id"], reason="again"), 409,
             "appeal_already_open")

    # Reviewing: never the decider, never the appellant; grid workers only for their grid's awards and penalties.
    cap_id, pen_id, exp_id = cap.json["appeal_id"], pen.json["appeal_id"], exp.json["appeal_id"]
    _problem(_decide(kit, "uphold", cap_id, greg), 403, "reviewer_is_decider")
    _problem(_decide(kit, "dismiss", pen_id, greg, reason="x"), 403, "reviewer_is_decider")
    _problem(_decide(kit, "uphold", cap_id, ("otto", c, "grid_worker")), 403, "not_a_reviewer")
    _problem(_decide(kit, "uphold", cap_id, ("mei", c, "admin")), 403, "reviewer_is_appellant")
    _problem(_decide(kit, "uphold", exp_id, gus), 403, "not_a_reviewer")
    _problem(_decide(kit, "uphold", cap_id, gus, amount=41), 422, "uphold_exceeds_disputed")
    assert kit.http.post(f"/v1/admin/appeals/{cap_id}/uphold", json={}, headers=kit.h("bo", c)).status_code == 403
    assert kit.balance("mei", c, "PT")["posted"] == 50

    upheld = _decide(kit, "uphold", cap_id, gus, amount=30)
    assert upheld.status_code == 200, upheld.json
    assert (upheld.json["status"], upheld.json["amount"], upheld.json["decided_by"]) == ("upheld", 30, "gus")
    _problem(_decide(kit, "dismiss", cap_id, ann, reason="late"), 409, "appeal_closed")
    dismissed = _decide(kit, "dismiss", pen_id, root, reason="巡查记录显示当晚 23 点仍有噪音")
    assert (dismissed.status_code, dismissed.json["status"]) == (200, "dismissed")
    _problem(_appeal(kit, ("mei", c), kind="penalty", subject_id=penalty["penalty_id"], reason="again"), 409,
             "appeal_already_decided")
    assert _decide(kit, "uphold", exp_id, ann).json["amount"] == 20

    # The member sees every step, and each compensation in her history with the appeal's id.
    mine = kit.http.get("/v1/appeals/mine", headers=kit.h("mei", c)).json
    assert [(a["kind"], a["status"], a["amount"], [s["step"] for s in a["steps"]]) for a in mine] == [
        ("expiry", "upheld", 20, ["filed", "upheld"]), ("penalty", "dismissed", None, ["filed", "dismissed"]),
        ("cap_cut", "upheld", 30, ["filed", "upheld"])]
    assert mine[1]["decision_reason"] == "巡查记录显示当晚 23 点仍有噪音" and mine[1]["steps"][1]["by"] == "root"
    assert kit.http.get(f"/v1/appeals/{cap_id}", headers=kit.h("mei", c)).json == mine[2]
    assert kit.http.get(f"/v1/appeals/{cap_id}", headers=kit.h("bo", c)).status_code == 404
    assert kit.http.get(f"/v1/appeals/{cap_id}", headers=kit.h(*gus)).status_code == 200
    assert kit.http.get(f"/v1/appeals/{exp_id}", headers=kit.h("otto", c, "grid_worker")).status_code == 404
    entries = kit.http.get("/v1/entries?unit=PT", headers=kit.h("mei", c)).json["items"]
    compensations = [(e["reference"]["id"], e["delta"]) for e in entries if e["reference"]["kind"] == "appeal"]
    assert compensations == [(exp_id, 20), (cap_id, 30)]
    paid = kit.db.transfers.find_one({"_id": upheld.json["transfer_id"]})
    assert paid["debit_account"].startswith(f"s:{c}:issuance:PT")
    assert paid["details"]["economy"]["explanation"]["zh-CN"] == [f"申诉 {cap_id} 成立，补偿 30"]
    points = kit.http.get("/v1/points", headers=kit.h("mei", c)).json
    assert (points["balance"], points["honour_points"]) == (100, 80)
    assert [(lot["earned_on"], lot["remaining"]) for lot in points["lots"]] == [
        ((today - timedelta(days=100)).isoformat(), 50), (today.isoformat(), 30), (today.isoformat(), 20)]

    queue = kit.http.get("/v1/admin/appeals?status=open", headers=kit.h(*ann)).json
    assert [a for a in queue if a["community_id"] == c] == []
    assert {a["appeal_id"] for a in kit.http.get("/v1/admin/appeals", headers=kit.h(*gus)).json} == {cap_id, pen_id}
    for type_, ids in (("AppealFiled", {cap_id, pen_id, exp_id}), ("AppealUpheld", {cap_id, exp_id}),
                       ("AppealDismissed", {pen_id})):
        wait_until(lambda: {e["payload"]["appeal_id"] for e in kit.log.of(type_, community_id=c)} == ids,
                   message=type_)
    assert kit.audit(c)["ok"]


def test_a_penalty_upheld_after_a_repair_gives_back_what_is_left_owed_points_first(kit):
    """Pat holds 20; littering costs 30: 20 taken, 10 owed. A repair of 5 forgives 5 of the owed (owed 5). Her
    appeal disputes what is not repaired: 30 − 5 = 25. Upheld in full: 5 owed forgiven, 20 back as a lot from the
    penalty account (which held 20, now 0). Balance 0 + 20 = 20, owed 0; the penalty counts 30 repaired, so no
    repair is left."""
    c = kit.community()
    kit.join(c, "pat", "greg", grid_id="g1")
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_year": None}, penalties={"littering": 30}, repair={"window_days": 30, "max_percent": 100})
    kit.fund("pat", c, points=20)
    staff = kit.h("greg", c, "grid_worker")
    penalty = kit.http.post("/v1/admin/penalties", json={"member_id": "pat", "reason": "littering"},
                            headers=staff).json
    assert (penalty["taken"], penalty["owed"]) == (20, 10)
    url = f"/v1/admin/penalties/{penalty['penalty_id']}/repair"
    assert kit.http.post(url, json={"points": 5}, headers=staff).json["repaired"] == 5
    appeal = _appeal(kit, ("pat", c), kind="penalty", subject_id=penalty["penalty_id"], reason="垃圾不是我扔的")
    assert appeal.json["disputed"] == 25
    upheld = _decide(kit, "uphold", appeal.json["appeal_id"], ("root", c, "admin"))
    assert upheld.status_code == 200 and upheld.json["amount"] == 25, upheld.json
    moved = kit.db.transfers.find_one({"_id": upheld.json["transfer_id"]})
    assert (moved["amount"], moved["reference"]) == (20, {"kind": "appeal_penalty", "id": appeal.json["appeal_id"]})
    assert [(i["code"], i["points"]) for i in moved["details"]["economy"]["items"]] == [("appeal_debt", 5),
                                                                                        ("appeal_lot", 20)]
    mine = kit.http.get("/v1/points", headers=kit.h("pat", c)).json
    assert (mine["balance"], mine["debt"], mine["penalties"][0]["repaired"]) == (20, 0, 30)
    assert mine["penalties"][0]["repairs"][1]["appeal_id"] == appeal.json["appeal_id"]
    assert kit.db.accounts.find_one({"_id": f"s:{c}:penalty:PT"})["posted"] == 0
    r = kit.http.post(url, json={"points": 1}, headers=staff)
    assert r.status_code == 422 and r.json["code"] == "repair_exceeds_penalty"
    assert kit.audit(c)["ok"]


def _disputed_bill(kit, c: str, minutes: int) -> tuple[str, dict]:
    """Bo's bill for Mei's `minutes` of help, rejected by Bo; the requests service says the claim is disputed."""
    request_id, claim_id = "r_" + uuid.uuid4().hex[:8], "cl_" + uuid.uuid4().hex[:8]
    kit.publish("requests.events", "HelpClaimed", {
        "request_id": request_id, "community_id": c, "helper_id": "mei", "payer_id": "bo", "unit": "HOUR",
        "minutes": minutes, "activity_type": None, "service_class": "ordinary", "source": "request",
        "claim_id": claim_id, "title": "修水管"}, request_id)
    bill = wait_until(lambda: kit.db.transfers.find_one({"reference.id": request_id}), message="bill")
    assert kit.act("reject", bill["_id"], "bo", c, reason="没修好").json["state"] == "rejected"
    _problem(_appeal(kit, ("mei", c), kind="claim", subject_id=bill["_id"], reason="修好了"), 422, "not_appealable")
    kit.publish("requests.events", "RequestDisputed", {"request_id": request_id, "community_id": c,
                                                       "transfer_id": bill["_id"], "claim_id": claim_id,
                                                       "helper_id": "mei"}, request_id)
    wait_until(lambda: kit.db.disputed_claims.find_one({"_id": bill["_id"]}), message="dispute recorded")
    return request_id, bill


def test_a_disputed_help_claim_is_appealed_and_paid_as_its_bill_would_have_been(kit):
    """Bo asked for an hour of help; Mei claims 60 minutes, Bo rejects the bill; the requests service marks the
    claim disputed (RequestDisputed). Mei appeals; Bo (who rejected it, and the payer) may not review; an admin
    upholds: 60 minutes move from Bo to Mei (HOUR: Bo −60, Mei +60). A second bill of 900 minutes is more than
    Bo's 10-hour overdraft can pay (−60 − 900 < −600): upholding it is refused (the appeal stays open) until the
    admin decides the community pays, from its HOUR issuance (Mei +900, Bo unchanged)."""
    c = kit.community()
    kit.join(c, "mei", "bo")
    request_id, bill = _disputed_bill(kit, c, 60)
    _problem(_appeal(kit, ("bo", c), kind="claim", subject_id=bill["_id"], reason="x"), 403, "not_your_decision")
    appeal = _appeal(kit, ("mei", c), kind="claim", subject_id=bill["_id"], reason="水管已经不漏了，有照片")
    assert (appeal.status_code, appeal.json["disputed"], appeal.json["unit"], appeal.json["request_id"]) == (
        201, 60, "HOUR", request_id)
    _problem(_decide(kit, "uphold", appeal.json["appeal_id"], ("bo", c, "admin")), 403, "reviewer_is_decider")
    before = {m: kit.balance(m, c, "HOUR")["posted"] for m in ("mei", "bo")}
    upheld = _decide(kit, "uphold", appeal.json["appeal_id"], ("root", c, "admin"))
    assert upheld.status_code == 200, upheld.json
    paid = kit.db.transfers.find_one({"_id": upheld.json["transfer_id"]})
    assert (paid["debit_account"], paid["credit_account"], paid["amount"]) == (f"m:{c}:bo:HOUR", f"m:{c}:mei:HOUR",
                                                                               60)
    assert {m: kit.balance(m, c, "HOUR")["posted"] - before[m] for m in ("mei", "bo")} == {"mei": 60, "bo": -60}
    event = kit.log.wait("AppealUpheld", appeal_id=appeal.json["appeal_id"])[0]["payload"]
    assert (event["kind"], event["request_id"], event["transfer_id"]) == ("claim", request_id, paid["_id"])

    _, big = _disputed_bill(kit, c, 900)
    second = _appeal(kit, ("mei", c), kind="claim", subject_id=big["_id"], reason="九个小时的护理").json
    admin = ("root", c, "admin")
    _problem(_decide(kit, "uphold", second["appeal_id"], admin), 422, "insufficient_funds")
    assert kit.http.get(f"/v1/appeals/{second['appeal_id']}", headers=kit.h("mei", c)).json["status"] == "open"
    upheld = _decide(kit, "uphold", second["appeal_id"], admin, paid_by="community")
    assert upheld.status_code == 200, upheld.json
    paid = kit.db.transfers.find_one({"_id": upheld.json["transfer_id"]})
    assert (paid["debit_account"].startswith(f"s:{c}:issuance:HOUR"), paid["amount"]) == (True, 900)
    assert {m: kit.balance(m, c, "HOUR")["posted"] - before[m] for m in ("mei", "bo")} == {"mei": 960, "bo": -60}
    assert kit.audit(c)["ok"]


def test_two_reviewers_deciding_at_once_pay_one_compensation(kit):
    """Pat's expiry of 20 appealed; two admins uphold (one with 20, one with 5) and a third dismisses, all at once:
    exactly one decision stands, the others are 409 `appeal_closed`, and at most one compensation is posted."""
    from concurrent.futures import ThreadPoolExecutor
    c = kit.community()
    kit.join(c, "pat")
    kit.rules(c, first_participation_bonus=0, newcomer={"activities": 0}, streak={"every": 0},
              caps={"per_year": None}, expiry={"mode": "rolling", "months": 1, "reminder_days": [7]})
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    _award(kit, c, "pat", today - timedelta(days=40), ("olga", c, "organizer"), activity_type="environment_cleanup")
    scheduler.expire_lots_due(kit.ledger.runtime, at=datetime.now(timezone.utc))
    expiry = kit.db.transfers.find_one({"reference.kind": "expiry", "debit_account": f"m:{c}:pat:PT"})
    appeal = _appeal(kit, ("pat", c), kind="expiry", subject_id=expiry["_id"], reason="出差在外").json
    calls = [("uphold", ("ann", c, "admin"), {"amount": 20}), ("uphold", ("root", c, "admin"), {"amount": 5}),
             ("dismiss", ("rex", c, "admin"), {"reason": "提醒过两次"})]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda call: _decide(kit, call[0], appeal["appeal_id"], call[1], **call[2]), calls))
    assert sorted(r.status_code for r in answers) == [200, 409, 409], [r.json for r in answers]
    assert {r.json["code"] for r in answers if r.status_code == 409} == {"appeal_closed"}
    decided = next(r.json for r in answers if r.status_code == 200)
    paid = list(kit.db.transfers.find({"reference": {"kind": "appeal", "id": appeal["appeal_id"]}}))
    assert [t["amount"] for t in paid] == ([decided["amount"]] if decided["status"] == "upheld" else [])
    assert kit.balance("pat", c, "PT")["posted"] == (decided["amount"] or 0)
    assert kit.audit(c)["ok"]
