"""Federation benchmark: the latency of a transfer between two deployments on loopback (issue 14), p50 / p99.

    python bench/federation_bench.py [--transfers 60] [--unit HOUR]

Two deployments on one Kafka and one mongod (own databases and topic prefixes), each with its ledger and exchange
in-process (tests/integration/exchange/loopback.py, the same set-up as the tests); each exchange web app served over
real HTTP on a free loopback port; each node's recovery loop (the exchange scheduler's federation job) runs in a
thread every 20 ms, as the scheduler runs it every EXCHANGE_FEDERATION_INTERVAL seconds. One transfer at a time,
alternately leaf → hub and hub → leaf, measured from the resident's POST /v1/federation/transfers until

* `completed`: the protocol is done on both nodes (validated remotely, held by the payer's ledger through Kafka,
  pending and completed at the payee's node first, then at the payer's);
* `posted`: both ledgers have posted it (the payee's credit and the payer's debit, through Kafka again).

Also reported: the POST alone (it waits for the other node's validation). Uses KAFKA_BOOTSTRAP / MONGO_URL when
set, else starts its own Kafka and mongod on free ports.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "exchange"))

from loopback import Node, graft_pair  # noqa: E402
from shared import devstack  # noqa: E402
from shared.testing import serve, wait_until  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _recovery_loop(node: Node, stop: threading.Event) -> threading.Thread:
    def loop():
        while not stop.is_set():
            node.recover()
            stop.wait(0.02)
    thread = threading.Thread(target=loop, daemon=True, name=f"{node.name}-federation")
    thread.start()
    return thread


def run(args, stack) -> None:
    leaf = Node(stack, "leaf", "lianhua", 10)
    hub = Node(stack, "hub", "taoyuan", 5)
    stop = threading.Event()
    with ExitStack() as ctx:
        ctx.callback(leaf.dep.close)
        ctx.callback(hub.dep.close)
        hub_url, leaf_url = ctx.enter_context(serve(hub.exchange.app)), ctx.enter_context(serve(leaf.exchange.app))
        graft_pair(leaf, hub, hub_url, leaf_url, hub_net_limit=10**9)
        for node in (leaf, hub):
            r = node.ledger.http.post(f"/v1/admin/accounts/m:{node.cid}:{node.name}-ann:{args.unit}/credit-limit",
                                      json={"credit_limit": 10**9}, headers=node.h("root", "admin"))
            assert r.status_code == 200, r.json
        threads = [_recovery_loop(leaf, stop), _recovery_loop(hub, stop)]
        ctx.callback(lambda: [stop.set(), *(t.join(5) for t in threads)])
        post_ms, done_ms, posted_ms = [], [], []
        for i in range(args.transfers + args.warmup):
            payer, payee = (leaf, hub) if i % 2 == 0 else (hub, leaf)
            address = f"hub/{payee.code}/bo" if payee is hub else f"hub/leaf/{payee.code}/bo"
            started = time.perf_counter()
            r = payer.pay("ann", args.unit, address, 2, "bench")
            posted_at = time.perf_counter()
            assert r.status_code == 202, r.json
            tid = r.json["uuid"]
            wait_until(lambda: (payer.transfer(tid) or {}).get("state") == "completed", timeout=60, interval=0.005)
            completed_at = time.perf_counter()
            wait_until(lambda: payer.ledger_state(tid) == "posted" and payee.ledger_state(tid, True) == "posted",
                       timeout=60, interval=0.005)
            both_posted_at = time.perf_counter()
            if i >= args.warmup:
                post_ms.append((posted_at - started) * 1000)
                done_ms.append((completed_at - started) * 1000)
                posted_ms.append((both_posted_at - started) * 1000)
        chains = [n.node(args.unit)["last_hash"] for n in (leaf, hub)]
        audits = [n.audit()["ok"] for n in (leaf, hub)]
    print(f"federation bench: {args.transfers} {args.unit} transfers between two deployments on loopback, "
          f"one at a time, alternating directions")
    for name, values in (("POST (remote validation)", post_ms), ("completed on both nodes", done_ms),
                         ("posted in both ledgers", posted_ms)):
        print(f"  {name:26s} p50 {statistics.median(values):7.1f} ms   p99 {_pct(values, 0.99):7.1f} ms   "
              f"max {max(values):7.1f} ms")
    print(f"  hash chains in step: {chains[0] == chains[1]}; audits: {audits}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transfers", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--unit", choices=("HOUR", "PT"), default="HOUR")
    args = ap.parse_args()
    with devstack.env_or_local("federation-bench") as stack:
        run(args, stack)


if __name__ == "__main__":
    main()
