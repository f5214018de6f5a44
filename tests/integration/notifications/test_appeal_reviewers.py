"""Reviewers hear of a new appeal, on real Kafka and MongoDB with the real community, ledger and notification
services: the community's members (roles and grids) reach the notification centre by community.events; a member
appeals a penalty in the ledger; the admins and the grid worker of the member's grid are told (`appeal.filed`), not
the grid worker of another grid, not the admin who issued the penalty, not the member; a grid worker who loses the
role no longer hears."""
from __future__ import annotations

import uuid

import pytest

from shared.testing import bearer, wait_until

OPERATOR = {"X-Operator-Key": "dev-operator-key"}


class Community:
    def __init__(self, dep):
        self.dep = dep
        self.community, self.ledger = dep.service("community"), dep.service("ledger")
        self.notices = dep.service("notifications").db.notifications
        self.code = "rev" + uuid.uuid4().hex[:6]
        made = self.community.http.post("/v1/communities", headers=OPERATOR, json={
            "code": self.code, "name": "申诉社区", "point_value_fen": 10,
            "admin": {"display_name": "王主任", "phone": "13800000401", "password": "135790"}})
        assert made.status_code == 201, made.json
        self.cid = made.json["community"]["community_id"]
        self.root = self.login("13800000401")
        self.grids = {}
        for name in ("1号楼", "2号楼"):
            grid = self.community.http.post(f"/v1/communities/{self.cid}/grids", headers=self.root["h"],
                                            json={"name": name})
            assert grid.status_code == 201, grid.json
            self.grids[name] = grid.json["grid_id"]

    def login(self, phone: str) -> dict:
        r = self.community.http.post("/v1/auth/login", json={"community_code": self.code, "phone": phone,
                                                             "password": "135790"})
        assert r.status_code == 200, r.json
        return {"member_id": r.json["member_id"], "h": bearer(r.json["token"])}

    def member(self, phone: str, grid: str, *roles: str) -> dict:
        made = self.community.http.post(f"/v1/communities/{self.cid}/members", headers=self.root["h"], json={
            "display_name": "居民" + phone[-3:], "phone": phone, "password": "135790",
            "roles": list(roles or ("resident",)), "grid_id": self.grids[grid]})
        assert made.status_code == 201, made.json
        who = self.login(phone)
        wait_until(lambda: self.ledger.db.accounts.find_one({"_id": f"m:{self.cid}:{who['member_id']}:PT"}),
                   timeout=90, message="the member's ledger account")
        return who

    def told(self, appeal_id: str, count: int) -> set[str]:
        """Who was told of the appeal as its reviewer (once `count` are)."""
        query = {"kind": "appeal.filed", "ref.id": appeal_id}
        wait_until(lambda: self.notices.count_documents(query) >= count, timeout=90, message="appeal.filed")
        return {n["member_id"] for n in self.notices.find(query)}


@pytest.fixture(scope="module")
def town(module_deployment):
    return Community(module_deployment)


def test_a_penalty_appeal_is_told_to_the_admins_and_the_grid_worker_of_the_members_grid(town):
    east_worker = town.member("13900000411", "1号楼", "resident", "grid_worker")
    west_worker = town.member("13900000412", "2号楼", "resident", "grid_worker")
    deputy = town.member("13900000413", "2号楼", "resident", "admin")
    fan = town.member("13900000414", "1号楼")
    # The notification centre has heard of the reviewers from the community's events.
    reviewers = town.dep.services["notifications"].db.reviewers
    wait_until(lambda: reviewers.count_documents({"community_id": town.cid}) == 4, timeout=90, message="reviewers")
    assert reviewers.find_one({"_id": east_worker["member_id"]}) == {
        "_id": east_worker["member_id"], "community_id": town.cid, "roles": ["grid_worker"],
        "grid_id": town.grids["1号楼"]}

    # The deputy admin fines 范 (1号楼) for noise; he appeals.
    fined = town.ledger.http.post("/v1/admin/penalties", headers=deputy["h"],
                                  json={"member_id": fan["member_id"], "reason": "noise"})
    assert fined.status_code == 201, fined.json
    filed = town.ledger.http.post("/v1/appeals", headers=fan["h"], json={
        "kind": "penalty", "subject_id": fined.json["penalty_id"], "reason": "那晚我不在家"})
    assert filed.status_code == 201, filed.json
    appeal_id = filed.json["appeal_id"]

    # The admin and 1号楼's grid worker; not 2号楼's, not the deputy who decided, not 范 himself.
    assert town.told(appeal_id, 2) == {town.root["member_id"], east_worker["member_id"]}
    notice = town.notices.find_one({"kind": "appeal.filed", "member_id": east_worker["member_id"]})
    assert notice["community_id"] == town.cid and notice["read"] is False
    assert notice["data"] == {"appeal_id": appeal_id, "appeal_kind": "penalty", "unit": "PT",
                              "disputed": fined.json["amount"]}
    # Read over HTTP by the grid worker, as the app does.
    page = town.dep.services["notifications"].http.get("/v1/notifications", headers=east_worker["h"]).json
    assert [(n["kind"], n["ref"]) for n in page["items"]] == [("appeal.filed", {"kind": "appeal", "id": appeal_id})]
    assert not town.dep.services["notifications"].http.get("/v1/notifications", headers=west_worker["h"]).json[
        "items"]

    # The east grid worker loses the role: a later grid appeal no longer reaches them.
    changed = town.community.http.patch(f"/v1/communities/{town.cid}/members/{east_worker['member_id']}",
                                        headers=town.root["h"], json={"roles": ["resident"]})
    assert changed.status_code == 200, changed.json
    wait_until(lambda: reviewers.find_one({"_id": east_worker["member_id"]}) is None, timeout=90,
               message="the role change")
    again = town.ledger.http.post("/v1/admin/penalties", headers=deputy["h"],
                                  json={"member_id": fan["member_id"], "reason": "noise"})
    second = town.ledger.http.post("/v1/appeals", headers=fan["h"], json={
        "kind": "penalty", "subject_id": again.json["penalty_id"], "reason": "又不是我"})
    assert second.status_code == 201, second.json
    assert town.told(second.json["appeal_id"], 1) == {town.root["member_id"]}
