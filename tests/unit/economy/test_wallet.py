"""Point lots (shared.economy.wallet): FIFO spending, expiry (rolling and annual clearing), penalties larger than
the balance, point repair (also after expiry), honour levels and the redemption threshold. Hand-worked numbers."""
from __future__ import annotations

from datetime import date

import pytest

from shared.economy import (Penalty, Wallet, check_loan, check_redemption, expiry_date, from_document, honour_level,
                            repairable)
from shared.economy.rules import default_document
from shared.economy.wallet import add_months
from shared.errors import Conflict, Unprocessable

ROLLING = from_document(default_document(), version=1)          # 12 months
ANNUAL = from_document({**default_document(), "expiry": {"mode": "annual", "months": 12, "clearing_date": "01-01",
                                                         "reminder_days": [30]}}, version=2)


def wallet_of(*lots) -> Wallet:
    """A wallet credited with (lot_id, points, earned_on) in order."""
    wallet = Wallet()
    for lot_id, points, earned_on in lots:
        wallet, _ = wallet.earn(lot_id, points, earned_on, ROLLING)
    return wallet


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_rolling_expiry_12_months_after_earning_and_annual_clearing_on_the_next_clearing_date():
    assert expiry_date(ROLLING, date(2026, 3, 10)) == date(2027, 3, 10)
    assert expiry_date(ANNUAL, date(2026, 3, 10)) == date(2027, 1, 1)
    assert expiry_date(ANNUAL, date(2026, 12, 31)) == date(2027, 1, 1)   # cleared the next day (年度清零)
    mid = from_document({**default_document(), "expiry": {**default_document()["expiry"], "mode": "annual",
                                                         "clearing_date": "06-30"}})
    assert expiry_date(mid, date(2026, 3, 10)) == date(2026, 6, 30)
    assert expiry_date(mid, date(2026, 6, 30)) == date(2027, 6, 30)
    never = from_document({**default_document(), "expiry": {**default_document()["expiry"], "mode": "never"}})
    assert expiry_date(never, date(2026, 3, 10)) is None


def test_spending_takes_the_oldest_lot_first_and_can_leave_it_partly_spent():
    # lots 30 (Jan) + 50 (Mar); spend 40 → Jan lot 30 gone, Mar lot 50 − 10 = 40 left
    wallet = wallet_of(("L1", 30, date(2026, 1, 5)), ("L2", 50, date(2026, 3, 5)))
    wallet, items = wallet.spend(40)
    assert [(i["lot_id"], i["points"]) for i in items] == [("L1", -30), ("L2", -10)]
    assert [(lot.lot_id, lot.remaining) for lot in wallet.lots] == [("L1", 0), ("L2", 40)] and wallet.balance == 40


def test_spending_more_than_the_balance_is_refused():
    with pytest.raises(Conflict) as refused:
        wallet_of(("L1", 30, date(2026, 1, 5))).spend(31)
    assert refused.value.code == "insufficient_points"


def test_expiry_of_a_partly_spent_lot_expires_only_its_remainder():
    # Jan lot 30, Mar lot 50; spend 20 → Jan lot has 10 left. On 2027-01-05 the Jan lot expires: −10 (not −30);
    # the Mar lot's 50 stay until 2027-03-05.
    wallet = wallet_of(("L1", 30, date(2026, 1, 5)), ("L2", 50, date(2026, 3, 5)))
    wallet, _ = wallet.spend(20)
    before, _ = wallet.expire(date(2027, 1, 4))
    assert before.balance == 60
    wallet, items = wallet.expire(date(2027, 1, 5))
    assert [(i["code"], i["lot_id"], i["points"]) for i in items] == [("expired", "L1", -10)]
    assert wallet.balance == 50
    again, none = wallet.expire(date(2027, 1, 5))
    assert none == [] and again == wallet  # idempotent


def test_annual_clearing_expires_everything_earned_before_the_clearing_date():
    wallet = Wallet()
    for lot_id, points, earned_on in (("A", 20, date(2026, 2, 1)), ("B", 35, date(2026, 12, 31)),
                                      ("C", 5, date(2027, 1, 1))):
        wallet, _ = wallet.earn(lot_id, points, earned_on, ANNUAL)
    wallet, items = wallet.expire(date(2027, 1, 1))
    assert sum(i["points"] for i in items) == -55 and wallet.balance == 5  # 20 + 35 cleared; C earned on the day stays


def test_points_expiring_within_30_days_for_reminders():
    wallet = wallet_of(("L1", 30, date(2026, 1, 5)), ("L2", 50, date(2026, 3, 5)))
    assert wallet.expiring(date(2026, 12, 10), 30) == 30 and wallet.expiring(date(2026, 12, 10), 90) == 80
    assert wallet.expiring(date(2027, 1, 5), 30) == 0  # expiring on the day means already due, not "within"


def test_a_penalty_within_the_balance_takes_from_the_oldest_lot():
    wallet, items = wallet_of(("L1", 30, date(2026, 1, 5))).penalise(ROLLING, "noise")
    assert wallet.balance == 20 and wallet.debt == 0
    assert items == [{"code": "penalty", "points": -10, "lot_id": "L1", "earned_on": "2026-01-05",
                      "expires_on": "2027-01-05", "rule_version": 1, "reason": "noise"}]


def test_a_penalty_larger_than_the_balance_empties_it_and_records_the_rest_as_owed_then_repaid_from_later_points():
    # balance 6, penalty 10 → 6 taken, 4 owed; balance 0 (never negative).
    # next award 20 → 4 repay the debt, a lot of 16 is created.
    wallet, items = wallet_of(("L1", 6, date(2026, 1, 5))).penalise(ROLLING, "littering")
    assert [(i["code"], i["points"]) for i in items] == [("penalty", -6), ("penalty_debt", -4)]
    assert (wallet.balance, wallet.debt) == (0, 4)
    wallet, items = wallet.earn("L2", 20, date(2026, 2, 1), ROLLING)
    assert [(i["code"], i["points"]) for i in items] == [("debt_repaid", -4), ("lot_earned", 16)]
    assert (wallet.balance, wallet.debt) == (16, 0)


def test_an_award_smaller_than_the_debt_only_repays_it():
    wallet, _ = Wallet().penalise(ROLLING, "noise")     # nothing to take: 10 owed
    wallet, items = wallet.earn("L1", 5, date(2026, 2, 1), ROLLING)
    assert (wallet.balance, wallet.debt, len(wallet.lots)) == (0, 5, 0) and items[0]["points"] == -5


def test_repair_restores_penalised_points_as_a_new_lot():
    # 30 earned, −10 noise → 20; repair 10 on Mar 1 → a new lot of 10 expiring 2027-03-01; balance 30
    wallet, _ = wallet_of(("L1", 30, date(2026, 1, 5))).penalise(ROLLING, "noise")
    penalty = Penalty("p1", "noise", 10, date(2026, 2, 1))
    wallet, penalty, items = wallet.repair(penalty, "R1", 10, date(2026, 3, 1), ROLLING)
    assert wallet.balance == 30 and penalty.repaired == 10
    assert items == [{"code": "repair_lot", "points": 10, "lot_id": "R1", "earned_on": "2026-03-01",
                      "expires_on": "2027-03-01", "rule_version": 1, "penalty_id": "p1"}]
    assert repairable(penalty, date(2026, 3, 2), ROLLING) == 0


def test_repair_after_the_penalised_lot_expired_still_restores_the_points():
    # Lot L1 30 earned 2026-01-05 (expires 2027-01-05); penalty −10 on 2026-12-20 → 20 left;
    # 2027-01-05: L1 expires, −20 → balance 0; repair 10 on 2027-01-10 → new lot of 10 until 2028-01-10.
    wallet, _ = wallet_of(("L1", 30, date(2026, 1, 5))).penalise(ROLLING, "noise")
    penalty = Penalty("p1", "noise", 10, date(2026, 12, 20))
    wallet, expired = wallet.expire(date(2027, 1, 5))
    assert expired[0]["points"] == -20 and wallet.balance == 0
    wallet, penalty, items = wallet.repair(penalty, "R1", 10, date(2027, 1, 10), ROLLING)
    assert wallet.balance == 10 and items[0]["expires_on"] == "2028-01-10"
    still, _ = wallet.expire(date(2027, 1, 10))
    assert still.balance == 10  # the repair did not revive the expired lot, so nothing expires with it


def test_repair_first_forgives_points_still_owed():
    # balance 6, penalty 10 → 4 owed; repair 10 → 4 forgiven, 6 back as a lot
    wallet, _ = wallet_of(("L1", 6, date(2026, 1, 5))).penalise(ROLLING, "noise")
    wallet, _, items = wallet.repair(Penalty("p1", "noise", 10, date(2026, 1, 6)), "R1", 10, date(2026, 1, 7),
                                     ROLLING)
    assert [(i["code"], i["points"]) for i in items] == [("repair_debt", 4), ("repair_lot", 6)]
    assert (wallet.balance, wallet.debt) == (6, 0)


def test_repair_is_limited_by_the_window_and_the_share_the_rules_allow():
    half = from_document({**default_document(), "repair": {"window_days": 30, "max_percent": 50}})
    penalty = Penalty("p1", "noise", 15, date(2026, 1, 1))
    assert repairable(penalty, date(2026, 1, 31), half) == 8   # 15 × 50% = 7.5 → 8 (half-even)
    assert repairable(penalty, date(2026, 2, 1), half) == 0    # 31 days later: closed
    with pytest.raises(Unprocessable) as too_much:
        Wallet().repair(penalty, "R1", 9, date(2026, 1, 10), half)
    assert too_much.value.code == "repair_exceeds_penalty" and too_much.value.extra["repairable"] == 8
    with pytest.raises(Unprocessable) as late:
        Wallet().repair(penalty, "R1", 1, date(2026, 2, 1), half)
    assert late.value.code == "repair_window_closed"


def test_honour_levels_by_threshold():
    assert honour_level(ROLLING, 99) == {"level": 0, "title_zh": None, "title_en": None, "next_threshold": 100,
                                         "points_to_next": 1}
    assert honour_level(ROLLING, 300)["title_zh"] == "二星志愿者"
    top = honour_level(ROLLING, 2000)
    assert (top["level"], top["title_en"], top["next_threshold"]) == (5, "Five-star volunteer", None)


def test_minimum_redemption_threshold_50_is_on_the_points_held_not_the_amount():
    check_redemption(ROLLING, 50, 50)   # holding exactly 50: may redeem
    check_redemption(ROLLING, 120, 10)  # holding 120: a 10-point item is fine
    with pytest.raises(Unprocessable) as refused:
        check_redemption(ROLLING, 49, 10)  # holding 49 < 50: nothing, however small; short by 50 − 49 = 1
    assert refused.value.code == "below_redemption_threshold"
    assert (refused.value.extra["minimum"], refused.value.extra["balance"], refused.value.extra["short_by"]) == (50, 49, 1)


def test_amounts_must_be_positive_whole_points():
    for bad in (0, -5, True, 2.5):
        with pytest.raises(Unprocessable) as refused:
            wallet_of(("L1", 30, date(2026, 1, 5))).spend(bad)
        assert refused.value.code == "bad_amount"


def test_a_penalty_reason_the_rules_do_not_set_is_refused():
    with pytest.raises(Unprocessable) as refused:
        Wallet().penalise(ROLLING, "parking")
    assert refused.value.code == "unknown_penalty"


def test_expiry_reminders_30_and_7_days_before():
    # lots expiring 2027-01-05 (30) and 2027-03-05 (50); reminders at 30 and 7 days before
    wallet = wallet_of(("L1", 30, date(2026, 1, 5)), ("L2", 50, date(2026, 3, 5)))
    assert wallet.reminders(date(2026, 12, 6), ROLLING) == [{"days": 30, "expires_on": "2027-01-05", "points": 30}]
    assert wallet.reminders(date(2026, 12, 29), ROLLING) == [{"days": 7, "expires_on": "2027-01-05", "points": 30}]
    assert wallet.reminders(date(2026, 12, 7), ROLLING) == []


def test_points_loans_stay_within_the_limit():
    lending = from_document({**default_document(), "points_loan_limit": 100})
    check_loan(lending, 60, 40)                     # 60 + 40 = 100: at the limit
    with pytest.raises(Unprocessable) as refused:
        check_loan(lending, 60, 41)                 # 101 > 100
    assert refused.value.code == "loan_over_limit" and refused.value.extra["outstanding"] == 60
    with pytest.raises(Unprocessable):
        check_loan(ROLLING, 0, 1)                   # the default: no loans
