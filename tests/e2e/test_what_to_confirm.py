"""What a person must confirm says what it is for: the ledger's pending transfers made from other services'
events carry a human title in `memo` and both parties' ids (community, requests, ledger and settlement on
real Kafka and MongoDB)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.testing import bearer, wait_until


class Person:
    """A member calling any service with their bearer token."""

    def __init__(self, dep, member_id: str, community_id: str, *roles: str, merchant_id: str | None = None):
        self.dep, self.member_id = dep, member_id
        self.headers = bearer(dep.token(member_id, community_id, *(roles or ("resident",)), merchant_id=merchant_id))

    def call(self, service: str, method: str, path: str, json=None, **query):
        resp = getattr(self.dep.services[service].http, method)(path, json=json, query_string=query,
                                                                headers=self.headers)
        assert resp.status_code < 300, (path, resp.status_code, resp.get_json())
        return resp.get_json()

    def awaiting(self, reference: dict) -> dict:
        """The transfer awaiting my confirmation for `reference`, once the ledger has made it."""
        def find():
            return next((t for t in self.call("ledger", "get", "/v1/transfers/awaiting")
                         if t["reference"] == reference), None)
        return wait_until(find, message=f"a transfer awaiting confirmation for {reference}")


@pytest.fixture(scope="module")
def world(module_deployment):
    dep = module_deployment
    for name in ("community", "ledger", "requests", "settlement"):
        dep.service(name)
    made = dep.services["community"].http.post("/v1/communities", headers={"X-Operator-Key": "dev-operator-key"},
                                               json={"code": f"memo-{uuid.uuid4().hex[:8]}", "name": "莲花社区",
                                                     "admin": {"display_name": "王主任", "phone": "13900000000",
                                                               "password": "admin-password-1"}}).get_json()
    cid = made["community"]["community_id"]
    world = {"dep": dep, "cid": cid, "admin": Person(dep, made["admin_member_id"], cid, "admin")}
    world["organizer"] = join(world, "resident", "organizer")
    world["verifier"] = join(world, "resident", "grid_worker")
    world["alice"], world["bob"] = join(world), join(world)
    return world


def join(world, *roles, merchant_id=None) -> Person:
    member = world["admin"].call("community", "post", f"/v1/communities/{world['cid']}/members", {
        "display_name": "邻居", "phone": f"13{uuid.uuid4().int % 10**9:09d}", "password": "pass-word-123",
        "roles": list(roles or ("resident",)), "merchant_id": merchant_id})
    person = Person(world["dep"], member["member_id"], world["cid"], *(roles or ("resident",)),
                    merchant_id=merchant_id)
    wait_until(lambda: world["dep"].services["settlement"].db.members.find_one({"_id": person.member_id})
               and len(person.call("ledger", "get", "/v1/balances")) == 2, message="accounts opened")
    return person


def test_a_bill_from_a_help_claim_carries_the_request_title(world):
    alice, bob = world["alice"], world["bob"]
    now = datetime.now(timezone.utc)
    rid = alice.call("requests", "post", "/v1/requests", {
        "category": "errands", "title": "帮忙取药", "estimated_minutes": 30,
        "window_start": now.isoformat(), "window_end": (now + timedelta(hours=4)).isoformat()})["request_id"]
    bob.call("requests", "post", f"/v1/requests/{rid}/accept")
    code = alice.call("requests", "post", f"/v1/requests/{rid}/codes")["code"]
    bob.call("requests", "post", f"/v1/requests/{rid}/check-in", {"code": code})
    alice.call("requests", "post", f"/v1/requests/{rid}/agree-claim", {"minutes": 30})
    code = alice.call("requests", "post", f"/v1/requests/{rid}/codes")["code"]
    bob.call("requests", "post", f"/v1/requests/{rid}/check-out", {"code": code})
    bob.call("requests", "post", f"/v1/requests/{rid}/claim", {"minutes": 30})

    bill = alice.awaiting({"kind": "request", "id": rid})
    assert (bill["memo"], bill["workflow"], bill["unit"], bill["amount"]) == ("帮忙取药", "bill", "HOUR", 30)
    assert (bill["payer_id"], bill["payee_id"], bill["initiator_id"]) == (alice.member_id, bob.member_id,
                                                                          bob.member_id)
    # The helper sees the same title on the transfer they are waiting for.
    assert bob.call("ledger", "get", f"/v1/transfers/{bill['transfer_id']}")["memo"] == "帮忙取药"


def test_an_award_from_verified_attendance_carries_the_activity_title(world):
    organizer, bob = world["organizer"], world["bob"]
    start = datetime.now(timezone.utc) + timedelta(seconds=1)
    aid = organizer.call("requests", "post", "/v1/activities", {
        "activity_type": "environment_cleanup", "title": "清理河道", "place": "东门", "capacity": 5,
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()})["activity_id"]
    bob.call("requests", "post", f"/v1/activities/{aid}/signup")
    wait_until(lambda: datetime.now(timezone.utc) > start, message="the activity to start")
    organizer.call("requests", "post", f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id,
                                                                            "minutes": 90})
    award = world["verifier"].awaiting({"kind": "activity", "id": aid})
    assert (award["memo"], award["workflow"], award["payee_id"], award["payer_id"]) == (
        "清理河道", "award", bob.member_id, None)


def test_a_till_redemption_and_a_mall_order_carry_the_shop_and_item(world):
    admin, alice = world["admin"], world["alice"]
    # Alice earns points: an award the grid worker confirms.
    claim = alice.call("ledger", "post", "/v1/transfers", {"workflow": "award", "unit": "PT", "minutes": 1440,
                                                           "service_class": "high_risk"})
    world["verifier"].call("ledger", "post", f"/v1/transfers/{claim['transfer_id']}/confirm")
    wait_until(lambda: world["dep"].services["settlement"].db.ledger_accounts.find_one(
        {"owner_kind": "member", "owner_id": alice.member_id, "unit": "PT", "posted": {"$gt": 0}}),
        message="settlement to see alice's points")
    merchant = admin.call("settlement", "post", "/v1/merchants", {"name": "好邻居茶馆", "max_discount_share_bp": 5000})
    staff = join(world, "merchant", merchant_id=merchant["merchant_id"])

    rid = staff.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/redemptions",
                     {"member_id": alice.member_id, "points": 50, "bill_fen": 3000})["redemption_id"]
    till = alice.awaiting({"kind": "redemption", "id": rid})
    assert (till["memo"], till["workflow"], till["amount"]) == ("好邻居茶馆", "redeem", 50)
    assert (till["payer_id"], till["payee_id"], till["initiator_id"]) == (
        alice.member_id, merchant["merchant_id"], staff.member_id)

    item = staff.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/items",
                      {"name": "菊花茶 一壶", "price_points": 30, "stock": 2})
    order = alice.call("settlement", "post", f"/v1/items/{item['item_id']}/orders", {})
    mall = alice.awaiting({"kind": "redemption", "id": order["redemption_id"]})
    assert (mall["memo"], mall["amount"], mall["payee_id"]) == ("好邻居茶馆 · 菊花茶 一壶", 30, merchant["merchant_id"])
