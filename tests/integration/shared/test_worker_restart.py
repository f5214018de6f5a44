"""The first event hop after a worker restart: a clean stop releases the relay lease and leaves the consumer
group, so the next process takes over at once; after a crash the takeover is bounded by the lease TTL and
the consumer session timeout. Times are printed (bench-style), not asserted tightly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from shared import outbox, topics
from shared.testing import wait_until
from shared.worker import flowing, WORKER_STATUS

ROOT = Path(__file__).resolve().parents[3]


def _start(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "shared.worker", "ledger", "relay", "consumer", "scheduler"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _member_joined(deployment, member_id: str) -> None:
    deployment.publish(topics.COMMUNITY, "MemberJoined", {
        "community_id": "c_restart", "member_id": member_id, "grid_id": None, "roles": ["resident"],
        "skills": [], "availability": [], "vulnerable": False, "merchant_id": None, "status": "active",
        "joined_at": "2026-01-01T00:00:00+00:00"}, key=member_id)


def _hop(deployment, member_id: str, started: float) -> float:
    """Publish MemberJoined; seconds from `started` until the ledger's AccountOpened events are on Kafka."""
    _member_joined(deployment, member_id)
    wait_until(lambda: {e["payload"]["unit"] for e in deployment.events(
        topics.LEDGER, "AccountOpened", owner_id=member_id)} == {"HOUR", "PT"}, timeout=60, interval=0.1,
        message=f"AccountOpened for {member_id}")
    return time.monotonic() - started


@pytest.fixture
def ledger_env(deployment):
    config = deployment.config("ledger")
    env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix, "LOG_LEVEL": "WARNING"}
    return env, deployment.service("ledger", workers=False).db


@pytest.mark.fault
def test_first_hop_after_a_clean_restart_and_after_a_crash(deployment, ledger_env):
    env, db = ledger_env
    proc = _start(env)
    try:
        first = _hop(deployment, f"m_{uuid.uuid4().hex[:6]}", time.monotonic())
        wait_until(lambda: any(flowing(d) for d in db[WORKER_STATUS].find()), message="a flowing heartbeat")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read().decode()[-2000:]
        # A clean stop gives the lease up and removes the liveness record.
        assert db[outbox.LEASES].count_documents({}) == 0
        assert db[WORKER_STATUS].count_documents({}) == 0

        proc = _start(env)
        after_clean = _hop(deployment, f"m_{uuid.uuid4().hex[:6]}", time.monotonic())
        wait_until(lambda: any(flowing(d) for d in db[WORKER_STATUS].find()), message="a flowing heartbeat")

        proc.kill()  # a crash: the lease and the group membership stay behind until they time out
        proc.wait(timeout=30)
        proc = _start(env)
        after_crash = _hop(deployment, f"m_{uuid.uuid4().hex[:6]}", time.monotonic())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"\nfirst hop (MemberJoined → AccountOpened on Kafka, from process start): cold {first:.1f}s, "
          f"after a clean restart {after_clean:.1f}s, after kill -9 {after_crash:.1f}s "
          f"(lease TTL {outbox.LEASE_SECONDS}s)")
