"""Schemathesis over every service's own /openapi.json, against the services running on the real Kafka and
MongoDB (the `full_stack` fixture): every generated request must get an answer the document describes (status
code and body) and never a 5xx.

Bounded and deterministic: `derandomize` makes Hypothesis draw the same examples every run, MAX_EXAMPLES per
operation keeps the module to a couple of minutes on a small machine. The fuzzer is authenticated as the admin of
a real community (so it gets past 401s into the handlers), with that community's and its resident's ids in the
paths that name them; a second, smaller pass is anonymous."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from shared.config import Config
from shared import topics
from shared.testing import bearer, cross_transfer_posted, serve, wait_until
from services.gateway.app import create_app as create_gateway

SERVICES = ("community", "requests", "matching", "ledger", "settlement", "exchange", "notifications")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# FUZZ_SCALE=4 runs four times as many examples of each kind (a deeper run by hand; the suite keeps 1).
_SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
MAX_EXAMPLES = 15 * _SCALE
NEGATIVE_EXAMPLES = 8 * _SCALE
ANONYMOUS_EXAMPLES = 3 * _SCALE
THROUGH_GATEWAY_EXAMPLES = 4 * _SCALE
OPERATOR = {"X-Operator-Key": "dev-operator-key"}
GRAFT = {"unit": "HOUR", "peer_node_path": "trunk", "our_node_path": "trunk/harden-lane",
         "url": "http://127.0.0.1:9/cc/HOUR/", "rate": "1", "last_hash": "trunk",
         "secret": "fuzz-agreed-node-secret", "net_limit": 100_000}
# The exchange's other credentials, sent with the admin's token: the deployment operator's key (federation
# grafts) and the trunkward node's cc-node / last-hash (the Credit Commons endpoints of the grafted HOUR).
CREDENTIALS = {"exchange": {**OPERATOR, "cc-node": GRAFT["peer_node_path"], "last-hash": GRAFT["last_hash"]}}


def _made(answer, key: str) -> str:
    assert answer.status_code == 201, answer.get_json()
    return answer.json[key]


@pytest.fixture(scope="module")
def known(full_stack) -> dict[str, str]:
    """Real ids for the paths that name something, so generated requests reach the handlers (not only 404s):
    the community and its resident, a grid, a request, an offer and an activity, a pending transfer and an
    account, a merchant with an item, the partner agreement's trust line, its unit and a clearing of a cross
    transfer on it; and a notification waiting
    for the admin (the resident's bill, which the admin is to confirm)."""
    s = full_stack
    now = datetime.now(timezone.utc)
    window = {"window_start": (now + timedelta(hours=2)).isoformat(),
              "window_end": (now + timedelta(days=3)).isoformat()}
    key = lambda: {"Idempotency-Key": str(uuid.uuid4())}  # noqa: E731
    ids = {"community_id": s.cid, "member_id": s.resident_id,
           "account_id": f"m:{s.cid}:{s.resident_id}:HOUR", "trust_line_id": s.trust_line_id, "unit": "HOUR"}
    ids["grid_id"] = _made(s.http("community").post(f"/v1/communities/{s.cid}/grids", headers=bearer(s.admin),
                                                    json={"name": "一网格"}), "grid_id")
    ids["request_id"] = _made(s.http("requests").post("/v1/requests", headers=bearer(s.resident, **key()), json={
        "category": "errands", "title": "帮忙取药", "estimated_minutes": 30, **window}), "request_id")
    ids["offer_id"] = _made(s.http("requests").post("/v1/offers", headers=bearer(s.resident, **key()), json={
        "category": "errands", "title": "周末可以帮忙跑腿", **window}), "offer_id")
    ids["activity_id"] = _made(s.http("requests").post("/v1/activities", headers=bearer(s.admin, **key()), json={
        "activity_type": "cleanup", "title": "楼道大扫除", "place": "三号楼", "capacity": 10,
        "starts_at": window["window_start"], "ends_at": (now + timedelta(hours=4)).isoformat()}), "activity_id")
    ids["transfer_id"] = _made(s.http("ledger").post("/v1/transfers", headers=bearer(s.admin, **key()), json={
        "workflow": "bill", "unit": "HOUR", "counterparty_id": s.resident_id, "amount": 30}), "transfer_id")
    ids["penalty_id"] = _made(s.http("ledger").post("/v1/admin/penalties", headers=bearer(s.admin, **key()), json={
        "member_id": s.resident_id, "reason": "noise"}), "penalty_id")
    ids["merchant_id"] = _made(s.http("settlement").post("/v1/merchants", headers=bearer(s.admin), json={
        "name": "好邻居便利店", "kind": "shop"}), "merchant_id")
    ids["item_id"] = _made(s.http("settlement").post(f"/v1/merchants/{ids['merchant_id']}/items",
                                                     headers=bearer(s.admin), json={
        "name": "大米 5kg", "price_points": 50, "stock": 5}), "item_id")
    # A points-rules version that is still pending (far in the future), so replacing it can succeed.
    ids["version"] = str(_made(s.http("community").post(f"/v1/communities/{s.cid}/points-rules", headers=bearer(
        s.admin), json={"effective_from": "2990-01-01T00:00:00+00:00", "rules": {"hourly_rate": 12}}), "version"))
    assert s.http("exchange").post("/v1/federation/nodes", headers=OPERATOR, json=GRAFT).status_code == 201
    # A cross transfer on the trust line, as the ledger publishes it, then cleared: a clearing record and its CSV.
    quoted = s.http("exchange").get(f"/v1/trust-lines/{s.trust_line_id}/quote", headers=bearer(s.admin),
                                    query_string={"payer_community": s.cid, "amount": 30})
    assert quoted.status_code == 200, quoted.get_json()
    s.dep.publish(topics.LEDGER, "CrossTransferPosted",
                  cross_transfer_posted(quoted.json, s.trust_line_id, s.agreement_id, "t_fuzz_cross"), "t_fuzz_cross")
    wait_until(lambda: s.http("exchange").get(f"/v1/trust-lines/{s.trust_line_id}", headers=bearer(s.admin))
               .json["position"]["transfers"] == 1, timeout=60, message="the cross transfer on the trust line")
    ids["clearing_id"] = _made(s.http("exchange").post(f"/v1/trust-lines/{s.trust_line_id}/clearings",
                                                       headers=bearer(s.admin)), "clearing_id")
    _made(s.http("ledger").post("/v1/transfers", headers=bearer(s.resident, **key()), json={
        "workflow": "bill", "unit": "HOUR", "counterparty_id": s.admin_id, "amount": 20}), "transfer_id")
    wait_until(lambda: s.services["notifications"].db.notifications.find_one({"member_id": s.admin_id}),
               timeout=60, message="the admin's notification of the resident's bill")
    return ids


@pytest.fixture(scope="module")
def gateway(full_stack):
    """The five services over real HTTP on free ports, behind the gateway (also over real HTTP)."""
    from contextlib import ExitStack
    with ExitStack() as stack:
        env = {f"GATEWAY_{name.upper()}_URL": stack.enter_context(serve(harness.app))
               for name, harness in full_stack.services.items()}
        app = create_gateway(Config.from_env("gateway", env=env))
        stack.callback(app.extensions["upstreams"].close)
        yield stack.enter_context(serve(app))


def _fuzz(stack, known: dict, service: str, token: str | None, max_examples: int,
          mode: GenerationMode = GenerationMode.POSITIVE, gateway: str | None = None) -> dict[str, str]:
    """Run every operation of the service's document (in-process, or over HTTP through the gateway when its URL
    is given); the failures, per operation."""
    if gateway:
        schema = schemathesis.openapi.from_dict(stack.specs[service])
        call = {"base_url": f"{gateway}/api/{service}"}
    else:
        schema = schemathesis.openapi.from_wsgi("/openapi.json", stack.services[service].app)
        call = {}
    headers = {"Authorization": f"Bearer {token}", **CREDENTIALS.get(service, {})} if token else {}
    failures: dict[str, str] = {}
    statuses: dict[int, int] = {}
    unsatisfiable: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
            continue  # nothing to break but free-form path segments: the positive passes cover them
        operations += 1
        names = re.findall(r"{(\w+)}", operation.path)
        strategy = operation.as_strategy(mode, headers=headers,
                                         path_parameters={n: known[n] for n in names if n in known} or None)

        @settings(max_examples=max_examples, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            response = case.call_and_validate(checks=CHECKS, **call)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Unsatisfiable:
            unsatisfiable.append(operation.label)
        except Exception as exc:  # noqa: BLE001 - every failing operation is reported, not only the first
            failures[operation.label] = str(exc)[:3000]
            print(f"\nFAILURE {operation.label}: " + str(exc)[:1500].replace("\n", " | "))
    assert operations > 0 and sum(statuses.values()) >= operations
    print(f"\n{service} ({'authenticated' if token else 'anonymous'}, {mode.value}"
          f"{', through the gateway' if gateway else ''}): {operations} operations, "
          f"{sum(statuses.values())} requests, answers by status {dict(sorted(statuses.items()))}"
          + (f"; no invalid request possible for {unsatisfiable}" if unsatisfiable else ""))
    return failures


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_as_a_community_admin_answers_as_documented(full_stack, known, service):
    failures = _fuzz(full_stack, known, service, full_stack.admin, MAX_EXAMPLES)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("service", SERVICES)
def test_invalid_requests_as_a_community_admin_get_documented_client_errors(full_stack, known, service):
    # Negative mode: each request breaks the document somewhere (wrong types, missing fields, bad formats).
    failures = _fuzz(full_stack, known, service, full_stack.admin, NEGATIVE_EXAMPLES, GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_anonymously_answers_as_documented(full_stack, known, service):
    failures = _fuzz(full_stack, known, service, None, ANONYMOUS_EXAMPLES)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_through_the_gateway_answers_as_documented(full_stack, known, gateway, service):
    # The same documents over real HTTP through the gateway's proxy: what it relays must still be as documented.
    failures = _fuzz(full_stack, known, service, full_stack.admin, THROUGH_GATEWAY_EXAMPLES, gateway=gateway)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
