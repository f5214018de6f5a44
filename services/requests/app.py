"""Application factory of the requests service (gunicorn: `services.requests.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.mongo import utcnow
from shared.runtime import build_runtime
from shared.web import create_service_app
from services.requests.api import blp
from services.requests.bootstrap import bootstrap, policy_from


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client, message bus, policy and clock."""
    config = config or Config.from_env("requests")
    runtime = build_runtime(config)
    app = create_service_app(config, title="Requests service", blueprints=[blp], mongo_client=runtime.client,
                             description="Help requests (求助), offers, community activities (社区活动), "
                                         "check-in/out codes, claims and ratings.")
    policy = policy_from(config)
    app.extensions["runtime"] = runtime
    app.extensions["policy"] = policy
    app.extensions["bus"] = bootstrap(runtime, policy)
    # Every time the service records (check-in, check-out, expiry) comes from this one clock.
    app.extensions["clock"] = utcnow
    return app
