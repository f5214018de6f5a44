"""Exchange benchmark: cross-community transfers per second inside one deployment, beside local two-party
transfers in the same run (issue 14: target cross >= 0.7 of local).

    python bench/exchange_bench.py [--members 200] [--concurrency 16] [--seconds 15] [--workers 2] [--threads 8]

The machinery is bench/ledger_bench.py's (imported, not copied): the same web server + relay, the same lean
asyncio closed-loop client (create + confirm through HTTP, a new connection per transfer), the same CPU
accounting. Two communities A (10 fen a point) and B (5 fen a point) are partners on a PT trust line whose net
limit is never reached; the ledger learns the line and its rate through its own exchange.events handlers
(`services.ledger.exchange_feed`, called in a transaction, as its consumer would). A cross transfer is a gift of 2
points from a member of one community to a member of the other (A gives 2 -> B receives 4; B gives 2 -> A
receives 1): priced at create, posted at confirm in two legs through the clearing accounts with the trust line's
check and its `net` update. The local run is the same gift between two members of one community (ledger_bench's
"spread"). The cross-deployment latency (federation) is not measured here.

Uses KAFKA_BOOTSTRAP / MONGO_URL when set, else starts its own Kafka and mongod on free ports.
"""
from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ledger_bench as lb  # noqa: E402
from shared import devstack  # noqa: E402
from shared.auth import Principal, issue_token  # noqa: E402
from shared.config import Config  # noqa: E402
from shared.kafka_bus import ensure_topics  # noqa: E402

LIMIT = 10**9  # every member may pay for the whole run


def _partners(tx, line_id: str, a: str, b: str) -> None:
    """The PT trust line of A and B with its rate, as exchange.events would announce them."""
    from services.ledger import exchange_feed
    facts = {"trust_line_id": line_id, "agreement_id": line_id.split(":")[1], "unit": "PT", "community_a": a,
             "community_b": b}
    exchange_feed.on_trust_line(None, {**facts, "net_limit": 10**12, "status": "open"}, tx)
    exchange_feed.on_rate_changed(None, {**facts, "a_point_value_fen": 10, "b_point_value_fen": 5, "rate_version": 1},
                                  tx)


def _cross_tokens(sides: dict[str, str], members: list[str]) -> dict:
    """Tokens of "<side>/<member>" users, and each side's community id (ledger_bench's "cross" kind reads them)."""
    cfg = Config.from_env("community", env={})
    tokens = {k: issue_token(cfg, Principal(k.split("/", 1)[1], sides[k[0]], ("resident",)), 24 * 3600)
              for k in members}
    tokens.update({"__community__" + side: cid for side, cid in sides.items()})
    return tokens


def run(args, stack) -> None:
    run_id = uuid.uuid4().hex[:8]
    prefix, db_name = f"xbench{run_id}.", f"xbench_{run_id}_ledger"
    ensure_topics(stack.kafka_bootstrap, prefix)
    from shared.runtime import build_runtime
    runtime = build_runtime(Config.from_env("ledger", env={}, mongo_url=stack.mongo_url,
                                            kafka_bootstrap=stack.kafka_bootstrap, topic_prefix=prefix,
                                            mongo_db=db_name))
    url, procs = lb.start_ledger(stack, prefix, db_name, args.workers, args.threads)
    try:
        print(f"exchange bench: members={args.members} per community, concurrency={args.concurrency}, "
              f"seconds={args.seconds}, {lb.WEB_ENV['ledger']['WEB_SERVER']} {args.workers} workers x {args.threads} "
              f"threads; {os.cpu_count()} cores; mongo {stack.mongo_url}", flush=True)
        watch = lb.cpu_watch(stack, procs)
        names = [f"m{i}" for i in range(args.members)]
        local_c, a_c, b_c = "c_local" + run_id, "c_a" + run_id, "c_b" + run_id
        for community in (local_c, a_c, b_c):
            for i in range(0, len(names), 200):
                runtime.uow.run(lambda tx, c=community, ch=names[i:i + 200]: lb._open_chunk(tx, c, ch, LIMIT))
        line = f"tl:ag{run_id}:PT"
        runtime.uow.run(lambda tx: _partners(tx, line, a_c, b_c))

        local, cross = [], []
        for _ in range(args.rounds):  # interleaved, so a noisy machine hurts both alike
            local.append(lb._drive(url, "spread", lb._tokens(names, local_c), names, args.seconds,
                                   args.concurrency, args.client_procs, watch))
            lb._print("local (one community, create+confirm)", local[-1])
            users = [f"a/{m}" for m in names] + [f"b/{m}" for m in names]
            cross.append(lb._drive(url, "cross", _cross_tokens({"a": a_c, "b": b_c}, users), users, args.seconds,
                                   args.concurrency, args.client_procs, watch))
            lb._print("cross (A <-> B, create+confirm)", cross[-1])

        from services.ledger.audit import run_audit
        audits = {c: run_audit(runtime.client, runtime.db, c)["ok"] for c in (local_c, a_c, b_c)}
        net = runtime.db.trust_lines.find_one({"_id": line})["net"]
        posted = runtime.db.transfers.count_documents({"cross.trust_line_id": line, "state": "posted"})
        best_local = max(x["per_s"] for x in local)
        best_cross = max(x["per_s"] for x in cross)
        print("\nsummary", flush=True)
        for i, (lo, cr) in enumerate(zip(local, cross)):
            print(f"  round {i + 1}: cross / local = {cr['per_s'] / lo['per_s']:.2f}  "
                  f"({cr['per_s']:.1f} vs {lo['per_s']:.1f} transfers/s; p99 {cr['p99']:.1f} vs {lo['p99']:.1f} ms)")
        print(f"  best of each: cross / local = {best_cross / best_local:.2f}  (target >= 0.7)")
        print(f"  cross transfers posted: {posted}; the ledger's net on the line: {net} fen; audit: {audits}")
    finally:
        lb.stop(procs)
        runtime.client.drop_database(db_name)
        runtime.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=200, help="members per community")
    ap.add_argument("--concurrency", type=int, default=16, help="transfers in flight (closed-loop users)")
    ap.add_argument("--client-procs", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2, help="local and cross runs, interleaved")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    with devstack.env_or_local("exchange-bench") as stack:
        run(args, stack)


if __name__ == "__main__":
    main()
