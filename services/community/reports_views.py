"""The read side of grid work: reports as their readers see them (with the points the rules pay for them), a
grid worker's queue, the duties due this period in their grid.

Lists come a page at a time with the services' keyset convention (the ledger's journal): `?limit=&cursor=`
answered with `{items, next_cursor}`, the cursor being `shared.schemas.encode_cursor(position, id)` of the last
item: for reports, (created_at in epoch milliseconds, report id); for duties, ordered by assignment id, (0, id).
An item added or decided while a client pages neither repeats nor shifts the pages after it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.economy import in_effect
from shared.economy.periods import period_of, zone_day
from shared.mongo import utcnow
from shared.schemas import encode_cursor
from services.community.reports import GridReport, Staff, verification_id
from services.community.reports_store import (ASSIGNMENTS, REPORTS, VERIFICATIONS, to_assignment, to_report,
                                              unknown_report)
from services.community.views import community, rule_versions

EPOCH, MS = datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta(milliseconds=1)
MEMBERS_LIMIT = 5000  # members of a grid (or a community, for an admin) whose duties are listed


def _rules(db, community_id: str, at: datetime):
    return in_effect([v.rule_set() for v in rule_versions(db, community_id)], at)


def _staff(db, community_id: str, member_id: str) -> Staff:
    doc = db.members.find_one({"_id": member_id, "community_id": community_id}, {"roles": 1, "grid_id": 1}) or {}
    return Staff(member_id, tuple(doc.get("roles") or ()), doc.get("grid_id"))


def report(db, found: GridReport, rules=None) -> dict:
    """A report with the points its type is worth under the rules in effect now (a confirmed major hazard's bonus
    included); the ledger's award, with caps, is what is paid."""
    rules = rules or _rules(db, found.community_id, utcnow())
    kind = rules.report_type(found.report_type) or {"points": 0, "major_hazard_bonus": 0}
    major = found.major_hazard if found.status == "verified" else found.major_hazard_claimed
    return {**vars(found), "points": kind["points"] + (kind["major_hazard_bonus"] if major else 0)}


def _page(docs: list[dict], limit: int, position, render) -> dict:
    """`limit` items (of `limit + 1` fetched: one more says there is a next page) and the cursor after them."""
    more, docs = len(docs) > limit, docs[:limit]
    return {"items": [render(d) for d in docs],
            "next_cursor": encode_cursor(position(docs[-1]), docs[-1]["_id"]) if more else None}


def _report_page(db, community_id: str, query: dict, direction: int, limit: int, cursor) -> dict:
    """Reports by (created_at, id), newest first (direction -1) or oldest first (1), after `cursor`."""
    if cursor:
        at, report_id = EPOCH + cursor[0] * MS, cursor[1]
        beyond = "$lt" if direction < 0 else "$gt"
        query = {**query, "$or": [{"created_at": {beyond: at}}, {"created_at": at, "_id": {beyond: report_id}}]}
    docs = list(db[REPORTS].find(query).sort([("created_at", direction), ("_id", direction)]).limit(limit + 1))
    rules = _rules(db, community_id, utcnow())
    return _page(docs, limit, lambda d: (d["created_at"] - EPOCH) // MS, lambda d: report(db, to_report(d), rules))


def reports(db, community_id: str, where: dict, status: str | None, *, limit: int, cursor=None) -> dict:
    """Reports (e.g. a reporter's), newest first, a page at a time."""
    query = {"community_id": community_id, **where, **({"status": status} if status else {})}
    return _report_page(db, community_id, query, -1, limit, cursor)


def queue(db, community_id: str, member_id: str, status: str, *, limit: int, cursor=None) -> dict:
    """A grid worker's reports to decide (their grid only; an admin's: every grid), oldest first, a page at a
    time."""
    me = _staff(db, community_id, member_id)
    where = {} if "admin" in me.roles else {"grid_id": me.grid_id or {"$exists": False}}
    return _report_page(db, community_id, {"community_id": community_id, "status": status, **where}, 1, limit, cursor)


def readable(db, community_id: str, report_id: str, member_id: str) -> GridReport:
    """The report if this member may read it (reporter, grid worker of its grid, admin); 404 otherwise."""
    doc = db[REPORTS].find_one({"_id": report_id, "community_id": community_id})
    if doc is None or not to_report(doc).readable_by(_staff(db, community_id, member_id)):
        raise unknown_report(report_id)
    return to_report(doc)


def duties_due(db, community_id: str, member_id: str, now: datetime, *, limit: int, cursor=None) -> dict:
    """Active duties of the members of my grid (every grid for an admin) but mine (verified by someone else), that
    the rules in effect price, each with this period and whether it is verified; by assignment id (member, then
    duty), a page at a time."""
    me = _staff(db, community_id, member_id)
    rules = _rules(db, community_id, now)
    today = zone_day((community(db, community_id).get("settings") or {}).get("timezone"), now)
    members = {"community_id": community_id, "_id": {"$ne": member_id},
               **({} if "admin" in me.roles else {"grid_id": me.grid_id})}
    holders = [d["_id"] for d in db.members.find(members, {"_id": 1}).limit(MEMBERS_LIMIT)] \
        if me.grid_id or "admin" in me.roles else []
    query = {"community_id": community_id, "active": True, "member_id": {"$in": holders},
             "duty": {"$in": sorted(rules["duties"])}, **({"_id": {"$gt": cursor[1]}} if cursor else {})}
    docs = list(db[ASSIGNMENTS].find(query).sort("_id", 1).limit(limit + 1))
    periods = {d["_id"]: period_of(rules.duty(d["duty"])["period"], today) for d in docs}
    ids = {d["_id"]: verification_id(to_assignment(d), periods[d["_id"]]) for d in docs}
    verified = {v["_id"] for v in db[VERIFICATIONS].find({"_id": {"$in": list(ids.values())}}, {"_id": 1})}

    def due(doc: dict) -> dict:
        duty, period = rules.duty(doc["duty"]), periods[doc["_id"]]
        return {**vars(to_assignment(doc)), "period": period, "period_kind": duty["period"],
                "points": duty["points"], "verified": ids[doc["_id"]] in verified}
    return _page(docs, limit, lambda d: 0, due)
