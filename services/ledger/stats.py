"""The economy statistics read model, kept in the transaction that posts the points (issue 13 boards, issue 15
dashboards). The arithmetic is `stats_model`'s; this module turns it into deferred `$inc` writes (the rules of
`shared.groupcommit`: only `tx.defer`, cached values never changed in place) to one collection, `economy_stats`:

| `kind` | `_id` | holds |
|---|---|---|
| `flow` | `f|<c>|<month>|<grid>` | issued, redeemed, expired, penalised, participants (members who first earned that month in that grid), joined (members placed in − taken out of the grid) |
| `board` | `b|<c>|<YYYY-MM or YYYY>|<member>` | points earned by awards that month / year, the member's grid |
| `balance` | `h|<c>|<n>` | how many members hold exactly n > 0 points (for concentration) |
| `expiry` | `e|<c>|<day>` | points of lots expiring that day still held |
| `title` | `t|<c>|<month>|<level>` | honour titles (星级) reached that month |

Why in the posting's transaction: a posting happens once (its transfer id comes from its source fact, redelivered
events find it already made), so a statistic written with it is counted exactly once, survives a crash with it
and never without it, and needs no consumer to catch up. Months are the community's local month at posting time.
Members are counted in a grid from the community's member events (`member_placed`); flows go to the grid the
member is in when the points move ('' for none)."""
from __future__ import annotations

from datetime import datetime

from pymongo import UpdateOne

from services.ledger import lots
from services.ledger.model import Transfer
from services.ledger.repository import LedgerRepository
from services.ledger.stats_model import Move, moves

STATS = "economy_stats"
FIRST_COUNTED = "first_counted"  # summary field: {month, grid} of the member's first count in a grid
COUNTED = "counted_grid"   # summary field: the grid a member is counted in ('' none; absent: not counted)
EARNED = "earned_month"    # summary field: the last month the member earned award points


class TxSink:
    """Increments written with the transaction (deferred: one bulk per group, the rules of shared.groupcommit)."""

    def __init__(self, tx):
        self.tx = tx

    def inc(self, doc_id: str, inc: dict, fields: dict) -> None:
        self.tx.defer(STATS, UpdateOne({"_id": doc_id}, {"$inc": inc, "$set": fields}, upsert=True))


class Tally:
    """Increments merged per document, then written in one bulk: how a bulk load (bench/economy_bench.py) fills
    the read model with the very documents postings keep."""

    def __init__(self):
        self.docs: dict[str, tuple[dict, dict]] = {}

    def inc(self, doc_id: str, inc: dict, fields: dict) -> None:
        counts, _ = self.docs.setdefault(doc_id, ({}, fields))
        for k, v in inc.items():
            counts[k] = counts.get(k, 0) + v

    def operations(self) -> list[UpdateOne]:
        return [UpdateOne({"_id": doc_id}, {"$inc": counts, "$set": fields}, upsert=True)
                for doc_id, (counts, fields) in self.docs.items()]


def flow_id(community_id: str, month: str, grid: str) -> str:
    return f"f|{community_id}|{month}|{grid}"


def board_id(community_id: str, period: str, member_id: str) -> str:
    return f"b|{community_id}|{period}|{member_id}"


def add_flow(sink, community_id: str, month: str, grid: str | None, inc: dict) -> None:
    sink.inc(flow_id(community_id, month, grid or ""), inc, {"kind": "flow", "community_id": community_id,
                                                              "month": month, "grid_id": grid or None})


def add_board(sink, community_id: str, period: str, member_id: str, grid: str | None, points: int) -> None:
    sink.inc(board_id(community_id, period, member_id), {"points": points},
             {"kind": "board", "community_id": community_id, "period": period, "member_id": member_id,
              "grid_id": grid})


def add_balance(sink, community_id: str, balance: int, count: int) -> None:
    if balance > 0:
        sink.inc(f"h|{community_id}|{balance}", {"count": count},
                 {"kind": "balance", "community_id": community_id, "balance": balance})


def add_expiring(sink, community_id: str, day: str, points: int) -> None:
    sink.inc(f"e|{community_id}|{day}", {"points": points}, {"kind": "expiry", "community_id": community_id,
                                                             "day": day})


def add_title(sink, community_id: str, month: str, level: dict) -> None:
    sink.inc(f"t|{community_id}|{month}|{level['level']}", {"count": 1},
             {"kind": "title", "community_id": community_id, "month": month, "level": level["level"],
              "title_zh": level["title_zh"], "title_en": level["title_en"]})


def month_at(repo: LedgerRepository, community_id: str, now: datetime) -> str:
    return lots.local_day(repo, community_id, now).isoformat()[:7]


def count_move(sink, community_id: str, month: str, member_id: str, grid: str | None, move: Move,
               first_this_month: bool, balance_after: int) -> None:
    """One member move of a posting in the read model: its flow (and a participant, the member's first award
    of the month) in the member's grid, the award's board points for the month and the year, the balance
    histogram."""
    inc = {move.flow: move.points} if move.flow else {}
    if move.earned:
        for period in (month, month[:4]):
            add_board(sink, community_id, period, member_id, grid, move.earned)
        if move.earned > 0 and first_this_month:
            inc["participants"] = 1
    if inc:
        add_flow(sink, community_id, month, grid, inc)
    if move.balance_change:
        add_balance(sink, community_id, balance_after - move.balance_change, -1)
        add_balance(sink, community_id, balance_after, 1)


def on_posted(repo: LedgerRepository, t: Transfer, now: datetime, items: list[dict]) -> None:
    """Count a posted PT transfer (inside one community): its flow in the member's grid and month, the board
    points of an award, the members' balances, an honour title reached."""
    if t.unit != "PT" or t.cross:
        return
    reverses = (t.details.get("reverses") or {}).get("workflow") == "award"
    found = moves(t.debit_account, t.credit_account, t.amount, award=t.workflow == "award", reverses_award=reverses)
    if not found:
        return
    sink, cid = TxSink(repo.tx), t.community_id
    month = month_at(repo, cid, now)
    for move in found:
        s = lots.summary(repo, move.member_account)
        first = move.earned > 0 and s.get(EARNED) != month
        if first:
            lots.save_summary(repo, move.member_account, **{EARNED: month})
        count_move(sink, cid, month, move.member_account.split(":")[2], s.get("grid_id"), move, first,
                   repo.account(move.member_account).posted)
    for item in items:
        if item["code"] == "level_reached":
            add_title(sink, cid, month, item)


def lots_moved(tx, account_id: str, before: dict, after) -> None:
    """What the member's lots still hold changed (earned, spent, expired, penalised, repaired): the points
    expiring on each day follow. `before` is {lot id: Lot} as loaded, `after` the lots now."""
    community_id = account_id.split(":")[1]
    changes: dict[str, int] = {}
    for lot in after:
        old = before.get(lot.lot_id)
        delta = lot.remaining - (old.remaining if old else 0)
        if delta and lot.expires_on is not None:
            day = lot.expires_on.isoformat()
            changes[day] = changes.get(day, 0) + delta
    sink = TxSink(tx)
    for day, points in changes.items():
        if points:
            add_expiring(sink, community_id, day, points)


def member_placed(repo: LedgerRepository, community_id: str, member_id: str, grid_id: str | None, active: bool,
                  board_name: str | None, now: datetime) -> None:
    """A member event: the member is counted in their grid while active (moved between grids' counts in this
    month), and the name they chose to show on the boards is kept (None: anonymous)."""
    account_id = lots.model.member_account_id(community_id, member_id, "PT")
    s = lots.summary(repo, account_id)
    target = (grid_id or "") if active else None
    changes = {}
    if s.get(COUNTED) != target:
        month = month_at(repo, community_id, now)
        if s.get(COUNTED) is not None:
            add_flow(TxSink(repo.tx), community_id, month, s[COUNTED], {"joined": -1})
        if target is not None:
            add_flow(TxSink(repo.tx), community_id, month, target, {"joined": 1})
        if FIRST_COUNTED not in s and target is not None:  # where and when first counted (history.py moves it back)
            changes[FIRST_COUNTED] = {"month": month, "grid": target}
        changes[COUNTED] = target
    if s.get("board_name") != board_name:
        changes["board_name"] = board_name
    if changes:
        lots.save_summary(repo, account_id, **changes)
