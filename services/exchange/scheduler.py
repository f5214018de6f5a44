"""Periodic clearing: net every trust line whose clearing period has passed."""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from shared.errors import Problem
from shared.mongo import utcnow
from shared.worker import every
from services.exchange import ccflow, commands
from services.exchange.bootstrap import bootstrap
from services.exchange.repository import LINES, line_from_doc

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 300
DEFAULT_FEDERATION_SECONDS = 1.0


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
    """Every EXCHANGE_SCHEDULER_INTERVAL seconds (default 300) clear the trust lines that are due; beside it, on
    start and every EXCHANGE_FEDERATION_INTERVAL seconds (default 1), finish or undo the transfers with other
    nodes this node started (ccflow.recover: a step not answered, after a crash or a timeout, is sent again)."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", DEFAULT_INTERVAL_SECONDS))
    federation = float(runtime.config.setting("FEDERATION_INTERVAL", DEFAULT_FEDERATION_SECONDS))
    bus = bootstrap(runtime)
    recovery = threading.Thread(target=every, args=(federation, lambda: ccflow.recover(runtime), stop_event,
                                                    "federation"), daemon=True, name="exchange-federation")
    recovery.start()
    every(interval, lambda: clear_due(runtime, bus), stop_event, "scheduler")
    recovery.join(timeout=10)
