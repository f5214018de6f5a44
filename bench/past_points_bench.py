"""Past points import bench: a community's year of paper-ledger records imported through the ledger's import
(services/ledger/history.py, the operator CLI's `run_import`), CHUNK records per transaction, on a real Kafka and
mongod; prints records per second for the first import and for a repeat (which posts nothing).

    .venv/bin/python bench/past_points_bench.py [--members 500 --months 12]

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching_bench import publish, wait_for, _cleanup  # noqa: E402
from shared import devstack, topics  # noqa: E402
from shared.testing import Deployment  # noqa: E402
from services.ledger.bootstrap import bootstrap  # noqa: E402
from services.ledger.cli import run_import  # noqa: E402
from services.ledger.history import PastRecord  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    with devstack.env_or_local("past-points-bench") as stack:
        run(args, stack)


def run(args, stack) -> None:
    dep = Deployment(stack.kafka_bootstrap, stack.mongo_url, name=f"ppbench{uuid.uuid4().hex[:6]}")
    config = dep.config("ledger")
    try:
        cid, rng, now = f"bench-{uuid.uuid4().hex[:6]}", random.Random(15), datetime.now(timezone.utc)
        members = [f"{cid}-m{i}" for i in range(args.members)]
        publish(config, [(topics.COMMUNITY, "MemberJoined", m,
                          {"community_id": cid, "member_id": m, "grid_id": f"{cid}-g{i % 10}", "roles": ["resident"],
                           "status": "active"}) for i, m in enumerate(members)])
        ledger = dep.service("ledger")
        wait_for(lambda: ledger.db.accounts.count_documents({"community_id": cid}) >= 2 * args.members, 1800,
                 "the members' accounts")
        records = [PastRecord(f"{m}:{back}", m, "award", 10 * (1 + rng.randrange(6)),
                              now - timedelta(days=30 * back + rng.randrange(25), hours=rng.randrange(12)))
                   for back in range(args.months, 0, -1) for m in members]
        bus = bootstrap(ledger.runtime)
        for label in ("first import", "repeat (posts nothing)"):
            started = time.monotonic()
            outcome = run_import(bus, cid, records, by="bench")
            took = time.monotonic() - started
            print(f"{label}: {len(records)} records in {took:.1f}s = {len(records) / took:.0f} records/s "
                  f"{outcome['counts']}", flush=True)
    finally:
        dep.close()
        _cleanup(dep, config)


if __name__ == "__main__":
    main()
