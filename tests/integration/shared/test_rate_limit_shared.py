"""Rate limits hold across gunicorn worker processes: counted in the service's MongoDB, not per process."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import requests
from pymongo import MongoClient, monitoring

from shared.devstack import free_port
from shared.testing import Deployment, wait_until

ROOT = Path(__file__).resolve().parents[3]
LOGIN_LIMIT_PER_ACCOUNT = 10  # services/community/api.py: 10/minute per community + phone


def test_login_limit_holds_across_two_gunicorn_workers(infra, tmp_path):
    dep = Deployment(infra.kafka_bootstrap, infra.mongo_url)
    db_name = dep.config("community").mongo_db
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RATE_LIMIT_STORAGE"}  # the default: shared MongoDB
    env.update({"MONGO_URL": infra.mongo_url, "MONGO_DB": db_name, "KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
                "TOPIC_PREFIX": dep.prefix, "WEB_CONCURRENCY": "2", "LOG_LEVEL": "WARNING"})
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        # The access log records the pid of the worker that answered each request (%(p)s).
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "shared" / "gunicorn_conf.py"),
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--access-logformat", "%(p)s %(U)s %(s)s",
             "services.community.app:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(f"{base}/readyz") == 200, timeout=90, interval=0.3, message="gunicorn up")
        code = f"rl-{uuid.uuid4().hex[:8]}"
        made = requests.post(f"{base}/v1/communities", headers={"X-Operator-Key": "dev-operator-key"}, timeout=30,
                             json={"code": code, "name": "限流 Limits", "admin": {
                                 "display_name": "管理员", "phone": "13900000001", "password": "123456"}})
        assert made.status_code == 201, made.text

        # A fresh connection per attempt, so the kernel spreads them over both workers' accept loops.
        answers = [requests.post(f"{base}/v1/auth/login", timeout=30, headers={"Connection": "close"},
                                 json={"community_code": code, "phone": "13900000001", "password": "wrong-1"})
                   for _ in range(3 * LOGIN_LIMIT_PER_ACCOUNT)]
        statuses = [a.status_code for a in answers]
        try:
            served = wait_until(lambda: _login_pids(log, len(answers)), timeout=10, message="the access log")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; log tail:\n{log.read_text(errors='replace')[-3000:]}") from None
    finally:
        web.terminate()
        web.wait(timeout=30)
    # Both worker processes answered logins, and together they let exactly the limit through.
    assert len(set(served)) == 2, served
    assert statuses.count(429) == len(statuses) - LOGIN_LIMIT_PER_ACCOUNT, statuses
    assert all(s == 429 for s in statuses[LOGIN_LIMIT_PER_ACCOUNT:]), statuses
    assert answers[-1].headers["Content-Type"].startswith("application/problem+json")
    # The count lives in the service's own database.
    client = MongoClient(infra.mongo_url)
    try:
        counters = list(client[db_name]["ratelimit_counters"].find({"_id": {"$regex": "login"}}))
    finally:
        client.close()
    assert any(c["count"] >= len(statuses) for c in counters), counters


class Commands(monitoring.CommandListener):
    """The names of the commands a MongoClient sends."""

    def __init__(self):
        self.names = []

    def started(self, event):
        self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def _get(url: str) -> int:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return 0


def _login_pids(log: Path, count: int) -> list[str] | None:
    # Plain or inside the services' JSON log lines.
    pids = re.findall(r"<?(\d+)>? /v1/auth/login \d{3}\b", log.read_text(errors="replace"))
    return pids if len(pids) >= count else None


def test_a_rate_limited_request_costs_one_round_trip_and_its_headers_are_right(infra):
    """The shared MongoDB counting answers a request with one findAndModify; the X-RateLimit headers come from its
    answer, so they still say what the shared count says (here another process's hits count too)."""
    from shared.config import Config
    from shared.ratelimit import limiter
    from shared.web import create_service_app
    from flask_smorest import Blueprint

    db_name = f"rl_{uuid.uuid4().hex[:8]}"
    config = Config.from_env("ratelimit-probe", env={}, mongo_url=infra.mongo_url, mongo_db=db_name)
    seen = Commands()
    blp = Blueprint("probe", __name__)

    @blp.post("/limited")
    @limiter.limit("3/minute")
    def limited():
        return {"ok": True}

    app = create_service_app(config, title="probe", blueprints=[blp], mongo_client=object(),
                             readiness=lambda: ({}, 200))
    app.config["RATELIMIT_STORAGE_OPTIONS"]["event_listeners"] = [seen]
    limiter.init_app(app)  # again, with the listener in the storage's MongoClient options
    token = "Bearer " + uuid.uuid4().hex
    client = MongoClient(infra.mongo_url)
    try:
        web = app.test_client()
        first = web.post("/limited", headers={"Authorization": token})
        assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "2"
        seen.names.clear()
        second = web.post("/limited", headers={"Authorization": token})
        assert second.status_code == 200 and second.headers["X-RateLimit-Remaining"] == "1"
        assert [n for n in seen.names if n not in ("hello", "isMaster", "ping")] == ["findAndModify"]
        # Another process counts the same window in the same collection: this one's answer reflects it.
        client[db_name]["ratelimit_counters"].update_one({}, {"$inc": {"count": 1}})
        third = web.post("/limited", headers={"Authorization": token})
        assert third.status_code == 429 and third.headers["X-RateLimit-Remaining"] == "0"
        assert int(third.headers["Retry-After"]) > 0
        assert int(third.headers["X-RateLimit-Reset"]) >= int(first.headers["X-RateLimit-Reset"]) - 1
    finally:
        client.drop_database(db_name)
        client.close()


def test_a_busy_caller_reserves_places_and_two_processes_never_admit_more_than_the_limit(infra):
    """Under a large limit a process takes several places of the window per round trip; two processes sharing
    the count admit at most the limit together, and at most (k - 1) fewer (places one of them kept unused)."""
    from limits import parse
    from shared.ratelimit import (ONE_TRIP_PREFIX, RESERVE_DIVISOR, OneTripMongoDBStorage,
                                  ReservingFixedWindowRateLimiter)

    db_name = f"rl_{uuid.uuid4().hex[:8]}"
    seen = Commands()
    processes = [ReservingFixedWindowRateLimiter(OneTripMongoDBStorage(
        ONE_TRIP_PREFIX + infra.mongo_url, database_name=db_name, counter_collection_name="ratelimit_counters",
        window_collection_name="ratelimit_windows", event_listeners=[seen], w=1)) for _ in range(2)]
    limit = parse(f"{3 * RESERVE_DIVISOR}/minute")  # k = 3 places per round trip
    client = MongoClient(infra.mongo_url)
    try:
        processes[0].hit(limit, "warm-up")  # creates the indexes, outside the count below
        seen.names.clear()
        admitted = [processes[i % 2].hit(limit, "caller") for i in range(limit.amount)]
        trips = seen.names.count("findAndModify")
        admitted += [processes[i % 2].hit(limit, "caller") for i in range(limit.amount)]
        stored = client[db_name]["ratelimit_counters"].find_one({"_id": limit.key_for("caller")})
    finally:
        client.drop_database(db_name)
        client.close()
    assert limit.amount - 2 <= admitted.count(True) <= limit.amount, admitted.count(True)
    assert admitted[-1] is False and stored["count"] >= limit.amount
    # One round trip per three hits in each process while the window has places.
    assert trips <= limit.amount // 3 + 2, trips
