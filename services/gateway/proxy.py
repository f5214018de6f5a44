"""The reverse proxy: `/api/<service>/<path>` goes to that service's base URL; the answer is streamed back."""
from __future__ import annotations

import logging
import re
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import quote

import requests
import urllib3
from flask import Blueprint, Response, current_app, g, request
from requests.adapters import HTTPAdapter
from werkzeug.exceptions import RequestEntityTooLarge

from shared.errors import NotFound, Problem, Unavailable

log = logging.getLogger(__name__)

# What a client may tell a service through the gateway; cookies and anything else stay behind.
# X-Operator-Key lets a deployment operator create communities from outside; the service checks it.
FORWARDED_REQUEST_HEADERS = ("Authorization", "Idempotency-Key", "Content-Type", "Accept", "Accept-Language",
                             "If-Match", "If-None-Match", "X-Operator-Key")
# The bodies allowed past MAX_CONTENT_LENGTH, each with its own limit: a 随手拍 report's form with its photo (the
# community service checks the photo itself: at most 5 MB, JPEG/PNG/WebP by content), and a bulk member import (up
# to 200 rows; the community service's own limit is the same 1 MB, services/community/member_import.py).
PHOTO_UPLOAD_LIMIT = 5 * 1024 * 1024 + 64 * 1024
MEMBER_IMPORT_LIMIT = 1024 * 1024
LARGE_BODIES = (("community", "POST", re.compile(r"v1/communities/[^/]+/reports"), PHOTO_UPLOAD_LIMIT),
                ("community", "POST", re.compile(r"v1/communities/[^/]+/members/import"), MEMBER_IMPORT_LIMIT))
# Hop-by-hop headers (RFC 9110 §7.6.1) never cross a proxy; the gateway sets its own correlation id and date.
DROPPED_RESPONSE_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                                      "trailer", "transfer-encoding", "upgrade", "x-correlation-id", "server",
                                      "date"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CHUNK = 64 * 1024
# Path characters that pass through unencoded (RFC 3986 pchar plus "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

bp = Blueprint("proxy", __name__)


class Upstreams:
    """The backends' base URLs, timeouts and one pooled HTTP session per gateway worker process."""

    def __init__(self, urls: dict[str, str], connect_timeout: float, read_timeout: float, pool_size: int):
        self.urls = urls
        self.timeout = (connect_timeout, read_timeout)
        self.session = _session(pool_size)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def _session(pool_size: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # service-to-service calls never go through an HTTP(S)_PROXY from the environment
    # One session serves every user: it must never keep one user's cookies for the next one.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=len(METHODS), pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class UpstreamUnavailable(Unavailable):
    """The backend refused the connection (down or restarting)."""


class BadGateway(Problem):
    status, title = 502, "上游服务出错 Bad gateway"


class GatewayTimeout(Problem):
    status, title = 504, "上游服务超时 Gateway timeout"


def _could_not_connect(exc: requests.ConnectionError) -> bool:
    # Refused / unresolvable means nothing reached the service, so a retry is always safe.
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, urllib3.exceptions.NewConnectionError)


def _outgoing_headers() -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers["X-Correlation-ID"] = g.correlation_id
    earlier = request.headers.get("X-Forwarded-For")
    peer = request.remote_addr or ""
    headers["X-Forwarded-For"] = f"{earlier}, {peer}" if earlier else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    return headers


def _request_body() -> bytes:
    """The whole request body, refused with 413 when it is over MAX_CONTENT_LENGTH (or this request's own limit)."""
    limit = request.max_content_length
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data(cache=False)  # Werkzeug checks Content-Length against the limit up front
    # Chunked upload: Werkzeug would silently cut it at the limit, so read past it and refuse instead.
    stream, parts, size = request.environ["wsgi.input"], [], 0
    while size <= limit:
        part = stream.read(min(CHUNK, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(parts)


def _send(upstreams: Upstreams, service: str, url: str, body: bytes) -> requests.Response:
    try:
        return upstreams.session.request(request.method, url, data=body or None, headers=_outgoing_headers(),
                                         timeout=upstreams.timeout, stream=True, allow_redirects=False)
    except requests.ConnectionError as exc:
        log.warning("upstream unreachable", extra={"upstream": service, "error": type(exc).__name__})
        if _could_not_connect(exc):
            raise UpstreamUnavailable(f"{service} 服务暂时无法连接，请稍后重试。 "
                                      f"The {service} service is not reachable right now; retry shortly.",
                                      code="upstream_unavailable", service=service) from exc
        raise BadGateway(f"{service} 服务中断了连接。如果这是一次修改，请用同一个 Idempotency-Key 重试。 "
                         f"The {service} service broke off the connection. Retry with the same Idempotency-Key "
                         "if this was a change.", code="upstream_failed", service=service) from exc
    except requests.Timeout as exc:
        log.warning("upstream timed out", extra={"upstream": service})
        raise GatewayTimeout(f"{service} 服务没有及时应答。如果这是一次修改，请用同一个 Idempotency-Key 重试。 "
                             f"The {service} service did not answer in time. Retry with the same Idempotency-Key "
                             "if this was a change.", code="upstream_timeout", service=service) from exc
    except requests.RequestException as exc:
        log.warning("upstream request failed", extra={"upstream": service, "error": type(exc).__name__})
        raise BadGateway(f"无法访问 {service} 服务。 The {service} service could not be asked.", code="upstream_failed",
                         service=service) from exc


def _is_json(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or mimetype.endswith("+json")


def _as_problem(upstream: requests.Response, service: str) -> Problem:
    """An upstream error that is not JSON (a server's or a proxy's own page: 414, 431, a bare 502…) as the problem
    every other error is: the client always gets application/problem+json from the gateway."""
    upstream.close()
    status = upstream.status_code
    headers = {"Retry-After": upstream.headers["Retry-After"]} if "Retry-After" in upstream.headers else None
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = upstream.reason or "Error"
    return Problem(f"{service} 服务拒绝了该请求（{status}）。 The {service} service answered {status} {title}.",
                   status=status, title=title, code="upstream_error", headers=headers, service=service)


def _relay(upstream: requests.Response, service: str):
    # Raw bytes, still encoded: Content-Length and Content-Encoding stay true for the client.
    try:
        yield from upstream.raw.stream(CHUNK, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # The status line is already sent; all we can do is end the answer and say so in the log.
        log.warning("upstream broke off mid-answer", extra={"upstream": service, "error": type(exc).__name__})
    finally:
        upstream.close()


@bp.route("/api/<service>/", defaults={"path": ""}, methods=METHODS)
@bp.route("/api/<service>/<path:path>", methods=METHODS)
def proxy(service: str, path: str):
    """Forward the request to the named service and stream its answer back."""
    upstreams: Upstreams = current_app.extensions["upstreams"]
    base = upstreams.urls.get(service)
    if base is None:
        raise NotFound(f"没有名为 {service!r} 的服务。 There is no service called {service!r}.", code="unknown_service")
    for s, m, pattern, limit in LARGE_BODIES:
        if service == s and request.method == m and pattern.fullmatch(path):
            request.max_content_length = limit
    body = _request_body()  # before anything is sent on: an oversized body never reaches the service
    url = f"{base}/{quote(path, safe=_PATH_SAFE)}"
    if request.query_string:
        url = f"{url}?{request.query_string.decode('latin-1')}"
    upstream = _send(upstreams, service, url, body)
    if upstream.status_code >= 400 and not _is_json(upstream.headers.get("Content-Type")):
        raise _as_problem(upstream, service)
    headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS]
    response = Response(_relay(upstream, service), status=upstream.status_code, headers=headers,
                        direct_passthrough=True)
    response.call_on_close(upstream.close)
    return response
