"""Periodic clearing: net every trust line whose clearing period has passed."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from shared.errors import Problem
from shared.mongo import utcnow
from shared.worker import every
from services.exchange import commands
from services.exchange.bootstrap import bootstrap
from services.exchange.repository import LINES, line_from_doc

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 300


def clear_due(runtime, bus, now: datetime | None = None) -> list[dict]:
    """Clear each trust line (open, suspended, or closed with a position left) whose period has ended."""
    now = now or utcnow()
    done = []
    for doc in runtime.db[LINES].find({"position.transfers": {"$gt": 0}}):
        if not line_from_doc(doc).clearing_due(now):
            continue
        try:
            done.append(bus.handle(commands.ClearTrustLine(doc["_id"], now)))
        except Problem as problem:  # cleared meanwhile by an admin
            log.info("scheduled clearing skipped", extra={"trust_line_id": doc["_id"], "code": problem.code})
    if done:
        log.info("scheduled clearing", extra={"clearings": len(done)})
    return done


def run(runtime, producer, stop_event: threading.Event) -> None:
    """Every EXCHANGE_SCHEDULER_INTERVAL seconds (default 300) clear the trust lines that are due."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", DEFAULT_INTERVAL_SECONDS))
    bus = bootstrap(runtime)
    every(interval, lambda: clear_due(runtime, bus), stop_event, "scheduler")
