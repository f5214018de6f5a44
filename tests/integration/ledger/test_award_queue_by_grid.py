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
