"""Dashboard bench: a community of 12,000 households in 40 grids with a year of help requests, and the statistics
the dashboard page asks for, as it asks for them, at p50/p99 (target p99 ≤ 500 ms).

The year is published as the requests service's own events (RequestPosted / RequestAccepted / RequestCompleted,
each with the time it happened), and the service's real consumer builds its statistics read model from them;
then the requests web app runs under gunicorn and the bench calls `GET /v1/admin/requests/stats` as the
dashboards do: the admin's year for the whole community, the admin's year for one grid, a grid worker's year
(their grid), and a three-month view.

    .venv/bin/python bench/dashboard_bench.py [--members 12000 --grids 40 --requests 36000 --queries 300]

Uses KAFKA_BOOTSTRAP + MONGO_URL when both are set (its own topic prefix and database, removed at the end);
otherwise starts a private Kafka + mongod on free ports."""
from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests as http

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching_bench import measure, publish, start_gunicorn, wait_for, _cleanup  # noqa: E402
from shared import devstack, topics  # noqa: E402
from shared.testing import Deployment  # noqa: E402
from services.requests.model import CATEGORIES  # noqa: E402

TARGET_P99_MS = 500


def year_of_requests(cid: str, members: int, grids: int, requests: int, now: datetime, seed: int = 15) -> list:
    """(topic, type, key, payload): the community, its grid worker, and a year of requests whose numbers grow
    month by month (participation rising from about 10 % towards 45 %, as the field research reports)."""
    rng = random.Random(seed)
    events = [(topics.COMMUNITY, "CommunityCreated", cid,
               {"community_id": cid, "settings": {"timezone": "Asia/Shanghai"}}),
              (topics.COMMUNITY, "MemberJoined", f"{cid}-gw",
               {"community_id": cid, "member_id": f"{cid}-gw", "grid_id": f"{cid}-g0", "status": "active"})]
    weights = [10 + 35 * m / 11 for m in range(12)]  # month 0 is a year ago
    start = now - timedelta(days=365)
    for i in range(requests):
        month = rng.choices(range(12), weights)[0]
        posted = start + timedelta(days=month * 30 + rng.random() * 30)
        rid = f"{cid}-r{i}"
        grid = f"{cid}-g{rng.randrange(grids)}" if rng.random() < 0.92 else None
        events.append((topics.REQUESTS, "RequestPosted", rid, {
            "request_id": rid, "community_id": cid, "requester_id": f"{cid}-m{rng.randrange(members)}",
            "category": rng.choice(CATEGORIES), "grid_id": grid, "posted_at": posted.isoformat()}))
        if rng.random() < 0.8:
            accepted = posted + timedelta(minutes=rng.lognormvariate(4.0, 1.2))
            events.append((topics.REQUESTS, "RequestAccepted", rid, {
                "request_id": rid, "community_id": cid, "accepted_at": accepted.isoformat()}))
            if rng.random() < 0.85:
                events.append((topics.REQUESTS, "RequestCompleted", rid, {
                    "request_id": rid, "community_id": cid, "transfer_id": f"{rid}-t",
                    "settled_at": (accepted + timedelta(hours=rng.uniform(1, 48))).isoformat()}))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=12_000)
    parser.add_argument("--grids", type=int, default=40)
    parser.add_argument("--requests", type=int, default=36_000, help="requests posted over the year")
    parser.add_argument("--queries", type=int, default=300, help="calls of each dashboard view")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    with devstack.env_or_local("dashboard-bench") as stack:
        run(args, stack)


def run(args, stack) -> None:
    dep = Deployment(stack.kafka_bootstrap, stack.mongo_url, name=f"dbench{uuid.uuid4().hex[:6]}")
    config = dep.config("requests")
    gunicorn = None
    try:
        now = datetime.now(timezone.utc)
        cid = f"bench-{uuid.uuid4().hex[:6]}"
        events = year_of_requests(cid, args.members, args.grids, args.requests, now)
        print(f"community {cid}: {args.members} households, {args.grids} grids, {args.requests} requests over a "
              f"year, {len(events)} events", flush=True)
        print(f"published in {publish(config, events):.1f}s", flush=True)
        started = time.monotonic()
        db = dep.service("requests").db  # the requests service's real consumer, in this process
        wait_for(lambda: db.processed_events.estimated_document_count() >= len(events), 3600, "the read model")
        build = time.monotonic() - started
        cells = db.stat_cells.count_documents({"community_id": cid})
        print(f"read model built by the consumer in {build:.1f}s ({len(events) / build:.0f} events/s): "
              f"{cells} cells (month × grid × category)", flush=True)
        gunicorn, base = start_gunicorn(config, args.workers, "services.requests.app:create_app()")
        admin, worker = dep.token(f"{cid}-admin", cid, "admin"), dep.token(f"{cid}-gw", cid, "grid_worker")
        last = now.astimezone(timezone(timedelta(hours=8)))
        index = last.year * 12 + last.month - 1
        to, year_from, quarter_from = (f"{i // 12}-{i % 12 + 1:02d}" for i in (index, index - 11, index - 2))
        url = f"{base}/v1/admin/requests/stats"
        views = {"admin, the community's year": (f"{url}?from={year_from}&to={to}", admin),
                 "admin, one grid's year": (f"{url}?from={year_from}&to={to}&grid_id={cid}-g7", admin),
                 "grid worker, their grid's year": (f"{url}?from={year_from}&to={to}", worker),
                 "admin, the last three months": (f"{url}?from={quarter_from}&to={to}", admin)}
        session = http.Session()
        body = session.get(views["admin, the community's year"][0], headers={"Authorization": f"Bearer {admin}"}).json()
        posted = sum(m["posted"] for m in body["totals"])
        print(f"the community's year: {posted} requests posted, {len(body['months'])} month × category rows; "
              f"errands: {next(c for c in body['categories'] if c['category'] == 'errands')}", flush=True)
        measure(session, [views["admin, the community's year"]] * 20, "warm-up")
        figures = {label: measure(session, [call] * args.queries, label) for label, call in views.items()}
        print("\n== dashboard bench ==")
        print(f"households={args.members} grids={args.grids} requests={args.requests} events={len(events)} "
              f"cells={cells} gunicorn_workers={args.workers}")
        for label, f in figures.items():
            print(f"{label}: p50={f['p50']:.1f} ms p99={f['p99']:.1f} ms")
        worst = max(f["p99"] for f in figures.values())
        print(f"target p99 ≤ {TARGET_P99_MS} ms: {'met' if worst <= TARGET_P99_MS else 'NOT met'} (worst p99 "
              f"{worst:.1f} ms)")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        dep.close()
        _cleanup(dep, config)


if __name__ == "__main__":
    main()
