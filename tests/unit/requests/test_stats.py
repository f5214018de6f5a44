"""The pure part of the requests statistics: months in a time zone, ranges, percentiles, summaries."""
from datetime import datetime, timezone

import pytest

from shared.errors import Unprocessable
from services.requests import stats


def test_month_is_the_communitys():
    at = datetime(2026, 1, 31, 16, 30, tzinfo=timezone.utc)
    assert stats.month_of(at, "Asia/Shanghai") == "2026-02"
    assert stats.month_of(at, "UTC") == "2026-01"
    assert stats.month_of(at, "Not/AZone") == "2026-02"  # an unknown zone falls back to the default


def test_months_between_crosses_years_and_refuses_reversed_or_long_ranges():
    assert stats.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert stats.months_between("2026-05", "2026-05") == ["2026-05"]
    for first, last in (("2026-03", "2026-02"), ("2020-01", "2026-01")):
        with pytest.raises(Unprocessable) as err:
            stats.months_between(first, last)
        assert err.value.code == "bad_month_range"


def test_nearest_rank_percentiles():
    assert stats.percentile({}, 0.5) is None
    assert stats.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2
    assert stats.percentile({10: 1, 30: 1}, 0.9) == 30
    assert stats.percentile({5: 9, 60: 1}, 0.9) == 5
    assert stats.percentile({5: 8, 60: 2}, 0.9) == 60


def test_summary_by_pair_category_and_month():
    cells = [{"month": "2026-02", "category": "errands", "posted": 2, "accepted": 1, "wait": {"10": 1}},
             {"month": "2026-02", "category": "errands", "posted": 1, "accepted": 1, "completed": 1, "wait": {"40": 1}},
             {"month": "2026-03", "category": "repairs", "posted": 1}]
    out = stats.summarise(cells, ["2026-02", "2026-03"])
    assert out["months"] == [
        {"month": "2026-02", "category": "errands", "posted": 3, "accepted": 2, "completed": 1,
         "accept_median_minutes": 10, "accept_p90_minutes": 40},
        {"month": "2026-03", "category": "repairs", "posted": 1, "accepted": 0, "completed": 0,
         "accept_median_minutes": None, "accept_p90_minutes": None}]
    assert [c["category"] for c in out["categories"]] == ["errands", "repairs"]
    assert [t["posted"] for t in out["totals"]] == [3, 1]


def test_waits_are_kept_to_the_minute_then_to_five_minutes_then_to_the_hour():
    assert [stats.wait_bucket(m) for m in (0, 7, 119, 120, 124, 125, 1439, 1440, 1499, 1500)] == \
        [0, 7, 119, 120, 120, 125, 1435, 1440, 1440, 1500]
