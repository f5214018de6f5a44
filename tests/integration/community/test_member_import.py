"""Bulk member import over HTTP against real MongoDB and Kafka: 50 rows with a phone repeated, a bad row and a
phone already a member's → exactly the right members stored, each announced once with MemberJoined (and its ledger
accounts opened from it); a re-run creates nothing; an Idempotency-Key replays the first answer."""
from __future__ import annotations

import json

import pytest
from kafka import KafkaConsumer
from werkzeug.security import check_password_hash

from shared import topics
from shared.testing import bearer, wait_until

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
EXISTING_PHONE = "13900000777"


@pytest.fixture(scope="module")
def svc(module_deployment):
    community = module_deployment.service("community")
    ledger = module_deployment.service("ledger")
    made = community.http.post("/v1/communities", headers=OPERATOR, json={
        "code": "import-lane", "name": "导入社区", "point_value_fen": 10,
        "admin": {"display_name": "赵主任", "phone": "13800009999", "password": "975310"}})
    assert made.status_code == 201, made.json
    cid = made.json["community"]["community_id"]
    login = community.http.post("/v1/auth/login", json={"community_code": "import-lane", "phone": "13800009999",
                                                        "password": "975310"})
    admin = bearer(login.json["token"])
    grid = community.http.post(f"/v1/communities/{cid}/grids", headers=admin, json={"name": "三网格"}).json
    old = community.http.post(f"/v1/communities/{cid}/members", headers=admin, json={
        "display_name": "老住户", "phone": EXISTING_PHONE, "password": "112233"})
    assert old.status_code == 201, old.json
    return {"svc": community, "ledger": ledger, "dep": module_deployment, "cid": cid, "admin": admin,
            "grid_id": grid["grid_id"], "old_id": old.json["member_id"]}


def sheet(grid_id: str) -> list[dict]:
    """50 rows (spreadsheet lines 2-51): 47 new residents, line 20 repeating line 10's phone, line 30 with a phone
    that is not one, line 40 the phone of a member already registered."""
    rows = [{"row": n, "display_name": f"居民{n}", "phone": f"1370000{n:04d}", "password": f"{n:06d}",
             "grid_id": grid_id, "skills": ["理发"] if n % 2 else []} for n in range(2, 52)]
    rows[20 - 2]["phone"] = rows[10 - 2]["phone"]
    rows[30 - 2]["phone"] = "not-a-phone"
    rows[40 - 2]["phone"] = EXISTING_PHONE
    return rows


def counts(s) -> dict:
    db = s["svc"].db
    return {"members": db.members.count_documents({"community_id": s["cid"]}),
            "joined": db.outbox.count_documents({"type": "MemberJoined"})}


def test_fifty_rows_import_the_good_ones_once_and_a_rerun_creates_nothing(svc):
    http, cid, db = svc["svc"].http, svc["cid"], svc["svc"].db
    before = counts(svc)
    rows = sheet(svc["grid_id"])
    answer = http.post(f"/v1/communities/{cid}/members/import", headers=svc["admin"], json={"rows": rows})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["created"], body["existing"], body["refused"]) == (47, 1, 2)
    by_row = {r["row"]: r for r in body["rows"]}
    assert [r["row"] for r in body["rows"]] == list(range(2, 52))
    assert by_row[20]["outcome"] == "refused" and by_row[20]["code"] == "phone_repeated"
    assert by_row[20]["message"].startswith("手机号与第 10 行重复")
    assert by_row[30]["outcome"] == "refused" and by_row[30]["code"] == "validation_failed"
    assert by_row[30]["errors"] == {"phone": ["手机号为 6-15 位数字，可以 + 开头。 6-15 digits, optional leading +."]}
    assert by_row[40] == {"row": 40, "outcome": "existing", "member_id": svc["old_id"], "code": "already_member",
                          "message": "已是本社区成员，未重复添加。 Already a member; not added again."}
    created = {n: r["member_id"] for n, r in by_row.items() if r["outcome"] == "created"}
    assert len(created) == 47 and len(set(created.values())) == 47

    # What the data holds: exactly the 47 new members, with the sheet's fields and a hashed PIN that signs in.
    assert counts(svc) == {"members": before["members"] + 47, "joined": before["joined"] + 47}
    stored = db.members.find_one({"_id": created[11]})
    assert (stored["display_name"], stored["phone"], stored["grid_id"], stored["skills"], stored["roles"]) == (
        "居民11", "13700000011", svc["grid_id"], ["理发"], ["resident"])
    assert check_password_hash(stored["secret_hash"], "000011") and "000011" not in stored["secret_hash"]
    assert db.members.count_documents({"community_id": cid, "phone": EXISTING_PHONE}) == 1
    assert db.members.count_documents({"community_id": cid, "phone": "13700000010"}) == 1
    login = http.post("/v1/auth/login", json={"community_code": "import-lane", "phone": "13700000011",
                                              "password": "000011"})
    assert login.status_code == 200 and login.json["member_id"] == created[11]

    # Each created member announced once on Kafka, without names or phones; the ledger opens their accounts.
    consumer = KafkaConsumer(svc["dep"].config("community").topic(topics.COMMUNITY),
                             bootstrap_servers=svc["dep"].kafka_bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=1500)
    seen: list[dict] = []

    def collect():
        seen.extend(json.loads(r.value) for r in consumer)
        return set(created.values()) <= {e["key"] for e in seen if e["type"] == "MemberJoined"}
    wait_until(collect, timeout=30, message="MemberJoined of every imported member on Kafka")
    consumer.close()
    joined = [e for e in seen if e["type"] == "MemberJoined" and e["key"] in set(created.values())]
    assert sorted(e["key"] for e in joined) == sorted(created.values())
    raw = json.dumps(joined, ensure_ascii=False)
    assert "居民" not in raw and "1370000" not in raw
    ledger = svc["ledger"].db
    wait_until(lambda: ledger.accounts.count_documents(
        {"_id": {"$in": [f"m:{cid}:{m}:HOUR" for m in created.values()]}}) == 47,
        timeout=30, message="the ledger's HOUR accounts of the imported members")

    # A re-run of the same file creates nothing: the 47 are found now.
    again = http.post(f"/v1/communities/{cid}/members/import", headers=svc["admin"], json={"rows": rows})
    assert again.status_code == 200
    assert (again.json["created"], again.json["existing"], again.json["refused"]) == (0, 48, 2)
    assert {r["row"]: r.get("member_id") for r in again.json["rows"] if r["outcome"] == "existing"} == {
        **created, 40: svc["old_id"]}
    assert counts(svc) == {"members": before["members"] + 47, "joined": before["joined"] + 47}


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(svc):
    http, cid = svc["svc"].http, svc["cid"]
    rows = [{"display_name": "新邻居", "phone": "13600000001", "password": "pass-word-1"},
            {"display_name": "怪字段", "phone": "13600000003", "password": "pass-word-1", "\u0000$a.b": 1}]
    key = {**svc["admin"], "Idempotency-Key": "sheet-2026-03-01-part-1"}
    first = http.post(f"/v1/communities/{cid}/members/import", headers=key, json={"rows": rows})
    assert first.status_code == 200 and (first.json["created"], first.json["refused"]) == (1, 1)
    assert first.json["rows"][1]["errors"] == {"_unknown": ["1 个无法识别的字段。 1 unknown field name(s)."]}
    before = counts(svc)
    replay = http.post(f"/v1/communities/{cid}/members/import", headers=key, json={"rows": rows})
    assert replay.status_code == 200 and replay.json == first.json  # the first answer: "created", not "existing"
    other = http.post(f"/v1/communities/{cid}/members/import", headers=key, json={"rows": rows + rows})
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    assert other.content_type == "application/problem+json"
    assert counts(svc) == before


def test_bounds_and_rights_are_problems_that_change_nothing(svc):
    http, cid = svc["svc"].http, svc["cid"]
    before = counts(svc)
    row = {"display_name": "某人", "phone": "13600000002", "password": "pass-word-2"}
    too_many = http.post(f"/v1/communities/{cid}/members/import", headers=svc["admin"],
                         json={"rows": [row] * 201})
    assert too_many.status_code == 422 and too_many.json["code"] == "validation_failed"
    assert "rows" in too_many.json["errors"]
    empty = http.post(f"/v1/communities/{cid}/members/import", headers=svc["admin"], json={"rows": []})
    assert empty.status_code == 422
    huge = http.post(f"/v1/communities/{cid}/members/import", headers=svc["admin"],
                     data=json.dumps({"rows": [{**row, "display_name": "x" * 2_000_000}]}),
                     content_type="application/json")
    assert huge.status_code == 413 and huge.content_type == "application/problem+json"
    member = http.post("/v1/auth/login", json={"community_code": "import-lane", "phone": EXISTING_PHONE,
                                               "password": "112233"}).json["token"]
    refused = http.post(f"/v1/communities/{cid}/members/import", headers=bearer(member), json={"rows": [row]})
    assert refused.status_code == 403
    unknown = http.post("/v1/communities/c_nowhere/members/import", headers=svc["admin"], json={"rows": [row]})
    assert unknown.status_code in (403, 404)
    assert counts(svc) == before
