"""Requests gunicorn cannot parse (a path past its request-line limit, a 20 KB header, a broken request line,
invalid UTF-8 in the path) answer application/problem+json from the gunicorn that serves every service
(`shared/gunicorn_conf.py`), and the gateway turns any upstream error that is not JSON into a problem.

The gateway runs here under real gunicorn on a free port; its upstream is a stand-in that answers the text/html
error pages a server or proxy in between could answer (no database or broker is involved)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask import Flask, Response

from shared.devstack.ports import free_port, port_open
from shared.testing import serve, wait_until

ROOT = Path(__file__).resolve().parents[3]
HTML = "<html><body><h1>Request Header Fields Too Large</h1></body></html>"


def _html_upstream() -> Flask:
    app = Flask("html-upstream")

    @app.route("/v1/html/<int:status>")
    def html(status):
        return Response(HTML, status=status, mimetype="text/html", headers={"Retry-After": "7"})

    @app.route("/v1/json-error")
    def json_error():
        return Response(json.dumps({"type": "x", "title": "Conflict", "status": 409, "code": "already"}), status=409,
                        mimetype="application/problem+json")

    @app.route("/v1/ok")
    def ok():
        return Response("plain text is fine when it is not an error", mimetype="text/plain")
    return app


@pytest.fixture(scope="module")
def gateway():
    with serve(_html_upstream()) as upstream:
        port = free_port()
        env = {**os.environ, "GATEWAY_COMMUNITY_URL": upstream, "WEB_CONCURRENCY": "1", "WEB_THREADS": "2",
               "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "shared/gunicorn_conf.py", "--bind",
                                 f"127.0.0.1:{port}", "services.gateway.app:create_app()"], cwd=ROOT, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: port_open(port) and _healthy(port), timeout=30, message="gunicorn serving the gateway")
            yield port
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass  # gunicorn closes with our unread bytes still queued: the answer came before the reset
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /api/community/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /api/community/v1/ok HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
    (b"THIS IS NOT HTTP\r\n\r\n", 400),
    (b"GET /api/community/\xff\xfe\x80 HTTP/1.1\r\nHost: x\r\n\r\n", None),
], ids=["long-path-414", "20KB-header-431", "bad-request-line-400", "invalid-utf8-path"])
def test_gunicorn_answers_what_it_cannot_parse_as_a_problem(gateway, request_bytes, status):
    got, headers, body = _raw(gateway, request_bytes)
    assert 400 <= got < 500 and (status is None or got == status)
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == got and isinstance(problem["code"], str) and problem["title"]


def test_the_gateway_answers_an_upstream_html_error_as_a_problem_keeping_status_and_retry_after(gateway):
    answer = requests.get(f"http://127.0.0.1:{gateway}/api/community/v1/html/431")
    assert answer.status_code == 431 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "7"
    problem = answer.json()
    assert problem["status"] == 431 and problem["code"] == "upstream_error" and problem["service"] == "community"
    assert "<html>" not in answer.text


def test_the_gateway_passes_json_problems_and_non_error_bodies_through_untouched(gateway):
    problem = requests.get(f"http://127.0.0.1:{gateway}/api/community/v1/json-error")
    assert problem.status_code == 409 and problem.json()["code"] == "already"
    ok = requests.get(f"http://127.0.0.1:{gateway}/api/community/v1/ok")
    assert ok.status_code == 200 and ok.text == "plain text is fine when it is not an error"


def test_the_gateways_own_refusals_are_problems(gateway):
    for answer in (requests.get(f"http://127.0.0.1:{gateway}/api/nowhere/v1/x"),
                   requests.post(f"http://127.0.0.1:{gateway}/api/community/v1/ok", data=b"x" * (2 * 1024 * 1024))):
        assert answer.status_code in (404, 413), answer.status_code
        assert answer.headers["Content-Type"] == "application/problem+json"
