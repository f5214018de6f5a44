"""Public handles: derived from the member id at join, or chosen; never a phone number."""
import pytest

from shared.errors import Unprocessable
from services.community.model import Member, derive_handle, normalize_handle


def test_derived_handles_are_stable_short_and_not_digits_only():
    assert derive_handle("m_0123456789abcdef") == derive_handle("m_0123456789abcdef")
    handles = {derive_handle(f"m_{i:016x}") for i in range(5000)}
    assert len(handles) == 5000
    assert all(len(h) == 10 and h.startswith("nb") and normalize_handle(h, f"m_{i:016x}") == h
               for i, h in enumerate(derive_handle(f"m_{i:016x}") for i in range(5000)))


def test_a_member_without_a_stored_handle_gets_the_derived_one():
    m = Member("m_1", "c_1", "李阿姨", "13900000002", "x", ["resident"])
    assert m.handle == derive_handle("m_1")
    assert Member("m_1", "c_1", "李阿姨", "13900000002", "x", ["resident"], handle="lee").handle == "lee"


@pytest.mark.parametrize("raw, expected", [("LiAyi", "liayi"), (" wang_88 ", "wang_88"), ("a1b", "a1b")])
def test_chosen_handles_are_lower_cased(raw, expected):
    assert normalize_handle(raw, "m_1") == expected


@pytest.mark.parametrize("raw", ["13900000002", "123", "ab", "王阿姨", "a-b-c", "x" * 21, "a b c", "+8613900000002"])
def test_phone_numbers_and_odd_handles_are_refused(raw):
    with pytest.raises(Unprocessable) as err:
        normalize_handle(raw, "m_1")
    assert err.value.code == "bad_handle"


def test_nobody_takes_the_form_of_derived_handles_but_their_owner():
    theirs = derive_handle("m_2")
    with pytest.raises(Unprocessable):
        normalize_handle(theirs, "m_1")
    assert normalize_handle(theirs.upper(), "m_2") == theirs
    assert normalize_handle("nbalice", "m_1") == "nbalice"
