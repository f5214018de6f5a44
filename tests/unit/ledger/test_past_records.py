"""The rules of a past points record and the CSV edge of the import (services/ledger/history.py), pure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Unprocessable
from services.ledger.history import PastRecord, check_record, chunks, parse_rows

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)


def record(**changes) -> PastRecord:
    return PastRecord(**{"source_id": "s1", "member_id": "ann", "kind": "award", "points": 10,
                         "at": NOW - timedelta(days=40), **changes})


def test_a_past_record_within_five_years_passes():
    check_record(record(), NOW)
    check_record(record(kind="deduction", at=NOW - timedelta(days=5 * 365)), NOW)


@pytest.mark.parametrize("changes, code", [
    ({"source_id": ""}, "bad_source_id"), ({"kind": "gift"}, "bad_kind"), ({"points": 0}, "bad_amount"),
    ({"points": True}, "bad_amount"), ({"points": 100_001}, "bad_amount"),
    ({"at": datetime(2026, 1, 1)}, "bad_time"), ({"at": NOW + timedelta(seconds=1)}, "future_record"),
    ({"at": NOW - timedelta(days=5 * 366 + 1)}, "record_too_old")])
def test_a_record_the_rules_refuse_says_why(changes, code):
    with pytest.raises(Unprocessable) as refused:
        check_record(record(**changes), NOW)
    assert refused.value.code == code


def test_rows_parse_to_records_and_bad_rows_are_reported_with_their_number():
    rows = [{"source_id": " a ", "member_id": "ann", "kind": "award", "points": "30",
             "at": "2026-07-10T12:00:00+08:00", "memo": ""},
            {"source_id": "b", "member_id": "bob", "kind": "award", "points": "x", "at": "2026-07-10", "memo": "m"},
            {"source_id": "c", "member_id": "bob", "kind": "award", "points": "3", "at": "yesterday"}]
    records, errors = parse_rows(rows)
    assert records == [PastRecord("a", "ann", "award", 30,
                                  datetime(2026, 7, 10, 12, tzinfo=timezone(timedelta(hours=8))), None)]
    assert [e["row"] for e in errors] == [3, 4]


def test_chunks_are_in_time_order():
    late, early, middle = (record(source_id=s, at=NOW - timedelta(days=d)) for s, d in (("l", 1), ("e", 9), ("m", 5)))
    assert [[r.source_id for r in c] for c in chunks([late, early, middle], 2)] == [["e", "m"], ["l"]]


def test_the_cli_refuses_a_file_with_unreadable_rows_before_touching_the_ledger(tmp_path, capsys):
    from services.ledger import cli
    path = tmp_path / "past.csv"
    path.write_text("source_id,member_id,kind,points,at,memo\n"
                    "a,ann,award,30,2026-07-10T12:00:00+08:00,\n"
                    "b,bob,award,thirty,2026-07-10T12:00:00+08:00,\n", encoding="utf-8")
    assert cli.main(["import-points", str(path), "--community", "c_x"]) == 1
    out = capsys.readouterr()
    assert '"row": 3' in out.out and "nothing was imported" in out.err
