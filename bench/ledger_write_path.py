"""The ledger's write path alone: what our Python code and MongoDB spend per transfer, without HTTP or Kafka.

Runs the residents' commands through the ledger's own group unit of work (the one bootstrap builds: prefetch,
a savepoint per command, the repository and the aggregates, one transaction per group) in this process,
against a private mongod (or MONGO_URL): groups of G credits, then a group confirming them, among N members.
Prints, per transfer (create + confirm): CPU of this process (handlers, repository, unit of work, pymongo,
bson) and of mongod, and the MongoDB commands each group sends (counted with pymongo command monitoring).
CPU time, not wall time, so the figures hold on a busy machine; run it on the code before and after a change.

    python bench/ledger_write_path.py [--groups 300] [--group-size 8] [--members 200] [--keys] [--award] [--mixed]

`--mixed`: each group holds G new credits and the confirms of the previous group's credits, as the ledger's
groups do under HTTP load (creates and confirms arrive together); `--by-collection` also prints the commands per
group by collection.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient, monitoring  # noqa: E402

from shared import devstack  # noqa: E402
from shared.devstack.process import cpu_seconds  # noqa: E402
from shared.uow import UnitOfWork  # noqa: E402
from services.ledger import commands, indexes  # noqa: E402
from services.ledger.model import Actor  # noqa: E402


class Commands(monitoring.CommandListener):
    """Counts the MongoDB commands sent (by name)."""

    def __init__(self):
        self.seen: Counter = Counter()
        self.by_collection: Counter = Counter()
        self.documents: Counter = Counter()
        self.micros: Counter = Counter()  # round trip (request sent to answer read), by command and collection
        self.names: dict = {}

    def started(self, event) -> None:
        self.seen[event.command_name] += 1
        target = event.command.get(event.command_name)
        name = event.command_name
        if isinstance(target, str) and event.command_name in ("insert", "update", "delete", "find", "aggregate"):
            name = f"{event.command_name} {target}"
            self.by_collection[name] += 1
            batch = event.command.get({"insert": "documents", "update": "updates"}.get(event.command_name, ""), ())
            self.documents[name] += len(batch)
        self.names[event.request_id] = name

    def succeeded(self, event) -> None:
        name = self.names.pop(event.request_id, event.command_name)
        self.micros[name] += event.duration_micros

    def failed(self, event) -> None:
        pass


def _group_runner(uow):
    """Runs a list of commands as one group commit, with whichever ledger code is on sys.path."""
    try:
        from services.ledger.bootstrap import group_unit_of_work
        return group_unit_of_work(SimpleNamespace(uow=uow)).run
    except ImportError:  # the code before GroupUnitOfWork
        from functools import partial
        from services.ledger import handlers
        return lambda cmds: uow.run_many([partial(handlers.HANDLERS[type(c)], c) for c in cmds],
                                         prepare=lambda tx: handlers.prefetch(tx, cmds))


def _open_members(uow, community: str, members: list[str]) -> None:
    from services.ledger.repository import LedgerRepository
    try:
        from services.ledger.lifecycle import member_account
    except ImportError:
        from services.ledger.handlers import member_account

    def work(tx):
        repo = LedgerRepository(tx)
        for m in members:
            account = member_account(tx, repo, community, m, "PT")
            if hasattr(repo, "set_credit_limit"):
                repo.set_credit_limit(account.account_id, 10**9)
            else:
                repo.save(account.with_limit(10**9))
    uow.run(work)


def measure(url: str, mongod_pid: int | None, args) -> None:
    listener = Commands()
    client = MongoClient(url, tz_aware=True, event_listeners=[listener])
    db_name = "wp_" + uuid.uuid4().hex[:8]
    indexes.ensure_indexes(client[db_name])
    uow = UnitOfWork(client, db_name, producer="ledger")
    community = "c_wp"
    members = [f"m{i}" for i in range(args.members)]
    _open_members(uow, community, members)
    run = _group_runner(uow)

    def credit(i: int):
        key = uuid.uuid4().hex if args.keys else None
        if args.award:  # a member claims an award from the community's (sharded) issuance account
            member = members[i % len(members)]
            body = {"workflow": "award", "unit": "PT", "minutes": 60}
            return commands.CreateTransfer(actor=Actor(member, community, ("resident",)), workflow="award",
                                           unit="PT", minutes=60, idempotency_key=key, body=body)
        payer, payee = members[(2 * i) % len(members)], members[(2 * i + 1) % len(members)]
        if args.mixed:  # anyone pays anyone, as in bench/ledger_bench.py: payers then also spend lots they hold
            payer, payee = random.Random(i).sample(members, 2)
        body = {"workflow": "credit", "unit": "PT", "counterparty_id": payee, "amount": 1}
        return commands.CreateTransfer(actor=Actor(payer, community, ("resident",)), workflow="credit",
                                       unit="PT", counterparty_id=payee, amount=1, idempotency_key=key, body=body)

    def confirmer(body: dict) -> Actor:
        return Actor("organizer", community, ("organizer",)) if args.award else \
            Actor(body["payee_id"], community, ("resident",))

    def one_round(r: int) -> int:
        created = run([credit(r * args.group_size + k) for k in range(args.group_size)])
        confirms = [commands.ConfirmTransfer(confirmer(body), body["transfer_id"],
                                             uuid.uuid4().hex if args.keys else None) for body, _ in created]
        done = run(confirms)
        assert all(body["state"] == "posted" for body, _ in done), done
        return len(done)

    waiting: list = []  # --mixed: the previous group's credits, confirmed in the next group

    def mixed_round(r: int) -> int:
        confirms = [commands.ConfirmTransfer(confirmer(body), body["transfer_id"],
                                             uuid.uuid4().hex if args.keys else None) for body in waiting]
        results = run([*(credit(r * args.group_size + k) for k in range(args.group_size)), *confirms])
        created, done = results[:args.group_size], results[args.group_size:]
        assert all(body["state"] == "posted" for body, _ in done), done
        waiting[:] = [body for body, _ in created]
        return len(done)

    step = mixed_round if args.mixed else one_round
    for r in range(20):  # warm up (imports, connection pool, caches)
        step(r)
    listener.seen.clear()
    listener.by_collection.clear()
    listener.documents.clear()
    listener.micros.clear()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    mongo0 = cpu_seconds(mongod_pid) if mongod_pid else None
    transfers = sum(step(r) for r in range(20, 20 + args.groups))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    mongo = cpu_seconds(mongod_pid) - mongo0 if mongod_pid else None
    groups = args.groups if args.mixed else 2 * args.groups
    per_group = {k: v / groups for k, v in sorted(listener.seen.items())}
    shape = "each: new credits + the confirms of the previous group's" if args.mixed else "create group + confirm group"
    print(f"ledger write path: {transfers} {'awards' if args.award else 'credits'} in groups of {args.group_size} "
          f"({shape}), Idempotency-Key {'on' if args.keys else 'off'}")
    print(f"  Python process CPU ms per transfer: {cpu / transfers * 1000:.3f}   "
          + (f"mongod CPU ms per transfer: {mongo / transfers * 1000:.3f}   " if mongo is not None else "")
          + f"wall {wall / transfers * 1000:.2f} ms per transfer")
    print(f"  MongoDB commands per group: {sum(per_group.values()):.2f}  "
          + "  ".join(f"{k} {v:.2f}" for k, v in per_group.items()))
    if args.by_collection:
        print("  commands by collection: " + "  ".join(f"{k} {v / groups:.2f}"
                                                    for k, v in sorted(listener.by_collection.items())))
        print("  round trip per command (ms, mean; the answer includes mongod's work): " + "  ".join(
            f"{k} {v / 1000 / (listener.by_collection.get(k) or listener.seen.get(k) or 1):.2f}"
            for k, v in sorted(listener.micros.items(), key=lambda x: -x[1])))
        print("  documents written per transfer: " + "  ".join(f"{k} {v / transfers:.2f}"
                                                             for k, v in sorted(listener.documents.items()) if v))
    client.drop_database(db_name)
    client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=300, help="rounds (each: a create group and a confirm group)")
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--keys", action="store_true", help="send an Idempotency-Key with every command")
    ap.add_argument("--award", action="store_true",
                    help="awards from the community's sharded issuance account instead of member-to-member credits")
    ap.add_argument("--mixed", action="store_true",
                    help="groups of new credits together with the confirms of the previous group's (as under load)")
    ap.add_argument("--by-collection", action="store_true", help="also print the commands per group by collection")
    on_mongod(measure, ap.parse_args())


def on_mongod(measure, args, name: str = "ledger-write-path") -> None:
    """measure(url, mongod pid or None, args) on MONGO_URL if set, else on a private mongod started and removed here."""
    if os.environ.get("MONGO_URL"):
        measure(os.environ["MONGO_URL"], None, args)
        return
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as base:
        devstack.ensure_mongod()
        mongod = devstack.Mongod(port=devstack.free_port(), data_dir=Path(base), cache_gb=0.25)
        mongod.start()
        try:
            measure(mongod.url, mongod.process.pid, args)
        finally:
            mongod.stop()


if __name__ == "__main__":
    main()
