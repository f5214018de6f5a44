"""Read-side queries of the settlement service (no unit of work needed)."""
from __future__ import annotations

from datetime import datetime

from shared.errors import NotFound
from shared.mongo import utcnow
from services.settlement.model import DEFAULT_TIMEZONE, Merchant, SponsorBudget, charge_view
from services.settlement.reconciliation import reconcile
from services.settlement.repository import from_doc

TOP_ITEMS = 10


def _one(collection, query: dict, what_zh: str, what: str, code: str) -> dict:
    doc = collection.find_one(query)
    if doc is None:
        raise NotFound(f"没有这个{what_zh}。 No {what}.", code=code)
    return doc


def merchant(db, merchant_id: str) -> dict:
    """A merchant document, or 404."""
    return _one(db.merchants, {"_id": merchant_id}, f"商户（{merchant_id}）", f"merchant {merchant_id}", "unknown_merchant")


def merchants(db, community_id: str) -> list[dict]:
    """The community's merchants by name."""
    return list(db.merchants.find({"community_id": community_id}).sort("name", 1))


def timezone_of(db, community_id: str) -> str:
    """The community's time zone name (from community.events)."""
    doc = db.communities.find_one({"_id": community_id}) or {}
    return doc.get("timezone") or DEFAULT_TIMEZONE


def items(db, merchant_id: str, include_inactive: bool) -> list[dict]:
    """A merchant's catalogue, with what is still available."""
    query = {"merchant_id": merchant_id} if include_inactive else {"merchant_id": merchant_id, "active": True}
    return [{**doc, "available": doc["stock"] - doc.get("reserved", 0)}
            for doc in db.catalog_items.find(query).sort("name", 1)]


def item(db, item_id: str) -> dict:
    """A catalogue item, or 404."""
    doc = _one(db.catalog_items, {"_id": item_id}, f"商品（{item_id}）", f"catalogue item {item_id}", "unknown_item")
    return {**doc, "available": doc["stock"] - doc.get("reserved", 0)}


def redemption(db, redemption_id: str) -> dict:
    """A redemption, or 404."""
    return _one(db.redemptions, {"_id": redemption_id}, f"兑换记录（{redemption_id}）", f"redemption {redemption_id}",
                "unknown_redemption")


def redemptions(db, query: dict, args: dict) -> dict:
    """A page of redemptions, newest first."""
    query = dict(query)
    if args.get("state"):
        query["state"] = args["state"]
    if args.get("since") or args.get("until"):
        query["created_at"] = {k: v for k, v in (("$gte", args.get("since")), ("$lt", args.get("until"))) if v}
    cursor = db.redemptions.find(query).sort("created_at", -1).skip(args["offset"]).limit(args["limit"])
    return {"items": list(cursor), "total": db.redemptions.count_documents(query),
            "limit": args["limit"], "offset": args["offset"]}


def charge(db, charge_id: str) -> dict:
    """A charge, or 404."""
    return _one(db.charges, {"_id": charge_id}, f"账单（{charge_id}）", f"charge {charge_id}", "unknown_charge")


def charges(db, query: dict, args: dict) -> dict:
    """A page of charges, newest first, each with its merchant's rules for it."""
    cursor = db.charges.find(query).sort("created_at", -1).skip(args["offset"]).limit(args["limit"])
    docs = list(cursor)
    found = {d["_id"]: d for d in db.merchants.find({"_id": {"$in": list({d["merchant_id"] for d in docs})}})}
    now = utcnow()
    items = [charge_view(d, from_doc(Merchant, found[d["merchant_id"]]), now) for d in docs
             if d["merchant_id"] in found]
    return {"items": items, "total": db.charges.count_documents(query), "limit": args["limit"],
            "offset": args["offset"]}


def batch(db, batch_id: str) -> dict:
    """A settlement batch, or 404."""
    return _one(db.batches, {"_id": batch_id}, f"结算批次（{batch_id}）", f"settlement batch {batch_id}", "unknown_batch")


def batches(db, merchant_id: str, args: dict) -> dict:
    """A page of a merchant's batches, newest first."""
    query = {"merchant_id": merchant_id}
    cursor = db.batches.find(query).sort("created_at", -1).skip(args["offset"]).limit(args["limit"])
    return {"items": list(cursor), "total": db.batches.count_documents(query),
            "limit": args["limit"], "offset": args["offset"]}


def lines(db, batch_id: str) -> list[dict]:
    """A batch's lines in completion order."""
    return list(db.batch_lines.find({"batch_id": batch_id}).sort([("completed_at", 1), ("_id", 1)]))


def chargebacks(db, batch_id: str) -> list[dict]:
    """The paid-then-reversed redemptions a batch charges back, in reversal order."""
    return list(db.chargebacks.find({"batch_id": batch_id}).sort([("reversed_at", 1), ("_id", 1)]))


def item_names(db, item_ids) -> dict:
    """Item id → name."""
    ids = [i for i in set(item_ids) if i]
    return {doc["_id"]: doc["name"] for doc in db.catalog_items.find({"_id": {"$in": ids}}, {"name": 1})}


def budget(db, community_id: str) -> dict:
    """The sponsor budget with its latest top-ups."""
    doc = db.sponsor_budgets.find_one({"_id": community_id}) or {}
    b = SponsorBudget(community_id, doc.get("topped_up_fen", 0), doc.get("committed_fen", 0))
    top_ups = [{"amount_fen": t["amount_fen"], "reference": t["reference"], "at": t["at"].isoformat()}
               for t in db.budget_top_ups.find({"community_id": community_id}).sort("at", -1).limit(50)]
    return {"community_id": community_id, "topped_up_fen": b.topped_up_fen, "committed_fen": b.committed_fen,
            "remaining_fen": b.remaining_fen, "top_ups": top_ups}


def reconciliation(db, merchant_doc: dict, since: datetime, until: datetime) -> dict:
    """Ledger postings to and from the merchant for its redemptions (from ledger.events: posted `redeem`
    transfers, and posted reversals of them) against settlement: batch lines, chargebacks, and redemptions
    reversed before they were paid, for a period."""
    merchant_id = merchant_doc["_id"]
    account = db.ledger_accounts.find_one({"owner_kind": "merchant", "owner_id": merchant_id, "unit": "PT"})
    to_merchant = [{"payee_id": merchant_id}]
    from_merchant = [{"payer_id": merchant_id}]
    if account is not None:
        to_merchant.append({"credit_account": account["_id"]})
        from_merchant.append({"debit_account": account["_id"]})
    period = {"$gte": since, "$lt": until}
    ledger = [{"transfer_id": t["_id"], "amount": t["amount"], "redemption_id": t.get("reference_id")}
              for t in db.ledger_transfers.find({"workflow": "redeem", "state": "posted", "at": period,
                                                 "$or": to_merchant})]
    ledger += [{"transfer_id": t["_id"], "amount": -t["amount"], "reverses": t.get("reference_id")}
               for t in db.ledger_transfers.find({"reference_kind": "reversal", "state": "posted", "at": period,
                                                  "$or": from_merchant})]
    batch_lines = list(db.batch_lines.find({"merchant_id": merchant_id, "completed_at": period}))
    charged = [{**cb, "points": -cb["points"], "fen": -cb["fen"]}
               for cb in db.chargebacks.find({"merchant_id": merchant_id, "reversed_at": period})]
    unbatched = [{"redemption_id": r["_id"], "transfer_id": r.get("transfer_id"), "points": r["points"]}
                 for r in db.redemptions.find({"merchant_id": merchant_id, "state": "completed", "batch_id": None,
                                               "resolved_at": period})]
    # Redemptions reversed before any cash was paid for them: the posting and its reversal cancel out.
    offsets = []
    for r in db.redemptions.find({"merchant_id": merchant_id, "state": "reversed", "$or": [
            {"resolved_at": period}, {"reversed_at": period}]}):
        if db.chargebacks.find_one({"_id": r["_id"]}, {"_id": 1}):
            continue  # paid, then charged back: its line and its chargeback stand for it
        if since <= r["resolved_at"] < until:
            offsets.append({"redemption_id": r["_id"], "transfer_id": r.get("transfer_id"), "points": r["points"]})
        if since <= r["reversed_at"] < until:
            offsets.append({"redemption_id": r["_id"], "transfer_id": r.get("reversal_transfer_id"),
                            "points": -r["points"]})
    report = reconcile(ledger, [*batch_lines, *[c for c in charged if c["batch_id"]]],
                       [*unbatched, *[c for c in charged if not c["batch_id"]]], offsets)
    return {"merchant_id": merchant_id, "since": since.isoformat(), "until": until.isoformat(), **report}


def _per_day(db, match: dict, tz: str) -> list[dict]:
    pipeline = [{"$match": match},
                {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$resolved_at", "timezone": tz}},
                            "redemptions": {"$sum": 1}, "points": {"$sum": "$points"}, "fen": {"$sum": "$value_fen"}}},
                {"$sort": {"_id": 1}}]
    return [{"day": d["_id"], "redemptions": d["redemptions"], "points": d["points"], "fen": d["fen"]}
            for d in db.redemptions.aggregate(pipeline)]


def _top_items(db, match: dict) -> list[dict]:
    pipeline = [{"$match": {**match, "item_id": {"$ne": None}}},
                {"$group": {"_id": "$item_id", "redemptions": {"$sum": 1}, "points": {"$sum": "$points"}}},
                {"$sort": {"redemptions": -1, "points": -1, "_id": 1}}, {"$limit": TOP_ITEMS}]
    rows = list(db.redemptions.aggregate(pipeline))
    names = item_names(db, [r["_id"] for r in rows])
    return [{"item_id": r["_id"], "name": names.get(r["_id"]), "redemptions": r["redemptions"],
             "points": r["points"]} for r in rows]


def _outcomes(db, query: dict, since: datetime, until: datetime) -> dict:
    pipeline = [{"$match": {**query, "created_at": {"$gte": since, "$lt": until}}},
                {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
    return {row["_id"]: row["n"] for row in db.redemptions.aggregate(pipeline)}


def _totals(days: list[dict]) -> dict:
    return {"redemptions": sum(d["redemptions"] for d in days), "points": sum(d["points"] for d in days),
            "fen": sum(d["fen"] for d in days)}


def merchant_report(db, merchant_doc: dict, since: datetime, until: datetime) -> dict:
    """Completed redemptions of one merchant per local day, totals and top items; outcomes by state."""
    tz = timezone_of(db, merchant_doc["community_id"])
    match = {"merchant_id": merchant_doc["_id"], "state": "completed", "resolved_at": {"$gte": since, "$lt": until}}
    days = _per_day(db, match, tz)
    return {"merchant_id": merchant_doc["_id"], "timezone": tz, "since": since.isoformat(),
            "until": until.isoformat(), "per_day": days, "totals": _totals(days),
            "top_items": _top_items(db, match),
            "requested_by_state": _outcomes(db, {"merchant_id": merchant_doc["_id"]}, since, until)}


def community_report(db, community_id: str, since: datetime, until: datetime) -> dict:
    """Completed redemptions of a community per day and per merchant, totals and top items."""
    tz = timezone_of(db, community_id)
    match = {"community_id": community_id, "state": "completed", "resolved_at": {"$gte": since, "$lt": until}}
    days = _per_day(db, match, tz)
    names = {m["_id"]: m["name"] for m in db.merchants.find({"community_id": community_id}, {"name": 1})}
    per_merchant = [{"merchant_id": r["_id"], "name": names.get(r["_id"]), "redemptions": r["redemptions"],
                     "points": r["points"], "fen": r["fen"]}
                    for r in db.redemptions.aggregate([
                        {"$match": match},
                        {"$group": {"_id": "$merchant_id", "redemptions": {"$sum": 1}, "points": {"$sum": "$points"},
                                    "fen": {"$sum": "$value_fen"}}},
                        {"$sort": {"points": -1, "_id": 1}}])]
    return {"community_id": community_id, "timezone": tz, "since": since.isoformat(), "until": until.isoformat(),
            "per_day": days, "totals": _totals(days), "per_merchant": per_merchant,
            "top_items": _top_items(db, match),
            "requested_by_state": _outcomes(db, {"community_id": community_id}, since, until)}
