"""Bulk member import bench: a community's residents imported through `POST /v1/communities/{id}/members/import`
(the community service in-process, its Flask test client, on a real Kafka and mongod), in calls of --per-call rows
as the web console sends them; prints wall and CPU ms per row for the first import and for a re-run of the same
rows (which creates nothing), and the share of one secret's scrypt hash (what the single create pays too).

    .venv/bin/python bench/member_import_bench.py [--rows 2000 --per-call 50]

Uses KAFKA_BOOTSTRAP + MONGO_URL when both are set (its own topic prefix and database, removed at the end);
otherwise starts a private Kafka + mongod on free ports."""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching_bench import _cleanup  # noqa: E402
from shared import devstack  # noqa: E402
from shared.testing import Deployment, bearer  # noqa: E402
from services.community.member_import import MAX_ROWS, chunks  # noqa: E402
from services.community.model import hash_secret  # noqa: E402

OPERATOR = {"X-Operator-Key": "dev-operator-key"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--per-call", type=int, default=50, help=f"rows per call (at most {MAX_ROWS})")
    args = parser.parse_args()
    with devstack.env_or_local("member-import-bench") as stack:
        run(args, stack)


def timed(label: str, count: int, work) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {count} rows in {wall:.1f}s wall; {1000 * wall / count:.1f} ms wall and "
          f"{1000 * cpu / count:.1f} ms CPU per row", flush=True)
    return result


def run(args, stack) -> None:
    dep = Deployment(stack.kafka_bootstrap, stack.mongo_url, name=f"mibench{uuid.uuid4().hex[:6]}")
    config = dep.config("community")
    try:
        community = dep.service("community")
        http = community.http
        code = f"bench-{uuid.uuid4().hex[:6]}"
        made = http.post("/v1/communities", headers=OPERATOR, json={
            "code": code, "name": "压测社区", "admin": {"display_name": "管理员", "phone": "13000000000",
                                                     "password": "bench-admin-1"}})
        cid = made.json["community"]["community_id"]
        admin = bearer(http.post("/v1/auth/login", json={"community_code": code, "phone": "13000000000",
                                                          "password": "bench-admin-1"}).json["token"])
        grid = http.post(f"/v1/communities/{cid}/grids", headers=admin, json={"name": "一网格"}).json["grid_id"]
        rows = [{"row": n + 2, "display_name": f"居民{n}", "phone": f"139{n:08d}", "password": f"{n % 1000000:06d}",
                 "grid_id": grid, "skills": ["跑腿"]} for n in range(args.rows)]

        def import_all() -> dict:
            totals = {"created": 0, "existing": 0, "refused": 0}
            for part in chunks(rows, args.per_call):
                answer = http.post(f"/v1/communities/{cid}/members/import", headers=admin, json={"rows": part})
                assert answer.status_code == 200, answer.json
                for kind in totals:
                    totals[kind] += answer.json[kind]
            return totals

        timed("one secret hashed (scrypt, as the single create)", 1, lambda: hash_secret("246810"))
        print("first import:", timed(f"first import, {args.per_call} rows per call", args.rows, import_all))
        print("re-run:", timed("re-run of the same rows", args.rows, import_all))
    finally:
        dep.close()
        _cleanup(dep, config)


if __name__ == "__main__":
    main()
