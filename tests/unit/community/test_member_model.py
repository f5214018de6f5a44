"""The community domain without infrastructure: secrets, roles and the login lock-out."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Forbidden, Unprocessable
from services.community.model import MAX_FAILED_LOGINS, Member, check_roles, hash_secret

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


def member(secret="246810"):
    return Member("m_1", "c_1", "Li", "13800000000", hash_secret(secret), ["resident"])


def test_short_pins_and_passwords_are_refused():
    with pytest.raises(Unprocessable):
        hash_secret("12345")
    with pytest.raises(Unprocessable):
        hash_secret("abc1234")
    assert hash_secret("123456").startswith("scrypt:")


def test_right_secret_logs_in_and_resets_failures():
    m = member()
    assert not m.login("000000", NOW)
    assert m.failed_logins == 1
    assert m.login("246810", NOW)
    assert m.failed_logins == 0


def test_repeated_failures_lock_the_member_out_for_a_while():
    m = member()
    for _ in range(MAX_FAILED_LOGINS):
        assert not m.login("000000", NOW)
    with pytest.raises(Forbidden) as locked:
        m.login("246810", NOW + timedelta(minutes=1))
    assert locked.value.code == "locked_out"
    assert m.login("246810", NOW + timedelta(minutes=16))


def test_inactive_members_cannot_log_in():
    m = member()
    m.status = "inactive"
    with pytest.raises(Forbidden):
        m.login("246810", NOW)


def test_roles_are_checked_and_residents_keep_the_resident_role():
    assert check_roles(["organizer"], None) == ["organizer", "resident"]
    with pytest.raises(Unprocessable):
        check_roles(["king"], None)
    with pytest.raises(Unprocessable):
        check_roles(["merchant"], None)
    assert check_roles(["merchant"], "shop_1") == ["merchant"]


def test_public_facts_carry_no_name_or_phone():
    facts = member().public_facts()
    assert "phone" not in facts and "display_name" not in facts and "secret_hash" not in facts
    assert facts["member_id"] == "m_1"


def test_the_name_reaches_the_boards_only_when_the_member_opted_in():
    m = member()
    assert m.public_facts()["board_name"] is None
    m.show_name_on_boards = True
    assert m.public_facts()["board_name"] == m.display_name
