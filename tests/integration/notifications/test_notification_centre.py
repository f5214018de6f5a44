"""The notification centre on real Kafka and MongoDB: events published as their producing services publish
them, each kind for the right member only, once even when redelivered; reading and read marks over HTTP."""
from __future__ import annotations

import json
import uuid

import pytest

from shared import topics
from shared.testing import bearer, wait_until, openapi_response

CID, OTHER_CID = "c_lotus", "c_maple"


def transfer(tid: str, workflow: str, payer: str | None, payee: str, unit: str = "HOUR", amount: int = 90,
             reference: dict | None = None, reason: str | None = None, state: str = "pending") -> dict:
    """A ledger transfer event payload (services.ledger.events.transfer_payload)."""
    debit = f"m:{CID}:{payer}:{unit}" if payer else f"s:{CID}:issuance:{unit}"
    credit = f"x:{CID}:{payee}:PT" if workflow == "redeem" else f"m:{CID}:{payee}:{unit}"
    return {"transfer_id": tid, "community_id": CID, "workflow": workflow, "unit": unit, "amount": amount,
            "debit_account": debit, "credit_account": credit, "payer_id": payer, "payee_id": payee,
            "initiator_id": payee if workflow == "bill" else payer, "state": state, "reason": reason,
            "reference": reference, "occurred_at": "2026-11-29T09:00:00+00:00"}


class Reader:
    def __init__(self, svc, dep, member_id: str, community_id: str = CID):
        self.http, self.member_id = svc.http, member_id
        self.headers = bearer(dep.token(member_id, community_id))

    def page(self, **query) -> dict:
        r = self.http.get("/v1/notifications", query_string=query, headers=self.headers)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def kinds(self) -> list[tuple[str, str]]:
        return [(n["kind"], n["ref"]["id"]) for n in self.page(limit=100)["items"]]

    def read(self, body) -> "object":
        return self.http.post("/v1/notifications/read", json=body, headers=self.headers)


@pytest.fixture(scope="module")
def world(module_deployment):
    dep = module_deployment
    svc = dep.service("notifications")
    names = ("alice", "bob", "carol", "dave", "erin")
    people = {n: Reader(svc, dep, f"m_{n}_{uuid.uuid4().hex[:6]}") for n in names}
    return {"dep": dep, "svc": svc, **people}


def settle(world) -> None:
    """Wait until the consumer has applied everything published so far (a marker event reaches its reader)."""
    marker = f"r_marker_{uuid.uuid4().hex[:8]}"
    world["dep"].publish(topics.MATCHING, "MatchSuggested", {"request_id": marker, "community_id": CID,
                                                              "member_ids": ["m_marker"]}, key=marker)
    wait_until(lambda: world["svc"].db.notifications.find_one({"ref.id": marker}), message="the consumer")


def test_a_help_request_from_post_to_completion(world):
    dep, alice, bob, carol = world["dep"], world["alice"], world["bob"], world["carol"]
    rid = f"r_{uuid.uuid4().hex[:8]}"
    dep.publish(topics.REQUESTS, "RequestPosted", {"request_id": rid, "community_id": CID,
                                                    "requester_id": alice.member_id, "kind": "request",
                                                    "category": "errands", "unit": "HOUR"}, key=rid)
    dep.publish(topics.MATCHING, "MatchSuggested", {"request_id": rid, "community_id": CID,
                                                     "member_ids": [bob.member_id, carol.member_id]}, key=rid)
    dep.publish(topics.REQUESTS, "RequestAccepted", {"request_id": rid, "community_id": CID,
                                                      "requester_id": alice.member_id,
                                                      "helper_id": bob.member_id}, key=rid)
    dep.publish(topics.REQUESTS, "HelpClaimed", {
        "request_id": rid, "community_id": CID, "helper_id": bob.member_id, "payer_id": alice.member_id,
        "unit": "HOUR", "minutes": 90, "activity_type": None, "service_class": "ordinary", "source": "request",
        "claim_id": "cl_1", "title": "帮忙取药"}, key=rid)
    bill = transfer(f"t_{rid}", "bill", alice.member_id, bob.member_id, reference={"kind": "request", "id": rid})
    dep.publish(topics.LEDGER, "TransferPending", bill, key=bill["transfer_id"])
    dep.publish(topics.LEDGER, "TransferPosted", {**bill, "state": "posted"}, key=bill["transfer_id"])
    dep.publish(topics.REQUESTS, "RequestCompleted", {"request_id": rid, "community_id": CID,
                                                       "transfer_id": bill["transfer_id"]}, key=rid)
    settle(world)

    tid = bill["transfer_id"]
    # Newest first; each for the right member only.
    assert alice.kinds() == [("request.completed", rid), ("transfer.posted", tid),
                             ("transfer.awaiting_confirmation", tid), ("request.accepted", rid)]
    assert bob.kinds() == [("request.completed", rid), ("transfer.posted", tid), ("request.suggested", rid)]
    assert carol.kinds() == [("request.suggested", rid)]
    awaiting = alice.page()["items"][2]
    assert awaiting["data"] == {"transfer_id": tid, "workflow": "bill", "unit": "HOUR", "amount": 90,
                                "direction": "out", "reference": {"kind": "request", "id": rid},
                                "counterparty_kind": "member", "counterparty_id": bob.member_id}
    assert awaiting["member_id"] == alice.member_id and awaiting["community_id"] == CID
    assert awaiting["read"] is False and awaiting["ref"] == {"kind": "transfer", "id": tid}
    assert alice.page()["items"][0]["data"]["counterparty_id"] == bob.member_id
    assert alice.page()["items"][3]["data"] == {"request_id": rid, "helper_id": bob.member_id}


def test_redelivered_events_notify_once(world):
    dep, dave = world["dep"], world["dave"]
    gift = transfer(f"t_{uuid.uuid4().hex[:8]}", "credit", world["erin"].member_id, dave.member_id)
    event_id = uuid.uuid4().hex
    for _ in range(3):  # Kafka redelivers; a producer's relay may publish twice after a crash
        dep.publish(topics.LEDGER, "TransferPending", gift, key=gift["transfer_id"], event_id=event_id)
    settle(world)
    assert dave.kinds().count(("transfer.awaiting_confirmation", gift["transfer_id"])) == 1
    assert world["svc"].db.notifications.count_documents({"event_id": event_id}) == 1


def test_a_cross_community_gift_is_announced_to_the_payee_in_their_own_community(world):
    dep = world["dep"]
    near = Reader(world["svc"], dep, f"m_near_{uuid.uuid4().hex[:6]}")
    far = Reader(world["svc"], dep, f"m_far_{uuid.uuid4().hex[:6]}", OTHER_CID)
    gift = transfer(f"t_{uuid.uuid4().hex[:8]}", "credit", near.member_id, far.member_id)
    gift["credit_account"] = f"m:{OTHER_CID}:{far.member_id}:HOUR"
    gift["cross"] = {"payer_community": CID, "payee_community": OTHER_CID, "debit_amount": 90, "credit_amount": 90}
    dep.publish(topics.LEDGER, "TransferPending", gift, key=gift["transfer_id"])
    dep.publish(topics.LEDGER, "TransferPosted", {**gift, "state": "posted"}, key=gift["transfer_id"])
    settle(world)
    tid = gift["transfer_id"]
    assert far.kinds() == [("transfer.posted", tid), ("transfer.awaiting_confirmation", tid)]
    assert near.kinds() == [("transfer.posted", tid)]
    stored = world["svc"].db.notifications.find({"ref.id": tid})
    assert {(n["member_id"], n["community_id"]) for n in stored} == {(far.member_id, OTHER_CID),
                                                                    (near.member_id, CID)}


def test_rejected_expired_and_cancelled_transfers(world):
    dep, alice, bob = world["dep"], world["alice"], world["bob"]
    rejected = transfer(f"t_{uuid.uuid4().hex[:8]}", "bill", alice.member_id, bob.member_id, reason="没来")
    expired = transfer(f"t_{uuid.uuid4().hex[:8]}", "credit", bob.member_id, alice.member_id)
    cancelled = transfer(f"t_{uuid.uuid4().hex[:8]}", "credit", bob.member_id, alice.member_id)
    dep.publish(topics.LEDGER, "TransferRejected", {**rejected, "state": "rejected"}, key=rejected["transfer_id"])
    dep.publish(topics.LEDGER, "TransferExpired", {**expired, "state": "expired"}, key=expired["transfer_id"])
    dep.publish(topics.LEDGER, "TransferCancelled", {**cancelled, "state": "cancelled"},
                key=cancelled["transfer_id"])
    settle(world)
    a, b = alice.kinds(), bob.kinds()
    assert ("transfer.rejected", rejected["transfer_id"]) in a and ("transfer.rejected", rejected["transfer_id"]) in b
    assert ("transfer.expired", expired["transfer_id"]) in a and ("transfer.expired", expired["transfer_id"]) in b
    # The one who cancelled is not told; the one it was waiting for is.
    assert ("transfer.cancelled", cancelled["transfer_id"]) in a
    assert ("transfer.cancelled", cancelled["transfer_id"]) not in b
    reason = next(n for n in bob.page(limit=100)["items"] if n["ref"]["id"] == rejected["transfer_id"])["data"]
    assert reason["reason"] == "没来" and reason["direction"] == "in"


def test_redemptions_at_the_till_and_their_outcomes(world):
    dep, erin = world["dep"], world["erin"]
    ids = [f"red_{uuid.uuid4().hex[:8]}" for _ in range(4)]
    base = {"community_id": CID, "merchant_id": "mer_tea", "member_id": erin.member_id, "points": 50,
            "bill_fen": 3000, "staff_id": "m_staff", "item_id": None, "merchant_name": "好邻居茶馆", "item_name": None}
    for rid in ids[:3]:
        dep.publish(topics.SETTLEMENT, "RedemptionRequested", {**base, "redemption_id": rid, "pay_code": None},
                    key=rid)
    dep.publish(topics.SETTLEMENT, "RedemptionRequested", {**base, "redemption_id": ids[3], "pay_code": "483920"},
                key=ids[3])
    outcome = {k: base[k] for k in ("community_id", "merchant_id", "member_id", "points")}
    for rid, type_ in zip(ids, ("RedemptionCompleted", "RedemptionDeclined", "RedemptionExpired",
                                "RedemptionCompleted")):
        dep.publish(topics.SETTLEMENT, type_, {**outcome, "redemption_id": rid, "transfer_id": f"t_{rid}"}, key=rid)
    # The pending redeem transfer is told by redemption.requested, not again as a transfer.
    dep.publish(topics.LEDGER, "TransferPending", transfer(f"t_{ids[0]}", "redeem", erin.member_id, "mer_tea",
                                                           unit="PT", amount=50), key=f"t_{ids[0]}")
    settle(world)
    kinds = erin.kinds()
    assert sorted(k for k in kinds if k[1] == ids[0]) == [("redemption.approved", ids[0]),
                                                           ("redemption.requested", ids[0])]
    assert ("redemption.declined", ids[1]) in kinds and ("redemption.expired", ids[2]) in kinds
    # Paid with the member's pay code: nothing awaited them, only the outcome.
    assert [k for k in kinds if k[1] == ids[3]] == [("redemption.approved", ids[3])]
    assert not any(k[0].startswith("transfer.") for k in kinds)
    asked = next(n for n in erin.page(limit=100)["items"]
                 if n["ref"]["id"] == ids[0] and n["kind"] == "redemption.requested")
    assert asked["data"] == {"redemption_id": ids[0], "merchant_id": "mer_tea", "points": 50, "bill_fen": 3000,
                             "item_id": None, "merchant_name": "好邻居茶馆", "item_name": None}


def test_a_property_fee_bill_awaits_its_member(world):
    dep, carol = world["dep"], world["carol"]
    charge_id = f"chg_{uuid.uuid4().hex[:8]}"
    dep.publish(topics.SETTLEMENT, "ChargeIssued", {  # as services.settlement.events.charge_issued publishes it
        "charge_id": charge_id, "community_id": CID, "merchant_id": "mer_pm", "member_id": carol.member_id,
        "bill_fen": 30000, "memo": "2026年11月物业费", "merchant_name": "莲花物业服务中心",
        "expires_at": "2026-12-29T09:00:00+00:00"}, key=charge_id)
    settle(world)
    told = next(n for n in carol.page(limit=100)["items"] if n["ref"]["id"] == charge_id)
    assert told["kind"] == "charge.issued" and told["ref"] == {"kind": "charge", "id": charge_id}
    assert told["data"]["bill_fen"] == 30000 and told["data"]["merchant_name"] == "莲花物业服务中心"


def test_points_about_to_expire_are_told_to_their_owner_once(world):
    dep, dave = world["dep"], world["dave"]
    account = f"m:{CID}:{dave.member_id}:PT"
    # The payload services.ledger.economy.remind publishes.
    due = {"community_id": CID, "member_id": dave.member_id, "account_id": account, "rule_version": 2,
           "days": 7, "expires_on": "2027-01-31", "points": 120}
    event_id = f"e_{uuid.uuid4().hex}"
    for _ in range(2):  # redelivered: one notification
        dep.publish(topics.LEDGER, "PointsExpiring", due, key=account, event_id=event_id)
    settle(world)
    told = [n for n in dave.page(limit=100)["items"] if n["kind"] == "points.expiring"]
    assert len(told) == 1 and told[0]["ref"] == {"kind": "points", "id": account}
    assert told[0]["data"] == {"unit": "PT", "amount": 120, "expires_on": "2027-01-31", "days": 7}
    assert told[0]["read"] is False


def test_no_personal_data_is_kept(world):
    raw = json.dumps(list(world["svc"].db.notifications.find({}, {"_id": 0, "created_at": 0, "read_at": 0})),
                     ensure_ascii=False)
    assert "483920" not in raw and "phone" not in raw and "display_name" not in raw


def test_paging_newest_first_and_read_marks(world):
    dep = world["dep"]
    fay = Reader(world["svc"], dep, f"m_fay_{uuid.uuid4().hex[:6]}")
    requests_ = [f"r_{i}_{uuid.uuid4().hex[:6]}" for i in range(5)]
    for rid in requests_:
        dep.publish(topics.MATCHING, "MatchSuggested", {"request_id": rid, "community_id": CID,
                                                         "member_ids": [fay.member_id]}, key=rid)
    settle(world)
    first = fay.page(limit=2)
    assert first["unread"] == 5 and len(first["items"]) == 2 and first["next_cursor"]
    second = fay.page(limit=2, cursor=first["next_cursor"])
    third = fay.page(limit=2, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    items = first["items"] + second["items"] + third["items"]
    assert len({n["notification_id"] for n in items}) == 5
    stamps = [n["created_at"] for n in items]
    assert stamps == sorted(stamps, reverse=True)

    # Marking someone else's notification changes nothing.
    alices = world["alice"].page()["items"][0]["notification_id"]
    r = fay.read({"ids": [alices, items[0]["notification_id"]]})
    assert r.status_code == 200 and r.get_json() == {"unread": 4}
    assert next(n for n in world["alice"].page(limit=100)["items"] if n["notification_id"] == alices)["read"] is False
    unread = fay.page(unread_only="true", limit=10)
    assert unread["unread"] == 4 and items[0]["notification_id"] not in [n["notification_id"] for n in unread["items"]]
    assert fay.page()["items"][0]["read"] is True
    assert fay.read({"ids": [items[0]["notification_id"]]}).get_json() == {"unread": 4}  # twice is fine
    assert fay.read({"all": True}).get_json() == {"unread": 0}
    assert fay.page(unread_only="true")["items"] == [] and fay.page()["unread"] == 0
    assert world["alice"].page()["unread"] > 0


def test_members_of_another_community_see_nothing_of_this_one(world):
    stranger = Reader(world["svc"], world["dep"], world["alice"].member_id, OTHER_CID)
    assert stranger.page() == {"items": [], "unread": 0, "next_cursor": None}


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"unread_only": "maybe"}, {"cursor": "x" * 201}])
def test_bad_list_queries_are_422(world, query):
    r = world["alice"].http.get("/v1/notifications", query_string=query, headers=world["alice"].headers)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_a_bad_cursor_is_400(world):
    r = world["alice"].http.get("/v1/notifications", query_string={"cursor": "not-a-cursor"},
                                headers=world["alice"].headers)
    assert r.status_code == 400 and r.get_json()["code"] == "bad_cursor"


@pytest.mark.parametrize("body", [{}, {"all": False}, {"ids": []}, {"ids": ["n"] * 201}, {"ids": [5]},
                                  {"ids": ["n_1"], "all": True}, {"all": "yes"}, [1, 2]])
def test_bad_read_bodies_are_422_and_change_nothing(world, body):
    before = world["alice"].page()["unread"]
    assert before > 0
    r = world["alice"].read(body)
    assert r.status_code == 422, (body, r.get_json())
    assert r.mimetype == "application/problem+json"
    assert world["alice"].page()["unread"] == before


def test_a_token_is_needed(world):
    http = world["svc"].http
    assert http.get("/v1/notifications").status_code == 401
    r = http.post("/v1/notifications/read", json={"all": True})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"


def test_a_bad_event_goes_to_the_dead_letter_topic(world):
    dep = world["dep"]
    bad = dep.publish(topics.LEDGER, "TransferPending", {"transfer_id": "t_bad", "community_id": CID}, key="t_bad")
    settle(world)
    wait_until(lambda: any(json.loads(e["value"])["id"] == bad.id for e in dep_dlq(dep, topics.LEDGER)),
               message="the bad event on the dead-letter topic")


def dep_dlq(dep, topic: str) -> list[dict]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=dep.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        name = dep.prefix + topics.dlq(topic)
        parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        found = []
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=500).values():
                found.extend(json.loads(r.value) for r in records)
        return found
    finally:
        consumer.close()


def test_openapi_documents_both_endpoints_and_their_problems(world):
    spec = world["svc"].http.get("/openapi.json").get_json()
    listing = spec["paths"]["/v1/notifications"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"unread_only", "limit", "cursor"}
    assert "application/problem+json" in openapi_response(spec, listing, 401)["content"]
    read = spec["paths"]["/v1/notifications/read"]["post"]
    assert "application/problem+json" in openapi_response(spec, read, 422)["content"]
    assert set(spec["components"]["schemas"]["Notification"]["properties"]) == {
        "notification_id", "member_id", "community_id", "kind", "created_at", "read", "ref", "data"}
