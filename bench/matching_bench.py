"""Matching benchmark: 12,000 members in 40 grids with 2,000 open requests, built from events.

Publishes the community as community / requests / ledger events to Kafka, builds the matching read model
through the real consumer, measures suggestion latency through gunicorn (p50/p99 per query), then the
time to rebuild the read model from the event log. Prints the figures and exits.

    .venv/bin/python bench/matching_bench.py [--members 12000 --grids 40 --open 2000 --queries 1000]

Uses KAFKA_BOOTSTRAP + MONGO_URL when both are set (its own topic prefix and database, removed at the
end); otherwise starts a private Kafka + mongod on free ports.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests as http
from kafka.admin import KafkaAdminClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import devstack, topics  # noqa: E402
from shared.devstack import free_port  # noqa: E402
from shared.envelope import new_event  # noqa: E402
from shared.kafka_bus import make_producer  # noqa: E402
from shared.mongo import utcnow  # noqa: E402
from shared.testing import Deployment  # noqa: E402
from services.matching.rebuild import rebuild  # noqa: E402

CATEGORIES = ("errands", "elder_companionship", "pet_care", "tutoring", "repairs", "medical_escort",
              "environment_cleanup", "mediation", "safety_patrol", "professional_services", "other")
SKILL_WEIGHTS = (10, 8, 5, 5, 6, 3, 6, 2, 3, 2, 1)
PRODUCERS = {topics.COMMUNITY: "community", topics.REQUESTS: "requests", topics.LEDGER: "ledger"}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Generator:
    """A reproducible community as the events other services would have published."""

    def __init__(self, members: int, grids: int, open_requests: int, history: int, seed: int = 7):
        self.rng = random.Random(seed)
        self.cid = f"bench-{uuid.uuid4().hex[:6]}"
        self.n_members, self.n_grids, self.n_open, self.n_history = members, grids, open_requests, history
        self.events: list[tuple[str, str, dict]] = []
        self.members: list[str] = []
        self.member_grid: dict[str, str] = {}
        self.open_ids: list[str] = []
        self.requester_of: dict[str, str] = {}
        self.now = datetime.now(timezone.utc)

    def add(self, topic: str, type_: str, key: str, **payload) -> None:
        payload["community_id"] = self.cid
        self.events.append((topic, type_, key, payload))

    def build(self) -> "Generator":
        """Community, grids, members, a history of completed help, then open (and some accepted) requests."""
        self.add(topics.COMMUNITY, "CommunityCreated", self.cid, code=self.cid, name="bench", point_value_fen=10,
                 settings={"timezone": "Asia/Shanghai", "pending_ttl_days": 14, "bill_auto_confirm": False})
        cols = 8
        grid_ids = [f"{self.cid}-g{i}" for i in range(self.n_grids)]
        for i, gid in enumerate(grid_ids):
            r, c = divmod(i, cols)
            near = [grid_ids[j] for j in (i - cols, i + cols) if 0 <= j < self.n_grids]
            near += [grid_ids[i + d] for d in (-1, 1) if 0 <= c + d < cols and 0 <= i + d < self.n_grids]
            self.add(topics.COMMUNITY, "GridCreated", gid, grid_id=gid, name=f"网格{i + 1}", neighbours=near)
        for i in range(self.n_members):
            mid = f"{self.cid}-m{i}"
            grid = grid_ids[i % self.n_grids]
            self.members.append(mid)
            self.member_grid[mid] = grid
            skills = sorted(set(self.rng.choices(CATEGORIES, SKILL_WEIGHTS, k=self.rng.randint(1, 3))))
            slots = []
            if self.rng.random() > 0.15:
                for _ in range(self.rng.randint(1, 4)):
                    start = self.rng.randint(7, 19)
                    slots.append({"day": self.rng.randint(0, 6), "start": f"{start:02d}:00",
                                  "end": f"{min(23, start + self.rng.randint(1, 4)):02d}:00"})
            self.add(topics.COMMUNITY, "MemberJoined", mid, member_id=mid, grid_id=grid, roles=["resident"],
                     skills=skills, availability=slots, vulnerable=self.rng.random() < 0.04, merchant_id=None,
                     status="active", joined_at=(self.now - timedelta(days=self.rng.randint(0, 700))).isoformat())
        for i in range(self.n_history):  # help given in the past: completion rates, ratings, recent earnings
            rid, requester, helper = f"{self.cid}-h{i}", self.rng.choice(self.members), self.rng.choice(self.members)
            start = self.now - timedelta(days=self.rng.randint(1, 60), hours=self.rng.randint(0, 23))
            self.add(topics.REQUESTS, "RequestPosted", rid, **self._request(rid, requester, start))
            self.add(topics.REQUESTS, "RequestAccepted", rid, request_id=rid, requester_id=requester, helper_id=helper)
            if self.rng.random() < 0.1:
                self.add(topics.REQUESTS, "HelperReleased", rid, request_id=rid, helper_id=helper)
                continue
            minutes = self.rng.randint(30, 180)
            tid = f"{rid}-t"
            self.add(topics.REQUESTS, "RequestCompleted", rid, request_id=rid, transfer_id=tid)
            self.add(topics.REQUESTS, "HelpRated", rid, request_id=rid, helper_id=helper, rater_id=requester,
                     stars=self.rng.choice((3, 4, 5, 5, 5)))
            self.add(topics.LEDGER, "TransferPosted", tid, transfer_id=tid, workflow="bill", unit="HOUR",
                     amount=minutes, debit_account=f"{requester}-H", credit_account=f"{helper}-H",
                     payer_id=requester, payee_id=helper, initiator_id=helper, state="posted", reason=None,
                     reference={"kind": "request", "id": rid}, occurred_at=(start + timedelta(hours=3)).isoformat())
        accepted = self.n_open * 3 // 10
        for i in range(self.n_open + accepted):
            rid, requester = f"{self.cid}-r{i}", self.rng.choice(self.members)
            start = (self.now + timedelta(days=self.rng.randint(1, 14))).replace(
                hour=self.rng.randint(0, 12), minute=0, second=0, microsecond=0)
            self.add(topics.REQUESTS, "RequestPosted", rid, **self._request(rid, requester, start))
            if i >= self.n_open:  # taken by someone: an open commitment for them, not an open request
                self.add(topics.REQUESTS, "RequestAccepted", rid, request_id=rid, requester_id=requester,
                         helper_id=self.rng.choice(self.members))
            else:
                self.open_ids.append(rid)
                self.requester_of[rid] = requester
        return self

    def _request(self, rid: str, requester: str, start: datetime) -> dict:
        grid = self.member_grid[requester] if self.rng.random() < 0.9 else None
        return dict(request_id=rid, requester_id=requester, kind="request",
                    category=self.rng.choices(CATEGORIES, SKILL_WEIGHTS)[0], unit="HOUR",
                    estimated_minutes=self.rng.choice((30, 60, 90, 120, 180)), window_start=start.isoformat(),
                    window_end=(start + timedelta(hours=self.rng.randint(2, 6))).isoformat(), grid_id=grid,
                    urgency=self.rng.choices(("low", "normal", "high"), (20, 65, 15))[0], activity_type=None)


def publish(config, events) -> float:
    """Send every event (acks=all, idempotent producer); returns seconds taken."""
    producer = make_producer(config, linger_ms=20, batch_size=256 * 1024)
    started = time.monotonic()
    for topic, type_, key, payload in events:
        event = new_event(type_, payload, key=key, producer=PRODUCERS[topic], community_id=payload["community_id"])
        producer.send(config.topic(topic), key=key.encode(), value=event.to_json())
    producer.flush()
    producer.close(timeout=10)
    return time.monotonic() - started


def wait_for(predicate, timeout: float, label: str, every: float = 10.0):
    """Poll until predicate() returns a truthy value, printing progress."""
    started = last = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out waiting for {label}")
        if time.monotonic() - last > every:
            last = time.monotonic()
            print(f"  … waiting for {label} ({time.monotonic() - started:.0f}s)", flush=True)
        time.sleep(0.5)


def start_gunicorn(config, workers: int, app: str = "services.matching.app:create_app()") -> tuple[subprocess.Popen, str]:
    """A service's web app (by default matching's) under gunicorn, pointing at the bench's topics and database."""
    port = free_port()
    env = dict(os.environ, MONGO_URL=config.mongo_url, MONGO_DB=config.mongo_db, KAFKA_BOOTSTRAP=config.kafka_bootstrap,
               TOPIC_PREFIX=config.topic_prefix, LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-k", "sync",
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             app], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return http.get(base + "/healthz", timeout=1).status_code == 200
        except http.RequestException:
            return False
    wait_for(up, 60, "gunicorn")
    return proc, base


def measure(session, urls_and_tokens, label: str) -> dict:
    """Sequential GETs; client-side latency in milliseconds."""
    times, statuses = [], {}
    for url, token in urls_and_tokens:
        t0 = time.perf_counter()
        response = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    figures = {"n": len(times), "p50": percentile(times, 50), "p95": percentile(times, 95),
               "p99": percentile(times, 99), "max": max(times), "mean": statistics.fmean(times), "statuses": statuses}
    print(f"{label}: n={figures['n']} p50={figures['p50']:.1f} ms p95={figures['p95']:.1f} ms "
          f"p99={figures['p99']:.1f} ms max={figures['max']:.1f} ms statuses={statuses}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=12_000)
    parser.add_argument("--grids", type=int, default=40)
    parser.add_argument("--open", type=int, default=2_000)
    parser.add_argument("--history", type=int, default=1_000, help="completed past requests (track records)")
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    with devstack.env_or_local("matching-bench") as stack:
        run(args, stack)


def run(args, stack) -> None:
    """Build the community, measure suggestions, rebuild, measure again."""
    dep = Deployment(stack.kafka_bootstrap, stack.mongo_url, name=f"mbench{uuid.uuid4().hex[:6]}")
    config = dep.config("matching")
    gunicorn = None
    try:
        gen = Generator(args.members, args.grids, args.open, args.history).build()
        print(f"community {gen.cid}: {args.members} members, {args.grids} grids, {len(gen.open_ids)} open requests, "
              f"{len(gen.events)} events", flush=True)
        print(f"published in {publish(config, gen.events):.1f}s", flush=True)

        started = time.monotonic()
        harness = dep.service("matching")  # web app + relay + the real consumer, in this process
        db = harness.db
        total = len(gen.events)
        wait_for(lambda: db.processed_events.estimated_document_count() >= total, 3600, "the read model")
        build_seconds = time.monotonic() - started
        suggested = db.outbox.count_documents({"type": "MatchSuggested"})
        print(f"read model built by the consumer in {build_seconds:.1f}s ({total / build_seconds:.0f} events/s, "
              f"{suggested} MatchSuggested emitted)", flush=True)
        active = db.members.count_documents({"status": "active"})
        open_now = db.requests.count_documents({"state": "open", "window_end": {"$gt": utcnow()}})
        print(f"read model: {active} active members, {open_now} open requests", flush=True)

        gunicorn, base = start_gunicorn(config, args.workers)
        staff = dep.token("bench-organizer", gen.cid, "organizer")
        session = http.Session()
        rng = random.Random(11)
        warm = [(f"{base}/v1/requests/{rid}/suggestions?limit=10", staff) for rid in rng.sample(gen.open_ids, 40)]
        measure(session, warm, "warm-up (first query loads the community into each worker)")
        queries = [(f"{base}/v1/requests/{rng.choice(gen.open_ids)}/suggestions?limit=10", staff)
                   for _ in range(args.queries)]
        random_figures = measure(session, queries, "suggestions, random open requests (top 10)")
        one = gen.open_ids[0]
        requester_token = dep.token(gen.requester_of[one], gen.cid)
        one_figures = measure(session, [(f"{base}/v1/requests/{one}/suggestions?limit=10", requester_token)] * 300,
                              "suggestions, one request repeated, as its requester")
        sample = rng.sample(gen.members, 200)
        member_figures = measure(session, [(f"{base}/v1/members/{m}/suggested-requests?limit=10",
                                            dep.token(m, gen.cid)) for m in sample],
                                 "suggested requests for a member (top 10)")
        body = session.get(f"{base}/v1/requests/{one}/suggestions?limit=3",
                           headers={"Authorization": f"Bearer {requester_token}"}).json()
        print(f"example: {body['candidates_considered']} candidates scored; top: "
              f"{[(s['member_id'].rsplit('-', 1)[1], s['score']) for s in body['suggestions']]}; "
              f"reasons of the first: {body['suggestions'][0]['reasons']}", flush=True)

        # Rebuild: stop the consumer, drop the read model, replay the log.
        dep.close()
        report = rebuild(config)
        print(f"rebuild: {report['events']} events replayed in {report['seconds']:.1f}s "
              f"({report['events'] / report['seconds']:.0f} events/s); {report['members']} active members, "
              f"{report['open_requests']} open requests", flush=True)
        after = measure(session, queries[:200], "suggestions after the rebuild (workers reload the community)")

        print("\n== matching bench ==")
        print(f"members={args.members} grids={args.grids} open_requests={len(gen.open_ids)} events={total} "
              f"gunicorn_workers={args.workers}")
        print(f"consumer build: {build_seconds:.1f}s   rebuild: {report['seconds']:.1f}s")
        print(f"suggestions p50={random_figures['p50']:.1f}ms p99={random_figures['p99']:.1f}ms (random requests); "
              f"p50={one_figures['p50']:.1f}ms p99={one_figures['p99']:.1f}ms (one request); "
              f"member view p50={member_figures['p50']:.1f}ms p99={member_figures['p99']:.1f}ms; "
              f"after rebuild p99={after['p99']:.1f}ms")
        print(f"target p99 < 100 ms: {'met' if random_figures['p99'] < 100 else 'NOT met'}")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        dep.close()
        _cleanup(dep, config)


def _cleanup(dep, config) -> None:
    """Remove the bench's database and topics from shared infrastructure."""
    from pymongo import MongoClient
    client = MongoClient(config.mongo_url)
    client.drop_database(config.mongo_db)
    client.close()
    admin = KafkaAdminClient(bootstrap_servers=config.kafka_bootstrap, client_id="matching-bench")
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(dep.prefix)])
    except Exception as exc:  # noqa: BLE001 - leftover topics are harmless; say so and go on
        print(f"(could not delete the bench topics: {exc!r})")
    finally:
        admin.close()


if __name__ == "__main__":
    main()
