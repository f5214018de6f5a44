"""Four kinds of hostile input, sent to every operation of every service that takes that kind of input (listed
from each service's OpenAPI document), answer a clean 4xx application/problem+json and change nothing in any
service's database (outbox and processed events included):

- a JSON body nested 1,000 levels deep (RecursionError before), including login, whose rate-limit key function
  reads the body before anything else;
- an integer literal of 4,301 digits (Python's int-conversion limit before), and one just past 8 bytes;
- date-times that leave years 1-9999 once converted to UTC (OverflowError before), in bodies and query strings;
- a page cursor holding an integer of 2^63 or more (MongoDB's 8-byte integer limit before)."""
from __future__ import annotations

import uuid

import pytest

from shared.testing import bearer
from shared.web import openapi_document

SERVICES = ("community", "requests", "matching", "ledger", "settlement", "exchange", "notifications")  # as the full_stack fixture runs them

DEEP = "[" * 1000 + "]" * 1000
BAD_DATES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"]
BIG_CURSOR = "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAsIngiXQ"  # [10000000000000000000000000000000,"x"]
METHODS = ("get", "post", "put", "patch", "delete")


# Listed when pytest collects the cases, from the same blueprints the running services serve.
DOCUMENTS = {service: openapi_document(service) for service in SERVICES}


def _schema(doc: dict, ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return doc["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def _cases(select) -> list:
    out = []
    for service, doc in DOCUMENTS.items():
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    for extra in select(doc, op):
                        out.append(pytest.param(service, method, path, extra,
                                                id=f"{service} {method.upper()} {path} {extra or ''}".strip()))
    return out


def _with_body(doc, op):
    # JSON bodies (a multipart form, the 随手拍 photo upload, is parsed as a form: a JSON body there is a 422).
    return [None] if "application/json" in op.get("requestBody", {}).get("content", {}) else []


def _body_dates(doc, op):
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not body:
        return []
    props = _schema(doc, body["schema"]).get("properties", {})
    return [name for name, prop in props.items() if prop.get("format") == "date-time"]


def _query_dates(doc, op):
    return [p["name"] for p in op.get("parameters", [])
            if p.get("in") == "query" and p.get("schema", {}).get("format") == "date-time"]


def _cursors(doc, op):
    return [p["name"] for p in op.get("parameters", []) if p.get("in") == "query" and p["name"] == "cursor"]


def _url(stack, path: str, query: str = "") -> str:
    filled = path.replace("{community_id}", stack.cid).replace("{member_id}", stack.resident_id)
    while "{" in filled:
        start = filled.index("{")
        filled = filled[:start] + "x_" + uuid.uuid4().hex[:8] + filled[filled.index("}") + 1:]
    return filled + (f"?{query}" if query else "")


def _send(stack, service, method, url, body=None):
    headers = bearer(stack.admin, **{"Idempotency-Key": str(uuid.uuid4()), "X-Operator-Key": "dev-operator-key"})
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    return getattr(stack.http(service), method)(url, headers=headers, **kwargs)


def _assert_refused(stack, before, answer, status=None, code=None) -> dict:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.get_data(as_text=True)[:300])
    if status:
        assert answer.status_code == status, answer.get_json()
    assert answer.content_type == "application/problem+json"
    problem = answer.get_json()
    assert isinstance(problem["status"], int) and problem["status"] == answer.status_code
    if code:
        assert problem["code"] == code, problem
    assert stack.counts() == before, "a refused request wrote something"
    return problem


@pytest.fixture(scope="module", autouse=True)
def _settled(full_stack):
    # Everything the fixture started (accounts opened over Kafka, matching's read model…) has been written:
    # from here on, a count that moves was written by the request under test.
    full_stack.quiet()


def test_every_document_lists_the_operations_these_cases_cover():
    # Guards the walk itself: each kind of input is sent somewhere, login among the JSON bodies.
    assert any(c.values[2] == "/v1/auth/login" for c in _cases(_with_body))
    assert len(_cases(_body_dates)) >= 3 and len(_cases(_query_dates)) >= 8 and len(_cases(_cursors)) >= 2


@pytest.mark.parametrize("service, method, path, _", _cases(_with_body))
def test_json_nested_a_thousand_levels_deep_is_a_400(full_stack, service, method, path, _):
    before = full_stack.counts()
    answer = _send(full_stack, service, method, _url(full_stack, path), DEEP)
    _assert_refused(full_stack, before, answer, 400, "json_too_deep")


@pytest.mark.parametrize("literal", ["1" + "0" * 4300, str(2 ** 63)], ids=["4301-digits", "2^63"])
@pytest.mark.parametrize("service, method, path, _", _cases(_with_body))
def test_an_integer_too_big_for_eight_bytes_is_a_400(full_stack, service, method, path, _, literal):
    before = full_stack.counts()
    doc = DOCUMENTS[service]
    props = _schema(doc, doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])
    names = list(props.get("properties", {})) or ["amount"]
    body = "{" + ", ".join(f'"{name}": {literal}' for name in names) + "}"
    answer = _send(full_stack, service, method, _url(full_stack, path), body)
    _assert_refused(full_stack, before, answer, 400, "number_out_of_range")


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("service, method, path, field", _cases(_body_dates))
def test_a_body_date_time_outside_years_1_to_9999_in_utc_is_a_422(full_stack, service, method, path, field, value):
    before = full_stack.counts()
    answer = _send(full_stack, service, method, _url(full_stack, path), '{"%s": "%s"}' % (field, value))
    problem = _assert_refused(full_stack, before, answer, 422, "validation_failed")
    assert field in problem["errors"]


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("service, method, path, name", _cases(_query_dates))
def test_a_query_date_time_outside_years_1_to_9999_in_utc_is_a_422(full_stack, service, method, path, name, value):
    before = full_stack.counts()
    answer = _send(full_stack, service, method, _url(full_stack, path, f"{name}={value.replace('+', '%2B')}"))
    problem = _assert_refused(full_stack, before, answer, 422, "validation_failed")
    assert name in problem["errors"]


@pytest.mark.parametrize("service, method, path, name", _cases(_cursors))
def test_a_cursor_holding_an_integer_past_eight_bytes_is_a_400(full_stack, service, method, path, name):
    before = full_stack.counts()
    answer = _send(full_stack, service, method, _url(full_stack, path, f"{name}={BIG_CURSOR}"))
    _assert_refused(full_stack, before, answer, 400, "bad_cursor")
