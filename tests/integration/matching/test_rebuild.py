"""Rebuilding the read model from the event log gives the same answers and tells nobody twice."""
from __future__ import annotations

import pytest

from shared.testing import wait_until
from services.matching.rebuild import rebuild


def test_rebuild_replays_the_log_into_the_same_suggestions(world, module_deployment):
    dep = module_deployment
    world.community({"g1": ["g2"], "g2": [], "g3": []})
    alice = world.member("alice", "g1")
    bob = world.member("bob", "g1", skills=["pet_care"])
    carol = world.member("carol", "g2", skills=["pet_care"])
    dan = world.member("dan", "g3", skills=["pet_care"])
    for i in range(3):
        world.requests_event("RequestAccepted", world.id(f"busy{i}"), requester_id=alice, helper_id=dan)
    rid = world.request("r1", alice, "pet_care", "g1")
    done = world.request("r0", alice, "pet_care", "g1")
    world.requests_event("RequestAccepted", done, requester_id=alice, helper_id=carol)
    world.requests_event("RequestCompleted", done, transfer_id="t1")
    world.requests_event("HelpRated", done, helper_id=carol, rater_id=alice, stars=5)
    wait_until(lambda: world.member_view(dan) and world.member_view(dan)["at_commitment_limit"])
    wait_until(lambda: (world.member_view(carol) or {}).get("open_commitments") == 0
               and world.stored_member(carol).get("rating_count") == 1)
    before = wait_until(lambda: world.suggestions(rid, alice).get_json().get("suggestions"))
    assert [s["member_id"] for s in before] == [bob, carol]
    assert len(world.match_suggested(rid)) == 1

    world.svc.close()  # the consumer must be stopped before a rebuild
    dep.services.clear()
    with pytest.raises(SystemExit):  # refused while a consumer of the group is alive
        _with_live_consumer(dep, lambda: rebuild(dep.config("matching")))
    report = rebuild(dep.config("matching"))
    assert report["members"] == 4 and report["events"] >= 15

    web = dep.service("matching", workers=False)
    world.svc = web
    after = world.suggestions(rid, alice).get_json()["suggestions"]
    assert [(s["member_id"], s["components"]) for s in after] == [(s["member_id"], s["components"]) for s in before]
    assert world.member_view(dan)["at_commitment_limit"] is True
    assert len(world.match_suggested(rid)) == 1  # the replay told nobody again

    # The regular consumer resumes after the replay: new events apply, old ones are not applied twice.
    dep.services.clear()
    web.close()
    world.svc = dep.service("matching")
    world.requests_event("RequestCompleted", world.id("busy0"), transfer_id="t2")
    wait_until(lambda: world.member_view(dan)["open_commitments"] == 2, message="consumer resumed")
    assert world.member_view(carol)["open_commitments"] == 0
    assert world.stored_member(carol)["completed"] == 1


def _with_live_consumer(dep, fn):
    harness = dep.service("matching")
    try:
        wait_until(lambda: harness.consumer._consumer is not None and harness.consumer._consumer.assignment(),
                   message="consumer joined its group")
        return fn()
    finally:
        dep.services.clear()
        harness.close()
