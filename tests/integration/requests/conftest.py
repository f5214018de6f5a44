"""Fixtures for the requests service's integration tests: one service per module and a settable clock."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared import topics
from shared.testing import bearer


class Clock:
    """The service's clock, moved by the test (check-in and check-out times come from it)."""

    def __init__(self):
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        """Move the clock forward."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="module")
def svc(module_deployment):
    """The requests service (web app + relay + ledger consumer) for this module."""
    return module_deployment.service("requests")


@pytest.fixture
def clock(svc):
    """A fresh settable clock installed in the service for one test."""
    clock = Clock()
    svc.app.extensions["clock"] = clock
    yield clock


class Client:
    """A member calling the requests API with their token."""

    def __init__(self, svc, token: str, member_id: str):
        self.svc, self.token, self.member_id = svc, token, member_id

    def get(self, path: str, **params):
        return self.svc.http.get(path, headers=bearer(self.token), query_string=params)

    def post(self, path: str, json=None, **headers):
        return self.svc.http.post(path, json=json if json is not None else {}, headers=bearer(self.token, **headers))


@pytest.fixture
def members(module_deployment, svc):
    """Fresh residents and staff of one community per test as API clients, and a member of another."""
    dep, suffix = module_deployment, uuid.uuid4().hex[:6]

    def client(name, community_id, *roles):
        member_id = f"{name}-{suffix}"
        return Client(svc, dep.token(member_id, community_id, *roles), member_id)
    cid = f"c-{suffix}"
    return {"alice": client("alice", cid), "bob": client("bob", cid), "carol": client("carol", cid),
            "dave": client("dave", cid), "org": client("org", cid, "resident", "organizer"),
            "admin": client("admin", cid, "admin"), "eve": client("eve", f"other-{suffix}")}


@pytest.fixture
def window(clock):
    """window(hours, start_in): an ISO time window starting `start_in` hours from the clock's now."""
    def make(hours=4, start_in=0) -> dict:
        start = clock.now + timedelta(hours=start_in)
        return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=hours)).isoformat()}
    return make


@pytest.fixture
def emitted(svc):
    """emitted(type, key): events the service wrote to its outbox (what the relay publishes), oldest first."""
    def read(type_: str | None = None, key: str | None = None) -> list[dict]:
        query = {k: v for k, v in (("type", type_), ("key", key)) if v}
        return [json.loads(bytes(r["value"])) for r in svc.db.outbox.find(query).sort([("created_at", 1), ("n", 1)])]
    return read


@pytest.fixture
def ledger_says(module_deployment):
    """ledger_says(type, payload): publish a ledger.events transfer event as the ledger would; returns it."""
    def send(type_: str, **payload):
        return module_deployment.publish(topics.LEDGER, type_, payload, key=payload["transfer_id"])
    return send
