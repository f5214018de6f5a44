"""Periodic jobs of the ledger: lapse pending transfers past their community's TTL.

Run with `python -m shared.worker ledger scheduler`. Each transfer is expired in its own transaction
that first re-reads it and acts only if it is still pending and lapsed, so running it twice, or two
schedulers at once, changes each transfer once (the loser of a race sees a write conflict, retries,
and finds the transfer already resolved).
"""
from __future__ import annotations

import logging
import threading

from pymongo import ASCENDING

from shared.errors import Problem
from shared.mongo import utcnow
from shared.worker import every
from services.ledger import commands, model
from services.ledger.bootstrap import bootstrap

log = logging.getLogger(__name__)
BATCH = 200


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


def run(runtime, producer, stop: threading.Event) -> None:
    """Run the jobs every LEDGER_SCHEDULER_INTERVAL seconds (default 30) until `stop` is set."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", 30))
    bus = bootstrap(runtime)

    def drain() -> None:
        while expire_due(runtime, bus) >= BATCH and not stop.is_set():
            pass
    every(interval, drain, stop, "scheduler")
