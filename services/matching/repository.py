"""The matching read model in MongoDB: communities (change sequence, time zone), grids, members, requests.

Every change to a member or grid bumps its community's `seq` in the same transaction and stamps the
document with it (`rev`), so in-process caches fetch exactly the documents changed since they last looked.
The writes that bump the counter conflict with each other, so revs become visible in commit order.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from pymongo import ReturnDocument

from shared.consumer import PROCESSED
from services.matching.model import OPEN, normalize_category

COMMUNITIES, GRIDS, MEMBERS, REQUESTS = "communities", "grids", "members", "requests"
READ_MODEL = (COMMUNITIES, GRIDS, MEMBERS, REQUESTS, PROCESSED)
EARNING_WORKFLOWS = ("bill", "award")  # help paid by a neighbour or by the community, not gifts or shopping


# -- change sequence ----------------------------------------------------------------------------
def bump(tx, community_id: str, *, grids: bool = False) -> int:
    """Advance the community's change sequence and return the new value."""
    inc = {"seq": 1, "grids_rev": 1} if grids else {"seq": 1}
    doc = tx[COMMUNITIES].find_one_and_update(
        {"_id": community_id}, {"$inc": inc, "$setOnInsert": {"gen": uuid.uuid4().hex}},
        upsert=True, return_document=ReturnDocument.AFTER, projection={"seq": 1})
    return doc["seq"]


def _touch_member(tx, community_id: str, member_id: str, update: dict) -> None:
    update = {k: dict(v) for k, v in update.items()}
    update.setdefault("$set", {}).update(rev=bump(tx, community_id), community_id=community_id)
    tx[MEMBERS].update_one({"_id": member_id}, update, upsert=True)


def _touch_request(tx, community_id: str, request_id: str, update: dict) -> None:
    update = {k: dict(v) for k, v in update.items()}
    update.setdefault("$set", {}).update(rev=bump(tx, community_id), community_id=community_id)
    tx[REQUESTS].update_one({"_id": request_id}, update, upsert=True)


# -- community facts ------------------------------------------------------------------------------
def set_community(tx, community_id: str, settings: dict) -> None:
    """Remember the community's time zone (availability is local time)."""
    bump(tx, community_id)
    tz = (settings or {}).get("timezone")
    if tz:
        tx[COMMUNITIES].update_one({"_id": community_id}, {"$set": {"timezone": tz}})


def add_grid(tx, community_id: str, grid_id: str, neighbours: list[str]) -> None:
    """Record a grid and its neighbours; neighbourhood is symmetric even if declared on one side only."""
    bump(tx, community_id, grids=True)
    neighbours = [n for n in neighbours if n != grid_id]
    tx[GRIDS].update_one({"_id": grid_id}, {"$set": {"community_id": community_id},
                                            "$addToSet": {"neighbours": {"$each": neighbours}}}, upsert=True)
    for other in neighbours:
        tx[GRIDS].update_one({"_id": other}, {"$setOnInsert": {"community_id": community_id},
                                              "$addToSet": {"neighbours": grid_id}}, upsert=True)


def set_member_profile(tx, payload: dict) -> None:
    """MemberJoined / MemberUpdated: grid, skills, availability, vulnerable, status."""
    fields = {k: payload.get(k) for k in ("grid_id", "roles", "availability", "vulnerable", "status", "joined_at")}
    fields["skills"] = sorted({normalize_category(s) for s in payload.get("skills") or () if s})
    _touch_member(tx, payload["community_id"], payload["member_id"], {"$set": fields})


def deactivate_member(tx, community_id: str, member_id: str) -> None:
    """MemberDeactivated."""
    _touch_member(tx, community_id, member_id, {"$set": {"status": "inactive"}})


# -- requests and commitments ---------------------------------------------------------------------
def post_request(tx, payload: dict) -> None:
    """RequestPosted: a new open request."""
    fields = {k: payload.get(k) for k in ("community_id", "requester_id", "unit", "estimated_minutes",
                                          "window_start", "window_end", "grid_id", "activity_type")}
    fields.update(category=normalize_category(payload["category"]), urgency=payload.get("urgency") or "normal",
                  kind=payload.get("kind") or "request")
    _touch_request(tx, payload["community_id"], payload["request_id"],
                   {"$set": fields, "$setOnInsert": {"state": OPEN, "helper_id": None, "commitment_open": False,
                                                     "released_helpers": []}})


def get_request(db_or_tx, request_id: str) -> dict | None:
    """One request of the read model."""
    return db_or_tx[REQUESTS].find_one({"_id": request_id})


def _close_commitment(tx, doc: dict, *, counter: str | None = None) -> None:
    # The helper's load falls when the commitment ends; counters feed the completion rate.
    if doc.get("commitment_open") and doc.get("helper_id"):
        inc = {"open_commitments": -1}
        if counter:
            inc[counter] = 1
        _touch_member(tx, doc["community_id"], doc["helper_id"], {"$inc": inc})
    elif counter and doc.get("helper_id"):
        _touch_member(tx, doc["community_id"], doc["helper_id"], {"$inc": {counter: 1}})


def accept(tx, payload: dict) -> None:
    """RequestAccepted: the helper takes on one more open commitment."""
    doc = get_request(tx, payload["request_id"]) or {"_id": payload["request_id"],
                                                       "community_id": payload["community_id"]}
    helper = payload["helper_id"]
    if doc.get("commitment_open") and doc.get("helper_id") == helper:
        return
    _close_commitment(tx, doc)
    _touch_member(tx, payload["community_id"], helper, {"$inc": {"open_commitments": 1}})
    _touch_request(tx, payload["community_id"], payload["request_id"],
                   {"$set": {"state": "accepted", "helper_id": helper, "commitment_open": True}})


def release(tx, payload: dict) -> None:
    """HelperReleased: the requester let a no-show helper go; the request is open again without them."""
    doc = get_request(tx, payload["request_id"])
    if doc is None or doc.get("helper_id") != payload["helper_id"]:
        return
    _close_commitment(tx, doc, counter="released")
    _touch_request(tx, doc["community_id"], doc["_id"],
                   {"$set": {"state": OPEN, "helper_id": None, "commitment_open": False},
                    "$addToSet": {"released_helpers": payload["helper_id"]}})


def end_commitment(tx, request_id: str, state: str, counter: str | None = None) -> None:
    """Claimed / completed / disputed / cancelled / expired: the request leaves the open list."""
    doc = get_request(tx, request_id)
    if doc is None:
        return  # e.g. a community activity (request_id = activity_id): not a request matching tracks
    _close_commitment(tx, doc, counter=counter)
    _touch_request(tx, doc["community_id"], request_id, {"$set": {"state": state, "commitment_open": False}})


def reopen_commitment(tx, payload: dict) -> None:
    """ClaimLapsed: the claim's transfer lapsed; the helper owes the request again (until re-claimed)."""
    doc = get_request(tx, payload["request_id"])
    if doc is None or doc.get("commitment_open") or doc.get("helper_id") != payload["helper_id"]:
        return  # unknown, or already counted (a repeated event)
    _touch_member(tx, doc["community_id"], payload["helper_id"], {"$inc": {"open_commitments": 1}})
    _touch_request(tx, doc["community_id"], doc["_id"], {"$set": {"state": "in_progress", "commitment_open": True}})


def rate(tx, community_id: str, helper_id: str, stars: int) -> None:
    """HelpRated: add to the helper's rating."""
    _touch_member(tx, community_id, helper_id, {"$inc": {"rating_sum": stars, "rating_count": 1}})


def record_suggestion(tx, request_id: str, member_ids: list[str], at: datetime) -> None:
    """Who was told about a new request (the MatchSuggested that went out)."""
    tx[REQUESTS].update_one({"_id": request_id}, {"$set": {"notified_member_ids": member_ids, "suggested_at": at}})


# -- offers and earnings --------------------------------------------------------------------------
def add_offer(tx, payload: dict, now: datetime) -> None:
    """OfferPosted: the member offers help in a category until the offer's window ends."""
    doc = tx[MEMBERS].find_one({"_id": payload["member_id"]}, projection={"offers": 1}) or {}
    offers = [o for o in doc.get("offers") or ()
              if _aware(o["window_end"]) > now and o["offer_id"] != payload["offer_id"]]
    offers.append({"offer_id": payload["offer_id"], "category": normalize_category(payload["category"]),
                   "window_end": payload["window_end"]})
    _touch_member(tx, payload["community_id"], payload["member_id"], {"$set": {"offers": offers}})


def withdraw_offer(tx, payload: dict) -> None:
    """OfferWithdrawn."""
    _touch_member(tx, payload["community_id"], payload["member_id"],
                  {"$pull": {"offers": {"offer_id": payload["offer_id"]}}})


def add_earning(tx, payload: dict, now: datetime, window_days: int) -> None:
    """TransferPosted paying a member for help: kept for the recent-earnings window, older entries pruned."""
    payee, at = payload.get("payee_id"), payload.get("occurred_at") or now
    cross = payload.get("cross") or {}  # across communities: the payee's own community and amount
    community_id, amount = cross.get("payee_community", payload["community_id"]), cross.get("credit_amount",
                                                                                           payload["amount"])
    if not payee or payload["workflow"] not in EARNING_WORKFLOWS or amount <= 0:
        return
    since = now - timedelta(days=window_days)
    if _aware(at) < since:
        return  # replaying an old transfer: it no longer counts as recent
    doc = tx[MEMBERS].find_one({"_id": payee}, projection={"earnings": 1}) or {}
    earnings = [e for e in doc.get("earnings") or () if _aware(e["at"]) >= since
                and e.get("transfer_id") != payload["transfer_id"]]
    earnings.append({"transfer_id": payload["transfer_id"], "at": at, "unit": payload["unit"],
                     "amount": int(amount)})
    _touch_member(tx, community_id, payee, {"$set": {"earnings": earnings}})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- reads for the API and caches ------------------------------------------------------------------
def community(db, community_id: str) -> dict | None:
    """The community's change sequence, generation, grid revision and time zone."""
    return db[COMMUNITIES].find_one({"_id": community_id})


def members_of(db, community_id: str, since_rev: int | None = None):
    """A community's members, or only those changed after `since_rev`."""
    query = {"community_id": community_id}
    if since_rev is not None:
        query["rev"] = {"$gt": since_rev}
    return db[MEMBERS].find(query, projection={"roles": 0, "joined_at": 0})


def grids_of(db, community_id: str) -> dict[str, list[str]]:
    """grid id -> neighbouring grid ids."""
    return {g["_id"]: g.get("neighbours") or [] for g in db[GRIDS].find({"community_id": community_id})}


def requests_of(db, community_id: str, since_rev: int | None = None, now: datetime | None = None):
    """A community's open requests (full load), or every request changed after `since_rev`."""
    query = {"community_id": community_id}
    if since_rev is not None:
        query["rev"] = {"$gt": since_rev}
    else:
        query.update(state=OPEN, kind="request", window_end={"$gt": now})
    return db[REQUESTS].find(query, projection={"notified_member_ids": 0, "suggested_at": 0})


def drop_read_model(db) -> None:
    """Forget everything built from events (the rebuild replays them)."""
    for name in READ_MODEL:
        db[name].drop()
