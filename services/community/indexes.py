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
    # Partner agreements: at most one live (proposed, active, suspended) agreement per pair of communities.
    db.partner_agreements.create_index("live_pair", unique=True, name="one_live_agreement_per_pair",
                                       partialFilterExpression={"live_pair": {"$exists": True}})
    db.partner_agreements.create_index([("proposer_id", ASCENDING), ("updated_at", ASCENDING)])
    db.partner_agreements.create_index([("partner_id", ASCENDING), ("updated_at", ASCENDING)])
    # Points rules: one document per (community, version); the latest is found by version.
    db.points_rules.create_index([("community_id", ASCENDING), ("version", ASCENDING)], unique=True)
    # Rules simulation jobs: a worker claims the oldest queued (or lapsed) one; an admin reads theirs by id.
    db.simulations.create_index([("status", ASCENDING), ("requested_at", ASCENDING)])
    db.simulations.create_index([("community_id", ASCENDING), ("requested_at", ASCENDING)])
    # Grid work: a member's reports newest first; a grid's queue oldest first (both paged on created_at, _id);
    # duties by member.
    db.grid_reports.create_index([("community_id", ASCENDING), ("reporter_id", ASCENDING), ("created_at", ASCENDING),
                                  ("_id", ASCENDING)])
    db.grid_reports.create_index([("community_id", ASCENDING), ("status", ASCENDING), ("grid_id", ASCENDING),
                                  ("created_at", ASCENDING), ("_id", ASCENDING)])
    db.duty_assignments.create_index([("community_id", ASCENDING), ("member_id", ASCENDING)])
    # The scheduler's sweep of orphan photos: photos by upload time, and whether a report names one.
    db["report_photos.files"].create_index([("uploadDate", ASCENDING), ("_id", ASCENDING)])
    db.grid_reports.create_index([("photo_id", ASCENDING)])
