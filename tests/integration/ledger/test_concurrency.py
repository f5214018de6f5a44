"""Many threads moving money among a few accounts and confirming at once: no overdraft, no double
posting, and the audit passes afterwards."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

MEMBERS = ["m0", "m1", "m2", "m3", "m4"]
START = 100


def test_concurrent_transfers_never_overdraw_or_double_post(kit):
    c = kit.community()
    kit.join(c, *MEMBERS)
    for m in MEMBERS:
        kit.fund(m, c, points=START)  # plain rules: an award of 6 minutes is 1 point
    created, posted_ids, lock = [], [], threading.Lock()

    def worker(seed: int):
        rnd = random.Random(seed)
        for _ in range(12):
            payer, payee = rnd.sample(MEMBERS, 2)
            r = kit.transfer(payer, c, workflow="credit", unit="PT", counterparty_id=payee,
                             amount=rnd.randint(1, 60))
            assert r.status_code in (201, 422), r.json  # 422: not enough available right now
            if r.status_code != 201:
                continue
            tid = r.json["transfer_id"]
            with lock:
                created.append(tid)
            # Two confirms race for the same transfer; both answer the same, one posting.
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda _: kit.act("confirm", tid, payee, c), range(2)))
            assert all(a.status_code == 200 for a in answers), [a.json for a in answers]
            assert {a.json["state"] for a in answers} == {"posted"}
            with lock:
                posted_ids.append(tid)

    # Awards on the (sharded) issuance account run alongside.
    def awards(seed: int):
        rnd = random.Random(seed)
        for _ in range(8):
            m = rnd.choice(MEMBERS)
            r = kit.transfer(m, c, workflow="award", unit="PT", minutes=6)
            assert r.status_code == 201, r.json
            assert kit.act("confirm", r.json["transfer_id"], "olga", c, "organizer").status_code == 200
            with lock:
                created.append(r.json["transfer_id"])
                posted_ids.append(r.json["transfer_id"])

    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(worker, s) for s in range(8)] + [pool.submit(awards, 100 + s) for s in range(2)]
        for f in futures:
            f.result()

    assert len(set(created)) == len(created) and created
    for tid in created:
        assert kit.db.transfers.count_documents({"_id": tid}) == 1
        assert kit.db.entries.count_documents({"transfer_id": tid}) == 2
    balances = [kit.balance(m, c, "PT") for m in MEMBERS]
    assert all(b["posted"] >= 0 and b["pending_out"] == 0 for b in balances)
    assert sum(b["posted"] for b in balances) == START * len(MEMBERS) + 16  # 16 awards of 1 point
    # The point lots followed every credit and debit: each member's lots hold exactly their balance.
    for m, b in zip(MEMBERS, balances):
        held = sum(lot["remaining"] for lot in kit.db.point_lots.find({"account_id": f"m:{c}:{m}:PT"}))
        assert held == b["posted"], m
    report = kit.audit(c)
    assert report["ok"], report["problems"]
    assert report["transfers"]["posted"] == len(created) + len(MEMBERS)
