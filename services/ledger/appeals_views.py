"""Read side of appeals: a member's own, one appeal (the member or their community's staff), the reviewers' queue
(an admin sees the community's; a grid worker the awards and penalties of their grid's members)."""
from __future__ import annotations

from pymongo import DESCENDING

from shared.economy.appeal import GRID_KINDS
from shared.errors import NotFound
from services.ledger.appeals import APPEALS, view
from services.ledger.lots import SUMMARIES
from services.ledger.model import Actor, member_account_id

def _listed(db, query: dict, status: str | None, limit: int) -> list[dict]:
    if status:
        query = {**query, "status": status}
    return [view(d) for d in db[APPEALS].find(query).sort("filed_at", DESCENDING).limit(limit)]


def mine(db, actor: Actor, status: str | None, limit: int) -> list[dict]:
    """My appeals, newest first."""
    return _listed(db, {"community_id": actor.community_id, "member_id": actor.member_id}, status, limit)


def _grid(db, actor: Actor) -> str | None:
    doc = db[SUMMARIES].find_one({"_id": member_account_id(actor.community_id, actor.member_id, "PT")},
                                 {"grid_id": 1}) or {}
    return doc.get("grid_id")


def queue(db, actor: Actor, status: str | None, limit: int) -> list[dict]:
    """The appeals this reviewer may see: all of the community for an admin, their grid's for a grid worker."""
    query = {"community_id": actor.community_id}
    if not actor.has_role("admin"):
        grid = _grid(db, actor)
        if grid is None:
            return []
        query.update(kind={"$in": list(GRID_KINDS)}, grid_id=grid)
    return _listed(db, query, status, limit)


def one(db, actor: Actor, appeal_id: str) -> dict:
    """One appeal: its member, an admin of the community, or the grid worker of the member's grid (404 else)."""
    doc = db[APPEALS].find_one({"_id": appeal_id})
    visible = doc is not None and doc["community_id"] == actor.community_id and (
        doc["member_id"] == actor.member_id or actor.has_role("admin")
        or (actor.has_role("grid_worker") and doc.get("grid_id") is not None and doc["grid_id"] == _grid(db, actor)))
    if not visible:
        raise NotFound("没有这条申诉。 No such appeal.", code="appeal_not_found")
    return view(doc)
