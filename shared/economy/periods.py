"""Calendar facts the economy counts by: a community's local day, and the period (ISO week or month) of a
standing duty. Pure."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Shanghai"


def zone_day(timezone_name: str | None, at: datetime) -> date:
    """The calendar day at `at` in a time zone (Asia/Shanghai when none or an unknown one is given)."""
    try:
        zone = ZoneInfo(timezone_name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_TZ)
    return at.astimezone(zone).date()


def period_of(period: str, day: date) -> str:
    """The period a day falls in: an ISO week (`2026-W48`) for weekly duties, else a month (`2026-11`)."""
    if period == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"
