"""How the scheduler splits the members due for expiry into bounded transactions (`scheduler._groups`)."""
from services.ledger.scheduler import _groups


def test_groups_hold_at_most_the_members_and_about_the_lots_given():
    counted = [("a", 3), ("b", 3), ("c", 3), ("d", 1), ("e", 1), ("f", 1)]
    # 3 + 3 = 6 <= 7 lots, + 3 = 9 > 7: c starts a group; c, d, e hold 5 lots but 3 members is the most.
    assert list(_groups(counted, members=3, lots=7)) == [["a", "b"], ["c", "d", "e"], ["f"]]


def test_a_member_with_more_lots_than_a_group_holds_goes_alone_and_nobody_is_dropped():
    counted = [("a", 1), ("b", 50), ("c", 1)]
    assert list(_groups(counted, members=200, lots=10)) == [["a"], ["b"], ["c"]]
    assert list(_groups([], members=200, lots=10)) == []
