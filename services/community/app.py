"""Application factory of the community service (gunicorn: `services.community.app:create_app()`)."""
from __future__ import annotations

from shared.auth import LIVE_PRINCIPAL, live_from_members
from shared.config import Config
from shared.web import service_app
from services.community.api import blp
from services.community.bootstrap import bootstrap
from services.community.partners_api import blp as partners_blp
from services.community.reports_api import blp as grid_work_blp
from services.community.rules_api import blp as rules_blp
from services.community.simulations_api import blp as simulations_blp

BLUEPRINTS = (blp, partners_blp, rules_blp, simulations_blp, grid_work_blp)  # everything the app serves, and its OpenAPI document lists


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and message bus."""
    app, runtime = service_app("community", config, title="Community service", blueprints=BLUEPRINTS,
                               description="Communities, grids (网格), members, roles, login and tokens.")
    app.extensions["bus"] = bootstrap(runtime)
    # Community holds who is a member with which roles now: a demoted admin or a deactivated member loses
    # their powers here at once, whatever their token still says.
    app.extensions[LIVE_PRINCIPAL] = live_from_members(runtime.db.members, trust_unknown=False)
    return app
