"""Indexes of the requests database."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """Browsing, my requests, my commitments, expiry (text search scans one community's open requests: words_in); one sign-up per member and activity."""
    db.requests.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("window_start", ASCENDING)])
    db.requests.create_index([("community_id", ASCENDING), ("requester_id", ASCENDING), ("created_at", DESCENDING)])
    db.requests.create_index([("community_id", ASCENDING), ("helper_id", ASCENDING), ("status", ASCENDING)])
    db.requests.create_index([("status", ASCENDING), ("window_end", ASCENDING)])
    db.offers.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)])
    db.activities.create_index([("community_id", ASCENDING), ("starts_at", ASCENDING)])
    db.signups.create_index([("activity_id", ASCENDING), ("status", ASCENDING)])
    db.signups.create_index([("community_id", ASCENDING), ("member_id", ASCENDING)])
    db.stat_cells.create_index([("community_id", ASCENDING), ("level", ASCENDING), ("grid_id", ASCENDING),
                                ("month", ASCENDING)])
