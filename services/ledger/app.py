"""Application factory of the ledger (gunicorn: `services.ledger.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.runtime import build_runtime
from shared.web import create_service_app
from services.ledger.api import blp
from services.ledger.bootstrap import bootstrap


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    config = config or Config.from_env("ledger")
    runtime = build_runtime(config)
    app = create_service_app(config, title="Ledger service", blueprints=[blp], mongo_client=runtime.client,
                             description="Double-entry accounts, two-party transfers, hash-chained journal, audit.")
    app.extensions["runtime"] = runtime
    app.extensions["bus"] = bootstrap(runtime)
    return app
