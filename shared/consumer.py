"""Consumer runner: applies each event once, in a MongoDB transaction, then commits its offset."""
from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from marshmallow import EXCLUDE, Schema, ValidationError
from pymongo.errors import DuplicateKeyError, PyMongoError
from tenacity import (Retrying, retry_if_exception_type, retry_if_not_exception_type, stop_after_attempt,
                      wait_exponential)

from shared import metrics, topics
from shared.envelope import Event, parse_event
from shared.errors import Problem
from shared.logs import reset_correlation_id, set_correlation_id
from shared.uow import Tx, UnitOfWork

log = logging.getLogger(__name__)
PROCESSED = "processed_events"
BUG_ATTEMPTS = 3
# A consumer that crashed (no LeaveGroup) keeps its partitions until the coordinator misses its
# heartbeats for this long; 6 s is the broker's group.min.session.timeout.ms. A clean stop leaves at once.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 2000
RECONNECT_BACKOFF_MAX_MS = 3000
METADATA_MAX_AGE_MS = 10_000
PROBE_TIMEOUT_MS = 10_000
# How often a member that does not own every partition of its topics asks the broker whether any has no owner.
ORPHAN_CHECK_SECONDS = 15.0
# A group seen rebalancing at this many checks in a row (ORPHAN_CHECK_SECONDS apart) is stuck: rejoin it.
UNSETTLED_CHECKS = 3


@dataclass(frozen=True)
class Subscription:
    """How one event type is handled: payload schema, newest understood version, handler(event, payload, tx)."""

    schema: type[Schema] | None
    handler: Callable[[Event, dict, Tx], None]
    max_version: int = 1


class BadEvent(Exception):
    """An event that can never be applied; it goes to the dead-letter topic."""


class ConsumerRunner:
    """Polls topics, applies events exactly once through the unit of work, dead-letters bad ones."""

    def __init__(self, config, uow: UnitOfWork, group: str, topic_names: list[str],
                 subscriptions: dict[str, Subscription], producer, **consumer_opts):
        self.config = config
        self.uow = uow
        self.group = group
        self.topics = [config.topic(t) for t in topic_names]
        self.subscriptions = subscriptions
        self.producer = producer  # for the dead-letter topics
        self.consumer_opts = dict(
            bootstrap_servers=config.kafka_bootstrap, group_id=config.topic(group),
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=200,
            client_id=f"{config.service}-{group}", isolation_level="read_committed",
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            # After a broker restart, reconnect within seconds, not kafka-python's default 30 s backoff cap.
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            # A topic whose partitions the first metadata answer lacked (just created) is assigned at the next
            # refresh: within seconds, not kafka-python's default 5 minutes (a consumer idle meanwhile).
            metadata_max_age_ms=METADATA_MAX_AGE_MS)
        self.consumer_opts.update(consumer_opts)
        self.stop_event = threading.Event()
        self._consumer: KafkaConsumer | None = None
        self._assignment: frozenset = frozenset()  # the partitions assigned at the last poll
        self._partitions: frozenset = frozenset()  # (topic, partition) of every partition of our topics
        self._orphan_check_at = 0.0
        self._unsettled = 0  # checks in a row that found the group rebalancing
        self.polled_at: float | None = None  # time.monotonic() of the last poll that returned

    # -- applying one event -------------------------------------------------------------
    def decode(self, raw: bytes | None) -> tuple[Event, Subscription, dict] | None:
        """Parse and validate a record; None for types this consumer ignores; BadEvent if unusable."""
        try:
            event = parse_event(raw or b"")
        except (ValueError, TypeError, ValidationError) as exc:
            raise BadEvent(f"unparseable envelope: {exc}") from exc
        sub = self.subscriptions.get(event.type)
        if sub is None:
            return None
        if event.version > sub.max_version:
            raise BadEvent(f"unknown version {event.version} of {event.type} (max {sub.max_version})")
        try:
            payload = sub.schema(unknown=EXCLUDE).load(event.payload) if sub.schema else event.payload
        except ValidationError as exc:
            raise BadEvent(f"payload of {event.type} fails its schema: {exc.messages}") from exc
        return event, sub, payload

    def apply(self, event: Event, sub: Subscription, payload: dict) -> bool:
        """Apply in one transaction with the processed-id record; False if it was already applied."""
        def work(tx: Tx) -> bool:
            if tx[PROCESSED].find_one({"_id": event.id}, projection={"_id": 1}):
                return False
            tx[PROCESSED].insert_one({"_id": event.id, "type": event.type, "group": self.group})
            sub.handler(event, payload, tx)
            return True
        token = set_correlation_id(event.correlation_id)
        try:
            return self.uow.run(work)
        except DuplicateKeyError:
            return False  # a concurrent delivery of the same event won the race
        finally:
            reset_correlation_id(token)

    def handle_record(self, record) -> None:
        """Apply one Kafka record, retrying infrastructure failures and dead-lettering bad events."""
        try:
            decoded = self.decode(record.value)
        except BadEvent as exc:
            self.dead_letter(record, str(exc))
            return
        if decoded is not None:
            self.handle_decoded(record, *decoded)

    def handle_decoded(self, record, event: Event, sub: Subscription, payload: dict) -> None:
        """Apply one decoded event on its own, retrying infrastructure failures; park it if it cannot apply."""
        try:
            for attempt in Retrying(stop=stop_after_attempt(BUG_ATTEMPTS), reraise=True,
                                    retry=retry_if_not_exception_type((BadEvent, Problem, _Stopping))):
                with attempt:
                    self._apply_until_stored(event, sub, payload)
            metrics.EVENTS_CONSUMED.labels(self.config.service, event.type).inc()
        except (BadEvent, Problem) as exc:
            self.dead_letter(record, str(exc))
        except _Stopping:
            raise
        except Exception:  # noqa: BLE001 - a handler bug: park the event rather than block the partition
            self.dead_letter(record, "handler failed: " + traceback.format_exc(limit=5))

    def _apply_until_stored(self, event, sub, payload) -> None:
        # MongoDB being unreachable is not the event's fault: wait for it, never skip the event.
        for attempt in Retrying(retry=retry_if_exception_type(PyMongoError),
                                wait=wait_exponential(multiplier=0.2, max=5), reraise=True,
                                before_sleep=_log_mongo_retry):
            with attempt:
                if self.stop_event.is_set() and attempt.retry_state.attempt_number > 1:
                    raise _Stopping()
                self.apply(event, sub, payload)

    def dead_letter(self, record, reason: str) -> None:
        """Publish the record with the reason to `<topic>.dlq` and wait for the acknowledgement."""
        log.warning("event dead-lettered", extra={"topic": record.topic, "offset": record.offset,
                                                   "reason": reason[:500]})
        body = {"reason": reason, "topic": record.topic, "partition": record.partition,
                "offset": record.offset, "group": self.group,
                "value": (record.value or b"").decode("utf-8", "replace")}
        self.producer.send(topics.dlq(record.topic), key=record.key,
                           value=json.dumps(body).encode()).get(timeout=30)
        metrics.EVENTS_DEAD_LETTERED.labels(self.config.service, record.topic).inc()

    def apply_batch(self, decoded: list[tuple[Event, Subscription, dict]]) -> bool:
        """Apply decoded events in ONE transaction (a commit per event caps a consumer at tens per second).

        Returns False, with nothing applied, if the transaction failed: the caller then goes one event at a
        time, which finds and parks the culprit."""
        if not decoded:
            return True

        def work(tx: Tx) -> None:
            ids = [event.id for event, _, _ in decoded]
            seen = {d["_id"] for d in tx[PROCESSED].find({"_id": {"$in": ids}}, projection={"_id": 1})}
            for event, sub, payload in decoded:
                if event.id in seen:
                    continue  # redelivered by Kafka, or twice in this very batch
                seen.add(event.id)
                tx[PROCESSED].insert_one({"_id": event.id, "type": event.type, "group": self.group})
                token = set_correlation_id(event.correlation_id)
                try:
                    sub.handler(event, payload, tx)
                finally:
                    reset_correlation_id(token)
        try:
            self.uow.run(work)
        except Exception:  # noqa: BLE001 - rolled back whole; the one-by-one path sorts it out precisely
            log.info("consumer: batch failed, applying its records one by one", exc_info=True)
            return False
        for event, _, _ in decoded:
            metrics.EVENTS_CONSUMED.labels(self.config.service, event.type).inc()
        return True

    # -- the poll loop --------------------------------------------------------------------
    def poll_once(self, timeout_ms: int = 500) -> int:
        """Process one poll's records and commit their offsets; returns how many were seen."""
        consumer = self._ensure_consumer()
        batches = consumer.poll(timeout_ms=timeout_ms)
        self.polled_at = time.monotonic()
        self._note_assignment(frozenset(consumer.assignment()))
        self._rejoin_if_orphaned()
        if self._consumer is None:
            return 0
        records = [r for rs in batches.values() for r in rs]
        if not records:
            return 0
        good: list[tuple] = []  # (record, event, subscription, payload)
        for record in records:
            try:
                decoded = self.decode(record.value)
            except BadEvent as exc:
                self.dead_letter(record, str(exc))
                continue
            if decoded is not None:
                good.append((record, *decoded))
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        try:
            if not self.apply_batch([item[1:] for item in good]):
                for record, event, sub, payload in good:
                    self.handle_decoded(record, event, sub, payload)
                    done[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(
                        record.offset + 1, "", -1)
            done = {tp: OffsetAndMetadata(rs[-1].offset + 1, "", -1) for tp, rs in batches.items() if rs}
        finally:
            if done:
                # Only offsets whose effects are committed in MongoDB are committed to Kafka.
                consumer.commit(done)
        return len(records)

    @property
    def assigned(self) -> int:
        """How many partitions this member owned at its last poll (worker liveness reports it)."""
        return len(self._assignment)

    def _note_assignment(self, assignment: frozenset) -> None:
        if assignment != self._assignment:
            self._assignment = assignment
            log.info("consumer: partitions assigned", extra={
                "group": self.group, "partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assignment)})

    def run(self) -> None:
        """Poll until stop() is called; Kafka outages are waited out."""
        try:
            while not self.stop_event.is_set():
                try:
                    self.poll_once()
                except _Stopping:
                    break
                except KafkaError as exc:
                    log.warning("consumer: Kafka error, retrying", extra={"error": repr(exc)})
                    # The failed poll's records may be neither applied nor parked (a dead-letter send that timed
                    # out), yet the position is past them: rejoin, and resume from the committed offsets.
                    self.close()
                    self.stop_event.wait(1.0)
        finally:
            self.close()

    def stop(self) -> None:
        """Ask the loop to finish the record in hand and exit."""
        self.stop_event.set()

    def close(self) -> None:
        """Leave the group cleanly (LeaveGroup), so the partitions move to a successor at once."""
        self._assignment = frozenset()
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception as exc:  # noqa: BLE001 - broker already gone: the session then times out
                log.warning("consumer: close failed", extra={"error": repr(exc)})
            self._consumer = None

    def _ensure_consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            # Subscribing before the topics exist (a worker that starts with the broker, before the topics
            # are created) joins the group with no partitions until a metadata refresh: wait for them instead
            # (run() retries every second).
            waiting = self._topics_not_ready()
            if waiting:
                raise TopicsMissing(f"topics not created yet (or without a partition leader): {waiting}")
            self._consumer = KafkaConsumer(*self.topics, **self.consumer_opts)
            self._orphan_check_at = time.monotonic() + ORPHAN_CHECK_SECONDS
        return self._consumer

    def _admin(self) -> KafkaAdminClient:
        """An admin client for one question about our topics or group; every request bounded by PROBE_TIMEOUT_MS."""
        return KafkaAdminClient(bootstrap_servers=self.consumer_opts["bootstrap_servers"],
                                client_id=f"{self.consumer_opts['client_id']}-probe",
                                request_timeout_ms=PROBE_TIMEOUT_MS)

    def _topics_not_ready(self) -> list[str]:
        """Our topics that do not exist yet or have a partition without a leader. Asked with the admin client,
        whose every request is bounded by PROBE_TIMEOUT_MS: a consumer's all-topics metadata call waits for
        its answer with no bound at all, and one lost answer once kept a worker from ever consuming."""
        admin = self._admin()
        try:
            described = admin.describe_topics(self.topics)
        finally:
            admin.close()
        ready = {t["name"] for t in described if not t["error_code"] and t["partitions"]
                 and all(not p["error_code"] and p["leader_id"] >= 0 for p in t["partitions"])}
        self._partitions = frozenset((t["name"], p["partition_index"]) for t in described if t["name"] in ready
                                     for p in t["partitions"])
        return sorted(set(self.topics) - ready)

    def _rejoin_if_orphaned(self) -> None:
        """Rejoin when partitions of our topics have no owner, or the group never settles.

        kafka-python's group leader can assign while its own metadata lacks the topics' partitions ("No partition
        metadata for topic …") and then never rebalance once the metadata arrives (KAFKA-3949's race): the group
        is stable, nobody owns those partitions, and their events wait forever (seen in CI: a ledger consumer
        owned nothing for six minutes). A member that owns every partition needs no check; one that does not
        asks the broker every ORPHAN_CHECK_SECONDS, and leaves and rejoins if `unowned` finds a partition
        nobody owns, or the group rebalancing at UNSETTLED_CHECKS checks in a row."""
        if self.assigned >= len(self._partitions) or time.monotonic() < self._orphan_check_at:
            return
        self._orphan_check_at = time.monotonic() + ORPHAN_CHECK_SECONDS
        group_id = self.consumer_opts["group_id"]
        try:
            admin = self._admin()
            try:
                described = admin.describe_groups([group_id]).get(group_id) or {}
            finally:
                admin.close()
        except KafkaError as exc:  # the broker is busy or restarting: look again next time
            log.info("consumer: could not describe the group", extra={"error": repr(exc)})
            return
        orphans = unowned(described, self._partitions)
        self._unsettled = self._unsettled + 1 if orphans is None else 0
        if orphans or self._unsettled >= UNSETTLED_CHECKS:
            log.warning("consumer: partitions without an owner, or a group that does not settle; rejoining", extra={
                "group": self.group, "state": described.get("group_state"),
                "partitions": sorted(f"{t}:{p}" for t, p in orphans or self._partitions)})
            self._unsettled = 0
            self.close()


def unowned(group: dict, partitions) -> set[tuple[str, int]] | None:
    """The partitions, of `partitions` ((topic, partition) pairs), that no member of the described `group` owns;
    None while the group is rebalancing or its answer cannot be read (nothing to conclude yet).

    A group that is Empty or Dead while our consumer is subscribed has lost us: every partition is nobody's."""
    state = group.get("group_state")
    if group.get("error") or state in ("PreparingRebalance", "CompletingRebalance") or not state:
        return None
    if state != "Stable":
        return set(partitions)
    owned = set()
    for member in group.get("members") or ():
        assignment = member.get("member_assignment")
        if not isinstance(assignment, dict):
            return None  # undecodable: we cannot tell, so do nothing
        owned.update((a["topic"], p) for a in assignment.get("assigned_partitions") or () for p in a["partitions"])
    return set(partitions) - owned


def _log_mongo_retry(state) -> None:
    """A consumer waiting out MongoDB says so: an event that keeps failing is never retried in silence."""
    log.warning("consumer: MongoDB error, retrying the event", extra={
        "attempt": state.attempt_number, "error": repr(state.outcome.exception())[:500]})


class TopicsMissing(KafkaError):
    """The consumer's topics do not exist yet."""


class _Stopping(Exception):
    """Raised inside a retry loop when shutdown was requested."""
