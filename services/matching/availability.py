"""Weekly availability (weekday + HH:MM slots) against a request's time window, in the community's time zone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
DAY_MINUTES = 24 * 60
WEEK = timedelta(days=7)

Slot = tuple[int, int, int]  # (weekday Mon=0, start minute, end minute) with start < end
WindowByDay = dict[int, tuple[tuple[int, int], ...]]


def hhmm_to_minutes(text: str) -> int:
    """'07:30' -> 450; '24:00' is accepted as the end of the day."""
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= DAY_MINUTES or not 0 <= int(minutes) < 60:
        raise ValueError(f"not a time of day: {text!r}")
    return value


def parse_slots(availability: list[dict] | None) -> tuple[Slot, ...]:
    """Declared availability [{day, start, end}] as minute slots; malformed slots are skipped (lenient reader)."""
    slots = []
    for item in availability or ():
        try:
            day, start, end = int(item["day"]), hhmm_to_minutes(item["start"]), hhmm_to_minutes(item["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= day <= 6 and start < end:
            slots.append((day, start, end))
    # Overlapping declared slots must not count the same minutes twice.
    by_day: dict[int, list[tuple[int, int]]] = {}
    for day, start, end in slots:
        by_day.setdefault(day, []).append((start, end))
    return tuple((day, lo, hi) for day in sorted(by_day) for lo, hi in _merge(by_day[day]))


@lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """The named time zone; UTC+8 (the seeds' communities) when the name is unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8))


def window_by_day(start: datetime, end: datetime, tz: tzinfo) -> WindowByDay:
    """The window as local-time minute ranges per weekday (at most one week: a week covers every slot)."""
    if end <= start:
        return {}
    local_start = start.astimezone(tz)
    local_end = min(end, start + WEEK).astimezone(tz)
    ranges: dict[int, list[tuple[int, int]]] = {}
    cursor = local_start
    while cursor < local_end:
        midnight = datetime(cursor.year, cursor.month, cursor.day, tzinfo=tz)
        next_midnight = (midnight + timedelta(days=1)).replace(tzinfo=tz)
        piece_end = min(local_end, next_midnight)
        lo = cursor.hour * 60 + cursor.minute
        hi = DAY_MINUTES if piece_end == next_midnight else piece_end.hour * 60 + piece_end.minute
        if hi > lo:
            ranges.setdefault(cursor.weekday(), []).append((lo, hi))
        cursor = piece_end
    return {day: tuple(_merge(r)) for day, r in ranges.items()}


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def overlap_minutes(slots: tuple[Slot, ...], window: WindowByDay) -> int:
    """Minutes of the window that the weekly slots cover."""
    total = 0
    for day, start, end in slots:
        for lo, hi in window.get(day, ()):
            if end > lo and start < hi:
                total += min(end, hi) - max(start, lo)
    return total
