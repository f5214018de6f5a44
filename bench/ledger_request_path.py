"""The ledger's request path without gunicorn or Kafka: what one process spends per transfer from the WSGI call
to the answer (Flask, auth, rate limit, Idempotency-Key, marshmallow, the group commit and its handlers, pymongo).

Builds the ledger's own app (`services.ledger.app.create_app`) against a private mongod (or MONGO_URL), and
`--threads` closed-loop clients (Flask's test client, in this process) each do create (`credit`) + confirm
among N members, so the group committer sees what it sees under gunicorn. Prints CPU (not wall) time of this
process and of mongod per transfer, so the figures hold on a busy machine; `--profile DIR` samples this process
with py-spy (every thread) and writes the top of the profile there. Run it on the code before and after a change.

    python bench/ledger_request_path.py [--transfers 1500] [--threads 8] [--members 200] [--profile DIR]
                                        [--without-limits]

`--without-limits` turns Flask-Limiter off (an ablation: what the rate limits cost per transfer, not a setting
to run with).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import Principal, issue_token  # noqa: E402
from shared.config import Config  # noqa: E402
from shared.devstack.process import cpu_seconds  # noqa: E402


def _commands(client) -> dict:
    """mongod's command counters (every client)."""
    status = client.admin.command("serverStatus")
    return {name: c.get("total", 0) for name, c in status["metrics"]["commands"].items() if isinstance(c, dict)}


def measure(url: str, mongod_pid: int | None, args) -> None:
    from services.ledger.app import create_app
    from services.ledger.lifecycle import member_account
    from services.ledger.repository import LedgerRepository
    db_name = "rp_" + uuid.uuid4().hex[:8]
    config = Config.from_env("ledger", env={"LEDGER_MONEY_RATE_LIMIT": "10000000/minute"}, mongo_url=url,
                             mongo_db=db_name, kafka_bootstrap="127.0.0.1:1", log_level="WARNING")
    app = create_app(config)
    if args.without_limits:
        from shared.ratelimit import limiter
        limiter.enabled = False
    runtime = app.extensions["runtime"]
    community, members = "c_rp", [f"m{i}" for i in range(args.members)]

    def open_members(tx):
        repo = LedgerRepository(tx)
        for m in members:
            repo.save(member_account(tx, repo, community, m, "PT").with_limit(10**9))
    runtime.uow.run(open_members)
    tokens = {m: issue_token(config, Principal(m, community, ("resident",)), 3600) for m in members}

    def transfer(client, i: int) -> None:
        payer, payee = members[(2 * i) % len(members)], members[(2 * i + 1) % len(members)]
        r = client.post("/v1/transfers", json={"workflow": "credit", "unit": "PT", "counterparty_id": payee,
                                               "amount": 1},
                        headers={"Authorization": "Bearer " + tokens[payer], "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.get_data()
        r = client.post(f"/v1/transfers/{r.get_json()['transfer_id']}/confirm",
                        headers={"Authorization": "Bearer " + tokens[payee], "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200 and r.get_json()["state"] == "posted", r.get_data()

    def run(count: int) -> None:
        def worker(k: int) -> None:
            client = app.test_client()
            for i in range(k, count, args.threads):
                transfer(client, i)
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(200)  # warm up: imports, connection pool, token cache
    spy = None
    if args.profile:  # py-spy on this process (every thread; --gil: the thread holding the GIL)
        raw = Path(args.profile) / "request_path.raw"
        raw.parent.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(os.getpid()),
                                "--rate", "200", "--gil", "--nonblocking", "--format", "raw", "--output", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
    commands0 = _commands(runtime.client)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    mongo0 = cpu_seconds(mongod_pid) if mongod_pid else None
    run(args.transfers)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    mongo = cpu_seconds(mongod_pid) - mongo0 if mongod_pid else None
    commands = {k: v - commands0.get(k, 0) for k, v in _commands(runtime.client).items()}
    print(f"ledger request path: {args.transfers} credits (create + confirm through the Flask app, "
          f"{args.threads} client threads{', py-spy on' if spy else ''}"
          f"{', rate limits OFF' if args.without_limits else ''})")
    print(f"  Python process CPU ms per transfer: {cpu / args.transfers * 1000:.3f}   "
          + (f"mongod CPU ms per transfer: {mongo / args.transfers * 1000:.3f}   " if mongo is not None else "")
          + f"wall {wall / args.transfers * 1000:.2f} ms per transfer")
    print("  MongoDB commands per transfer: " + "  ".join(
        f"{k} {v / args.transfers:.2f}" for k, v in sorted(commands.items(), key=lambda x: -x[1]) if v > 0))
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        from bench.ledger_bench import _summarize
        (raw.parent / "request_path.txt").write_text(_summarize(raw))
        print(f"  profile: {raw.parent / 'request_path.txt'}")
    runtime.client.drop_database(db_name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transfers", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--profile", metavar="DIR", help="sample this process with py-spy and write the top to DIR")
    ap.add_argument("--without-limits", action="store_true", help="rate limits off (to measure what they cost)")
    from bench.ledger_write_path import on_mongod
    on_mongod(measure, ap.parse_args(), "ledger-request-path")


if __name__ == "__main__":
    main()
