"""Grid work under the rules (issue 13): 随手拍 report points with the major-hazard bonus through the newcomer
multiplier and the caps; standing duties per period; points-loan repayment per plan. Numbers worked by hand."""
from __future__ import annotations

from datetime import date

import pytest

from shared.economy import Activity, History, compute, explain, from_document
from shared.economy.periods import period_of
from shared.economy.rules import DEFAULT_DOCUMENT, RuleSet
from shared.economy.wallet import check_loan, loan_repayment
from shared.errors import Unprocessable

VETERAN = History(participations=10, streak=0)  # past the newcomer boost and the first-participation bonus


def report(kind: str = "hazard_report", major: bool = False) -> Activity:
    return Activity(kind, bonuses=("major_hazard",) if major else (), kind="report")


def test_a_verified_hazard_report_pays_20_and_30_more_for_a_major_hazard():
    assert compute(RuleSet(), VETERAN, report()).amount == 20
    award = compute(RuleSet(), VETERAN, report(major=True))
    # hazard_report 20 + major hazard 30 = 50
    assert [(i.code, i.points) for i in award.items] == [("base_report", 20), ("situational_bonus", 30)]
    assert award.amount == 50
    assert explain([i.to_dict() for i in award.items], "zh-CN") == ["随手拍「hazard_report」核实 20",
                                                                    "情形加分「major_hazard」+30"]


def test_a_newcomers_major_hazard_report_through_every_cap():
    rules = from_document({"caps": {"per_activity": 80, "per_day": 100, "per_year": 1000}})
    newcomer = History(participations=0, earned_today=40, earned_this_year=990)
    award = compute(rules, newcomer, report(major=True))
    # 20 + 30 = 50; newcomer ×200 % +50 = 100; per-activity cap 80 −20 = 80; first participation +5 = 85;
    # day: 100 − 40 = 60 left −25 = 60; year: 1,000 − 990 = 10 left −50 = 10.
    assert [(i.code, i.points) for i in award.items] == [
        ("base_report", 20), ("situational_bonus", 30), ("newcomer_multiplier", 50), ("cap_per_activity", -20),
        ("first_participation_bonus", 5), ("cap_per_day", -25), ("cap_per_year", -50)]
    assert award.amount == 10 and [c.code for c in award.cuts] == ["cap_per_activity", "cap_per_day", "cap_per_year"]


def test_a_hygiene_report_has_no_major_hazard_bonus_and_unknown_types_are_refused():
    award = compute(RuleSet(), VETERAN, report("hygiene_photo_report", major=True))
    assert award.amount == 5  # hygiene photo 5 + major hazard 0
    with pytest.raises(Unprocessable) as refused:
        compute(RuleSet(), VETERAN, report("ufo_sighting"))
    assert refused.value.code == "unknown_report_type"


def test_a_community_prices_its_own_report_types_and_duties():
    rules = from_document({"report_types": {"blocked_exit": {"points": 15, "major_hazard_bonus": 40}},
                           "duties": {"stair_cleaning": {"period": "weekly", "points": 3}}})
    assert compute(rules, VETERAN, report("blocked_exit", major=True)).amount == 55  # 15 + 40
    assert compute(rules, VETERAN, Activity("stair_cleaning", kind="duty")).amount == 3
    with pytest.raises(Unprocessable) as gone:
        compute(rules, VETERAN, report())  # the community replaced the report types: hazard_report is gone
    assert gone.value.code == "unknown_report_type"


def test_duty_points_per_period_and_the_periods():
    award = compute(RuleSet(), VETERAN, Activity("doorstep_duty", kind="duty"))
    assert [(i.code, i.points, i.figures) for i in award.items] == [
        ("base_duty", 20, {"duty": "doorstep_duty", "period": "monthly"})]
    assert compute(RuleSet(), VETERAN, Activity("waste_sorting_watch", kind="duty")).amount == 5
    with pytest.raises(Unprocessable) as refused:
        compute(RuleSet(), VETERAN, Activity("nap_watch", kind="duty"))
    assert refused.value.code == "unknown_duty"
    # 2026-11-29 is a Sunday of ISO week 48; 2026-11-30 starts week 49; 2027-01-01 is still in 2026-W53.
    assert period_of("weekly", date(2026, 11, 29)) == "2026-W48"
    assert period_of("weekly", date(2026, 11, 30)) == "2026-W49"
    assert period_of("weekly", date(2027, 1, 1)) == "2026-W53"
    assert period_of("monthly", date(2026, 11, 29)) == "2026-11"


def test_rule_sets_stored_before_grid_work_load_with_its_defaults_and_bad_duties_are_refused():
    old = {k: v for k, v in RuleSet().document.items() if k not in ("report_types", "duties")}
    loaded = RuleSet(old, 3)
    assert loaded["report_types"] == DEFAULT_DOCUMENT["report_types"] and loaded["duties"] == DEFAULT_DOCUMENT["duties"]
    with pytest.raises(Unprocessable) as refused:
        from_document({"duties": {"x": {"period": "daily", "points": 1}}})
    assert refused.value.code == "rules_bad_duty"
    with pytest.raises(Unprocessable) as negative:
        from_document({"report_types": {"x": {"points": -1, "major_hazard_bonus": 0}}})
    assert negative.value.code == "rules_negative_points"


@pytest.mark.parametrize("outstanding, award, percent, held, repaid", [
    (100, 45, 100, 145, 45),   # the plan "awards repay first": all 45
    (100, 45, 50, 145, 22),    # 50 % of 45 = 22.5 → half-even 22
    (100, 35, 50, 135, 18),    # 50 % of 35 = 17.5 → half-even 18
    (10, 45, 100, 145, 10),    # never more than is owed
    (100, 45, 100, 30, 30),    # never more than the member holds (pending debits hold the rest)
    (0, 45, 100, 145, 0),      # nothing owed: nothing repaid
])
def test_loan_repayment_per_plan(outstanding, award, percent, held, repaid):
    assert loan_repayment(outstanding, award, percent, held) == repaid


def test_loans_stay_within_the_rules_limit():
    rules = from_document({"points_loan_limit": 300})
    check_loan(rules, 0, 300)
    with pytest.raises(Unprocessable) as refused:
        check_loan(rules, 250, 51)  # 250 lent + 51 = 301 > 300
    assert (refused.value.code, refused.value.extra["limit"]) == ("loan_over_limit", 300)
    with pytest.raises(Unprocessable):
        check_loan(RuleSet(), 0, 1)  # the default limit 0: no loans
