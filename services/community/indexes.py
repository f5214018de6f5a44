"""Indexes of the community database."""
from pymongo import ASCENDING


def ensure_indexes(db) -> None:
    """Unique community codes, one phone per community, members listed by community."""
    db.communities.create_index("code", unique=True)
    db.grids.create_index([("community_id", ASCENDING), ("name", ASCENDING)], unique=True)
    db.members.create_index([("community_id", ASCENDING), ("phone", ASCENDING)], unique=True)
    db.members.create_index([("community_id", ASCENDING), ("joined_at", ASCENDING)])
    # Public handles are unique per community (members stored before handles existed have none until saved).
    db.members.create_index([("community_id", ASCENDING), ("handle", ASCENDING)], unique=True,
                            partialFilterExpression={"handle": {"$type": "string"}})
    # The directory's name search scans one community's members by name.
    db.members.create_index([("community_id", ASCENDING), ("display_name", ASCENDING)])
