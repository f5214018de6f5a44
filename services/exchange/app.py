"""Application factory of the exchange service (gunicorn: `services.exchange.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.web import service_app
from services.exchange.api import blp
from services.exchange.bootstrap import bootstrap
from services.exchange.federation_api import blp as federation_blp, cc as cc_blp, transfers as transfers_blp

BLUEPRINTS = (blp, federation_blp, transfers_blp, cc_blp)  # everything the app serves, and its OpenAPI document lists


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    app, runtime = service_app("exchange", config, title="Exchange service", blueprints=BLUEPRINTS,
                               description="通存通兑 Cross-community exchange: trust lines, rates, net positions "
                                           "and clearing between partner communities; Credit Commons federation.")
    app.extensions["bus"] = bootstrap(runtime)
    return app
