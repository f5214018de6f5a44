"""Periodic settlement: close each merchant's batch when its daily or weekly period has ended."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from shared.errors import Problem
from shared.mongo import utcnow
from shared.worker import every
from services.settlement import commands
from services.settlement.bootstrap import bootstrap
from services.settlement.model import batch_due, zone
from services.settlement.views import timezone_of

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 60


def settle_due(runtime, bus, now: datetime | None = None) -> list[dict]:
    """Close the batch of every active merchant whose period has ended; returns the closed batches."""
    now = now or utcnow()
    closed = []
    for merchant in runtime.db.merchants.find({"status": "active"}):
        cutoff = batch_due(merchant["schedule"], merchant.get("last_period_end"), merchant.get("created_at"), now,
                           zone(timezone_of(runtime.db, merchant["community_id"])))
        if cutoff is None:
            continue
        try:
            open_batch = runtime.db.batches.find_one({"merchant_id": merchant["_id"], "state": "open"})
            if open_batch is not None:  # a draft an admin left open is settled with its period
                closed.append(bus.handle(commands.CloseBatch(open_batch["_id"], merchant["community_id"])))
            closed.append(bus.handle(commands.CreateBatch(merchant["_id"], merchant["community_id"], cutoff,
                                                          close=True)))
        except Problem as problem:
            if problem.code != "nothing_to_settle":
                log.warning("scheduled settlement refused", extra={"merchant_id": merchant["_id"],
                                                                   "code": problem.code})
    if closed:
        log.info("scheduled settlement closed batches", extra={"batches": len(closed)})
    return closed


def run(runtime, producer, stop_event: threading.Event) -> None:
    """Every SETTLEMENT_SCHEDULER_INTERVAL seconds (default 60) settle the merchants that are due."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", DEFAULT_INTERVAL_SECONDS))
    bus = bootstrap(runtime)
    every(interval, lambda: settle_due(runtime, bus), stop_event, "scheduler")
