"""Requests statistics for the staff dashboards (SPEC §5 economy health, §9): per month and category, how many
requests were posted, accepted and completed, and how long a request waited for its helper (time-to-accept,
median and p90 in minutes).

Pure Python: the month a moment falls in (in the community's time zone), the percentiles of a histogram, and
the summary of stored cells. The read model itself (`repository.StatsRepository`) is one cell per community,
month, grid and category, and one per community, month and category, changed as the service's own events
arrive (`handlers.on_request_news`); a request is remembered once, so a redelivered or repeated event counts
once, and reading a year of statistics reads at most months x categories cells (one grid's, or the
community's), never the requests."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import Unprocessable

MONTH_PATTERN = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$"  # a month of a time bank: 1970-01 to 2999-12
MONTH = re.compile(MONTH_PATTERN)
MAX_MONTHS = 36  # a dashboard shows at most three years
DEFAULT_TIMEZONE = "Asia/Shanghai"
NO_GRID = "-"  # the cell key of requests posted for the whole community
GRID, COMMUNITY = "grid", "community"  # the levels of the read model's cells
COUNTS = ("posted", "accepted", "completed")


def month_of(at: datetime, timezone: str | None) -> str:
    """The month (YYYY-MM) `at` falls in, in the community's time zone."""
    try:
        tz = ZoneInfo(timezone or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_TIMEZONE)
    return at.astimezone(tz).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` inclusive; 422 `bad_month_range` if reversed or too long."""
    (y1, m1), (y2, m2) = (map(int, MONTH.match(m).groups()) for m in (first, last))
    count = (y2 - y1) * 12 + (m2 - m1) + 1
    if count < 1:
        raise Unprocessable("结束月份早于开始月份。 The range ends before it starts.", code="bad_month_range")
    if count > MAX_MONTHS:
        raise Unprocessable(f"最多查看 {MAX_MONTHS} 个月。 At most {MAX_MONTHS} months at a time.",
                            code="bad_month_range")
    first_index = y1 * 12 + m1 - 1
    return [f"{(first_index + i) // 12:04d}-{(first_index + i) % 12 + 1:02d}" for i in range(count)]


def minutes_between(earlier: datetime, later: datetime) -> int:
    """Whole minutes from `earlier` to `later` (never negative), rounded down."""
    return max(int((later - earlier).total_seconds() // 60), 0)


def wait_bucket(minutes: int) -> int:
    """The histogram step a wait is kept in: to the minute up to two hours, to 5 minutes up to a day, to the hour
    beyond (a cell's histogram stays a few hundred entries however many requests it counts, so a year reads fast;
    a median or p90 is the lower end of its step)."""
    if minutes < 120:
        return minutes
    return minutes - minutes % 5 if minutes < 1440 else minutes - minutes % 60


def percentile(histogram: dict, share: float) -> int | None:
    """The nearest-rank percentile of a histogram {minutes: count} (minutes as numbers or their strings): the
    smallest value with at least ceil(share x n) of the n observations at or below it (the median of 1, 2, 3, 4
    is 2). None when empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank, seen = max(math.ceil(share * total), 1), 0
    for value in sorted(histogram, key=int):
        seen += histogram[value]
        if seen >= rank:
            return int(value)
    return None  # unreachable: the last value reaches the total


@dataclass
class Tally:
    """What a set of cells adds up to."""

    posted: int = 0
    accepted: int = 0
    completed: int = 0
    waits: Counter = field(default_factory=Counter)

    def add(self, cell: dict) -> None:
        """Add a cell (its histogram as stored: minutes as strings, turned to numbers only to rank them)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + cell.get(name, 0))
        self.waits.update(cell.get("wait") or {})  # dict.update in C while empty: one cell per pair at either level

    def figures(self) -> dict:
        return {"posted": self.posted, "accepted": self.accepted, "completed": self.completed,
                "accept_median_minutes": percentile(self.waits, 0.5),
                "accept_p90_minutes": percentile(self.waits, 0.9)}


def summarise(cells, months: list[str]) -> dict:
    """Rows per month and category (months in order, categories by name; only pairs with something in them),
    totals per category over the range and per month over every category."""
    by_pair: dict[tuple[str, str], Tally] = {}
    by_category: dict[str, Tally] = {}
    by_month: dict[str, Tally] = {m: Tally() for m in months}
    for cell in cells:
        for key, table in (((cell["month"], cell["category"]), by_pair), (cell["category"], by_category),
                           (cell["month"], by_month)):
            table.setdefault(key, Tally()).add(cell)
    return {"months": [{"month": m, "category": c, **by_pair[(m, c)].figures()} for m, c in sorted(by_pair)],
            "categories": [{"category": c, **by_category[c].figures()} for c in sorted(by_category)],
            "totals": [{"month": m, **by_month[m].figures()} for m in months]}


def cells(community_id: str, month: str, grid_id: str | None, category: str) -> list[dict]:
    """The read model's cells a fact counts in: its grid's (level "grid") and the whole community's."""
    key = f"{community_id}|{month}|{category}"
    return [{"_id": f"{key}|grid|{grid_id or NO_GRID}", "level": GRID, "community_id": community_id, "month": month,
             "grid_id": grid_id, "category": category},
            {"_id": f"{key}|community", "level": COMMUNITY, "community_id": community_id, "month": month,
             "category": category}]
