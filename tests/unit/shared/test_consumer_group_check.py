"""What a consumer that does not own every partition concludes from the broker's description of its group."""
from __future__ import annotations

from shared.consumer import unowned

PARTITIONS = {("t.a", 0), ("t.a", 1), ("t.b", 0)}


def member(*owned):
    topics = {}
    for topic, partition in owned:
        topics.setdefault(topic, []).append(partition)
    return {"member_assignment": {"assigned_partitions": [{"topic": t, "partitions": p} for t, p in topics.items()]}}


def test_a_stable_group_names_the_partitions_nobody_owns():
    group = {"error": None, "group_state": "Stable", "members": [member(("t.a", 0)), member(("t.b", 0))]}
    assert unowned(group, PARTITIONS) == {("t.a", 1)}
    group["members"].append(member(("t.a", 1)))
    assert unowned(group, PARTITIONS) == set()


def test_an_empty_or_dead_group_has_lost_its_members_so_every_partition_is_nobodys():
    for state in ("Empty", "Dead"):
        assert unowned({"error": None, "group_state": state, "members": []}, PARTITIONS) == PARTITIONS


def test_a_rebalancing_group_an_error_or_an_undecodable_assignment_allow_no_conclusion():
    assert unowned({"error": None, "group_state": "PreparingRebalance", "members": []}, PARTITIONS) is None
    assert unowned({"error": None, "group_state": "CompletingRebalance", "members": []}, PARTITIONS) is None
    assert unowned({"error": "CoordinatorNotAvailableError", "group_state": "", "members": []}, PARTITIONS) is None
    assert unowned({}, PARTITIONS) is None
    undecodable = {"error": None, "group_state": "Stable", "members": [{"member_assignment": b"\x00\x01"}]}
    assert unowned(undecodable, PARTITIONS) is None
