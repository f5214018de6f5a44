"""The arithmetic of the economy statistics read model (issue 13 boards, issue 15 dashboards). Pure: no I/O.

A posted PT transfer changes the points members hold (`outstanding`) by what it moves between a member and
something that is not a member. What the other side is says which flow it is:

| other side | flow | counted as |
|---|---|---|
| `s:<c>:issuance:PT` | issued | + what the member received (an award; a reversed award counts back) |
| `x:<c>:<merchant>:PT` | redeemed | + what the member paid (a reversed redemption counts back) |
| `s:<c>:expiry:PT` | expired | + what left the member |
| `s:<c>:penalty:PT` | penalised | + what left the member (a penalty, a repaid debt); a repair counts back |

so outstanding at a month's end = outstanding before + issued − redeemed − expired − penalised, exactly the
points members hold. Moves between members, and with a partner community, change no flow.

Concentration is computed from a balance histogram (how many members hold exactly n points, n > 0): work is
bounded by the number of distinct balances, not members. Shares are decimal strings with 4 places, rounded
half-even.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Iterable

FLOWS = ("issued", "redeemed", "expired", "penalised")
SYSTEM_FLOW = {"issuance": "issued", "expiry": "expired", "penalty": "penalised"}
SHARE = Decimal("0.0001")
TOP_PERCENT = 10


@dataclass(frozen=True)
class Move:
    """What one posted transfer does to the statistics of one member: the flow it counts in (or None) and
    by how many points, the change of the member's balance, and the board points earned (awards)."""

    member_account: str
    flow: str | None
    points: int          # added to the flow (negative when a move is undone)
    balance_change: int  # + received, − paid
    earned: int          # board points: an award's amount (− when an award is reversed)


def kind_of(account_id: str) -> str:
    """'member', 'merchant', 'partner' or the system account's name ('issuance', 'expiry', …)."""
    parts = account_id.split(":")
    return {"m": "member", "x": "merchant", "p": "partner"}.get(parts[0]) or parts[2]


def flow_of(other: str) -> str | None:
    """The flow a move between a member and `other` (an account id) counts in; None for none."""
    kind = kind_of(other)
    return "redeemed" if kind == "merchant" else SYSTEM_FLOW.get(kind)


def moves(debit: str, credit: str, amount: int, *, award: bool = False,
          reverses_award: bool = False) -> list[Move]:
    """The member moves of a posted PT transfer of `amount` from `debit` to `credit` (inside one community).
    >>> moves("s:c:issuance:PT", "m:c:a:PT", 30, award=True)[0].points
    30
    """
    out = []
    if kind_of(credit) == "member":  # the member receives: outstanding rises
        flow = None if kind_of(debit) == "member" else flow_of(debit)
        out.append(Move(credit, flow, amount if flow == "issued" else -amount if flow else 0, amount,
                        amount if award else 0))
    if kind_of(debit) == "member":  # the member pays: outstanding falls
        flow = None if kind_of(credit) == "member" else flow_of(credit)
        out.append(Move(debit, flow, -amount if flow == "issued" else amount if flow else 0, -amount,
                        -amount if reverses_award else 0))
    return out


def month_rows(months: list[str], flows: dict[str, dict[str, int]], opening: int) -> list[dict]:
    """One row per month of `months` (sorted): each flow (0 when none) and outstanding at the month's end, from
    `opening` (outstanding before the first month)."""
    rows, outstanding = [], opening
    for month in months:
        f = {k: flows.get(month, {}).get(k, 0) for k in FLOWS}
        outstanding += f["issued"] - f["redeemed"] - f["expired"] - f["penalised"]
        rows.append({"month": month, **f, "outstanding": outstanding})
    return rows


def outstanding_change(flow: dict[str, int]) -> int:
    return flow.get("issued", 0) - sum(flow.get(k, 0) for k in FLOWS[1:])


def months_between(first: str, last: str) -> list[str]:
    """'YYYY-MM' months from `first` to `last`, both included."""
    y, m = int(first[:4]), int(first[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def share(part: int, whole: int) -> str:
    """part / whole as a decimal string of 4 places, half-even (exact: no float)."""
    exact = Fraction(part, whole)
    return str((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(SHARE, rounding=ROUND_HALF_EVEN))


def concentration(histogram: Iterable[tuple[int, int]], percent: int = TOP_PERCENT) -> dict:
    """From {balance: members holding it} (balances > 0): holders, the share of points held by the top
    `percent` % of holders (their number rounded up, at least one), and the Gini coefficient
    G = Σ (2i − n − 1)·xᵢ / (n·Σx) over balances sorted ascending, i = 1…n. A run of c members at value v
    taking positions s+1…s+c adds v·c·(2s + c − n), so the work is one pass over distinct balances.
    Shares are None when nobody holds points."""
    groups = sorted((v, c) for v, c in histogram if v > 0 and c > 0)
    n = sum(c for _, c in groups)
    total = sum(v * c for v, c in groups)
    if not n:
        return {"holders": 0, "top10_share": None, "gini": None}
    weighted, below = 0, 0
    for v, c in groups:
        weighted += v * c * (2 * below + c - n)
        below += c
    held, left = 0, -(-n * percent // 100) or 1
    for v, c in reversed(groups):
        take = min(c, left)
        held, left = held + v * take, left - take
        if not left:
            break
    return {"holders": n, "top10_share": share(held, total), "gini": share(weighted, n * total)}


def ranked(rows: list[dict], key: str = "points") -> list[dict]:
    """Rows sorted by `key` descending with a competition rank (1, 2, 2, 4): equal points, equal rank."""
    out, rank, last = [], 0, None
    for i, row in enumerate(rows, start=1):
        if row[key] != last:
            rank, last = i, row[key]
        out.append({**row, "rank": rank})
    return out


def pseudonym(community_id: str, member_id: str) -> dict:
    """A member's stable anonymous name on the boards: the same in every period, unguessable from the member id
    without the community's id, different between communities. '志愿者 7F3A2' / 'Volunteer 7F3A2'."""
    tag = hashlib.sha256(f"{community_id}:{member_id}".encode()).hexdigest()[:5].upper()
    return {"zh-CN": f"志愿者 {tag}", "en": f"Volunteer {tag}"}


def period_of(period: str, at: str) -> str:
    """The key of a board's period: 'YYYY-MM' for a month, 'YYYY' for a year (`at` is 'YYYY-MM' or 'YYYY')."""
    return at[:7] if period == "month" else at[:4]
