"""Prometheus metrics shared by every service."""
from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Histogram("http_request_duration_seconds", "HTTP request latency",
                          ["service", "method", "endpoint", "status"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by consumers", ["service", "type"])
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered_total", "Events sent to a DLQ", ["service", "topic"])
EVENTS_RELAYED = Counter("events_relayed_total", "Outbox rows published", ["service"])
GROUP_COMMIT_COMMANDS = Histogram("group_commit_commands", "Commands sharing one group-commit transaction",
                                  buckets=(1, 2, 4, 8, 16, 32, 64))
# Where a grouped command's time goes: waiting for the committer thread, then the group's transaction (its
# reads, handlers, writes and commit). The committer is one thread per process: when the sum of the
# transactions' seconds nears the wall time, commands queue (bench/ledger_bench.py prints both).
_MS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56)
GROUP_COMMIT_WAIT = Histogram("group_commit_wait_seconds", "Seconds a command waited for its group's transaction",
                              buckets=_MS_BUCKETS)
GROUP_COMMIT_SECONDS = Histogram("group_commit_transaction_seconds",
                                 "Seconds a group-commit transaction took (wall, retries included)",
                                 buckets=_MS_BUCKETS)
# The committer thread's own CPU (time.thread_time) per group: the rest of a group's seconds it waited, for
# MongoDB's answers or for the GIL held by request threads.
GROUP_COMMIT_CPU = Histogram("group_commit_cpu_seconds", "CPU seconds the committer thread used for one group",
                             buckets=_MS_BUCKETS)
