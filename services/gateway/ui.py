"""The web app (services/gateway/web, built by Vite into web/dist): served with a strict content security policy.

- /assets/<hashed name>: the built scripts and styles, cached for a year (their names change with their content);
- /api/…: never the app (an unknown API path is a problem+json 404, not a page);
- any other GET path: index.html (no-cache), so the app's own router handles /r/…, /shop/… on reload.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound as WerkzeugNotFound

from shared.errors import NotFound, Unavailable

bp = Blueprint("ui", __name__)

DEFAULT_DIST = Path(__file__).resolve().parent / "web" / "dist"
ASSET_CACHE = "public, max-age=31536000, immutable"
COMPRESSIBLE = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json"}
# No inline or eval'd script anywhere; Vant sets element styles from script, hence style-src 'unsafe-inline'.
# The camera (check-in and pay-code scanning) streams through media-src; QR images are data: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


def web_dist() -> Path:
    """Where the built app is (GATEWAY_WEB_DIST, else services/gateway/web/dist)."""
    return Path(current_app.config["SERVICE_CONFIG"].setting("WEB_DIST", DEFAULT_DIST))


@lru_cache(maxsize=256)
def _gzipped(path: str, mtime_ns: int) -> bytes:
    # Assets never change under one name: each is compressed once per process (keyed by mtime for rebuilds).
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


@bp.get("/assets/<path:name>")
def asset(name: str):
    """A built, content-hashed script, style or image; scripts and styles gzip-compressed for clients that accept it
    (a phone on a slow network downloads a third of the bytes)."""
    folder = web_dist() / "assets"
    file = (folder / name).resolve()
    if (file.suffix in COMPRESSIBLE and file.is_file() and file.is_relative_to(folder.resolve())
            and "gzip" in request.headers.get("Accept-Encoding", "")):
        response = Response(_gzipped(str(file), file.stat().st_mtime_ns), mimetype=COMPRESSIBLE[file.suffix])
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = ASSET_CACHE
        return response
    try:
        response = send_from_directory(web_dist() / "assets", name, max_age=31536000)
    except WerkzeugNotFound:
        raise NotFound("找不到这个文件，应用可能已更新，请刷新页面。 "
                       "No such asset; the app may have been rebuilt, reload the page.", code="unknown_asset") from None
    response.headers["Cache-Control"] = ASSET_CACHE
    return response


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def index(path: str):
    """The app's page for every route of the app (its router shows the right screen)."""
    if path == "api" or path.startswith("api/"):
        raise NotFound("没有这个 API 地址。 There is no such API path.", code="unknown_service")
    page = web_dist() / "index.html"
    if not page.is_file():
        raise Unavailable("网页应用尚未构建，请运行 `make web`。 "
                          "The web app is not built; run `make web` (npm ci && npm run build in services/gateway/web).",
                          code="web_not_built")
    response = send_from_directory(page.parent, page.name)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_app_request
def _secure(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
