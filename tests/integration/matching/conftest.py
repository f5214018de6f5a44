"""Fixtures for the matching service's integration tests: other services' events published as they would."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaConsumer, TopicPartition

from shared import topics
from shared.envelope import new_event
from shared.kafka_bus import make_producer
from shared.testing import bearer

PRODUCERS = {topics.COMMUNITY: "community", topics.REQUESTS: "requests", topics.LEDGER: "ledger"}
# Next Wednesday 09:00-11:00 Shanghai time, far enough ahead to stay open during the test.
_now = datetime.now(timezone.utc)
WED_9 = (_now + timedelta(days=7 + (2 - _now.weekday()) % 7)).replace(hour=1, minute=0, second=0, microsecond=0)
WEDNESDAY_MORNING = [{"day": 2, "start": "08:00", "end": "12:00"}]


class World:
    """One community's worth of facts, published to Kafka as community / requests / ledger would."""

    def __init__(self, deployment, producer, svc):
        self.dep, self.producer, self.svc = deployment, producer, svc
        self.suffix = uuid.uuid4().hex[:6]
        self.cid = f"c-{self.suffix}"

    def id(self, name: str) -> str:
        """A test-unique id for a short name."""
        return f"{name}-{self.suffix}"

    def publish(self, topic: str, type_: str, key: str, **payload) -> dict:
        """Publish one event (payload gets community_id) and wait for Kafka's acknowledgement."""
        payload.setdefault("community_id", self.cid)
        event = new_event(type_, payload, key=key, producer=PRODUCERS[topic], community_id=payload["community_id"])
        self.send_raw(topic, key, event.to_json())
        return event.to_dict()

    def send_raw(self, topic: str, key: str, value: bytes) -> None:
        """Publish bytes as they are (duplicates, malformed events)."""
        self.producer.send(self.svc.config.topic(topic), key=key.encode(), value=value).get(timeout=30)

    def community(self, neighbours: dict[str, list[str]]) -> None:
        """CommunityCreated plus one GridCreated per grid."""
        self.publish(topics.COMMUNITY, "CommunityCreated", self.cid, code=self.suffix, name="test",
                     point_value_fen=10, settings={"timezone": "Asia/Shanghai"})
        for grid, near in neighbours.items():
            self.publish(topics.COMMUNITY, "GridCreated", self.id(grid), grid_id=self.id(grid), name=grid,
                         neighbours=[self.id(n) for n in near])

    def member(self, name: str, grid: str | None, skills=(), availability=None, vulnerable=False,
               community_id=None) -> str:
        """MemberJoined."""
        member_id = self.id(name)
        self.publish(topics.COMMUNITY, "MemberJoined", member_id, member_id=member_id,
                     community_id=community_id or self.cid, grid_id=self.id(grid) if grid else None,
                     roles=["resident"], skills=list(skills),
                     availability=WEDNESDAY_MORNING if availability is None else availability,
                     vulnerable=vulnerable, merchant_id=None, status="active",
                     joined_at=datetime.now(timezone.utc).isoformat())
        return member_id

    def request(self, name: str, requester: str, category: str, grid: str | None, urgency="normal") -> str:
        """RequestPosted for next Wednesday 09:00-11:00 local time."""
        request_id = self.id(name)
        self.publish(topics.REQUESTS, "RequestPosted", request_id, request_id=request_id, requester_id=requester,
                     kind="request", category=category, unit="HOUR", estimated_minutes=60,
                     window_start=WED_9.isoformat(), window_end=(WED_9 + timedelta(hours=2)).isoformat(),
                     grid_id=self.id(grid) if grid else None, urgency=urgency, activity_type=None)
        return request_id

    def requests_event(self, type_: str, request_id: str, **payload) -> dict:
        """Any requests.events event about one request."""
        return self.publish(topics.REQUESTS, type_, request_id, request_id=request_id, **payload)

    def token(self, member_id: str, *roles: str, community_id: str | None = None) -> str:
        """A bearer token for a member of this community (or another one)."""
        return self.dep.token(member_id, community_id or self.cid, *roles)

    def get(self, path: str, member_id: str, *roles: str, community_id: str | None = None, **params):
        """GET as a member."""
        return self.svc.http.get(path, query_string=params,
                                 headers=bearer(self.token(member_id, *roles, community_id=community_id)))

    def suggestions(self, request_id: str, as_member: str, *roles: str, **params):
        """GET /v1/requests/<id>/suggestions."""
        return self.get(f"/v1/requests/{request_id}/suggestions", as_member, *roles, **params)

    def suggested_ids(self, request_id: str, as_member: str) -> list[str] | None:
        """Member ids suggested for an open request (None until matching knows the request)."""
        response = self.suggestions(request_id, as_member, limit=20)
        return [s["member_id"] for s in response.get_json()["suggestions"]] if response.status_code == 200 else None

    def member_view(self, member_id: str) -> dict | None:
        """GET /v1/members/<id>/suggested-requests as the member (None until matching knows them)."""
        response = self.get(f"/v1/members/{member_id}/suggested-requests", member_id, limit=50)
        return response.get_json() if response.status_code == 200 else None

    def match_suggested(self, request_id: str) -> list[dict]:
        """MatchSuggested events for one request on matching.events."""
        return [e for e in read_topic(self.svc.config, topics.MATCHING)
                if e["type"] == "MatchSuggested" and e["payload"]["request_id"] == request_id]

    def dead_letters(self, topic: str) -> list[dict]:
        """What the consumer parked on `<topic>.dlq` (reason, original value…)."""
        return read_topic(self.svc.config, topics.dlq(topic))

    def stored_member(self, member_id: str) -> dict:
        """The member as the read model holds them (to wait for facts not visible through the API)."""
        return self.svc.db.members.find_one({"_id": member_id}) or {}


def read_topic(config, topic: str, timeout_ms: int = 1000) -> list[dict]:
    """Every record on a (prefixed) topic, decoded."""
    consumer = KafkaConsumer(bootstrap_servers=config.kafka_bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=timeout_ms)
    try:
        name = config.topic(topic)
        tps = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return [json.loads(r.value) for r in consumer]
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def svc(module_deployment):
    """The matching service (web app + relay + consumer) for this module."""
    return module_deployment.service("matching")


@pytest.fixture(scope="module")
def producer(svc):
    """A producer standing in for the community, requests and ledger services."""
    p = make_producer(svc.config)
    yield p
    p.close(timeout=5)


@pytest.fixture
def world(module_deployment, producer, svc) -> World:
    """A fresh community per test, so tests sharing the module's service never interfere."""
    return World(module_deployment, producer, svc)

