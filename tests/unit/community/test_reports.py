"""The grid-work model (services/community/reports.py): photos checked by content, who decides a report, once."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import Conflict, Forbidden, Unprocessable
from services.community.reports import (PHOTO_MAX_BYTES, DutyAssignment, GridReport, PayloadTooLarge, Staff,
                                        check_verifiable, photo_type)

NOW = datetime(2026, 11, 29, 8, tzinfo=timezone.utc)
REPORT = GridReport("rp_1", "c_1", "g_1", "m_li", "hazard_report", "井盖松动", "1 栋", "f1", "image/png", 10, True, NOW)
ZHANG = Staff("m_zhang", ("resident", "grid_worker"), "g_1")
CHEN = Staff("m_chen", ("resident", "grid_worker"), "g_2")
ADMIN = Staff("m_admin", ("admin", "resident"), None)


@pytest.mark.parametrize("head, media_type", [
    (b"\xff\xd8\xff\xe0", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")])
def test_photos_are_known_by_their_magic_bytes(head, media_type):
    assert photo_type(head + b"\x00" * 32) == media_type


@pytest.mark.parametrize("data, code", [
    (b"GIF89a" + b"\x00" * 10, "photo_type_not_allowed"), (b"<svg/>", "photo_type_not_allowed"),
    (b"RIFF\x00\x00\x00\x00WAVE", "photo_type_not_allowed"), (b"", "photo_missing")])
def test_anything_else_is_refused(data, code):
    with pytest.raises(Unprocessable) as refused:
        photo_type(data)
    assert refused.value.code == code


def test_a_photo_of_5_mb_passes_and_one_byte_more_does_not():
    assert photo_type(b"\xff\xd8\xff" + b"\x00" * (PHOTO_MAX_BYTES - 3)) == "image/jpeg"
    with pytest.raises(PayloadTooLarge) as refused:
        photo_type(b"\xff\xd8\xff" + b"\x00" * (PHOTO_MAX_BYTES - 2))
    assert refused.value.status == 413 and refused.value.code == "photo_too_large"


def test_the_grid_worker_of_its_grid_or_an_admin_decides_once_never_the_reporter():
    verified = REPORT.verify(ZHANG, True, NOW)
    assert (verified.status, verified.major_hazard, verified.decided_by) == ("verified", True, "m_zhang")
    assert verified.event_facts()["member_id"] == "m_li" and "text" not in verified.event_facts()
    with pytest.raises(Conflict):
        verified.dismiss(ADMIN, "重复", NOW)
    with pytest.raises(Forbidden) as other_grid:
        REPORT.verify(CHEN, False, NOW)
    assert other_grid.value.code == "not_your_grid"
    with pytest.raises(Forbidden) as resident:
        REPORT.verify(Staff("m_bob", ("resident",), "g_1"), False, NOW)
    assert resident.value.code == "role_required"
    with pytest.raises(Forbidden) as own:
        REPORT.verify(Staff("m_li", ("resident", "grid_worker"), "g_1"), False, NOW)
    assert own.value.code == "own_report"
    dismissed = REPORT.dismiss(ADMIN, "已处理", NOW)
    assert (dismissed.status, dismissed.reason) == ("dismissed", "已处理")


def test_who_reads_a_report():
    assert REPORT.readable_by(Staff("m_li", ("resident",), "g_1"))
    assert REPORT.readable_by(ZHANG) and REPORT.readable_by(ADMIN)
    assert not REPORT.readable_by(CHEN) and not REPORT.readable_by(Staff("m_bob", ("resident",), "g_1"))


def test_who_verifies_a_duty():
    duty = DutyAssignment("dt_1", "c_1", "m_li", "doorstep_duty", "g_1", "m_admin", NOW)
    check_verifiable(duty, ZHANG)
    with pytest.raises(Forbidden):
        check_verifiable(duty, CHEN)
    with pytest.raises(Forbidden) as own:
        check_verifiable(DutyAssignment("dt_2", "c_1", "m_zhang", "doorstep_duty", "g_1", "m_admin", NOW), ZHANG)
    assert own.value.code == "own_duty"
    with pytest.raises(Conflict):
        check_verifiable(DutyAssignment("dt_3", "c_1", "m_li", "doorstep_duty", "g_1", "m_admin", NOW, False), ZHANG)


def test_a_photo_is_an_orphan_once_no_report_names_it_and_its_hour_of_grace_is_over():
    from datetime import timedelta

    from services.community.reports import orphan_photos
    uploaded = {"old": NOW - timedelta(hours=1), "older_named": NOW - timedelta(days=3),
                "fresh": NOW - timedelta(minutes=59, seconds=59), "old_named": NOW - timedelta(hours=2)}
    assert orphan_photos(uploaded, {"older_named", "old_named"}, NOW) == ["old"]   # exactly 1 h: an orphan
    assert sorted(orphan_photos(uploaded, set(), NOW + timedelta(hours=1))) == sorted(uploaded)
