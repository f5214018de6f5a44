"""Indexes of the community database."""
from pymongo import ASCENDING


def ensure_indexes(db) -> None:
    """Unique community codes, one phone per community, members listed by community."""
    db.communities.create_index("code", unique=True)
    db.grids.create_index([("community_id", ASCENDING), ("name", ASCENDING)], unique=True)
    db.members.create_index([("community_id", ASCENDING), ("phone", ASCENDING)], unique=True)
    db.members.create_index([("community_id", ASCENDING), ("joined_at", ASCENDING)])
