"""Flask application-factory pieces every service uses: errors, probes, metrics, OpenAPI, logging."""
from __future__ import annotations

import http
import logging

import orjson
import threading
import time
from typing import Callable

from apispec import BasePlugin
from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider, _default as flask_default
from flask_limiter.util import get_qualified_name
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from limits.storage import MemoryStorage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import jsonlimits, metrics
from shared.errors import CJK, BadRequest, Problem, Unavailable
from shared.kafka_bus import kafka_reachable
from shared.logs import configure_logging, new_id, reset_correlation_id, set_correlation_id
from shared.mongo import ping
from shared.ratelimit import limiter, storage_settings
from shared.schemas import ProblemSchema

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def _problem(problem: Problem) -> Response:
    response = jsonify(problem.to_dict())
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    response.headers.update(problem.headers)
    return response


def _json_limit_problem(exc: jsonlimits.JSONLimitError) -> BadRequest:
    return BadRequest(str(exc), code=exc.code)


def _malformed_json() -> BadRequest:
    return BadRequest("请求体不是有效的 JSON。 The request body is not valid JSON.", code="malformed_json")


# orjson writes what Flask's JSON wrote (keys sorted, dates as HTTP dates through Flask's own default), in a
# fraction of the time; only non-ASCII text is written as UTF-8 instead of \u escapes (the same JSON value).
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with the limits of `shared.jsonlimits` (request.get_json, so rate-limit key
    functions too): a body nested too deep or with an oversized number is refused, never recursed into.
    Writing is orjson's (the standard library's when asked for options, e.g. indent, or for what orjson cannot
    write, e.g. an integer past 64 bits)."""

    def loads(self, s, **kwargs):
        return jsonlimits.loads(s)

    def dumps(self, obj, **kwargs) -> str:
        return self._bytes(obj, **kwargs).decode()

    def _bytes(self, obj, **kwargs) -> bytes:
        if not kwargs:
            try:
                return orjson.dumps(obj, default=flask_default, option=_ORJSON_OPTIONS)
            except (orjson.JSONEncodeError, TypeError):
                pass  # the standard library's encoder decides (and words the error, if any)
        return super().dumps(obj, **kwargs).encode()

    def response(self, *args, **kwargs) -> Response:
        """As Flask's (`jsonify`): one JSON document and a newline, pretty only in debug mode."""
        obj = self._prepare_response_obj(args, kwargs)
        pretty = self.compact is False or (self.compact is None and self._app.debug)
        body = self._bytes(obj, indent=2) if pretty else self._bytes(obj)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)


class ServiceRequest(Request):
    """A request whose unreadable JSON body is a 400 problem saying why."""

    def on_json_loading_failed(self, e: ValueError | None):
        if isinstance(e, jsonlimits.JSONLimitError):
            raise _json_limit_problem(e)
        if e is not None:
            raise _malformed_json()
        return super().on_json_loading_failed(e)


class BoundedFlaskParser(FlaskParser):
    """webargs' parser of `@blp.arguments`, reading JSON bodies with the limits of `shared.jsonlimits`."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        data = req.get_data(cache=True)
        if not data:
            return webargs_core.missing
        try:
            return jsonlimits.loads(data)
        except jsonlimits.JSONLimitError as exc:
            raise _json_limit_problem(exc) from None

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise _malformed_json() from None


class ServiceBlueprint(SmorestBlueprint):
    """The flask-smorest Blueprint every service's `api.py` uses: bounded JSON parsing of its arguments."""

    ARGUMENTS_PARSER = BoundedFlaskParser()


# What the OpenAPI documents say each operation can answer besides its own responses (see ProblemResponses).
PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: JSON that is not JSON, nested too deep or with an out-of-range number; bad cursor",
    401: "No valid bearer token",
    403: "The caller may not do this",
    404: "No such resource (or not the caller's to see)",
    409: "The resource is not in a state that allows this",
    413: "The request body is too large",
    422: "The request is not valid (messages per field in `errors`)",
    429: "Too many requests; retry after Retry-After seconds",
    503: "A dependency is unavailable; retry shortly (with the same Idempotency-Key for money moves)",
}
# What werkzeug's own errors (abort(404), 405, 413, Flask-Limiter's 429…) say in Chinese, put before their English:
# (title, detail).
HTTP_ZH = {
    400: ("请求无效", "请求无效。"), 401: ("需要登录", "需要登录。"), 403: ("无权操作", "无权执行此操作。"),
    404: ("找不到", "找不到这个地址。"), 405: ("方法不允许", "这个地址不支持该请求方法。"),
    406: ("无法应答", "无法按所要求的格式应答。"), 408: ("请求超时", "请求超时。"), 409: ("状态冲突", "请求与当前状态冲突。"),
    410: ("已不存在", "该资源已不存在。"), 411: ("须注明长度", "请求须注明长度（Content-Length）。"),
    412: ("前提条件不满足", "前提条件不满足。"), 413: ("内容太大", "请求内容太大。"), 414: ("网址太长", "网址太长。"),
    415: ("内容类型不支持", "不支持这种内容类型。"), 416: ("范围无效", "请求的范围无效。"),
    417: ("无法满足 Expect", "无法满足 Expect 请求头。"), 422: ("请求不符合要求", "请求内容不符合要求。"),
    423: ("已锁定", "资源已锁定。"), 428: ("缺少前提条件", "缺少前提条件。"),
    429: ("请求太频繁", "请求太频繁，请稍后再试。"), 431: ("请求头太大", "请求头太大。"),
    500: ("服务器内部出错", "服务器内部出错。"), 501: ("尚不支持", "尚不支持此操作。"), 502: ("上游服务出错", "上游服务出错。"),
    503: ("服务暂不可用", "服务暂时不可用，请稍后重试。"), 504: ("上游服务超时", "上游服务应答超时。"),
}
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


class ProblemResponses(BasePlugin):
    """Documents, once for every operation, the problems the shared stack can answer.

    400 and 503 everywhere; 401 and 403 unless the operation says `security: []`; 404 where the path or the body
    names a resource; 413 and 422 where there is a body or query; 409 on changes; 429 where the view is
    rate-limited. Anything else an operation can answer it documents itself, e.g.
    `@blp.alt_response(409, response="CONFLICT")` (the responses are registered under their status names). There
    is no `default` response: every status an operation answers is listed (the fuzz tests hold us to it)."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        for method, operation in (operations or {}).items():
            if method not in _HTTP_METHODS:
                continue
            codes = {400, 503}
            if operation.get("security") != []:
                codes |= {401, 403}
            if "{" in (path or ""):
                codes.add(404)
            if operation.get("requestBody"):
                codes |= {404, 413, 422}
            if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
                codes.add(422)
            if method != "get":
                codes.add(409)
            if view is not None and _rate_limited(view):
                codes.add(429)
            responses = operation.setdefault("responses", {})
            # flask-smorest keys the operation's own responses by int: one it documents itself (its meaning there,
            # or another format) must not be shadowed by a generic "404" that wins when the keys become JSON.
            own = {str(status) for status in responses}
            for code in sorted(codes):
                if str(code) not in own:
                    responses[str(code)] = http.HTTPStatus(code).name


def _rate_limited(view) -> bool:
    # Flask-Limiter keeps the limits of `@limiter.limit` per decorated callable, by its qualified name.
    decorated = getattr(limiter.limit_manager, "_decorated_limits", {})
    return get_qualified_name(view) in decorated


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as application/problem+json and documenting them so."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its errors (ProblemResponses), no catch-all

    def _register_responses(self):
        """The responses operations refer to by status name (`BAD_REQUEST`, `CONFLICT`…): errors are problem+json."""
        for status in http.HTTPStatus:
            response = {"description": PROBLEM_DESCRIPTIONS.get(status.value, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)

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
        title = error.name
        if error.code in HTTP_ZH:  # werkzeug's and Flask-Limiter's own text is English
            title_zh, detail_zh = HTTP_ZH[error.code]
            title = f"{title_zh} {title}"
            detail = detail if not detail or CJK.search(detail) else f"{detail_zh} {detail}"
        code = "validation_failed" if error.code == 422 else None
        return _problem(Problem(detail, status=error.code or 500, title=title, code=code, **extra))


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


def openapi_document(service: str) -> dict:
    """The OpenAPI document of a service's API, built without a database or broker, e.g. for tests that walk
    every operation: the blueprints its app serves (`services.<name>.app.BLUEPRINTS` where it serves more than
    one, else `services.<name>.api.blp`)."""
    import importlib
    from shared.config import Config
    blueprints = getattr(importlib.import_module(f"services.{service}.app"), "BLUEPRINTS", None) \
        or [importlib.import_module(f"services.{service}.api").blp]
    app = create_service_app(Config.from_env(service, env={}), title=service, blueprints=blueprints,
                             readiness=lambda: ({}, 200))
    return app.test_client().get("/openapi.json").json


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
    app.json = BoundedJSONProvider(app)
    app.request_class = ServiceRequest
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
    api = ProblemApi(app, spec_kwargs={"info": {"description": description or title},
                                       "security": [{"bearer": []}], "extra_plugins": [ProblemResponses(app)]})
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
        return _problem(Unavailable("数据库暂时不可用，请稍后重试（转账请用同一个 Idempotency-Key）。 "
                                    "The database is unavailable right now. Retry shortly (with the same "
                                    "Idempotency-Key for money moves).", code="database_unavailable"))

    @app.errorhandler(Exception)
    def _on_bug(error: Exception):
        log.exception("unhandled error")
        return _problem(Problem("服务器内部出错，已记录日志。 An internal error occurred; it has been logged.", status=500,
                                title="服务器内部出错 Internal server error", correlation_id=g.get("correlation_id")))

    return app
