"""Settlement domain rules without infrastructure: money, till checks, pay codes, stock, batches, schedules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Unprocessable
from services.settlement.model import (CatalogItem, Merchant, PayCode, Redemption, SponsorBudget, Batch, batch_due,
                                       batch_line, check_balance, check_member, fitting_chargebacks, pay_code_digest,
                                       require_staff_of, schedule_cutoff, zone)
from services.settlement.money import max_points_for_bill, points_to_fen, share_of_bill_fen

NOW = datetime(2025, 3, 12, 10, 30, tzinfo=timezone.utc)  # a Wednesday; 18:30 in Shanghai
SHANGHAI = zone("Asia/Shanghai")


def merchant(**fields) -> Merchant:
    return Merchant.register("mer_1", "c_1", {"name": "小卖部", **fields}, NOW)


def test_money_conversions_are_integer_and_half_even():
    assert points_to_fen(100, 10) == 1000
    assert share_of_bill_fen(1005, 5000) == 502  # 502.5 → 502 (half to even)
    assert share_of_bill_fen(1015, 5000) == 508  # 507.5 → 508
    assert share_of_bill_fen(3, 3333) == 1       # 0.9999 → 1
    assert max_points_for_bill(2000, 5000, 10) == 100


def test_defaults_by_kind_property_fee_is_100_points_for_10_yuan():
    prop = Merchant.register("mer_p", "c_1", {"name": "物业", "kind": "property"}, NOW)
    assert prop.settlement_rate_fen_per_point == 10
    assert points_to_fen(100, prop.settlement_rate_fen_per_point) == 1000  # 100 PT = 10 yuan
    assert prop.max_discount_share_bp == 10_000 and prop.min_points == 50
    shop = merchant()
    assert shop.max_discount_share_bp == 5_000 and shop.schedule == "daily" and shop.status == "active"
    valued = Merchant.register("m", "c", {"name": "x"}, NOW, community_point_value_fen=8)
    assert valued.settlement_rate_fen_per_point == 8  # the community's declared point value by default


@pytest.mark.parametrize("fields, code", [({"kind": "bank"}, "bad_kind"), ({"schedule": "hourly"}, "bad_schedule"),
                                          ({"max_discount_share_bp": 0}, "bad_share"),
                                          ({"settlement_rate_fen_per_point": 0}, "bad_rate")])
def test_bad_merchant_fields_are_refused(fields, code):
    with pytest.raises(Unprocessable) as err:
        merchant(**fields)
    assert err.value.code == code


def test_till_rules_minimum_and_max_share():
    m = merchant(max_discount_share_bp=3000, min_points=50)  # 30% of the bill, 10 fen per point
    assert m.check_till_redemption(60, 2000) == 600          # exactly 30% of 20 yuan
    with pytest.raises(Unprocessable) as err:
        m.check_till_redemption(61, 2000)
    assert err.value.code == "over_max_share" and err.value.extra["max_points"] == 60
    with pytest.raises(Unprocessable) as err:
        m.check_till_redemption(49, 100_000)
    assert err.value.code == "below_minimum"


def test_suspended_merchant_takes_no_redemptions():
    m = merchant(status="suspended")
    with pytest.raises(Conflict):
        m.require_active()


def test_only_own_staff_act_for_a_shop():
    m = merchant()
    require_staff_of(Principal("s1", "c_1", ("merchant",), "mer_1"), m)
    for p in (Principal("s2", "c_1", ("merchant",), "mer_2"), Principal("s3", "c_1", ("resident",), "mer_1"),
              Principal("s4", "c_2", ("merchant",), "mer_1")):
        with pytest.raises(Forbidden):
            require_staff_of(p, m)


def test_member_and_balance_checks():
    check_member({"community_id": "c_1", "status": "active"}, "c_1")
    for doc, code in ((None, "member_unknown"), ({"community_id": "c_2", "status": "active"}, "member_unknown"),
                      ({"community_id": "c_1", "status": "inactive"}, "member_inactive")):
        with pytest.raises(Unprocessable) as err:
            check_member(doc, "c_1")
        assert err.value.code == code
    check_balance(None, 10_000)  # unknown balance: the ledger decides
    check_balance(100, 100)
    with pytest.raises(Unprocessable) as err:
        check_balance(99, 100)
    assert err.value.code == "insufficient_points"


def test_pay_code_rules():
    code = PayCode("pc1", "m1", 200, NOW + timedelta(minutes=3))
    code.check("m1", 200, NOW)
    cases = [(PayCode("pc1", "m1", 200, NOW + timedelta(minutes=3), used=True), "m1", 10, "pay_code_used"),
             (PayCode("pc1", "m1", 200, NOW + timedelta(minutes=3), claimed_by="r9"), "m1", 10, "pay_code_used"),
             (code, "m2", 10, "pay_code_other_member"), (code, "m1", 201, "pay_code_over_max"),
             (PayCode("pc1", "m1", 200, NOW - timedelta(seconds=1)), "m1", 10, "pay_code_expired"),
             (PayCode("pc1", None, None, None, used=True), "m1", 10, "pay_code_used")]
    for c, member, points, expected in cases:
        with pytest.raises((Unprocessable, Conflict)) as err:
            c.check(member, points, NOW)
        assert err.value.code == expected
    assert pay_code_digest(" ab 12cd ") == pay_code_digest("AB12CD")


def test_stock_leaves_only_when_the_redemption_posts():
    item = CatalogItem("i1", "mer_1", "c_1", "大米", 100, stock=1)
    item.reserve()
    assert (item.stock, item.available) == (1, 0)
    with pytest.raises(Conflict):
        item.reserve()
    item.release()
    assert (item.stock, item.available) == (1, 1)
    item.reserve()
    item.consume()
    assert (item.stock, item.reserved, item.available) == (0, 0, 0)
    item2 = CatalogItem("i2", "mer_1", "c_1", "油", 100, stock=2)
    item2.reserve()
    with pytest.raises(Conflict):
        item2.set_stock(0)


def test_redemption_resolves_once():
    r = Redemption("r1", "c_1", "mer_1", "m1", 100, 2000, 10, 1000, "s1")
    assert r.resolve("completed", "t1", NOW)
    assert not r.resolve("completed", "t1", NOW)
    assert not r.resolve("declined", "t1", NOW)
    assert r.state == "completed"


def batch(fen: int) -> Batch:
    return Batch("b1", "c_1", "mer_1", None, NOW, points=fen // 10, fen=fen, redemption_count=1)


def test_batch_lifecycle_and_budget():
    budget = SponsorBudget("c_1")
    budget.top_up(10_000)
    b = batch(6_000)
    with pytest.raises(Conflict) as err:
        b.pay("ref", budget, NOW)
    assert err.value.code == "batch_not_closed"
    b.close(budget, NOW)
    assert b.state == "closed" and not b.over_budget and budget.remaining_fen == 4_000
    with pytest.raises(Conflict) as err:
        b.close(budget, NOW)
    assert err.value.code == "batch_not_open"
    b.pay("bank-001", budget, NOW)
    assert b.state == "paid" and budget.remaining_fen == 4_000
    with pytest.raises(Conflict):
        b.pay("bank-002", budget, NOW)


def test_over_budget_batch_needs_top_up_or_acknowledgement():
    budget = SponsorBudget("c_1", topped_up_fen=1_000)
    b = batch(5_000)
    b.close(budget, NOW)
    assert b.over_budget and not b.payable and budget.committed_fen == 0
    with pytest.raises(Conflict) as err:
        b.pay("ref", budget, NOW)
    assert err.value.code == "over_budget"
    budget.top_up(4_000)
    b.pay("ref", budget, NOW)  # the top-up covers it now
    assert b.state == "paid" and budget.remaining_fen == 0
    b2 = batch(3_000)
    b2.close(budget, NOW)
    b2.acknowledge_over_budget()
    assert b2.payable
    b2.pay("ref2", budget, NOW)
    assert budget.remaining_fen == -3_000


def test_batch_line_fen_at_the_redemption_rate():
    line = batch_line({"_id": "r1", "merchant_id": "m", "community_id": "c", "member_id": "x", "transfer_id": "t",
                       "points": 125, "rate_fen_per_point": 8, "resolved_at": NOW}, "b1")
    assert (line["fen"], line["redemption_id"], line["completed_at"]) == (1000, "r1", NOW)


def test_schedules_in_local_time():
    # 2025-03-12 18:30 Shanghai: daily cutoff is local midnight that day; weekly the Monday (10th).
    assert schedule_cutoff("daily", NOW, SHANGHAI) == datetime(2025, 3, 12, tzinfo=SHANGHAI)
    assert schedule_cutoff("weekly", NOW, SHANGHAI) == datetime(2025, 3, 10, tzinfo=SHANGHAI)
    created = NOW - timedelta(days=3)
    assert batch_due("daily", None, created, NOW, SHANGHAI) == datetime(2025, 3, 12, tzinfo=SHANGHAI)
    assert batch_due("daily", datetime(2025, 3, 12, tzinfo=SHANGHAI), created, NOW, SHANGHAI) is None
    assert batch_due("daily", None, NOW - timedelta(hours=1), NOW, SHANGHAI) is None  # registered today
    assert batch_due("weekly", datetime(2025, 3, 3, tzinfo=SHANGHAI), created, NOW, SHANGHAI) == \
        datetime(2025, 3, 10, tzinfo=SHANGHAI)
    assert zone("Not/AZone") == SHANGHAI


def test_only_a_completed_redemption_is_reversed_and_only_once():
    r = Redemption("r1", "c_1", "mer_1", "m1", 100, 2000, 10, 1000, "s1")
    assert not r.reverse("t_rev", NOW)  # not completed (yet): the news waits for the completion
    r.resolve("completed", "t1", NOW)
    assert r.reverse("t_rev", NOW) and (r.state, r.reversal_transfer_id, r.reversed_at) == ("reversed", "t_rev", NOW)
    assert not r.reverse("t_rev", NOW) and r.fen == 1000


def test_a_reversed_line_leaves_an_unpaid_batch_and_its_cash_the_budget():
    budget = SponsorBudget("c_1", topped_up_fen=10_000)
    b = Batch("b1", "c_1", "mer_1", None, NOW, points=350, fen=3_500, redemption_count=2)
    b.close(budget, NOW)
    assert budget.committed_fen == 3_500
    b.take_out(100, 1_000, budget)
    assert (b.points, b.fen, b.redemption_count, budget.committed_fen) == (250, 2_500, 1, 2_500)
    b.pay("bank", budget, NOW)
    with pytest.raises(Conflict) as err:
        b.take_out(50, 500, budget)
    assert err.value.code == "batch_paid"


def test_chargebacks_come_off_what_a_batch_pays_never_below_zero():
    budget = SponsorBudget("c_1", topped_up_fen=10_000)
    b = Batch("b2", "c_1", "mer_1", None, NOW, points=150, fen=1_500, redemption_count=1)
    b.close(budget, NOW)
    assert b.can_charge_back(150) and not b.can_charge_back(151)
    b.charge_back(100, 1_000, budget)
    assert (b.points, b.fen, b.chargeback_points, b.chargeback_fen, b.chargeback_count) == (50, 500, 100, 1_000, 1)
    assert budget.committed_fen == 500
    with pytest.raises(Conflict):
        b.charge_back(60, 600, budget)
    b.pay("bank", budget, NOW)
    assert not b.can_charge_back(1) and b.paid_facts()["points"] == 50  # the ledger moves the net points


def test_a_new_batch_takes_the_oldest_chargebacks_its_redemptions_cover():
    pending = [{"_id": f"r{i}", "points": p, "reversed_at": NOW + timedelta(minutes=i)}
               for i, p in enumerate((80, 50, 30))]
    assert [c["_id"] for c in fitting_chargebacks(100, pending)] == ["r0"]  # then 20 left: neither 50 nor 30 fit
    assert [c["_id"] for c in fitting_chargebacks(110, pending)] == ["r0", "r2"]
    assert [c["_id"] for c in fitting_chargebacks(160, pending)] == ["r0", "r1", "r2"]
    assert fitting_chargebacks(20, pending) == []
