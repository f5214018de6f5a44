"""Indexes of the settlement database."""
from pymongo import ASCENDING, DESCENDING


def ensure_indexes(db) -> None:
    """Lookups of the till, the batch sweep, the read models, and one open batch per merchant."""
    db.merchants.create_index([("community_id", ASCENDING), ("name", ASCENDING)])
    db.catalog_items.create_index([("merchant_id", ASCENDING), ("name", ASCENDING)])
    db.redemptions.create_index([("merchant_id", ASCENDING), ("created_at", DESCENDING)])
    db.redemptions.create_index([("member_id", ASCENDING), ("created_at", DESCENDING)])
    db.redemptions.create_index([("merchant_id", ASCENDING), ("state", ASCENDING), ("batch_id", ASCENDING),
                                 ("resolved_at", ASCENDING)])
    db.redemptions.create_index([("community_id", ASCENDING), ("state", ASCENDING), ("resolved_at", ASCENDING)])
    db.redemptions.create_index("transfer_id", sparse=True)
    db.batches.create_index([("merchant_id", ASCENDING), ("created_at", DESCENDING)])
    db.batches.create_index("merchant_id", name="one_open_batch_per_merchant", unique=True,
                            partialFilterExpression={"state": "open"})
    db.batch_lines.create_index([("batch_id", ASCENDING), ("completed_at", ASCENDING)])
    db.batch_lines.create_index([("merchant_id", ASCENDING), ("completed_at", ASCENDING)])
    db.chargebacks.create_index([("merchant_id", ASCENDING), ("batch_id", ASCENDING), ("reversed_at", ASCENDING)])
    db.chargebacks.create_index([("batch_id", ASCENDING), ("reversed_at", ASCENDING)])
    db.budget_top_ups.create_index([("community_id", ASCENDING), ("at", DESCENDING)])
    db.ledger_accounts.create_index([("owner_kind", ASCENDING), ("owner_id", ASCENDING), ("unit", ASCENDING)])
    db.ledger_transfers.create_index([("workflow", ASCENDING), ("credit_account", ASCENDING), ("at", ASCENDING)])
    db.ledger_transfers.create_index([("workflow", ASCENDING), ("payee_id", ASCENDING), ("at", ASCENDING)])
    db.pay_codes.create_index("code_sha256")
    db.charges.create_index([("member_id", ASCENDING), ("state", ASCENDING), ("created_at", DESCENDING)])
