"""Points rules versions through the community service's API, against real MongoDB and Kafka: publish, read,
replace a pending version, refuse what the rules forbid (writing nothing), diff, and PointsRulesVersioned events."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared import topics
from shared.economy import DEFAULT_RULES
from shared.testing import bearer, wait_until
from services.community import commands

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"
ADMIN_PHONE, RESIDENT_PHONE = "13800000201", "13900000211"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


@pytest.fixture(scope="module")
def world(module_deployment):
    svc = module_deployment.service("community")
    http = svc.http
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": "meilin", "name": "梅林社区", "point_value_fen": 10,
        "settings": {"points_rules": {"hourly_rate": 12, "penalties": {"noise": 10, "littering": 20}}},
        "admin": {"display_name": "王主任", "phone": ADMIN_PHONE, "password": "135790"}})
    assert made.status_code == 201, made.json
    cid = made.json["community"]["community_id"]
    login = http.post("/v1/auth/login", json={"community_code": "meilin", "phone": ADMIN_PHONE, "password": "135790"})
    admin = bearer(login.json["token"])
    assert http.post(f"/v1/communities/{cid}/members", headers=admin, json={
        "display_name": "李阿姨", "phone": RESIDENT_PHONE, "password": "864200"}).status_code == 201
    login = http.post("/v1/auth/login", json={"community_code": "meilin", "phone": RESIDENT_PHONE,
                                              "password": "864200"})
    return {"dep": module_deployment, "svc": svc, "http": http, "cid": cid, "admin": admin,
            "admin_id": made.json["admin_member_id"], "resident": bearer(login.json["token"]),
            "created": made.json["community"]}


def _state(svc) -> dict:
    return {"rules": list(svc.db.points_rules.find({}, {"_id": 1, "revision": 1, "rules": 1}).sort("_id", 1)),
            "outbox": svc.db.outbox.count_documents({}), "communities": list(svc.db.communities.find())}


def _rules_url(world, tail: str = "") -> str:
    return f"/v1/communities/{world['cid']}/points-rules{tail}"


def test_rules_given_at_creation_are_version_1_and_the_settings_do_not_keep_them(world):
    http, svc = world["http"], world["svc"]
    assert "points_rules" not in world["created"]["settings"]
    assert world["created"]["settings"]["hour_credit_limit_minutes"] == 600  # SPEC §4: 10 hours by default
    versions = http.get(_rules_url(world), headers=world["resident"])
    assert versions.status_code == 200
    assert [(v["version"], v["status"]) for v in versions.json] == [(0, "superseded"), (1, "current")]
    current = http.get(_rules_url(world, "/current"), headers=world["resident"]).json
    assert current["version"] == 1 and current["rules"]["hourly_rate"] == 12
    assert current["rules"]["penalties"] == {"noise": 10, "littering": 20}
    assert current["rules"]["caps"] == DEFAULT_RULES["caps"]  # everything not given: the SPEC defaults
    assert current["effective_from"] == versions.json[0]["effective_from"]  # in effect from the creation
    stored = svc.db.points_rules.find_one({"_id": f"{world['cid']}:1"})
    assert stored["rules"] == current["rules"] and stored["published_by"] is None
    zero = http.get(_rules_url(world, "/0"), headers=world["resident"]).json
    assert zero["rules"] == DEFAULT_RULES.document and zero["status"] == "superseded"


@pytest.mark.parametrize("rules, code", [
    ({"activity_points": {"mediation": -5}}, "rules_negative_points"),
    ({"caps": {"per_activity": 500, "per_day": 200}}, "rules_caps_inconsistent"),
    ({"newcomer": {"multiplier_percent": 1000}}, "rules_multiplier_out_of_range"),
    ({"honour_levels": [{"threshold": 200, "title_zh": "二星", "title_en": "Two"},
                        {"threshold": 100, "title_zh": "一星", "title_en": "One"}]}, "rules_threshold_order"),
    ({"expiry": {"mode": "annual", "clearing_date": "13-01"}}, "rules_bad_expiry"),
    ({"hourly_rate": "ten"}, "validation_failed"),
    ({"surprise": True}, "validation_failed"),
])
def test_bad_rules_are_refused_with_their_code_and_change_nothing(world, rules, code):
    http, svc = world["http"], world["svc"]
    before = _state(svc)
    refused = http.post(_rules_url(world), headers=world["admin"], json={"rules": rules})
    assert refused.status_code == 422 and refused.mimetype == PROBLEM and refused.json["code"] == code, refused.json
    patched = http.patch(f"/v1/communities/{world['cid']}", headers=world["admin"],
                         json={"settings": {"points_rules": rules}})
    assert patched.status_code == 422 and patched.json["code"] == code
    assert _state(svc) == before


def test_only_admins_publish(world):
    before = _state(world["svc"])
    refused = world["http"].post(_rules_url(world), headers=world["resident"], json={"rules": {"hourly_rate": 5}})
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert _state(world["svc"]) == before


def test_publish_now_then_a_future_version_replace_it_diff_and_the_events(world):
    http, svc, cid = world["http"], world["svc"], world["cid"]
    # v2 in effect at once: only the daily cap changes; the rest is v1's (hourly rate 12 kept).
    now_version = http.post(_rules_url(world), headers=world["admin"],
                            json={"rules": {"caps": {"per_day": 200, "per_year": 1000}}})
    assert now_version.status_code == 201, now_version.json
    assert (now_version.json["version"], now_version.json["status"]) == (2, "current")
    assert now_version.json["rules"]["hourly_rate"] == 12 and now_version.json["rules"]["caps"]["per_day"] == 200
    assert now_version.json["published_by"] == world["admin_id"]

    # v3 from a future date: pending; v2 stays current until then.
    start = datetime.now(timezone.utc) + timedelta(days=30)
    future = http.post(_rules_url(world), headers=world["admin"],
                       json={"effective_from": _iso(start), "rules": {"min_redemption_points": 100}})
    assert future.status_code == 201 and (future.json["version"], future.json["status"]) == (3, "pending")
    assert http.get(_rules_url(world, "/current"), headers=world["resident"]).json["version"] == 2
    later = http.get(_rules_url(world, "/current"), headers=world["resident"],
                     query_string={"at": _iso(start + timedelta(seconds=1))})
    assert later.json["version"] == 3 and later.json["rules"]["min_redemption_points"] == 100

    # While v3 is pending no version may take effect before it, through either door.
    before = _state(svc)
    blocked = http.post(_rules_url(world), headers=world["admin"], json={"rules": {"hourly_rate": 15}})
    assert blocked.status_code == 409 and blocked.json["code"] == "rules_version_pending"
    assert blocked.json["pending_version"] == 3
    via_settings = http.patch(f"/v1/communities/{cid}", headers=world["admin"],
                              json={"settings": {"points_rules": {"hourly_rate": 15}}})
    assert via_settings.status_code == 409 and via_settings.json["code"] == "rules_version_pending"
    # v2 is in effect: immutable. A date in the past: refused. Unknown version: 404.
    effective = http.put(_rules_url(world, "/2"), headers=world["admin"], json={"rules": {"hourly_rate": 1}})
    assert effective.status_code == 409 and effective.json["code"] == "rules_version_effective"
    assert http.put(_rules_url(world, "/0"), headers=world["admin"],
                    json={"rules": {}}).json["code"] == "rules_version_effective"
    backdated = http.put(_rules_url(world, "/3"), headers=world["admin"], json={
        "effective_from": _iso(datetime.now(timezone.utc) - timedelta(days=1)), "rules": {}})
    assert backdated.status_code == 422 and backdated.json["code"] == "rules_backdated"
    missing = http.put(_rules_url(world, "/9"), headers=world["admin"], json={"rules": {}})
    assert missing.status_code == 404 and missing.json["code"] == "unknown_rules_version"
    for segment in ("/latest", "/-1", "/1e3", "/" + "9" * 12):
        nothing = http.get(_rules_url(world, segment), headers=world["resident"])
        assert nothing.status_code == 404 and nothing.json["code"] == "unknown_rules_version", segment
    assert http.put(_rules_url(world, "/3"), headers=world["resident"], json={"rules": {}}).status_code == 403
    assert _state(svc) == before

    # The pending v3 is replaced: new date, one more change; what it had stays (min redemption 100).
    start2 = start + timedelta(days=10)
    replaced = http.put(_rules_url(world, "/3"), headers=world["admin"], json={
        "effective_from": _iso(start2), "rules": {"expiry": {"mode": "annual", "clearing_date": "01-01"}}})
    assert replaced.status_code == 200, replaced.json
    assert (replaced.json["version"], replaced.json["revision"], replaced.json["status"]) == (3, 2, "pending")
    assert replaced.json["rules"]["min_redemption_points"] == 100 and replaced.json["rules"]["expiry"]["mode"] == "annual"
    assert datetime.fromisoformat(replaced.json["effective_from"]) == start2.replace(
        microsecond=start2.microsecond // 1000 * 1000)

    # v4 queues after v3 (built on v3's rules); v3 cannot then move past v4.
    start4 = start2 + timedelta(days=5)
    queued = http.post(_rules_url(world), headers=world["admin"],
                       json={"effective_from": _iso(start4), "rules": {"hourly_rate": 14}})
    assert queued.status_code == 201 and queued.json["version"] == 4, queued.json
    assert queued.json["rules"]["min_redemption_points"] == 100 and queued.json["rules"]["hourly_rate"] == 14
    before = _state(svc)
    overtaking = http.put(_rules_url(world, "/3"), headers=world["admin"], json={
        "effective_from": _iso(start4 + timedelta(days=1)), "rules": {}})
    assert overtaking.status_code == 422 and overtaking.json["code"] == "rules_effective_order"
    assert _state(svc) == before

    listed = http.get(_rules_url(world), headers=world["resident"]).json
    assert [(v["version"], v["status"], v["revision"]) for v in listed] == [
        (0, "superseded", 0), (1, "superseded", 1), (2, "current", 1), (3, "pending", 2), (4, "pending", 1)]
    assert all("rules" not in v for v in listed)

    compared = http.get(_rules_url(world, "/diff"), headers=world["resident"], query_string={"from": 1, "to": 3})
    assert compared.status_code == 200
    assert compared.json == {"from_version": 1, "to_version": 3, "changes": [
        {"path": "caps.per_day", "from": None, "to": 200},
        {"path": "expiry.mode", "from": "rolling", "to": "annual"},
        {"path": "min_redemption_points", "from": 50, "to": 100}]}
    unknown = http.get(_rules_url(world, "/diff"), headers=world["resident"], query_string={"from": 1, "to": 42})
    assert unknown.status_code == 404 and unknown.json["code"] == "unknown_rules_version"

    seen = wait_until(lambda: (lambda evs: evs if len(evs) == 5 else None)(
        world["dep"].events(topics.COMMUNITY, type_="PointsRulesVersioned", key=cid)), message="rules events")
    assert [(e["payload"]["version"], e["payload"]["revision"]) for e in seen] == [
        (1, 1), (2, 1), (3, 1), (3, 2), (4, 1)]
    last = seen[3]["payload"]
    assert last["rules"] == replaced.json["rules"] and last["community_id"] == cid == seen[3]["community_id"]
    assert datetime.fromisoformat(last["effective_from"]) == datetime.fromisoformat(replaced.json["effective_from"])
    raw = json.dumps(seen, ensure_ascii=False)
    for personal in (ADMIN_PHONE, RESIDENT_PHONE, "王主任", "李阿姨", world["admin_id"]):
        assert personal not in raw


def test_a_pending_version_becomes_immutable_once_its_date_has_come(world):
    # Time travels in commands: replaying the replace at a moment after v3's effective date is refused.
    svc, cid = world["svc"], world["cid"]
    stored = svc.db.points_rules.find_one({"_id": f"{cid}:3"})
    bus = svc.app.extensions["bus"]
    from shared.errors import Conflict
    with pytest.raises(Conflict) as refused:
        bus.handle(commands.ReplacePointsRules(cid, 3, {}, None, world["admin_id"],
                                               stored["effective_from"] + timedelta(seconds=1)))
    assert refused.value.code == "rules_version_effective"


def test_settings_rules_publish_a_version_at_once_and_the_hour_credit_limit_is_a_setting(world):
    http, svc, cid = world["http"], world["svc"], world["cid"]
    other = http.post("/v1/communities", headers=OPERATOR, json={
        "code": "qinghe", "name": "清河社区", "admin": {"display_name": "赵", "phone": "13800000299",
                                                       "password": "135790"}})
    ocid = other.json["community"]["community_id"]
    token = bearer(http.post("/v1/auth/login", json={"community_code": "qinghe", "phone": "13800000299",
                                                     "password": "135790"}).json["token"])
    assert [v["version"] for v in http.get(f"/v1/communities/{ocid}/points-rules", headers=token).json] == [0]
    patched = http.patch(f"/v1/communities/{ocid}", headers=token, json={
        "settings": {"hour_credit_limit_minutes": 900, "points_rules": {"first_participation_bonus": 8}}})
    assert patched.status_code == 200, patched.json
    assert patched.json["settings"]["hour_credit_limit_minutes"] == 900 and "points_rules" not in patched.json["settings"]
    current = http.get(f"/v1/communities/{ocid}/points-rules/current", headers=token).json
    assert (current["version"], current["rules"]["first_participation_bonus"]) == (1, 8)
    assert svc.db.communities.find_one({"_id": ocid})["settings"]["hour_credit_limit_minutes"] == 900
    # Another community's rules are not for this admin to read or write.
    assert http.get(f"/v1/communities/{cid}/points-rules", headers=token).status_code == 403
    assert http.post(f"/v1/communities/{cid}/points-rules", headers=token, json={"rules": {}}).status_code == 403
