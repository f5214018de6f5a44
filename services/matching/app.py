"""Application factory of the matching service (gunicorn: `services.matching.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.web import service_app
from services.matching.api import blp
from services.matching.cache import CandidateIndex
from services.matching.model import Policy


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and in-process candidate index."""
    app, runtime = service_app("matching", config, title="Matching service", blueprints=[blp],
                               description="Suggested neighbours (匹配推荐) for help requests, with explanations.")
    policy = Policy.from_config(runtime.config)
    app.extensions["matching_policy"] = policy
    app.extensions["matching_index"] = CandidateIndex(
        runtime.db, policy, max_communities=int(runtime.config.setting("CACHE_COMMUNITIES", 64)))
    return app
