"""Cross-community conversion (SPEC §2, §7): the one formula the exchange service and the ledger share.

HOUR is universal: an hour is an hour in every community (1:1). PT goes through each community's declared
cash value of a point (`point_value_fen`). Exact `Decimal` arithmetic, and the rounding never creates
value: the side that was not stated is rounded against the person —

* stated by the payer (a gift of 7 points of A): the payee receives the floor of its worth in B's points;
* stated by the payee (a bill of 15 points of B): the payer pays the ceiling of its worth in A's points.

So `debit_amount × payer_fen ≥ credit_amount × payee_fen` always, and both amounts are recorded.

The trust line's net limit is counted in the unit's common measure of what the payee's community honoured:
HOUR in minutes (`credit_amount`), PT in fen (`credit_amount × payee_fen`)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from shared.errors import Unprocessable

UNITS = ("HOUR", "PT")
MEASURE = {"HOUR": "minutes", "PT": "fen"}
_ONE = Decimal(1)


@dataclass(frozen=True)
class Conversion:
    """Both sides of a cross-community amount and what it counts against the trust line."""

    unit: str
    debit_amount: int  # taken from the payer, in the payer community's unit
    credit_amount: int  # given to the payee, in the payee community's unit
    payer_point_value_fen: int | None
    payee_point_value_fen: int | None
    measure: int  # minutes (HOUR) or fen (PT) honoured by the payee's community


def measure(unit: str, credit_amount: int, payee_point_value_fen: int | None) -> int:
    """What `credit_amount` counts against a trust line's net limit (minutes, or fen of value)."""
    return credit_amount if unit == "HOUR" else credit_amount * int(payee_point_value_fen)


def convert(unit: str, amount: int, stated_by: str, payer_point_value_fen: int | None = None,
            payee_point_value_fen: int | None = None) -> Conversion:
    """Convert `amount`, stated in the stating side's unit (`stated_by` = "payer" or "payee")."""
    if unit not in UNITS:
        raise Unprocessable(f"未知单位 {unit!r}。 Unknown unit {unit!r}.", code="unknown_unit")
    if stated_by not in ("payer", "payee"):
        raise ValueError(f"stated_by must be payer or payee, not {stated_by!r}")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Unprocessable("金额须为正整数。 An amount is a positive whole number.", code="bad_amount")
    if unit == "HOUR":
        return Conversion(unit, amount, amount, None, None, amount)
    payer_fen, payee_fen = int(payer_point_value_fen or 0), int(payee_point_value_fen or 0)
    if payer_fen <= 0 or payee_fen <= 0:
        raise Unprocessable("双方社区都须设定积分面值。 Both communities must declare the fen value of a point.",
                            code="point_value_missing")
    if stated_by == "payer":
        debit = amount
        credit = int((Decimal(amount) * payer_fen / payee_fen).quantize(_ONE, rounding=ROUND_FLOOR))
    else:
        credit = amount
        debit = int((Decimal(amount) * payee_fen / payer_fen).quantize(_ONE, rounding=ROUND_CEILING))
    if credit <= 0:
        raise Unprocessable("金额不足对方社区的一个积分。 "
                            "The amount is worth less than one point of the partner community.",
                            code="amount_too_small")
    return Conversion(unit, debit, credit, payer_fen, payee_fen, measure(unit, credit, payee_fen))
