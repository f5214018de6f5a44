"""The dev stack itself: real Kafka and MongoDB round trips, and data surviving broker/mongod restarts."""
from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from pymongo import MongoClient, WriteConcern

from shared import devstack


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _make_topic(bootstrap: str, partitions: int = 3) -> str:
    name = _unique("devstack-test")
    assert devstack.create_topics(bootstrap, {name: partitions}) == [name]
    return name


def _delete_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([name])
    finally:
        admin.close()


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            producer.send(topic, key=value, value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def _consume(bootstrap: str, topic: str, count: int, group_id: str | None = None, commit: bool = False) -> list[bytes]:
    """Read `count` records from the committed offset (or the beginning); optionally commit them."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group_id, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=20_000, max_poll_records=count)
    try:
        values = []
        for record in consumer:
            values.append(record.value)
            if len(values) == count:
                break
        if commit:
            consumer.commit()
        return values
    finally:
        consumer.close()


@pytest.fixture
def topic(infra):
    """A fresh 3-partition topic, deleted afterwards (infra may be a shared dev stack)."""
    name = _make_topic(infra.kafka_bootstrap)
    yield name
    _delete_topic(infra.kafka_bootstrap, name)


def test_produce_and_consume_round_trip(infra, topic):
    values = [f"event-{i}".encode() for i in range(20)]
    _produce(infra.kafka_bootstrap, topic, values)

    received = _consume(infra.kafka_bootstrap, topic, len(values), group_id=_unique("g"), commit=True)

    # Order is only guaranteed per partition, so compare as sets.
    assert sorted(received) == sorted(values)


def test_auto_topic_creation_is_disabled(infra):
    if not infra.restartable:
        pytest.skip("only our own brokers are guaranteed to run with auto.create.topics.enable=false")
    admin = KafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    try:
        missing = _unique("never-created")
        consumer = KafkaConsumer(missing, bootstrap_servers=infra.kafka_bootstrap, consumer_timeout_ms=1000)
        list(consumer)
        consumer.close()
        assert missing not in admin.list_topics()
    finally:
        admin.close()


def test_mongo_transaction_commit_and_abort(infra):
    client = MongoClient(infra.mongo_url)
    db = client[_unique("devstack_test")]
    try:
        coll = db.create_collection("things")

        def write(session):
            coll.insert_one({"_id": "committed"}, session=session)
            assert coll.find_one({"_id": "committed"}, session=session) is not None
            assert coll.find_one({"_id": "committed"}) is None  # invisible outside until commit

        with client.start_session() as session:
            session.with_transaction(write)
        assert coll.find_one({"_id": "committed"}) == {"_id": "committed"}

        with client.start_session() as session:
            session.start_transaction()
            coll.insert_one({"_id": "aborted"}, session=session)
            session.abort_transaction()
        assert coll.find_one({"_id": "aborted"}) is None
    finally:
        client.drop_database(db.name)
        client.close()


@pytest.mark.fault
@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_kafka_records_and_offsets_survive_restart(fault_infra, hard):
    broker = fault_infra.kafka
    topic = _make_topic(broker.bootstrap)
    group = _unique("g")
    values = [f"before-{i}".encode() for i in range(10)]
    _produce(broker.bootstrap, topic, values)
    first_half = _consume(broker.bootstrap, topic, 5, group_id=group, commit=True)

    pid_before = broker.process.pid
    broker.restart(hard=hard)
    assert broker.process.pid != pid_before

    # The committed group offset survived: the group continues with the other five.
    rest = _consume(broker.bootstrap, topic, 5, group_id=group)
    assert sorted(first_half + rest) == sorted(values)
    # And every record survived, as a new reader sees.
    assert sorted(_consume(broker.bootstrap, topic, 10)) == sorted(values)


@pytest.mark.fault
@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_mongo_documents_survive_restart(fault_infra, hard):
    mongod = fault_infra.mongod
    client = MongoClient(mongod.url)
    coll = client[_unique("devstack_fault")].get_collection("docs", write_concern=WriteConcern(w="majority", j=True))
    coll.insert_many([{"_id": i} for i in range(100)])

    pid_before = mongod.process.pid
    mongod.restart(hard=hard)
    assert mongod.process.pid != pid_before

    # The same client reconnects by itself, as a service's client must.
    assert coll.count_documents({}) == 100
    with client.start_session() as session:
        session.with_transaction(lambda s: coll.insert_one({"_id": "after"}, session=s))
    assert coll.count_documents({}) == 101
    client.close()
