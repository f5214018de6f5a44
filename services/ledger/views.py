"""Read side of the ledger: what the HTTP API shows (balances, entries, transfers, statements)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pymongo import DESCENDING

from shared.errors import NotFound
from shared.schemas import encode_cursor
from services.ledger import lots, model
from services.ledger.answers import iso, account_view, transfer_view
from services.ledger.model import Account, Actor
from services.ledger.repository import to_account, to_transfer


def summed(db, account: Account) -> Account:
    """An account with balances summed over its shards (hot accounts)."""
    if not account.shards:
        return account
    totals = {"posted": 0, "pending_out": 0, "pending_in": 0}
    for shard in db.account_shards.find({"account_id": account.account_id}):
        for k in totals:
            totals[k] += shard[k]
    return replace(account, **totals)


def balances(db, actor: Actor) -> list[dict]:
    """The caller's accounts in both units (zero until an account is opened)."""
    out = []
    for unit in model.UNITS:
        account_id = model.member_account_id(actor.community_id, actor.member_id, unit)
        doc = db.accounts.find_one({"_id": account_id})
        account = to_account(doc) if doc else Account(account_id, actor.community_id, "member", actor.member_id, unit)
        out.append(account_view(summed(db, account)))
    return out


def entries_page(db, account_ids: list[str], *, limit: int, cursor: tuple[int, str] | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> dict:
    """Journal entries of some accounts, newest first, a page at a time (cursor = (posted_at_ms, entry_id) of the
    last one seen, as `shared.schemas.PageCursor` loads it)."""
    query: dict = {"account_id": {"$in": account_ids}}
    if since or until:
        query["posted_at"] = {k: v for k, v in (("$gte", since), ("$lt", until)) if v}
    if cursor:
        ms, entry_id = cursor
        query["$or"] = [{"posted_at_ms": {"$lt": ms}}, {"posted_at_ms": ms, "_id": {"$lt": entry_id}}]
    docs = list(db.entries.find(query).sort([("posted_at_ms", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1))
    more = len(docs) > limit
    docs = docs[:limit]
    return {"items": [entry_view(d) for d in docs],
            "next_cursor": encode_cursor(docs[-1]["posted_at_ms"], docs[-1]["_id"]) if more and docs else None}


def entry_view(e: dict) -> dict:
    """One journal entry."""
    return {"entry_id": e["_id"], "transfer_id": e["transfer_id"], "account_id": e["account_id"],
            "counter_account": e["counter_account"], "unit": e["unit"], "side": e["side"], "amount": e["amount"],
            "delta": e["delta"], "balance_after": e.get("balance_after"), "workflow": e.get("workflow"),
            "reference": e.get("reference"), "posted_at": iso(e["posted_at"]), "seq": e["seq"],
            "shard": e["shard"], "hash": e["hash"]}


def transfer_for(db, actor: Actor, transfer_id: str) -> dict:
    """One transfer, for those allowed to see it (others get 404: its existence is not theirs to know)."""
    doc = db.transfers.find_one({"_id": transfer_id})
    if doc is None or not to_transfer(doc).may_see(actor):
        raise NotFound("没有这笔转账。 No such transfer.", code="unknown_transfer")
    return transfer_view(to_transfer(doc))


def awaiting(db, actor: Actor, limit: int) -> list[dict]:
    """Pending transfers the caller may confirm: bills, gifts and redemptions naming them, and (for
    organizers, grid workers and admins) award claims of their community by others — a grid worker of a grid, only
    those of its members."""
    # A cross transfer lives in its payer's community: a payee in the partner community finds it by `cross`.
    clauses = [{"confirmer_id": actor.member_id, "community_id": actor.community_id},
               {"confirmer_id": actor.member_id, "cross.payee_community": actor.community_id}]
    if actor.has_role(*model.AWARD_REVIEWER_ROLES):
        clauses.append({"workflow": "award", "community_id": actor.community_id})
    docs = db.transfers.find({"state": model.PENDING, "$or": clauses}).sort("created_at", DESCENDING).limit(limit * 2)
    grid = _my_grid(db, actor)
    out = []
    for doc in docs:
        t = to_transfer(doc)
        if grid is not None and t.workflow == "award" and _grid_of(db, t) != grid:
            continue
        if t.may_resolve(actor):
            out.append(transfer_view(t))
        if len(out) >= limit:
            break
    return out


def _my_grid(db, actor: Actor) -> str | None:
    """The grid whose award claims a grid worker's queue holds: theirs (from the community's events), unless they
    are also an organizer or admin (the whole community's) or belong to no grid (none to limit them to)."""
    if actor.has_role("organizer", "admin") or not actor.has_role("grid_worker"):
        return None
    return _grid_of_member(db, actor.community_id, actor.member_id)


def _grid_of_member(db, community_id: str, member_id: str) -> str | None:
    doc = db[lots.SUMMARIES].find_one({"_id": model.member_account_id(community_id, member_id, "PT")}, {"grid_id": 1})
    return (doc or {}).get("grid_id")


def _grid_of(db, t) -> str | None:
    return _grid_of_member(db, t.community_id, t.payee_id) if t.payee_id else None


def statement(db, actor: Actor, account_id: str, *, limit: int, cursor: tuple[int, str] | None,
              since: datetime | None, until: datetime | None) -> dict:
    """An account's balances and entries (admins of the account's community)."""
    doc = db.accounts.find_one({"_id": account_id})
    if doc is None or doc["community_id"] != actor.community_id:
        raise NotFound("没有这个账户。 No such account.", code="unknown_account")
    account = summed(db, to_account(doc))
    page = entries_page(db, [account_id], limit=limit, cursor=cursor, since=since, until=until)
    opening = None
    if since:
        totals = list(db.entries.aggregate([{"$match": {"account_id": account_id, "posted_at": {"$lt": since}}},
                                            {"$group": {"_id": None, "sum": {"$sum": "$delta"}}}]))
        opening = totals[0]["sum"] if totals else 0
    return {"account": account_view(account), "opening_balance": opening, **page}
