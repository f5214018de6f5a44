"""Economy health figures on hand-worked examples (the arithmetic is in the comments)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.economy.health import coverage, expiry_forecast, gini, monthly_flows, participation, top_share
from shared.economy.wallet import Lot


def test_coverage_ratio_and_warning():
    # 12,000 points × 10 fen = 120,000 fen owed; a budget of 100,000 fen covers 100,000/120,000 = 83.333…% → 83.33
    short = coverage(12_000, 10, 100_000)
    assert (short.liability_fen, short.ratio_percent, short.warning) == (120_000, Decimal("83.33"), True)
    # 5,000 × 10 = 50,000 fen; 100,000 / 50,000 = 200.00 %, above the 100 % threshold
    ample = coverage(5_000, 10, 100_000)
    assert (ample.liability_fen, ample.ratio_percent, ample.warning) == (50_000, Decimal("200.00"), False)
    # with a stricter threshold (warn below 250 %) the same community is warned
    assert coverage(5_000, 10, 100_000, warn_below_percent=250).warning is True
    # nothing outstanding: no ratio, no warning
    none = coverage(0, 10, 100_000)
    assert (none.ratio_percent, none.warning) == (None, False)
    assert short.to_dict() == {"outstanding_points": 12_000, "liability_fen": 120_000, "budget_fen": 100_000,
                               "ratio_percent": "83.33", "warn_below_percent": 100, "warning": True}


def test_share_of_the_top_ten_percent():
    # ten earners, the top one (10 % of 10) holds 50 of 200 → 25.00 %
    assert top_share([10, 50, 40, 30, 20, 10, 10, 10, 10, 10]) == Decimal("25.00")
    # eleven earners: the top group is ⌈1.1⌉ = 2 members holding 30 + 20 = 50 of 140 → 35.714… → 35.71 %
    assert top_share([30, 20] + [10] * 9) == Decimal("35.71")
    # one member holds everything
    assert top_share([0] * 9 + [100]) == Decimal("100.00")
    assert top_share([]) is None and top_share([0, 0]) is None


def test_gini():
    assert gini([5, 5, 5, 5]) == Decimal("0.0000")
    # [0,0,0,10]: Σ(2i−n−1)xᵢ = (8−5)·10 = 30; n·Σx = 4·10 = 40 → 0.75
    assert gini([10, 0, 0, 0]) == Decimal("0.7500")
    # [1,2,3,4]: −3·1 −1·2 +1·3 +3·4 = 10; 4·10 = 40 → 0.25
    assert gini([4, 3, 2, 1]) == Decimal("0.2500")
    # [1,2]: (−1·1 + 1·2) / (2·3) = 1/6 = 0.16666… → 0.1667
    assert gini([1, 2]) == Decimal("0.1667")
    assert gini([]) is None


def test_expiry_forecast_over_every_members_lots():
    today = date(2026, 11, 29)

    def lot(days: int, points: int) -> Lot:
        return Lot(f"l{days}", today - timedelta(days=300), today + timedelta(days=days), points, points)
    lots = [lot(0, 19), lot(10, 5), lot(30, 7), lot(31, 11), lot(90, 13), lot(91, 17)]
    # expiring today has already gone (19 not counted); ≤ 30 days: 5 + 7 = 12; ≤ 90 days: 12 + 11 + 13 = 36
    assert expiry_forecast(lots, today) == {30: 12, 90: 36}


def test_monthly_flows_and_outstanding():
    rows = monthly_flows([("2026-01", "issued", 100), ("2026-01", "redeemed", 30), ("2026-02", "expired", 20),
                          ("2026-02", "issued", 50), ("2026-02", "penalised", 10)], months=["2026-03"], opening=5)
    # Jan: 5 + 100 − 30 = 75; Feb: 75 + 50 − 20 − 10 = 95; Mar: nothing moves, 95
    assert [(r["month"], r["issued"], r["redeemed"], r["expired"], r["penalised"], r["outstanding"])
            for r in rows] == [("2026-01", 100, 30, 0, 0, 75), ("2026-02", 50, 0, 20, 10, 95),
                               ("2026-03", 0, 0, 0, 0, 95)]
    with pytest.raises(ValueError):
        monthly_flows([("2026-01", "stolen", 1)])


def test_participation_per_grid_and_month():
    rows = participation({"A": 300, "B": 0}, {("A", "2026-01"): 30, ("A", "2026-02"): 45, ("B", "2026-01"): 0})
    # 30/300 = 10.00 %, 45/300 = 15.00 %; a grid without members has no rate
    assert [(r["grid"], r["month"], r["rate_percent"]) for r in rows] == [
        ("A", "2026-01", "10.00"), ("A", "2026-02", "15.00"), ("B", "2026-01", None)]
