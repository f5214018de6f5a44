"""A real worker process relays the outbox and stops cleanly on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from kafka import KafkaConsumer

from shared import topics
from shared.testing import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_relay_process_publishes_and_exits_cleanly_on_sigterm(deployment):
    svc = deployment.service("community", workers=False)  # the relay runs as a real process instead
    config = svc.config
    made = svc.http.post("/v1/communities", headers={"X-Operator-Key": "dev-operator-key"}, json={
        "code": "worker-test", "name": "W", "admin": {"display_name": "A", "phone": "1000001", "password": "123456"}})
    assert made.status_code == 201
    env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix}
    proc = subprocess.Popen([sys.executable, "-m", "shared.worker", "community", "relay"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: svc.db.outbox.count_documents({"sent": False}) == 0, timeout=60,
                   message="the relay process to publish the outbox")
        consumer = KafkaConsumer(config.topic(topics.COMMUNITY), bootstrap_servers=config.kafka_bootstrap,
                                 group_id=None, auto_offset_reset="earliest", consumer_timeout_ms=3000)
        types = sorted(json.loads(r.value)["type"] for r in consumer)
        consumer.close()
        assert types == ["CommunityCreated", "MemberJoined"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    stderr = proc.stderr.read().decode()
    assert code == 0, stderr[-2000:]
    assert "worker stopped" in stderr


def test_one_process_runs_several_roles_of_a_service(deployment):
    config = deployment.config("ledger")
    env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix}
    proc = subprocess.Popen([sys.executable, "-m", "shared.worker", "ledger", "relay", "consumer", "scheduler"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deployment.publish(topics.COMMUNITY, "MemberJoined", {
            "community_id": "c_multi", "member_id": "m_multi", "grid_id": None, "roles": ["resident"],
            "skills": [], "availability": [], "vulnerable": False, "merchant_id": None, "status": "active",
            "joined_at": "2026-01-01T00:00:00+00:00"}, key="m_multi")
        # The consumer thread opens the accounts; the relay thread publishes AccountOpened for them.
        opened = wait_until(lambda: {e["payload"]["unit"] for e in deployment.events(
            topics.LEDGER, "AccountOpened", owner_id="m_multi")} == {"HOUR", "PT"} or None, timeout=60,
            message="AccountOpened for both units")
        assert opened
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    stderr = proc.stderr.read().decode()
    assert code == 0, stderr[-2000:]
