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


def ensure_topics(bootstrap: str, prefix: str = "", partitions: int = topics.PARTITIONS) -> list[str]:
    """Create every event topic and its DLQ if missing; returns the names that were created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="topic-setup")
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(f"{prefix}{name}", num_partitions=1 if name.endswith(".dlq") else partitions,
                           replication_factor=1)
                  for name in topics.ALL_TOPICS if f"{prefix}{name}" not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        admin.close()


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
