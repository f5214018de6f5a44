"""Ledger benchmark: two-party transfers per second through the HTTP API (the web role as deployed), against a raw
pymongo baseline doing the same MongoDB writes, plus a hot-account run (one `issuance` account awarding
many members), with the hot account sharded (the ledger's design) and, for comparison, unsharded.

    python bench/ledger_bench.py [--members 200] [--concurrency 16] [--seconds 15] [--workers 1] [--threads 16]

Uses KAFKA_BOOTSTRAP / MONGO_URL when set, else starts its own Kafka and mongod on free ports.
Each run has its own database and topic prefix; everything it starts is stopped at the end.

The load generator is one asyncio process with `concurrency` users, each doing create + confirm back to
back (closed loop) on a new connection per transfer. It is deliberately lean (raw HTTP/1.1, ~0.5 ms of CPU
per transfer) because it shares the machine's cores with mongod, Kafka and the ledger; its CPU share is
printed next to mongod's and the web process's, so a reader can see where the cores went.

Each run prints `CPU ms per transfer (all processes)`: the CPU time (user + system, from /proc, over each
process tree) that the web server (master and workers: granian, or gunicorn with --server), the relay, the
consumer, mongod, Kafka and the load generator
used during the measured window, divided by the completed transfers, with the same per process and mongod's
commands per transfer (serverStatus). On a shared machine this is the robust figure (wall-clock throughput and
latency depend on what else runs; the load average is printed at the start and the end). `--profile DIR`
samples the Python processes with py-spy during the spread run and writes the top of each profile there.

Two baselines do the same MongoDB writes directly with pymongo: "grouped" writes them the way the ledger
does (group commit: what arrives together shares one transaction, one bulk write per collection), "1 tx
per step" commits each create and each confirm alone (the ledger's design before group commit). The
defaults (16 in flight, 1 worker x 64 threads (shared.config.WEB_ENV)) gave the best throughput on a 2-core machine; fewer in
flight lowers p99 and throughput together (see services/ledger/README.md for the curve). The web role: one process
of 64 threads (see --workers).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from pymongo import MongoClient, ReadPreference, WriteConcern  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402

from shared import devstack, webserver  # noqa: E402
from shared.devstack.process import cpu_seconds, process_tree  # noqa: E402
from shared.auth import Principal, issue_token  # noqa: E402
from shared.config import WEB_ENV, Config  # noqa: E402
from shared.kafka_bus import ensure_topics  # noqa: E402


# -- load generation: one lean asyncio process, `concurrency` closed-loop users -------------------------
class _Conn:
    """One keep-alive HTTP/1.1 connection (the ledger answers with Content-Length)."""

    def __init__(self, host: str, port: int):
        self.host, self.port, self.reader, self.writer = host, port, None, None

    def close(self) -> None:
        """Drop the connection; the next request opens a new one."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def post(self, path: str, headers: dict, body: dict | None = None, method: str = "POST"
                   ) -> tuple[int, bytes]:
        import asyncio
        import json
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in headers.items()]
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        for attempt in (0, 1):  # a keep-alive connection the server closed: reconnect once (same Idempotency-Key)
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(message)
            try:
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                self.writer.close()
                self.writer = None
                if attempt:
                    raise
                continue
            lines = raw.decode("latin-1").split("\r\n")
            fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
            payload = await self.reader.readexactly(int(fields.get("content-length", 0)))
            if fields.get("connection", "").lower() == "close":
                self.writer.close()
                self.writer = None
            return int(lines[0].split()[1]), payload
        raise RuntimeError("unreachable")


def _client_proc(args) -> tuple[list[float], float]:
    """Run the users until the deadline; returns (create+confirm latencies, CPU seconds this process used)."""
    import asyncio
    import json
    url, kind, tokens, members, seconds, concurrency, seed, rate, keepalive = args
    host, port = url.split("//")[1].split(":")
    out: list[float] = []

    async def transfer(conn: _Conn, rnd: random.Random) -> None:
        if kind == "cross":  # bench/exchange_bench.py: members are "<side>/<member>", sides a and b are partners
            payer, payee = rnd.sample(members, 2)
            while payer[0] == payee[0]:
                payee = rnd.choice(members)
            status, body = await conn.post("/v1/transfers", _h(tokens[payer]), {
                "workflow": "credit", "unit": "PT", "counterparty_id": payee.split("/", 1)[1],
                "counterparty_community": tokens["__community__" + payee[0]], "amount": 2})
            confirmer = tokens[payee]
        elif kind.startswith("spread"):  # "spread" (points) or "spread:HOUR" (time credits, --unit HOUR)
            payer, payee = rnd.sample(members, 2)
            status, body = await conn.post("/v1/transfers", _h(tokens[payer]), {
                "workflow": "credit", "unit": kind.partition(":")[2] or "PT", "counterparty_id": payee, "amount": 1})
            confirmer = tokens[payee]
        else:
            payee = rnd.choice(members)
            status, body = await conn.post("/v1/transfers", _h(tokens[payee]),
                                           {"workflow": "award", "unit": "PT", "minutes": 6})
            confirmer = tokens["__organizer__"]
        if status != 201:
            raise RuntimeError(f"create failed: {status} {body[:300]!r}")
        status, answer = await conn.post(f"/v1/transfers/{json.loads(body)['transfer_id']}/confirm",
                                         _h(confirmer))
        if status != 200:
            raise RuntimeError(f"confirm failed: {status} {answer[:300]!r}")

    async def user(i: int, deadline: float):
        rnd = random.Random(seed * 1000 + i)
        conn = _Conn(host, int(port))
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            if kind == "floor":  # the cost of HTTP + gunicorn + Flask alone: a trivial GET, kept alive
                status, body = await conn.post("/healthz", {}, method="GET")
                if status != 200:
                    raise RuntimeError(f"healthz failed: {status}")
                out.append(time.perf_counter() - t0)
                continue
            await transfer(conn, rnd)
            out.append(time.perf_counter() - t0)
            # By default a new connection per transfer, as phones behind an ingress do; with several gunicorn
            # workers, long keep-alive connections could all land on the one that accepted first. `--keepalive`
            # keeps each user's connection, as the gateway's pooled upstream session does in production.
            if not keepalive:
                conn.close()

    idle: list[_Conn] = []  # --keepalive: connections free for the next arrival (the gateway's pool)

    async def arrival(scheduled: float, rnd: random.Random) -> None:
        conn = idle.pop() if idle else _Conn(host, int(port))
        try:
            await transfer(conn, rnd)
        finally:
            if keepalive:
                idle.append(conn)
            else:
                conn.close()
        # Timed from when the transfer was due, not when it was sent: a server falling behind cannot hide
        # the queue it builds (no coordinated omission).
        out.append(time.perf_counter() - scheduled)

    async def open_loop(deadline: float) -> None:
        rnd = random.Random(seed)
        tasks, due = [], time.perf_counter()
        while due < deadline:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(arrival(due, random.Random(rnd.random()))))
            due += rnd.expovariate(rate)  # Poisson arrivals: residents do not take turns
        await asyncio.gather(*tasks)

    async def run():
        deadline = time.perf_counter() + seconds
        if rate:
            await open_loop(deadline)
        else:
            await asyncio.gather(*(user(i, deadline) for i in range(concurrency)))

    cpu0 = time.process_time()
    asyncio.run(run())
    return out, time.process_time() - cpu0


def _h(token):
    return {"Authorization": "Bearer " + token, "Idempotency-Key": uuid.uuid4().hex}


def _drive(url, kind, tokens, members, seconds, concurrency, procs, watch, rate: float = 0,
           keepalive: bool = False) -> dict:
    per = max(1, concurrency // procs)
    jobs = [(url, kind, tokens, members, seconds, per, k, rate / procs, keepalive) for k in range(procs)]
    with mp.get_context("spawn").Pool(procs) as pool:
        pool.apply(time.time)  # the pool is up (imports done) before the clock starts
        with watch as usage:
            parts = pool.map(_client_proc, jobs)
    lat = [x for part, _ in parts for x in part]
    usage["client"] = sum(cpu for _, cpu in parts)
    return {**_figures(lat, seconds, usage.wall), "cpu": usage.shares(), "cpu_s": dict(usage.used),
            "commands": dict(usage.commands)}


# -- group commit: where a grouped command's time went (shared.metrics, scraped from the web process) ----
_GROUP_METRICS = ("group_commit_commands", "group_commit_wait_seconds", "group_commit_transaction_seconds",
                  "group_commit_cpu_seconds")


def _group_metrics(url: str) -> dict:
    """The group committer's counters (sum and count of each histogram) from /metrics (one web worker's)."""
    out = {}
    for line in requests.get(url + "/metrics", timeout=5).text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith(("_sum", "_count")) and name.rsplit("_", 1)[0] in _GROUP_METRICS:
            out[name] = float(value)
    return out


def _print_groups(before: dict, after: dict, wall: float) -> None:
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    groups = d.get("group_commit_transaction_seconds_count", 0)
    if not groups:
        return
    waits = d.get("group_commit_wait_seconds_count", 0) or 1
    print(f"  {'':<36} group commit: {groups:.0f} transactions of {d['group_commit_commands_sum'] / groups:.2f} "
          f"commands; a command waited {1000 * d['group_commit_wait_seconds_sum'] / waits:.1f} ms for its group "
          f"(mean), a group's transaction took {1000 * d['group_commit_transaction_seconds_sum'] / groups:.1f} ms "
          f"(mean); committer busy {d['group_commit_transaction_seconds_sum'] / wall:.2f} of the run", flush=True)
    if d.get("group_commit_cpu_seconds_count"):
        cpu = 1000 * d["group_commit_cpu_seconds_sum"] / d["group_commit_cpu_seconds_count"]
        print(f"  {'':<36} the committer thread's own CPU: {cpu:.1f} ms per group (the rest of the group's time it "
              f"waited for MongoDB or for the GIL)", flush=True)


# -- CPU accounting: how the machine's cores were shared during a run ----------------------------------
def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def _machine_seconds() -> tuple[float, float]:
    """(all CPU seconds, busy CPU seconds) of the machine so far."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    return sum(v) / hz, (sum(v) - v[3] - v[4]) / hz


class _CpuWatch:
    """Context manager measuring the CPU seconds of named process groups over a run (Linux /proc)."""

    def __init__(self, groups: dict, mongo=None):
        self.groups = groups  # name -> callable returning pids
        self.mongo = mongo  # a MongoClient: mongod's command counters are diffed over the run too
        self.wall = 0.0
        self.used: dict[str, float] = {}
        self.commands: dict[str, int] = {}

    def _commands(self) -> dict:
        if self.mongo is None:
            return {}
        status = self.mongo.admin.command("serverStatus")
        out = {name: c.get("total", 0) for name, c in status["metrics"]["commands"].items() if isinstance(c, dict)}
        out.update({f"op {k}": v for k, v in status["opcounters"].items()})
        return out

    def _snap(self) -> dict:
        return {name: sum(cpu_seconds(p) for p in pids()) for name, pids in self.groups.items()}

    def __enter__(self):
        self.used = {}
        self._c0 = self._commands()
        self._t0, self._m0, self._s0 = time.perf_counter(), _machine_seconds(), self._snap()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t0
        end, m1 = self._snap(), _machine_seconds()
        self.used.update({k: end[k] - self._s0[k] for k in end})
        self.used["machine busy"] = m1[1] - self._m0[1]
        self.cores = (m1[0] - self._m0[0]) / self.wall if self.wall else 0.0
        c1 = self._commands()
        self.commands = {k: v - self._c0.get(k, 0) for k, v in c1.items() if v - self._c0.get(k, 0) > 0}
        return False

    def __setitem__(self, name, seconds):
        self.used[name] = seconds

    def shares(self) -> dict:
        """Cores used per group over the run (1.00 = one core busy all the time)."""
        return {k: v / self.wall for k, v in self.used.items() if self.wall}


def _figures(lat: list[float], seconds: float, _wall: float) -> dict:
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"transfers": len(lat), "per_s": len(lat) / seconds, "p50": q(0.50), "p95": q(0.95), "p99": q(0.99),
            "mean": statistics.fmean(lat) * 1000 if lat else float("nan")}


# -- raw pymongo baselines: the same MongoDB writes the ledger makes for create + confirm -----------------
_TXN = dict(read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority"),
            read_preference=ReadPreference.PRIMARY)


def _raw_db(mongo_url: str, db_name: str):
    """A plain pymongo client and database (majority writes), as the ledger's own processes would open."""
    client = MongoClient(mongo_url, w="majority", tz_aware=True)
    return client, client.get_database(db_name, write_concern=WriteConcern("majority"),
                                       read_concern=ReadConcern("majority"))


def _lookup(name: str, coll: str, match: dict) -> dict:
    return {"$lookup": {"from": coll, "pipeline": [{"$match": match}], "as": name}}


def _client_threads(threads: int, seconds: float, seed: int, members: list, community: str, transfer) -> list:
    """`threads` closed-loop clients, each calling transfer(debit account, credit account, payee) for random
    pairs of members until the deadline; returns every transfer's latency."""
    from services.ledger import model
    out, lock = [], threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(i):
        rnd = random.Random(seed * 1000 + i)
        mine = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            payer, payee = rnd.sample(members, 2)
            transfer(model.member_account_id(community, payer, "PT"), model.member_account_id(community, payee, "PT"),
                     payee)
            mine.append(time.perf_counter() - t0)
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


# One transaction per create and per confirm, as the ledger committed them before group commit: per transfer
# 13 commands, i.e. create = 1 aggregate (key, community, both accounts) + 1 two-update bulk on accounts + inserts of
# the transfer, the key record and the outbox row + commit; confirm = 1 aggregate (key, transfer, its two
# accounts) + 1 two-update bulk (chain heads) + entries + transfer replace + key record + outbox + commit.
def _baseline_proc(args) -> tuple[list[float], float]:
    mongo_url, db_name, members, community, seconds, threads, seed = args
    from pymongo import UpdateOne
    client, db = _raw_db(mongo_url, db_name)

    def transfer(da, ca, payee):
        tid = "t_" + uuid.uuid4().hex
        key = uuid.uuid4().hex

        def create(s):
            row = next(db.aggregate([{"$documents": [{}]}, _lookup("key", "idempotency_keys", {"_id": key}),
                                     _lookup("community", "communities", {"_id": community}),
                                     _lookup("accounts", "accounts", {"_id": {"$in": [da, ca]}})], session=s))
            assert len(row["accounts"]) == 2
            r = db.accounts.bulk_write([
                UpdateOne({"_id": da, "$expr": {"$gte": [{"$subtract": [
                    {"$add": ["$posted", "$credit_limit"]}, "$pending_out"]}, 1]}}, {"$inc": {"pending_out": 1}}),
                UpdateOne({"_id": ca}, {"$inc": {"pending_in": 1}})], ordered=True, session=s)
            assert r.matched_count == 2
            db.transfers.insert_one({"_id": tid, "state": "pending", "amount": 1, "debit_account": da,
                                     "credit_account": ca, "confirmer_id": payee}, session=s)
            db.idempotency_keys.insert_one({"_id": key, "response": {"transfer_id": tid}}, session=s)
            db.bench_outbox.insert_one({"_id": uuid.uuid4().hex, "sent": False, "value": b"x" * 400}, session=s)

        def confirm(s):
            row = next(db.aggregate([
                {"$documents": [{}]}, _lookup("key", "idempotency_keys", {"_id": key + "c"}),
                _lookup("transfer", "transfers", {"_id": {"$in": [tid]}}),
                {"$lookup": {"from": "accounts", "localField": "transfer.debit_account", "foreignField": "_id",
                             "as": "debit"}},
                {"$lookup": {"from": "accounts", "localField": "transfer.credit_account", "foreignField": "_id",
                             "as": "credit"}}], session=s))
            heads = [row["debit"][0], row["credit"][0]]
            r = db.accounts.bulk_write([
                UpdateOne({"_id": acc, "seq": head["seq"]}, {"$inc": {"posted": delta, "seq": 1},
                                                             "$set": {"last_hash": tid}})
                for acc, head, delta in ((da, heads[0], -1), (ca, heads[1], 1))], ordered=True, session=s)
            assert r.matched_count == 2
            db.entries.insert_many([{"_id": tid + ":D", "account_id": da, "shard": 0, "seq": heads[0]["seq"] + 1},
                                    {"_id": tid + ":C", "account_id": ca, "shard": 0,
                                     "seq": heads[1]["seq"] + 1}], session=s)
            db.transfers.replace_one({"_id": tid, "state": "pending"},
                                     {"_id": tid, "state": "posted", "amount": 1}, session=s)
            db.idempotency_keys.insert_one({"_id": key + "c", "response": {"transfer_id": tid}}, session=s)
            db.bench_outbox.insert_one({"_id": uuid.uuid4().hex, "sent": False, "value": b"x" * 400}, session=s)

        for fn in (create, confirm):
            with client.start_session() as s:
                s.with_transaction(fn, **_TXN)

    cpu0 = time.process_time()
    out = _client_threads(threads, seconds, seed, members, community, transfer)
    client.close()
    return out, time.process_time() - cpu0


# The same documents written the way the ledger now writes them (group commit, shared.groupcommit): client
# threads queue creates and confirms; one committer thread per process takes everything queued (up to 64),
# reads the key records, community, accounts and transfers in one aggregate, and writes one bulk per
# collection (accounts, transfers, key records, entries, outbox) in one transaction.
def _grouped_proc(args) -> tuple[list[float], float]:
    import queue
    from concurrent.futures import Future
    from pymongo import InsertOne, ReplaceOne, UpdateOne
    mongo_url, db_name, members, community, seconds, threads, seed = args
    client, db = _raw_db(mongo_url, db_name)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def lookup(name, coll, ids):
        return _lookup(name, coll, {"_id": {"$in": ids}})

    def commit(items):
        def txn(s):
            creates = [op for op, _ in items if op["kind"] == "create"]
            confirms = [op for op, _ in items if op["kind"] == "confirm"]
            row = next(db.aggregate([
                {"$documents": [{}]}, lookup("keys", "idempotency_keys", [op["key"] for op, _ in items]),
                lookup("community", "communities", [community]),
                lookup("accounts", "accounts", [a for op in creates for a in (op["da"], op["ca"])]),
                lookup("transfers", "transfers", [op["tid"] for op in confirms]),
                {"$lookup": {"from": "accounts", "localField": "transfers.debit_account", "foreignField": "_id",
                             "as": "debits"}},
                {"$lookup": {"from": "accounts", "localField": "transfers.credit_account", "foreignField": "_id",
                             "as": "credits"}}], session=s))
            seq = {a["_id"]: a["seq"] for a in (*row["accounts"], *row["debits"], *row["credits"])}
            writes: dict[str, list] = {"accounts": [], "transfers": [], "idempotency_keys": [], "entries": []}
            for op, _ in items:
                da, ca, tid = op["da"], op["ca"], op["tid"]
                if op["kind"] == "create":
                    writes["accounts"] += [
                        UpdateOne({"_id": da, "$expr": {"$gte": [{"$subtract": [
                            {"$add": ["$posted", "$credit_limit"]}, "$pending_out"]}, 1]}}, {"$inc": {"pending_out": 1}}),
                        UpdateOne({"_id": ca}, {"$inc": {"pending_in": 1}})]
                    writes["transfers"].append(InsertOne({"_id": tid, "state": "pending", "amount": 1,
                                                          "debit_account": da, "credit_account": ca}))
                else:
                    for acc, delta in ((da, -1), (ca, 1)):
                        writes["accounts"].append(UpdateOne({"_id": acc, "seq": seq[acc]}, {
                            "$inc": {"posted": delta, "seq": 1}, "$set": {"last_hash": tid}}))
                        writes["entries"].append(InsertOne({"_id": f"{tid}:{delta}", "account_id": acc, "shard": 0,
                                                            "seq": seq[acc] + 1}))
                        seq[acc] += 1
                    writes["transfers"].append(ReplaceOne({"_id": tid, "state": "pending"},
                                                          {"_id": tid, "state": "posted", "amount": 1}))
                writes["idempotency_keys"].append(InsertOne({"_id": op["key"], "response": {"transfer_id": tid}}))
            for coll, ops in writes.items():
                if ops:
                    db[coll].bulk_write(ops, ordered=True, session=s)
            db.bench_outbox.insert_many([{"_id": uuid.uuid4().hex, "sent": False, "value": b"x" * 400}
                                         for _ in items], session=s)
        with client.start_session() as s:
            s.with_transaction(txn, **_TXN)

    def committer():
        while not stop.is_set():
            try:
                items = [inbox.get(timeout=0.1)]
            except queue.Empty:
                continue
            while len(items) < 64:
                try:
                    items.append(inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                commit(items)
                for _, done in items:
                    done.set_result(None)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting client thread
                for _, done in items:
                    done.set_exception(exc)

    def transfer(da, ca, _payee):
        op = {"da": da, "ca": ca, "tid": "t_" + uuid.uuid4().hex}
        for kind in ("create", "confirm"):
            done: Future = Future()
            inbox.put(({**op, "kind": kind, "key": uuid.uuid4().hex}, done))
            done.result()

    cpu0 = time.process_time()
    worker = threading.Thread(target=committer)
    worker.start()
    out = _client_threads(threads, seconds, seed, members, community, transfer)
    stop.set()
    worker.join()
    client.close()
    return out, time.process_time() - cpu0


def _baseline(mongo_url, db_name, members, community, seconds, concurrency, procs, watch, grouped=False) -> dict:
    per = max(1, concurrency // procs)
    jobs = [(mongo_url, db_name, members, community, seconds, per, k) for k in range(procs)]
    with mp.get_context("spawn").Pool(procs) as pool:
        pool.apply(time.time)
        with watch as usage:
            parts = pool.map(_grouped_proc if grouped else _baseline_proc, jobs)
    lat = [x for part, _ in parts for x in part]
    usage["pymongo client"] = sum(cpu for _, cpu in parts)
    return {**_figures(lat, seconds, usage.wall), "cpu": usage.shares(), "cpu_s": dict(usage.used),
            "commands": dict(usage.commands)}


def _step_floor(mongo_url: str, db_name: str, steps: int = 300) -> dict:
    """The latency of one ledger step's MongoDB work alone, one at a time on an otherwise idle mongod: a
    snapshot transaction with one aggregate read, five one-document bulk writes (accounts, transfers, key
    records, entries, outbox) and a majority commit."""
    from pymongo import InsertOne, UpdateOne
    client, db = _raw_db(mongo_url, db_name)
    db.floor_accounts.insert_many([{"_id": f"f{i}", "posted": 0, "seq": 0} for i in range(10)])
    lat = []
    for i in range(steps):
        t0 = time.perf_counter()
        with client.start_session() as s:
            s.start_transaction(**_TXN)
            next(db.aggregate([{"$documents": [{}]}] + [
                {"$lookup": {"from": coll, "pipeline": [{"$match": {"_id": {"$in": ids}}}], "as": coll}}
                for coll, ids in (("floor_accounts", ["f1", "f2"]), ("floor_keys", [str(i)]),
                                  ("floor_transfers", [str(i)]))], session=s))
            db.floor_accounts.bulk_write([UpdateOne({"_id": "f1"}, {"$inc": {"posted": -1, "seq": 1}}),
                                          UpdateOne({"_id": "f2"}, {"$inc": {"posted": 1, "seq": 1}})], session=s)
            for coll in ("floor_transfers", "floor_keys", "floor_entries", "floor_outbox"):
                db[coll].bulk_write([InsertOne({"_id": uuid.uuid4().hex, "v": "x" * 300})], session=s)
            s.commit_transaction()
        lat.append(time.perf_counter() - t0)
    client.close()
    return _figures(lat, sum(lat), sum(lat))


# -- profiles: py-spy samples of the Python processes under the spread load ------------------------------
def _start_profiles(out_dir: str, pids: dict, seconds: float) -> list:
    """One `py-spy record` per process (the web server's master with its workers), non-blocking so the sampled
    processes are not paused; raw collapsed stacks go to DIR/<name>.raw."""
    import shutil
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    out = []
    for name, pid in pids.items():
        raw = Path(out_dir) / f"{name}.raw"
        cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds) + 1), "--rate", "100", "--gil",
               "--nonblocking", "--format", "raw", "--output", str(raw)]
        if name == "web":
            cmd.append("--subprocesses")
        out.append((name, raw, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    time.sleep(1.0)  # attached before the clock starts
    return out


def _area(frame: str) -> str:
    """Where a sampled frame's code lives: our own modules by file, libraries by package."""
    path = frame.rsplit("(", 1)[-1].split(":", 1)[0] if "(" in frame else frame
    if path.startswith(("shared/", "services/")):
        return path
    return path.split("/", 1)[0] if "/" in path else path


def _summarize(raw: Path, top: int = 40) -> str:
    """The top of a collapsed-stack profile: own samples by module / library, then functions by own and by
    inclusive samples."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        n = int(n)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + n
        areas[_area(frames[-1])] = areas.get(_area(frames[-1]), 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (the thread holding the GIL: Python CPU time)", "",
             "-- own samples by module (ours) or library (% of all) --"]
    lines += [f"{100 * n / total:6.2f}%  {a}" for a, n in sorted(areas.items(), key=lambda x: -x[1])[:top]]
    lines += ["", f"-- top {top} functions by own samples --"]
    lines += [f"{100 * n / total:6.2f}%  {f}" for f, n in sorted(own.items(), key=lambda x: -x[1])[:top]]
    lines += ["", f"-- top {top} functions by inclusive samples --"]
    lines += [f"{100 * n / total:6.2f}%  {f}" for f, n in sorted(incl.items(), key=lambda x: -x[1])[:top]]
    return "\n".join(lines) + "\n"


def _finish_profiles(out_dir: str, profilers: list, run: dict) -> None:
    total, per = cpu_ms_per_transfer(run)
    for name, raw, proc in profilers:
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if not raw.exists():
            print(f"  profile of {name} failed: {err.decode(errors='replace')[-300:]}", flush=True)
            continue
        head = (f"py-spy profile of {name} during the spread run: {run['per_s']:.1f} transfers/s, "
                f"{per.get(name, float('nan')):.2f} ms of {name} CPU per transfer ({total:.2f} all processes)\n")
        (Path(out_dir) / f"{name}.txt").write_text(head + _summarize(raw))
        print(f"  profile of {name}: {Path(out_dir) / (name + '.txt')}", flush=True)


# -- setup -------------------------------------------------------------------------------------------
def _open_chunk(tx, community, members, limit, unit="PT"):
    from services.ledger.lifecycle import member_account
    from services.ledger.repository import LedgerRepository
    repo = LedgerRepository(tx)
    for m in members:
        account = member_account(tx, repo, community, m, unit)
        if limit:
            repo.save(account.with_limit(limit))


def _tokens(members, community) -> dict:
    cfg = Config.from_env("community", env={})
    tokens = {m: issue_token(cfg, Principal(m, community, ("resident",)), 24 * 3600) for m in members}
    tokens["__organizer__"] = issue_token(cfg, Principal("bench-organizer", community, ("organizer",)), 24 * 3600)
    return tokens


def cpu_ms_per_transfer(f: dict) -> tuple[float, dict]:
    """(CPU ms per completed transfer summed over every process of the deployment and the load generator,
    the same per process group). "machine busy" (every process on the machine, other users' too) is left out."""
    per = {k: v * 1000 / f["transfers"] for k, v in f.get("cpu_s", {}).items()
           if k != "machine busy" and f["transfers"]}
    return (sum(per.values()) if per else float("nan")), per


def _print(name, f, extra="", unit="transfers/s"):
    print(f"  {name:<36} {f['per_s']:7.1f} {unit}   p50 {f['p50']:6.1f} ms   p95 {f['p95']:6.1f} ms   "
          f"p99 {f['p99']:6.1f} ms   ({f['transfers']} in run){extra}", flush=True)
    if f.get("cpu"):
        busy = f["cpu"].pop("machine busy", None)
        parts = "  ".join(f"{k} {v:.2f}" for k, v in f["cpu"].items())
        print(f"  {'':<36} cores used: {parts}" + (f"  | machine busy {busy:.2f}" if busy is not None else ""),
              flush=True)
    if f.get("cpu_s") and unit.startswith("transfers"):
        total, per = cpu_ms_per_transfer(f)
        print(f"  {'':<36} CPU ms per transfer (all processes): {total:.2f}", flush=True)
        print(f"  {'':<36}   = " + "  ".join(f"{k} {v:.2f}" for k, v in per.items()), flush=True)
    if f.get("commands") and f["transfers"]:
        top = sorted(f["commands"].items(), key=lambda x: -x[1])[:20]
        print(f"  {'':<36} mongod commands per transfer (all clients): "
              + "  ".join(f"{k} {v / f['transfers']:.2f}" for k, v in top), flush=True)


def _spread_of(windows: list[dict]) -> dict:
    """The spread figures of one window, or (--repeat) the window of median throughput, after a line giving the
    median, lowest and highest of throughput, p99 and CPU per transfer over the windows."""
    if len(windows) == 1:
        return windows[0]
    figures = {"transfers/s": [w["per_s"] for w in windows], "p99 ms": [w["p99"] for w in windows],
               "CPU ms per transfer (all processes)": [cpu_ms_per_transfer(w)[0] for w in windows]}
    print(f"  spread over {len(windows)} windows (median [lowest, highest]): " + "   ".join(
        f"{name} {statistics.median(v):.2f} [{min(v):.2f}, {max(v):.2f}]" for name, v in figures.items()), flush=True)
    return sorted(windows, key=lambda w: w["per_s"])[(len(windows) - 1) // 2]


def main() -> None:
    """Run the spread, baseline and hot-account measurements and print them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--hot-members", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16,
                    help="transfers in flight (closed-loop users); also the baseline's thread count")
    ap.add_argument("--client-procs", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=15)
    # One process of 64 threads, as `make run` serves the ledger (shared.config.WEB_ENV): one
    # group-commit thread gets the whole load; 2 x 8 split it into smaller, conflicting groups.
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--server", choices=webserver.SERVERS, default=WEB_ENV["ledger"]["WEB_SERVER"],
                    help="the ledger's HTTP server (default: as deployed, shared.config.WEB_ENV); gunicorn to "
                         "measure what its HTTP handling in Python costs")
    ap.add_argument("--threads", type=int, default=int(WEB_ENV["ledger"]["WEB_THREADS"]))
    ap.add_argument("--rate", type=float, default=0,
                    help="open loop: transfers started per second (Poisson arrivals), timed from when each was due; "
                         "default: closed loop with --concurrency users")
    ap.add_argument("--profile", metavar="DIR",
                    help="sample the web workers, the relay and the consumer with py-spy during the spread run "
                         "(non-blocking) and write the top of each profile as text into DIR")
    ap.add_argument("--warmup", type=float, default=30,
                    help="seconds of unmeasured spread load first (JIT of the broker, connection pools, token caches): "
                         "the figures are a running deployment's, not a cold start's. Kafka's JIT takes that long: "
                         "after 3 s the broker still cost 0.96 ms per transfer, after 30 s 0.58 (a 90 s warm-up: the "
                         "same as 30)")
    ap.add_argument("--unit", choices=("PT", "HOUR"), default="PT",
                    help="the spread run's unit: PT (points, default), whose credits also move point lots and the "
                         "economy statistics (issues 13, 15), or HOUR (time credits), which write what the raw "
                         "baselines write: accounts, transfers, key records, entries, outbox")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="measure the spread run N times back to back on the same warm deployment and print the "
                         "median, lowest and highest of each figure: on a shared VM one window's CPU per transfer "
                         "moves by ±15 %% from one run to the next, so a single run cannot show a change smaller "
                         "than that")
    ap.add_argument("--skip-unsharded", action="store_true")
    ap.add_argument("--keepalive", action="store_true",
                    help="keep each user's connection across transfers (the gateway's pooled upstream session does "
                         "in production) instead of a new connection per transfer")
    ap.add_argument("--spread-only", action="store_true",
                    help="only the spread run (no baselines, no hot account): quick before/after pairs")
    ap.add_argument("--skip-single", action="store_true",
                    help="skip the baseline that commits each create and confirm in its own transaction")
    ap.add_argument("--floor", action="store_true",
                    help="also measure GET /healthz (what HTTP, the web server and Flask alone cost per request) and one "
                         "step's MongoDB commands alone, one at a time (the latency floor of a create or confirm)")
    args = ap.parse_args()
    with devstack.env_or_local("ledger-bench") as stack:
        run(args, stack)


def start_ledger(stack, prefix: str, db_name: str, workers: int, threads: int,
                 server: str = WEB_ENV["ledger"]["WEB_SERVER"]) -> tuple[str, list]:
    """The ledger's web role (shared.webserver, as deployed: `server` with `workers` x `threads`), relay and
    consumer on `prefix` / `db_name`, money rate limit lifted: (its URL, the processes), once it answers /healthz.
    Stop them with `stop`."""
    port = devstack.free_port()
    env = {**os.environ, "MONGO_URL": stack.mongo_url, "KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
           "TOPIC_PREFIX": prefix, "MONGO_DB": db_name, "LEDGER_MONEY_RATE_LIMIT": "10000000/minute",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    web = {**env, "WEB_SERVER": server, "WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads),
           "BIND": f"127.0.0.1:{port}"}
    procs = [subprocess.Popen([sys.executable, "-m", "shared.webserver", "ledger"], env=web, cwd=ROOT,
                              start_new_session=True),
             subprocess.Popen([sys.executable, "-m", "shared.worker", "ledger", "relay"], env=env, cwd=ROOT,
                              start_new_session=True),
             # The ledger's consumer is part of the deployment too (it idles here: the bench's transfers
             # come over HTTP), so its polling counts in the CPU per transfer.
             subprocess.Popen([sys.executable, "-m", "shared.worker", "ledger", "consumer"], env=env, cwd=ROOT,
                              start_new_session=True)]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return url, procs
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stop(procs)
            raise SystemExit("ledger web did not start")
        time.sleep(0.2)


def cpu_watch(stack, procs: list) -> "_CpuWatch":
    """CPU accounting of start_ledger's processes, and of mongod and Kafka when this run started them."""
    groups = {"web": lambda: process_tree(procs[0].pid), "relay": lambda: process_tree(procs[1].pid),
              "consumer": lambda: process_tree(procs[2].pid)}
    for name, server in (("mongod", stack.mongod), ("kafka", stack.kafka)):
        popen = getattr(getattr(server, "process", None), "popen", None)  # a ChildProcess we started
        if popen is not None:
            groups[name] = lambda popen=popen: process_tree(popen.pid)
    return _CpuWatch(groups, MongoClient(stack.mongo_url))


def stop(procs: list) -> None:
    """Stop what start_ledger started (their process groups: TERM, then KILL after 15 s)."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, 15)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)


def run(args, stack) -> None:
    """All the ledger runs against one Kafka + mongod stack."""
    run_id = uuid.uuid4().hex[:8]
    prefix, db_name = f"bench{run_id}.", f"bench_{run_id}_ledger"
    ensure_topics(stack.kafka_bootstrap, prefix)
    from shared.runtime import build_runtime
    config = Config.from_env("ledger", env={}, mongo_url=stack.mongo_url, kafka_bootstrap=stack.kafka_bootstrap,
                             topic_prefix=prefix, mongo_db=db_name)
    runtime = build_runtime(config)
    url, procs = start_ledger(stack, prefix, db_name, args.workers, args.threads, args.server)
    try:
        load = (f"open loop at {args.rate:g} transfers/s (HTTP runs; baselines: {args.concurrency} in flight)"
                if args.rate else f"concurrency={args.concurrency} (transfers in flight)")
        print(f"ledger bench: members={args.members} {load}, "
              f"{args.client_procs} client process(es), seconds={args.seconds}, {args.server} {args.workers} workers x "
              f"{args.threads} threads; {os.cpu_count()} cores; mongo {stack.mongo_url}", flush=True)
        print(f"load average at start: {_loadavg()}", flush=True)
        watch = cpu_watch(stack, procs)
        if "mongod" not in watch.groups:
            print("  (mongod and Kafka are not ours: their CPU is not shown; 'machine busy' still is)", flush=True)

        if args.floor:
            floor = _drive(url, "floor", {}, [], args.seconds, args.concurrency, args.client_procs, watch)
            cpu_ms = floor["cpu"].get("web", 0) / floor["per_s"] * 1000 if floor["per_s"] else float("nan")
            _print("floor (GET /healthz, keep-alive)", floor, unit="requests/s ",
                   extra=f"  web {cpu_ms:.2f} ms CPU/request")
            _print("floor (one step's MongoDB work)", _step_floor(stack.mongo_url, db_name), unit="steps/s    ")

        spread_c = "c_spread" + run_id
        members = [f"m{i}" for i in range(args.members)]
        for i in range(0, len(members), 200):
            runtime.uow.run(lambda tx, ch=members[i:i + 200]: _open_chunk(tx, spread_c, ch, 10**9, args.unit))
        tokens = _tokens(members, spread_c)
        spread_kind = "spread" if args.unit == "PT" else f"spread:{args.unit}"
        if args.warmup:
            _drive(url, spread_kind, tokens, members, args.warmup, args.concurrency, args.client_procs, _CpuWatch({}),
                   keepalive=args.keepalive)
        profilers = _start_profiles(args.profile, {"web": procs[0].pid, "relay": procs[1].pid,
                                                   "consumer": procs[2].pid}, args.seconds) if args.profile else []
        windows = []
        for window in range(max(1, args.repeat)):
            groups0 = _group_metrics(url)
            windows.append(_drive(url, spread_kind, tokens, members, args.seconds, args.concurrency,
                                  args.client_procs, watch, args.rate, keepalive=args.keepalive))
            _print(f"spread (HTTP, create+confirm, {args.unit})" + (f" {window + 1}/{args.repeat}"
                                                                    if args.repeat > 1 else ""), windows[-1])
            _print_groups(groups0, _group_metrics(url), watch.wall)
            if profilers:
                _finish_profiles(args.profile, profilers, windows[-1])
                profilers = []
        spread = _spread_of(windows)
        if args.spread_only:
            from services.ledger.audit import run_audit
            print(f"  audit after the run: {run_audit(runtime.client, runtime.db, spread_c)['ok']}")
            print(f"load average at end: {_loadavg()}", flush=True)
            return
        base_c = "c_base" + run_id
        for i in range(0, len(members), 200):
            runtime.uow.run(lambda tx, ch=members[i:i + 200]: _open_chunk(tx, base_c, ch, 10**9))
        base = _baseline(stack.mongo_url, db_name, members, base_c, args.seconds, args.concurrency, args.client_procs,
                         watch, grouped=True)
        _print("baseline (raw pymongo, grouped)", base)
        single = None
        if not args.skip_single:
            single_c = "c_single" + run_id
            for i in range(0, len(members), 200):
                runtime.uow.run(lambda tx, ch=members[i:i + 200]: _open_chunk(tx, single_c, ch, 10**9))
            single = _baseline(stack.mongo_url, db_name, members, single_c, args.seconds, args.concurrency,
                               args.client_procs, watch)
            _print("baseline (raw pymongo, 1 tx per step)", single)

        hot_c = "c_hot" + run_id
        hot_members = [f"h{i}" for i in range(args.hot_members)]
        for i in range(0, len(hot_members), 200):
            runtime.uow.run(lambda tx, ch=hot_members[i:i + 200]: _open_chunk(tx, hot_c, ch, 0))
        groups0 = _group_metrics(url)
        hot = _drive(url, "hot", _tokens(hot_members, hot_c), hot_members, args.seconds,
                     args.concurrency, args.client_procs, watch, args.rate, keepalive=args.keepalive)
        _print("hot: issuance -> 1000 (32 shards)", hot)
        _print_groups(groups0, _group_metrics(url), watch.wall)

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
            cold = _drive(url, "hot", _tokens(hot_members, cold_c), hot_members, args.seconds,
                          args.concurrency, args.client_procs, watch, args.rate, keepalive=args.keepalive)
            _print("hot: issuance unsharded (1 doc)", cold)

        from services.ledger.audit import run_audit
        audits = {c: run_audit(runtime.client, runtime.db, c)["ok"] for c in (spread_c, hot_c)}
        print("\nsummary", flush=True)
        print(f"  spread / baseline          = {spread['per_s'] / base['per_s']:.2f}  (target >= 0.5; the same "
              f"writes, grouped as the ledger groups them)")
        if single:
            print(f"  spread / 1-tx baseline     = {spread['per_s'] / single['per_s']:.2f}  (the same writes, one "
                  f"transaction per create and per confirm)")
        print(f"  hot / spread               = {hot['per_s'] / spread['per_s']:.2f}  (target >= 0.8)")
        if cold:
            print(f"  unsharded hot / spread     = {cold['per_s'] / spread['per_s']:.2f}")
        print(f"  spread: {spread['per_s']:.0f}/s (target >= 500), p99 {spread['p99']:.1f} ms (target < 50 ms), "
              + (f"open loop at {args.rate:g}/s" if args.rate else f"concurrency {args.concurrency}"))
        for name, f in (("spread", spread), ("baseline grouped", base), ("hot", hot)):
            print(f"  {name + ':':<18} CPU ms per transfer (all processes): {cpu_ms_per_transfer(f)[0]:.2f}"
                  + ("  (target <= 8)" if name == "spread" else ""))
        print(f"  audit after the runs: {audits}")
        print(f"load average at end: {_loadavg()}", flush=True)
    finally:
        stop(procs)
        runtime.client.drop_database(db_name)
        runtime.close()


if __name__ == "__main__":
    main()
