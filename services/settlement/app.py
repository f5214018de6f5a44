"""Application factory of the settlement service (gunicorn: `services.settlement.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.runtime import build_runtime
from shared.web import create_service_app
from services.settlement.api import blp
from services.settlement.bootstrap import bootstrap


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    config = config or Config.from_env("settlement")
    runtime = build_runtime(config)
    app = create_service_app(config, title="Settlement service", blueprints=[blp], mongo_client=runtime.client,
                             description="商家结算 Merchant partners, points mall, till redemptions, "
                                         "settlement batches, statements and reconciliation.")
    app.extensions["runtime"] = runtime
    app.extensions["bus"] = bootstrap(runtime)
    return app
