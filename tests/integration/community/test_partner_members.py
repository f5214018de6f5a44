"""Finding a member of a partner community by its code and their public handle (community service, real MongoDB
and Kafka): only between communities with an active agreement, never by phone number, and nothing personal
beyond display name, grid name and handle."""
from __future__ import annotations

import json

import pytest

from shared.testing import bearer, openapi_response

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"
PIN = "135790"
PHONES = {"lianhua": "13800003001", "taoyuan": "13800003002", "xinhe": "13800003003", "guihua": "13800003004",
          "李阿姨": "13900003011", "王师傅": "13900003021", "陈奶奶": "13900003022", "赵叔": "13900003023",
          "新河居民": "13900003031"}
TERMS = [{"unit": "HOUR", "net_limit": 600}]


def _community(http, code: str, name: str) -> dict:
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": name, "point_value_fen": 10,
        "admin": {"display_name": f"{name}主任", "phone": PHONES[code], "password": PIN}})
    assert made.status_code == 201, made.json
    return {"cid": made.json["community"]["community_id"], "code": code, "name": name,
            "admin": bearer(_login(http, code, PHONES[code]))}


def _login(http, code: str, phone: str) -> str:
    login = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": PIN})
    assert login.status_code == 200, login.json
    return login.json["token"]


def _member(http, c: dict, name: str, **extra) -> dict:
    made = http.post(f"/v1/communities/{c['cid']}/members", headers=c["admin"], json={
        "display_name": name, "phone": PHONES[name], "password": PIN, **extra})
    assert made.status_code == 201, made.json
    return made.json


def _agreement(http, proposer: dict, partner: dict, *actions: tuple[str, dict]) -> str:
    made = http.post("/v1/partners", headers=proposer["admin"], json={"partner_code": partner["code"],
                                                                     "units": TERMS})
    assert made.status_code == 201, made.json
    aid = made.json["agreement_id"]
    for action, by in actions:
        assert http.post(f"/v1/partners/{aid}/{action}", headers=by["admin"]).status_code == 200
    return aid


@pytest.fixture(scope="module")
def world(module_deployment):
    svc = module_deployment.service("community")
    http = svc.http
    a = _community(http, "lianhua", "莲花社区")
    b = _community(http, "taoyuan", "桃源社区")
    c = _community(http, "xinhe", "新河社区")
    d = _community(http, "guihua", "桂花社区")
    grid = http.post(f"/v1/communities/{b['cid']}/grids", headers=b["admin"], json={"name": "东区"}).json
    _member(http, a, "李阿姨")
    wang = _member(http, b, "王师傅", grid_id=grid["grid_id"], roles=["resident", "organizer"],
                   skills=["repairs"], vulnerable=True)
    chen = _member(http, b, "陈奶奶")
    zhao = _member(http, b, "赵叔")
    _member(http, c, "新河居民")
    # 王师傅 chooses a handle; 赵叔 has moved away (deactivated).
    wang_token = bearer(_login(http, "taoyuan", PHONES["王师傅"]))
    assert http.patch("/v1/members/me", headers=wang_token, json={"handle": "Wang_Fix"}).status_code == 200
    assert http.post(f"/v1/communities/{b['cid']}/members/{zhao['member_id']}/deactivate",
                     headers=b["admin"]).status_code == 200
    # A–B active; A–C only proposed; B–C suspended; A–D ended.
    _agreement(http, a, b, ("accept", b))
    _agreement(http, a, c)
    _agreement(http, b, c, ("accept", c), ("suspend", b))
    _agreement(http, a, d, ("accept", d), ("end", a))
    resident = bearer(_login(http, "lianhua", PHONES["李阿姨"]))
    return {"http": http, "svc": svc, "a": a, "b": b, "c": c, "d": d, "resident": resident,
            "wang": wang, "chen": chen, "zhao": zhao, "grid": grid}


def _find(world, code: str, handle: str, who=None):
    return world["http"].get(f"/v1/partner-members/{code}/{handle}", headers=who or world["resident"])


def _writes(svc) -> dict:
    return {name: svc.db[name].count_documents({}) for name in ("outbox", "members", "partner_agreements")}


def test_a_resident_finds_a_partner_member_by_handle_and_sees_nothing_personal(world):
    before = _writes(world["svc"])
    found = _find(world, "taoyuan", "wang_fix")
    assert found.status_code == 200, found.json
    assert found.json == {"member_id": world["wang"]["member_id"], "display_name": "王师傅", "grid_name": "东区",
                          "handle": "wang_fix", "community": {"community_id": world["b"]["cid"],
                                                             "code": "taoyuan", "name": "桃源社区"}}
    raw = json.dumps(found.json, ensure_ascii=False)
    assert not any(phone in raw for phone in PHONES.values())
    for private in ("phone", "skills", "roles", "vulnerable", "availability", "secret", "status", "grid_id"):
        assert private not in found.json
    # Case and surrounding spaces of what a person types do not matter; a derived handle works too.
    assert _find(world, "TaoYuan", " WANG_FIX ").json["member_id"] == world["wang"]["member_id"]
    derived = world["chen"]["handle"]
    chen = _find(world, "taoyuan", derived)
    assert chen.status_code == 200 and chen.json["display_name"] == "陈奶奶" and chen.json["grid_name"] is None
    # The partner's admin finds A's members the same way (the agreement works both ways).
    li = world["svc"].db.members.find_one({"display_name": "李阿姨"})
    back = _find(world, "lianhua", li["handle"], who=world["b"]["admin"])
    assert back.status_code == 200 and back.json["display_name"] == "李阿姨"
    assert back.json["community"]["code"] == "lianhua"
    assert _writes(world["svc"]) == before  # a look-up writes nothing, emits nothing


@pytest.mark.parametrize("code, handle, status, problem", [
    ("nosuch", "wang_fix", 404, "unknown_community"),
    ("taoyuan", "nobody_here", 404, "unknown_handle"),
    ("taoyuan", "13900003021", 404, "unknown_handle"),   # never by phone number
    ("taoyuan", "x", 404, "unknown_handle"),             # no handle has this shape
    ("lianhua", "wang_fix", 422, "own_community"),
    ("xinhe", "nbaaaaaaaa", 403, "not_a_partner"),        # A–C is only proposed
    ("guihua", "nbaaaaaaaa", 403, "not_a_partner"),       # A–D has ended
])
def test_refusals_are_clear_problems(world, code, handle, status, problem):
    answer = _find(world, code, handle)
    assert answer.status_code == status, answer.json
    assert answer.mimetype == PROBLEM and answer.json["code"] == problem
    assert "王师傅" not in json.dumps(answer.json, ensure_ascii=False)


def test_a_deactivated_member_is_not_found(world):
    answer = _find(world, "taoyuan", world["zhao"]["handle"])
    assert answer.status_code == 404 and answer.json["code"] == "unknown_handle"


def test_a_suspended_agreement_refuses_until_resumed(world):
    """B suspended B–C: C's members cannot find B's members; the handle itself exists."""
    c_resident = bearer(_login(world["http"], "xinhe", PHONES["新河居民"]))
    refused = _find(world, "taoyuan", "wang_fix", who=c_resident)
    assert refused.status_code == 403 and refused.json["code"] == "not_a_partner"
    assert "wang_fix" not in json.dumps(refused.json)


def test_without_a_token_nothing_is_told(world):
    answer = world["http"].get("/v1/partner-members/taoyuan/wang_fix")
    assert answer.status_code == 401 and answer.mimetype == PROBLEM


def test_documented_in_openapi(world):
    spec = world["http"].get("/openapi.json").json
    operation = spec["paths"]["/v1/partner-members/{partner_code}/{handle}"]["get"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    assert "application/problem+json" in openapi_response(spec, operation, 403)["content"]


def test_lookups_are_rate_limited_per_caller(world, module_deployment):
    """Handles cannot be harvested by trying names: past COMMUNITY_LOOKUP_RATE_LIMIT a caller gets 429 (a problem),
    found or not; another caller is not affected."""
    from shared.testing import ServiceHarness
    tight = ServiceHarness(module_deployment.config("community", settings={"COMMUNITY_LOOKUP_RATE_LIMIT": "3/minute"}))
    try:
        answers = [tight.http.get(f"/v1/partner-members/taoyuan/{name}", headers=world["resident"]).status_code
                   for name in ("wang_fix", "nobody1", "nobody2", "wang_fix", "nobody3")]
        assert answers == [200, 404, 404, 429, 429]
        limited = tight.http.get("/v1/partner-members/taoyuan/wang_fix", headers=world["resident"])
        assert limited.mimetype == PROBLEM and "wang_fix" not in limited.get_data(as_text=True)
        other = tight.http.get("/v1/partner-members/taoyuan/wang_fix", headers=world["a"]["admin"])
        assert other.status_code == 200
    finally:
        tight.close()
