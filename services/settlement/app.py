"""Application factory of the settlement service (gunicorn: `services.settlement.app:create_app()`)."""
from __future__ import annotations

from flask import Blueprint

from shared.auth import LIVE_PRINCIPAL, live_from_members
from shared.config import Config
from shared.web import service_app
from services.settlement.api import blp
from services.settlement.bootstrap import bootstrap


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    app, runtime = service_app("settlement", config, title="Settlement service", blueprints=[blp],
                               description="商家结算 Merchant partners, points mall, till redemptions, "
                                           "settlement batches, statements and reconciliation.")
    app.extensions["bus"] = bootstrap(runtime)
    # The statement page's stylesheet and Print script (static files: the gateway's CSP allows no inline script).
    app.register_blueprint(Blueprint("statement_assets", __name__, static_folder="static",
                                     static_url_path="/v1/assets"))
    # Members as the community service last announced them: staff taken off a shop, or a member deactivated,
    # lose their powers here once the news arrives, not hours later when their token expires.
    app.extensions[LIVE_PRINCIPAL] = live_from_members(runtime.db.members, trust_unknown=True)
    return app
