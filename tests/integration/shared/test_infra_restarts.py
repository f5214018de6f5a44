"""Restarting the Kafka broker and mongod during a stream of writes loses nothing and doubles nothing."""
from __future__ import annotations

import threading
import time

import pytest

from shared import topics
from shared.consumer import ConsumerRunner, Subscription
from shared.outbox import OUTBOX
from shared.testing import Deployment, bearer, wait_until

pytestmark = pytest.mark.fault


def count_joined(event, payload, tx):
    tx["joined_seen"].update_one({"_id": payload["member_id"]}, {"$inc": {"n": 1}}, upsert=True)


def test_broker_and_mongod_restarts_mid_stream(fault_infra):
    dep = Deployment(fault_infra.kafka_bootstrap, fault_infra.mongo_url)
    svc = dep.service("community")
    watcher = ConsumerRunner(svc.config, svc.runtime.uow, "restart-watch", [topics.COMMUNITY],
                             {"MemberJoined": Subscription(None, count_joined)}, svc.producer)
    watch_thread = threading.Thread(target=watcher.run, daemon=True)
    watch_thread.start()

    made = svc.http.post("/v1/communities", headers={"X-Operator-Key": "dev-operator-key"}, json={
        "code": "restart-test", "name": "Restart", "admin": {"display_name": "A", "phone": "1000000",
                                                             "password": "123456"}})
    cid = made.json["community"]["community_id"]
    admin = bearer(dep.token(made.json["admin_member_id"], cid, "admin"))

    acknowledged, statuses, stop = [], [], threading.Event()

    def write_stream():
        n = 0
        while not stop.is_set():
            n += 1
            r = svc.http.post(f"/v1/communities/{cid}/members", headers=admin,
                              json={"display_name": f"R{n}", "phone": f"1380{n:07d}", "password": "123456"})
            statuses.append(r.status_code)
            if r.status_code == 201:
                acknowledged.append(r.json["member_id"])
            else:
                time.sleep(0.2)
    writer = threading.Thread(target=write_stream, daemon=True)
    writer.start()
    try:
        wait_until(lambda: len(acknowledged) >= 10, timeout=60, message="writes before the broker restart")
        fault_infra.kafka.restart()
        wait_until(lambda: len(acknowledged) >= 20, timeout=60, message="writes after the broker restart")
        fault_infra.mongod.restart()
        at_restart = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= at_restart + 10, timeout=90, message="writes after mongod restart")
    finally:
        stop.set()
        writer.join(timeout=30)

    ids = set(acknowledged)
    applied = wait_until(lambda: (lambda seen: seen if ids <= set(seen) else None)(
        {d["_id"]: d["n"] for d in svc.db.joined_seen.find()}), timeout=120, message="every write's event applied")
    try:
        assert all(n == 1 for n in applied.values()), "an event was applied twice"
        stored = {d["_id"] for d in svc.db.members.find({"community_id": cid}, {"_id": 1})}
        assert set(applied) <= stored, "an event was published for a change that does not exist"
        assert ids <= stored
        assert svc.db[OUTBOX].count_documents({"sent": False}) == 0
        assert 500 not in statuses, "an outage surfaced as a 500"
        assert set(statuses) <= {201, 503}
    finally:
        watcher.stop()
        watch_thread.join(timeout=15)
        dep.close()
