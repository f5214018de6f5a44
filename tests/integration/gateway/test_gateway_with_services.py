"""The gateway in front of the real community and ledger services (HTTP servers on free ports, real Kafka and
MongoDB): the resident's path from login to balances, and the proxy's problems."""
from __future__ import annotations

from contextlib import ExitStack

import pytest
import requests

from shared.config import Config
from shared.devstack.ports import free_port
from shared.testing import serve, wait_until
from services.gateway.app import create_app

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
ADMIN_PHONE, ADMIN_PIN = "13800000011", "246810"
RESIDENT_PHONE, RESIDENT_PIN = "13900000012", "975310"




@pytest.fixture(scope="module")
def site(module_deployment):
    """community + ledger (each with relay and consumer) behind a gateway; matching is configured but down."""
    community = module_deployment.service("community")
    ledger = module_deployment.service("ledger")
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(harness.app)) for name, harness in
                (("community", community), ("ledger", ledger))}
        gateway_app = create_app(Config.from_env("gateway", env={
            "GATEWAY_COMMUNITY_URL": urls["community"], "GATEWAY_LEDGER_URL": urls["ledger"],
            "GATEWAY_MATCHING_URL": f"http://127.0.0.1:{free_port()}", "MAX_CONTENT_LENGTH": "4096"}))
        stack.callback(gateway_app.extensions["upstreams"].close)
        yield {"gateway": stack.enter_context(serve(gateway_app)), "community": community}


@pytest.fixture(scope="module")
def resident(site):
    """A community, its admin and one resident, all made through the gateway."""
    api = f"{site['gateway']}/api/community/v1"
    made = requests.post(f"{api}/communities", headers=OPERATOR, json={
        "code": "gw-lane", "name": "网关社区", "point_value_fen": 10,
        "admin": {"display_name": "赵书记", "phone": ADMIN_PHONE, "password": ADMIN_PIN}})
    assert made.status_code == 201, made.text
    cid = made.json()["community"]["community_id"]
    admin = requests.post(f"{api}/auth/login", json={"community_code": "gw-lane", "phone": ADMIN_PHONE,
                                                     "password": ADMIN_PIN}).json()["token"]
    member = requests.post(f"{api}/communities/{cid}/members", headers={"Authorization": f"Bearer {admin}"},
                           json={"display_name": "钱阿姨", "phone": RESIDENT_PHONE, "password": RESIDENT_PIN,
                                 "skills": ["cooking"]})
    assert member.status_code == 201, member.text
    return {"cid": cid, "admin": admin, "member_id": member.json()["member_id"]}


def login(site, phone=RESIDENT_PHONE, pin=RESIDENT_PIN):
    return requests.post(f"{site['gateway']}/api/community/v1/auth/login",
                         json={"community_code": "gw-lane", "phone": phone, "password": pin})


def test_a_resident_logs_in_and_sees_their_balances_through_the_gateway(site, resident):
    answer = login(site)
    assert answer.status_code == 200 and answer.json()["member_id"] == resident["member_id"]
    me = {"Authorization": f"Bearer {answer.json()['token']}"}
    profile = requests.get(f"{site['gateway']}/api/community/v1/members/me", headers=me)
    assert profile.status_code == 200 and profile.json()["display_name"] == "钱阿姨"
    # The ledger opens the accounts when MemberJoined arrives over Kafka.
    balances = wait_until(lambda: (lambda r: r.json() if r.status_code == 200 and len(r.json()) == 2 else None)(
        requests.get(f"{site['gateway']}/api/ledger/v1/balances", headers=me)), timeout=30,
        message="the ledger opened the new member's accounts")
    assert sorted(a["unit"] for a in balances) == ["HOUR", "PT"]
    assert all(a["posted"] == 0 for a in balances)


def test_query_strings_and_correlation_ids_cross_the_gateway(site, resident):
    admin = {"Authorization": f"Bearer {resident['admin']}", "X-Correlation-ID": "trace-gw-1"}
    page = requests.get(f"{site['gateway']}/api/community/v1/communities/{resident['cid']}/members?limit=1",
                        headers=admin)
    assert page.status_code == 200 and page.json()["limit"] == 1 and len(page.json()["items"]) == 1
    assert page.headers["X-Correlation-ID"] == "trace-gw-1"


def test_the_services_problems_come_back_unchanged(site, resident):
    wrong = login(site, pin="000000")
    assert wrong.status_code == 401 and wrong.headers["Content-Type"] == "application/problem+json"
    assert wrong.json()["code"] == "bad_credentials"
    anonymous = requests.get(f"{site['gateway']}/api/community/v1/members/me")
    assert anonymous.status_code == 401
    invalid = requests.post(f"{site['gateway']}/api/community/v1/communities/{resident['cid']}/grids",
                            headers={"Authorization": f"Bearer {resident['admin']}"}, json={"name": 7})
    assert invalid.status_code == 422 and invalid.json()["errors"]


def test_an_oversized_body_is_refused_and_changes_nothing(site, resident):
    communities = site["community"].db["communities"]
    before = communities.count_documents({})
    answer = requests.post(f"{site['gateway']}/api/community/v1/communities", headers=OPERATOR, json={
        "code": "too-big", "name": "x" * 5000,
        "admin": {"display_name": "A", "phone": "13800000099", "password": "123456"}})
    assert answer.status_code == 413 and answer.headers["Content-Type"] == "application/problem+json"
    assert communities.count_documents({}) == before


def test_a_backend_that_is_down_answers_503_and_others_keep_working(site, resident):
    token = login(site).json()["token"]
    down = requests.get(f"{site['gateway']}/api/matching/v1/members/{resident['member_id']}/suggested-requests",
                        headers={"Authorization": f"Bearer {token}"})
    assert down.status_code == 503 and down.json()["code"] == "upstream_unavailable"
    ready = requests.get(f"{site['gateway']}/readyz").json()
    assert ready["upstreams"]["community"] == "up" and ready["upstreams"]["ledger"] == "up"
    assert ready["upstreams"]["matching"] == "down"
    assert requests.get(f"{site['gateway']}/api/community/v1/members/me",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
