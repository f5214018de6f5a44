"""Worker processes: `python -m shared.worker SERVICE relay|consumer|scheduler`."""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading

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
            runtime = build_runtime(config)
            return runtime, make_producer(config)


def build_consumer(service: str, runtime, producer) -> ConsumerRunner:
    """The service's consumer, from `services.<service>.consumers` (GROUP, TOPICS, subscriptions(runtime))."""
    module = importlib.import_module(f"services.{service}.consumers")
    return ConsumerRunner(runtime.config, runtime.uow, module.GROUP, list(module.TOPICS),
                          module.subscriptions(runtime), producer)


def main(argv=None) -> None:
    """Run one worker role of one service until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    parser.add_argument("role", choices=["relay", "consumer", "scheduler"])
    args = parser.parse_args(argv)
    config = Config.from_env(args.service)
    configure_logging(f"{args.service}-{args.role}", config.log_level)
    stop = _stop_on_signals()
    runtime, producer = _runtime_when_ready(config)
    log.info("worker started", extra={"role": args.role})
    try:
        if args.role == "relay":
            Relay(runtime.db, producer).run(stop)
        elif args.role == "consumer":
            runner = build_consumer(args.service, runtime, producer)
            threading.Thread(target=lambda: (stop.wait(), runner.stop()), daemon=True).start()
            runner.run()
        else:
            importlib.import_module(f"services.{args.service}.scheduler").run(runtime, producer, stop)
    finally:
        producer.close(timeout=1)  # at shutdown the broker may already be gone
        runtime.close()
        log.info("worker stopped", extra={"role": args.role})


if __name__ == "__main__":
    main()
