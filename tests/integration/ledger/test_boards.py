"""The economy statistics read model on the real stack (issue 13 boards, issue 15 dashboards): awards,
redemptions, expiry, a penalty and its repair move the figures exactly; a redelivered event counts once; a grid
worker sees only their grid; the boards are anonymous unless a member opted in; the public honour board shows no
personal data."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.economy import health
from shared.testing import wait_until
from services.ledger import scheduler
from services.ledger.lots import to_lot
from services.ledger.stats_model import pseudonym

SHANGHAI = timezone(timedelta(hours=8))
RULES = {"first_participation_bonus": 0, "newcomer": {"activities": 0}, "streak": {"every": 0},
         "caps": {"per_year": None}, "penalties": {"noise": 10}, "repair": {"window_days": 30, "max_percent": 100},
         "honour_levels": [{"threshold": 40, "title_zh": "一星志愿者", "title_en": "One-star volunteer"}]}


def _month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def _award(kit, c: str, member: str, points: int, event_id: str | None = None) -> dict:
    """A HelpClaimed award of `points` (10 an hour under RULES), confirmed by an organizer: the posted transfer."""
    claim = {"request_id": "r_" + uuid.uuid4().hex[:8], "community_id": c, "helper_id": member, "payer_id": None,
             "unit": "PT", "minutes": points * 6, "activity_type": None, "service_class": "ordinary",
             "source": "activity", "claim_id": "cl_" + uuid.uuid4().hex[:8]}
    event = kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"], event_id=event_id)
    t = wait_until(lambda: kit.db.transfers.find_one({"reference.id": claim["request_id"]}), message="award")
    r = kit.act("confirm", t["_id"], "olga", c, "organizer")
    assert r.status_code == 200 and r.json["state"] == "posted", r.json
    return {"claim": claim, "event": event, "transfer": t}


def _stats(kit, c: str, who: str, *roles: str, **query):
    month = _month()
    return kit.http.get("/v1/admin/economy/stats", query_string={"from": month, "to": month, **query},
                        headers=kit.h(who, c, *roles))


def _join(kit, c: str, member: str, grid: str | None, board_name: str | None = None) -> None:
    kit.publish("community.events", "MemberJoined",
                {"community_id": c, "member_id": member, "grid_id": grid, "roles": ["resident"], "skills": [],
                 "availability": [], "vulnerable": False, "merchant_id": None, "status": "active",
                 "joined_at": "2025-01-01T00:00:00+00:00", "board_name": board_name}, member)
    wait_until(lambda: kit.db.member_economy.find_one({"_id": f"m:{c}:{member}:PT", "counted_grid": grid or ""}),
               timeout=90, message="member counted")


def test_flows_boards_and_the_honour_board_follow_every_move_exactly(kit):
    c, month = kit.community(), _month()
    kit.publish("community.events", "CommunityCreated",
                {"community_id": c, "code": "x", "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 7, "bill_auto_confirm": False, "timezone": "Asia/Shanghai",
                              "hour_credit_limit_minutes": 600}}, c)
    wait_until(lambda: kit.db.communities.find_one({"_id": c}), message="community")
    for m, g in (("ann", "g1"), ("bob", "g1"), ("greg", "g1"), ("cat", "g2")):
        _join(kit, c, m, g)
    _join(kit, c, "dora", "g2", board_name="Dora 王")
    kit.rules(c, **RULES)
    kit.publish("settlement.events", "MerchantRegistered",
                {"merchant_id": "shop1", "community_id": c, "name": "x", "settlement_rate_fen_per_point": 10,
                 "max_discount_share_bp": 3000, "min_points": 1, "schedule": "daily", "status": "active",
                 "kind": "shop"}, "shop1")
    wait_until(lambda: kit.db.accounts.find_one({"_id": f"x:{c}:shop1:PT"}))

    # Awards: ann 30 + 20 (one-star at 40 honour points), bob 12, cat 50 (one-star), dora 25.
    first = _award(kit, c, "ann", 30)
    for member, points in (("ann", 20), ("bob", 12), ("cat", 50), ("dora", 25)):
        _award(kit, c, member, points)
    # The same HelpClaimed delivered again (same event id) and re-emitted (a new id): no second award anywhere.
    kit.publish("requests.events", "HelpClaimed", first["claim"], first["claim"]["request_id"],
                event_id=first["event"]["id"])
    kit.publish("requests.events", "HelpClaimed", first["claim"], first["claim"]["request_id"])
    # ann redeems 15 at the shop (approved on her phone).
    rid = "rd_" + uuid.uuid4().hex[:8]
    kit.publish("settlement.events", "RedemptionRequested",
                {"redemption_id": rid, "community_id": c, "merchant_id": "shop1", "member_id": "ann", "points": 15,
                 "bill_fen": 5000, "staff_id": "staff1", "pay_code": None, "item_id": None}, rid)
    t = wait_until(lambda: kit.db.transfers.find_one({"reference.id": rid}), message="redemption")
    assert kit.act("confirm", t["_id"], "ann", c).json["state"] == "posted"
    # bob is penalised 10 for noise by the grid worker of g1, then 4 are repaired.
    r = kit.http.post("/v1/admin/penalties", json={"member_id": "bob", "reason": "noise"},
                      headers=kit.h("greg", c, "grid_worker"))
    assert r.status_code == 201, r.json
    r = kit.http.post(f"/v1/admin/penalties/{r.json['penalty_id']}/repair", json={"points": 4},
                      headers=kit.h("greg", c, "grid_worker"))
    assert r.status_code == 200, r.json
    # A marker after the redelivered events on their partition (same key): once it is applied, so are they.
    marker = {**first["claim"], "request_id": "r_marker_" + uuid.uuid4().hex[:6], "claim_id": "cl_marker"}
    kit.publish("requests.events", "HelpClaimed", marker, first["claim"]["request_id"])
    wait_until(lambda: kit.db.transfers.find_one({"reference.id": marker["request_id"]}), message="marker")
    _join(kit, c, "eve", None)

    # Hand-worked: issued 30+20+12+50+25 = 137; redeemed 15; penalised 10 − 4 = 6; expired 0;
    # outstanding 137 − 15 − 6 = 116 = ann 35 + bob 6 + cat 50 + dora 25.
    s = _stats(kit, c, "root", "admin")
    assert s.status_code == 200, s.json
    assert s.json["months"] == [{"month": month, "issued": 137, "redeemed": 15, "expired": 0, "penalised": 6,
                                 "outstanding": 116, "participants": 4, "members": 6}]
    grids = {(g["grid_id"], g["month"]): g for g in s.json["grids"]}
    assert {k: (g["issued"], g["participants"], g["members"]) for k, g in grids.items()} == {
        ("g1", month): (62, 2, 3), ("g2", month): (75, 2, 2), (None, month): (0, 0, 1)}
    assert (grids[("g1", month)]["redeemed"], grids[("g1", month)]["penalised"]) == (15, 6)
    # Balances 35, 6, 50, 25 (n = 4, Σ 116): top 10 % = the top 1 member = 50/116 = 0.43103… → 0.4310;
    # Gini: sorted 6, 25, 35, 50: (−3·6 − 1·25 + 1·35 + 3·50) / (4·116) = 142/464 = 0.30603… → 0.3060.
    assert s.json["concentration"] == {"holders": 4, "top10_share": "0.4310", "gini": "0.3060"}
    lots = [to_lot(d) for d in kit.db.point_lots.find({"community_id": c, "remaining": {"$gt": 0}})]
    forecast = health.expiry_forecast(lots, datetime.now(SHANGHAI).date())
    assert s.json["expiring"] == {"next_30_days": forecast[30], "next_90_days": forecast[90]}
    assert sum(lot.remaining for lot in lots) == 116

    # A grid worker sees only their grid: their own by default, another is refused.
    mine = _stats(kit, c, "greg", "grid_worker")
    assert mine.status_code == 200 and mine.json["grid_id"] == "g1"
    assert [g["grid_id"] for g in mine.json["grids"]] == ["g1"]
    assert (mine.json["months"][0]["issued"], mine.json["months"][0]["outstanding"]) == (62, 41)
    other = _stats(kit, c, "greg", "grid_worker", grid_id="g2")
    assert other.status_code == 403 and other.json["code"] == "grid_not_yours"
    assert _stats(kit, c, "ann").status_code == 403

    # The month's board: cat 50, ann 50, dora 25, bob 12 (equal points, equal rank); anonymous but dora.
    board = kit.http.get("/v1/boards", query_string={"period": "month", "at": month},
                         headers=kit.h("bob", c)).json
    assert [(r["rank"], r["points"], r["named"]) for r in board["rows"]] == [
        (1, 50, False), (1, 50, False), (3, 25, True), (4, 12, False)]
    names = [r["name"] for r in board["rows"]]
    assert {"zh-CN": "Dora 王", "en": "Dora 王"} in names and pseudonym(c, "ann") in names
    assert [r["title_en"] for r in board["rows"][:2]] == ["One-star volunteer"] * 2
    assert board["me"] == {"rank": 4, "points": 12} and board["rows"][3]["is_me"]
    assert "ann" not in str(board) and "cat" not in str(board)
    year = kit.http.get("/v1/boards", query_string={"period": "year", "at": month, "grid_id": "g2"},
                        headers=kit.h("bob", c)).json
    assert [r["points"] for r in year["rows"]] == [50, 25] and year["me"] == {"rank": None, "points": 0}

    # The public honour board: no sign-in, no member ids, only dora's chosen name.
    public = kit.http.get(f"/v1/public/communities/{c}/honour-board")
    assert public.status_code == 200, public.json
    body = public.json
    assert (body["month"], body["issued"], body["redeemed"], body["participants"]) == (month, 137, 15, 4)
    assert body["titles"] == [{"level": 1, "title_zh": "一星志愿者", "title_en": "One-star volunteer", "count": 2}]
    assert [r["points"] for r in body["leaderboard"]] == [50, 50, 25, 12]
    for member in ("ann", "bob", "cat", "dora", "greg"):
        assert member not in str(body)
    assert kit.http.get("/v1/public/communities/c_nowhere/honour-board").json["code"] == "unknown_community"
    assert kit.audit(c)["ok"]


def test_expiry_by_the_scheduler_moves_the_figures_and_a_rerun_moves_nothing(kit):
    c, month = kit.community(), _month()
    _join(kit, c, "yan", "g1")
    kit.rules(c, **{**RULES, "expiry": {"mode": "annual", "clearing_date": "12-31"}})
    _award(kit, c, "yan", 25)
    today = datetime.now(SHANGHAI).date()
    clearing = date(today.year, 12, 31) if today < date(today.year, 12, 31) else date(today.year + 1, 12, 31)
    before = _stats(kit, c, "root", "admin").json
    assert before["expiring"]["next_90_days"] == (25 if (clearing - today).days <= 90 else 0)
    day = datetime(clearing.year, clearing.month, clearing.day, 4, tzinfo=timezone.utc)
    assert scheduler.expire_lots_due(kit.ledger.runtime, at=day) == 25
    assert scheduler.expire_lots_due(kit.ledger.runtime, at=day) == 0  # rerun: nothing twice
    clearing_month = clearing.isoformat()[:7]
    s = kit.http.get("/v1/admin/economy/stats", query_string={"from": month, "to": clearing_month},
                     headers=kit.h("root", c, "admin")).json
    # The clearing posts now (this month), whatever day it was run for: issued 25, expired 25, outstanding 0.
    assert (s["months"][0]["issued"], s["months"][0]["expired"], s["months"][-1]["outstanding"]) == (25, 25, 0)
    assert s["concentration"] == {"holders": 0, "top10_share": None, "gini": None}
    assert s["expiring"] == {"next_30_days": 0, "next_90_days": 0}


def test_bad_queries_are_refused_clearly(kit):
    c = kit.community()
    admin = kit.h("root", c, "admin")
    for query in ({"from": "2026-13", "to": "2026-12"}, {"from": "2026-05", "to": "2026-01"}, {"to": "2026-01"},
                  {"from": "2020-01", "to": "2026-01"}):
        r = kit.http.get("/v1/admin/economy/stats", query_string=query, headers=admin)
        assert r.status_code == 422 and r.json["code"] == "validation_failed", (query, r.json)
    for query in ({"period": "week", "at": "2026-01"}, {"period": "month", "at": "2026"}, {"period": "year"}):
        r = kit.http.get("/v1/boards", query_string=query, headers=kit.h("ann", c))
        assert r.status_code == 422 and r.json["code"] == "validation_failed", (query, r.json)
    assert kit.http.get("/v1/boards", query_string={"period": "year", "at": "2026"}).status_code == 401
