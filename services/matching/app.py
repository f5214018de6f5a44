"""Application factory of the matching service (gunicorn: `services.matching.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.runtime import build_runtime
from shared.web import create_service_app
from services.matching.api import blp
from services.matching.cache import CandidateIndex
from services.matching.model import Policy


def create_app(config: Config | None = None):
    """Build the Flask app with its own MongoDB client and in-process candidate index."""
    config = config or Config.from_env("matching")
    runtime = build_runtime(config)
    app = create_service_app(config, title="Matching service", blueprints=[blp], mongo_client=runtime.client,
                             description="Suggested neighbours (匹配推荐) for help requests, with explanations.")
    app.extensions["runtime"] = runtime
    policy = Policy.from_config(config)
    app.extensions["matching_policy"] = policy
    app.extensions["matching_index"] = CandidateIndex(
        runtime.db, policy, max_communities=int(config.setting("CACHE_COMMUNITIES", 64)))
    return app
