"""Grafting and the Credit Commons last-hash authentication through the exchange service's Flask app, on
real MongoDB (a refused request changes nothing)."""
from __future__ import annotations

import pytest

from services.exchange.federation import TrunkwardNode

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
GRAFT = {"unit": "HOUR", "peer_node_path": "trunk", "our_node_path": "trunk/lianhua",
         "url": "http://127.0.0.1:9/cc/HOUR", "rate": "1", "last_hash": "trunk",
         "secret": "trunk-and-lianhua-agreed-secret", "net_limit": 600}
SIGNER = TrunkwardNode.graft(at=None, **GRAFT)


def signed(headers: dict, method: str = "GET", path: str = "", body: bytes = b"") -> dict:
    """The headers plus the node secret's signature of the request (as the trunkward node signs it)."""
    return {**headers, "cc-signature": SIGNER.signature(method, path, headers.get("last-hash", ""), body)}


@pytest.fixture(scope="module")
def exchange(module_deployment):
    return module_deployment.service("exchange", workers=False)


def snapshot(svc) -> dict:
    db = svc.db
    return {name: sorted(map(str, db[name].find())) for name in ("cc_nodes", "outbox")}


def test_graft_then_authenticate_by_last_hash(exchange):
    http = exchange.http
    # Before grafting, every request is refused, whatever it says.
    ungrafted = http.get("/cc/HOUR/", headers={"cc-node": "trunk", "last-hash": "trunk"})
    assert ungrafted.status_code == 401 and ungrafted.mimetype == "application/json"
    assert ungrafted.json["errors"] == ["This currency has not (yet) been grafted onto any CreditCommons tree."]

    assert http.post("/v1/federation/nodes", json=GRAFT).status_code == 403
    made = http.post("/v1/federation/nodes", headers=OPERATOR, json=GRAFT)
    assert made.status_code == 201, made.json
    shown = {k: v for k, v in GRAFT.items() if k != "secret"}  # the secret is never shown
    assert made.json | {"grafted_at": None} == {**shown, "url": "http://127.0.0.1:9/cc/HOUR/", "grafted_at": None,
                                                 "relation": "trunkward", "net": 0, "pending_out": 0, "pending_in": 0}
    again = http.post("/v1/federation/nodes", headers=OPERATOR, json={**GRAFT, "last_hash": "other"})
    assert again.status_code == 409 and again.json["code"] == "already_grafted"
    assert [n["last_hash"] for n in http.get("/v1/federation/nodes", headers=OPERATOR).json] == ["trunk"]

    ok = http.get("/cc/HOUR/", headers=signed({"cc-node": "trunk", "last-hash": "trunk",
                                               "cc-node-trace": "twig>branch>"}))
    assert ok.status_code == 200 and ok.json == {"message": "Welcome to the Credit Commons federation protocol."}
    assert ok.headers["cc-node-trace"] == "twig>branch><lianhua"

    before = snapshot(exchange)
    for headers, message in (
            ({"cc-node": "trunk", "last-hash": "asdf"}, 'value of last-hash header "asdf" does not match our records.'),
            ({"cc-node": "branch", "last-hash": "trunk"}, 'cc-node "branch" is not our trunkward node.'),
            ({"last-hash": "trunk"}, "cc-node header is required."),
            ({"cc-node": "trunk"}, "last-hash header is required.")):
        refused = http.get("/cc/HOUR/", headers=headers)
        assert refused.status_code == 401 and refused.json["errors"] == [message], headers
        assert refused.headers["Content-Type"] == "application/json"
    unsigned = http.get("/cc/HOUR/", headers={"cc-node": "trunk", "last-hash": "trunk"})
    assert unsigned.status_code == 401
    assert unsigned.json["errors"] == ["cc-signature 请求头与节点密钥不符。 "
                                  "cc-signature header does not match the node secret."]
    assert snapshot(exchange) == before  # a wrong last-hash or secret has no side effects
    assert http.get("/cc/HOUR/", headers=signed({"cc-node": "trunk", "last-hash": "trunk"})).status_code == 200
    # PT is not grafted; unknown units are 404.
    assert http.get("/cc/PT/", headers={"cc-node": "trunk", "last-hash": "trunk"}).status_code == 401
    assert http.get("/cc/EUR/", headers={"cc-node": "trunk", "last-hash": "trunk"}).status_code == 404


def test_bad_grafts_are_problems_and_change_nothing(exchange):
    before = snapshot(exchange)
    for body, code in (({**GRAFT, "unit": "PT", "our_node_path": "elsewhere/x"}, "bad_node_path"),
                       ({**GRAFT, "unit": "PT", "rate": "-2"}, "bad_rate"),
                       ({**GRAFT, "unit": "PT", "url": "ftp://x/"}, "bad_url"),
                       ({"unit": "PT"}, "validation_failed")):
        r = exchange.http.post("/v1/federation/nodes", headers=OPERATOR, json=body)
        assert r.status_code == 422 and r.json["code"] == code and r.mimetype == "application/problem+json", r.json
    assert snapshot(exchange) == before
