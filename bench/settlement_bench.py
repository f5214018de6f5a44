"""Settlement benchmark: close the batches of 200 shops holding 100,000 completed redemptions and produce
their statements; then till-to-completed latency at a steady rate through the real ledger.

    python bench/settlement_bench.py [--shops 200] [--redemptions 100000] [--rate 5] [--seconds 40]

Uses KAFKA_BOOTSTRAP + MONGO_URL when both are set, else starts its own Kafka and mongod (shared.devstack).
Services run in-process (shared.testing.Deployment: Flask test client + relay/consumer threads), on an
isolated topic prefix and databases that are dropped at the end.

Seeding: merchants are registered through settlement's own command handler (RegisterMerchant, so their
events and indexes are real); the 100,000 completed redemptions are inserted directly into settlement's
`redemptions` collection (and the matching posted `redeem` transfers into its ledger read model), in the
exact shape the TransferPosted consumer leaves them — pushing 100k transfers through the ledger would
measure the ledger, not settlement.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import devstack, topics  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.envelope import new_event  # noqa: E402
from shared.kafka_bus import make_producer  # noqa: E402
from shared.testing import Deployment, bearer, wait_until  # noqa: E402


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- part 1: batches and statements -------------------------------------------------------------------
def seed(settlement, community_id: str, shops: int, redemptions: int) -> list[str]:
    """Register shops through the command handler; insert completed redemptions directly."""
    from services.settlement import commands
    bus = settlement.app.extensions["bus"]
    admin = Principal("adm_bench", community_id, ("admin",))
    merchant_ids = [bus.handle(commands.RegisterMerchant(admin, {"name": f"商户{i:03d}"}))["merchant_id"]
                    for i in range(shops)]
    items = {mid: [f"itm_{mid[-8:]}_{k}" for k in range(5)] for mid in merchant_ids}
    db = settlement.db
    db.catalog_items.insert_many([{"_id": iid, "item_id": iid, "merchant_id": mid, "community_id": community_id,
                                   "name": f"商品{k}", "price_points": 100 + k, "stock": 10**6, "reserved": 0,
                                   "active": True} for mid, ids in items.items() for k, iid in enumerate(ids)])
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    chunk_r, chunk_t = [], []
    for n in range(redemptions):
        mid = merchant_ids[n % shops]
        rid, tid, member = f"red_b{n:07d}", f"t_b{n:07d}", f"mem_b{n % 5000:05d}"
        points = rng.randint(50, 500)
        at = now - timedelta(seconds=rng.randint(60, 6 * 86400))
        item = rng.choice(items[mid]) if n % 4 == 0 else None
        chunk_r.append({"_id": rid, "redemption_id": rid, "community_id": community_id, "merchant_id": mid,
                        "member_id": member, "points": points, "bill_fen": points * 30, "rate_fen_per_point": 10,
                        "value_fen": points * 10, "staff_id": "stf_bench", "item_id": item, "pay_code_sha256": None,
                        "state": "completed", "transfer_id": tid, "reason": None, "created_at": at,
                        "resolved_at": at, "batch_id": None})
        chunk_t.append({"_id": tid, "community_id": community_id, "workflow": "redeem", "unit": "PT",
                        "amount": points, "debit_account": f"m:{member}", "credit_account": f"x:{mid}",
                        "payer_id": member, "payee_id": mid, "state": "posted", "reserved": False,
                        "reference_kind": "redemption", "reference_id": rid, "at": at})
        if len(chunk_r) == 5000:
            db.redemptions.insert_many(chunk_r, ordered=False)
            db.ledger_transfers.insert_many(chunk_t, ordered=False)
            chunk_r, chunk_t = [], []
    if chunk_r:
        db.redemptions.insert_many(chunk_r, ordered=False)
        db.ledger_transfers.insert_many(chunk_t, ordered=False)
    return merchant_ids


def bench_batches(dep: Deployment, shops: int, redemptions: int) -> None:
    settlement = dep.service("settlement", workers=False)  # batches and statements need no consumer
    community_id = "c_bench"
    admin = bearer(dep.token("adm_bench", community_id, "admin"))
    started = time.perf_counter()
    merchant_ids = seed(settlement, community_id, shops, redemptions)
    print(f"seeded {shops} shops and {redemptions:,} completed redemptions in {time.perf_counter() - started:.1f}s")
    http = settlement.http
    assert http.post("/v1/sponsor-budget/top-ups", headers=admin,
                     json={"amount_fen": 10**10, "reference": "bench"}).status_code == 201

    per_batch, batch_ids = [], []
    started = time.perf_counter()
    for mid in merchant_ids:
        t0 = time.perf_counter()
        resp = http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True})
        per_batch.append(time.perf_counter() - t0)
        assert resp.status_code == 201, resp.get_json()
        batch_ids.append(resp.get_json()["batch_id"])
    close_all = time.perf_counter() - started

    statement_times = {"json": [], "csv": [], "html": []}
    started = time.perf_counter()
    total_bytes = 0
    for bid in batch_ids:
        for fmt in statement_times:
            t0 = time.perf_counter()
            resp = http.get(f"/v1/batches/{bid}/statement", headers=admin, query_string={"format": fmt})
            statement_times[fmt].append(time.perf_counter() - t0)
            assert resp.status_code == 200
            total_bytes += len(resp.data)
    statements_all = time.perf_counter() - started

    db = settlement.db
    lines = db.batch_lines.count_documents({})
    settled = sum(b["points"] for b in db.batches.find({}, {"points": 1}))
    seeded = sum(r["points"] for r in db.redemptions.find({}, {"points": 1}))
    unbatched = db.redemptions.count_documents({"batch_id": None})
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    recon = http.get(f"/v1/merchants/{merchant_ids[0]}/reconciliation", headers=admin,
                     query_string={"since": (now - timedelta(days=7)).isoformat(), "until": now.isoformat()}).get_json()
    recon_time = time.perf_counter() - t0

    print("\n== settlement batches ==")
    print(f"close all {len(batch_ids)} batches (one POST each, create+close in one transaction): {close_all:.2f}s "
          f"(per batch p50 {ms(pct(per_batch, .5))}, p99 {ms(pct(per_batch, .99))}, "
          f"{redemptions / close_all:,.0f} redemptions/s)")
    print(f"statements for all batches (JSON+CSV+HTML, {total_bytes / 1e6:.1f} MB): {statements_all:.2f}s; "
          + ", ".join(f"{fmt} p50 {ms(pct(v, .5))} p99 {ms(pct(v, .99))}" for fmt, v in statement_times.items()))
    print(f"close + statements: {close_all + statements_all:.2f}s")
    print(f"check: {lines:,} lines, settled points {settled:,} == seeded points {seeded:,}: {settled == seeded}; "
          f"unbatched left: {unbatched}")
    print(f"reconciliation of one shop ({recon['ledger']['transfers']} transfers): {ms(recon_time)}, "
          f"balanced={recon['balanced']}")


# -- part 2: till-to-completed latency through the real ledger --------------------------------------------
def publish(producer, config, topic: str, type_: str, payload: dict, key: str) -> None:
    event = new_event(type_, payload, key=key, producer=topic.split(".")[0], community_id=payload["community_id"])
    producer.send(config.topic(topic), key=key.encode(), value=event.to_json()).get(timeout=30)


class Watcher:
    """Notes when documents reach a state, from a change stream (one thread, no polling by the load)."""

    def __init__(self, collection, state: str):
        self.seen: dict[str, float] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]},
                                "fullDocument.state": state}}]
        self.stream = collection.watch(pipeline, full_document="updateLookup", max_await_time_ms=200)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.is_set():
            change = self.stream.try_next()
            if change is not None:
                with self.cond:
                    self.seen.setdefault(change["documentKey"]["_id"], time.perf_counter())
                    self.cond.notify_all()

    def wait(self, key: str, timeout: float = 120.0) -> float:
        """The time `key` reached the state."""
        with self.cond:
            if not self.cond.wait_for(lambda: key in self.seen, timeout=timeout):
                raise TimeoutError(key)
            return self.seen[key]

    def close(self) -> None:
        self.stop.set()


def bench_latency(dep: Deployment, rate: float, seconds: float, members: int = 40, shops: int = 20) -> None:
    from services.ledger.handlers import source_transfer_id
    ledger = dep.service("ledger", settings={"LEDGER_MONEY_RATE_LIMIT": "1000000/minute"})
    settlement = dep.service("settlement", settings={"SETTLEMENT_MONEY_RATE_LIMIT": "1000000/minute"})
    config = dep.config("bench")
    producer = make_producer(config)
    cid = "c_lat" + uuid.uuid4().hex[:6]
    now = datetime.now(timezone.utc).isoformat()
    # The community service's events, as it would publish them.
    publish(producer, config, topics.COMMUNITY, "CommunityCreated", {
        "community_id": cid, "code": "lat", "name": "bench", "point_value_fen": 10,
        "settings": {"pending_ttl_days": 14, "bill_auto_confirm": False, "timezone": "Asia/Shanghai"}}, cid)
    member_ids = [f"mem_l{i:03d}" for i in range(members)]
    for mid in member_ids + ["org_l"]:
        publish(producer, config, topics.COMMUNITY, "MemberJoined", {
            "community_id": cid, "member_id": mid, "grid_id": None,
            "roles": ["organizer"] if mid == "org_l" else ["resident"], "skills": [], "availability": [],
            "vulnerable": False, "merchant_id": None, "status": "active", "joined_at": now}, mid)
    admin = bearer(dep.token("adm_l", cid, "admin"))
    organizer = bearer(dep.token("org_l", cid, "organizer"))
    merchants = []
    for i in range(shops):
        r = settlement.http.post("/v1/merchants", headers=admin,
                                 json={"name": f"店{i}", "max_discount_share_bp": 10_000, "min_points": 1})
        merchants.append((r.get_json()["merchant_id"],
                          bearer(dep.token(f"stf_l{i}", cid, "merchant", merchant_id=r.get_json()["merchant_id"]))))
    tokens = {m: bearer(dep.token(m, cid, "resident")) for m in member_ids}
    # Points for every member: a high-risk day's award (720 PT), confirmed by the organizer.
    for m in member_ids:
        def claim():
            r = ledger.http.post("/v1/transfers", headers=tokens[m], json={
                "workflow": "award", "unit": "PT", "minutes": 1440, "service_class": "high_risk"})
            return r if r.status_code == 201 else None
        t = wait_until(claim, timeout=60, message="ledger opened the member's account").get_json()
        assert ledger.http.post(f"/v1/transfers/{t['transfer_id']}/confirm", headers=organizer).status_code == 200
    wait_until(lambda: settlement.db.ledger_accounts.count_documents(
        {"owner_kind": "member", "posted": {"$gte": 720}}) >= members, timeout=120, message="settlement sees points")

    pending = Watcher(ledger.db.transfers, "pending")
    completed = Watcher(settlement.db.redemptions, "completed")

    def approved_path(i: int) -> tuple[float, float, float]:
        member = member_ids[i % members]
        mid, staff = merchants[i % shops]
        t0 = time.perf_counter()
        r = settlement.http.post(f"/v1/merchants/{mid}/redemptions", headers=staff,
                                 json={"member_id": member, "points": 5, "bill_fen": 1000})
        assert r.status_code == 201, r.get_json()
        rid = r.get_json()["redemption_id"]
        tid = source_transfer_id(f"redemption:{rid}")
        t1 = pending.wait(tid)
        c = ledger.http.post(f"/v1/transfers/{tid}/confirm", headers=tokens[member])
        assert c.status_code == 200, c.get_json()
        t2 = completed.wait(rid)
        return t1 - t0, t2 - t1, t2 - t0

    def pay_code_path(i: int) -> float:
        member = member_ids[i % members]
        mid, staff = merchants[i % shops]
        code = ledger.http.post("/v1/pay-codes", headers=tokens[member], json={"max_points": 5}).get_json()["code"]
        digest = hashlib.sha256(code.encode()).hexdigest()
        wait_until(lambda: settlement.db.pay_codes.find_one({"code_sha256": digest}, {"_id": 1}),
                   timeout=60, interval=0.02)
        t0 = time.perf_counter()
        r = settlement.http.post(f"/v1/merchants/{mid}/redemptions", headers=staff,
                                 json={"member_id": member, "points": 5, "bill_fen": 1000, "pay_code": code})
        assert r.status_code == 201, r.get_json()
        return completed.wait(r.get_json()["redemption_id"]) - t0

    def steady(fn, label: str):
        count = int(rate * seconds)
        results, lock = [], threading.Lock()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            def run(i):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                value = fn(i)
                with lock:
                    results.append(value)
            list(pool.map(run, range(count)))
        elapsed = time.perf_counter() - start
        print(f"{label}: {count} redemptions at {rate}/s offered, {count / elapsed:.1f}/s achieved")
        return results

    print("\n== till → completed through the real ledger ==")
    approved = steady(approved_path, "member-approval path")
    for name, k in (("till → pending in ledger", 0), ("member confirm → completed in settlement", 1),
                    ("till → completed (zero think time)", 2)):
        values = [r[k] for r in approved]
        print(f"  {name}: p50 {ms(pct(values, .5))}, p99 {ms(pct(values, .99))}, max {ms(max(values))}, "
              f"mean {ms(statistics.mean(values))}")
    coded = steady(pay_code_path, "pay-code path")
    print(f"  till with pay code → completed: p50 {ms(pct(coded, .5))}, p99 {ms(pct(coded, .99))}, "
          f"max {ms(max(coded))}")
    pending.close()
    completed.close()
    producer.close(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--redemptions", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=5.0, help="redemptions per second offered (latency part)")
    parser.add_argument("--seconds", type=float, default=40.0, help="duration of each latency run")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    with devstack.env_or_local("settlement-bench") as stack:
        run(args, stack)


def run(args, stack) -> None:
    """The batch run and (unless skipped) the till latency runs, each in its own deployment."""
    print(f"kafka {stack.kafka_bootstrap}, mongo {stack.mongo_url} ({stack.origin})")
    deployments = []
    try:
        dep = Deployment(stack.kafka_bootstrap, stack.mongo_url)
        deployments.append(dep)
        bench_batches(dep, args.shops, args.redemptions)
        dep.close()
        if not args.skip_latency:
            dep2 = Deployment(stack.kafka_bootstrap, stack.mongo_url)
            deployments.append(dep2)
            bench_latency(dep2, args.rate, args.seconds)
            dep2.close()
    finally:
        from pymongo import MongoClient
        client = MongoClient(stack.mongo_url)
        for d in deployments:
            d.close()
            for name in client.list_database_names():
                if name.startswith(d.prefix.replace(".", "_")):
                    client.drop_database(name)
        client.close()


if __name__ == "__main__":
    main()
