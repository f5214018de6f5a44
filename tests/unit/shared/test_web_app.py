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


def test_json_answers_are_written_as_flask_wrote_them():
    """orjson writes the answers: keys sorted, dates as HTTP dates, Chinese as UTF-8; what orjson cannot write
    (an integer past 64 bits) the standard library writes."""
    import json
    from datetime import datetime, timezone
    from decimal import Decimal
    app = make_app()

    @app.get("/json")
    def some_json():
        return {"b": "时间 time", "a": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "d": Decimal("1.5"),
                "n": {2: 1}}

    @app.get("/huge")
    def huge():
        return {"n": 2 ** 70}

    answer = app.test_client().get("/json")
    assert answer.data == ('{"a":"Fri, 02 Jan 2026 03:04:05 GMT","b":"时间 time","d":"1.5","n":{"2":1}}\n').encode()
    assert answer.mimetype == "application/json"
    assert json.loads(app.test_client().get("/huge").data) == {"n": 2 ** 70}


def test_werkzeugs_own_errors_and_the_500_answer_say_it_in_chinese_first():
    """abort(404), a wrong method, an oversized body and a bug are answered Chinese first, English second."""
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.post("/echo")(lambda: {"size": len(request.get_data())})
    client = app.test_client()
    answers = {404: client.get("/nowhere"), 405: client.post("/whoami"),
               413: client.post("/echo", data=b"x" * 100), 500: client.get("/bug")}
    expected = {404: "找不到这个地址。 The requested URL was not found", 405: "这个地址不支持该请求方法。 The method",
                413: "请求内容太大。 The data value transmitted exceeds", 500: "服务器内部出错，已记录日志。 An internal"}
    for status, answer in answers.items():
        assert answer.status_code == status and answer.content_type == "application/problem+json"
        assert answer.json["detail"].startswith(expected[status]), answer.json
    assert answers[404].json["title"] == "找不到 Not Found" and answers[405].json["title"] == "方法不允许 Method Not Allowed"
