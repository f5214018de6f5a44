"""The ledger's web role as deployed (`python -m shared.webserver ledger`: granian, shared.config.WEB_ENV) serves
the app, starts a worker again when one dies, and leaves no worker behind when its master is killed with -9
(supervisord then starts a new master on the same port)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.config import WEB_ENV
from shared.devstack.ports import free_port
from shared.devstack.process import children
from shared.testing import wait_until

ROOT = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _health(port: int):
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except requests.RequestException:
        return None


@pytest.fixture
def ledger_web(deployment):
    config = deployment.config("ledger")
    port = free_port()
    env = {**os.environ, **WEB_ENV["ledger"], "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix, "LOG_LEVEL": "WARNING",
           "WEB_THREADS": "4", "BIND": f"127.0.0.1:{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "shared.webserver", "ledger"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: (r := _health(port)) is not None and r.status_code == 200, timeout=60,
                   message="the ledger's web role answering")
        yield proc, port
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the master and any worker left (its process group)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.mark.skipif(WEB_ENV["ledger"].get("WEB_SERVER") != "granian", reason="the ledger is not served by granian")
def test_a_dead_worker_is_replaced_and_a_killed_master_leaves_no_worker_behind(ledger_web):
    proc, port = ledger_web
    assert _health(port).headers["content-type"].startswith("application/json")
    assert b"granian" in open(f"/proc/{proc.pid}/cmdline", "rb").read()  # exec'd: the pid supervisord watches
    [worker] = wait_until(lambda: children(proc.pid), timeout=10, message="granian's worker process")
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: [w for w in children(proc.pid) if w != worker], timeout=30, message="a new worker")
    wait_until(lambda: (r := _health(port)) is not None and r.status_code == 200, timeout=60,
               message="the new worker answering")
    [worker] = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the master only, as chaos.py and a supervisor's kill -9 do
    proc.wait(timeout=10)
    started = time.monotonic()
    wait_until(lambda: not _alive(worker), timeout=30, message="the orphaned worker stopping")
    print(f"orphaned worker stopped {time.monotonic() - started:.1f}s after its master was killed")
    assert _health(port) is None  # nothing serves the port any more: a new master can bind it
