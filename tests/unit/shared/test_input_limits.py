"""The shared input limits without infrastructure: JSON depth and integers, date-times, page cursors, and the
problem documents they answer through a service app."""
import base64
import json
from datetime import datetime, timezone

import pytest
from marshmallow import Schema, ValidationError, fields

from shared import jsonlimits
from shared.config import Config
from shared.errors import BadRequest
from shared.schemas import AwareDateTime, PageCursor, encode_cursor
from shared.web import ServiceBlueprint, create_service_app

DEEP = "[" * 1000 + "]" * 1000
HUGE_INT = "1" + "0" * 4300


def test_depth_is_refused_beyond_the_limit_and_brackets_inside_strings_do_not_count():
    assert jsonlimits.loads("[" * 64 + "]" * 64) is not None
    for text in ("[" * 65 + "]" * 65, DEEP, '{"a":' * 1000 + "1" + "}" * 1000):
        with pytest.raises(jsonlimits.JSONLimitError) as caught:
            jsonlimits.loads(text)
        assert caught.value.code == "json_too_deep"
    assert jsonlimits.loads(json.dumps({"note": "[" * 5000})) == {"note": "[" * 5000}
    assert jsonlimits.loads(json.dumps(["]" * 100, [["x"]]])) == ["]" * 100, [["x"]]]


@pytest.mark.parametrize("literal", [HUGE_INT, str(2 ** 63), str(-(2 ** 63) - 1), "1" * 100_000])
def test_integers_beyond_eight_bytes_are_refused_before_conversion(literal):
    with pytest.raises(jsonlimits.JSONLimitError) as caught:
        jsonlimits.loads('{"amount": %s}' % literal)
    assert caught.value.code == "number_out_of_range"


def test_integers_within_eight_bytes_and_floats_load_as_usual():
    assert jsonlimits.loads(f"[{2 ** 63 - 1}, {-(2 ** 63)}, 0, -5, 1.5]") == [2 ** 63 - 1, -(2 ** 63), 0, -5, 1.5]
    assert jsonlimits.loads(b'{"x": 1}') == {"x": 1}
    with pytest.raises(json.JSONDecodeError):
        jsonlimits.loads("{bad")


class When(Schema):
    at = AwareDateTime()
    naive_ok = AwareDateTime(default_timezone=timezone.utc)


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
                                   "1969-12-31T23:59:59Z", "3000-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00"])
def test_date_times_outside_the_range_once_in_utc_are_validation_errors(value):
    with pytest.raises(ValidationError) as caught:
        When().load({"at": value})
    assert "1970-01-01" in caught.value.messages["at"][0]


def test_date_times_load_as_the_same_instant_in_utc_and_naive_ones_need_a_default_zone():
    loaded = When().load({"at": "2026-03-01T08:30:00+08:00", "naive_ok": "2026-03-01T00:30:00"})
    assert loaded["at"] == datetime(2026, 3, 1, 0, 30, tzinfo=timezone.utc) and loaded["at"].utcoffset().seconds == 0
    assert loaded["naive_ok"] == datetime(2026, 3, 1, 0, 30, tzinfo=timezone.utc)
    with pytest.raises(ValidationError):
        When().load({"at": "2026-03-01T00:30:00"})


class Page(Schema):
    cursor = PageCursor()


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_cursor_round_trips_and_anything_else_is_bad_cursor():
    assert Page().load({"cursor": encode_cursor(1_780_000_000_000, "t_1:D")}) == {"cursor": (1_780_000_000_000,
                                                                                             "t_1:D")}
    bad = ["WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAsIngiXQ", "garbage!", _b64('[-1,"x"]'), _b64('[1.5,"x"]'),
           _b64('[true,"x"]'), _b64('[1,2]'), _b64('[1,""]'), _b64('[1,"x",3]'), _b64('{"a":1}'),
           _b64("[" * 500 + "]" * 500)[:200], _b64(f'[1,"{"x" * 129}"]')[:200], base64.urlsafe_b64encode(b"\xff\xfe[").decode()]
    for cursor in bad:
        with pytest.raises(BadRequest) as caught:
            Page().load({"cursor": cursor})
        assert caught.value.code == "bad_cursor", cursor


def _app():
    class Body(Schema):
        amount = fields.Integer()
        at = AwareDateTime()

    blp = ServiceBlueprint("probe", __name__, url_prefix="/v1")
    seen = []

    @blp.post("/things")
    @blp.arguments(Body())
    @blp.response(201, Body)
    def create(body):
        seen.append(body)
        return body

    app = create_service_app(Config.from_env("probe", env={}), title="Probe", blueprints=[blp],
                             readiness=lambda: ({"status": "ready"}, 200))

    @app.post("/raw")
    def raw():  # a view that reads the body itself, as a rate-limit key function does
        from flask import request
        return {"silent": request.get_json(silent=True) is None}
    return app, seen


@pytest.mark.parametrize("body, code", [(DEEP, "json_too_deep"), ('{"amount": %s}' % HUGE_INT, "number_out_of_range"),
                                        ("{not json", "malformed_json"), (b'{"amount": "\xff"}', "malformed_json")])
def test_a_service_answers_a_400_problem_before_the_view_runs(body, code):
    app, seen = _app()
    answer = app.test_client().post("/v1/things", data=body, content_type="application/json")
    assert answer.status_code == 400 and answer.content_type == "application/problem+json"
    assert answer.json["code"] == code and answer.json["status"] == 400 and seen == []


def test_request_get_json_never_recurses_and_its_silent_form_gives_none():
    app, _ = _app()
    client = app.test_client()
    assert client.post("/raw", data=DEEP, content_type="application/json").json == {"silent": True}
    assert client.post("/raw", data='{"a": 1}', content_type="application/json").json == {"silent": False}


def test_the_openapi_document_describes_errors_as_problems():
    app, _ = _app()
    spec = app.test_client().get("/openapi.json").json
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["properties"]["status"]["type"] == "integer" and problem["properties"]["code"]["type"] == "string"
    assert set(problem["required"]) == {"type", "title", "status"}
    for name, response in spec["components"]["responses"].items():
        if "content" in response:
            assert list(response["content"]) == ["application/problem+json"], name
    responses = spec["paths"]["/v1/things"]["post"]["responses"]
    assert set(responses) == {"201", "400", "401", "403", "404", "409", "413", "422", "503"}
    assert spec["security"] == [{"bearer": []}]
