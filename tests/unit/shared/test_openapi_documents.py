"""Every service's OpenAPI document says what the service really answers: errors are application/problem+json
with an integer status and a string code, every operation documents its success, and the errors the shared
stack can give are listed on the operations that can give them."""
import pytest

from shared.web import openapi_document

SERVICES = ("community", "requests", "matching", "ledger", "settlement", "exchange", "notifications")
METHODS = ("get", "post", "put", "patch", "delete")
PUBLIC = {("community", "post", "/v1/communities"), ("community", "post", "/v1/auth/login")}


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _resolve(doc, response):
    if "$ref" in response:
        return doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_documented_as_problems_with_integer_status_and_string_code(service):
    doc = openapi_document(service)
    problem = doc["components"]["schemas"]["Problem"]["properties"]
    assert problem["status"]["type"] == "integer" and problem["code"]["type"] == "string"
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            response = _resolve(doc, response)
            if int(status) >= 400 and path.startswith("/cc/") and "application/json" in response["content"]:
                # The Credit Commons endpoints refuse in the protocol's own format, which carries the problem
                # fields too (services/exchange/federation_api.py).
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CcError"}
                assert {"errors", "type", "title", "status", "detail"} <= set(doc["components"]["schemas"][
                    "CcError"]["required"]), (method, path, status)
            elif int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_its_success_with_a_schema_and_the_errors_it_can_give(service):
    doc = openapi_document(service)
    for path, method, op in _operations(doc):
        where = f"{service} {method.upper()} {path}"
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, f"{where} documents no success"
        for status in ok:
            response = _resolve(doc, op["responses"][status])
            assert status == "204" or response.get("content"), f"{where} {status} has no body schema"
        codes = set(op["responses"])
        assert {"400", "503"} <= codes and "default" not in codes, where
        public = (service, method, path) in PUBLIC
        assert public == (op.get("security") == []), where
        if not public:
            assert {"401", "403"} <= codes, where
        else:
            assert codes & {"401", "403"}, f"{where}: a public operation still refuses bad credentials or keys"
        if "{" in path or op.get("requestBody"):
            assert "404" in codes, where
        if op.get("requestBody") or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "422" in codes, where
        if method != "get":
            assert "409" in codes, where


def test_the_rate_limited_operations_document_429():
    login = openapi_document("community")["paths"]["/v1/auth/login"]["post"]["responses"]
    transfer = openapi_document("ledger")["paths"]["/v1/transfers"]["post"]["responses"]
    assert "429" in login and "429" in transfer
    assert "429" not in openapi_document("ledger")["paths"]["/v1/balances"]["get"]["responses"]
