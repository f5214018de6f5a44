"""Points rules versions (services.community.rulesets): publishing, the order versions take effect in, and
replacing a version only while it is pending. Pure: times are given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, Unprocessable
from services.community.rulesets import defaults_version, publish, replace_pending

CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def test_the_first_version_builds_on_the_defaults_and_takes_effect_now():
    v1 = publish("c1", defaults_version("c1", CREATED), {"hourly_rate": 12}, None, NOW, "m_admin")
    assert (v1.version, v1.effective_from, v1.revision, v1.status(NOW)) == (1, NOW, 1, "effective")
    assert v1.rules["hourly_rate"] == 12 and v1.rules["caps"]["per_year"] == 1000
    assert v1.rule_set().version == 1
    assert set(v1.event_facts()) == {"community_id", "version", "revision", "effective_from", "published_at", "rules"}


def test_left_out_rules_keep_the_previous_versions_values():
    v1 = publish("c1", defaults_version("c1", CREATED), {"hourly_rate": 12}, None, NOW, None)
    v2 = publish("c1", v1, {"min_redemption_points": 80}, NOW + DAY, NOW, None)
    assert v2.rules["hourly_rate"] == 12 and v2.rules["min_redemption_points"] == 80 and v2.status(NOW) == "pending"


def test_no_backdating_and_no_version_taking_effect_before_a_pending_one():
    v0 = defaults_version("c1", CREATED)
    with pytest.raises(Unprocessable) as backdated:
        publish("c1", v0, {}, NOW - timedelta(seconds=1), NOW, None)
    assert backdated.value.code == "rules_backdated"
    pending = publish("c1", v0, {}, NOW + 10 * DAY, NOW, None)
    with pytest.raises(Conflict) as early:
        publish("c1", pending, {}, NOW + 5 * DAY, NOW, None)
    assert early.value.code == "rules_version_pending" and early.value.extra["pending_version"] == 1
    assert publish("c1", pending, {}, NOW + 11 * DAY, NOW, None).version == 2


def test_a_pending_version_is_replaced_until_it_takes_effect_then_never():
    v0 = defaults_version("c1", CREATED)
    v1 = publish("c1", v0, {"hourly_rate": 12}, NOW + 10 * DAY, NOW, None)
    v2 = replace_pending(v1, v0, None, {"first_participation_bonus": 8}, NOW + 12 * DAY, NOW + DAY, "m_b")
    assert (v2.version, v2.revision, v2.effective_from) == (1, 2, NOW + 12 * DAY)
    assert v2.rules["hourly_rate"] == 12 and v2.rules["first_participation_bonus"] == 8 and v2.published_by == "m_b"
    with pytest.raises(Conflict) as effective:
        replace_pending(v2, v0, None, {}, None, NOW + 12 * DAY, None)
    assert effective.value.code == "rules_version_effective"
    with pytest.raises(Conflict):
        replace_pending(v0, v0, None, {}, None, NOW, None)


def test_a_replaced_date_stays_between_its_neighbours():
    v0 = defaults_version("c1", CREATED)
    v1 = publish("c1", v0, {}, NOW + 10 * DAY, NOW, None)
    v2 = publish("c1", v1, {}, NOW + 20 * DAY, NOW, None)
    with pytest.raises(Unprocessable) as order:
        replace_pending(v1, v0, v2, {}, NOW + 21 * DAY, NOW, None)
    assert order.value.code == "rules_effective_order"
    assert replace_pending(v1, v0, v2, {}, NOW + 20 * DAY, NOW, None).effective_from == NOW + 20 * DAY
