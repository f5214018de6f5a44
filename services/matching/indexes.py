"""Indexes of the matching read model."""
from pymongo import ASCENDING


def ensure_indexes(db) -> None:
    """Changed members and requests per community (cache refresh), grids, open requests (full load)."""
    db.members.create_index([("community_id", ASCENDING), ("rev", ASCENDING)])
    db.grids.create_index("community_id")
    db.requests.create_index([("community_id", ASCENDING), ("rev", ASCENDING)])
    db.requests.create_index([("community_id", ASCENDING), ("state", ASCENDING), ("window_end", ASCENDING)])
