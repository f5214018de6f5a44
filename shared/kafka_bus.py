"""Kafka clients: the idempotent producer, topic creation, and readiness checks."""
from __future__ import annotations

import logging
import time

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared import topics

log = logging.getLogger(__name__)


def make_producer(config, **overrides) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (acks=all)."""
    opts = dict(bootstrap_servers=config.kafka_bootstrap, acks="all", enable_idempotence=True,
                linger_ms=2, retries=2**31 - 1, max_in_flight_requests_per_connection=5,
                client_id=f"{config.service}-producer")
    opts.update(overrides)
    return KafkaProducer(**opts)


def create_topics(bootstrap: str, partitions_by_topic: dict[str, int]) -> list[str]:
    """Create missing topics (replication factor 1 here; more in production); returns those created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="topic-setup")
    try:
        existing = set(admin.list_topics())
        missing = {name: n for name, n in partitions_by_topic.items() if name not in existing}
        if missing:
            try:
                admin.create_topics([NewTopic(name, num_partitions=n, replication_factor=1)
                                     for name, n in missing.items()])
            except TopicAlreadyExistsError:
                pass  # created concurrently by someone else: fine
        return sorted(missing)
    finally:
        admin.close()


def ensure_topics(bootstrap: str, prefix: str = "", partitions: int = topics.PARTITIONS) -> list[str]:
    """Create every event topic (keyed, `partitions` each) and its single-partition DLQ if missing."""
    return create_topics(bootstrap, {f"{prefix}{name}": 1 if name.endswith(".dlq") else partitions
                                     for name in topics.ALL_TOPICS})


_reachability: dict[str, tuple[float, bool]] = {}
REACHABILITY_TTL = 5.0


def kafka_reachable(bootstrap: str) -> bool:
    """Whether a broker answers a metadata request (cached briefly: probes hit this often)."""
    now = time.monotonic()
    cached = _reachability.get(bootstrap)
    if cached and now - cached[0] < REACHABILITY_TTL:
        return cached[1]
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="readyz", request_timeout_ms=3000)
        try:
            admin.list_topics()
            ok = True
        finally:
            admin.close()
    except Exception:  # noqa: BLE001 - any failure means not ready
        ok = False
    _reachability[bootstrap] = (now, ok)
    return ok
