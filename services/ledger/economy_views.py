"""Read side of the points economy: a member's points as they and their community's staff see them — balance,
lots with their expiry, points expiring within 30 days, points owed, lifetime honour points and the level (星级)
under the rules in effect, and every penalty with its repairs and explanation."""
from __future__ import annotations

from shared.economy import Wallet, honour_level, in_effect
from shared.errors import NotFound
from shared.mongo import utcnow
from services.ledger.lots import LOTS, RULES, SUMMARIES, rule_set, to_lot, zone_day
from services.ledger.economy import PENALTIES, penalty_view
from services.ledger.model import member_account_id

EXPIRING_WITHIN_DAYS = 30
PENALTIES_SHOWN = 100


def member_points(db, community_id: str, member_id: str) -> dict:
    """The member's points in this community (404 when the ledger has not heard of them)."""
    account_id = member_account_id(community_id, member_id, "PT")
    account = db.accounts.find_one({"_id": account_id}, {"posted": 1})
    if account is None:
        raise NotFound("这个社区没有这位成员的积分账户。 No points account for this member here.",
                       code="unknown_account")
    now = utcnow()
    community = db.communities.find_one({"_id": community_id}, {"timezone": 1}) or {}
    today = zone_day(community.get("timezone"), now)
    rules = in_effect([rule_set(d) for d in db[RULES].find({"community_id": community_id})], now)
    summary = db[SUMMARIES].find_one({"_id": account_id}) or {}
    lots = [to_lot(d) for d in db[LOTS].find({"account_id": account_id, "remaining": {"$gt": 0}})
            .sort([("earned_on", 1), ("_id", 1)])]
    honour = summary.get("honour_points", 0)
    penalties = db[PENALTIES].find({"account_id": account_id}).sort("issued_at", -1).limit(PENALTIES_SHOWN)
    return {"member_id": member_id, "community_id": community_id, "balance": account["posted"],
            "debt": summary.get("debt", 0), "honour_points": honour,
            "level": {**honour_level(rules, honour), "reached_at": (summary.get("level_reached_at") or None)
                      and summary["level_reached_at"].isoformat()},
            "participations": summary.get("participations", 0), "rule_version": rules.version,
            "expiring_within_30_days": Wallet(tuple(lots)).expiring(today, EXPIRING_WITHIN_DAYS),
            "lots": [lot.to_dict() for lot in lots], "penalties": [penalty_view(p) for p in penalties]}
