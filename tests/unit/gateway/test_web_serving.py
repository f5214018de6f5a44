"""How the gateway serves the built web app: strict CSP, SPA routing, long-cached hashed assets, and /api kept apart.

A small stand-in build (index.html + one hashed asset) in a temporary directory, so these run without npm; the
browser tests (tests/browser) drive the real build.
"""
from __future__ import annotations

import pytest

from shared.config import Config
from services.gateway.app import create_app

INDEX = '<!doctype html><html lang="zh-CN"><head><script type="module" src="/assets/index-abc123.js"></script></head>' \
        '<body><div id="app"></div></body></html>'


@pytest.fixture
def client(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')", encoding="utf-8")
    app = create_app(Config.from_env("gateway", env={"GATEWAY_WEB_DIST": str(tmp_path)}))
    yield app.test_client()
    app.extensions["upstreams"].close()


def test_the_page_has_a_strict_policy_and_is_never_cached_stale(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'id="app"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-cache"
    policy = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/r", "/r/requests/rq_1", "/shop/statements", "/login?next=/r/gift"])
def test_every_app_route_gets_the_page(client, path):
    page = client.get(path)
    assert page.status_code == 200 and 'id="app"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(client):
    script = client.get("/assets/index-abc123.js")
    assert script.status_code == 200 and script.get_data(as_text=True) == "console.log('app')"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "javascript" in script.mimetype


def test_a_missing_asset_is_a_problem_not_the_page(client):
    missing = client.get("/assets/index-gone.js")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["code"] == "unknown_asset"


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_api_paths_never_get_the_page(client, path):
    answer = client.get(path)
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_probes_are_not_swallowed_by_the_app_routes(client):
    assert client.get("/healthz").get_json()["service"] == "gateway"


def test_an_unbuilt_app_says_how_to_build_it(tmp_path):
    app = create_app(Config.from_env("gateway", env={"GATEWAY_WEB_DIST": str(tmp_path / "nothing")}))
    try:
        answer = app.test_client().get("/r")
        assert answer.status_code == 503 and answer.get_json()["code"] == "web_not_built"
    finally:
        app.extensions["upstreams"].close()


def test_scripts_are_gzipped_for_clients_that_accept_it(client):
    import gzip

    packed = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.get_data()) == b"console.log('app')"
    assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "javascript" in packed.mimetype
    assert client.get("/assets/../index.html", headers={"Accept-Encoding": "gzip"}).status_code == 404
