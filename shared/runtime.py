"""What a service process holds: its config, MongoDB client and database, and unit of work."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from pymongo import MongoClient

from shared import idempotency, outbox
from shared.config import Config
from shared.mongo import connect, database
from shared.uow import UnitOfWork


@dataclass
class Runtime:
    """Per-process clients; built inside the app factory or worker, never at import or before a fork."""

    config: Config
    client: MongoClient
    db: object
    uow: UnitOfWork

    def close(self) -> None:
        """Close the MongoDB client."""
        self.client.close()


def build_runtime(config: Config, indexes: bool = True, **client_opts) -> Runtime:
    """Connect to MongoDB and (by default) make sure the service's indexes exist."""
    client = connect(config, **client_opts)
    db = database(client, config)
    runtime = Runtime(config, client, db,
                      UnitOfWork(client, config.mongo_db, producer=config.service, topic_for=config.topic))
    if indexes:
        outbox.ensure_indexes(db)
        idempotency.ensure_indexes(db)
        module = _service_module(config.service, "indexes")
        if module is not None:
            module.ensure_indexes(db)
    return runtime


def _service_module(service: str, name: str):
    try:
        return importlib.import_module(f"services.{service}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"services.{service}.{name}", f"services.{service}"):
            return None
        raise
