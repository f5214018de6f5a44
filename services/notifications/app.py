"""Application factory of the notification centre (gunicorn: `services.notifications.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.web import service_app
from services.notifications.api import blp
from services.notifications.bootstrap import bootstrap


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    app, runtime = service_app("notifications", config, title="Notification centre", blueprints=[blp],
                               description="What awaits a member's confirmation and what changed (通知中心), "
                                           "from the services' events.")
    app.extensions["bus"] = bootstrap(runtime)
    return app
