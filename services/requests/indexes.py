"""Indexes of the requests database."""
from pymongo import ASCENDING, DESCENDING, TEXT


def ensure_indexes(db) -> None:
    """Browsing, my requests, my commitments, expiry, text search; one sign-up per member and activity."""
    db.requests.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("window_start", ASCENDING)])
    db.requests.create_index([("community_id", ASCENDING), ("requester_id", ASCENDING), ("created_at", DESCENDING)])
    db.requests.create_index([("community_id", ASCENDING), ("helper_id", ASCENDING), ("status", ASCENDING)])
    db.requests.create_index([("status", ASCENDING), ("window_end", ASCENDING)])
    # language_override points at a field we never store, so free text cannot pick an unknown language.
    db.requests.create_index([("title", TEXT), ("description", TEXT)], name="requests_text",
                             weights={"title": 3, "description": 1}, language_override="_no_language")
    db.offers.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)])
    db.offers.create_index([("title", TEXT), ("description", TEXT)], name="offers_text",
                           language_override="_no_language")
    db.activities.create_index([("community_id", ASCENDING), ("starts_at", ASCENDING)])
    db.signups.create_index([("activity_id", ASCENDING), ("status", ASCENDING)])
    db.signups.create_index([("community_id", ASCENDING), ("member_id", ASCENDING)])
