"""Fixtures for the ledger's integration tests: one ledger per module on the real Kafka and MongoDB,
plus a kit that publishes other services' events and reads the ledger's."""
from __future__ import annotations

import uuid

import pytest

from shared import topics
from shared.testing import bearer, wait_until

UNLIMITED = {"LEDGER_MONEY_RATE_LIMIT": "100000/minute"}


class EventLog:
    """The events the ledger has published, read from its topic."""

    def __init__(self, dep):
        self.dep = dep

    def of(self, type_: str, **payload) -> list[dict]:
        """Events of a type whose payload has the given values."""
        return self.dep.events(topics.LEDGER, type_, **payload)

    def wait(self, type_: str, count: int = 1, **payload) -> list[dict]:
        """Wait until at least `count` such events were published."""
        return wait_until(lambda: len(found := self.of(type_, **payload)) >= count and found,
                          message=f"{type_} {payload}")


class Kit:
    """Drives one ledger: HTTP calls as members, events from other services, direct DB checks."""

    def __init__(self, dep, ledger, log: EventLog):
        self.dep, self.ledger, self.http, self.db, self.log = dep, ledger, ledger.http, ledger.db, log

    def community(self) -> str:
        """A fresh community id (its CommunityCreated is not needed: system accounts open with the first move of a
        member who joined; members must `join` first)."""
        return "c_" + uuid.uuid4().hex[:12]

    def token(self, member: str, community: str, *roles: str, merchant_id: str | None = None) -> str:
        return self.dep.token(member, community, *roles, merchant_id=merchant_id)

    def h(self, member: str, community: str, *roles: str, merchant_id=None, **headers) -> dict:
        return bearer(self.token(member, community, *roles, merchant_id=merchant_id), **headers)

    def publish(self, topic: str, type_: str, payload: dict, key: str, event_id: str | None = None,
                occurred_at: str | None = None) -> dict:
        """Publish an event as its producing service would (at `occurred_at` if given)."""
        return self.dep.publish(topic, type_, payload, key, event_id, occurred_at).to_dict()

    def join(self, community: str, *members: str, grid_id: str | None = None) -> None:
        """Members join (MemberJoined, in `grid_id` if given) and their accounts are open."""
        for m in members:
            self.publish("community.events", "MemberJoined",
                         {"community_id": community, "member_id": m, "grid_id": grid_id, "roles": ["resident"],
                          "skills": [], "availability": [], "vulnerable": False, "merchant_id": None,
                          "status": "active", "joined_at": "2025-01-01T00:00:00+00:00"}, m)
        ids = [f"m:{community}:{m}:{u}" for m in members for u in ("HOUR", "PT")]
        # The first join of a module also waits for the consumer to get its partitions (slow on a busy machine).
        wait_until(lambda: self.db.accounts.count_documents({"_id": {"$in": ids}}) == len(ids), timeout=90,
                   message="member accounts")

    def balance(self, member: str, community: str, unit: str) -> dict:
        r = self.http.get("/v1/balances", headers=self.h(member, community))
        assert r.status_code == 200, r.json
        return next(b for b in r.json if b["unit"] == unit)

    def transfer(self, member: str, community: str, *roles: str, **body):
        return self.http.post("/v1/transfers", json=body, headers=self.h(member, community, *roles))

    def act(self, verb: str, transfer_id: str, member: str, community: str, *roles: str, merchant_id=None, **body):
        return self.http.post(f"/v1/transfers/{transfer_id}/{verb}", json=body,
                              headers=self.h(member, community, *roles, merchant_id=merchant_id))

    def grant(self, account_id: str, community: str, limit: int):
        r = self.http.post(f"/v1/admin/accounts/{account_id}/credit-limit", json={"credit_limit": limit},
                           headers=self.h("root", community, "admin"))
        assert r.status_code == 200, r.json
        return r.json

    def rules(self, community: str, version: int = 1, effective_from: str = "2020-01-01T00:00:00+00:00",
              revision: int = 1, **rules) -> None:
        """Publish a version of the community's points rules (as the community service does) and wait until the
        ledger keeps it."""
        self.publish("community.events", "PointsRulesVersioned",
                     {"community_id": community, "version": version, "revision": revision,
                      "effective_from": effective_from, "published_at": effective_from, "rules": rules}, community)
        wait_until(lambda: (self.db.points_rules.find_one({"_id": f"{community}:{version}"}) or {}).get("revision")
                   == revision, timeout=60, message="points rules version")

    def plain(self, community: str) -> None:
        """Rules under which an award is exactly its hourly points: no one-off bonuses, no newcomer boost, no
        yearly cap (once per community)."""
        if self.db.points_rules.find_one({"_id": f"{community}:1"}) is None:
            self.rules(community, first_participation_bonus=0, newcomer={"activities": 0},
                       streak={"every": 0}, caps={"per_year": None})

    def fund(self, member: str, community: str, points: int, minutes: int = 0) -> None:
        """Give a member PT by a confirmed award (hourly rate 10/h, under plain rules) and HOUR by a credit
        limit."""
        if points:
            self.plain(community)
            r = self.transfer(member, community, workflow="award", unit="PT", minutes=points * 6)
            assert r.status_code == 201, r.json
            c = self.act("confirm", r.json["transfer_id"], "olga", community, "organizer")
            assert c.status_code == 200 and c.json["state"] == "posted", c.json
        if minutes:
            self.grant(f"m:{community}:{member}:HOUR", community, minutes)

    def audit(self, community: str) -> dict:
        r = self.http.get("/v1/admin/audit", headers=self.h("root", community, "admin"))
        assert r.status_code == 200, r.json
        return r.json

@pytest.fixture(scope="module")
def kit(module_deployment):
    ledger = module_deployment.service("ledger", settings=UNLIMITED)
    return Kit(module_deployment, ledger, EventLog(module_deployment))
