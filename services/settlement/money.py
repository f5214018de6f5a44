"""Integer money arithmetic: points, fen and basis points, converted with Decimal half-even."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

BASIS_POINTS = 10_000
_ONE = Decimal(1)


def points_to_fen(points: int, rate_fen_per_point: int) -> int:
    """The cash value in fen of `points` at a merchant's rate (half-even to whole fen)."""
    return int((Decimal(points) * Decimal(rate_fen_per_point)).quantize(_ONE, rounding=ROUND_HALF_EVEN))


def share_of_bill_fen(bill_fen: int, share_bp: int) -> int:
    """`share_bp` basis points of a bill in whole fen (half-even): the most points may pay."""
    return int((Decimal(bill_fen) * Decimal(share_bp) / Decimal(BASIS_POINTS)).quantize(
        _ONE, rounding=ROUND_HALF_EVEN))


def max_points_for_bill(bill_fen: int, share_bp: int, rate_fen_per_point: int) -> int:
    """The largest whole number of points whose value fits in the allowed share of a bill."""
    return share_of_bill_fen(bill_fen, share_bp) // rate_fen_per_point
