"""Ledger audit: verify every hash chain, recompute every balance from the journal, check SPEC §4 invariants.

CLI: `python -m services.ledger.audit [--community ID]` prints the report as JSON; exit status 1 if any
problem was found. The whole audit reads one point-in-time snapshot, so it can run while money moves.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone

from pymongo import ASCENDING

from services.ledger import model


class _Problems(list):
    def __init__(self, cap: int):
        super().__init__()
        self.cap, self.total = cap, 0

    def add(self, text: str) -> None:
        self.total += 1
        if len(self) < self.cap:
            self.append(text)


def expected_entries(t: dict) -> list[tuple[str, str, int]]:
    """(side, account, amount) of every journal entry a posted transfer document must have: a debit and a credit
    per leg (model.Transfer.legs: one leg, or two across communities)."""
    legs = model.Transfer(transfer_id=t["_id"], community_id="", workflow="", unit="", amount=t["amount"],
                          debit_account=t["debit_account"], credit_account=t["credit_account"], payer_id=None,
                          payee_id=None, initiator_id="", cross=t.get("cross")).legs()
    return [e for leg in legs for e in (("debit", leg.debit[0], leg.amount), ("credit", leg.credit[0], leg.amount))]


def run_audit(client, db, community_id: str | None = None, max_problems: int = 100) -> dict:
    """Audit one community (or the whole ledger) as of one snapshot; returns the report.

    Entries stream in chain order and each chain is verified as it ends, so memory holds one chain, the
    account heads and, per transfer, its state and its legs (account, side, amount), not the journal."""
    problems = _Problems(max_problems)
    sdb = client.get_database(db.name)  # snapshot sessions take no explicit read concern
    q = {"community_id": community_id} if community_id else {}
    journal_balance: dict[str, int] = defaultdict(int)
    legs: dict[str, list] = defaultdict(list)
    chains = n_entries = 0

    def check_chain(key: tuple, entries: list) -> None:
        # 1. every chain links and hashes; its head and running balance match the journal
        found, head_hash, last_seq, total = model.verify_chain(entries)
        for p in found:
            problems.add(p)
        journal_balance[key[0]] += total
        head = heads.get(key)
        if head is None:
            problems.add(f"{key[0]}#{key[1]}: entries for an unknown account")
            return
        if head["seq"] != last_seq or head["last_hash"] != head_hash:
            problems.add(f"{key[0]}#{key[1]}: chain head (seq {head['seq']}) disagrees with the journal "
                         f"(seq {last_seq})")
        if head["posted"] != total:
            problems.add(f"{key[0]}#{key[1]}: stored balance {head['posted']} but the journal sums to {total}")

    with client.start_session(snapshot=True) as s:
        accounts = {d["_id"]: d for d in sdb.accounts.find(q, session=s)}
        sharded = [a for a, d in accounts.items() if d.get("shards")]
        heads = {(a, 0): d for a, d in accounts.items() if not d.get("shards")}
        for d in sdb.account_shards.find({"account_id": {"$in": sharded}}, session=s):
            heads[(d["account_id"], d["shard"])] = d
        # A cross-community transfer lives in its payer's community; its second leg is in the payee's.
        tq = {"$or": [q, {"cross.payee_community": community_id}]} if community_id else {}
        transfers = {d["_id"]: d for d in sdb.transfers.find(
            tq, {"state": 1, "amount": 1, "debit_account": 1, "credit_account": 1, "reserved": 1,
                 "debit_shard": 1, "credit_shard": 1, "cross": 1}, session=s)}
        seen: set[tuple] = set()
        key, chain = None, []
        for e in sdb.entries.find(q, session=s).sort([("account_id", ASCENDING), ("shard", ASCENDING),
                                                       ("seq", ASCENDING)]):
            if (e["account_id"], e["shard"]) != key:
                if chain:
                    check_chain(key, chain)
                key, chain = (e["account_id"], e["shard"]), []
                seen.add(key)
            chain.append(e)
            legs[e["transfer_id"]].append((e["side"], e["account_id"], e["amount"]))
        if chain:
            check_chain(key, chain)
        chains, n_entries = len(seen), sum(len(v) for v in legs.values())
        in_lots = {d["_id"]: d["points"] for d in sdb.point_lots.aggregate(
            [{"$match": {**q, "remaining": {"$gt": 0}}}, {"$group": {"_id": "$account_id", "points": {"$sum":
                                                                                              "$remaining"}}}],
            session=s)}
    for key, head in heads.items():
        if key not in seen and (head["seq"] or head["posted"]):
            problems.add(f"{key[0]}#{key[1]}: has a balance or sequence but no entries")

    # 2. each posted transfer has exactly one debit and one credit entry; others have none
    counts: dict[str, int] = defaultdict(int)
    expected_out: dict[tuple, int] = defaultdict(int)
    expected_in: dict[tuple, int] = defaultdict(int)
    for tid, t in transfers.items():
        counts[t["state"]] += 1
        got = legs.pop(tid, [])
        if t["state"] == model.POSTED:
            sides = sorted(got)
            want = sorted((side, account, amount) for side, account, amount in expected_entries(t)
                          if not community_id or account in accounts)
            if sides != want:
                problems.add(f"transfer {tid}: posted but its entries are {sides}")
        elif got:
            problems.add(f"transfer {tid}: {t['state']} but has {len(got)} journal entries")
        if t["state"] == model.PENDING:
            expected_out[(t["debit_account"], t.get("debit_shard") or 0)] += t.get("reserved", 0)
            expected_in[(t["credit_account"], t.get("credit_shard") or 0)] += (
                t["cross"]["credit_amount"] if t.get("cross") else t["amount"])
    for tid in legs:
        problems.add(f"entries for unknown transfer {tid}")

    # 3. reservations match the pending transfers
    for key, head in heads.items():
        if head.get("pending_out", 0) != expected_out.get(key, 0):
            problems.add(f"{key[0]}#{key[1]}: pending_out {head.get('pending_out')} but pending transfers hold "
                         f"{expected_out.get(key, 0)}")
        if head.get("pending_in", 0) != expected_in.get(key, 0):
            problems.add(f"{key[0]}#{key[1]}: pending_in {head.get('pending_in')} but pending transfers bring "
                         f"{expected_in.get(key, 0)}")

    # 4. per unit (and community) posted balances sum to zero; no account below minus its limit
    sums: dict[str, int] = defaultdict(int)
    for account_id, d in accounts.items():
        posted = journal_balance.get(account_id, 0)
        sums[f"{d['community_id']}:{d['unit']}"] += posted
        limit = d.get("credit_limit")
        if limit is not None and posted < -limit:
            problems.add(f"{account_id}: balance {posted} is below minus its credit limit {limit}")
        if limit is not None and posted - d.get("pending_out", 0) + limit < 0:
            problems.add(f"{account_id}: reservations exceed the available balance")
    for key, total in sums.items():
        if total != 0:
            problems.add(f"{key}: posted balances sum to {total}, not 0")

    # 5. a member's point lots hold their points balance (what a points loan took is not in the lots)
    for account_id, d in accounts.items():
        if d["kind"] == "member" and d["unit"] == "PT" and \
                in_lots.get(account_id, 0) != max(journal_balance.get(account_id, 0), 0):
            problems.add(f"{account_id}: point lots hold {in_lots.get(account_id, 0)} but the balance is "
                         f"{journal_balance.get(account_id, 0)}")

    return {"ok": problems.total == 0, "community_id": community_id, "accounts": len(accounts),
            "chains": chains, "entries": n_entries, "transfers": dict(counts), "sums": dict(sums),
            "problems": list(problems) + ([f"... and {problems.total - len(problems)} more"]
                                          if problems.total > len(problems) else []),
            "checked_at": datetime.now(timezone.utc).isoformat()}


def main(argv=None) -> int:
    """Run the audit against the configured ledger database and print it; 1 if anything is wrong."""
    from shared.config import Config
    from shared.runtime import build_runtime

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--community", default=None, help="audit one community (default: all)")
    parser.add_argument("--max-problems", type=int, default=1000)
    args = parser.parse_args(argv)
    runtime = build_runtime(Config.from_env("ledger"), indexes=False)
    try:
        report = run_audit(runtime.client, runtime.db, args.community, args.max_problems)
    finally:
        runtime.close()
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
