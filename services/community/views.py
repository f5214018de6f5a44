"""Read-side queries of the community service (no unit of work needed)."""
from __future__ import annotations

from shared.errors import NotFound


def community(db, community_id: str) -> dict:
    """A community document, or 404."""
    doc = db.communities.find_one({"_id": community_id})
    if doc is None:
        raise NotFound(f"No community {community_id}.", code="unknown_community")
    return doc


def grids(db, community_id: str) -> list[dict]:
    """The community's grids by name."""
    community(db, community_id)
    return list(db.grids.find({"community_id": community_id}).sort("name", 1))


def members(db, community_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of members, oldest first, and the total."""
    query = {"community_id": community_id}
    items = list(db.members.find(query, {"secret_hash": 0}).sort("joined_at", 1).skip(offset).limit(limit))
    return items, db.members.count_documents(query)


def member(db, community_id: str, member_id: str) -> dict:
    """One member document without the secret, or 404."""
    doc = db.members.find_one({"_id": member_id, "community_id": community_id}, {"secret_hash": 0})
    if doc is None:
        raise NotFound(f"No member {member_id} in this community.", code="unknown_member")
    return doc
