"""A whole deployment for the tests that walk every service's OpenAPI document (hardening/ and fuzz/): the seven
services in-process with their relays and consumers on the real Kafka and MongoDB, a real community made
through the community API, its admin and a resident logged in, and a partner community whose accepted agreement
opened a trust line in the exchange."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from shared.testing import Deployment, bearer, wait_until

SERVICES = ("community", "requests", "matching", "ledger", "settlement", "exchange", "notifications")
OPERATOR = {"X-Operator-Key": "dev-operator-key"}
ADMIN_PHONE, RESIDENT_PHONE, PARTNER_PHONE, PIN = "13800000101", "13900000102", "13800000103", "246810"
# The fuzzer and the hardening walk send many requests per token: limits are not what they test.
UNLIMITED = {"LEDGER_MONEY_RATE_LIMIT": "1000000/minute", "SETTLEMENT_MONEY_RATE_LIMIT": "1000000/minute",
             "COMMUNITY_REPORT_RATE_LIMIT": "1000000/minute", "COMMUNITY_LOOKUP_RATE_LIMIT": "1000000/minute"}


@dataclass
class FullStack:
    dep: Deployment
    services: dict
    cid: str = ""
    admin_id: str = ""
    resident_id: str = ""
    admin: str = ""
    resident: str = ""
    partner_cid: str = ""
    partner_admin: str = ""
    agreement_id: str = ""
    trust_line_id: str = ""
    specs: dict = field(default_factory=dict)

    def http(self, service: str):
        return self.services[service].http

    def counts(self) -> dict:
        """Documents per collection of every service's database (outbox and processed events included)."""
        return {(name, coll): h.db[coll].count_documents({}) for name, h in self.services.items()
                for coll in sorted(h.db.list_collection_names())}

    def quiet(self) -> dict:
        """The counts once no relay or consumer is still writing (two equal snapshots in a row)."""
        last = self.counts()
        while True:
            time.sleep(0.2)
            now = self.counts()
            if now == last:
                return now
            last = now


@pytest.fixture(scope="module")
def full_stack(infra) -> FullStack:
    dep = Deployment(infra.kafka_bootstrap, infra.mongo_url)
    try:
        services = {name: dep.service(name, settings=UNLIMITED) for name in SERVICES}
        stack = FullStack(dep, services)
        community = stack.http("community")
        made = community.post("/v1/communities", headers=OPERATOR, json={
            "code": "harden-lane", "name": "加固社区", "point_value_fen": 10,
            "admin": {"display_name": "孙主任", "phone": ADMIN_PHONE, "password": PIN}})
        assert made.status_code == 201, made.get_json()
        stack.cid, stack.admin_id = made.json["community"]["community_id"], made.json["admin_member_id"]
        stack.admin = _login(community, ADMIN_PHONE)
        joined = community.post(f"/v1/communities/{stack.cid}/members", headers=bearer(stack.admin), json={
            "display_name": "周阿姨", "phone": RESIDENT_PHONE, "password": PIN, "skills": ["cooking"]})
        assert joined.status_code == 201, joined.get_json()
        stack.resident_id = joined.json["member_id"]
        stack.resident = _login(community, RESIDENT_PHONE)
        # The ledger opens both members' accounts from MemberJoined: the deployment has heard of them.
        ledger = services["ledger"].db
        wait_until(lambda: ledger.accounts.count_documents({"community_id": stack.cid, "kind": "member"}) >= 4,
                   timeout=60, message="the members' ledger accounts")
        # A partner community and an accepted agreement: the exchange opens an HOUR trust line between the two.
        partner = community.post("/v1/communities", headers=OPERATOR, json={
            "code": "harden-partner", "name": "加固伙伴社区", "point_value_fen": 5,
            "admin": {"display_name": "钱主任", "phone": PARTNER_PHONE, "password": PIN}})
        assert partner.status_code == 201, partner.get_json()
        stack.partner_cid = partner.json["community"]["community_id"]
        stack.partner_admin = _login(community, PARTNER_PHONE, "harden-partner")
        proposed = community.post("/v1/partners", headers=bearer(stack.admin), json={
            "partner_code": "harden-partner", "clearing_period": "weekly",
            "units": [{"unit": "HOUR", "net_limit": 600}]})
        assert proposed.status_code == 201, proposed.get_json()
        stack.agreement_id = agreement = proposed.json["agreement_id"]
        accepted = community.post(f"/v1/partners/{agreement}/accept", headers=bearer(stack.partner_admin))
        assert accepted.status_code == 200, accepted.get_json()
        stack.trust_line_id = f"tl:{agreement}:HOUR"
        wait_until(lambda: services["exchange"].db.trust_lines.find_one({"_id": stack.trust_line_id}),
                   timeout=60, message="the partner agreement's trust line")
        stack.specs = {name: stack.http(name).get("/openapi.json").json for name in SERVICES}
        yield stack
    finally:
        dep.close()


def _login(community, phone: str, code: str = "harden-lane") -> str:
    answer = community.post("/v1/auth/login", json={"community_code": code, "phone": phone,
                                                    "password": PIN})
    assert answer.status_code == 200, answer.get_json()
    return answer.json["token"]
