"""Periodic jobs of the requests service: expire open requests whose time window has passed."""
from __future__ import annotations

import logging
import threading

from shared.mongo import utcnow
from shared.worker import every
from services.requests import commands
from services.requests.bootstrap import bootstrap
from services.requests.repository import REQUESTS

log = logging.getLogger(__name__)
BATCH = 500


def expire_due(runtime, bus, now=None) -> int:
    """Expire every open request whose window ended before `now`; each in its own transaction."""
    now = now or utcnow()
    expired = 0
    while True:
        due = [d["_id"] for d in runtime.db[REQUESTS].find(
            {"status": "open", "window_end": {"$lte": now}}, {"_id": 1}).limit(BATCH)]
        for request_id in due:
            # The handler re-checks inside the transaction: a request accepted meanwhile is left alone.
            expired += bool(bus.handle(commands.ExpireRequest(request_id, now)))
        if len(due) < BATCH:
            return expired


def run(runtime, producer, stop: threading.Event) -> None:
    """Run the expiry job every REQUESTS_EXPIRY_INTERVAL_SECONDS (default 60) until `stop` is set."""
    interval = float(runtime.config.setting("EXPIRY_INTERVAL_SECONDS", 60))
    bus = bootstrap(runtime)

    def expire() -> None:
        count = expire_due(runtime, bus)
        if count:
            log.info("requests expired", extra={"count": count})
    every(interval, expire, stop, "expiry")
