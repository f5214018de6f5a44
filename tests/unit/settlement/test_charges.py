"""Charges (a till's 收款码, a property-fee bill): who may pay them, once, and what the payer is shown."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, Forbidden, Unprocessable
from services.settlement.model import Charge, Merchant, charge_view

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)


def bill(member_id=None, minutes=10) -> Charge:
    return Charge(charge_id="chg_1", community_id="c1", merchant_id="mer_1", bill_fen=12_000, memo="11月物业费",
                  staff_id="stf", expires_at=NOW + timedelta(minutes=minutes), member_id=member_id, created_at=NOW)


def test_anyone_may_pay_an_open_till_code_once_and_a_decline_reopens_it():
    charge = bill()
    charge.start_payment("alice", "red_1", NOW)
    assert (charge.state, charge.redemption_id) == ("paying", "red_1")
    with pytest.raises(Conflict) as busy:
        charge.start_payment("bob", "red_2", NOW)
    assert busy.value.code == "charge_paying"
    assert not charge.settle("red_2", completed=True)  # another redemption's news changes nothing
    assert charge.settle("red_1", completed=False)
    assert (charge.state, charge.redemption_id) == ("open", None)
    charge.start_payment("bob", "red_3", NOW)
    assert charge.settle("red_3", completed=True) and charge.state == "paid"
    assert not charge.settle("red_3", completed=False)  # final
    with pytest.raises(Conflict) as paid:
        charge.start_payment("carol", "red_4", NOW)
    assert paid.value.code == "charge_paid"


def test_an_addressed_bill_is_its_members_alone_and_lapses():
    charge = bill(member_id="alice")
    with pytest.raises(Forbidden) as other:
        charge.start_payment("bob", "red_1", NOW)
    assert other.value.code == "charge_other_member"
    charge.check_visible_to("bob", insider=True)  # the property company's staff see their own bill
    with pytest.raises(Unprocessable) as late:
        bill(minutes=1).start_payment("alice", "red_1", NOW + timedelta(minutes=1))
    assert late.value.code == "charge_expired"


def test_the_payer_sees_the_merchants_rules_for_this_bill():
    property_co = Merchant(merchant_id="mer_1", community_id="c1", name="莲花物业服务中心", kind="property",
                           settlement_rate_fen_per_point=10, max_discount_share_bp=2000, min_points=100)
    doc = {"charge_id": "chg_1", "bill_fen": 12_345, "merchant_id": "mer_1", "state": "open",
           "expires_at": NOW + timedelta(minutes=10)}
    view = charge_view(doc, property_co, NOW)
    # 20% of 123.45 yuan is 24.69 yuan → 24.69 / 0.10 yuan per point → 246 whole points.
    assert (view["max_points"], view["min_points"], view["rate_fen_per_point"]) == (246, 100, 10)
    assert (view["merchant_name"], view["merchant_kind"]) == ("莲花物业服务中心", "property")
    assert view["state"] == "open"


def test_an_open_bill_whose_time_ran_out_is_shown_expired_and_a_paid_one_stays_paid():
    property_co = Merchant(merchant_id="mer_1", community_id="c1", name="莲花物业服务中心", kind="property")
    doc = {"charge_id": "chg_1", "bill_fen": 12_000, "merchant_id": "mer_1", "state": "open",
           "expires_at": NOW + timedelta(minutes=10)}
    assert charge_view(doc, property_co, NOW + timedelta(minutes=9))["state"] == "open"
    assert charge_view(doc, property_co, NOW + timedelta(minutes=10))["state"] == "expired"
    assert charge_view({**doc, "state": "paid"}, property_co, NOW + timedelta(days=1))["state"] == "paid"
