"""The shared app factory without infrastructure: problems, correlation ids, proxy handling."""
from flask import request

from shared.config import Config
from shared.errors import Conflict
from shared.web import create_service_app


def make_app(**config):
    app = create_service_app(Config.from_env("probe", env={}).with_(**config), title="Probe",
                             readiness=lambda: ({"status": "ready"}, 200))

    @app.get("/whoami")
    def whoami():
        return {"addr": request.remote_addr}

    @app.get("/conflict")
    def conflict():
        raise Conflict("Already done.", code="already_done", headers={"Retry-After": "5"})

    @app.get("/bug")
    def bug():
        raise RuntimeError("boom")
    return app


def test_forwarded_client_address_is_used_only_behind_a_trusted_proxy():
    headers = {"X-Forwarded-For": "203.0.113.7"}
    assert make_app().test_client().get("/whoami", headers=headers).json["addr"] == "127.0.0.1"
    trusted = make_app(trusted_proxy_hops=1).test_client()
    assert trusted.get("/whoami", headers=headers).json["addr"] == "203.0.113.7"


def test_problems_carry_status_code_and_headers_and_bugs_are_500_problems_with_correlation_id():
    client = make_app().test_client()
    conflict = client.get("/conflict", headers={"X-Correlation-ID": "abc123"})
    assert conflict.status_code == 409 and conflict.content_type == "application/problem+json"
    assert conflict.json["code"] == "already_done" and conflict.headers["Retry-After"] == "5"
    assert conflict.headers["X-Correlation-ID"] == "abc123"
    bug = client.get("/bug")
    assert bug.status_code == 500 and bug.json["correlation_id"] == bug.headers["X-Correlation-ID"]
    assert "boom" not in bug.get_data(as_text=True)
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_custom_readiness_replaces_the_default_check():
    assert make_app().test_client().get("/readyz").json == {"status": "ready"}
