"""The read side of grid work: reports as their readers see them (with the points the rules pay for them), a
grid worker's queue, the duties due this period in their grid."""
from __future__ import annotations

from datetime import datetime

from shared.economy import in_effect
from shared.economy.periods import period_of, zone_day
from shared.mongo import utcnow
from services.community.reports import GridReport, Staff
from services.community.reports_store import (ASSIGNMENTS, REPORTS, VERIFICATIONS, to_assignment, to_report,
                                              unknown_report)
from services.community.views import community, rule_versions

LIST_LIMIT = 200


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


def reports(db, community_id: str, where: dict, status: str | None) -> list[dict]:
    query = {"community_id": community_id, **where, **({"status": status} if status else {})}
    docs = db[REPORTS].find(query).sort("created_at", -1).limit(LIST_LIMIT)
    rules = _rules(db, community_id, utcnow())
    return [report(db, to_report(d), rules) for d in docs]


def queue(db, community_id: str, member_id: str, status: str) -> list[dict]:
    """A grid worker's reports to decide (their grid only; an admin's: every grid), oldest first."""
    me = _staff(db, community_id, member_id)
    where = {} if "admin" in me.roles else {"grid_id": me.grid_id or {"$exists": False}}
    query = {"community_id": community_id, "status": status, **where}
    docs = db[REPORTS].find(query).sort("created_at", 1).limit(LIST_LIMIT)
    rules = _rules(db, community_id, utcnow())
    return [report(db, to_report(d), rules) for d in docs]


def readable(db, community_id: str, report_id: str, member_id: str) -> GridReport:
    """The report if this member may read it (reporter, grid worker of its grid, admin); 404 otherwise."""
    doc = db[REPORTS].find_one({"_id": report_id, "community_id": community_id})
    if doc is None or not to_report(doc).readable_by(_staff(db, community_id, member_id)):
        raise unknown_report(report_id)
    return to_report(doc)


def duties_due(db, community_id: str, member_id: str, now: datetime) -> list[dict]:
    """Active duties of the members of my grid (every grid for an admin), each with this period and whether it
    is verified."""
    me = _staff(db, community_id, member_id)
    rules = _rules(db, community_id, now)
    today = zone_day((community(db, community_id).get("settings") or {}).get("timezone"), now)
    members = {"community_id": community_id, **({} if "admin" in me.roles else {"grid_id": me.grid_id})}
    holders = [d["_id"] for d in db.members.find(members, {"_id": 1}).limit(5000)] \
        if me.grid_id or "admin" in me.roles else []
    out = []
    for doc in db[ASSIGNMENTS].find({"community_id": community_id, "active": True, "member_id": {"$in": holders}},
                                    sort=[("member_id", 1), ("duty", 1)]).limit(LIST_LIMIT):
        duty = rules.duty(doc["duty"])
        if duty is None or doc["member_id"] == member_id:
            continue  # a duty the rules no longer price; one's own duty is verified by someone else
        period = period_of(duty["period"], today)
        verified = db[VERIFICATIONS].find_one({"_id": f"{doc['_id']}_{period}"}, {"_id": 1}) is not None
        out.append({**vars(to_assignment(doc)), "period": period, "period_kind": duty["period"],
                    "points": duty["points"], "verified": verified})
    return out
