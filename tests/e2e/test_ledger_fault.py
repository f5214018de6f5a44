"""Jepsen-style bank test for the ledger: a stream of transfers (HTTP) and claims (Kafka) while the ledger's
real processes — gunicorn web, outbox relay, consumer, scheduler — are SIGKILLed and restarted.

Afterwards: every transfer that got a 2xx exists exactly once, every claim made exactly one transfer,
every posted transfer reached Kafka, the invariants of SPEC §4 hold and the audit passes.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer
from pymongo import MongoClient

from shared.config import WEB_ENV
from shared.devstack import free_port
from shared.envelope import new_event
from shared.testing import Deployment, wait_until
from services.ledger.audit import run_audit

pytestmark = pytest.mark.fault
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = [f"f{i}" for i in range(6)]
DURATION = float(os.environ.get("LEDGER_FAULT_SECONDS", 20))


class Proc:
    """One ledger process, in its own process group so a SIGKILL takes the web server's workers with it."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name, self.argv, self.env, self.log = name, argv, env, open(log_dir / f"{name}.log", "ab")
        self.p: subprocess.Popen | None = None

    def start(self):
        self.p = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log,
                                  start_new_session=True)

    def kill(self):
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=10)

    def stop(self):
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def cluster(fault_infra, tmp_path):
    infra = fault_infra  # a private Kafka + mongod pair: killed clients must not disturb anyone else
    admin = MongoClient(infra.mongo_url)
    # A SIGKILLed process leaves its open transaction holding its documents until the server aborts it
    # after transactionLifetimeLimitSeconds (default 60 s). The ledger's transactions last milliseconds;
    # 10 s is the setting we recommend for production, and what this run uses.
    admin.admin.command("setParameter", 1, transactionLifetimeLimitSeconds=10)
    admin.close()
    dep = Deployment(infra.kafka_bootstrap, infra.mongo_url)
    cfg = dep.config("ledger")
    port = free_port()
    env = {**os.environ, "MONGO_URL": infra.mongo_url, "KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
           "TOPIC_PREFIX": dep.prefix, "MONGO_DB": cfg.mongo_db, "LEDGER_MONEY_RATE_LIMIT": "100000/minute",
           "LEDGER_SCHEDULER_INTERVAL": "1", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    py = sys.executable
    procs = {
        # The web role as deployed (shared.webserver: the ledger's HTTP server of WEB_ENV), in two processes.
        "web": Proc("web", [py, "-m", "shared.webserver", "ledger"],
                    {**env, **WEB_ENV["ledger"], "WEB_CONCURRENCY": "2", "WEB_THREADS": "4",
                     "BIND": f"127.0.0.1:{port}"}, tmp_path),
        **{role: Proc(role, [py, "-m", "shared.worker", "ledger", role], env, tmp_path)
           for role in ("relay", "consumer", "scheduler")},
    }
    for p in procs.values():
        p.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _up(url), timeout=60, message="ledger web")
    client = MongoClient(infra.mongo_url, tz_aware=True)
    yield dep, procs, url, client[cfg.mongo_db], client
    for p in procs.values():
        p.stop()
    client.close()


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _call(method, url, headers, body=None, deadline=90.0):
    """A client that retries with the same Idempotency-Key until it gets an answer (as a phone app would)."""
    stop = time.monotonic() + deadline
    while True:
        try:
            r = requests.request(method, url, json=body, headers=headers, timeout=5)
            if r.status_code < 500:
                return r
        except requests.RequestException:
            pass
        if time.monotonic() > stop:
            raise AssertionError(f"no answer from {url}")
        time.sleep(0.1)


def test_transfers_survive_sigkill_of_every_ledger_process(cluster):
    dep, procs, url, db, client = cluster
    c = "c_" + uuid.uuid4().hex[:10]
    producer = KafkaProducer(bootstrap_servers=dep.kafka_bootstrap, acks="all")

    def publish(topic, type_, payload, key):
        e = new_event(type_, payload, key=key, producer=topic.split(".")[0], community_id=c)
        producer.send(dep.prefix + topic, key=key.encode(), value=e.to_json()).get(timeout=30)

    def h(member, *roles, key=None):
        headers = {"Authorization": "Bearer " + dep.token(member, c, *(roles or ("resident",))),
                   "Idempotency-Key": key or uuid.uuid4().hex}
        return headers

    for m in MEMBERS:
        publish("community.events", "MemberJoined", {"community_id": c, "member_id": m, "status": "active",
                                                     "roles": ["resident"]}, m)
    wait_until(lambda: db.accounts.count_documents({"community_id": c, "kind": "member"}) == 2 * len(MEMBERS),
               timeout=60, message="accounts")
    for m in MEMBERS:  # 100 points each, by confirmed awards
        t = _call("POST", url + "/v1/transfers", h(m), {"workflow": "award", "unit": "PT", "minutes": 600}).json()
        assert _call("POST", f"{url}/v1/transfers/{t['transfer_id']}/confirm", h("org", "organizer")).ok

    acked_created, acked_posted, claims, errors = set(), set(), [], []
    stop = threading.Event()
    lock = threading.Lock()

    def guarded(fn):
        def run(*args):
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(repr(exc))
                stop.set()
        return run

    def client_loop(seed):
        rnd = random.Random(seed)
        while not stop.is_set():
            payer, payee = rnd.sample(MEMBERS, 2)
            r = _call("POST", url + "/v1/transfers", h(payer),
                      {"workflow": "credit", "unit": "PT", "counterparty_id": payee, "amount": rnd.randint(1, 30)})
            if r.status_code != 201:
                assert r.status_code == 422, r.text
                continue
            tid = r.json()["transfer_id"]
            with lock:
                acked_created.add(tid)
            if rnd.random() < 0.8:
                r = _call("POST", f"{url}/v1/transfers/{tid}/confirm", h(payee))
                assert r.status_code == 200 and r.json()["state"] == "posted", r.text
                with lock:
                    acked_posted.add(tid)

    def claim_loop():
        rnd = random.Random(7)
        while not stop.is_set():
            claim = {"request_id": "r" + uuid.uuid4().hex[:8], "community_id": c, "helper_id": rnd.choice(MEMBERS),
                     "payer_id": None, "unit": "PT", "minutes": 60, "activity_type": None,
                     "service_class": "ordinary", "source": "activity", "claim_id": uuid.uuid4().hex}
            publish("requests.events", "HelpClaimed", claim, claim["request_id"])
            if rnd.random() < 0.3:  # the producer re-emits the same claim
                publish("requests.events", "HelpClaimed", claim, claim["request_id"])
            claims.append(claim["claim_id"])
            time.sleep(0.1)

    def killer():
        rnd = random.Random(11)
        while not stop.wait(rnd.uniform(1.0, 2.5)):
            victim = procs[rnd.choice(list(procs))]
            victim.kill()
            stop.wait(rnd.uniform(0.1, 0.8))
            victim.start()

    threads = [threading.Thread(target=guarded(client_loop), args=(s,)) for s in range(4)]
    threads += [threading.Thread(target=guarded(claim_loop)), threading.Thread(target=guarded(killer))]
    for t in threads:
        t.start()
    stop.wait(DURATION)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    producer.close()
    for p in procs.values():  # whatever the killer left down comes back
        if p.p.poll() is not None:
            p.start()

    # Every claim becomes exactly one transfer (consumer), and every change reaches Kafka (relay).
    wait_until(lambda: db.transfers.count_documents({"community_id": c, "workflow": "award"})
               >= len(claims) + len(MEMBERS), timeout=90, message="claims applied")
    wait_until(lambda: db.outbox.count_documents({"sent": False}) == 0, timeout=60, message="outbox drained")

    assert not errors, errors
    assert acked_created and acked_posted
    for tid in acked_created:
        assert db.transfers.count_documents({"_id": tid}) == 1
    for tid in acked_posted:
        t = db.transfers.find_one({"_id": tid})
        assert t["state"] == "posted" and db.entries.count_documents({"transfer_id": tid}) == 2
    assert db.transfers.count_documents({"community_id": c, "workflow": "award"}) == len(set(claims)) + len(MEMBERS)

    published = set()
    consumer = KafkaConsumer(dep.prefix + "ledger.events", bootstrap_servers=dep.kafka_bootstrap,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000)
    for record in consumer:
        e = json.loads(record.value)
        if e["type"] == "TransferPosted":
            published.add(e["payload"]["transfer_id"])
    consumer.close()
    posted = {d["_id"] for d in db.transfers.find({"community_id": c, "state": "posted"}, {"_id": 1})}
    assert posted <= published, f"{len(posted - published)} posted transfers never reached Kafka"

    report = run_audit(client, db, c)
    assert report["ok"], report["problems"]
    print(f"\nfault run: {len(acked_created)} transfers acknowledged, {len(acked_posted)} confirmed, "
          f"{len(claims)} claims; audit {report['transfers']}")
