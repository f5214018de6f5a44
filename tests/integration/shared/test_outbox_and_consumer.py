"""The event pipeline against real Kafka and MongoDB: outbox relay, exactly-once consumers, DLQ."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaTimeoutError
from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment
from marshmallow import Schema, fields
from pymongo.errors import AutoReconnect

from shared import topics
from shared import consumer as consumer_module
from shared.consumer import ConsumerRunner, Subscription, TopicsMissing
from shared.envelope import new_event
from shared.kafka_bus import create_topics, make_producer
from shared.mongo import utcnow
from shared.outbox import LEASES, OUTBOX, Relay
from shared.runtime import build_runtime
from shared.testing import wait_until


class PingSchema(Schema):
    n = fields.Integer(required=True, strict=True)


def count_ping(event, payload, tx):
    """The consumer's visible effect: how many times each event key was applied."""
    tx["seen"].update_one({"_id": event.key}, {"$inc": {"n": 1}, "$set": {"value": payload["n"]}}, upsert=True)


@pytest.fixture
def pipe(deployment):
    """A runtime (MongoDB + unit of work) and producer for a throw-away service named `pipe`."""
    config = deployment.config("pipe")
    runtime = build_runtime(config)
    producer = make_producer(config)
    yield config, runtime, producer
    producer.close(timeout=5)
    runtime.close()


def runner(config, runtime, producer, group="pipe-test") -> ConsumerRunner:
    return ConsumerRunner(config, runtime.uow, group, [topics.COMMUNITY],
                          {"Ping": Subscription(PingSchema, count_ping)}, producer)


def write_pings(runtime, count: int) -> list[str]:
    keys = []
    for i in range(count):
        key = f"k{i}"
        runtime.uow.run(lambda tx, i=i, key=key: tx.emit(
            topics.COMMUNITY, new_event("Ping", {"n": i}, key=key, producer="pipe")))
        keys.append(key)
    return keys


def drain(consumer_runner: ConsumerRunner, idle_polls: int = 3) -> None:
    """Poll until several polls in a row bring nothing new."""
    quiet = 0
    while quiet < idle_polls:
        quiet = quiet + 1 if consumer_runner.poll_once(timeout_ms=700) == 0 else 0


def applied(runtime) -> dict[str, int]:
    return {d["_id"]: d["n"] for d in runtime.db.seen.find()}


def test_relay_crash_between_publish_and_mark_duplicates_but_consumer_applies_once(pipe):
    config, runtime, producer = pipe
    keys = write_pings(runtime, 20)
    crashed = Relay(runtime.db, producer)
    assert crashed.hold_lease()
    crashed.publish(crashed.pending())  # published, then "killed" before mark_sent
    runtime.db[LEASES].update_many({}, {"$set": {"expires_at": runtime.db[LEASES].find_one()["expires_at"]
                                                  .replace(year=2000)}})  # its lease runs out
    assert Relay(runtime.db, producer).drain_once() == 20  # the successor publishes all 20 again
    assert runtime.db[OUTBOX].count_documents({"sent": False}) == 0

    consumer = runner(config, runtime, producer)
    drain(consumer)
    consumer.close()
    assert applied(runtime) == {k: 1 for k in keys}


def test_consumer_killed_before_committing_offsets_applies_each_event_once(pipe):
    config, runtime, producer = pipe
    keys = write_pings(runtime, 15)
    Relay(runtime.db, producer).drain_once()

    doomed = runner(config, runtime, producer)

    class Killed(Exception):
        pass

    def die(*_a, **_k):
        raise Killed()
    doomed._ensure_consumer().commit = die  # effects committed in MongoDB, offsets never reach Kafka
    with pytest.raises(Killed):
        while True:
            doomed.poll_once(timeout_ms=700)
    doomed.close()
    assert sum(applied(runtime).values()) > 0

    successor = runner(config, runtime, producer)
    drain(successor)
    successor.close()
    assert applied(runtime) == {k: 1 for k in keys}


def test_bad_events_go_to_the_dlq_and_the_consumer_keeps_going(pipe):
    config, runtime, producer = pipe
    topic = config.topic(topics.COMMUNITY)
    good = new_event("Ping", {"n": 7}, key="good", producer="pipe")
    raw = KafkaProducer(bootstrap_servers=config.kafka_bootstrap)
    for value in (b"{not json", json.dumps({"type": "Ping"}).encode(),
                  new_event("Ping", {"n": 1}, key="v2", producer="pipe", version=2).to_json(),
                  new_event("Ping", {"n": "seven"}, key="badpayload", producer="pipe").to_json(),
                  new_event("SomethingElse", {}, key="ignored", producer="pipe").to_json(),
                  good.to_json()):
        raw.send(topic, key=b"x", value=value)
    raw.flush()
    raw.close()

    consumer = runner(config, runtime, producer)
    drain(consumer)
    consumer.close()
    assert applied(runtime) == {"good": 1}

    dlq = KafkaConsumer(topics.dlq(topic), bootstrap_servers=config.kafka_bootstrap, group_id=None,
                        auto_offset_reset="earliest", consumer_timeout_ms=3000)
    reasons = [json.loads(r.value)["reason"] for r in dlq]
    dlq.close()
    assert len(reasons) == 4
    assert any("unparseable" in r for r in reasons)
    assert any("unknown version 2" in r for r in reasons)
    assert any("fails its schema" in r for r in reasons)


def test_a_dead_letter_send_that_times_out_loses_no_event(pipe):
    """A bad event whose dead-letter send times out is neither applied nor parked; the consumer's position is past
    it all the same. The runner rejoins and resumes from the committed offsets: the bad event is parked on the
    second try and the good events behind it are applied once each."""
    config, runtime, producer = pipe
    topic = config.topic(topics.COMMUNITY)
    raw = KafkaProducer(bootstrap_servers=config.kafka_bootstrap)
    # One key, so one partition and one order: a good event, the bad one, two good events after it.
    for value in (new_event("Ping", {"n": 1}, key="before", producer="pipe").to_json(),
                  new_event("Ping", {"n": "bad"}, key="bad", producer="pipe").to_json(),
                  new_event("Ping", {"n": 2}, key="after1", producer="pipe").to_json(),
                  new_event("Ping", {"n": 3}, key="after2", producer="pipe").to_json()):
        raw.send(topic, key=b"one", value=value)
    raw.flush()
    raw.close()

    class FlakyProducer:
        """The real producer, except that the first send times out (a broker slow to answer)."""
        failures = 1

        def send(self, *args, **kwargs):
            if self.failures:
                self.failures -= 1
                raise KafkaTimeoutError("send timed out")
            return producer.send(*args, **kwargs)

    consumer = ConsumerRunner(config, runtime.uow, "pipe-test", [topics.COMMUNITY],
                              {"Ping": Subscription(PingSchema, count_ping)}, FlakyProducer())
    worker = threading.Thread(target=consumer.run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while len(applied(runtime)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    consumer.stop()
    worker.join(timeout=30)
    assert applied(runtime) == {"before": 1, "after1": 1, "after2": 1}
    dlq = KafkaConsumer(topics.dlq(topic), bootstrap_servers=config.kafka_bootstrap, group_id=None,
                        auto_offset_reset="earliest", consumer_timeout_ms=3000)
    parked = [json.loads(r.value)["value"] for r in dlq]
    dlq.close()
    assert len(parked) == 1 and '"bad"' in parked[0]


def test_a_consumer_started_before_its_topic_exists_waits_and_then_consumes(pipe):
    """A worker may start before the topics are created: it does not subscribe (which would join the group with
    no partitions), it says which topics it waits for, and it consumes once they exist."""
    config, runtime, producer = pipe
    config = config.with_(topic_prefix=f"late{uuid.uuid4().hex[:8]}.")
    consumer = runner(config, runtime, producer)
    with pytest.raises(TopicsMissing, match="community.events"):
        consumer.poll_once(timeout_ms=100)
    create_topics(config.kafka_bootstrap, {config.topic(topics.COMMUNITY): 3})
    raw = KafkaProducer(bootstrap_servers=config.kafka_bootstrap)
    raw.send(config.topic(topics.COMMUNITY), key=b"late",
             value=new_event("Ping", {"n": 5}, key="late", producer="pipe").to_json()).get(timeout=30)
    raw.close()
    drain(consumer)
    consumer.close()
    assert applied(runtime) == {"late": 1}


class ForgetfulFirstAssignor(RangePartitionAssignor):
    """The group leader's first assignment as kafka-python made it in CI, when its metadata lacked the topics'
    partitions ("No partition metadata for topic …"): nobody owns anything, and the group is stable all the same."""
    assignments = 0

    @classmethod
    def assign(cls, cluster, members):
        cls.assignments += 1
        if cls.assignments == 1:
            return {m.member_id: ConsumerProtocolAssignment(cls.version, [], b"") for m in members}
        return super().assign(cluster, members)


def test_a_group_whose_partitions_have_no_owner_is_rejoined_and_the_events_are_applied(pipe, monkeypatch):
    config, runtime, producer = pipe
    monkeypatch.setattr(consumer_module, "ORPHAN_CHECK_SECONDS", 1.0)
    keys = write_pings(runtime, 5)
    Relay(runtime.db, producer).drain_once()
    consumer = ConsumerRunner(config, runtime.uow, "pipe-test", [topics.COMMUNITY],
                              {"Ping": Subscription(PingSchema, count_ping)}, producer,
                              partition_assignment_strategy=(ForgetfulFirstAssignor,))
    deadline = time.monotonic() + 60
    while len(applied(runtime)) < len(keys) and time.monotonic() < deadline:
        consumer.poll_once(timeout_ms=500)
    consumer.close()
    assert ForgetfulFirstAssignor.assignments >= 2  # the runner saw nobody owned the partitions, and rejoined
    assert applied(runtime) == {k: 1 for k in keys}


def test_a_mongodb_error_is_waited_out_said_in_the_log_and_the_event_applied_once(pipe, caplog):
    config, runtime, producer = pipe
    keys = write_pings(runtime, 1)
    Relay(runtime.db, producer).drain_once()
    failures = []

    def flaky(event, payload, tx):
        if len(failures) < 2:  # the batch, then the first one-by-one try: MongoDB is away
            failures.append(event.id)
            raise AutoReconnect("mongod stepped down")
        count_ping(event, payload, tx)
    consumer = ConsumerRunner(config, runtime.uow, "pipe-test", [topics.COMMUNITY],
                              {"Ping": Subscription(PingSchema, flaky)}, producer)
    with caplog.at_level("WARNING", logger="shared.consumer"):
        drain(consumer)
    consumer.close()
    assert applied(runtime) == {k: 1 for k in keys}
    assert [r for r in caplog.records if r.getMessage() == "consumer: MongoDB error, retrying the event"]


def test_a_rolled_back_change_publishes_nothing(pipe):
    config, runtime, producer = pipe

    def failing(tx):
        tx["things"].insert_one({"_id": uuid.uuid4().hex})
        tx.emit(topics.COMMUNITY, new_event("Ping", {"n": 1}, key="never", producer="pipe"))
        raise RuntimeError("the handler failed after emitting")
    with pytest.raises(RuntimeError):
        runtime.uow.run(failing)
    assert runtime.db[OUTBOX].count_documents({}) == 0
    assert runtime.db.things.count_documents({}) == 0
    relay = Relay(runtime.db, producer)
    assert relay.drain_once() == 0  # nothing to publish from the rolled-back change
    # A change committed afterwards goes through; a consumer of the topic sees it and only it.
    keys = write_pings(runtime, 1)
    assert relay.drain_once() == 1
    consumer = runner(config, runtime, producer, group="pipe-rollback")
    drain(consumer)
    consumer.close()
    assert applied(runtime) == {keys[0]: 1}
    on_topic = KafkaConsumer(config.topic(topics.COMMUNITY),
                             bootstrap_servers=config.kafka_bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    published = [r.key.decode() for r in on_topic]
    on_topic.close()
    assert "never" not in published and keys[0] in published


def test_a_malformed_outbox_row_is_set_aside_and_does_not_block_the_others(pipe):
    config, runtime, producer = pipe
    runtime.db[OUTBOX].insert_one({"_id": "broken", "sent": False, "created_at": utcnow(), "n": 0})
    keys = write_pings(runtime, 3)
    assert Relay(runtime.db, producer).drain_once() == 3
    assert runtime.db[OUTBOX].find_one({"_id": "broken"})["sent"] == "malformed"
    consumer = runner(config, runtime, producer)
    drain(consumer)
    consumer.close()
    assert applied(runtime) == {k: 1 for k in keys}


def test_a_test_harness_worker_thread_that_dies_is_restarted_and_says_why(deployment, monkeypatch):
    """In a deployment supervisord restarts a worker whose role died; the in-process harness does the same for its
    threads, records why, and the consumer goes on applying events (a silent death once stalled a test module)."""
    real = ConsumerRunner.poll_once
    died = []

    def poll_once(self, timeout_ms=500):
        if not died:
            died.append(self.config.service)
            raise RuntimeError("a bug inside the poll loop")
        return real(self, timeout_ms)
    monkeypatch.setattr(ConsumerRunner, "poll_once", poll_once)
    ledger = deployment.service("ledger")
    member = f"m_{uuid.uuid4().hex[:8]}"
    deployment.publish(topics.COMMUNITY, "MemberJoined", {
        "community_id": "c_supervised", "member_id": member, "grid_id": None, "roles": ["resident"], "skills": [],
        "availability": [], "vulnerable": False, "merchant_id": None, "status": "active",
        "joined_at": "2026-01-01T00:00:00+00:00"}, key=member)
    accounts = ledger.db.accounts
    deadline = time.monotonic() + 60
    while accounts.count_documents({"owner_id": member}) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert {a["unit"] for a in accounts.find({"owner_id": member})} == {"HOUR", "PT"}
    assert died == ["ledger"] and ledger.failures == ["RuntimeError('a bug inside the poll loop')"]
    state = wait_until(lambda: (s := ledger.consumer_state()).startswith("ledger: 12/12 partitions") and s,
                       timeout=60, message="the restarted consumer owns its 12 partitions")
    assert "polled" in state and "failures [\"RuntimeError('a bug inside the poll loop')\"]" in state
