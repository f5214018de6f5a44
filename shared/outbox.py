"""Transactional outbox: rows written with the state change, published to Kafka by a relay."""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.envelope import Event
from shared.mongo import utcnow

log = logging.getLogger(__name__)
OUTBOX = "outbox"
LEASES = "relay_lease"
# A crashed relay's lease blocks its successor this long at most; a live relay renews it every
# LEASE_SECONDS / 2 (and a relay stopped cleanly releases it at once).
LEASE_SECONDS = 6
ROW_FIELDS = {"topic": str, "key": str, "value": bytes}
# After a wake-up the relay waits this long so commits arriving together go out as one batch: one read of the
# pending rows, one produce request and one majority update marking them sent per batch, not per commit. At
# 10 ms a batch held one or two rows at a few dozen commits per second; 50 ms cut the relay's, Kafka's and
# mongod's CPU per transfer (services/ledger/README.md, Benchmark) for 50 ms more between a commit and its
# events, which nothing waits on synchronously (HTTP answers are sent at the commit). 100 ms (RELAY_LINGER_MS=100)
# cut the ledger relay's CPU a further third at 60 transfers/s (1.22 -> 0.78 ms per transfer, two A/B pairs) for
# 50 ms more per hop; the default stays 50 ms, since events cross services in chains of hops.
LINGER_SECONDS = 0.05


def write(db, session, events: list[tuple[str, Event]]) -> None:
    """Insert outbox rows for (topic, event) pairs inside the caller's transaction."""
    now = utcnow()
    db[OUTBOX].insert_many(
        [{"_id": e.id, "topic": t, "key": e.key, "value": e.to_json(), "type": e.type,
          "created_at": now, "n": i, "sent": False} for i, (t, e) in enumerate(events)],
        session=session, ordered=True)


def ensure_indexes(db) -> None:
    """Indexes the relay needs: pending rows in order, and sent rows kept for a week."""
    db[OUTBOX].create_index([("sent", ASCENDING), ("created_at", ASCENDING), ("n", ASCENDING)])
    db[OUTBOX].create_index("sent_at", expireAfterSeconds=7 * 24 * 3600)


class Relay:
    """Publishes unsent outbox rows in order and marks them sent; one active relay per database."""

    def __init__(self, db, producer, batch_size: int = 500, linger: float = LINGER_SECONDS):
        self.db = db
        self.linger = linger
        self.producer = producer
        self.batch_size = batch_size
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._lease_until = None
        self._recent: tuple[set, set] = (set(), set())

    def hold_lease(self) -> bool:
        """Take or renew the relay lease, so two relays never interleave and reorder a key's events."""
        now = utcnow()
        if self._lease_until is not None and now < self._lease_until - timedelta(seconds=LEASE_SECONDS / 2):
            return True  # renewing on every wake-up would cost a majority write per committed change
        self._lease_until = None
        try:
            doc = self.db[LEASES].find_one_and_update(
                {"_id": "relay", "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + timedelta(seconds=LEASE_SECONDS)}},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # another relay holds a live lease
            return False
        if doc is None or doc["owner"] != self.owner:
            return False
        self._lease_until = now + timedelta(seconds=LEASE_SECONDS)
        return True

    @property
    def holding(self) -> bool:
        """Whether this relay holds a live lease (it is the one publishing)."""
        return self._lease_until is not None and utcnow() < self._lease_until

    def release_lease(self) -> None:
        """Give the lease up (clean stop), so a successor publishes at once instead of after LEASE_SECONDS."""
        self._lease_until = None
        try:
            self.db[LEASES].delete_one({"_id": "relay", "owner": self.owner})
        except PyMongoError as exc:  # mongod already gone: the lease then expires by itself
            log.warning("relay: could not release the lease", extra={"error": str(exc)})

    def pending(self) -> list[dict]:
        """The oldest unsent rows, oldest first; malformed rows are set aside so they cannot block the rest."""
        rows = list(self.db[OUTBOX].find({"sent": False}).sort(
            [("created_at", ASCENDING), ("n", ASCENDING)]).limit(self.batch_size))
        bad = [r["_id"] for r in rows if not all(isinstance(r.get(k), t) for k, t in ROW_FIELDS.items())]
        if bad:
            log.error("relay: malformed outbox rows set aside", extra={"ids": [str(i) for i in bad]})
            self.db[OUTBOX].update_many({"_id": {"$in": bad}}, {"$set": {"sent": "malformed"}})
        return [r for r in rows if r["_id"] not in bad]

    def publish(self, rows: list[dict]) -> None:
        """Send rows to Kafka and wait for every acknowledgement (acks=all)."""
        futures = [self.producer.send(r["topic"], key=r["key"].encode(), value=bytes(r["value"])) for r in rows]
        self.producer.flush()
        for f in futures:
            f.get(timeout=30)

    def mark_sent(self, rows: list[dict]) -> None:
        """Record rows as published; a crash before this only causes duplicates, which consumers drop."""
        self.db[OUTBOX].update_many({"_id": {"$in": [r["_id"] for r in rows]}},
                                    {"$set": {"sent": True, "sent_at": utcnow()}})

    def drain_once(self) -> int:
        """Publish one batch if this relay holds the lease; returns how many rows went out."""
        if not self.hold_lease():
            return 0
        rows = self.pending()
        if rows:
            self.publish(rows)
            self.mark_sent(rows)
            # The ids of the last two batches: their inserts still come through the change stream afterwards.
            self._recent = (self._recent[1], {r["_id"] for r in rows})
        return len(rows)

    def _already_sent(self, change: dict) -> bool:
        row_id = (change.get("documentKey") or {}).get("_id")
        return any(row_id in batch for batch in self._recent)

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Relay until `stop` is set, woken within milliseconds of each commit by one long-lived change stream;
        releases the lease when it stops."""
        try:
            self._run(stop, idle_wait)
        finally:
            if self._lease_until is not None:
                self.release_lease()

    def _run(self, stop: threading.Event, idle_wait: float) -> None:
        while not stop.is_set():
            try:
                # The stream opens before the first drain, so an insert committed in between still wakes us.
                # Only the row ids: the rows are read in order by pending(), so the notices need not carry them.
                with self.db[OUTBOX].watch([{"$match": {"operationType": "insert"}},
                                            {"$project": {"documentKey": 1}}],
                                           max_await_time_ms=int(idle_wait * 1000)) as stream:
                    while not stop.is_set():
                        if self.drain_once() == self.batch_size:
                            continue  # a backlog: keep draining
                        # try_next: at once if an insert is waiting, else after idle_wait (then drain anyway,
                        # which also renews the lease). One drain publishes many rows, and each of their
                        # inserts still arrives here: skip those rather than query once per row.
                        change = stream.try_next()
                        while change is not None and self._already_sent(change) and not stop.is_set():
                            change = stream.try_next()
                        if change is not None:
                            stop.wait(self.linger)
            except PyMongoError as exc:
                log.warning("relay: MongoDB unavailable, retrying", extra={"error": str(exc)})
                stop.wait(1.0)
            except Exception as exc:  # noqa: BLE001 - Kafka down: keep rows unsent and retry
                log.warning("relay: publish failed, retrying", extra={"error": repr(exc)})
                stop.wait(1.0)
