"""Community service over HTTP against real MongoDB and Kafka."""
from __future__ import annotations

import json

import pytest
from kafka import KafkaConsumer

from shared import topics
from shared.testing import bearer, wait_until

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
ADMIN_PHONE, ADMIN_PIN = "13800000001", "135790"


@pytest.fixture(scope="module")
def svc(module_deployment):
    """The community service with its relay, plus one community, grid and member made through the API."""
    community = module_deployment.service("community")
    made = community.http.post("/v1/communities", headers=OPERATOR, json={
        "code": "sunny-lane", "name": "阳光社区", "point_value_fen": 10,
        "admin": {"display_name": "王主任", "phone": ADMIN_PHONE, "password": ADMIN_PIN}})
    assert made.status_code == 201, made.json
    cid = made.json["community"]["community_id"]
    login = community.http.post("/v1/auth/login", json={"community_code": "sunny-lane", "phone": ADMIN_PHONE,
                                                        "password": ADMIN_PIN})
    assert login.status_code == 200
    admin = bearer(login.json["token"])
    grid = community.http.post(f"/v1/communities/{cid}/grids", headers=admin, json={"name": "一网格"})
    assert grid.status_code == 201
    member = community.http.post(f"/v1/communities/{cid}/members", headers=admin, json={
        "display_name": "李阿姨", "phone": "13900000002", "password": "864200", "grid_id": grid.json["grid_id"],
        "skills": ["elder_companionship"], "availability": [{"day": 1, "start": "09:00", "end": "12:00"}],
        "vulnerable": False})
    assert member.status_code == 201, member.json
    return {"svc": community, "dep": module_deployment, "cid": cid, "admin": admin,
            "grid_id": grid.json["grid_id"], "member": member.json}


def state(s) -> dict:
    db = s["svc"].db
    return {name: db[name].count_documents({}) for name in ("communities", "grids", "members", "outbox")}


def test_member_logs_in_and_sees_only_their_own_profile(svc):
    http = svc["svc"].http
    login = http.post("/v1/auth/login", json={"community_code": "sunny-lane", "phone": "13900000002",
                                              "password": "864200"})
    assert login.status_code == 200 and login.json["roles"] == ["resident"]
    me = bearer(login.json["token"])
    profile = http.get("/v1/members/me", headers=me)
    assert profile.json["display_name"] == "李阿姨" and "secret_hash" not in profile.json
    assert http.get(f"/v1/communities/{svc['cid']}/members/{svc['member']['member_id']}", headers=me).status_code == 200
    admin_id = http.get("/v1/members/me", headers=svc["admin"]).json["member_id"]
    assert http.get(f"/v1/communities/{svc['cid']}/members/{admin_id}", headers=me).status_code == 403
    assert http.get(f"/v1/communities/{svc['cid']}/members", headers=me).status_code == 403
    updated = http.patch("/v1/members/me", headers=me, json={"skills": ["pet_care", "errands"]})
    assert updated.status_code == 200 and updated.json["skills"] == ["pet_care", "errands"]


def test_events_reach_kafka_without_names_or_phone_numbers(svc):
    dep = svc["dep"]
    consumer = KafkaConsumer(dep.config("community").topic(topics.COMMUNITY), bootstrap_servers=dep.kafka_bootstrap,
                             group_id=None, auto_offset_reset="earliest", consumer_timeout_ms=1500)
    seen = []

    def collect():
        seen.extend(json.loads(r.value) for r in consumer)
        return {"CommunityCreated", "GridCreated", "MemberJoined"} <= {e["type"] for e in seen}
    wait_until(collect, timeout=20, message="community events on Kafka")
    consumer.close()
    raw = json.dumps(seen, ensure_ascii=False)
    assert "13900000002" not in raw and ADMIN_PHONE not in raw and "李阿姨" not in raw and "864200" not in raw
    joined = [e for e in seen if e["type"] == "MemberJoined" and e["key"] == svc["member"]["member_id"]]
    assert joined[0]["payload"]["skills"] == ["elder_companionship"]
    assert joined[0]["community_id"] == svc["cid"]


def test_the_hour_credit_limit_of_new_members_is_a_community_setting(svc):
    http, cid = svc["svc"].http, svc["cid"]
    assert http.get(f"/v1/communities/{cid}", headers=svc["admin"]).json["settings"]["hour_credit_limit_minutes"] == 600
    changed = http.patch(f"/v1/communities/{cid}", headers=svc["admin"],
                         json={"settings": {"hour_credit_limit_minutes": 300}})
    assert changed.status_code == 200, changed.json
    assert changed.json["settings"]["hour_credit_limit_minutes"] == 300
    assert changed.json["settings"]["pending_ttl_days"] == 14  # the other settings are kept
    for bad in (-1, 100 * 60 + 1, "600", 1.5):
        refused = http.patch(f"/v1/communities/{cid}", headers=svc["admin"],
                             json={"settings": {"hour_credit_limit_minutes": bad}})
        assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    assert svc["svc"].db.communities.find_one({"_id": cid})["settings"]["hour_credit_limit_minutes"] == 300
    # The ledger learns it from the event (a member who joins afterwards opens with 5 h of mutual credit).
    wait_until(lambda: [e for e in svc["dep"].events(topics.COMMUNITY, "CommunityUpdated", key=cid)
                        if e["payload"]["settings"]["hour_credit_limit_minutes"] == 300],
               message="CommunityUpdated carrying the new limit")
    http.patch(f"/v1/communities/{cid}", headers=svc["admin"], json={"settings": {"hour_credit_limit_minutes": 600}})


def test_wrong_password_is_401_and_repeated_failures_lock_out(svc):
    http = svc["svc"].http
    body = {"community_code": "sunny-lane", "phone": "13900000009", "password": "wrong-one"}
    assert http.post("/v1/auth/login", json=body).status_code == 401  # unknown phone: same answer
    svc_admin = svc["admin"]
    http.post(f"/v1/communities/{svc['cid']}/members", headers=svc_admin, json={
        "display_name": "张三", "phone": "13900000009", "password": "112233"})
    codes = [http.post("/v1/auth/login", json=body).status_code for _ in range(5)]
    assert codes == [401] * 5
    locked = http.post("/v1/auth/login", json={**body, "password": "112233"})
    assert locked.status_code == 403 and locked.json["code"] == "locked_out"
    assert locked.content_type == "application/problem+json"


@pytest.mark.parametrize("path,body,status", [
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": 13900000003, "password": "123456"}, 422),
    ("/v1/communities/{cid}/members", {"display_name": "X", "password": "123456"}, 422),
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": "13900000003", "password": "123"}, 422),
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": "13900000003", "password": "123456",
                                       "roles": ["king"]}, 422),
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": "13900000003", "password": "123456",
                                       "grid_id": "g_nope"}, 422),
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": "13900000002", "password": "123456"}, 409),
    ("/v1/communities/{cid}/members", {"display_name": "X", "phone": "13900000003", "password": "123456",
                                       "availability": [{"day": 9, "start": "10:00", "end": "09:00"}]}, 422),
    ("/v1/communities/c_unknown/members", {"display_name": "X", "phone": "13900000003", "password": "123456"}, 403),
    ("/v1/communities/{cid}/grids", {"name": "二网格", "neighbours": ["g_nope"]}, 422),
    ("/v1/communities/{cid}/grids", {"name": ["list"]}, 422),
    ("/v1/communities/{cid}/grids", {"name": "x", "extra_field": 1}, 422),
])
def test_bad_admin_input_is_a_problem_and_changes_nothing(svc, path, body, status):
    before = state(svc)
    response = svc["svc"].http.post(path.format(cid=svc["cid"]), headers=svc["admin"], json=body)
    assert response.status_code == status, response.json
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == status and response.json["title"]
    assert state(svc) == before


def test_malformed_oversized_unauthenticated_and_wrong_role_requests(svc):
    http, cid = svc["svc"].http, svc["cid"]
    before = state(svc)
    url = f"/v1/communities/{cid}/grids"
    cases = [
        http.post(url, headers={**svc["admin"], "Content-Type": "application/json"}, data="{not json"),
        http.post(url, headers=svc["admin"], json={"name": "x" * 200_000}),
        http.post(url, json={"name": "无令牌"}),
        http.post(url, headers=bearer("not.a.token"), json={"name": "坏令牌"}),
        http.post(url, headers=bearer(svc["dep"].token("m_x", cid, "resident")), json={"name": "居民"}),
        http.post(url, headers=bearer(svc["dep"].token("m_x", "c_other", "admin")), json={"name": "别的社区"}),
        http.post("/v1/communities", json={"code": "another", "name": "无钥匙",
                                           "admin": {"display_name": "a", "phone": "1234567", "password": "123456"}}),
        http.get(f"/v1/communities/{cid}/nonexistent", headers=svc["admin"]),
    ]
    # A well-signed token naming nobody who is a member (m_x) is refused like a bad one: 401.
    assert [r.status_code for r in cases] == [400, 413, 401, 401, 401, 401, 403, 404]
    assert all(r.content_type == "application/problem+json" for r in cases)
    assert state(svc) == before


def test_probes_metrics_and_openapi(svc):
    http = svc["svc"].http
    assert http.get("/healthz").json["status"] == "ok"
    assert http.get("/readyz").json == {"status": "ready", "checks": {"mongo": True, "kafka": True}}
    assert b"http_request_duration_seconds" in http.get("/metrics").data
    spec = http.get("/openapi.json").json
    assert "/v1/auth/login" in spec["paths"] and "MemberCreate" in spec["components"]["schemas"]


def test_login_is_rate_limited_per_account_not_per_kiosk(svc):
    http = svc["svc"].http
    wrong = {"community_code": "sunny-lane", "phone": "13900000077", "password": "not-it-1"}
    codes = [http.post("/v1/auth/login", json=wrong).status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    # Another resident signing in from the same address is not held back by the first one's limit.
    other = http.post("/v1/auth/login", json={"community_code": "sunny-lane", "phone": "13900000002",
                                              "password": "864200"})
    assert other.status_code == 200


def test_a_member_who_opts_in_shows_their_name_on_the_boards_and_only_then(svc):
    http, dep = svc["svc"].http, svc["dep"]
    made = http.post(f"/v1/communities/{svc['cid']}/members", headers=svc["admin"], json={
        "display_name": "陈师傅", "phone": "13900000077", "password": "864277", "grid_id": svc["grid_id"]})
    assert made.status_code == 201, made.json
    mid = made.json["member_id"]
    me = bearer(dep.token(mid, svc["cid"], "resident"))
    assert http.get("/v1/members/me", headers=me).json["show_name_on_boards"] is False
    assert http.patch("/v1/members/me", headers=me, json={"show_name_on_boards": "yes please"}).status_code == 422
    opted = http.patch("/v1/members/me", headers=me, json={"show_name_on_boards": True})
    assert opted.status_code == 200 and opted.json["show_name_on_boards"] is True
    updated = wait_until(lambda: dep.events(topics.COMMUNITY, "MemberUpdated", key=mid), message="MemberUpdated")
    assert updated[-1]["payload"]["board_name"] == "陈师傅"
    joined = dep.events(topics.COMMUNITY, "MemberJoined", key=mid)
    assert joined[0]["payload"]["board_name"] is None and "陈师傅" not in json.dumps(joined, ensure_ascii=False)
    assert http.patch("/v1/members/me", headers=me, json={"show_name_on_boards": False}).status_code == 200
    wait_until(lambda: dep.events(topics.COMMUNITY, "MemberUpdated", key=mid)[-1]["payload"]["board_name"] is None,
               message="opted out again")
