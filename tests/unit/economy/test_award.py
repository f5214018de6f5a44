"""The award computation (shared.economy.award): every rule and their interactions, with the numbers worked by
hand in the test names and comments. Order: base, situational bonuses, newcomer ×, rating, per-activity cap,
one-off bonuses, daily cap, yearly cap."""
from __future__ import annotations

import pytest

from shared.economy import (HELD, PAYABLE, Activity, History, compute, explain, from_document, next_streak,
                            words)
from shared.economy.rules import default_document
from shared.errors import Unprocessable

VETERAN = History(participations=20, streak=4)  # no newcomer boost, no first-participation bonus, no streak bonus


def rules(**changes):
    doc = default_document()
    for key, value in changes.items():
        doc[key] = {**doc[key], **value} if isinstance(doc[key], dict) and isinstance(value, dict) else value
    return from_document(doc, version=3)


def codes(award):
    return [(i.code, i.points) for i in award.items]


def test_base_points_of_an_activity_type_20_for_a_cleanup():
    award = compute(rules(), VETERAN, Activity("environment_cleanup", minutes=90))
    assert (award.amount, award.status, award.rule_version) == (20, PAYABLE, 3)
    assert codes(award) == [("base_activity", 20)]


@pytest.mark.parametrize("service_class, minutes, expected", [
    ("ordinary", 90, 15),       # 10/h × 1 × 1.5 h = 15
    ("professional", 90, 30),   # 10/h × 2 × 1.5 h = 30
    ("high_risk", 45, 22),      # 10 × 3 × 0.75 = 22.5 → 22 (half-even)
    ("high_risk", 50, 25),      # 10 × 3 × 50/60 = 25
    ("ordinary", 111, 18),      # 10 × 111/60 = 18.5 → 18 (half-even)
    ("ordinary", 117, 20),      # 19.5 → 20 (half-even)
])
def test_hourly_rate_times_service_class(service_class, minutes, expected):
    award = compute(rules(), VETERAN, Activity("knitting_circle", minutes=minutes, service_class=service_class))
    assert award.amount == expected
    assert award.items[0].figures["class_multiplier"] == {"ordinary": 1, "professional": 2, "high_risk": 3}[service_class]


def test_situational_bonuses_mediation_50_plus_complex_case_50_is_100():
    award = compute(rules(), VETERAN, Activity("mediation", bonuses=("complex_case",)))
    assert codes(award) == [("base_activity", 50), ("situational_bonus", 50)] and award.amount == 100


def test_a_bonus_the_activity_type_does_not_have_is_refused():
    with pytest.raises(Unprocessable) as refused:
        compute(rules(), VETERAN, Activity("mediation", bonuses=("bad_weather",)))
    assert refused.value.code == "unknown_bonus"


def test_an_unknown_service_class_a_bad_rating_and_negative_minutes_are_refused():
    for activity, code in ((Activity(None, minutes=60, service_class="vip"), "unknown_service_class"),
                           (Activity("mediation", rating=6), "bad_rating"),
                           (Activity(None, minutes=-1), "bad_minutes")):
        with pytest.raises(Unprocessable) as refused:
            compute(rules(), VETERAN, activity)
        assert refused.value.code == code


def test_first_participation_adds_5_and_the_newcomer_multiplier_doubles_the_base_20_to_40_total_45():
    # 20 base; newcomer ×2 (200%): +20; first participation +5 (flat, not doubled) = 45
    award = compute(rules(), History(), Activity("environment_cleanup"))
    assert codes(award) == [("base_activity", 20), ("newcomer_multiplier", 20), ("first_participation_bonus", 5)]
    assert award.amount == 45
    assert award.items[1].figures == {"nth": 1, "of": 3, "multiplier_percent": 200, "before": 20}


def test_the_newcomer_boost_ends_after_the_first_n_activities():
    third = compute(rules(), History(participations=2, streak=2), Activity("environment_cleanup"))
    fourth = compute(rules(), History(participations=3, streak=3), Activity("environment_cleanup"))
    assert third.amount == 40 and fourth.amount == 20  # 20 × 2 for the 3rd; plain 20 for the 4th


def test_every_10_consecutive_participations_adds_10():
    award = compute(rules(), History(participations=9, streak=9), Activity("hazard_report"))
    assert codes(award) == [("base_activity", 20), ("streak_bonus", 10)] and award.amount == 30
    assert award.items[1].figures == {"streak": 10, "every": 10}
    # the 20th consecutive one again; the 11th does not
    assert compute(rules(), History(participations=30, streak=19), Activity("hazard_report")).amount == 30
    assert compute(rules(), History(participations=30, streak=10), Activity("hazard_report")).amount == 20


def test_a_gap_longer_than_max_gap_days_breaks_the_streak():
    r = rules()
    assert next_streak(9, 31, r) == 9 and next_streak(9, 32, r) == 0 and next_streak(9, None, r) == 0


def test_five_stars_add_10_percent_half_even():
    # 25 (hazard report 20 + a rules-set 5 bonus) × 10% = 2.5 → 2 (half-even); 35 × 10% = 3.5 → 4
    r = rules(activity_bonuses={"hazard_report": {"at_night": 5}, "safety_patrol": {"major_hazard": 30}})
    assert compute(r, VETERAN, Activity("hazard_report", bonuses=("at_night",), rating=5)).amount == 27
    r35 = rules(activity_points={"x": 35})
    assert compute(r35, VETERAN, Activity("x", rating=5)).amount == 39


def test_three_and_four_stars_change_nothing():
    for stars in (3, 4):
        assert codes(compute(rules(), VETERAN, Activity("mediation", rating=stars))) == [("base_activity", 50)]


def test_two_stars_or_fewer_hold_the_award_for_a_reviewer_and_pay_nothing_now():
    award = compute(rules(), VETERAN, Activity("mediation", rating=2))
    assert (award.amount, award.status) == (0, HELD)
    assert codes(award) == [("base_activity", 50), ("held_for_review", -50)]
    released = compute(rules(), VETERAN, Activity("mediation", rating=2, review_released=True))
    assert (released.amount, released.status) == (50, PAYABLE)
    assert codes(released) == [("base_activity", 50), ("review_released", 0)]


def test_review_threshold_zero_never_holds():
    assert compute(rules(rating={"review_at_or_below": 0}), VETERAN, Activity("mediation", rating=1)).amount == 50


def test_newcomer_multiplier_then_rating_factor_then_per_activity_cap():
    # mediation 50 + complex case 50 = 100; newcomer ×2: +100 → 200; 5★ +10%: +20 → 220;
    # per-activity cap 150: −70 → 150; first participation +5 (after the per-activity cap) → 155
    r = rules(caps={"per_activity": 150, "per_day": 300, "per_year": 1000})
    award = compute(r, History(), Activity("mediation", bonuses=("complex_case",), rating=5))
    assert codes(award) == [("base_activity", 50), ("situational_bonus", 50), ("newcomer_multiplier", 100),
                            ("rating_bonus", 20), ("cap_per_activity", -70), ("first_participation_bonus", 5)]
    assert award.amount == 155 == sum(i.points for i in award.items)
    assert award.cuts[0].figures == {"cap": 150, "before": 220}


def test_the_daily_cap_cuts_to_what_is_left_of_the_day_and_records_it():
    # daily cap 100, 70 earned today: safety patrol 50 + major hazard 30 = 80 → only 30 left today: −50
    r = rules(caps={"per_day": 100})
    award = compute(r, History(participations=5, streak=5, earned_today=70, earned_this_year=70),
                    Activity("safety_patrol", bonuses=("major_hazard",)))
    assert codes(award)[-1] == ("cap_per_day", -50) and award.amount == 30
    assert award.cuts[0].figures == {"cap": 100, "earned_before": 70, "before": 80}


def test_the_yearly_cap_of_1000_by_default_cuts_the_last_award_of_the_year():
    # 990 earned this year; a 50-point mediation → 10 left: −40
    award = compute(rules(), History(participations=40, streak=3, earned_this_year=990), Activity("mediation"))
    assert codes(award) == [("base_activity", 50), ("cap_per_year", -40)] and award.amount == 10
    # at the cap, an award is cut to nothing and still recorded
    full = compute(rules(), History(participations=41, streak=4, earned_this_year=1000), Activity("mediation"))
    assert full.amount == 0 and codes(full) == [("base_activity", 50), ("cap_per_year", -50)]


def test_one_off_bonuses_count_against_the_daily_and_yearly_caps_but_not_the_per_activity_cap():
    # newcomer: 20 base ×2 = 40; per-activity cap 30 → −10 → 30; first participation +5 → 35;
    # daily cap 100 with 80 earned today → 20 left: −15 → 20; yearly cap 1000 with 995 earned → 5 left: −15 → 5
    r = rules(caps={"per_activity": 30, "per_day": 100, "per_year": 1000})
    award = compute(r, History(earned_today=80, earned_this_year=995), Activity("environment_cleanup"))
    assert codes(award) == [("base_activity", 20), ("newcomer_multiplier", 20), ("cap_per_activity", -10),
                            ("first_participation_bonus", 5), ("cap_per_day", -15), ("cap_per_year", -15)]
    assert award.amount == 5 and len(award.cuts) == 3


def test_a_multiplier_of_150_percent_rounds_half_even():
    # 5 (hygiene photo) × 150% → +2.5 → +2 (half-even) = 7; 15 × 150% → +7.5 → +8 = 23
    r = rules(newcomer={"activities": 1, "multiplier_percent": 150}, first_participation_bonus=0)
    assert compute(r, History(), Activity("hygiene_photo_report")).amount == 7
    assert compute(r, History(), Activity("anything", minutes=90)).amount == 23


def test_the_explanation_renders_every_line_in_chinese_and_english():
    r = rules(caps={"per_activity": 150, "per_day": None, "per_year": 1000})
    award = compute(r, History(), Activity("mediation", bonuses=("complex_case",), rating=5))
    record = award.to_dict()
    assert record["rule_version"] == 3 and record["amount"] == 155
    zh, en = explain(record["items"], "zh-CN"), explain(record["items"], "en")
    assert zh[0] == "活动「mediation」基础分 50" and en[0] == "Base points for mediation: 50"
    assert zh[4] == "单次活动上限 150 分，220 分中扣减 70" and en[4] == "Per-activity cap 150: 70 of 220 cut"
    assert len(zh) == len(en) == len(record["items"])
    assert explain([{"code": "from_the_future", "points": 3}]) == ["from_the_future: 3"]
    # What a transfer, a loan or a repayment stores: both languages, Chinese first.
    both = words(record["items"])
    assert list(both) == ["zh-CN", "en"] and both == {"zh-CN": zh, "en": en}
