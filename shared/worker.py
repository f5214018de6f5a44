"""Worker processes: `python -m shared.worker SERVICE relay|consumer|scheduler`."""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading

from pymongo.errors import PyMongoError
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from shared.config import Config
from shared.consumer import ConsumerRunner
from shared.kafka_bus import make_producer
from shared.logs import configure_logging
from shared.outbox import Relay
from shared.runtime import build_runtime

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _runtime_when_ready(config):
    # At `make run` the services start alongside mongod and Kafka: wait for them instead of dying.
    for attempt in Retrying(retry=retry_if_exception_type(Exception), wait=wait_exponential(0.5, max=5)):
        with attempt:
            # Workers retry on their own; a short server selection lets them notice SIGTERM within the
            # supervisor's grace period even while mongod is already gone.
            runtime = build_runtime(config, serverSelectionTimeoutMS=2000)
            return runtime, make_producer(config)


def build_consumer(service: str, runtime, producer) -> ConsumerRunner:
    """The service's consumer, from `services.<service>.consumers` (GROUP, TOPICS, subscriptions(runtime))."""
    module = importlib.import_module(f"services.{service}.consumers")
    return ConsumerRunner(runtime.config, runtime.uow, module.GROUP, list(module.TOPICS),
                          module.subscriptions(runtime), producer)


ROLES = ("relay", "consumer", "scheduler")


def every(interval: float, job, stop: threading.Event, name: str) -> None:
    """Run job() now and then every `interval` seconds until `stop` is set (a scheduler role's loop)."""
    while not stop.is_set():
        try:
            job()
        except PyMongoError as exc:  # mongod restarting: the next round retries
            log.warning(f"{name}: MongoDB unavailable, retrying", extra={"error": str(exc)})
        stop.wait(interval)


def run_role(service: str, role: str, runtime, producer, stop: threading.Event) -> None:
    """Run one background role until `stop` is set."""
    if role == "relay":
        Relay(runtime.db, producer).run(stop)
    elif role == "consumer":
        runner = build_consumer(service, runtime, producer)
        threading.Thread(target=lambda: (stop.wait(), runner.stop()), daemon=True).start()
        runner.run()
    else:
        importlib.import_module(f"services.{service}.scheduler").run(runtime, producer, stop)


def main(argv=None) -> int:
    """Run one or more background roles of one service until SIGTERM; non-zero if a role failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    # Several roles in one process share one MongoDB client and producer: a small community server runs
    # a process per service instead of one per role (containers still run one role each, to scale apart).
    parser.add_argument("roles", nargs="+", choices=ROLES)
    args = parser.parse_args(argv)
    config = Config.from_env(args.service)
    configure_logging(f"{args.service}-{'+'.join(args.roles)}", config.log_level)
    stop = _stop_on_signals()
    runtime, producer = _runtime_when_ready(config)
    failed: list[str] = []

    def guarded(role: str) -> None:
        try:
            run_role(args.service, role, runtime, producer, stop)
        except Exception:  # noqa: BLE001 - one role dying must stop the process so its supervisor restarts it
            log.exception("worker role failed", extra={"role": role})
            failed.append(role)
            stop.set()

    log.info("worker started", extra={"roles": args.roles})
    threads = [threading.Thread(target=guarded, args=(role,), name=role) for role in args.roles]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        producer.close(timeout=1)  # at shutdown the broker may already be gone
        runtime.close()
        log.info("worker stopped", extra={"roles": args.roles, "failed": failed})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
