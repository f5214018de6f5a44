"""Indexes of the notification centre's database."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """A member's notifications newest first (all, or unread only); what is known of each request; a
    community's reviewers of appeals."""
    db.notifications.create_index([("member_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)])
    db.notifications.create_index([("member_id", ASCENDING), ("read", ASCENDING), ("created_at", DESCENDING),
                                   ("_id", DESCENDING)])
    db.reviewers.create_index([("community_id", ASCENDING)])
