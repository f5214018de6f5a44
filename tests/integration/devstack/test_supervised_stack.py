"""`make run`'s supervisor: kill -9 of an application process brings it back, leaves Kafka and mongod
untouched, loses nothing; a clean stop stops every child and exits 0.

The stack is the real one (supervisord, gunicorn, worker processes, Kafka, mongod), on free ports in a
temp directory, with two services (community → ledger, one event hop) to keep it light."""
from __future__ import annotations

import os
import signal
import uuid

import pytest
import requests
from pymongo import MongoClient

from shared.devstack.supervise import Layout, SupervisedStack
from shared.testing import wait_until

pytestmark = pytest.mark.fault
OPERATOR = {"X-Operator-Key": "dev-operator-key"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _restarted(stack: SupervisedStack, name: str, old_pid: int) -> int:
    """Wait until supervisord runs `name` again under a new pid; return it."""
    return wait_until(lambda: (pid := stack.pids().get(name)) and pid != old_pid and pid, timeout=90,
                      interval=0.5, message=f"supervisord to restart {name}")


def _ledger_owners(layout: Layout) -> set[str]:
    client = MongoClient(layout.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        return {doc["owner_id"] for doc in client["timebank_ledger"]["accounts"].find({}, {"owner_id": 1})}
    finally:
        client.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    layout = Layout.free(tmp_path_factory.mktemp("supervised"), services=("community", "ledger"))
    supervised = SupervisedStack(layout)
    supervised.start()
    try:
        took = supervised.wait_ready(timeout=300)
        print(f"\nsupervised stack ready in {took:.1f}s")
        yield supervised
    finally:
        supervised.stop()


def test_killed_processes_come_back_and_nothing_is_lost(stack):
    layout = stack.layout
    community = layout.url("community")
    code = f"sup-{uuid.uuid4().hex[:8]}"
    made = requests.post(f"{community}/v1/communities", headers=OPERATOR, timeout=30, json={
        "code": code, "name": "监督测试 Supervised", "admin": {"display_name": "管理员", "phone": "13800000001",
                                                             "password": "123456"}})
    assert made.status_code == 201, made.text
    admin_id = made.json()["admin_member_id"]
    community_id = made.json()["community"]["community_id"]
    wait_until(lambda: admin_id in _ledger_owners(layout), timeout=60, message="the admin's ledger accounts")
    before = stack.pids()
    assert all(before.values()), before

    # A web process (the community gunicorn master) and a workers process, each killed in turn.
    for name in ("community", "ledger-workers", "ledger"):
        os.kill(before[name], signal.SIGKILL)
        _restarted(stack, name, before[name])
    stack.wait_ready(timeout=120)

    after = stack.pids()
    assert after["kafka"] == before["kafka"] and after["mongod"] == before["mongod"], (before, after)
    assert _alive(before["kafka"]) and _alive(before["mongod"])
    log = (layout.log_dir / "supervisord.log").read_text()
    for name in ("community", "ledger-workers", "ledger"):
        assert f"exited: {name} (terminated by SIGKILL; not expected)" in log

    # The write made before the kills is still there, and an event still flows community → ledger.
    token = requests.post(f"{community}/v1/auth/login", timeout=30, json={
        "community_code": code, "phone": "13800000001", "password": "123456"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{community}/v1/communities/{community_id}", headers=auth,
                        timeout=30).json()["code"] == code
    joined = requests.post(f"{community}/v1/communities/{community_id}/members", headers=auth, timeout=30, json={
        "display_name": "居民 after", "phone": "13800000002", "password": "123456"})
    assert joined.status_code == 201, joined.text
    wait_until(lambda: joined.json()["member_id"] in _ledger_owners(layout), timeout=60,
               message="the new member's ledger accounts, opened by the restarted ledger workers")


def test_a_data_service_crash_is_restarted_too(stack):
    before = stack.pids()
    os.kill(before["mongod"], signal.SIGKILL)  # the wrapper: its mongod must go with it, then both come back
    _restarted(stack, "mongod", before["mongod"])
    stack.wait_ready(timeout=180)
    assert stack.pids()["kafka"] == before["kafka"]


def test_clean_stop_stops_every_child_and_exits_zero(tmp_path):
    layout = Layout.free(tmp_path, services=("community",))
    supervised = SupervisedStack(layout)
    supervised.start()
    try:
        supervised.wait_ready(timeout=300)
        pids = supervised.pids()
    finally:
        code = supervised.stop()
    assert code == 0
    assert not any(_alive(pid) for pid in pids.values() if pid), pids
    log = (layout.log_dir / "supervisord.log").read_text()
    # Applications stop before the data services.
    assert log.index("stopped: community-workers") < log.index("stopped: kafka")
    assert log.index("stopped: community ") < log.index("stopped: mongod")
