"""Ledger benchmark: two-party transfers per second through the HTTP API under gunicorn, against a raw
pymongo baseline doing the same MongoDB writes, plus a hot-account run (one `issuance` account awarding
many members), with the hot account sharded (the ledger's design) and, for comparison, unsharded.

    python bench/ledger_bench.py [--members 200] [--concurrency 32] [--seconds 15] [--workers 3] [--threads 8]

Uses KAFKA_BOOTSTRAP / MONGO_URL when set, else starts its own Kafka and mongod on free ports.
Each run has its own database and topic prefix; everything it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from pymongo import MongoClient, ReadPreference, WriteConcern  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402

from shared import devstack  # noqa: E402
from shared.auth import Principal, issue_token  # noqa: E402
from shared.config import Config  # noqa: E402
from shared.kafka_bus import ensure_topics  # noqa: E402


# -- load generation (runs in client processes so the client's GIL is not the bottleneck) ----------
def _client_proc(args) -> list[float]:
    url, kind, tokens, community, members, seconds, threads, seed = args
    out: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(i):
        rnd = random.Random(seed * 1000 + i)
        s = requests.Session()
        mine = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            if kind == "spread":
                payer, payee = rnd.sample(members, 2)
                r = s.post(url + "/v1/transfers", headers=_h(tokens[payer]),
                           json={"workflow": "credit", "unit": "PT", "counterparty_id": payee, "amount": 1})
                confirmer = tokens[payee]
            else:
                payee = rnd.choice(members)
                r = s.post(url + "/v1/transfers", headers=_h(tokens[payee]),
                           json={"workflow": "award", "unit": "PT", "minutes": 6})
                confirmer = tokens["__organizer__"]
            if r.status_code != 201:
                raise RuntimeError(f"create failed: {r.status_code} {r.text[:300]}")
            c = s.post(f"{url}/v1/transfers/{r.json()['transfer_id']}/confirm", headers=_h(confirmer))
            if c.status_code != 200:
                raise RuntimeError(f"confirm failed: {c.status_code} {c.text[:300]}")
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def _h(token):
    return {"Authorization": "Bearer " + token, "Idempotency-Key": uuid.uuid4().hex}


def _drive(url, kind, tokens, community, members, seconds, concurrency, procs) -> dict:
    per = max(1, concurrency // procs)
    jobs = [(url, kind, tokens, community, members, seconds, per, k) for k in range(procs)]
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(procs) as pool:
        lat = [x for part in pool.map(_client_proc, jobs) for x in part]
    return _figures(lat, seconds, time.perf_counter() - started)


def _figures(lat: list[float], seconds: float, _wall: float) -> dict:
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"transfers": len(lat), "per_s": len(lat) / seconds, "p50": q(0.50), "p95": q(0.95), "p99": q(0.99),
            "mean": statistics.fmean(lat) * 1000 if lat else float("nan")}


# -- raw pymongo baseline: the same writes the ledger makes for create + confirm ---------------------
def _baseline_proc(args) -> list[float]:
    mongo_url, db_name, members, community, seconds, threads, seed = args
    from services.ledger import model
    client = MongoClient(mongo_url, w="majority", tz_aware=True)
    db = client.get_database(db_name, write_concern=WriteConcern("majority"), read_concern=ReadConcern("majority"))
    out, lock = [], threading.Lock()
    deadline = time.perf_counter() + seconds
    opts = dict(read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority"),
                read_preference=ReadPreference.PRIMARY)

    def loop(i):
        rnd = random.Random(seed * 1000 + i)
        mine = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            payer, payee = rnd.sample(members, 2)
            da, ca = model.member_account_id(community, payer, "PT"), model.member_account_id(community, payee, "PT")
            tid = "t_" + uuid.uuid4().hex
            key = uuid.uuid4().hex

            def create(s):
                db.idempotency_keys.find_one({"_id": key}, session=s)
                db.communities.find_one({"_id": community}, session=s)
                db.accounts.find_one({"_id": da}, session=s)
                db.accounts.find_one({"_id": ca}, session=s)
                db.accounts.update_one({"_id": da, "$expr": {"$gte": [{"$subtract": [
                    {"$add": ["$posted", "$credit_limit"]}, "$pending_out"]}, 1]}}, {"$inc": {"pending_out": 1}},
                    session=s)
                db.accounts.update_one({"_id": ca}, {"$inc": {"pending_in": 1}}, session=s)
                db.transfers.insert_one({"_id": tid, "state": "pending", "amount": 1, "debit_account": da,
                                         "credit_account": ca, "confirmer_id": payee}, session=s)
                db.idempotency_keys.insert_one({"_id": key, "response": {"transfer_id": tid}}, session=s)
                db.bench_outbox.insert_one({"_id": uuid.uuid4().hex, "sent": False, "value": b"x" * 400}, session=s)

            def confirm(s):
                db.idempotency_keys.find_one({"_id": key + "c"}, session=s)
                db.transfers.find_one({"_id": tid}, session=s)
                heads = []
                for acc in (da, ca):
                    heads.append(db.accounts.find_one({"_id": acc}, session=s))
                for acc, head, delta in ((da, heads[0], -1), (ca, heads[1], 1)):
                    db.accounts.update_one({"_id": acc, "seq": head["seq"]},
                                           {"$inc": {"posted": delta, "seq": 1}, "$set": {"last_hash": tid}},
                                           session=s)
                db.entries.insert_many([{"_id": tid + ":D", "account_id": da, "shard": 0, "seq": heads[0]["seq"] + 1},
                                        {"_id": tid + ":C", "account_id": ca, "shard": 0,
                                         "seq": heads[1]["seq"] + 1}], session=s)
                db.transfers.replace_one({"_id": tid, "state": "pending"},
                                         {"_id": tid, "state": "posted", "amount": 1}, session=s)
                db.idempotency_keys.insert_one({"_id": key + "c", "response": {"transfer_id": tid}}, session=s)
                db.bench_outbox.insert_one({"_id": uuid.uuid4().hex, "sent": False, "value": b"x" * 400}, session=s)

            for fn in (create, confirm):
                with client.start_session() as s:
                    s.with_transaction(fn, **opts)
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    client.close()
    return out


def _baseline(mongo_url, db_name, members, community, seconds, concurrency, procs) -> dict:
    per = max(1, concurrency // procs)
    jobs = [(mongo_url, db_name, members, community, seconds, per, k) for k in range(procs)]
    with mp.get_context("spawn").Pool(procs) as pool:
        lat = [x for part in pool.map(_baseline_proc, jobs) for x in part]
    return _figures(lat, seconds, seconds)


# -- setup -------------------------------------------------------------------------------------------
def _open_chunk(tx, community, members, limit):
    from services.ledger import handlers as h
    from services.ledger.repository import LedgerRepository
    repo = LedgerRepository(tx)
    for m in members:
        h.member_account(tx, repo, community, m, "PT")
    if limit:
        tx["accounts"].update_many({"community_id": community, "kind": "member", "owner_id": {"$in": members}},
                                   {"$set": {"credit_limit": limit}})


def _tokens(members, community) -> dict:
    cfg = Config.from_env("community", env={})
    tokens = {m: issue_token(cfg, Principal(m, community, ("resident",)), 24 * 3600) for m in members}
    tokens["__organizer__"] = issue_token(cfg, Principal("bench-organizer", community, ("organizer",)), 24 * 3600)
    return tokens


def _print(name, f, extra=""):
    print(f"  {name:<34} {f['per_s']:8.1f} transfers/s   p50 {f['p50']:6.1f} ms   p95 {f['p95']:6.1f} ms   "
          f"p99 {f['p99']:6.1f} ms   ({f['transfers']} in run){extra}", flush=True)


def main() -> None:
    """Run the spread, baseline and hot-account measurements and print them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--hot-members", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--skip-unsharded", action="store_true")
    args = ap.parse_args()

    stack = devstack.from_env()
    tmp = None
    if stack is None:
        tmp = tempfile.TemporaryDirectory(prefix="ledger-bench-")
        print("starting Kafka and mongod ...", flush=True)
        stack = devstack.start_local(Path(tmp.name))
    run_id = uuid.uuid4().hex[:8]
    prefix, db_name = f"bench{run_id}.", f"bench_{run_id}_ledger"
    ensure_topics(stack.kafka_bootstrap, prefix)
    from shared.runtime import build_runtime
    config = Config.from_env("ledger", env={}, mongo_url=stack.mongo_url, kafka_bootstrap=stack.kafka_bootstrap,
                             topic_prefix=prefix, mongo_db=db_name)
    runtime = build_runtime(config)
    port = devstack.free_port()
    env = {**os.environ, "MONGO_URL": stack.mongo_url, "KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
           "TOPIC_PREFIX": prefix, "MONGO_DB": db_name, "LEDGER_MONEY_RATE_LIMIT": "10000000/minute",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "--threads",
                               str(args.threads), "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level",
                               "warning", "services.ledger.app:create_app()"], env=env, cwd=ROOT,
                              start_new_session=True),
             subprocess.Popen([sys.executable, "-m", "shared.worker", "ledger", "relay"], env=env, cwd=ROOT,
                              start_new_session=True)]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("ledger web did not start")
            time.sleep(0.2)
        print(f"ledger bench: members={args.members} concurrency={args.concurrency} seconds={args.seconds} "
              f"gunicorn {args.workers} workers x {args.threads} threads; mongo {stack.mongo_url}", flush=True)

        spread_c = "c_spread" + run_id
        members = [f"m{i}" for i in range(args.members)]
        for i in range(0, len(members), 200):
            runtime.uow.run(lambda tx, ch=members[i:i + 200]: _open_chunk(tx, spread_c, ch, 10**9))
        spread = _drive(url, "spread", _tokens(members, spread_c), spread_c, members, args.seconds,
                        args.concurrency, args.client_procs)
        _print("spread (HTTP, create+confirm)", spread)

        base_c = "c_base" + run_id
        for i in range(0, len(members), 200):
            runtime.uow.run(lambda tx, ch=members[i:i + 200]: _open_chunk(tx, base_c, ch, 10**9))
        base = _baseline(stack.mongo_url, db_name, members, base_c, args.seconds, args.concurrency, args.client_procs)
        _print("baseline (raw pymongo, same writes)", base)

        hot_c = "c_hot" + run_id
        hot_members = [f"h{i}" for i in range(args.hot_members)]
        for i in range(0, len(hot_members), 200):
            runtime.uow.run(lambda tx, ch=hot_members[i:i + 200]: _open_chunk(tx, hot_c, ch, 0))
        hot = _drive(url, "hot", _tokens(hot_members, hot_c), hot_c, hot_members, args.seconds,
                     args.concurrency, args.client_procs)
        _print("hot: issuance -> 1000 (32 shards)", hot)

        cold = None
        if not args.skip_unsharded:
            cold_c = "c_cold" + run_id
            from services.ledger import model
            # The same run with issuance kept on one document (shards=0): what the sharding avoids.
            runtime.db.accounts.insert_one({"_id": model.system_account_id(cold_c, "issuance", "PT"),
                                            "community_id": cold_c, "kind": "system", "owner_id": "issuance",
                                            "unit": "PT", "posted": 0, "pending_out": 0, "pending_in": 0,
                                            "credit_limit": None, "status": "active", "shards": 0, "seq": 0,
                                            "last_hash": model.GENESIS})
            for i in range(0, len(hot_members), 200):
                runtime.uow.run(lambda tx, ch=hot_members[i:i + 200]: _open_chunk(tx, cold_c, ch, 0))
            cold = _drive(url, "hot", _tokens(hot_members, cold_c), cold_c, hot_members, args.seconds,
                          args.concurrency, args.client_procs)
            _print("hot: issuance unsharded (1 doc)", cold)

        from services.ledger.audit import run_audit
        audits = {c: run_audit(runtime.client, runtime.db, c)["ok"] for c in (spread_c, hot_c)}
        print("\nsummary", flush=True)
        print(f"  spread / baseline          = {spread['per_s'] / base['per_s']:.2f}  (target >= 0.5)")
        print(f"  hot / spread               = {hot['per_s'] / spread['per_s']:.2f}  (target >= 0.5)")
        if cold:
            print(f"  unsharded hot / spread     = {cold['per_s'] / spread['per_s']:.2f}")
        print(f"  spread: {spread['per_s']:.0f}/s (target >= 500), p99 {spread['p99']:.1f} ms (target < 50 ms)")
        print(f"  audit after the runs: {audits}")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
        runtime.client.drop_database(db_name)
        runtime.close()
        if tmp is not None:
            stack.close()
            tmp.cleanup()


if __name__ == "__main__":
    main()
