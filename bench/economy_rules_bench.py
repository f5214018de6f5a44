"""The pure points-economy computations (shared.economy) on their own, without MongoDB or Kafka: how fast an
award is computed and explained, and how long annual clearing's arithmetic takes over a large community's lots.
It measures the CPU cost the ledger will add per award and per lot; the end-to-end economy bench (12,000
members, ≥ 1,000,000 lots in MongoDB, clearing ≤ 120 s, boards ≤ 1 s) comes with the ledger's lots.

    python bench/economy_rules_bench.py [--awards 100000] [--members 12000] [--lots-per-member 90]

Prints awards per second (compute + to_dict + Chinese explanation), and the time to run `Wallet.expire` on
every member's lots for an annual clearing, with progress."""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.economy import Activity, History, Lot, Wallet, compute, explain, from_document  # noqa: E402
from shared.economy.rules import default_document  # noqa: E402


def bench_awards(n: int, rng: random.Random) -> None:
    doc = default_document()
    doc["caps"] = {"per_activity": 150, "per_day": 200, "per_year": 1000}
    rules = from_document(doc, 1)
    kinds = [("environment_cleanup", ("bad_weather",)), ("mediation", ("complex_case",)), ("elder_care", ()),
             ("safety_patrol", ("major_hazard",)), ("knitting_circle", ())]
    cases = []
    for _ in range(n):
        kind, bonuses = rng.choice(kinds)
        cases.append((History(participations=rng.randrange(0, 40), streak=rng.randrange(0, 30),
                              earned_today=rng.randrange(0, 250), earned_this_year=rng.randrange(0, 1100)),
                      Activity(kind, minutes=rng.randrange(15, 240), service_class=rng.choice(
                          ("ordinary", "professional", "high_risk")), bonuses=bonuses,
                          rating=rng.choice((None, 3, 4, 5)))))
    start = time.perf_counter()
    total = 0
    for history, activity in cases:
        award = compute(rules, history, activity)
        explain(award.to_dict()["items"])
        total += award.amount
    took = time.perf_counter() - start
    print(f"awards: {n:,} computed and explained in {took:.2f} s = {n / took:,.0f}/s "
          f"({took / n * 1e6:.1f} µs each); {total:,} points in all")


def bench_clearing(members: int, lots_per_member: int, rng: random.Random) -> None:
    doc = default_document()
    doc["expiry"] = {**doc["expiry"], "mode": "annual", "clearing_date": "01-01"}
    rules = from_document(doc, 1)
    wallets = []
    year = date(2026, 1, 1)
    build = time.perf_counter()
    for m in range(members):
        wallet = Wallet()
        lots = []
        for i in range(lots_per_member):
            earned = year + timedelta(days=rng.randrange(0, 365))
            amount = rng.randrange(5, 60)
            lots.append(Lot(f"l{m}_{i}", earned, date(2027, 1, 1), amount, rng.randrange(0, amount + 1), 1))
        wallets.append(Wallet(tuple(lots)))
    print(f"clearing: {members:,} members × {lots_per_member} lots = {members * lots_per_member:,} lots built in "
          f"{time.perf_counter() - build:.1f} s")
    start = time.perf_counter()
    expired_points = expired_lots = 0
    step = max(1, members // 10)
    for m, wallet in enumerate(wallets, 1):
        _, items = wallet.expire(date(2027, 1, 1))
        expired_lots += len(items)
        expired_points -= sum(i["points"] for i in items)
        if m % step == 0:
            print(f"  {m:,}/{members:,} members cleared ({time.perf_counter() - start:.1f} s)", flush=True)
    took = time.perf_counter() - start
    print(f"clearing: {expired_lots:,} lots with {expired_points:,} points expired in {took:.2f} s "
          f"(pure arithmetic; {rules['expiry']['mode']} on {rules['expiry']['clearing_date']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=12_000)
    parser.add_argument("--lots-per-member", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bench_awards(args.awards, rng)
    bench_clearing(args.members, args.lots_per_member, rng)


if __name__ == "__main__":
    main()
