"""Grid work on the real stack (issue 13): 随手拍 reports with a photo in the community database's GridFS, checked
by size and content; the grid worker of the report's grid verifies (another grid's is refused) and the ledger pays
the report's points with their explanation; standing duties verified once per period, paid once."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from bson import ObjectId

from shared.testing import (CAMERA_MAKE, GPS_LATITUDE, GPS_LONGITUDE, bearer, jpeg_with_gps, tiny_png as png,
                            wait_until)
from shared.mongo import utcnow
from services.community import scheduler
from services.community.reports_store import PhotoStore

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"
PIN = "864200"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def world(module_deployment):
    dep = module_deployment
    community, ledger = dep.service("community"), dep.service("ledger")
    http, code = community.http, "grid" + uuid.uuid4().hex[:6]
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": "网格社区", "point_value_fen": 10,
        "admin": {"display_name": "王主任", "phone": "13800000401", "password": "135790"}})
    assert made.status_code == 201, made.json
    cid = made.json["community"]["community_id"]
    admin = bearer(http.post("/v1/auth/login", json={"community_code": code, "phone": "13800000401",
                                                     "password": "135790"}).json["token"])
    grids = [http.post(f"/v1/communities/{cid}/grids", headers=admin, json={"name": name}).json["grid_id"]
             for name in ("一网格", "二网格")]

    def member(phone: str, grid: str, *roles: str) -> tuple[str, dict]:
        joined = http.post(f"/v1/communities/{cid}/members", headers=admin, json={
            "display_name": "成员" + phone[-2:], "phone": phone, "password": PIN, "grid_id": grid,
            "roles": ["resident", *roles]})
        assert joined.status_code == 201, joined.json
        token = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": PIN})
        return joined.json["member_id"], bearer(token.json["token"])

    li, li_h = member("13900000411", grids[0])
    zhang, zhang_h = member("13900000412", grids[0], "grid_worker")
    chen, chen_h = member("13900000413", grids[1], "grid_worker")
    wait_until(lambda: ledger.db.accounts.find_one({"_id": f"m:{cid}:{li}:PT"}), timeout=90, message="li's account")
    return {"http": http, "db": community.db, "config": community.config, "ledger": ledger, "cid": cid, "admin": admin, "li": li, "li_h": li_h,
            "zhang": zhang, "zhang_h": zhang_h, "chen": chen, "chen_h": chen_h, "grids": grids}


def _report(world, photo: bytes, *, claimed_type: str = "image/png", headers=None, **form):
    fields = {"report_type": "hazard_report", "text": "楼道堆放杂物，堵住消防通道", "place": "3 栋 2 单元", **form}
    return world["http"].post(f"/v1/communities/{world['cid']}/reports", headers=headers or world["li_h"],
                              data={**fields, "photo": (io.BytesIO(photo), "photo.png", claimed_type)},
                              content_type="multipart/form-data")


def _stored(world) -> tuple[int, int, int]:
    db = world["db"]
    return (db.grid_reports.count_documents({}), db.report_photos.files.count_documents({}),
            db.report_photos.chunks.count_documents({}))


def test_a_report_with_a_photo_is_stored_in_gridfs_and_reads_back_byte_for_byte(world):
    photo = png(40, 30)
    made = _report(world, photo, major_hazard="true")
    assert made.status_code == 201, made.json
    body = made.json
    assert (body["status"], body["grid_id"], body["reporter_id"]) == ("open", world["grids"][0], world["li"])
    assert (body["photo_type"], body["photo_bytes"], body["major_hazard_claimed"]) == ("image/png", len(photo), True)
    assert body["points"] == 50  # hazard_report 20 + major hazard 30, as the default rules price it
    read = world["http"].get(f"/v1/communities/{world['cid']}/reports/{body['report_id']}/photo",
                             headers=world["li_h"])
    assert read.status_code == 200 and read.mimetype == "image/png" and read.data == photo
    mine = world["http"].get(f"/v1/communities/{world['cid']}/reports/mine", headers=world["li_h"]).json["items"]
    assert [r["report_id"] for r in mine][:1] == [body["report_id"]]


def test_a_photo_is_stored_without_its_exif_gps_and_reads_back_as_a_photo(world):
    """A phone's JPEG with the GPS position of the resident's home (EXIF, XMP), the phone's name and orientation 6:
    what the grid worker reads back has no position and no phone, keeps the orientation and still is a JPEG."""
    photo = jpeg_with_gps(64, 48, orientation=6)
    assert GPS_LATITUDE in photo and GPS_LONGITUDE in photo
    made = _report(world, photo, claimed_type="image/jpeg")
    assert made.status_code == 201, made.json
    read = world["http"].get(f"/v1/communities/{world['cid']}/reports/{made.json['report_id']}/photo",
                             headers=world["zhang_h"])
    assert read.status_code == 200 and read.mimetype == "image/jpeg"
    for leak in (GPS_LATITUDE, GPS_LONGITUDE, CAMERA_MAKE, b"GPSLatitude"):
        assert leak not in read.data
    assert read.data[:2] == b"\xff\xd8" and read.data.endswith(b"\xff\xd9") and len(read.data) < len(photo)
    assert made.json["photo_bytes"] == len(read.data) == int(read.headers["Content-Length"])
    from PIL import Image  # a test-only dependency: the stored photo still decodes, upright per its orientation
    image = Image.open(io.BytesIO(read.data))
    image.load()
    assert image.size == (64, 48) and dict(image.getexif()) == {0x0112: 6}
    photo_id = world["db"].grid_reports.find_one({"_id": made.json["report_id"]})["photo_id"]
    assert world["db"].report_photos.files.find_one({"_id": ObjectId(photo_id)})["length"] == len(read.data)


def test_a_damaged_jpeg_is_refused_and_nothing_is_stored(world):
    before = _stored(world)
    refused = _report(world, b"\xff\xd8\xff\xe1\x40\x00Exif\x00\x00" + GPS_LATITUDE, claimed_type="image/jpeg")
    assert refused.status_code == 422 and refused.mimetype == PROBLEM and refused.json["code"] == "photo_unreadable"
    assert _stored(world) == before


def test_the_scheduler_sweeps_old_photos_no_report_names_and_keeps_the_rest(world):
    """A photo stored by a process that died before committing its report (no report names it) and uploaded over
    an hour ago is removed with its chunks; one a report names and one uploaded just now are kept."""
    db, photos = world["db"], PhotoStore(world["db"])
    files = db["report_photos.files"]
    named_rid = _report(world, png(5, 5)).json["report_id"]
    named = db.grid_reports.find_one({"_id": named_rid})["photo_id"]
    orphan = photos.save(png(6, 6), "image/png", world["cid"], world["li"])
    fresh = photos.save(png(7, 7), "image/png", world["cid"], world["li"])
    now = utcnow()
    for photo_id in (named, orphan):  # uploaded two hours ago
        files.update_one({"_id": ObjectId(photo_id)}, {"$set": {"uploadDate": now - timedelta(hours=2)}})
    assert scheduler.sweep_photos(db, now) == 1
    assert files.find_one({"_id": ObjectId(orphan)}) is None
    assert db["report_photos.chunks"].count_documents({"files_id": ObjectId(orphan)}) == 0
    assert {str(d["_id"]) for d in files.find({"_id": {"$in": [ObjectId(named), ObjectId(fresh)]}})} == {named, fresh}
    read = world["http"].get(f"/v1/communities/{world['cid']}/reports/{named_rid}/photo", headers=world["li_h"])
    assert read.status_code == 200 and read.data == png(5, 5)
    assert scheduler.sweep_photos(db, now) == 0                       # a second sweep finds nothing more
    # An hour later the fresh one has had its grace too; swept in batches of one, the named photo still stays.
    assert photos.sweep_orphans(now + timedelta(hours=1, seconds=1), batch=1) == 1
    assert files.find_one({"_id": ObjectId(fresh)}) is None and files.find_one({"_id": ObjectId(named)})


def test_photos_stored_before_stripping_are_stripped_by_the_operator_cli_once(world):
    """A report whose photo was stored with its EXIF GPS (before uploads were stripped): `cli strip-photos` writes
    it anew without, points the report at it and removes the old one; a second run rewrites nothing."""
    db, photos = world["db"], PhotoStore(world["db"])
    rid = _report(world, png(3, 3)).json["report_id"]
    legacy = jpeg_with_gps(20, 10)
    old = photos.save(legacy, "image/jpeg", world["cid"], world["li"])   # as the service stored photos before
    db.grid_reports.update_one({"_id": rid}, {"$set": {"photo_id": old, "photo_type": "image/jpeg",
                                                       "photo_bytes": len(legacy)}})
    config = world["config"]
    env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix}
    argv = [sys.executable, "-m", "services.community.cli", "strip-photos"]
    ran = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    counts = json.loads(ran.stdout.strip().splitlines()[-1])
    assert (counts["rewritten"], counts["unreadable"]) == (1, 0)
    assert counts["checked"] == db.grid_reports.count_documents({})
    read = world["http"].get(f"/v1/communities/{world['cid']}/reports/{rid}/photo", headers=world["li_h"])
    assert read.status_code == 200 and read.data[:2] == b"\xff\xd8"
    assert GPS_LATITUDE not in read.data and GPS_LONGITUDE not in read.data and CAMERA_MAKE not in read.data
    report = db.grid_reports.find_one({"_id": rid})
    assert report["photo_id"] != old and report["photo_bytes"] == len(read.data)
    assert db["report_photos.files"].find_one({"_id": ObjectId(old)}) is None
    again = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout.strip().splitlines()[-1])["rewritten"] == 0


@pytest.mark.parametrize("photo, claimed, status, code", [
    (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "image/jpeg", 413, "photo_too_large"),   # 5 MB + 3 bytes
    (b"GIF89a" + b"\x00" * 100, "image/png", 422, "photo_type_not_allowed"),                # a GIF named PNG
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg", 422, "photo_type_not_allowed"),
    (b"", "image/png", 422, "photo_missing"),
])
def test_an_oversize_or_wrong_type_photo_is_refused_and_nothing_is_stored(world, photo, claimed, status, code):
    before = _stored(world)
    refused = _report(world, photo, claimed_type=claimed)
    assert refused.status_code == status and refused.mimetype == PROBLEM, refused.data[:200]
    assert refused.json["code"] == code
    assert _stored(world) == before


def test_a_body_far_past_the_limit_is_refused_before_it_is_read(world):
    before = _stored(world)
    refused = _report(world, b"\x89PNG\r\n\x1a\n" + b"\x00" * (6 * 1024 * 1024))
    assert refused.status_code == 413 and refused.mimetype == PROBLEM
    assert _stored(world) == before


def test_a_report_of_a_type_the_rules_do_not_price_is_refused_and_its_photo_removed(world):
    before = _stored(world)
    refused = _report(world, png(), report_type="ufo_sighting")
    assert refused.status_code == 422 and refused.json["code"] == "unknown_report_type"
    assert "hazard_report" in refused.json["known"]
    assert _stored(world) == before


def test_the_grid_worker_of_another_grid_neither_sees_nor_verifies_it(world):
    rid = _report(world, png()).json["report_id"]
    base = f"/v1/communities/{world['cid']}/reports"
    queue = world["http"].get(f"{base}/queue", headers=world["chen_h"]).json["items"]
    assert rid not in [r["report_id"] for r in queue]
    assert rid in [r["report_id"] for r in world["http"].get(f"{base}/queue", headers=world["zhang_h"]).json["items"]]
    refused = world["http"].post(f"{base}/{rid}/verify", headers=world["chen_h"], json={})
    assert refused.status_code == 403 and refused.json["code"] == "not_your_grid"
    assert world["http"].get(f"{base}/{rid}", headers=world["chen_h"]).status_code == 404
    assert world["http"].get(f"{base}/{rid}/photo", headers=world["chen_h"]).status_code == 404
    resident = world["http"].post(f"{base}/{rid}/verify", headers=world["li_h"], json={})
    assert resident.status_code == 403
    assert world["db"].grid_reports.find_one({"_id": rid})["status"] == "open"
    # Dismissed by its grid worker, with a reason the reporter reads; no points.
    dismissed = world["http"].post(f"{base}/{rid}/dismiss", headers=world["zhang_h"], json={"reason": "已有人上报"})
    assert dismissed.status_code == 200 and dismissed.json["status"] == "dismissed"
    mine = world["http"].get(f"{base}/{rid}", headers=world["li_h"]).json
    assert (mine["status"], mine["reason"]) == ("dismissed", "已有人上报")


def test_a_verified_report_pays_its_points_with_the_explanation_once(world):
    base = f"/v1/communities/{world['cid']}/reports"
    rid = _report(world, png(), major_hazard="true").json["report_id"]
    verified = world["http"].post(f"{base}/{rid}/verify", headers=world["zhang_h"], json={"major_hazard": True})
    assert verified.status_code == 200 and verified.json["status"] == "verified", verified.json
    again = world["http"].post(f"{base}/{rid}/verify", headers=world["zhang_h"], json={"major_hazard": True})
    assert again.status_code == 409 and again.json["code"] == "report_decided"
    ledger = world["ledger"]
    t = wait_until(lambda: ledger.db.transfers.find_one({"reference.id": rid}), timeout=60, message="award")
    # Li's first award under the default rules: report 20 + major hazard 30 = 50; newcomer 1/3 ×200% +50 = 100;
    # first participation +5 = 105.
    award = t["details"]["award"]
    assert (t["state"], t["amount"], award["rule_version"]) == ("posted", 105, 0)
    assert [(i["code"], i["points"]) for i in award["items"]] == [
        ("base_report", 20), ("situational_bonus", 30), ("newcomer_multiplier", 50),
        ("first_participation_bonus", 5)]
    assert award["explanation"]["zh-CN"][0] == "随手拍「hazard_report」核实 20"
    account = ledger.db.accounts.find_one({"_id": f"m:{world['cid']}:{world['li']}:PT"})
    assert account["posted"] == 105
    seen = ledger.http.get(f"/v1/transfers/{t['_id']}", headers=world["li_h"])
    assert seen.status_code == 200 and seen.json["amount"] == 105


def test_a_duty_verified_twice_in_a_period_pays_once(world):
    http, cid = world["http"], world["cid"]
    assigned = http.post(f"/v1/communities/{cid}/duties", headers=world["admin"],
                         json={"member_id": world["li"], "duty": "doorstep_duty"})
    assert assigned.status_code == 200, assigned.json
    aid = assigned.json["assignment_id"]
    assert http.post(f"/v1/communities/{cid}/duties", headers=world["li_h"],
                     json={"member_id": world["li"], "duty": "doorstep_duty"}).status_code == 403
    due = http.get(f"/v1/communities/{cid}/duties/due", headers=world["zhang_h"]).json["items"]
    mine = [d for d in due if d["assignment_id"] == aid]
    assert mine and mine[0]["verified"] is False and mine[0]["points"] == 20 and mine[0]["period_kind"] == "monthly"
    assert aid not in [d["assignment_id"] for d in http.get(f"/v1/communities/{cid}/duties/due",
                                                            headers=world["chen_h"]).json["items"]]
    other = http.post(f"/v1/communities/{cid}/duties/{aid}/verify", headers=world["chen_h"], json={})
    assert other.status_code == 403 and other.json["code"] == "not_your_grid"
    first = http.post(f"/v1/communities/{cid}/duties/{aid}/verify", headers=world["zhang_h"], json={})
    second = http.post(f"/v1/communities/{cid}/duties/{aid}/verify", headers=world["zhang_h"], json={})
    assert first.status_code == second.status_code == 200 and first.json == second.json
    vid = first.json["verification_id"]
    ledger = world["ledger"]
    t = wait_until(lambda: ledger.db.transfers.find_one({"reference.id": vid}), timeout=60, message="duty award")
    assert t["details"]["award"]["items"][0] == {"code": "base_duty", "points": 20, "duty": "doorstep_duty",
                                                 "period": "monthly"}
    assert ledger.db.transfers.count_documents({"reference.kind": "duty"}) == 1
    assert world["db"].outbox.count_documents({"type": "DutyVerified"}) == 1
    due = http.get(f"/v1/communities/{cid}/duties/due", headers=world["zhang_h"]).json["items"]
    assert [d["verified"] for d in due if d["assignment_id"] == aid] == [True]


def test_a_points_loan_is_repaid_from_the_next_award_per_its_plan_and_the_member_sees_it(world):
    http, cid, ledger = world["http"], world["cid"], world["ledger"]
    loans = "/v1/admin/loans"
    # Loans are off by default (points_loan_limit 0): refused with the figures, nothing lent.
    off = ledger.http.post(loans, headers=world["admin"], json={"member_id": world["zhang"], "points": 100})
    assert off.status_code == 422 and (off.json["code"], off.json["limit"]) == ("loan_over_limit", 0)
    published = http.post(f"/v1/communities/{cid}/points-rules", headers=world["admin"],
                          json={"rules": {"points_loan_limit": 300}})
    assert published.status_code == 201, published.json
    wait_until(lambda: ledger.db.points_rules.find_one({"_id": f"{cid}:{published.json['version']}"}), timeout=60,
               message="the ledger has the rules")
    over = ledger.http.post(loans, headers=world["admin"], json={"member_id": world["chen"], "points": 301})
    assert over.status_code == 422 and over.json["code"] == "loan_over_limit"
    assert ledger.http.post(loans, headers=world["zhang_h"], json={"member_id": world["chen"],
                                                                  "points": 10}).status_code == 403

    # Zhang borrows 100, half of every later award repaying it.
    lent = ledger.http.post(loans, headers=world["admin"], json={"member_id": world["zhang"], "points": 100,
                                                                 "repay_percent": 50, "memo": "应急"})
    assert lent.status_code == 201, lent.json
    assert (lent.json["principal"], lent.json["outstanding"], lent.json["status"]) == (100, 100, "active")
    again = ledger.http.post(loans, headers=world["admin"], json={"member_id": world["zhang"], "points": 10})
    assert again.status_code == 409 and (again.json["code"], again.json["outstanding"]) == ("loan_outstanding", 100)
    account = f"m:{cid}:{world['zhang']}:PT"
    assert ledger.db.accounts.find_one({"_id": account})["posted"] == 100

    # Zhang reports a hazard in his own grid; an admin verifies it (he cannot verify his own).
    rid = _report(world, png(), headers=world["zhang_h"]).json["report_id"]
    own = http.post(f"/v1/communities/{cid}/reports/{rid}/verify", headers=world["zhang_h"], json={})
    assert own.status_code == 403 and own.json["code"] == "own_report"
    assert http.post(f"/v1/communities/{cid}/reports/{rid}/verify", headers=world["admin"], json={}).status_code == 200
    # His first award: report 20, newcomer ×2 +20, first participation +5 = 45; the plan repays 50 % of 45 = 22.5,
    # half-even 22; 100 − 22 = 78 still owed; he holds 100 + 45 − 22 = 123.
    award = wait_until(lambda: ledger.db.transfers.find_one({"reference.id": rid}), timeout=60, message="award")
    assert award["amount"] == 45
    repayment = wait_until(lambda: ledger.db.transfers.find_one({"reference.kind": "loan_repayment"}), timeout=60,
                           message="repayment")
    assert (repayment["amount"], repayment["state"], repayment["details"]["economy"]["repays_from"]) == (
        22, "posted", award["_id"])
    assert ledger.db.accounts.find_one({"_id": account})["posted"] == 123
    mine = ledger.http.get("/v1/loans/mine", headers=world["zhang_h"])
    assert mine.status_code == 200 and len(mine.json) == 1
    loan = mine.json[0]
    assert (loan["repaid"], loan["outstanding"], loan["status"]) == (22, 78, "active")
    assert [(r["award"], r["points"], r["outstanding"]) for r in loan["repayments"]] == [(45, 22, 78)]
    assert loan["repayments"][0]["explanation"]["zh-CN"] == ["奖励 45 分中 22 分偿还积分借用（尚欠 78）"]
    assert ledger.http.get("/v1/loans/mine", headers=world["li_h"]).json == []
    seen = ledger.http.get(loans, headers=world["admin"], query_string={"member_id": world["zhang"]}).json
    assert [x["loan_id"] for x in seen] == [loan["loan_id"]]
    audit = ledger.http.get("/v1/admin/audit", headers=world["admin"])
    assert audit.status_code == 200 and audit.json["ok"], audit.json


def _pages(http, path: str, headers: dict, limit: int, cursor: str | None = None, **query) -> list[list[dict]]:
    """Every page of a cursor-paged list (from `cursor`, else the first page), following next_cursor to the end."""
    pages = []
    while True:
        answer = http.get(path, headers=headers, query_string={**query, "limit": limit,
                                                                **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.json
        pages.append(answer.json["items"])
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return pages


def test_the_queue_my_reports_and_the_duties_due_page_through_every_item_exactly_once(world):
    """Past the first page: 7 more reports (three of them made at the very same millisecond, so the id breaks the
    tie), pages of 3; a report decided between two pages shifts nothing; a bad cursor is a 400."""
    http, cid, db = world["http"], world["cid"], world["db"]
    base = f"/v1/communities/{cid}"
    made = [_report(world, png(), text=f"第 {n} 处堆物").json["report_id"] for n in range(7)]
    same = db.grid_reports.find_one({"_id": made[2]})["created_at"]
    db.grid_reports.update_many({"_id": {"$in": made[3:5]}}, {"$set": {"created_at": same}})
    open_in_grid = [d["_id"] for d in db.grid_reports.find({"community_id": cid, "status": "open",
                                                            "grid_id": world["grids"][0]}).sort([("created_at", 1),
                                                                                                  ("_id", 1)])]
    assert len(open_in_grid) > 6
    first = http.get(f"{base}/reports/queue", headers=world["zhang_h"], query_string={"limit": 3}).json
    assert [r["report_id"] for r in first["items"]] == open_in_grid[:3] and first["next_cursor"]
    # Decided between pages: the page after the cursor is unchanged.
    assert http.post(f"{base}/reports/{open_in_grid[1]}/verify", headers=world["zhang_h"], json={}).status_code == 200
    pages = [first["items"], *_pages(http, f"{base}/reports/queue", world["zhang_h"], 3, first["next_cursor"])]
    seen = [r["report_id"] for page in pages for r in page]
    assert seen == open_in_grid and len(pages) == -(-len(open_in_grid) // 3) and all(len(p) <= 3 for p in pages)
    # My reports, newest first, every one once; filtered by status too.
    mine = [r["report_id"] for page in _pages(http, f"{base}/reports/mine", world["li_h"], 3) for r in page]
    expected = [d["_id"] for d in db.grid_reports.find({"community_id": cid, "reporter_id": world["li"]})
                .sort([("created_at", -1), ("_id", -1)])]
    assert mine == expected and set(made) <= set(mine) and len(mine) > 6
    verified = [r for page in _pages(http, f"{base}/reports/mine", world["li_h"], 2, status="verified") for r in page]
    assert open_in_grid[1] in [r["report_id"] for r in verified] and {r["status"] for r in verified} == {"verified"}
    # The duties due in zhang's grid: five members holding a duty each, pages of 2.
    holders = []
    for n in range(5):
        joined = http.post(f"{base}/members", headers=world["admin"], json={
            "display_name": f"值守{n}", "phone": f"1390000045{n}", "password": PIN, "grid_id": world["grids"][0]})
        assert joined.status_code == 201, joined.json
        holders.append(joined.json["member_id"])
        assert http.post(f"{base}/duties", headers=world["admin"], json={
            "member_id": joined.json["member_id"], "duty": "waste_sorting_watch"}).status_code == 200
    due = [d for page in _pages(http, f"{base}/duties/due", world["zhang_h"], 2) for d in page]
    ids = [d["assignment_id"] for d in due]
    assert len(ids) == len(set(ids)) and {d["member_id"] for d in due} >= set(holders) and ids == sorted(ids)
    in_grid = [m["_id"] for m in db.members.find({"community_id": cid, "grid_id": world["grids"][0],
                                                  "_id": {"$ne": world["zhang"]}})]
    assert ids == sorted(d["_id"] for d in db.duty_assignments.find({"community_id": cid, "active": True,
                                                                     "member_id": {"$in": in_grid}}))
    bad = http.get(f"{base}/reports/queue", headers=world["zhang_h"], query_string={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.mimetype == PROBLEM and bad.json["code"] == "bad_cursor"
