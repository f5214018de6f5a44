"""The rule set model (shared.economy.rules): validation with coded problems, partial documents, versions in
effect, diffs; and the schema's shape checks."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from shared.economy import DEFAULT_RULES, diff, from_document, in_effect
from shared.economy.rules import default_document
from shared.economy.schema import RuleSetSchema
from shared.errors import Unprocessable

T = datetime(2026, 11, 1, tzinfo=timezone.utc)


def refused(**changes) -> str:
    doc = default_document()
    doc.update(changes)
    with pytest.raises(Unprocessable) as problem:
        from_document(doc)
    return problem.value.code


def test_defaults_are_the_spec_figures():
    assert DEFAULT_RULES.version == 0 and DEFAULT_RULES["caps"]["per_year"] == 1000
    assert DEFAULT_RULES["activity_points"]["mediation"] == 50 and DEFAULT_RULES["min_redemption_points"] == 50
    assert DEFAULT_RULES["expiry"] == {"mode": "rolling", "months": 12, "clearing_date": "01-01", "reminder_days": [30, 7]}


@pytest.mark.parametrize("changes, code", [
    ({"activity_points": {"mediation": -1}}, "rules_negative_points"),
    ({"activity_bonuses": {"mediation": {"complex_case": -5}}}, "rules_negative_points"),
    ({"hourly_rate": -10}, "rules_negative_points"),
    ({"penalties": {"noise": 0}}, "rules_negative_points"),
    ({"activity_points": {"mediation": 1.5}}, "rules_not_whole_points"),
    ({"activity_points": {"mediation": 10_000_000}}, "rules_points_too_large"),
    ({"caps": {"per_activity": 300, "per_day": 200, "per_year": 1000}}, "rules_caps_inconsistent"),
    ({"caps": {"per_activity": None, "per_day": 2000, "per_year": 1000}}, "rules_caps_inconsistent"),
    ({"caps": {"per_activity": 500, "per_day": None, "per_year": 400}}, "rules_caps_inconsistent"),
    ({"caps": {"per_activity": 0, "per_day": None, "per_year": 1000}}, "rules_negative_points"),
    ({"newcomer": {"activities": 3, "multiplier_percent": 50}}, "rules_multiplier_out_of_range"),
    ({"newcomer": {"activities": 3, "multiplier_percent": 600}}, "rules_multiplier_out_of_range"),
    ({"class_multipliers": {"ordinary": 1, "professional": 11}}, "rules_multiplier_out_of_range"),
    ({"class_multipliers": {"ordinary": 1, "vip": 2}}, "rules_unknown_service_class"),
    ({"class_multipliers": {"professional": 2}}, "rules_unknown_service_class"),
    ({"rating": {"five_star_bonus_percent": 150, "review_at_or_below": 2}}, "rules_multiplier_out_of_range"),
    ({"rating": {"five_star_bonus_percent": 10, "review_at_or_below": 5}}, "rules_bad_rating"),
    ({"streak": {"every": 10, "points": 10, "max_gap_days": 0}}, "rules_bad_streak"),
    ({"expiry": {"mode": "rolling", "months": 0, "clearing_date": "01-01", "reminder_days": []}}, "rules_bad_expiry"),
    ({"expiry": {"mode": "annual", "months": 12, "clearing_date": "02-30", "reminder_days": []}}, "rules_bad_expiry"),
    ({"expiry": {"mode": "annual", "months": 12, "clearing_date": "01-01", "reminder_days": [7, 7]}}, "rules_bad_expiry"),
    ({"honour_levels": [{"threshold": 300, "title_zh": "二星", "title_en": "2"},
                        {"threshold": 100, "title_zh": "一星", "title_en": "1"}]}, "rules_threshold_order"),
    ({"honour_levels": [{"threshold": 100, "title_zh": "一星", "title_en": "1"},
                        {"threshold": 100, "title_zh": "二星", "title_en": "2"}]}, "rules_threshold_order"),
    ({"honour_levels": [{"threshold": 100, "title_zh": "星", "title_en": "1"},
                        {"threshold": 200, "title_zh": "星", "title_en": "2"}]}, "rules_duplicate_title"),
    ({"repair": {"window_days": 30, "max_percent": 101}}, "rules_bad_repair"),
    ({"min_redemption_points": -1}, "rules_negative_points"),
    ({"surprise": 1}, "rules_unknown_field"),
])
def test_inconsistent_rules_are_refused_with_a_code(changes, code):
    assert refused(**changes) == code


def test_a_partial_document_keeps_the_base_versions_other_rules():
    base = from_document({"hourly_rate": 12}).document
    changed = from_document({"caps": {"per_activity": None, "per_day": 200, "per_year": 800}}, version=2, base=base)
    assert changed["hourly_rate"] == 12 and changed["caps"]["per_day"] == 200 and changed.version == 2


def test_an_objects_left_out_fields_take_their_defaults():
    rules = from_document({"caps": {"per_day": 200}, "expiry": {"mode": "never"}})
    assert rules["caps"] == {"per_activity": None, "per_day": 200, "per_year": 1000}
    assert rules["expiry"]["months"] == 12 and rules["expiry"]["mode"] == "never"


def test_the_version_in_effect_is_the_latest_effective_date_not_after_the_moment():
    v1 = from_document({}, 1, datetime(2026, 1, 1, tzinfo=timezone.utc))
    v2 = from_document({"hourly_rate": 12}, 2, datetime(2026, 6, 1, tzinfo=timezone.utc))
    v3 = from_document({"hourly_rate": 15}, 3, datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert in_effect([v3, v1, v2], T).version == 2
    assert in_effect([v1, v2, v3], datetime(2026, 6, 1, tzinfo=timezone.utc)).version == 2
    assert in_effect([v1, v2, v3], datetime(2025, 12, 31, tzinfo=timezone.utc)) is DEFAULT_RULES


def test_diff_lists_each_changed_leaf():
    old = default_document()
    new = {**old, "hourly_rate": 12, "caps": {**old["caps"], "per_day": 200},
           "activity_points": {**old["activity_points"], "tree_planting": 15}}
    assert diff(old, new) == [{"path": "activity_points.tree_planting", "from": None, "to": 15},
                              {"path": "caps.per_day", "from": None, "to": 200},
                              {"path": "hourly_rate", "from": 10, "to": 12}]
    assert diff(old, old) == []


def test_schema_fills_nested_defaults_and_refuses_wrong_shapes():
    loaded = RuleSetSchema().load({"caps": {"per_day": 200}, "expiry": {"mode": "annual"}})
    assert loaded == {"caps": {"per_activity": None, "per_day": 200, "per_year": 1000},
                      "expiry": {"mode": "annual", "months": 12, "clearing_date": "01-01", "reminder_days": [30, 7]}}
    for bad in ({"hourly_rate": "10"}, {"hourly_rate": 1.5}, {"activity_points": {"Bad Name": 3}},
                {"expiry": {"mode": "sometimes"}}, {"caps": {"per_day": "x"}}, {"nonsense": 1},
                {"honour_levels": [{"threshold": 1}]}):
        with pytest.raises(ValidationError):
            RuleSetSchema().load(bad)

