"""Periodic jobs of the ledger: lapse pending transfers past their community's TTL; expire point lots whose
day has come and remind members of points expiring soon (`expire_lots_due`, `remind_due`).

Run with `python -m shared.worker ledger scheduler`. Each transfer is expired in its own transaction
that first re-reads it and acts only if it is still pending and lapsed, so running it twice, or two
schedulers at once, changes each transfer once (the loser of a race sees a write conflict, retries,
and finds the transfer already resolved).
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

from pymongo import ASCENDING

from shared.economy import in_effect
from shared.errors import Problem
from shared.groupcommit import GroupUnitOfWork
from shared.mongo import utcnow
from shared.worker import every
from services.ledger import commands, model
from services.ledger.bootstrap import bootstrap
from services.ledger.economy import prefetch_expiry
from services.ledger.handlers import HANDLERS
from services.ledger.lots import LOTS, RULES, rule_set, zone_day

log = logging.getLogger(__name__)
BATCH = 200
EXPIRY_GROUP = 200  # at most so many members' lots expire in one transaction...
EXPIRY_GROUP_LOTS = 10_000  # ...and at most about so many lots (a bounded transaction: each lot is a line of the
# member's expiry transfer, its event and its lot update, ~0.5 KB in all, so a group stays a few MB, far under
# MongoDB's 16 MB per transaction oplog entry limit)


def expire_due(runtime, bus=None, limit: int = BATCH) -> int:
    """Expire (or auto-confirm) up to `limit` lapsed pending transfers; returns how many changed."""
    bus = bus or bootstrap(runtime)
    due = runtime.db.transfers.find({"state": model.PENDING, "expires_at": {"$lte": utcnow()}}, {"_id": 1}) \
        .sort("expires_at", ASCENDING).limit(limit)
    changed = 0
    for doc in list(due):
        try:
            if bus.handle(commands.ExpireTransfer(doc["_id"])):
                changed += 1
        except Problem as exc:  # a rule refused it (e.g. an account went missing): leave it, log, go on
            log.warning("scheduler: could not expire transfer", extra={"transfer_id": doc["_id"], "error": str(exc)})
    return changed


def _local_day(runtime, community_id: str, at: datetime) -> date:
    """The community's calendar day at `at` (as lots.local_day, read outside a transaction)."""
    return zone_day((runtime.db.communities.find_one({"_id": community_id}, {"timezone": 1}) or {}).get("timezone"),
                    at)


def _members_due(runtime, at: datetime, horizon_days: int, chunk: int, days_of=None, counted: bool = False):
    """(community's day, member accounts with lots holding points that expire on or before that day, or with
    `days_of(community_id, today)` on exactly those days), a chunk at a time per community, until none are left.
    With `counted`, each account comes as (account, how many of its lots are due)."""
    latest = (at + timedelta(days=1 + horizon_days)).date().isoformat()  # no time zone is a day ahead of UTC+14
    lots = runtime.db[LOTS]
    for community_id in lots.distinct("community_id", {"remaining": {"$gt": 0}, "expires_on": {"$lte": latest}}):
        today = _local_day(runtime, community_id, at)
        on = {"$in": days_of(community_id, today)} if days_of else {"$ne": None, "$lte": today.isoformat()}
        after = ""
        while True:
            ids = [(d["_id"], d["lots"]) for d in lots.aggregate([
                {"$match": {"community_id": community_id, "remaining": {"$gt": 0}, "expires_on": on,
                            "account_id": {"$gt": after}}},
                {"$group": {"_id": "$account_id", "lots": {"$sum": 1}}}, {"$sort": {"_id": 1}},
                {"$limit": chunk}])]
            if not ids:
                break
            yield today, ids if counted else [a for a, _ in ids]
            after = ids[-1][0]


def _groups(counted: list[tuple[str, int]], members: int, lots: int):
    """The accounts split into runs of at most `members` accounts and about `lots` due lots (a member with more
    goes alone)."""
    group, held = [], 0
    for account_id, n in counted:
        if group and (len(group) >= members or held + n > lots):
            yield group
            group, held = [], 0
        group.append(account_id)
        held += n
    if group:
        yield group


def expire_lots_due(runtime, bus=None, at: datetime | None = None, chunk: int = BATCH,
                    per_transaction: int = EXPIRY_GROUP, lots_per_transaction: int = EXPIRY_GROUP_LOTS) -> int:
    """Expire every member's lots due on their community's day at `at` (now unless given), `per_transaction`
    members and about `lots_per_transaction` lots per transaction at most (shared.groupcommit: each member's
    expiry under its own savepoint, one refused alone), members read a chunk at a time; returns the points
    expired. Idempotent: an expired lot holds nothing, so a run stopped midway (a crash) is finished by running
    again. (`bus` is accepted for the callers that pass one.)"""
    at = at or utcnow()
    group = GroupUnitOfWork(runtime.uow, {commands.ExpireLots: HANDLERS[commands.ExpireLots]}, prefetch_expiry)
    expired = 0
    for today, counted in _members_due(runtime, at, 0, chunk, counted=True):
        for ids in _groups(counted, per_transaction, lots_per_transaction):
            for account_id, result in zip(ids, group.run([commands.ExpireLots(a, today) for a in ids])):
                if isinstance(result, Problem):
                    log.warning("scheduler: could not expire lots", extra={"account_id": account_id,
                                                                           "error": str(result)})
                else:
                    expired += result
    return expired


def remind_due(runtime, bus=None, at: datetime | None = None, chunk: int = BATCH) -> int:
    """PointsExpiring reminders due on the communities' day at `at` (at most once each); how many were sent."""
    bus, at = bus or bootstrap(runtime), at or utcnow()
    sent = 0
    def days_of(community_id: str, today: date) -> list[str]:
        versions = [rule_set(d) for d in runtime.db[RULES].find({"community_id": community_id})]
        return [(today + timedelta(days=n)).isoformat() for n in in_effect(versions, at)["expiry"]["reminder_days"]]

    for today, ids in _members_due(runtime, at, REMIND_HORIZON_DAYS, chunk, days_of):
        for account_id in ids:
            sent += bus.handle(commands.RemindExpiry(account_id, today))
    return sent


REMIND_HORIZON_DAYS = 365  # the furthest reminder day the rules allow


def run(runtime, producer, stop: threading.Event) -> None:
    """Run the jobs every LEDGER_SCHEDULER_INTERVAL seconds (default 30) until `stop` is set."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", 30))
    bus = bootstrap(runtime)

    def drain() -> None:
        while expire_due(runtime, bus) >= BATCH and not stop.is_set():
            pass
        expire_lots_due(runtime, bus)
        remind_due(runtime, bus)
    every(interval, drain, stop, "scheduler")
