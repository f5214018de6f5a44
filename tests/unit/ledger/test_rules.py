"""Points rules (SPEC §5 defaults): base points per activity, hourly class rates, half-even rounding."""
import pytest

from services.ledger.rules import Rules, award_points, hourly_points, rules_from_settings


def test_activity_types_earn_their_base_points():
    rules = Rules()
    assert award_points(rules, minutes=90, activity_type="environment_cleanup") == 20
    assert award_points(rules, minutes=30, activity_type="mediation") == 50
    assert award_points(rules, minutes=5, activity_type="hygiene_photo_report") == 5


def test_hourly_rate_is_multiplied_by_the_service_class():
    rules = Rules()
    assert hourly_points(rules, 60, "ordinary") == 10
    assert hourly_points(rules, 60, "professional") == 20
    assert hourly_points(rules, 120, "high_risk") == 60


def test_unknown_activity_type_falls_back_to_the_hourly_rate():
    assert award_points(Rules(), minutes=90, activity_type="knitting_circle") == 15


@pytest.mark.parametrize("minutes,points", [(3, 0), (9, 2), (15, 2), (45, 8), (27, 4), (33, 6)])
def test_rounding_is_half_even(minutes, points):
    # 15 min = 2.5 points -> 2 (even); 45 min = 7.5 -> 8 (even); 27 min = 4.5 -> 4; 33 min = 5.5 -> 6
    assert hourly_points(Rules(), minutes) == points


def test_community_settings_override_defaults_and_ignore_garbage():
    rules = rules_from_settings({"points_rules": {"hourly_rate": 12, "activity_points": {"mediation": 60,
                                                                                          "bad": "x"},
                                                  "class_multipliers": {"professional": 4}}})
    assert rules.hourly_rate == 12
    assert rules.activity_points["mediation"] == 60 and "bad" not in rules.activity_points
    assert hourly_points(rules, 60, "professional") == 48
    assert rules_from_settings(None) == Rules()
    assert rules_from_settings({"points_rules": {"hourly_rate": -3}}).hourly_rate == 10


def test_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        award_points(Rules(), minutes=-1)
