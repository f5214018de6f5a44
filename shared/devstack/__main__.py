"""Command line: `python -m shared.devstack {run,status,fetch,kafka,mongod}`.

`run` is `make run` (the stack under supervisord, see supervise.py); `kafka` and `mongod` are the data
programs it supervises."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from kafka.admin import KafkaAdminClient
from pymongo import MongoClient

from . import paths
from shared.kafka_bus import ensure_topics

from .fetch import ensure_all, ensure_kafka, ensure_mongod, FetchError
from .kafka import KafkaBroker
from .mongod import Mongod
from .process import ChildProcess, PortInUse, ProcessExited
from .readiness import readyz, workers_state
from .supervise import Layout, program_pids, run_foreground


def _data_dir(default: Path) -> Path:
    """<DEVSTACK_DATA>/kafka|mongo for a private stack (tests, chaos), else the default under .local/data."""
    base = os.environ.get("DEVSTACK_DATA")
    return Path(base) / default.name if base else default


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _run_foreground(process: ChildProcess, start, on_ready) -> int:
    """Start the child, run `on_ready` once it is ready, then block until it exits; stop it on SIGTERM/SIGINT."""
    stopping = False

    def forward(signum, _frame):
        nonlocal stopping
        stopping = True
        if process.running:
            process.popen.send_signal(signal.SIGTERM)  # the child's own clean shutdown path

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        start()
        on_ready()
        code = process.wait()
    except (ProcessExited, PortInUse) as exc:
        if stopping:
            return 0
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        process.stop()  # no-op if it already exited; never leave an orphan behind
    return 0 if stopping else code


def cmd_kafka(_args) -> int:
    """Foreground Kafka broker (a program supervisord runs, see supervise.py)."""
    ensure_kafka()
    broker = KafkaBroker(port=_env_int("KAFKA_PORT", 9092), controller_port=_env_int("KAFKA_CONTROLLER_PORT", 9093),
                         heap_mb=_env_int("KAFKA_HEAP_MB", 256), data_dir=_data_dir(paths.KAFKA_DATA))
    broker.process.die_with_parent = True

    def start():
        print(f"kafka starting (log: {broker.process.log_path})", flush=True)
        broker.start()
        broker.wait_ready(timeout=120)

    def on_ready():
        print(f"kafka ready on {broker.bootstrap}", flush=True)
        created = ensure_topics(broker.bootstrap)
        print(f"topics created: {', '.join(created)}" if created else "topics already present", flush=True)

    return _run_foreground(broker.process, start, on_ready)


def cmd_mongod(_args) -> int:
    """Foreground mongod (a program supervisord runs, see supervise.py)."""
    ensure_mongod()
    mongod = Mongod(port=_env_int("MONGO_PORT", 27017), cache_gb=float(os.environ.get("MONGO_CACHE_GB", 0.25)),
                    data_dir=_data_dir(paths.MONGO_DATA))
    mongod.process.die_with_parent = True

    def start():
        print(f"mongod starting (log: {mongod.process.log_path})", flush=True)
        mongod.start(timeout=120)

    def on_ready():
        print(f"mongod ready on {mongod.url}", flush=True)

    return _run_foreground(mongod.process, start, on_ready)


def cmd_fetch(_args) -> int:
    """Download the Kafka jars and mongod if missing."""
    ensure_all()
    print(f"kafka jars: {paths.KAFKA_LIBS}\nmongod: {paths.MONGOD_BIN}")
    return 0


def _kafka_status(bootstrap: str) -> str:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="devstack-status",
                                 bootstrap_timeout_ms=2000, request_timeout_ms=2000)
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; say why
        return f"down ({type(exc).__name__})"
    try:
        return f"up ({len(admin.list_topics())} topics)"
    except Exception as exc:  # noqa: BLE001
        return f"down ({type(exc).__name__})"
    finally:
        admin.close()


def _mongod_status(port: int) -> str:
    client = MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1500)
    try:
        hello = client.admin.command("hello")
        return "up (primary)" if hello.get("isWritablePrimary") else "up (not primary)"
    except Exception as exc:  # noqa: BLE001
        return f"down ({type(exc).__name__})"
    finally:
        client.close()


def _running_workers() -> list[tuple[int, str, str]]:
    """(pid, service, roles) of every `shared.worker` process on this machine (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue  # exited while we looked
        if "shared.worker" in argv and argv[0] not in ("sh", "/bin/sh"):
            rest = argv[argv.index("shared.worker") + 1:]
            found.append((int(entry), rest[0] if rest else "?", " ".join(a for a in rest[1:] if a)))
    return sorted(found, key=lambda w: w[1])


def cmd_status(_args) -> int:
    """Print what supervisord runs, whether kafka/mongod answer, each service's /readyz and its workers."""
    layout = Layout(kafka_port=_env_int("KAFKA_PORT", 9092), mongo_port=_env_int("MONGO_PORT", 27017))
    if layout.socket_path.exists():
        pids = program_pids(layout)
        if pids:
            print("supervisord: " + ", ".join(f"{name} {'pid ' + str(pid) if pid else 'NOT RUNNING'}"
                                                for name, pid in pids.items()))
    print(f"kafka   127.0.0.1:{layout.kafka_port:<5}  {_kafka_status(layout.kafka_bootstrap)}")
    print(f"mongod  127.0.0.1:{layout.mongo_port:<5}  {_mongod_status(layout.mongo_port)}")
    client = MongoClient(layout.mongo_url, serverSelectionTimeoutMS=1500, tz_aware=True)
    try:
        for name in layout.services:
            print(f"{name:<11} 127.0.0.1:{layout.service_ports[name]:<5}  /readyz {readyz(layout.url(name))}; "
                  f"workers {workers_state(client, name, layout.app_env())}")
    finally:
        client.close()
    workers = _running_workers()
    for pid, service, roles in workers:
        print(f"{service + ' workers':<19} pid {pid:<7} {roles}")
    if not workers:
        print("no worker processes (relay / consumer / scheduler) are running")
    return 0


def cmd_run(args) -> int:
    """Run the whole stack under supervisord in the foreground (`make run`); Ctrl-C stops it all."""
    ensure_all()
    layout = Layout()
    if args.home:  # data and run directories elsewhere than .local/ (same ports)
        layout = layout.with_(data_dir=Path(args.home) / "data", run_dir=Path(args.home) / "run")
    return run_foreground(layout)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m shared.devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help=cmd_run.__doc__)
    run.add_argument("--home", help="keep data/ and run/ under this directory instead of .local/")
    run.set_defaults(func=cmd_run)
    for name, func in (("kafka", cmd_kafka), ("mongod", cmd_mongod), ("fetch", cmd_fetch),
                       ("status", cmd_status)):
        sub.add_parser(name, help=func.__doc__).set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
