"""`python -m services.matching.rebuild`: drop the read model and replay the event log into it.

Stop the matching consumer first (the command refuses while its consumer group has members, unless
--force). The replay runs under a fresh consumer group from the earliest offsets, applies events in
batched transactions (each event still recorded once in processed_events), sends no MatchSuggested
(residents were told about those requests already), and finally hands its offsets to the regular
consumer group so the consumer resumes exactly where the replay stopped.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
import uuid

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata

from shared.config import Config
from shared.consumer import PROCESSED, ConsumerRunner
from shared.kafka_bus import make_producer
from shared.logs import configure_logging
from shared.mongo import utcnow
from shared.runtime import build_runtime
from services.matching import consumers, indexes, repository

log = logging.getLogger(__name__)


def consumer_group_members(config: Config, group: str) -> int:
    """How many members the (prefixed) consumer group has right now."""
    admin = KafkaAdminClient(bootstrap_servers=config.kafka_bootstrap, client_id="matching-rebuild")
    try:
        described = admin.describe_groups([config.topic(group)])
        return sum(len(g.get("members") or ()) for g in described.values())
    finally:
        admin.close()


def _end_offsets(config: Config) -> dict[TopicPartition, int]:
    probe = KafkaConsumer(bootstrap_servers=config.kafka_bootstrap, enable_auto_commit=False,
                          isolation_level="read_committed")
    try:
        tps = [TopicPartition(config.topic(t), p) for t in consumers.TOPICS
               for p in sorted(probe.partitions_for_topic(config.topic(t)) or ())]
        return probe.end_offsets(tps)
    finally:
        probe.close()


def _hand_over(config: Config, positions: dict[TopicPartition, int], replay_group: str) -> None:
    # The regular consumer group resumes where the replay stopped: nothing replayed twice, nothing skipped.
    admin = KafkaAdminClient(bootstrap_servers=config.kafka_bootstrap, client_id="matching-rebuild")
    try:
        errors = admin.alter_group_offsets(config.topic(consumers.GROUP),
                                           {tp: OffsetAndMetadata(off, "", -1) for tp, off in positions.items()})
        failed = {str(tp): err.__name__ for tp, err in errors.items() if err is not NoError}
        if failed:
            raise RuntimeError(f"could not hand the replay's offsets to the consumer group: {failed}")
        admin.delete_groups([config.topic(replay_group)])  # the throw-away replay group is not needed again
    finally:
        admin.close()


def rebuild(config: Config, *, force: bool = False, timeout: float = 3600.0, progress=None) -> dict:
    """Drop the read model, replay every event up to the log's current end, and report the figures."""
    if not force and consumer_group_members(config, consumers.GROUP):
        raise SystemExit("The matching consumer is running: stop it first (or pass --force).")
    runtime = build_runtime(config)
    producer = make_producer(config)
    started = time.monotonic()
    try:
        repository.drop_read_model(runtime.db)
        indexes.ensure_indexes(runtime.db)
        targets = _end_offsets(config)
        group = f"{consumers.GROUP}-rebuild-{uuid.uuid4().hex[:8]}"
        runner = ConsumerRunner(config, runtime.uow, group, list(consumers.TOPICS),
                                     consumers.subscriptions(runtime, suggest=False), producer,
                                     max_poll_records=500)
        seen = 0
        try:
            consumer = runner._ensure_consumer()
            while True:
                seen += runner.poll_once(timeout_ms=200)
                assigned = consumer.assignment()
                if set(targets) <= assigned and all(consumer.position(tp) >= end for tp, end in targets.items()):
                    break
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"rebuild did not reach the end of the log in {timeout}s")
                if progress:
                    progress(seen)
            positions = {tp: consumer.position(tp) for tp in assigned}
        finally:
            runner.close()
        _hand_over(config, positions, group)
        seconds = time.monotonic() - started
        db = runtime.db
        return {"events": seen, "seconds": round(seconds, 2),
                "members": db[repository.MEMBERS].count_documents({"status": "active"}),
                "open_requests": db[repository.REQUESTS].count_documents(
                    {"state": "open", "kind": "request", "window_end": {"$gt": utcnow()}}),
                "processed_events": db[PROCESSED].estimated_document_count(), "group": group}
    finally:
        producer.close(timeout=5)
        runtime.close()


def main(argv=None) -> None:
    """Rebuild the read model of the configured deployment (environment variables as for the service)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even while a matching consumer runs")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    config = Config.from_env("matching")
    configure_logging("matching-rebuild", config.log_level)
    last = [time.monotonic()]

    def progress(seen: int) -> None:
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            print(f"… {seen} events replayed", flush=True)

    report = rebuild(config, force=args.force, timeout=args.timeout, progress=progress)
    print(f"Read model rebuilt from {report['events']} events in {report['seconds']} s "
          f"({report['members']} active members, {report['open_requests']} open requests).")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
