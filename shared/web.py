"""Flask application-factory pieces every service uses: errors, probes, metrics, OpenAPI, logging."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api
from limits.storage import MemoryStorage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import metrics
from shared.errors import Problem, Unavailable
from shared.kafka_bus import kafka_reachable
from shared.logs import configure_logging, new_id, reset_correlation_id, set_correlation_id
from shared.mongo import ping
from shared.ratelimit import limiter, storage_settings

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def _problem(problem: Problem) -> Response:
    response = jsonify(problem.to_dict())
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    response.headers.update(problem.headers)
    return response


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as application/problem+json."""

    def handle_http_exception(self, error: HTTPException):
        """Turn werkzeug/webargs errors (400, 404, 405, 413, 422…) into problem documents."""
        data = getattr(error, "data", None) or {}
        extra = {}
        if data.get("messages"):
            messages = data["messages"]
            # webargs nests messages by location ("json", "query"); clients care about fields.
            if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in (
                    "json", "query", "form", "headers", "path", "files"):
                messages = next(iter(messages.values()))
            extra["errors"] = messages
        detail = error.description if error.code != 422 else "The request is not valid."
        code = "validation_failed" if error.code == 422 else None
        return _problem(Problem(detail, status=error.code or 500, title=error.name, code=code, **extra))


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage without its thread per request.

    MemoryStorage starts a 10 ms threading.Timer to drop expired counters whenever the previous timer has
    finished, i.e. on nearly every rate-limited request when requests are more than 10 ms apart: a thread
    start per money move, and GIL churn in a busy worker. Expired counters are already ignored on read
    (MemoryStorage.get checks expirations), so dropping them is only housekeeping: one daemon thread per
    process does it every second. Limits and their windows are exactly those of MemoryStorage."""

    STORAGE_SCHEME = ["timebank-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        # MemoryStorage starts a new timer only when `self.timer` is not alive: this one always is.
        self.timer = threading.Thread(target=self._sweep, name="ratelimit-sweeper", daemon=True)
        self.timer.start()

    def _sweep(self) -> None:
        while True:
            time.sleep(self.SWEEP_SECONDS)
            try:
                self._MemoryStorage__expire_events()
            except Exception:  # noqa: BLE001 - housekeeping only; never let the sweeper die
                log.debug("rate limit sweep failed", exc_info=True)


def _default_readiness(mongo_client) -> Callable[[], tuple[dict, int]]:
    def readiness():
        config = current_app.config["SERVICE_CONFIG"]
        checks = {"mongo": mongo_client is None or ping(mongo_client),
                  "kafka": kafka_reachable(config.kafka_bootstrap)}
        ok = all(checks.values())
        return {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
    return readiness


def _ops_blueprint(readiness: Callable[[], tuple[dict, int]]) -> Blueprint:
    bp = Blueprint("ops", __name__)

    @bp.get("/healthz")
    def healthz():
        return {"status": "ok", "service": current_app.config["SERVICE_CONFIG"].service}

    @bp.get("/readyz")
    def readyz():
        return readiness()

    @bp.get("/metrics")
    def prometheus_metrics():
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return bp


def current_bus():
    """The message bus of the app handling this request."""
    return current_app.extensions["bus"]


def current_db():
    """The service's own MongoDB database, for read-side queries of this request."""
    return current_app.extensions["runtime"].db


def service_app(service: str, config=None, *, title: str, blueprints=(), description: str = ""):
    """The usual service app: config from the environment, its own runtime (MongoDB client, unit of work)
    in app.extensions["runtime"]; returns (app, runtime) so the service can wire its bus."""
    from shared.config import Config
    from shared.runtime import build_runtime
    config = config or Config.from_env(service)
    runtime = build_runtime(config)
    app = create_service_app(config, title=title, blueprints=blueprints, mongo_client=runtime.client,
                             description=description)
    app.extensions["runtime"] = runtime
    return app, runtime


def create_service_app(config, *, title: str, blueprints=(), mongo_client=None, description: str = "",
                       readiness: Callable[[], tuple[dict, int]] | None = None) -> Flask:
    """A Flask app with problem errors, probes, /metrics, /openapi.json and correlation ids.

    `readiness` replaces the default /readyz check (MongoDB and Kafka reachable)."""
    configure_logging(config.service, config.log_level)
    app = Flask(config.service)
    if config.trusted_proxy_hops:
        # Behind the gateway / ingress the client address is in X-Forwarded-For: rate limits need it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxy_hops, x_proto=config.trusted_proxy_hops)
    app.config.update(
        SERVICE_CONFIG=config,
        MAX_CONTENT_LENGTH=config.max_content_length,
        API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        RATELIMIT_HEADERS_ENABLED=True, **storage_settings(config, has_database=mongo_client is not None),
    )
    api = ProblemApi(app, spec_kwargs={"info": {"description": description or title}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for bp in blueprints:
        api.register_blueprint(bp)
    app.register_blueprint(_ops_blueprint(readiness or _default_readiness(mongo_client)))
    limiter.init_app(app)
    app.extensions["api"] = api

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        cid = request.headers.get("X-Correlation-ID", "")[:64] or new_id()
        g.correlation_token = set_correlation_id(cid)
        g.correlation_id = cid

    @app.after_request
    def _finish(response):
        response.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(config.service, request.method, endpoint, response.status_code).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("correlation_token", None)
        if token is not None:
            reset_correlation_id(token)

    @app.errorhandler(Problem)
    def _on_problem(problem: Problem):
        return _problem(problem)

    @app.errorhandler(HTTPException)
    def _on_http(error: HTTPException):
        return api.handle_http_exception(error)

    @app.errorhandler(ConnectionFailure)
    @app.errorhandler(ExecutionTimeout)
    @app.errorhandler(WTimeoutError)
    def _on_database_outage(error):
        # An outage is not a bug: the client should retry; Idempotency-Key makes a retried money move safe.
        log.warning("database unavailable", extra={"error": repr(error)})
        return _problem(Unavailable("The database is unavailable right now. Retry shortly (with the same "
                                    "Idempotency-Key for money moves).", code="database_unavailable"))

    @app.errorhandler(Exception)
    def _on_bug(error: Exception):
        log.exception("unhandled error")
        return _problem(Problem("An internal error occurred; it has been logged.", status=500,
                                title="Internal server error", correlation_id=g.get("correlation_id")))

    return app
