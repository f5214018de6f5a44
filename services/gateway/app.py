"""Application factory of the gateway (gunicorn: `services.gateway.app:create_app()`)."""
from __future__ import annotations

from shared.config import Config
from shared.web import create_service_app
from services.gateway import health, proxy, ui
from services.gateway.upstreams import upstream_urls


def create_app(config: Config | None = None):
    """Build the gateway: the /api/<service>/ proxy, the web page, and the usual probes."""
    config = config or Config.from_env("gateway")
    # The gateway has no database or Kafka of its own: its readiness is about serving, not about them.
    app = create_service_app(config, title="Gateway", readiness=health.readyz,
                             description="Single origin for API clients: /api/<service>/… and the residents' page.")
    upstreams = proxy.Upstreams(upstream_urls(config),
                                connect_timeout=float(config.setting("CONNECT_TIMEOUT", 2)),
                                read_timeout=float(config.setting("READ_TIMEOUT", 30)),
                                pool_size=int(config.setting("POOL_SIZE", 16)))
    app.extensions["upstreams"] = upstreams
    app.extensions["upstream_health"] = health.UpstreamHealth(upstreams)
    app.register_blueprint(proxy.bp)
    app.register_blueprint(ui.bp)
    return app
