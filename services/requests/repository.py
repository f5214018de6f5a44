"""MongoDB storage of requests, offers, activities and sign-ups (always inside a unit of work)."""
from __future__ import annotations

from dataclasses import asdict, fields

from shared.errors import Conflict, NotFound
from shared.uow import Tx
from services.requests.model import COMMITTED, Activity, CheckCode, HelpRequest, Offer, SignUp

REQUESTS, OFFERS, ACTIVITIES, SIGNUPS, HELPERS = "requests", "offers", "activities", "signups", "helpers"


def _doc(entity, id_: str) -> dict:
    doc = asdict(entity)
    doc.pop("events", None)
    return {"_id": id_, **doc}


def _load(cls, doc: dict):
    names = {f.name for f in fields(cls)} - {"events"}
    return cls(**{k: v for k, v in doc.items() if k in names})


def request_from_doc(doc: dict) -> HelpRequest:
    """A HelpRequest from its stored document."""
    req = _load(HelpRequest, doc)
    if doc.get("code"):
        req.code = _load(CheckCode, doc["code"])
    return req


def signup_id(activity_id: str, member_id: str) -> str:
    """Sign-ups are keyed by (activity, member): one place per member per activity."""
    return f"{activity_id}:{member_id}"


class RequestsRepository:
    """Reads and writes the requests service's collections through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    # -- generic versioned save ---------------------------------------------------------------
    def _insert(self, collection: str, entity, id_: str) -> None:
        self.tx[collection].insert_one(_doc(entity, id_))

    def _save(self, collection: str, entity, id_: str) -> None:
        # Guard against lost updates even outside the transaction's own write-conflict detection.
        expected = entity.version
        entity.version += 1
        result = self.tx[collection].replace_one({"_id": id_, "version": expected}, _doc(entity, id_))
        if result.matched_count != 1:
            entity.version = expected
            raise Conflict("数据刚被修改，请重试。 The item changed meanwhile; try again.", code="concurrent_change")

    # -- help requests --------------------------------------------------------------------------
    def request(self, community_id: str, request_id: str) -> HelpRequest:
        """A request of the community, or 404 (other communities' requests do not exist for you)."""
        doc = self.tx[REQUESTS].find_one({"_id": request_id, "community_id": community_id})
        if doc is None:
            raise NotFound(f"没有这条求助（{request_id}）。 No request {request_id}.", code="unknown_request")
        return request_from_doc(doc)

    def find_request(self, request_id: str) -> HelpRequest | None:
        """A request by id from any community (for ledger events), or None."""
        doc = self.tx[REQUESTS].find_one({"_id": request_id})
        return request_from_doc(doc) if doc else None

    def add_request(self, req: HelpRequest) -> None:
        """Store a new request."""
        self._insert(REQUESTS, req, req.request_id)

    def save_request(self, req: HelpRequest) -> None:
        """Store a changed request."""
        self._save(REQUESTS, req, req.request_id)

    def lock_helper_load(self, community_id: str, member_id: str) -> int:
        """The helper's open commitments, read under a per-helper lock document.

        Writing the helper's lock document makes two concurrent accepts by one helper conflict, so
        the limit holds even when they target different requests.
        """
        self.tx[HELPERS].update_one({"_id": f"{community_id}:{member_id}"}, {"$inc": {"accepts": 1}}, upsert=True)
        return self.tx[REQUESTS].count_documents(
            {"community_id": community_id, "helper_id": member_id, "status": {"$in": list(COMMITTED)}})

    # -- offers -----------------------------------------------------------------------------------
    def offer(self, community_id: str, offer_id: str) -> Offer:
        """An offer of the community, or 404."""
        doc = self.tx[OFFERS].find_one({"_id": offer_id, "community_id": community_id})
        if doc is None:
            raise NotFound(f"没有这条帮忙信息（{offer_id}）。 No offer {offer_id}.", code="unknown_offer")
        return _load(Offer, doc)

    def add_offer(self, offer: Offer) -> None:
        """Store a new offer."""
        self._insert(OFFERS, offer, offer.offer_id)

    def save_offer(self, offer: Offer) -> None:
        """Store a changed offer."""
        self._save(OFFERS, offer, offer.offer_id)

    # -- activities and sign-ups ------------------------------------------------------------------
    def activity(self, community_id: str, activity_id: str) -> Activity:
        """An activity of the community, or 404."""
        doc = self.tx[ACTIVITIES].find_one({"_id": activity_id, "community_id": community_id})
        if doc is None:
            raise NotFound(f"没有这个活动（{activity_id}）。 No activity {activity_id}.", code="unknown_activity")
        return _load(Activity, doc)

    def add_activity(self, act: Activity) -> None:
        """Store a new activity."""
        self._insert(ACTIVITIES, act, act.activity_id)

    def save_activity(self, act: Activity) -> None:
        """Store a changed activity (its sign-up count is the capacity guard)."""
        self._save(ACTIVITIES, act, act.activity_id)

    def signup(self, activity_id: str, member_id: str) -> SignUp | None:
        """A member's sign-up for an activity, if any."""
        doc = self.tx[SIGNUPS].find_one({"_id": signup_id(activity_id, member_id)})
        return _load(SignUp, doc) if doc else None

    def save_signup(self, signup: SignUp) -> None:
        """Insert or update a sign-up."""
        id_ = signup_id(signup.activity_id, signup.member_id)
        if signup.version == 0 and self.tx[SIGNUPS].find_one({"_id": id_}, {"_id": 1}) is None:
            signup.version = 1
            self._insert(SIGNUPS, signup, id_)
        else:
            self._save(SIGNUPS, signup, id_)


# -- the statistics read model (services.requests.stats) ------------------------------------------------
STAT_CELLS, STAT_FACTS, STAT_COMMUNITIES, STAT_MEMBERS = "stat_cells", "stat_requests", "stat_communities", \
    "stat_members"


class StatsRepository:
    """The dashboards' read model: one cell per community, month, grid and category, what each request has
    already been counted for, and the community facts the counting needs (time zone, members' grids)."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def facts(self, request_id: str) -> dict | None:
        """What the read model remembers of a request (its community, grid, category, posting time, counts)."""
        return self.tx[STAT_FACTS].find_one({"_id": request_id})

    def remember(self, request_id: str, facts: dict) -> None:
        """Remember a newly posted request."""
        self.tx[STAT_FACTS].insert_one({"_id": request_id, **facts})

    def mark(self, request_id: str, counted: str) -> bool:
        """Mark the request counted as `counted` (accepted / completed); False if it already was."""
        result = self.tx[STAT_FACTS].update_one({"_id": request_id, counted: {"$ne": True}},
                                                {"$set": {counted: True}})
        return result.modified_count == 1

    def add(self, cell: dict, counted: str, wait_minutes: int | None = None) -> None:
        """Add one to a cell's `counted` figure (and one to its time-to-accept histogram)."""
        inc = {counted: 1, **({f"wait.{wait_minutes}": 1} if wait_minutes is not None else {})}
        self.tx[STAT_CELLS].update_one({"_id": cell["_id"]}, {"$inc": inc, "$setOnInsert": cell}, upsert=True)

    def timezone(self, community_id: str) -> str | None:
        """The community's time zone, if its settings were heard of."""
        doc = self.tx[STAT_COMMUNITIES].find_one({"_id": community_id})
        return doc["timezone"] if doc else None

    def save_timezone(self, community_id: str, timezone: str) -> None:
        """The community's time zone from its settings."""
        self.tx[STAT_COMMUNITIES].update_one({"_id": community_id}, {"$set": {"timezone": timezone}}, upsert=True)

    def save_grid(self, community_id: str, member_id: str, grid_id: str | None) -> None:
        """A member's grid (a grid worker sees the statistics of theirs)."""
        self.tx[STAT_MEMBERS].update_one({"_id": f"{community_id}:{member_id}"},
                                         {"$set": {"grid_id": grid_id}}, upsert=True)
