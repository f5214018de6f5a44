"""Indexes of the exchange database."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """Lines by community and agreement, entries by line and clearing, clearings by line and time; federation."""
    db.trust_lines.create_index([("community_a", ASCENDING), ("status", ASCENDING)])
    db.trust_lines.create_index([("community_b", ASCENDING), ("status", ASCENDING)])
    db.trust_lines.create_index("agreement_id")
    db.position_entries.create_index([("trust_line_id", ASCENDING), ("clearing_id", ASCENDING),
                                      ("posted_at", ASCENDING)])
    db.clearings.create_index([("trust_line_id", ASCENDING), ("cleared_at", DESCENDING)])
    db.clearings.create_index([("community_a", ASCENDING), ("cleared_at", DESCENDING)])
    db.clearings.create_index([("community_b", ASCENDING), ("cleared_at", DESCENDING)])
    # Federation: the recovery's outgoing transfers with a step to send, a member's transfers, a unit's neighbours.
    db.cc_transfers.create_index([("direction", ASCENDING), ("step.state", ASCENDING), ("created_at", ASCENDING)])
    db.cc_transfers.create_index([("community_id", ASCENDING), ("member_id", ASCENDING), ("created_at", DESCENDING)])
    db.cc_nodes.create_index("unit")
    db.cc_members.create_index([("community_id", ASCENDING), ("handle", ASCENDING)])
