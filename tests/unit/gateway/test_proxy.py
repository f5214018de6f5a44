"""The gateway's proxy mechanics over real HTTP, against a plain WSGI echo upstream (no Kafka or MongoDB)."""
from __future__ import annotations

import gzip
import json
import time

import pytest
import requests
from werkzeug.wrappers import Request, Response

from shared.config import Config
from shared.devstack.ports import free_port
from shared.testing import serve
from services.gateway.app import create_app

BIG = b"0123456789abcdef" * 64 * 1024  # 1 MiB, more than one streamed chunk


@Request.application
def echo(request: Request) -> Response:
    """Says back what reached it; a few paths answer specially."""
    if request.path == "/slow":
        time.sleep(1.5)
        return Response("late")
    if request.path == "/big":
        return Response(iter([BIG[i:i + 100_000] for i in range(0, len(BIG), 100_000)]),
                        mimetype="application/octet-stream")
    if request.path == "/gzipped":
        return Response(gzip.compress(b'{"zipped": true}'), headers={"Content-Encoding": "gzip"},
                        mimetype="application/json")
    if request.path == "/cookie":
        return Response("{}", headers={"Set-Cookie": "upstream=1; Path=/"}, mimetype="application/json")
    body = {"method": request.method, "path": request.path, "query": request.query_string.decode(),
            "headers": dict(request.headers), "body": request.get_data(as_text=True)}
    return Response(json.dumps(body), status=201 if request.method == "POST" else 200,
                    mimetype="application/json", headers={"X-Upstream": "echo"})




@pytest.fixture(scope="module")
def gateway():
    with serve(echo) as upstream:
        config = Config.from_env("gateway", env={
            "GATEWAY_COMMUNITY_URL": upstream + "/",  # a trailing slash must not double up
            "GATEWAY_LEDGER_URL": f"http://127.0.0.1:{free_port()}",
            "GATEWAY_READ_TIMEOUT": "0.3",
            "MAX_CONTENT_LENGTH": "4096",
        })
        app = create_app(config)
        with serve(app) as base:
            yield base
        app.extensions["upstreams"].close()


def test_method_path_query_body_and_headers_are_forwarded(gateway):
    answer = requests.post(f"{gateway}/api/community/v1/things/a%20b?x=1&y=%E4%B8%AD", data='{"a": 1}',
                           headers={"Content-Type": "application/json", "Authorization": "Bearer tok",
                                    "Idempotency-Key": "key-1", "X-Correlation-ID": "corr-42",
                                    "Cookie": "session=secret", "X-Private": "no"})
    assert answer.status_code == 201
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/v1/things/a b", "x=1&y=%E4%B8%AD")
    assert seen["body"] == '{"a": 1}'
    headers = seen["headers"]
    assert headers["Authorization"] == "Bearer tok" and headers["Idempotency-Key"] == "key-1"
    assert headers["Content-Type"] == "application/json" and headers["X-Correlation-Id"] == "corr-42"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert "Cookie" not in headers and "X-Private" not in headers
    assert answer.headers["X-Correlation-ID"] == "corr-42" and answer.headers["X-Upstream"] == "echo"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_every_method_reaches_the_service(gateway, method):
    answer = requests.request(method, f"{gateway}/api/community/v1/x")
    assert answer.status_code == 200 and answer.json()["method"] == method


def test_a_correlation_id_is_made_when_the_client_sends_none(gateway):
    answer = requests.get(f"{gateway}/api/community/v1/x")
    made = answer.headers["X-Correlation-ID"]
    assert made and answer.json()["headers"]["X-Correlation-Id"] == made


def test_large_answers_stream_back_whole(gateway):
    with requests.get(f"{gateway}/api/community/big", stream=True) as answer:
        assert answer.status_code == 200
        assert b"".join(answer.iter_content(65536)) == BIG


def test_encoded_answers_pass_through_untouched(gateway):
    answer = requests.get(f"{gateway}/api/community/gzipped")
    assert answer.headers["Content-Encoding"] == "gzip" and answer.json() == {"zipped": True}


def test_the_gateway_keeps_no_cookies_between_users(gateway):
    first = requests.get(f"{gateway}/api/community/cookie")
    assert first.headers["Set-Cookie"].startswith("upstream=1")  # the client gets it…
    later = requests.get(f"{gateway}/api/community/v1/x").json()
    assert "Cookie" not in later["headers"]  # …but the shared session never sends it for someone else


def test_unknown_service_is_a_404_problem(gateway):
    answer = requests.get(f"{gateway}/api/nosuch/v1/x")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "unknown_service"


def test_a_service_that_is_down_is_a_503_problem_not_a_500(gateway):
    answer = requests.post(f"{gateway}/api/ledger/v1/transfers", json={})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "upstream_unavailable" and answer.json()["service"] == "ledger"


def test_a_service_that_does_not_answer_in_time_is_a_504_problem(gateway):
    answer = requests.get(f"{gateway}/api/community/slow")
    assert answer.status_code == 504 and answer.json()["code"] == "upstream_timeout"


def test_bodies_over_the_size_limit_are_refused_before_forwarding(gateway):
    answer = requests.post(f"{gateway}/api/community/v1/x", data=b"x" * 5000,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.headers["Content-Type"] == "application/problem+json"

    def chunks():
        for _ in range(10):
            yield b"y" * 1000

    chunked = requests.post(f"{gateway}/api/community/v1/x", data=chunks(),
                            headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_chunked_bodies_under_the_limit_are_forwarded_whole(gateway):
    answer = requests.post(f"{gateway}/api/community/v1/x", data=iter([b"a" * 3000, b"b" * 1000]),
                           headers={"Content-Type": "text/plain"})
    assert answer.status_code == 201 and answer.json()["body"] == "a" * 3000 + "b" * 1000


def test_probes_report_each_backend_without_failing_the_gateway(gateway):
    assert requests.get(f"{gateway}/healthz").json()["service"] == "gateway"
    ready = requests.get(f"{gateway}/readyz")
    assert ready.status_code == 200
    upstreams = ready.json()["upstreams"]
    assert upstreams["community"] == "up"
    assert upstreams["ledger"] == "down"


def test_a_reports_photo_form_may_pass_the_size_limit_up_to_the_photo_limit_and_nothing_else(gateway):
    form = b"p" * 100_000  # 100 kB: over this gateway's 4 kB limit, well under a photo's 5 MB
    report = requests.post(f"{gateway}/api/community/v1/communities/c_1/reports", data=form,
                           headers={"Content-Type": "application/octet-stream"})
    assert report.status_code == 201 and len(report.json()["body"]) == 100_000
    for elsewhere in ("/api/community/v1/communities/c_1/members", "/api/community/v1/communities/c_1/reports/r/verify"):
        assert requests.post(f"{gateway}{elsewhere}", data=form).status_code == 413
    assert requests.put(f"{gateway}/api/community/v1/communities/c_1/reports", data=form).status_code == 413
    huge = requests.post(f"{gateway}/api/community/v1/communities/c_1/reports", data=b"p" * (6 * 1024 * 1024))
    assert huge.status_code == 413


def test_a_member_import_may_pass_the_size_limit_up_to_its_own_limit(gateway):
    rows = b"r" * 100_000  # 100 kB: over this gateway's 4 kB limit, under the bulk import's 1 MB
    answer = requests.post(f"{gateway}/api/community/v1/communities/c_1/members/import", data=rows,
                           headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201 and len(answer.json()["body"]) == 100_000
    huge = requests.post(f"{gateway}/api/community/v1/communities/c_1/members/import", data=b"r" * (1024 * 1024 + 1))
    assert huge.status_code == 413 and huge.headers["Content-Type"] == "application/problem+json"
