"""Partner agreements through the community service's API, against real MongoDB and Kafka."""
from __future__ import annotations

import json

import pytest

from shared import topics
from shared.testing import bearer, wait_until, openapi_response

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"


def _community(http, code: str, name: str, fen: int, phone: str) -> dict:
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": name, "point_value_fen": fen,
        "admin": {"display_name": "主任", "phone": phone, "password": "135790"}})
    assert made.status_code == 201, made.json
    login = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": "135790"})
    return {"cid": made.json["community"]["community_id"], "code": code, "admin": bearer(login.json["token"])}


@pytest.fixture(scope="module")
def world(module_deployment):
    svc = module_deployment.service("community")
    http = svc.http
    a = _community(http, "lianhua", "莲花社区", 10, "13800000101")
    b = _community(http, "taoyuan", "桃源社区", 5, "13800000102")
    c = _community(http, "xinhe", "新河社区", 8, "13800000103")
    member = http.post(f"/v1/communities/{a['cid']}/members", headers=a["admin"], json={
        "display_name": "李阿姨", "phone": "13900000111", "password": "864200"})
    login = http.post("/v1/auth/login", json={"community_code": "lianhua", "phone": "13900000111",
                                              "password": "864200"})
    assert member.status_code == 201 and login.status_code == 200
    return {"dep": module_deployment, "svc": svc, "http": http, "a": a, "b": b, "c": c,
            "resident": bearer(login.json["token"])}


def _count(svc) -> dict:
    return {"agreements": svc.db.partner_agreements.count_documents({}), "outbox": svc.db.outbox.count_documents({})}


def _propose(world, frm, to_code, **extra):
    body = {"partner_code": to_code, "units": [{"unit": "HOUR", "net_limit": 600}, {"unit": "PT", "net_limit": 5000}],
            **extra}
    return world["http"].post("/v1/partners", headers=frm["admin"], json=body)


def test_propose_accept_suspend_resume_end_with_events(world):
    http, a, b = world["http"], world["a"], world["b"]
    made = _propose(world, a, "taoyuan", clearing_period="weekly")
    assert made.status_code == 201, made.json
    agreement = made.json
    aid = agreement["agreement_id"]
    assert agreement["state"] == "proposed" and agreement["proposer"]["code"] == "lianhua"
    assert agreement["partner"] == {"community_id": b["cid"], "code": "taoyuan", "name": "桃源社区",
                                    "point_value_fen": 5}
    assert agreement["units"][1] == {"unit": "PT", "net_limit": 5000, "rate_basis": "point_value_fen",
                                     "limit_measure": "fen"}
    # B's admin sees the proposal addressed to B; A sees it as outgoing, not incoming.
    incoming = http.get("/v1/partners?direction=incoming&state=proposed", headers=b["admin"])
    assert [x["agreement_id"] for x in incoming.json] == [aid]
    assert http.get("/v1/partners?direction=incoming", headers=a["admin"]).json == []
    assert [x["agreement_id"] for x in http.get("/v1/partners?direction=outgoing", headers=a["admin"]).json] == [aid]
    # A cannot accept its own proposal; B can.
    refused = http.post(f"/v1/partners/{aid}/accept", headers=a["admin"])
    assert refused.status_code == 403 and refused.mimetype == PROBLEM and refused.json["code"] == "not_the_partner"
    accepted = http.post(f"/v1/partners/{aid}/accept", headers=b["admin"])
    assert accepted.status_code == 200 and accepted.json["state"] == "active"
    again = http.post(f"/v1/partners/{aid}/accept", headers=b["admin"])
    assert again.status_code == 409 and again.json["code"] == "bad_state"
    assert http.post(f"/v1/partners/{aid}/suspend", headers=b["admin"]).json["suspended_by"] == b["cid"]
    assert http.post(f"/v1/partners/{aid}/resume", headers=a["admin"]).status_code == 403
    assert http.post(f"/v1/partners/{aid}/resume", headers=b["admin"]).json["state"] == "active"
    ended = http.post(f"/v1/partners/{aid}/end", headers=a["admin"])
    assert ended.status_code == 200 and ended.json["state"] == "ended"
    assert [h["action"] for h in ended.json["history"]] == ["propose", "accept", "suspend", "resume", "end"]
    stored = world["svc"].db.partner_agreements.find_one({"_id": aid})
    assert stored["state"] == "ended" and "live_pair" not in stored

    expected = ["PartnerAgreementProposed", "PartnerAgreementAccepted", "PartnerAgreementSuspended",
                "PartnerAgreementResumed", "PartnerAgreementEnded"]
    seen = wait_until(lambda: (lambda evs: evs if len(evs) == 5 else None)(
        world["dep"].events(topics.COMMUNITY, key=aid)), message="agreement events")
    assert [e["type"] for e in seen] == expected
    assert seen[0]["payload"]["units"][0] == {"unit": "HOUR", "net_limit": 600, "rate_basis": "1:1",
                                              "limit_measure": "minutes"}
    assert [e["payload"]["state"] for e in seen] == ["proposed", "active", "suspended", "active", "ended"]
    assert [e["community_id"] for e in seen] == [a["cid"], b["cid"], b["cid"], b["cid"], a["cid"]]
    raw = json.dumps(seen, ensure_ascii=False)
    assert "13800000101" not in raw and "主任" not in raw


def test_decline_and_one_live_agreement_per_pair(world):
    http, a, c = world["http"], world["a"], world["c"]
    first = _propose(world, c, "lianhua", units=[{"unit": "HOUR", "net_limit": 120}])
    assert first.status_code == 201
    before = _count(world["svc"])
    for frm, code in ((c, "lianhua"), (a, "xinhe")):  # the same pair, either way round
        dup = _propose(world, frm, code)
        assert dup.status_code == 409 and dup.mimetype == PROBLEM and dup.json["code"] == "agreement_exists"
    assert _count(world["svc"]) == before
    declined = http.post(f"/v1/partners/{first.json['agreement_id']}/decline", headers=a["admin"])
    assert declined.status_code == 200 and declined.json["state"] == "declined"
    assert _propose(world, a, "xinhe").status_code == 201  # once declined, the pair may try again


def test_bad_requests_change_nothing(world):
    http, a, b = world["http"], world["a"], world["b"]
    before = _count(world["svc"])
    cases = [
        ({"partner_code": "lianhua", "units": [{"unit": "HOUR", "net_limit": 60}]}, 422, "self_partner"),
        ({"partner_code": "nowhere", "units": [{"unit": "HOUR", "net_limit": 60}]}, 404, "unknown_community"),
        ({"partner_code": "taoyuan", "units": [{"unit": "HOUR", "net_limit": 0}]}, 422, "validation_failed"),
        ({"partner_code": "taoyuan", "units": [{"unit": "HOUR", "net_limit": 6}, {"unit": "HOUR", "net_limit": 6}]},
         422, "duplicate_unit"),
        ({"partner_code": "taoyuan", "units": [{"unit": "PT", "net_limit": 6, "rate_basis": "1:1"}]}, 422,
         "bad_rate_basis"),
        ({"partner_code": "taoyuan", "units": []}, 422, "validation_failed"),
        ({"partner_code": "taoyuan", "units": "HOUR"}, 422, "validation_failed"),
        ({"partner_code": "taoyuan", "units": [{"unit": "HOUR", "net_limit": "60"}]}, 422, "validation_failed"),
        ({"units": [{"unit": "HOUR", "net_limit": 60}]}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        r = http.post("/v1/partners", headers=a["admin"], json=body)
        assert (r.status_code, r.json.get("code")) == (status, code), (body, r.json)
        assert r.mimetype == PROBLEM
    assert http.post("/v1/partners", headers=a["admin"], data="[1,", content_type="application/json").status_code == 400
    assert http.post("/v1/partners", headers=world["resident"], json=cases[0][0]).status_code == 403
    assert http.post("/v1/partners", json=cases[0][0]).status_code == 401
    assert http.get("/v1/partners?direction=sideways", headers=a["admin"]).status_code == 422
    assert http.post("/v1/partners/pa_nope/accept", headers=b["admin"]).status_code == 404
    assert _count(world["svc"]) == before


def test_other_communities_cannot_see_or_touch_an_agreement(world):
    http, a, b, c = world["http"], world["a"], world["b"], world["c"]
    made = _propose(world, b, "xinhe", units=[{"unit": "PT", "net_limit": 1000}])
    assert made.status_code == 201, made.json
    aid = made.json["agreement_id"]
    assert http.get(f"/v1/partners/{aid}", headers=a["admin"]).status_code == 404
    assert http.post(f"/v1/partners/{aid}/accept", headers=a["admin"]).status_code == 404
    assert http.get(f"/v1/partners/{aid}", headers=world["resident"]).status_code == 403
    assert http.get(f"/v1/partners/{aid}", headers=c["admin"]).json["state"] == "proposed"
    assert http.post(f"/v1/partners/{aid}/end", headers=b["admin"]).json["state"] == "ended"  # withdrawn


def test_openapi_documents_the_partner_routes_and_their_problems(world):
    spec = world["http"].get("/openapi.json").json
    paths = spec["paths"]
    for path in ("/v1/partners", "/v1/partners/{agreement_id}", "/v1/partners/{agreement_id}/accept",
                 "/v1/partners/{agreement_id}/decline", "/v1/partners/{agreement_id}/suspend",
                 "/v1/partners/{agreement_id}/resume", "/v1/partners/{agreement_id}/end"):
        assert path in paths, path
    responses = paths["/v1/partners"]["post"]["responses"]
    for status in ("201", "403", "404", "409", "422"):
        assert status in responses
    assert "application/problem+json" in openapi_response(spec, paths["/v1/partners"]["post"], 409)["content"]
