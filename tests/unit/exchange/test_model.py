"""Trust lines: rates, positions, headroom and clearing (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, Forbidden, Unprocessable
from services.exchange.model import Position, add_period, lines_of_agreement

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
ACCEPTED = {"agreement_id": "pa_1", "proposer_id": "cA", "partner_id": "cB", "clearing_period": "weekly",
            "units": [{"unit": "HOUR", "net_limit": 600}, {"unit": "PT", "net_limit": 5000}]}


def lines():
    hour, pt = lines_of_agreement(ACCEPTED, T0)
    return hour, pt.with_point_values({"cA": 10, "cB": 5}, T0)


def test_an_accepted_agreement_opens_a_line_per_unit():
    hour, pt = lines_of_agreement(ACCEPTED, T0)
    assert (hour.trust_line_id, hour.unit, hour.net_limit, hour.measure_name) == ("tl:pa_1:HOUR", "HOUR", 600,
                                                                                  "minutes")
    assert (pt.trust_line_id, pt.community_a, pt.community_b, pt.measure_name) == ("tl:pa_1:PT", "cA", "cB", "fen")
    assert pt.status == hour.status == "open" and pt.clearing_period == "weekly"
    assert hour.line_facts()["net_limit"] == 600 and hour.line_facts()["status"] == "open"


def test_rates_version_only_when_the_values_change():
    hour, pt = lines_of_agreement(ACCEPTED, T0)
    assert hour.with_point_values({}, T0).rate_version == 1
    assert hour.with_point_values({}, T0).with_point_values({"cA": 3}, T0) is None  # 1:1 for ever
    half = pt.with_point_values({"cA": 10}, T0)
    assert not half.rate_known and half.rate_version == 0  # B's value still unknown: no rate yet
    full = half.with_point_values({"cB": 5}, T0)
    assert full.rate_known and full.rate_version == 1
    assert full.rate_facts() == {"trust_line_id": "tl:pa_1:PT", "agreement_id": "pa_1", "unit": "PT",
                                 "community_id": "cA", "community_a": "cA", "community_b": "cB",
                                 "basis": "point_value_fen", "a_point_value_fen": 10, "b_point_value_fen": 5,
                                 "rate_version": 1}
    assert full.with_point_values({"cB": 5}, T0) is None
    assert full.with_point_values({"cB": 6}, T0).rate_version == 2


def test_status_changes_and_a_closed_line_stays_closed():
    hour, _ = lines()
    suspended = hour.with_status("suspended", T0)
    assert suspended.status == "suspended" and suspended.with_status("suspended", T0) is None
    closed = suspended.with_status("open", T0).with_status("closed", T0)
    assert closed.status == "closed" and closed.with_status("open", T0) is None


def test_positions_net_both_ways_in_own_units_and_the_common_measure():
    _, pt = lines()
    # A's member gives 7 A-points → B's member receives 14 B-points (70 fen).
    p1 = pt.posted("cA", "cB", 7, 14, 5, T0)
    assert p1.position == Position(a_balance=7, b_balance=-14, net=70, transfers=1, since=T0)
    assert p1.headroom() == 4930
    # B's member pays 8 B-points → A's member receives 4 A-points (40 fen).
    p2 = p1.posted("cB", "cA", 8, 4, 10, T0 + timedelta(hours=1))
    assert p2.position == Position(a_balance=3, b_balance=-6, net=30, transfers=2, since=T0)
    assert pt.position == Position()  # the model never mutates


def test_a_transfer_must_cross_between_the_line_s_communities():
    hour, _ = lines()
    for payer, payee in (("cA", "cA"), ("cA", "cC")):
        with pytest.raises(Unprocessable):
            hour.posted(payer, payee, 30, 30, None, T0)
    with pytest.raises(Unprocessable):
        hour.posted("cA", "cB", 0, 0, None, T0)


def test_clearing_nets_records_and_resets():
    hour, _ = lines()
    line = hour.posted("cB", "cA", 90, 90, None, T0).posted("cA", "cB", 30, 30, None, T0)
    cleared, record = line.cleared("cl_1", T0 + timedelta(days=7), "cA")
    assert cleared.position == Position() and cleared.last_cleared_at == T0 + timedelta(days=7)
    assert record["net"] == -60 and record["debtor_id"] == "cB" and record["creditor_id"] == "cA"
    assert record["amount_due"] == 60 and record["transfers"] == 2 and record["measure"] == "minutes"
    assert (record["a_balance"], record["b_balance"]) == (-60, 60)
    assert record["period_start"] == T0 and record["triggered_by"] == "cA"
    with pytest.raises(Conflict) as err:
        cleared.cleared("cl_2", T0, None)
    assert err.value.code == "nothing_to_clear"


def test_a_balanced_position_clears_with_nobody_owing():
    hour, _ = lines()
    _, record = hour.posted("cA", "cB", 30, 30, None, T0).posted("cB", "cA", 30, 30, None, T0).cleared("c", T0, None)
    assert record["debtor_id"] is None and record["amount_due"] == 0 and record["triggered_by"] == "scheduler"


def test_only_parties_may_clear():
    hour, _ = lines()
    hour.check_party("cB")
    with pytest.raises(Forbidden):
        hour.check_party("cC")


def test_clearing_is_due_after_the_period_and_only_with_transfers():
    hour, _ = lines()  # weekly
    assert not hour.clearing_due(T0 + timedelta(days=30))
    line = hour.posted("cA", "cB", 30, 30, None, T0)
    assert not line.clearing_due(T0 + timedelta(days=6, hours=23))
    assert line.clearing_due(T0 + timedelta(days=7))


def test_periods():
    assert add_period(T0, "daily") == T0 + timedelta(days=1)
    assert add_period(T0, "weekly") == T0 + timedelta(days=7)
    assert add_period(datetime(2026, 1, 31, tzinfo=timezone.utc), "monthly") == datetime(2026, 2, 28,
                                                                                         tzinfo=timezone.utc)
    assert add_period(datetime(2026, 12, 15, tzinfo=timezone.utc), "monthly") == datetime(2027, 1, 15,
                                                                                          tzinfo=timezone.utc)
