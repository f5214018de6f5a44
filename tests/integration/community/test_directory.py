"""The member directory: display names, grids and handles within one's own community, never phone numbers."""
from __future__ import annotations

import json

import pytest

from shared.testing import bearer, openapi_response

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PHONES = {"王主任": "13800001001", "李阿姨": "13900001002", "王小明": "13900001003", "赵师傅": "13900001004",
          "陈店长": "13900001005", "外社区王姐": "13800002001", "外社区李叔": "13900002002"}


def _community(http, code: str, name: str, admin: str) -> dict:
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": name, "admin": {"display_name": admin, "phone": PHONES[admin], "password": "135790"}})
    assert made.status_code == 201, made.json
    return {"cid": made.json["community"]["community_id"], "admin_id": made.json["admin_member_id"],
            "admin": bearer(_login(http, code, PHONES[admin]))}


def _login(http, code: str, phone: str) -> str:
    login = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": "135790"})
    assert login.status_code == 200, login.json
    return login.json["token"]


def _member(http, c: dict, name: str, **extra) -> str:
    made = http.post(f"/v1/communities/{c['cid']}/members", headers=c["admin"], json={
        "display_name": name, "phone": PHONES[name], "password": "135790", **extra})
    assert made.status_code == 201, made.json
    return made.json["member_id"]


@pytest.fixture(scope="module")
def world(module_deployment):
    svc = module_deployment.service("community", workers=False)
    http = svc.http
    home = _community(http, "lotus", "莲花社区", "王主任")
    away = _community(http, "maple", "枫林社区", "外社区王姐")
    grid = http.post(f"/v1/communities/{home['cid']}/grids", headers=home["admin"], json={"name": "三网格"}).json
    ids = {"王主任": home["admin_id"], "外社区王姐": away["admin_id"]}
    ids["李阿姨"] = _member(http, home, "李阿姨", grid_id=grid["grid_id"])
    ids["王小明"] = _member(http, home, "王小明", grid_id=grid["grid_id"])
    ids["赵师傅"] = _member(http, home, "赵师傅")
    ids["陈店长"] = _member(http, home, "陈店长", roles=["merchant"], merchant_id="mer_tea")
    ids["外社区李叔"] = _member(http, away, "外社区李叔")
    assert http.post(f"/v1/communities/{home['cid']}/members/{ids['赵师傅']}/deactivate",
                     headers=home["admin"]).status_code == 200
    me = bearer(_login(http, "lotus", PHONES["李阿姨"]))
    return {"http": http, "svc": svc, "home": home, "away": away, "grid": grid, "ids": ids, "me": me}


def _no_phones(body) -> None:
    raw = json.dumps(body, ensure_ascii=False)
    assert not any(phone in raw for phone in PHONES.values()), raw
    assert "phone" not in raw and "secret" not in raw


def test_ids_give_names_grids_and_handles_of_my_community_only(world):
    ids = world["ids"]
    asked = [ids["王小明"], ids["外社区李叔"], "m_unknown", ids["李阿姨"], ids["陈店长"], ids["王小明"]]
    r = world["http"].get("/v1/directory", query_string={"ids": ",".join(asked)}, headers=world["me"])
    assert r.status_code == 200, r.json
    _no_phones(r.json)
    members = r.json["members"]
    # Other communities' and unknown ids are simply absent; the order asked is kept, repeats once.
    assert [m["member_id"] for m in members] == [ids["王小明"], ids["李阿姨"], ids["陈店长"]]
    xiaoming = members[0]
    assert xiaoming["display_name"] == "王小明" and xiaoming["grid_id"] == world["grid"]["grid_id"]
    assert xiaoming["grid_name"] == "三网格" and xiaoming["roles"] == ["resident"] and xiaoming["active"] is True
    assert set(xiaoming) == {"member_id", "display_name", "grid_id", "grid_name", "handle", "roles", "active",
                             "merchant_id"}
    shopkeeper = members[2]
    assert shopkeeper["roles"] == ["merchant"] and shopkeeper["merchant_id"] == "mer_tea"
    assert shopkeeper["grid_id"] is None and shopkeeper["grid_name"] is None
    handles = [m["handle"] for m in members]
    assert len(set(handles)) == 3 and all(h.startswith("nb") and len(h) == 10 for h in handles)


def test_inactive_members_keep_their_name_by_id_but_are_not_found_by_search(world):
    ids, http = world["ids"], world["http"]
    by_id = http.get("/v1/directory", query_string={"ids": ids["赵师傅"]}, headers=world["me"]).json["members"]
    assert by_id == [{**by_id[0], "display_name": "赵师傅", "active": False}]
    assert http.get("/v1/directory", query_string={"q": "赵"}, headers=world["me"]).json == {"members": []}


def test_search_by_name_fragment_within_my_community(world):
    http, ids = world["http"], world["ids"]
    r = http.get("/v1/directory", query_string={"q": "王"}, headers=world["me"])
    assert r.status_code == 200
    _no_phones(r.json)
    # 外社区王姐 is in another community: never found.
    assert sorted(m["member_id"] for m in r.json["members"]) == sorted([ids["王主任"], ids["王小明"]])
    one = http.get("/v1/directory", query_string={"q": "王", "limit": 1}, headers=world["me"]).json["members"]
    assert len(one) == 1
    # Regex characters are searched for literally.
    assert http.get("/v1/directory", query_string={"q": ".*"}, headers=world["me"]).json == {"members": []}
    # A phone number finds nobody.
    assert http.get("/v1/directory", query_string={"q": PHONES["王小明"]}, headers=world["me"]).json == {"members": []}


def test_a_member_sets_a_handle_and_is_found_by_it(world):
    http, ids = world["http"], world["ids"]
    xiaoming = bearer(_login(http, "lotus", PHONES["王小明"]))
    r = http.patch("/v1/members/me", headers=xiaoming, json={"handle": "XiaoMing_88"})
    assert r.status_code == 200 and r.json["handle"] == "xiaoming_88"
    found = http.get("/v1/directory", query_string={"q": "xiaoming"}, headers=world["me"]).json["members"]
    assert [m["member_id"] for m in found] == [ids["王小明"]] and found[0]["handle"] == "xiaoming_88"
    # Taken within the community: 409, nothing changed.
    taken = http.patch("/v1/members/me", headers=world["me"], json={"handle": "xiaoming_88"})
    assert taken.status_code == 409 and taken.json["code"] == "handle_taken"
    assert taken.mimetype == "application/problem+json"
    mine = http.get("/v1/members/me", headers=world["me"]).json["handle"]
    assert mine.startswith("nb")
    # Another community may use the same handle.
    li = bearer(_login(http, "maple", PHONES["外社区李叔"]))
    assert http.patch("/v1/members/me", headers=li, json={"handle": "xiaoming_88"}).status_code == 200
    # A handle can never be a phone number, nor carry odd characters.
    for bad in ("13900001003", "王小明", "a b", "ab"):
        refused = http.patch("/v1/members/me", headers=world["me"], json={"handle": bad})
        assert refused.status_code == 422, (bad, refused.json)
        assert refused.mimetype == "application/problem+json"
    assert http.get("/v1/members/me", headers=world["me"]).json["handle"] == mine


@pytest.mark.parametrize("query", [
    {}, {"ids": "m_1", "q": "王"}, {"q": " "}, {"q": "x" * 51}, {"ids": ""},
    {"ids": ",".join(f"m_{i}" for i in range(101))}, {"q": "王", "limit": 0}, {"q": "王", "limit": "many"},
])
def test_bad_queries_are_422_problems(world, query):
    r = world["http"].get("/v1/directory", query_string=query, headers=world["me"])
    assert r.status_code == 422, (query, r.json)
    assert r.mimetype == "application/problem+json" and r.json["code"] == "validation_failed"


def test_the_directory_needs_a_token(world):
    r = world["http"].get("/v1/directory", query_string={"q": "王"})
    assert r.status_code == 401 and r.mimetype == "application/problem+json" and r.json["code"] == "missing_token"


def test_openapi_documents_the_directory_and_its_problems(world):
    spec = world["http"].get("/openapi.json").json
    op = spec["paths"]["/v1/directory"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"ids", "q", "limit"}
    assert "application/json" in op["responses"]["200"]["content"]
    for status in ("401", "422"):
        assert "application/problem+json" in openapi_response(spec, op, status)["content"], status
    entry = spec["components"]["schemas"]["DirectoryEntry"]["properties"]
    assert "phone" not in entry and {"display_name", "grid_name", "handle"} <= set(entry)
