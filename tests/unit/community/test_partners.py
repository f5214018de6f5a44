"""Partner agreements: the pure rules (terms, state machine, who may take each step)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.community.partners import PartnerAgreement, check_partner_lookup, check_terms, pair_key

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
VALUES = {"cA": 10, "cB": 5}


def proposal(units=None, **kw) -> PartnerAgreement:
    return PartnerAgreement.propose("pa_1", "cA", "cB", units or [{"unit": "HOUR", "net_limit": 600},
                                                                  {"unit": "PT", "net_limit": 5000}],
                                    kw.pop("values", VALUES), kw.pop("period", "monthly"), T0)


def test_a_proposal_records_terms_with_rate_basis_and_measure():
    a = proposal()
    assert a.state == "proposed" and a.live and a.pair == "cA|cB" == pair_key("cB", "cA")
    assert a.units == [{"unit": "HOUR", "net_limit": 600, "rate_basis": "1:1", "limit_measure": "minutes"},
                       {"unit": "PT", "net_limit": 5000, "rate_basis": "point_value_fen", "limit_measure": "fen"}]
    assert a.history == [{"action": "propose", "by": "cA", "at": T0}]
    facts = a.event_facts("propose", "cA")
    assert facts["proposer_id"] == "cA" and facts["partner_id"] == "cB" and facts["state"] == "proposed"
    assert set(facts) == {"agreement_id", "community_id", "action", "proposer_id", "partner_id", "units",
                          "clearing_period", "state", "suspended_by", "at"}


@pytest.mark.parametrize("units, code", [
    ([], "no_units"),
    ([{"unit": "EUR", "net_limit": 1}], "unknown_unit"),
    ([{"unit": "HOUR", "net_limit": 60}, {"unit": "HOUR", "net_limit": 60}], "duplicate_unit"),
    ([{"unit": "HOUR", "net_limit": 0}], "bad_net_limit"),
    ([{"unit": "HOUR", "net_limit": -5}], "bad_net_limit"),
    ([{"unit": "HOUR", "net_limit": 1.5}], "bad_net_limit"),
    ([{"unit": "HOUR", "net_limit": True}], "bad_net_limit"),
    ([{"unit": "PT", "net_limit": 10, "rate_basis": "1:1"}], "bad_rate_basis"),
])
def test_bad_terms_are_refused(units, code):
    with pytest.raises(Unprocessable) as err:
        check_terms(units, VALUES)
    assert err.value.code == code


def test_points_need_both_point_values_but_hours_do_not():
    with pytest.raises(Unprocessable) as err:
        proposal([{"unit": "PT", "net_limit": 10}], values={"cA": 10, "cB": None})
    assert err.value.code == "point_value_missing"
    assert proposal([{"unit": "HOUR", "net_limit": 10}], values={"cA": 10, "cB": None}).state == "proposed"


def test_a_community_cannot_partner_itself_and_the_period_must_be_known():
    with pytest.raises(Unprocessable) as err:
        PartnerAgreement.propose("pa", "cA", "cA", [{"unit": "HOUR", "net_limit": 1}], VALUES, "monthly", T0)
    assert err.value.code == "self_partner"
    with pytest.raises(Unprocessable):
        proposal(period="hourly")


def test_only_the_partner_accepts_or_declines():
    a = proposal()
    for action in ("accept", "decline"):
        with pytest.raises(Forbidden) as err:
            a.act(action, "cA", T0)
        assert err.value.code == "not_the_partner"
    assert a.act("accept", "cB", T0).state == "active"
    declined = a.act("decline", "cB", T0)
    assert declined.state == "declined" and not declined.live
    assert a.state == "proposed"  # acting returns a new agreement


def test_outsiders_may_do_nothing():
    with pytest.raises(Forbidden) as err:
        proposal().act("accept", "cC", T0)
    assert err.value.code == "not_a_party"


def test_suspend_resume_end_cycle_and_who_may_resume():
    active = proposal().act("accept", "cB", T0)
    suspended = active.act("suspend", "cA", T0)
    assert suspended.state == "suspended" and suspended.suspended_by == "cA" and suspended.live
    with pytest.raises(Forbidden) as err:
        suspended.act("resume", "cB", T0)
    assert err.value.code == "not_the_suspender"
    resumed = suspended.act("resume", "cA", T0)
    assert resumed.state == "active" and resumed.suspended_by is None
    assert resumed.act("suspend", "cB", T0).act("end", "cA", T0).state == "ended"
    ended = resumed.act("end", "cB", T0)
    assert ended.state == "ended" and not ended.live
    assert [h["action"] for h in ended.history] == ["propose", "accept", "suspend", "resume", "end"]


@pytest.mark.parametrize("path, action", [
    ((), "suspend"), ((), "resume"), (("accept",), "accept"), (("accept",), "decline"), (("accept",), "resume"),
    (("decline",), "accept"), (("decline",), "end"), (("accept", "end"), "resume"), (("accept", "end"), "end"),
])
def test_steps_out_of_order_are_conflicts(path, action):
    a = proposal()
    for step in path:
        a = a.act(step, "cB", T0)
    with pytest.raises(Conflict) as err:
        a.act(action, "cB", T0)
    assert err.value.code == "bad_state"


def test_the_proposer_may_withdraw_its_proposal_but_the_partner_declines_instead():
    assert proposal().act("end", "cA", T0).state == "ended"
    with pytest.raises(Conflict):
        proposal().act("end", "cB", T0)


@pytest.mark.parametrize("partner, state, problem", [
    (None, None, NotFound), ("c_a", "active", Unprocessable), ("c_b", None, Forbidden),
    ("c_b", "proposed", Forbidden), ("c_b", "suspended", Forbidden)])
def test_partner_members_are_found_only_through_an_active_agreement(partner, state, problem):
    with pytest.raises(problem) as refused:
        check_partner_lookup("c_a", partner, state)
    assert refused.value.code == {NotFound: "unknown_community", Unprocessable: "own_community",
                                  Forbidden: "not_a_partner"}[problem]
    check_partner_lookup("c_a", "c_b", "active")  # the one way through
