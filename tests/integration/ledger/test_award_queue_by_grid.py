"""The queue of award claims a grid worker confirms holds only the members of their own grid (the ledger knows
each member's grid from the community's events); an organizer, and a grid worker of no grid, see them all."""
from __future__ import annotations

import pytest


@pytest.fixture
def c(kit):
    cid = kit.community()
    kit.join(cid, "wang", "li", "greg", grid_id="g_east")
    kit.join(cid, "zhao", "gwen", grid_id="g_west")
    kit.join(cid, "olga", "nobody")
    return cid


def _queue(kit, member, c, *roles):
    answer = kit.http.get("/v1/transfers/awaiting", headers=kit.h(member, c, *roles))
    assert answer.status_code == 200, answer.json
    return {t["payee_id"] for t in answer.json if t["workflow"] == "award"}


def test_a_grid_workers_queue_holds_only_their_grids_claims(kit, c):
    for volunteer in ("wang", "li", "zhao"):
        made = kit.transfer(volunteer, c, workflow="award", unit="PT", minutes=60, activity_type="environment_cleanup")
        assert made.status_code == 201, made.json
    assert _queue(kit, "greg", c, "grid_worker") == {"wang", "li"}
    assert _queue(kit, "gwen", c, "grid_worker") == {"zhao"}
    assert _queue(kit, "olga", c, "organizer") == {"wang", "li", "zhao"}
    assert _queue(kit, "nobody", c, "grid_worker") == {"wang", "li", "zhao"}
    assert _queue(kit, "greg", c, "grid_worker", "organizer") == {"wang", "li", "zhao"}
    assert _queue(kit, "wang", c) == set()  # a resident confirms no awards


def test_a_grid_worker_confirms_only_their_grids_claims(kit, c):
    """What the queue hides cannot be confirmed or rejected by id either: gwen (g_west) is refused wang's claim
    (g_east) with 403 not_your_grid and it stays pending; greg (g_east) confirms it; an organizer rejects zhao's."""
    claims = {}
    for volunteer in ("wang", "zhao"):
        made = kit.transfer(volunteer, c, workflow="award", unit="PT", minutes=60, activity_type="environment_cleanup")
        assert made.status_code == 201, made.json
        claims[volunteer] = made.json["transfer_id"]
    for verb in ("confirm", "reject"):
        refused = kit.http.post(f"/v1/transfers/{claims['wang']}/{verb}", json={},
                                headers=kit.h("gwen", c, "grid_worker"))
        assert (refused.status_code, refused.json["code"]) == (403, "not_your_grid"), refused.json
    assert kit.db.transfers.find_one({"_id": claims["wang"]})["state"] == "pending"
    done = kit.http.post(f"/v1/transfers/{claims['wang']}/confirm", json={}, headers=kit.h("greg", c, "grid_worker"))
    assert (done.status_code, done.json["state"]) == (200, "posted"), done.json
    rejected = kit.http.post(f"/v1/transfers/{claims['zhao']}/reject", json={"reason": "未到场"},
                             headers=kit.h("olga", c, "organizer"))
    assert (rejected.status_code, rejected.json["state"]) == (200, "rejected"), rejected.json
    assert kit.audit(c)["ok"]
