"""Read side of the economy statistics (`stats` keeps them): the dashboards' figures, the leaderboards and the
public honour board. Every answer reads a bounded number of precomputed documents (months × grids, distinct
balances, 90 expiry days, one page of a board), never the postings."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from shared.errors import Forbidden, NotFound
from shared.mongo import utcnow
from services.ledger.lots import SUMMARIES, zone_day
from services.ledger.model import Actor, member_account_id
from services.ledger.stats import STATS, board_id
from services.ledger.stats_model import (FLOWS, concentration, month_rows, months_between, outstanding_change,
                                         pseudonym, ranked)

FORECAST = (30, 90)
HONOUR_BOARD_ROWS = 10


def today_of(db, community_id: str):
    community = db.communities.find_one({"_id": community_id}, {"timezone": 1})
    return community, zone_day((community or {}).get("timezone"), utcnow())


def grid_in_scope(db, actor: Actor, asked: str | None) -> str | None:
    """The grid a caller may see the statistics of: an admin any (None: all); a grid worker only their own
    (403 `grid_not_yours` for another, or when they have none)."""
    if actor.has_role("admin"):
        return asked
    summary = db[SUMMARIES].find_one({"_id": member_account_id(actor.community_id, actor.member_id, "PT")},
                                     {"grid_id": 1}) or {}
    mine = summary.get("grid_id")
    if mine is None or (asked is not None and asked != mine):
        raise Forbidden("您只能查看自己网格的统计。 You can only see the statistics of your own grid.",
                        code="grid_not_yours")
    return mine


def economy_stats(db, community_id: str, first: str, last: str, grid: str | None = None) -> dict:
    """Flows per month (of one grid, or all), per grid and month, concentration and the expiry forecast."""
    query = {"kind": "flow", "community_id": community_id, "month": {"$lte": last}}
    if grid is not None:
        query["grid_id"] = grid
    months = months_between(first, last)
    per_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_grid: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    opening, joined_before = 0, defaultdict(int)
    for doc in db[STATS].find(query, {"_id": 0, "kind": 0, "community_id": 0}):
        month, key = doc["month"], doc.get("grid_id") or ""
        if month < first:
            opening += outstanding_change(doc)
            joined_before[key] += doc.get("joined", 0)
            continue
        for k in (*FLOWS, "participants", "joined"):
            per_month[month][k] += doc.get(k, 0)
            per_grid[key][month][k] += doc.get(k, 0)
    grids, members = [], defaultdict(int)
    for key in sorted(set(per_grid) | set(joined_before)):
        count = joined_before[key]
        for month in months:
            row = per_grid[key][month]
            count += row["joined"]
            members[month] += count
            grids.append({"grid_id": key or None, "month": month, **{k: row[k] for k in FLOWS},
                          "participants": row["participants"], "members": count})
    rows = [{**row, "participants": per_month[row["month"]]["participants"], "members": members[row["month"]]}
            for row in month_rows(months, per_month, opening)]
    _, today = today_of(db, community_id)
    return {"community_id": community_id, "from": first, "to": last, "grid_id": grid, "months": rows,
            "grids": grids, "concentration": concentration_of(db, community_id),
            "expiring": expiring(db, community_id, today)}


def concentration_of(db, community_id: str) -> dict:
    """Top-10 % share and Gini over members' balances, from the balance histogram."""
    docs = db[STATS].find({"kind": "balance", "community_id": community_id, "count": {"$gt": 0}},
                          {"_id": 0, "balance": 1, "count": 1})
    return concentration((d["balance"], d["count"]) for d in docs)


def expiring(db, community_id: str, today) -> dict:
    """Points of lots still held that expire after today and within 30 / 90 days."""
    days = {(today + timedelta(days=n)).isoformat(): n for n in range(1, max(FORECAST) + 1)}
    docs = db[STATS].find({"kind": "expiry", "community_id": community_id,
                           "day": {"$gt": today.isoformat(), "$lte": max(days)}}, {"_id": 0, "day": 1, "points": 1})
    held = {d["day"]: d["points"] for d in docs}
    return {f"next_{n}_days": sum(p for day, p in held.items() if days[day] <= n) for n in FORECAST}


# -- boards -------------------------------------------------------------------------------------------
def _rows(db, community_id: str, docs: list[dict], me: str | None) -> list[dict]:
    """Board rows: rank, points, the name the member chose to show (else their pseudonym), their title."""
    ids = [member_account_id(community_id, d["member_id"], "PT") for d in docs]
    summaries = {s["_id"]: s for s in db[SUMMARIES].find({"_id": {"$in": ids}},
                                                         {"board_name": 1, "level": 1, "title_zh": 1,
                                                          "title_en": 1})}
    rows = []
    for doc, account_id in zip(docs, ids):
        s = summaries.get(account_id, {})
        chosen = s.get("board_name")
        rows.append({"points": doc["points"], "name": {"zh-CN": chosen, "en": chosen} if chosen
                     else pseudonym(community_id, doc["member_id"]), "named": bool(chosen),
                     "level": s.get("level", 0), "title_zh": s.get("title_zh"), "title_en": s.get("title_en"),
                     "is_me": doc["member_id"] == me})
    return ranked(rows)


def board(db, community_id: str, period: str, grid: str | None, limit: int, me: str | None) -> tuple[list, dict]:
    """The top `limit` of a period's board (of one grid, or the community) and the caller's own rank."""
    query = {"kind": "board", "community_id": community_id, "period": period, "points": {"$gt": 0}}
    if grid is not None:
        query["grid_id"] = grid
    docs = list(db[STATS].find(query, {"_id": 0, "member_id": 1, "points": 1})
                .sort([("points", -1), ("member_id", 1)]).limit(limit))
    rows = _rows(db, community_id, docs, me)
    mine = {"rank": None, "points": 0}
    if me is not None:
        doc = db[STATS].find_one({"_id": board_id(community_id, period, me)}, {"points": 1, "grid_id": 1})
        if doc and doc["points"] > 0 and (grid is None or doc.get("grid_id") == grid):
            ahead = db[STATS].count_documents({**query, "points": {"$gt": doc["points"]}})
            mine = {"rank": ahead + 1, "points": doc["points"]}
    return rows, mine


def leaderboard(db, actor: Actor, period: str, at: str, grid: str | None, limit: int) -> dict:
    key = at[:7] if period == "month" else at[:4]
    rows, me = board(db, actor.community_id, key, grid, limit, actor.member_id)
    return {"community_id": actor.community_id, "period": period, "at": key, "grid_id": grid, "rows": rows,
            "me": me}


def honour_board(db, community_id: str) -> dict:
    """公示栏: this month's anonymised top ten (names only of members who opted in), the honour titles reached
    this month, the points issued and redeemed and how many members earned. No member ids."""
    community, today = today_of(db, community_id)
    if community is None:
        raise NotFound("没有这个社区。 No such community.", code="unknown_community")
    month = today.isoformat()[:7]
    rows, _ = board(db, community_id, month, None, HONOUR_BOARD_ROWS, None)
    titles = [{k: d[k] for k in ("level", "title_zh", "title_en", "count")} for d in
              db[STATS].find({"kind": "title", "community_id": community_id, "month": month}).sort("level", 1)]
    totals = defaultdict(int)
    for doc in db[STATS].find({"kind": "flow", "community_id": community_id, "month": month}):
        for k in ("issued", "redeemed", "participants"):
            totals[k] += doc.get(k, 0)
    return {"community_id": community_id, "month": month, "updated_at": utcnow().isoformat(),
            "leaderboard": rows,
            "titles": titles, **{k: totals[k] for k in ("issued", "redeemed", "participants")}}
