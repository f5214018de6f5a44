"""The ledger's per-member history summary → shared.economy.History, and how an award counts into it (pure
parts of services/ledger/economy.py; the rules themselves are tested in tests/unit/economy)."""
from __future__ import annotations

from datetime import date
from types import MappingProxyType

from shared.economy import DEFAULT_RULES, Activity, compute, from_document
from services.ledger.economy import _counted, history, record
from services.ledger.lots import EMPTY_SUMMARY


def _summary(**values):
    return MappingProxyType({**EMPTY_SUMMARY, **values})


def test_a_first_award_starts_from_nothing():
    h = history(_summary(), date(2026, 3, 1), DEFAULT_RULES)
    assert (h.participations, h.streak, h.earned_today, h.earned_this_year) == (0, 0, 0, 0)


def test_today_and_this_year_count_only_on_the_same_day_and_year():
    s = _summary(participations=4, streak=4, last_day="2026-03-01", day="2026-03-01", earned_today=70,
                 year=2026, earned_this_year=990)
    same_day = history(s, date(2026, 3, 1), DEFAULT_RULES)
    assert (same_day.earned_today, same_day.earned_this_year, same_day.streak) == (70, 990, 4)
    next_day = history(s, date(2026, 3, 2), DEFAULT_RULES)
    assert (next_day.earned_today, next_day.earned_this_year) == (0, 990)
    new_year = history(s, date(2027, 1, 2), DEFAULT_RULES)
    assert (new_year.earned_today, new_year.earned_this_year) == (0, 0)


def test_a_gap_longer_than_the_rules_allow_breaks_the_streak():
    s = _summary(participations=9, streak=9, last_day="2026-03-01")
    assert history(s, date(2026, 4, 1), DEFAULT_RULES).streak == 9    # 31 days: still in a row
    assert history(s, date(2026, 4, 2), DEFAULT_RULES).streak == 0    # 32 days: broken


def test_the_tenth_in_a_row_gets_the_streak_bonus_from_the_summary():
    s = _summary(participations=9, streak=9, last_day="2026-03-01")
    award = compute(DEFAULT_RULES, history(s, date(2026, 3, 20), DEFAULT_RULES), Activity("environment_cleanup"))
    assert award.amount == 30  # 20 + every 10 in a row +10


def test_the_daily_cap_sees_what_the_summary_counted_today():
    rules = from_document({"caps": {"per_activity": None, "per_day": 100, "per_year": 1000}}, 3)
    s = _summary(participations=5, streak=0, last_day="2026-03-01", day="2026-03-01", earned_today=70, year=2026,
                 earned_this_year=70)
    award = compute(rules, history(s, date(2026, 3, 1), rules), Activity("safety_patrol", bonuses=("major_hazard",)))
    stored = record(award, date(2026, 3, 1))
    # 50 + 30 = 80, only 30 left of 100 today: 50 cut.
    assert stored["amount"] == 30 and stored["rule_version"] == 3 and stored["activity_day"] == "2026-03-01"
    assert stored["cuts"] == [{"code": "cap_per_day", "points": -50, "cap": 100, "earned_before": 70, "before": 80}]
    assert stored["explanation"]["zh-CN"][-1] == "每日上限 100 分（今日已得 70），扣减 50"


def test_an_award_counts_into_the_day_and_year_unless_it_is_dated_before_them():
    s = _summary(day="2026-03-05", earned_today=40, year=2026, earned_this_year=300)
    assert _counted(s, date(2026, 3, 5), 60, 320) == {"day": "2026-03-05", "earned_today": 60, "year": 2026,
                                                      "earned_this_year": 320}
    assert _counted(s, date(2026, 3, 4), 20, 320) == {"year": 2026, "earned_this_year": 320}  # an older day
    assert _counted(s, date(2025, 12, 31), 20, 20) == {}  # last year's activity changes neither
