"""JSON logs that carry the current correlation id; personal data never goes in them."""
from __future__ import annotations

import contextvars
import logging
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


def new_id() -> str:
    """A fresh random id (events, correlation ids)."""
    return uuid.uuid4().hex


def get_correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> contextvars.Token:
    """Make `value` the correlation id of the work in progress."""
    return _correlation_id.set(value)


def reset_correlation_id(token: contextvars.Token) -> None:
    """Restore the correlation id that was current before `set_correlation_id`."""
    _correlation_id.reset(token)


class _CorrelationFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = get_correlation_id()
        record.service = self.service
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON log lines to stderr, each with service and correlation id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    ))
    handler.addFilter(_CorrelationFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs every reconnect attempt at ERROR; our own code reports lasting failures.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    for noisy in ("kafka.net", "kafka.cluster", "kafka.conn", "kafka.client"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
