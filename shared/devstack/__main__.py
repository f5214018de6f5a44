"""Command line: `python -m shared.devstack {kafka,mongod,fetch,status}` (kafka/mongod are Procfile entries)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

import requests
from kafka.admin import KafkaAdminClient
from pymongo import MongoClient

from . import paths
from shared.kafka_bus import ensure_topics

from .fetch import ensure_all, ensure_kafka, ensure_mongod, FetchError
from .kafka import KafkaBroker
from .mongod import Mongod
from .process import ChildProcess, PortInUse, ProcessExited

SERVICE_PORTS = {"gateway": 8000, "community": 8001, "requests": 8002, "matching": 8003, "ledger": 8004,
                 "settlement": 8005, "exchange": 8006}
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
    """Foreground Kafka broker for the Procfile."""
    ensure_kafka()
    broker = KafkaBroker(port=_env_int("KAFKA_PORT", 9092), controller_port=_env_int("KAFKA_CONTROLLER_PORT", 9093),
                         heap_mb=_env_int("KAFKA_HEAP_MB", 256))

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
    """Foreground mongod for the Procfile."""
    ensure_mongod()
    mongod = Mongod(port=_env_int("MONGO_PORT", 27017), cache_gb=float(os.environ.get("MONGO_CACHE_GB", 0.25)))

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


def _readyz(port: int) -> str:
    try:
        return f"HTTP {requests.get(f'http://127.0.0.1:{port}/readyz', timeout=2).status_code}"
    except requests.ConnectionError:
        return "down (connection refused)"
    except requests.RequestException as exc:
        return f"down ({type(exc).__name__})"


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
    """Print whether kafka, mongod and each service's /readyz answer."""
    kafka_port, mongo_port = _env_int("KAFKA_PORT", 9092), _env_int("MONGO_PORT", 27017)
    print(f"kafka   127.0.0.1:{kafka_port:<5}  {_kafka_status(f'127.0.0.1:{kafka_port}')}")
    print(f"mongod  127.0.0.1:{mongo_port:<5}  {_mongod_status(mongo_port)}")
    for name, port in SERVICE_PORTS.items():
        print(f"{name:<11} 127.0.0.1:{port:<5}  /readyz {_readyz(port)}")
    workers = _running_workers()
    for pid, service, roles in workers:
        print(f"{service + ' workers':<19} pid {pid:<7} {roles}")
    if not workers:
        print("no worker processes (relay / consumer / scheduler) are running")
    return 0


def cmd_banner(args) -> int:
    """Wait until the named services answer /readyz, print where each listens, then idle until stopped."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    waiting = {name: SERVICE_PORTS[name] for name in args.services}
    started = time.monotonic()
    while waiting and not stop.is_set():
        for name, port in list(waiting.items()):
            if _readyz(port) == "HTTP 200":
                print(f"{name:<11} ready  http://127.0.0.1:{port}  (API docs: /openapi.json)", flush=True)
                del waiting[name]
        stop.wait(1.0)
    if not stop.is_set():
        print(f"all services ready after {time.monotonic() - started:.0f}s; `make status` shows their health, "
              "Ctrl-C stops everything", flush=True)
    stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m shared.devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("kafka", cmd_kafka), ("mongod", cmd_mongod), ("fetch", cmd_fetch), ("status", cmd_status)):
        sub.add_parser(name, help=func.__doc__).set_defaults(func=func)
    banner = sub.add_parser("banner", help=cmd_banner.__doc__)
    banner.add_argument("services", nargs="+", choices=sorted(SERVICE_PORTS))
    banner.set_defaults(func=cmd_banner)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
