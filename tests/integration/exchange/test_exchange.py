"""The exchange service on real Kafka and MongoDB, fed by the real community service (agreements, point
values) and by CrossTransferPosted events published as the ledger will publish them (the contract)."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared import topics
from shared.testing import bearer, cross_transfer_posted, wait_until
from services.exchange import scheduler
from services.exchange.bootstrap import bootstrap

OPERATOR = {"X-Operator-Key": "dev-operator-key"}


def _community(http, code: str, fen: int, phone: str) -> dict:
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": f"{code}社区", "point_value_fen": fen,
        "admin": {"display_name": "主任", "phone": phone, "password": "135790"}})
    assert made.status_code == 201, made.json
    login = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": "135790"})
    return {"cid": made.json["community"]["community_id"], "code": code, "admin": bearer(login.json["token"])}


@pytest.fixture(scope="module")
def world(module_deployment):
    dep = module_deployment
    community = dep.service("community")
    exchange = dep.service("exchange")
    a = _community(community.http, "lianhua", 10, "13800000201")
    b = _community(community.http, "taoyuan", 5, "13800000202")
    c = _community(community.http, "xinhe", 8, "13800000203")
    proposed = community.http.post("/v1/partners", headers=a["admin"], json={
        "partner_code": "taoyuan", "clearing_period": "weekly",
        "units": [{"unit": "HOUR", "net_limit": 600}, {"unit": "PT", "net_limit": 5000}]})
    aid = proposed.json["agreement_id"]
    assert community.http.post(f"/v1/partners/{aid}/accept", headers=b["admin"]).status_code == 200
    return {"dep": dep, "community": community, "exchange": exchange, "http": exchange.http, "a": a, "b": b, "c": c,
            "aid": aid, "hour": f"tl:{aid}:HOUR", "pt": f"tl:{aid}:PT"}


def line(world, who: str, tl: str) -> dict:
    r = world["http"].get(f"/v1/trust-lines/{tl}", headers=world[who]["admin"])
    assert r.status_code == 200, r.json
    return r.json


def wait_line(world, tl: str, pred, message: str) -> dict:
    def check():
        r = world["http"].get(f"/v1/trust-lines/{tl}", headers=world["a"]["admin"])
        return r.json if r.status_code == 200 and pred(r.json) else None
    return wait_until(check, message=message)


def quote(world, tl: str, payer: str, amount: int, stated_by: str) -> dict:
    r = world["http"].get(f"/v1/trust-lines/{tl}/quote", headers=world["a"]["admin"],
                          query_string={"payer_community": world[payer]["cid"], "amount": amount,
                                        "stated_by": stated_by})
    assert r.status_code == 200, r.json
    return r.json


def post_cross(world, tl: str, q: dict, transfer_id: str | None = None, event_id: str | None = None) -> str:
    """Publish CrossTransferPosted as the ledger does after posting a confirmed cross transfer."""
    transfer_id = transfer_id or "t_" + uuid.uuid4().hex[:12]
    world["dep"].publish(topics.LEDGER, "CrossTransferPosted",
                         cross_transfer_posted(q, tl, world["aid"], transfer_id), transfer_id, event_id)
    return transfer_id


def test_an_accepted_agreement_opens_trust_lines_with_rates(world):
    a, b = world["a"], world["b"]
    pt = wait_line(world, world["pt"], lambda j: j["rate"]["version"] == 1, "PT line with its rate")
    assert pt["community_a"]["code"] == "lianhua" and pt["community_b"]["community_id"] == b["cid"]
    assert (pt["net_limit"], pt["measure"], pt["status"], pt["clearing_period"]) == (5000, "fen", "open", "weekly")
    assert pt["rate"] == {"basis": "point_value_fen", "version": 1, "a_point_value_fen": 10, "b_point_value_fen": 5}
    assert pt["position"]["net"] == 0 and pt["headroom"] == 5000
    hour = line(world, "b", world["hour"])
    assert hour["rate"]["basis"] == "1:1" and hour["net_limit"] == 600
    assert {x["trust_line_id"] for x in world["http"].get("/v1/trust-lines", headers=a["admin"]).json} == {
        world["hour"], world["pt"]}
    assert world["http"].get("/v1/trust-lines", headers=world["c"]["admin"]).json == []
    opened = wait_until(lambda: world["dep"].events(topics.EXCHANGE, "TrustLineOpened", key=world["pt"]))
    assert opened[0]["payload"] == {"trust_line_id": world["pt"], "agreement_id": world["aid"], "unit": "PT",
                                    "community_id": a["cid"], "community_a": a["cid"], "community_b": b["cid"],
                                    "net_limit": 5000, "measure": "fen", "status": "open",
                                    "clearing_period": "weekly"}
    rates = wait_until(lambda: world["dep"].events(topics.EXCHANGE, "RateChanged", key=world["pt"]))
    assert rates[0]["payload"]["a_point_value_fen"] == 10 and rates[0]["payload"]["b_point_value_fen"] == 5


def test_quotes_convert_exactly_and_refuse_what_is_worth_less_than_a_point(world):
    wait_line(world, world["pt"], lambda j: j["rate"]["version"] >= 1, "PT rate")
    gift = quote(world, world["pt"], "a", 7, "payer")
    assert (gift["debit_amount"], gift["credit_amount"], gift["measure"]) == (7, 14, 70)
    bill = quote(world, world["pt"], "a", 15, "payee")  # B bills 15 B-points: A pays 7.5 → 8
    assert (bill["debit_amount"], bill["credit_amount"], bill["measure"]) == (8, 15, 75)
    back = quote(world, world["pt"], "b", 3, "payer")  # 3 B-points (15 fen) → 1.5 A-points → 1
    assert (back["debit_amount"], back["credit_amount"], back["measure"]) == (3, 1, 10)
    too_small = world["http"].get(f"/v1/trust-lines/{world['pt']}/quote", headers=world["b"]["admin"],
                                  query_string={"payer_community": world["b"]["cid"], "amount": 1})
    assert too_small.status_code == 422 and too_small.json["code"] == "amount_too_small"
    assert too_small.mimetype == "application/problem+json"
    outsider = world["http"].get(f"/v1/trust-lines/{world['pt']}/quote", headers=world["a"]["admin"],
                                 query_string={"payer_community": world["c"]["cid"], "amount": 5})
    assert outsider.status_code == 422
    assert world["http"].get(f"/v1/trust-lines/{world['pt']}/quote", headers=world["c"]["admin"],
                             query_string={"payer_community": world["a"]["cid"], "amount": 5}).status_code == 404


def test_positions_clearing_record_csv_and_reset(world):
    pt, a, b = world["pt"], world["a"], world["b"]
    wait_line(world, pt, lambda j: j["rate"]["version"] >= 1, "PT rate")
    t1 = post_cross(world, pt, quote(world, pt, "a", 7, "payer"))  # a: +7, b: -14, net +70 fen
    event_id = "ev_" + uuid.uuid4().hex[:10]
    t2 = post_cross(world, pt, quote(world, pt, "b", 8, "payer"), event_id=event_id)  # b: +8, a: -4, net -40
    post_cross(world, pt, quote(world, pt, "b", 8, "payer"), transfer_id=t2, event_id=event_id)  # redelivered
    post_cross(world, pt, quote(world, pt, "b", 8, "payer"), transfer_id=t2)  # re-emitted under a new id
    now = wait_line(world, pt, lambda j: j["position"]["transfers"] == 2, "two transfers counted")
    assert now["position"] | {"since": None} == {"a_balance": 3, "b_balance": -6, "net": 30, "transfers": 2,
                                                 "since": None}
    assert now["headroom"] == 4970
    before = world["exchange"].db.clearings.count_documents({})
    assert world["http"].post(f"/v1/trust-lines/{pt}/clearings", headers=world["c"]["admin"]).status_code == 404
    assert world["exchange"].db.clearings.count_documents({}) == before

    made = world["http"].post(f"/v1/trust-lines/{pt}/clearings", headers=b["admin"])
    assert made.status_code == 201, made.json
    record = made.json
    assert (record["a_balance"], record["b_balance"], record["net"], record["amount_due"]) == (3, -6, 30, 30)
    assert record["debtor_id"] == a["cid"] and record["creditor_id"] == b["cid"] and record["measure"] == "fen"
    assert record["transfers"] == 2 and record["triggered_by"] == b["cid"]
    after = line(world, "a", pt)
    assert after["position"]["net"] == 0 and after["position"]["transfers"] == 0 and after["headroom"] == 5000
    # Both admins see it and can export it; others cannot.
    for who in ("a", "b"):
        listed = world["http"].get("/v1/clearings", headers=world[who]["admin"], query_string={"trust_line_id": pt})
        assert record["clearing_id"] in [x["clearing_id"] for x in listed.json]
    assert world["http"].get(f"/v1/clearings/{record['clearing_id']}", headers=world["c"]["admin"]).status_code == 404
    exported = world["http"].get(f"/v1/clearings/{record['clearing_id']}/export.csv", headers=a["admin"])
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    lines = {r[0]: r for r in rows if r and r[0] in (t1, t2)}
    assert lines[t1][4:6] == ["7", "14"] and lines[t1][-1] == "70" and lines[t2][-1] == "-40"
    assert rows[2][1] == "lianhua社区" and rows[-1][-1] == "30"
    # Nothing more to clear; the event tells the ledger what to move back.
    again = world["http"].post(f"/v1/trust-lines/{pt}/clearings", headers=a["admin"])
    assert again.status_code == 409 and again.json["code"] == "nothing_to_clear"
    done = wait_until(lambda: world["dep"].events(topics.EXCHANGE, "ClearingCompleted", key=pt))
    assert done[0]["payload"]["clearing_id"] == record["clearing_id"]
    assert (done[0]["payload"]["a_balance"], done[0]["payload"]["b_balance"]) == (3, -6)


def test_scheduler_clears_lines_whose_period_has_passed(world):
    hour = world["hour"]
    q = quote(world, hour, "b", 90, "payer")
    assert (q["debit_amount"], q["credit_amount"]) == (90, 90)
    post_cross(world, hour, q)
    wait_line(world, hour, lambda j: j["position"]["transfers"] == 1, "hour transfer counted")
    bus = bootstrap(world["exchange"].runtime)
    assert scheduler.clear_due(world["exchange"].runtime, bus, datetime.now(timezone.utc)) == []  # not due yet
    cleared = scheduler.clear_due(world["exchange"].runtime, bus, datetime.now(timezone.utc) + timedelta(days=8))
    assert [c["trust_line_id"] for c in cleared] == [hour]
    assert cleared[0]["net"] == -90 and cleared[0]["debtor_id"] == world["b"]["cid"]
    assert cleared[0]["triggered_by"] == "scheduler"
    assert line(world, "b", hour)["position"]["transfers"] == 0


def test_a_new_point_value_is_a_new_rate(world):
    r = world["community"].http.patch(f"/v1/communities/{world['b']['cid']}", headers=world["b"]["admin"],
                                      json={"point_value_fen": 4})
    assert r.status_code == 200
    pt = wait_line(world, world["pt"], lambda j: j["rate"]["version"] == 2, "rate version 2")
    assert pt["rate"]["b_point_value_fen"] == 4
    q = quote(world, world["pt"], "a", 25, "payee")  # 25 B-points × 4 fen = 100 fen = exactly 10 A-points
    assert (q["debit_amount"], q["credit_amount"]) == (10, 25)
    rates = wait_until(lambda: [e for e in world["dep"].events(topics.EXCHANGE, "RateChanged", key=world["pt"])
                                if e["payload"]["rate_version"] == 2])
    assert rates[0]["payload"]["b_point_value_fen"] == 4


def test_a_transfer_on_an_unknown_line_is_dead_lettered_and_the_consumer_goes_on(world):
    bad = post_cross(world, "tl:pa_nope:HOUR", {"payer_community": world["a"]["cid"],
                                                 "payee_community": world["b"]["cid"], "debit_amount": 5,
                                                 "credit_amount": 5, "payer_point_value_fen": None,
                                                 "payee_point_value_fen": None, "measure": 5})
    parked = wait_until(lambda: [d for d in world["dep"].events(topics.dlq(topics.LEDGER)) if bad in d["value"]],
                        message="dead-lettered")
    assert "unknown_trust_line" in parked[0]["reason"] or "No trust line" in parked[0]["reason"]
    assert world["exchange"].db.position_entries.find_one({"_id": bad}) is None


def test_suspend_and_end_change_then_close_the_lines(world):
    chttp, a, b = world["community"].http, world["a"], world["b"]
    assert chttp.post(f"/v1/partners/{world['aid']}/suspend", headers=a["admin"]).status_code == 200
    wait_line(world, world["hour"], lambda j: j["status"] == "suspended", "suspended")
    assert chttp.post(f"/v1/partners/{world['aid']}/end", headers=b["admin"]).status_code == 200
    wait_line(world, world["pt"], lambda j: j["status"] == "closed", "closed")
    assert line(world, "b", world["hour"])["status"] == "closed"
    types = [e["type"] for e in world["dep"].events(topics.EXCHANGE, key=world["hour"])
             if e["type"].startswith("TrustLine")]
    assert types == ["TrustLineOpened", "TrustLineChanged", "TrustLineClosed"]
    closed = world["dep"].events(topics.EXCHANGE, "TrustLineClosed", key=world["pt"])[0]["payload"]
    assert closed["status"] == "closed" and closed["net_limit"] == 5000


def test_only_admins_and_bad_arguments_are_problems(world):
    http = world["http"]
    resident = bearer(world["dep"].token("m_x", world["a"]["cid"], "resident"))
    seen = http.get("/v1/trust-lines", headers=resident)
    assert seen.status_code == 200 and {x["unit"] for x in seen.json} == {"HOUR", "PT"}
    assert all("position" not in x and "net_limit" not in x and "rate" in x for x in seen.json)
    assert http.get(f"/v1/trust-lines/{world['pt']}", headers=resident).status_code == 403
    # A resident may quote a payment, but not learn the line's position through the headroom.
    quoted = http.get(f"/v1/trust-lines/{world['pt']}/quote", headers=resident,
                      query_string={"payer_community": world["a"]["cid"], "amount": 7})
    assert quoted.status_code == 200 and "headroom" not in quoted.json, quoted.json
    assert quoted.json["debit_amount"] == 7 and isinstance(quoted.json["within_limit"], bool)
    assert http.post(f"/v1/trust-lines/{world['pt']}/clearings", headers=resident).status_code == 403
    assert http.get("/v1/trust-lines").status_code == 401
    assert http.get("/v1/trust-lines?status=weird", headers=world["a"]["admin"]).status_code == 422
    r = http.get(f"/v1/trust-lines/{world['pt']}/quote", headers=world["a"]["admin"],
                 query_string={"payer_community": world["a"]["cid"], "amount": "-3"})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert http.get("/v1/clearings?limit=0", headers=world["a"]["admin"]).status_code == 422
    spec = http.get("/openapi.json").json
    assert "409" in spec["paths"]["/v1/trust-lines/{trust_line_id}/clearings"]["post"]["responses"]
