"""The points economy at a community's full size (issue 13): 12,000 members with a year of history (>= 1,000,000
point lots), then the annual clearing run by the ledger's real scheduler code, and the leaderboards and per-grid
statistics read from the precomputed read model (services/ledger/stats.py).

    python bench/economy_bench.py [--members 12000] [--lots-per-member 84] [--grids 24] [--seed 7]

The year of history is loaded in bulk, straight through the ledger's collections, not posted one transfer at a
time (a year of 1,000,000 awards through the API would take hours here): for every member, awards on days spread
over the year (each a FIFO lot, `shared.economy.Wallet.earn` under the community's rules: annual clearing on
12-31) and redemptions spending the oldest lots first (`Wallet.spend`). Accounts are the model's own
(`model.member_of`), lots the Wallet's, and the read model gets the very documents postings keep: each award
and redemption goes through `stats_model.moves` and `stats.count_move` into a `stats.Tally`, written in one
bulk. (The journal holds no entries for this bulk history, so the audit is not run here.)

Then, timed:
1. the leaderboards and statistics from the read model: the community's month and year boards, one grid's
   month board, a member's own rank, GET /v1/admin/economy/stats's figures for the whole year (months, grids,
   concentration, expiry forecast) - each the median of 5 runs; target <= 1 s in all;
2. the annual clearing: `services.ledger.scheduler.expire_lots_due` on 12-31, up to 200 members (about 10,000
   lots) per transaction, as the scheduler process runs it, with progress every 5 s; target <= 120 s. Then the
   read model is checked: the points expired equal what the lots held, and nothing is outstanding.

Measured clearing (load average from `uptime`, 2 shared cores): 25 members per transaction 436 s, 463 s at load
50-60, 86.0 s at load 4-11; 200 per transaction 103.1 s at load 14-16; same-load pairs at `--members 2000`: 15.2,
12.5 s -> 12.1, 12.2 s, MongoDB commands 0.45 -> 0.07 per member (services/ledger/README.md, "Annual clearing").

A private mongod is started unless MONGO_URL is set."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymongo import InsertOne, MongoClient  # noqa: E402

from shared import devstack  # noqa: E402
from shared.config import Config  # noqa: E402
from shared.economy import Wallet, from_document, honour_level  # noqa: E402
from shared.economy.rules import default_document  # noqa: E402
from shared.runtime import build_runtime  # noqa: E402
from services.ledger import model, scheduler, stats, stats_views  # noqa: E402
from services.ledger.lots import LOTS, RULES, SUMMARIES, lot_id  # noqa: E402
from services.ledger.stats_model import moves  # noqa: E402

COMMUNITY = "c_bench"
YEAR = 2026
CLEARING = date(YEAR, 12, 31)
RULES_DOC = {**default_document(), "expiry": {**default_document()["expiry"], "mode": "annual",
                                              "clearing_date": "12-31"}}
BATCH = 20_000


def progress(label: str, done: int, total: int, started: float) -> None:
    print(f"\r  {label}: {done:,}/{total:,} ({done / total:.0%}) {time.perf_counter() - started:6.1f} s",
          end="", flush=True)


def insert(db, collection: str, docs: list, label: str) -> None:
    started = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        db[collection].bulk_write([d if not isinstance(d, dict) else InsertOne(d) for d in docs[i:i + BATCH]],
                                  ordered=False)
        progress(label, min(i + BATCH, len(docs)), len(docs), started)
    print()


def load(db, args) -> dict:
    """A year of history for `args.members` members (see the module docstring); what was loaded."""
    rng = random.Random(args.seed)
    rules = from_document(RULES_DOC, 1, datetime(YEAR - 1, 1, 1, tzinfo=timezone.utc))
    db.communities.insert_one({"_id": COMMUNITY, "pending_ttl_days": 7, "bill_auto_confirm": False,
                               "hour_credit_limit": 600, "point_value_fen": 10, "timezone": "Asia/Shanghai"})
    db[RULES].insert_one({"_id": f"{COMMUNITY}:1", "community_id": COMMUNITY, "version": 1, "revision": 1,
                          "effective_from": f"{YEAR - 1}-01-01T00:00:00+00:00", "rules": RULES_DOC})
    tally = stats.Tally()
    accounts, summaries, lot_docs = [], [], []
    grids = [f"g{i:02d}" for i in range(args.grids)]
    started, issued = time.perf_counter(), 0
    for n in range(args.members):
        member, grid = f"m{n:05d}", grids[n % len(grids)]
        account_id = model.member_account_id(COMMUNITY, member, "PT")
        stats.add_flow(tally, COMMUNITY, f"{YEAR}-01", grid, {"joined": 1})
        wallet, days = Wallet(), sorted(rng.sample(range(0, 350), args.lots_per_member))
        earned_months, honour = set(), 0
        for k, offset in enumerate(days):
            day = date(YEAR, 1, 1) + timedelta(days=offset)
            month, points = day.isoformat()[:7], rng.randint(5, 30)
            wallet, _ = wallet.earn(lot_id(f"t{n}_{k}", datetime(YEAR, 1, 1, tzinfo=timezone.utc)
                                           + timedelta(days=offset, seconds=k)), points, day, rules)
            honour += points
            issued += points
            for move in moves("s:c_bench:issuance:PT", account_id, points, award=True):
                stats.count_move(tally, COMMUNITY, month, member, grid, move, month not in earned_months,
                                 wallet.balance)
            earned_months.add(month)
            if k % 4 == 3 and wallet.balance > 40:  # now and then a redemption at a shop, oldest lots first
                spent = rng.randint(10, wallet.balance // 2)
                wallet, _ = wallet.spend(spent)
                for move in moves(account_id, "x:c_bench:shop:PT", spent):
                    stats.count_move(tally, COMMUNITY, month, member, grid, move, False, wallet.balance)
        for lot in wallet.lots:
            lot_docs.append({**lot.to_dict(), "_id": lot.lot_id, "account_id": account_id, "community_id": COMMUNITY,
                             "member_id": member, "transfer_id": lot.lot_id})
            if lot.remaining:
                stats.add_expiring(tally, COMMUNITY, lot.expires_on.isoformat(), lot.remaining)
        account = vars(model.member_of(COMMUNITY, member, "PT", 0)).copy()
        account.update(_id=account.pop("account_id"), posted=wallet.balance, opened_at=datetime.now(timezone.utc))
        accounts.append(account)
        summaries.append({"_id": account_id, "community_id": COMMUNITY, "member_id": member, "grid_id": grid,
                          "counted_grid": grid, "honour_points": honour, "participations": len(days), "streak": 0,
                          "debt": 0, "earned_month": max(earned_months), "board_name": None,
                          **{k: v for k, v in honour_level(rules, honour).items() if k in ("level", "title_zh",
                                                                                            "title_en")}})
        if n % 200 == 199 or n == args.members - 1:
            progress("history built in memory (members)", n + 1, args.members, started)
    print()
    insert(db, LOTS, lot_docs, "point lots")
    insert(db, "accounts", accounts, "accounts")
    insert(db, SUMMARIES, summaries, "member summaries")
    insert(db, stats.STATS, tally.operations(), "read model documents")
    held = sum(a["posted"] for a in accounts)
    return {"lots": len(lot_docs), "held": held, "issued": issued, "read_model_docs": len(tally.docs),
            "lots_holding": sum(1 for d in lot_docs if d["remaining"])}


def timed(fn, runs: int = 5) -> tuple[float, object]:
    took, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        took.append(time.perf_counter() - t0)
    return statistics.median(took), result


def bench_reads(db) -> float:
    print("leaderboards and statistics from the read model (median of 5 runs):")
    cases = [
        ("month board, community (top 20 + my rank)",
         lambda: stats_views.board(db, COMMUNITY, f"{YEAR}-11", None, 20, "m00042")),
        ("year board, community (top 20 + my rank)",
         lambda: stats_views.board(db, COMMUNITY, str(YEAR), None, 20, "m00042")),
        ("month board, one grid (top 20 + my rank)",
         lambda: stats_views.board(db, COMMUNITY, f"{YEAR}-11", "g02", 20, "m00042")),
        ("economy stats, 12 months x every grid + concentration + expiry",
         lambda: stats_views.economy_stats(db, COMMUNITY, f"{YEAR}-01", f"{YEAR}-12")),
        ("public honour board", lambda: stats_views.honour_board(db, COMMUNITY)),
    ]
    total = 0.0
    for label, fn in cases:
        took, _ = timed(fn)
        total += took
        print(f"  {label}: {took * 1000:.1f} ms")
    print(f"  all of the above together: {total * 1000:.1f} ms (target <= 1000 ms)")
    return total


def bench_clearing(runtime, db, loaded: dict) -> float:
    print(f"annual clearing on {CLEARING} by services.ledger.scheduler.expire_lots_due "
          f"({loaded['lots_holding']:,} lots still holding {loaded['held']:,} points):")
    at = datetime(CLEARING.year, CLEARING.month, CLEARING.day, 4, tzinfo=timezone.utc)  # noon in Shanghai
    result: dict = {}
    done = threading.Event()

    def run():
        try:
            result["points"] = scheduler.expire_lots_due(runtime, at=at)
        finally:
            done.set()
    started = time.perf_counter()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    members = len(db.accounts.distinct("_id", {"community_id": COMMUNITY, "kind": "member"}))
    while not done.wait(5):
        cleared = db.transfers.count_documents({"community_id": COMMUNITY, "reference.kind": "expiry"})
        progress("members cleared", cleared, members, started)
    took = time.perf_counter() - started
    cleared = db.transfers.count_documents({"community_id": COMMUNITY, "reference.kind": "expiry"})
    progress("members cleared", cleared, members, started)
    print()
    print(f"  {result.get('points', 0):,} points expired for {cleared:,} members in {took:.1f} s "
          f"({took / max(cleared, 1) * 1000:.1f} ms per member; target <= 120 s)")
    return took


def check(db, loaded: dict) -> None:
    figures = stats_views.economy_stats(db, COMMUNITY, f"{YEAR}-01", f"{YEAR}-12")
    expired = sum(m["expired"] for m in figures["months"])
    outstanding = figures["months"][-1]["outstanding"]
    print(f"read model after clearing: expired {expired:,} (lots held {loaded['held']:,}); outstanding at the end "
          f"{outstanding:,}; holders {figures['concentration']['holders']}; "
          f"{'OK' if expired == loaded['held'] and outstanding == 0 else 'MISMATCH'}")


def measure(url: str, args) -> None:
    config = Config.from_env("ledger", env={"MONGO_URL": url, "MONGO_DB": "economy_bench_" + uuid.uuid4().hex[:8]})
    runtime = build_runtime(config)
    db = runtime.db
    print(f"economy bench: {args.members:,} members in {args.grids} grids, {args.lots_per_member} awards each "
          f"over {YEAR}")
    t0 = time.perf_counter()
    loaded = load(db, args)
    print(f"loaded in {time.perf_counter() - t0:.1f} s: {loaded['lots']:,} point lots "
          f"({loaded['lots_holding']:,} still holding points), {loaded['issued']:,} points issued, "
          f"{loaded['held']:,} held, {loaded['read_model_docs']:,} read model documents")
    reads = bench_reads(db)
    clearing = bench_clearing(runtime, db, loaded)
    check(db, loaded)
    print(f"figures: boards+stats {reads * 1000:.0f} ms (<= 1000), clearing {clearing:.1f} s (<= 120)")
    runtime.client.drop_database(config.mongo_db)
    runtime.client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=12_000)
    ap.add_argument("--lots-per-member", type=int, default=84, help="awards (lots) per member over the year")
    ap.add_argument("--grids", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if os.environ.get("MONGO_URL"):
        measure(os.environ["MONGO_URL"], args)
        return
    with tempfile.TemporaryDirectory(prefix="economy-bench-") as base:
        devstack.ensure_mongod()
        mongod = devstack.Mongod(port=devstack.free_port(), data_dir=Path(base), cache_gb=1)
        mongod.start()
        try:
            measure(mongod.url, args)
        finally:
            mongod.stop()


if __name__ == "__main__":
    main()
