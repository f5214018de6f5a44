"""Worker processes: `python -m shared.worker SERVICE relay|consumer|scheduler`."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
from datetime import timedelta

from pymongo.errors import PyMongoError
from tenacity import Retrying, retry_if_exception_type, wait_exponential

from shared.config import Config
from shared.consumer import ConsumerRunner
from shared.kafka_bus import make_producer
from shared.logs import configure_logging
from shared.mongo import utcnow
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
# Liveness of worker processes, in the service's own database: one document per process, refreshed every
# HEARTBEAT_SECONDS, deleted on a clean stop. `make run`'s banner and `make status` read it.
WORKER_STATUS = "worker_status"
HEARTBEAT_SECONDS = 2.0
STALE_AFTER_SECONDS = 10.0


def every(interval: float, job, stop: threading.Event, name: str) -> None:
    """Run job() now and then every `interval` seconds until `stop` is set (a scheduler role's loop)."""
    while not stop.is_set():
        try:
            job()
        except PyMongoError as exc:  # mongod restarting: the next round retries
            log.warning(f"{name}: MongoDB unavailable, retrying", extra={"error": str(exc)})
        stop.wait(interval)


def worker_roles(service: str) -> tuple[str, ...]:
    """The background roles a service has: a relay if it has state (every service but the gateway),
    a consumer / scheduler where `services.<service>.consumers` / `.scheduler` exist."""
    if service == "gateway":
        return ()
    roles = ["relay"]
    for role, module in (("consumer", "consumers"), ("scheduler", "scheduler")):
        if importlib.util.find_spec(f"services.{service}.{module}") is not None:
            roles.append(role)
    return tuple(roles)


def flowing(doc: dict | None, now=None) -> bool:
    """Whether a worker status document says events flow through that process: it beat recently, its
    relay (if any) holds the outbox lease and its consumer (if any) has partitions assigned."""
    if not doc:
        return False
    now = now or utcnow()
    beat = doc.get("beat_at")
    if beat is None or beat.replace(tzinfo=now.tzinfo) < now - timedelta(seconds=STALE_AFTER_SECONDS):
        return False
    roles = doc.get("roles", [])
    return ("relay" not in roles or bool(doc.get("relay_lease"))) and \
        ("consumer" not in roles or doc.get("consumer_partitions", 0) > 0)


class Worker:
    """One process running some background roles of a service, reporting its liveness."""

    def __init__(self, service: str, roles: list[str], runtime, producer, stop: threading.Event):
        self.service = service
        self.roles = list(roles)
        self.runtime = runtime
        self.producer = producer
        self.stop = stop
        self.relay = (Relay(runtime.db, producer, linger=runtime.config.relay_linger_ms / 1000)
                      if "relay" in roles else None)
        self.consumer = build_consumer(service, runtime, producer) if "consumer" in roles else None
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.failed: list[str] = []

    def run_role(self, role: str) -> None:
        """Run one background role until `stop` is set."""
        if role == "relay":
            self.relay.run(self.stop)
        elif role == "consumer":
            threading.Thread(target=lambda: (self.stop.wait(), self.consumer.stop()), daemon=True).start()
            self.consumer.run()
        else:
            importlib.import_module(f"services.{self.service}.scheduler").run(self.runtime, self.producer, self.stop)

    def status(self) -> dict:
        """This process's liveness document."""
        doc = {"service": self.service, "roles": self.roles, "pid": os.getpid(), "beat_at": utcnow()}
        if self.relay is not None:
            doc["relay_lease"] = self.relay.holding
        if self.consumer is not None:
            doc["consumer_partitions"] = self.consumer.assigned
        return doc

    def heartbeat(self) -> None:
        """Write the liveness document every HEARTBEAT_SECONDS until stopped, then delete it."""
        status = self.runtime.db[WORKER_STATUS]
        while not self.stop.is_set():
            try:
                status.replace_one({"_id": self.id}, self.status(), upsert=True)
            except PyMongoError as exc:
                log.debug("worker heartbeat failed", extra={"error": str(exc)})
            self.stop.wait(HEARTBEAT_SECONDS)
        try:
            status.delete_one({"_id": self.id})
        except PyMongoError:
            pass  # expires by staleness

    def guarded(self, role: str) -> None:
        """Run a role; one role dying stops the whole process so that its supervisor restarts it."""
        try:
            self.run_role(role)
        except Exception:  # noqa: BLE001
            log.exception("worker role failed", extra={"role": role})
            self.failed.append(role)
            self.stop.set()

    def run(self) -> int:
        """Run every role in its own thread until `stop`; non-zero if a role failed."""
        threads = [threading.Thread(target=self.guarded, args=(role,), name=role) for role in self.roles]
        threads.append(threading.Thread(target=self.heartbeat, name="heartbeat"))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return 1 if self.failed else 0


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
    log.info("worker started", extra={"roles": args.roles})
    worker = Worker(args.service, args.roles, runtime, producer, stop)
    try:
        code = worker.run()
    finally:
        producer.close(timeout=1)  # at shutdown the broker may already be gone
        runtime.close()
        log.info("worker stopped", extra={"roles": args.roles, "failed": worker.failed})
    return code


if __name__ == "__main__":
    sys.exit(main())
