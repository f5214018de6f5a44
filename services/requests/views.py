"""Read-side queries of the requests service, with the privacy rules applied (no unit of work needed)."""
from __future__ import annotations

import re
from datetime import datetime

from pymongo import ASCENDING, DESCENDING

from shared.auth import STAFF_ROLES, Principal
from shared.errors import Forbidden, NotFound
from services.requests import stats
from services.requests.model import COMMITTED, Policy
from services.requests.repository import (ACTIVITIES, OFFERS, REQUESTS, SIGNUPS, STAT_CELLS, STAT_MEMBERS,
                                          request_from_doc, signup_id)

PRIVATE_FIELDS = ("code", "version", "_id", "released_helpers")


def is_staff(principal: Principal) -> bool:
    """Organizers, grid workers and admins see private requests of their community."""
    return principal.has_role(*STAFF_ROLES)


def request_view(doc_or_req, principal: Principal, policy: Policy) -> dict:
    """A request as `principal` may see it: private requesters and ratings hidden from bystanders."""
    req = request_from_doc(doc_or_req) if isinstance(doc_or_req, dict) else doc_or_req
    staff = is_staff(principal)
    party = principal.member_id in (req.requester_id, req.helper_id)
    view = {k: v for k, v in vars(req).items() if k not in PRIVATE_FIELDS and k != "events"}
    if not req.requester_visible_to(principal.member_id, staff):
        view["requester_id"] = None
    if not (party or staff):
        view["rating"] = None
    view["max_claim_minutes"] = req.max_claim(policy) if req.ended_at and req.status == "in_progress" else None
    return view


def _page(cursor, total: int, limit: int, offset: int, render) -> dict:
    return {"items": [render(d) for d in cursor], "total": total, "limit": limit, "offset": offset}


def request(db, principal: Principal, request_id: str, policy: Policy) -> dict:
    """One request of the caller's community, or 404."""
    doc = db[REQUESTS].find_one({"_id": request_id, "community_id": principal.community_id})
    if doc is None:
        raise NotFound(f"没有这条求助（{request_id}）。 No request {request_id}.", code="unknown_request")
    return request_view(doc, principal, policy)


def words_in(q: str, *fields: str) -> dict:
    """Every word of `q` somewhere in one of `fields`, as a substring, case-insensitive: Chinese has no spaces
    between words, so 「取药」 must find 「帮忙取药」 (MongoDB's $text only matches whole space-separated words)."""
    return {"$and": [{"$or": [{f: {"$regex": re.escape(word), "$options": "i"}} for f in fields]}
                     for word in q.split()]}


def browse(db, principal: Principal, args: dict, now: datetime, policy: Policy) -> dict:
    """Open requests of my community whose window is not over: by grid, category, unit, time window, text."""
    query: dict = {"community_id": principal.community_id, "status": "open", "window_end": {"$gt": now}}
    for name in ("grid_id", "category", "unit"):
        if args.get(name):
            query[name] = args[name]
    if args.get("starts_from"):
        query["window_end"] = {"$gt": max(now, args["starts_from"])}
    if args.get("ends_by"):
        query["window_start"] = {"$lt": args["ends_by"]}
    if args.get("q", "").strip():
        query.update(words_in(args["q"], "title", "description"))
    cursor = db[REQUESTS].find(query).sort([("window_start", ASCENDING), ("_id", ASCENDING)]) \
        .skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[REQUESTS].count_documents(query), args["limit"], args["offset"],
                 lambda d: request_view(d, principal, policy))


def mine(db, principal: Principal, args: dict, policy: Policy) -> dict:
    """Requests I posted, newest first (optionally one status)."""
    query = {"community_id": principal.community_id, "requester_id": principal.member_id}
    if args.get("status"):
        query["status"] = args["status"]
    cursor = db[REQUESTS].find(query).sort([("created_at", DESCENDING), ("_id", ASCENDING)]) \
        .skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[REQUESTS].count_documents(query), args["limit"], args["offset"],
                 lambda d: request_view(d, principal, policy))


def commitments(db, principal: Principal, args: dict, policy: Policy) -> dict:
    """Requests I accepted: by default those still to do or awaiting settlement, soonest first."""
    query = {"community_id": principal.community_id, "helper_id": principal.member_id,
             "status": args["status"] if args.get("status") else {"$in": [*COMMITTED, "claimed"]}}
    cursor = db[REQUESTS].find(query).sort([("window_start", ASCENDING), ("_id", ASCENDING)]) \
        .skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[REQUESTS].count_documents(query), args["limit"], args["offset"],
                 lambda d: request_view(d, principal, policy))


def ratings_received(db, principal: Principal, args: dict) -> dict:
    """The ratings neighbours gave to my help, newest first."""
    query = {"community_id": principal.community_id, "helper_id": principal.member_id, "rating": {"$ne": None}}
    cursor = db[REQUESTS].find(query).sort([("rating.rated_at", DESCENDING)]).skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[REQUESTS].count_documents(query), args["limit"], args["offset"],
                 lambda d: {"request_id": d["_id"], "category": d["category"], **d["rating"]})


# -- offers ---------------------------------------------------------------------------------------------
def offer(db, principal: Principal, offer_id: str) -> dict:
    """One offer of my community, or 404."""
    doc = db[OFFERS].find_one({"_id": offer_id, "community_id": principal.community_id})
    if doc is None:
        raise NotFound(f"没有这条帮忙信息（{offer_id}）。 No offer {offer_id}.", code="unknown_offer")
    return doc


def offers(db, principal: Principal, args: dict, now: datetime) -> dict:
    """Open offers of my community (or all of mine), newest first."""
    query: dict = {"community_id": principal.community_id}
    if args.get("mine"):
        query["member_id"] = principal.member_id
    else:
        query.update(status="open", window_end={"$gt": now})
    for name in ("grid_id", "category"):
        if args.get(name):
            query[name] = args[name]
    if args.get("q", "").strip():
        query.update(words_in(args["q"], "title", "description"))
    cursor = db[OFFERS].find(query).sort([("created_at", DESCENDING), ("_id", ASCENDING)]) \
        .skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[OFFERS].count_documents(query), args["limit"], args["offset"], lambda d: d)


# -- activities -------------------------------------------------------------------------------------------
def activity_view(doc: dict, my_signup: dict | None) -> dict:
    """An activity with its places left and the caller's own sign-up."""
    return {**doc, "places_left": max(doc["capacity"] - doc["signed_up"], 0), "my_signup": my_signup}


def activity(db, principal: Principal, activity_id: str) -> dict:
    """One activity of my community with my sign-up, or 404."""
    doc = db[ACTIVITIES].find_one({"_id": activity_id, "community_id": principal.community_id})
    if doc is None:
        raise NotFound(f"没有这个活动（{activity_id}）。 No activity {activity_id}.", code="unknown_activity")
    return activity_view(doc, db[SIGNUPS].find_one({"_id": signup_id(activity_id, principal.member_id)}))


def activities(db, principal: Principal, args: dict, now: datetime) -> dict:
    """Activities of my community not yet over (or within from/to), soonest first."""
    query: dict = {"community_id": principal.community_id, "status": "published",
                   "ends_at": {"$gt": args.get("starts_from") or now}}
    if args.get("ends_by"):
        query["starts_at"] = {"$lt": args["ends_by"]}
    for name in ("grid_id", "activity_type"):
        if args.get(name):
            query[name] = args[name]
    cursor = db[ACTIVITIES].find(query).sort([("starts_at", ASCENDING), ("_id", ASCENDING)]) \
        .skip(args["offset"]).limit(args["limit"])
    docs = list(cursor)
    mine = {s["activity_id"]: s for s in db[SIGNUPS].find(
        {"_id": {"$in": [signup_id(d["_id"], principal.member_id) for d in docs]}})}
    return {"items": [activity_view(d, mine.get(d["_id"])) for d in docs],
            "total": db[ACTIVITIES].count_documents(query), "limit": args["limit"], "offset": args["offset"]}


def participants(db, principal: Principal, activity_id: str, args: dict) -> dict:
    """Sign-ups of an activity, for its organizer and staff."""
    doc = db[ACTIVITIES].find_one({"_id": activity_id, "community_id": principal.community_id})
    if doc is None:
        raise NotFound(f"没有这个活动（{activity_id}）。 No activity {activity_id}.", code="unknown_activity")
    if principal.member_id != doc["organizer_id"] and not is_staff(principal):
        raise Forbidden("只有组织者和工作人员可以查看报名名单。 Only the organizer and staff see the participants.", code="not_organizer")
    query = {"activity_id": activity_id, "status": {"$ne": "withdrawn"}}
    cursor = db[SIGNUPS].find(query).sort([("signed_up_at", ASCENDING)]).skip(args["offset"]).limit(args["limit"])
    return _page(cursor, db[SIGNUPS].count_documents(query), args["limit"], args["offset"], lambda d: d)


# -- statistics (the staff dashboards) -------------------------------------------------------------------
def stats_grid(db, principal: Principal, asked: str | None) -> str | None:
    """Whose grid the caller may see: an admin any (or the whole community), a grid worker only their own."""
    if principal.is_admin:
        return asked
    doc = db[STAT_MEMBERS].find_one({"_id": f"{principal.community_id}:{principal.member_id}"}) or {}
    mine = doc.get("grid_id")
    if mine is None or asked not in (None, mine):
        raise Forbidden("您只能查看自己网格的统计。 You see the statistics of your own grid only.",
                        code="grid_not_yours")
    return mine


def request_stats(db, principal: Principal, args: dict) -> dict:
    """Posted / accepted / completed and time-to-accept per month and category, from the read model's cells."""
    months = stats.months_between(args["from_month"], args["to_month"])
    grid_id = stats_grid(db, principal, args.get("grid_id"))
    query: dict = {"community_id": principal.community_id, "month": {"$gte": months[0], "$lte": months[-1]},
                   **({"level": stats.GRID, "grid_id": grid_id} if grid_id is not None else {"level": stats.COMMUNITY})}
    cells = db[STAT_CELLS].find(query, {"_id": 0, "month": 1, "category": 1, "wait": 1, **dict.fromkeys(stats.COUNTS, 1)})
    return {"community_id": principal.community_id, "from_month": months[0], "to_month": months[-1],
            "grid_id": grid_id, **stats.summarise(cells, months)}
