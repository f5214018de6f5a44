"""The cross-community conversion, with hand-worked examples (shared.crossrate)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from shared.crossrate import Conversion, convert, measure
from shared.errors import Unprocessable


def test_hours_are_one_to_one_whoever_states_them():
    assert convert("HOUR", 90, "payer") == Conversion("HOUR", 90, 90, None, None, 90)
    assert convert("HOUR", 45, "payee", 10, 3) == Conversion("HOUR", 45, 45, None, None, 45)


@pytest.mark.parametrize("amount, stated_by, payer_fen, payee_fen, debit, credit, value", [
    # A point of A is worth 10 fen, of B 5 fen: 7 A-points are worth 70 fen = exactly 14 B-points.
    (7, "payer", 10, 5, 7, 14, 70),
    # B bills 15 B-points (75 fen) = 7.5 A-points: the payer pays the ceiling, 8 (80 fen).
    (15, "payee", 10, 5, 8, 15, 75),
    # A gift of 10 A-points (100 fen) to a community whose point is 3 fen: 33.33… → 33 (99 fen).
    (10, "payer", 10, 3, 10, 33, 99),
    # A bill of 33 of those 3-fen points (99 fen) = 9.9 A-points → the payer pays 10.
    (33, "payee", 10, 3, 10, 33, 99),
    # 3 points of 5 fen (15 fen) to 10-fen points: 1.5 → 1. Half-even would give 2 and create 5 fen.
    (3, "payer", 5, 10, 3, 1, 10),
    # A bill of 1 point of 10 fen paid with 5-fen points: exactly 2.
    (1, "payee", 5, 10, 2, 1, 10),
    # 25 points of 10 fen billed to a 4-fen community: 62.5 → 63 (payer rounded up, never 62).
    (25, "payee", 4, 10, 63, 25, 250),
    # Equal values convert 1:1.
    (123, "payer", 10, 10, 123, 123, 1230),
])
def test_points_convert_through_fen_values_payer_up_payee_down(amount, stated_by, payer_fen, payee_fen, debit,
                                                                 credit, value):
    c = convert("PT", amount, stated_by, payer_fen, payee_fen)
    assert (c.debit_amount, c.credit_amount, c.measure) == (debit, credit, value)
    assert (c.payer_point_value_fen, c.payee_point_value_fen) == (payer_fen, payee_fen)
    # The system never creates value: what leaves the payer is worth at least what reaches the payee.
    assert c.debit_amount * payer_fen >= c.credit_amount * payee_fen


def test_never_creates_value_over_a_grid_of_amounts_and_values():
    for payer_fen in (1, 3, 7, 10, 33):
        for payee_fen in (1, 2, 5, 10, 12):
            for amount in range(-(-payee_fen // payer_fen), 60):
                for side in ("payer", "payee"):
                    c = convert("PT", amount, side, payer_fen, payee_fen)
                    exact = Decimal(c.debit_amount * payer_fen) - Decimal(c.credit_amount * payee_fen)
                    assert exact >= 0
                    # …and takes less than one point more than needed on the side it rounds.
                    if side == "payer":
                        assert exact < payee_fen
                    else:
                        assert exact < payer_fen


def test_large_amounts_are_exact():
    c = convert("PT", 10**12, "payer", 99_999, 7)
    assert c.credit_amount == 10**12 * 99_999 // 7


@pytest.mark.parametrize("args, code", [
    (("PT", 1, "payer", 5, 10), "amount_too_small"),
    (("PT", 0, "payer", 5, 10), "bad_amount"),
    (("PT", -3, "payee", 5, 10), "bad_amount"),
    (("PT", 2.5, "payee", 5, 10), "bad_amount"),
    (("PT", 5, "payer", None, 10), "point_value_missing"),
    (("EUR", 5, "payer", 1, 1), "unknown_unit"),
])
def test_refusals(args, code):
    with pytest.raises(Unprocessable) as err:
        convert(*args)
    assert err.value.code == code


def test_measure_is_minutes_or_fen_honoured_by_the_payee():
    assert measure("HOUR", 30, None) == 30
    assert measure("PT", 14, 5) == 70
