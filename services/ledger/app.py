"""Application factory of the ledger (gunicorn: `services.ledger.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.web import service_app
from services.ledger.api import blp
from services.ledger.boards_api import blp as boards_blp
from services.ledger.appeals_api import blp as appeals_blp
from services.ledger.bootstrap import bootstrap
from services.ledger.loans_api import blp as loans_blp


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    app, runtime = service_app("ledger", config, title="Ledger service",
                               blueprints=[blp, boards_blp, appeals_blp, loans_blp],
                               description="Double-entry accounts, two-party transfers, hash-chained journal, "
                                           "audit.")
    app.extensions["bus"] = bootstrap(runtime)
    return app
