"""Prometheus metrics shared by every service."""
from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Histogram("http_request_duration_seconds", "HTTP request latency",
                          ["service", "method", "endpoint", "status"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by consumers", ["service", "type"])
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered_total", "Events sent to a DLQ", ["service", "topic"])
EVENTS_RELAYED = Counter("events_relayed_total", "Outbox rows published", ["service"])
GROUP_COMMIT_COMMANDS = Histogram("group_commit_commands", "Commands sharing one group-commit transaction",
                                  buckets=(1, 2, 4, 8, 16, 32, 64))
