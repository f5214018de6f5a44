"""Application factory of the requests service (gunicorn: `services.requests.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.mongo import utcnow
from shared.web import service_app
from services.requests.api import blp
from services.requests.bootstrap import bootstrap, policy_from


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client, message bus, policy and clock."""
    app, runtime = service_app("requests", config, title="Requests service", blueprints=[blp],
                               description="Help requests (求助), offers, community activities (社区活动), "
                                           "check-in/out codes, claims and ratings.")
    policy = policy_from(runtime.config)
    app.extensions["policy"] = policy
    app.extensions["bus"] = bootstrap(runtime, policy)
    # Every time the service records (check-in, check-out, expiry) comes from this one clock.
    app.extensions["clock"] = utcnow
    return app
