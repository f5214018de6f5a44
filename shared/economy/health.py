"""Economy health (SPEC §5, issue 15): the figures staff dashboards and the rules simulator show. Pure.

Every input is whole points, whole fen or counts; every ratio is a `Decimal` percent rounded half-even to two
places (`PERCENT`), so a figure is the same on every machine. README.md of this package gives the formulas with
worked examples (each a unit test).

- `coverage(outstanding, point_value_fen, budget_fen, warn_below)`: the points outstanding valued in fen (the
  liability) against the sponsor budget; a warning when the budget covers less than `warn_below` % of it;
- `top_share(balances, percent=10)`: the share of the points held by the top `percent` % of earners;
- `gini(values)`: the Gini coefficient of the points held (0 = all equal, → 1 = one holds everything);
- `expiry_forecast(lots, today)`: points expiring within the next 30 / 90 days (the `Wallet` rule);
- `monthly_flows(movements)`: points issued / redeemed / expired / penalised per month and outstanding after;
- `participation(members, active)`: participation rate per grid and month.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Iterable

from shared.economy.wallet import Lot, Wallet

PERCENT = Decimal("0.01")
FORECAST_DAYS = (30, 90)
FLOW_KINDS = ("issued", "redeemed", "expired", "penalised")
DEFAULT_WARN_BELOW_PERCENT = 100


def as_percent(part: int | Fraction, whole: int) -> Decimal:
    """part / whole × 100, half-even to 0.01 (an exact fraction first, so no float ever enters)."""
    exact = Fraction(part) * 100 / whole
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(PERCENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Coverage:
    """Outstanding points as a liability in fen, against the sponsor budget."""

    outstanding_points: int
    liability_fen: int
    budget_fen: int
    ratio_percent: Decimal | None      # budget / liability × 100; None when nothing is outstanding
    warn_below_percent: int
    warning: bool

    def to_dict(self) -> dict:
        return {"outstanding_points": self.outstanding_points, "liability_fen": self.liability_fen,
                "budget_fen": self.budget_fen,
                "ratio_percent": None if self.ratio_percent is None else str(self.ratio_percent),
                "warn_below_percent": self.warn_below_percent, "warning": self.warning}


def coverage(outstanding_points: int, point_value_fen: int, budget_fen: int,
             warn_below_percent: int = DEFAULT_WARN_BELOW_PERCENT) -> Coverage:
    """liability = outstanding × point value (fen, exact); ratio = budget / liability × 100; a warning when the
    ratio is below `warn_below_percent` (the budget could not pay for every outstanding point being redeemed)."""
    liability = outstanding_points * point_value_fen
    if liability <= 0:
        return Coverage(outstanding_points, liability, budget_fen, None, warn_below_percent, False)
    ratio = as_percent(budget_fen, liability)
    return Coverage(outstanding_points, liability, budget_fen, ratio, warn_below_percent,
                    ratio < warn_below_percent)


def top_share(balances: Iterable[int], percent: int = 10) -> Decimal | None:
    """The share (%) of all points held by the top `percent` % of `balances` (the members counted, ranked by
    points held; the group's size is rounded up, at least one member). None when nothing is held."""
    ranked = sorted(balances, reverse=True)
    total = sum(ranked)
    if not ranked or total <= 0:
        return None
    top = -(-len(ranked) * percent // 100) or 1
    return as_percent(sum(ranked[:top]), total)


def gini(values: Iterable[int]) -> Decimal | None:
    """The Gini coefficient of `values` (sorted ascending, i = 1…n):
    G = Σ (2i − n − 1) · xᵢ / (n · Σ x), exact, then half-even to 4 places. None when the sum is 0."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if not n or total <= 0:
        return None
    weighted = sum((2 * i - n - 1) * x for i, x in enumerate(ordered, start=1))
    exact = Fraction(weighted, n * total)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.0001"),
                                                                            rounding=ROUND_HALF_EVEN)


def expiry_forecast(lots: Iterable[Lot], today, days: tuple[int, ...] = FORECAST_DAYS) -> dict[int, int]:
    """{days: points whose lots expire after today and at most `days` days from now} (the `Wallet.expiring`
    rule, over every member's lots)."""
    wallet = Wallet(tuple(lots))
    return {d: wallet.expiring(today, d) for d in days}


def month_of(day) -> str:
    """'YYYY-MM' of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def monthly_flows(movements: Iterable[tuple[str, str, int]], months: Iterable[str] = (),
                  opening: int = 0) -> list[dict]:
    """Per month (oldest first): points issued, redeemed, expired, penalised, and outstanding at the month's end
    = outstanding before + issued − redeemed − expired − penalised. `movements` are (month 'YYYY-MM', kind, points
    > 0); `months` lists months to show even without movements; `opening` is what was outstanding before."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOW_KINDS, 0))
    for month in months:
        sums[month]  # noqa: B018 (a month shown with zeros)
    for month, kind, points in movements:
        if kind not in FLOW_KINDS:
            raise ValueError(f"unknown flow {kind!r}")
        sums[month][kind] += points
    rows, outstanding = [], opening
    for month in sorted(sums):
        flow = sums[month]
        outstanding += flow["issued"] - flow["redeemed"] - flow["expired"] - flow["penalised"]
        rows.append({"month": month, **flow, "outstanding": outstanding})
    return rows


def participation(members: dict[str, int], active: dict[tuple[str, str], int]) -> list[dict]:
    """Participation rate per grid and month: members who took part that month / the grid's members × 100.
    `members` is {grid: members}; `active` is {(grid, 'YYYY-MM'): members who took part}. A grid with no
    members has no rate (None)."""
    rows = []
    for grid, month in sorted(active):
        count, size = active[(grid, month)], members.get(grid, 0)
        rows.append({"grid": grid, "month": month, "members": size, "active": count,
                     "rate_percent": str(as_percent(count, size)) if size else None})
    return rows
