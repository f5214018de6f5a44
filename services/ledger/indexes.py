"""Indexes of the ledger database (run by every process at start; idempotent)."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """Chains cannot fork, an event fact makes one transfer, and every list the API shows is indexed."""
    db.accounts.create_index([("community_id", ASCENDING), ("kind", ASCENDING)])
    db.account_shards.create_index("account_id")
    # A chain position holds one entry: a second writer at the same seq fails instead of forking the chain.
    db.entries.create_index([("account_id", ASCENDING), ("shard", ASCENDING), ("seq", ASCENDING)], unique=True)
    db.entries.create_index([("account_id", ASCENDING), ("posted_at_ms", DESCENDING), ("_id", DESCENDING)])
    db.entries.create_index([("community_id", ASCENDING), ("account_id", ASCENDING)])
    # One transfer per source fact (claim, redemption, batch, reversal), whatever event carried it.
    db.transfers.create_index("source", unique=True, partialFilterExpression={"source": {"$type": "string"}})
    db.transfers.create_index([("state", ASCENDING), ("confirmer_id", ASCENDING), ("created_at", DESCENDING)])
    db.transfers.create_index([("state", ASCENDING), ("workflow", ASCENDING), ("community_id", ASCENDING),
                               ("created_at", DESCENDING)])
    db.transfers.create_index([("state", ASCENDING), ("expires_at", ASCENDING)])
    db.transfers.create_index([("community_id", ASCENDING), ("state", ASCENDING)])
    db.pay_codes.create_index("code_sha256", unique=True)
    db.pay_codes.create_index("expires_at", expireAfterSeconds=30 * 24 * 3600)
    # The points economy: a member's lots holding points (FIFO), the scheduler's due lots per community.
    db.point_lots.create_index([("account_id", ASCENDING), ("remaining", ASCENDING)])
    db.point_lots.create_index([("community_id", ASCENDING), ("expires_on", ASCENDING), ("account_id", ASCENDING)],
                               partialFilterExpression={"remaining": {"$gt": 0}})
    db.points_rules.create_index("community_id")
    # The economy statistics read model (services/ledger/stats.py): boards ranked by points (ties by member, so a
    # page is read in index order, never sorted in memory), the months of flows and titles in order.
    db.economy_stats.create_index([("kind", ASCENDING), ("community_id", ASCENDING), ("period", ASCENDING),
                                   ("points", DESCENDING), ("member_id", ASCENDING)],
                                  partialFilterExpression={"kind": "board"})
    db.economy_stats.create_index([("kind", ASCENDING), ("community_id", ASCENDING), ("period", ASCENDING),
                                   ("grid_id", ASCENDING), ("points", DESCENDING), ("member_id", ASCENDING)],
                                  partialFilterExpression={"kind": "board"})
    db.economy_stats.create_index([("kind", ASCENDING), ("community_id", ASCENDING), ("month", ASCENDING)])
    # Appeals: one per decision, the member's and the reviewers' lists.
    db.appeals.create_index("subject_key", unique=True)
    db.appeals.create_index([("community_id", ASCENDING), ("member_id", ASCENDING), ("filed_at", DESCENDING)])
    db.appeals.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("filed_at", DESCENDING)])
    # Points loans: a member's unpaid one (read when an award posts); a community's newest first.
    db.loans.create_index([("account_id", ASCENDING), ("status", ASCENDING)])
    db.loans.create_index([("community_id", ASCENDING), ("member_id", ASCENDING), ("lent_at", ASCENDING)])
