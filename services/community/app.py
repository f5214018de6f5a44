"""Application factory of the community service (gunicorn: `services.community.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.runtime import build_runtime
from shared.web import create_service_app
from services.community.api import blp
from services.community.bootstrap import bootstrap


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    config = config or Config.from_env("community")
    runtime = build_runtime(config)
    app = create_service_app(config, title="Community service", blueprints=[blp], mongo_client=runtime.client,
                             description="Communities, grids (网格), members, roles, login and tokens.")
    app.extensions["runtime"] = runtime
    app.extensions["bus"] = bootstrap(runtime)
    return app
