"""Indexes of the exchange database."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """Lines by community and agreement, entries by line and clearing, clearings by line and time."""
    db.trust_lines.create_index([("community_a", ASCENDING), ("status", ASCENDING)])
    db.trust_lines.create_index([("community_b", ASCENDING), ("status", ASCENDING)])
    db.trust_lines.create_index("agreement_id")
    db.position_entries.create_index([("trust_line_id", ASCENDING), ("clearing_id", ASCENDING),
                                      ("posted_at", ASCENDING)])
    db.clearings.create_index([("trust_line_id", ASCENDING), ("cleared_at", DESCENDING)])
    db.clearings.create_index([("community_a", ASCENDING), ("cleared_at", DESCENDING)])
    db.clearings.create_index([("community_b", ASCENDING), ("cleared_at", DESCENDING)])
