"""Help from post to payment across community, requests, matching and ledger (real Kafka and MongoDB).

A resident posts a request, matching suggests the right neighbour, the neighbour accepts, checks in and
out with the requester's codes, claims; the ledger's pending transfer is confirmed (or rejected) by the
requester and the request ends completed (or disputed). A community activity ends in a pending award.
The requests service's clock is moved by the test so the measured duration is real minutes of "work".
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.testing import bearer, wait_until

ALL_WEEK = [{"day": d, "start": "00:00", "end": "23:59"} for d in range(7)]


class Clock:
    """The requests service's clock, moved forward by the test."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


class Resident:
    """A member calling any service with their bearer token."""

    def __init__(self, dep, member_id: str, community_id: str, *roles: str):
        self.dep, self.member_id = dep, member_id
        self.token = dep.token(member_id, community_id, *(roles or ("resident",)))

    def call(self, service: str, method: str, path: str, json=None, **query):
        http = self.dep.services[service].http
        return getattr(http, method)(path, json=json, query_string=query, headers=bearer(self.token))

    def balance(self, unit: str) -> dict:
        accounts = self.call("ledger", "get", "/v1/balances").get_json()
        return next(a for a in accounts if a["unit"] == unit)


@pytest.fixture(scope="module")
def world(module_deployment):
    """The four services running in-process on one isolated deployment, and one community with grids."""
    dep = module_deployment
    for name in ("community", "ledger", "matching", "requests"):
        dep.service(name)
    resp = dep.services["community"].http.post("/v1/communities", headers={"X-Operator-Key": "dev-operator-key"}, json={
        "code": f"e2e-{uuid.uuid4().hex[:8]}", "name": "Sunny Court", "point_value_fen": 10,
        "admin": {"display_name": "Admin", "phone": "13900000000", "password": "admin-password-1"}})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    cid = body["community"]["community_id"]
    admin = Resident(dep, body["admin_member_id"], cid, "admin")
    g1 = admin.call("community", "post", f"/v1/communities/{cid}/grids", {"name": "Building 1"}).get_json()
    g2 = admin.call("community", "post", f"/v1/communities/{cid}/grids",
                    {"name": "Building 2", "neighbours": [g1["grid_id"]]}).get_json()
    return {"dep": dep, "cid": cid, "admin": admin, "g1": g1["grid_id"], "g2": g2["grid_id"]}


@pytest.fixture
def clock(world):
    """A fresh settable clock in the requests service."""
    clock = Clock()
    world["dep"].services["requests"].app.extensions["clock"] = clock
    return clock


def register(world, *, roles=("resident",), **fields) -> Resident:
    """An admin registers a member; the ledger opens their accounts from MemberJoined."""
    cid, admin = world["cid"], world["admin"]
    body = {"display_name": "Neighbour", "phone": f"13{uuid.uuid4().int % 10**9:09d}", "password": "pass-word-123",
            "roles": list(roles), **fields}
    resp = admin.call("community", "post", f"/v1/communities/{cid}/members", body)
    assert resp.status_code == 201, resp.get_json()
    member = Resident(world["dep"], resp.get_json()["member_id"], cid, *roles)
    wait_until(lambda: len(member.call("ledger", "get", "/v1/balances").get_json()) == 2,
               message="the ledger to open the member's accounts")
    return member


def neighbourhood(world) -> dict:
    """Alice (elderly, living alone) needs errands run; Bob is an errands helper in her building; Carol is not."""
    alice = register(world, grid_id=world["g1"], vulnerable=True)
    bob = register(world, grid_id=world["g1"], skills=["errands"], availability=ALL_WEEK)
    carol = register(world, grid_id=world["g2"], skills=["tutoring"])
    # Alice has no hours yet: the admin grants her a two-hour overdraft (a time-bank "loan").
    account = alice.balance("HOUR")["account_id"]
    granted = world["admin"].call("ledger", "post", f"/v1/admin/accounts/{account}/credit-limit", {"credit_limit": 120})
    assert granted.status_code == 200, granted.get_json()
    return {"alice": alice, "bob": bob, "carol": carol}


def help_until_claimed(world, clock, people, minutes: int) -> tuple[str, dict]:
    """Alice posts, matching suggests Bob, Bob accepts, checks in/out and claims; the ledger's pending bill."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    window = {"window_start": clock.now.isoformat(), "window_end": (clock.now + timedelta(hours=4)).isoformat()}
    posted = alice.call("requests", "post", "/v1/requests", {
        "category": "errands", "title": "Pharmacy and groceries", "estimated_minutes": 60,
        "grid_id": world["g1"], "urgency": "high", **window})
    assert posted.status_code == 201, posted.get_json()
    rid = posted.get_json()["request_id"]

    def suggested():
        resp = alice.call("matching", "get", f"/v1/requests/{rid}/suggestions")
        return resp.status_code == 200 and resp.get_json()["suggestions"] and resp.get_json()
    suggestions = wait_until(suggested, message="matching to suggest helpers")
    assert suggestions["suggestions"][0]["member_id"] == bob.member_id
    assert suggestions["vulnerable_requester"] is True
    ranked = [s["member_id"] for s in suggestions["suggestions"]]
    assert alice.member_id not in ranked
    assert carol.member_id not in ranked[:1]

    assert bob.call("requests", "post", f"/v1/requests/{rid}/accept").status_code == 200
    checkin = alice.call("requests", "post", f"/v1/requests/{rid}/codes").get_json()
    assert bob.call("requests", "post", f"/v1/requests/{rid}/check-in",
                    {"qr_payload": checkin["qr_payload"]}).get_json()["status"] == "in_progress"
    clock.advance(minutes=minutes)
    checkout = alice.call("requests", "post", f"/v1/requests/{rid}/codes").get_json()
    out = bob.call("requests", "post", f"/v1/requests/{rid}/check-out", {"code": checkout["code"]}).get_json()
    assert out["measured_minutes"] == minutes
    claimed = bob.call("requests", "post", f"/v1/requests/{rid}/claim", {"minutes": minutes})
    assert claimed.status_code == 200 and claimed.get_json()["status"] == "claimed"

    def pending_bill():
        for t in alice.call("ledger", "get", "/v1/transfers/awaiting").get_json():
            if t["reference"] == {"kind": "request", "id": rid}:
                return t
    bill = wait_until(pending_bill, message="the ledger's pending bill for the claim")
    assert (bill["workflow"], bill["unit"], bill["amount"], bill["state"]) == ("bill", "HOUR", minutes, "pending")
    assert (bill["payer_id"], bill["payee_id"]) == (alice.member_id, bob.member_id)
    return rid, bill


def test_request_completed_when_the_requester_confirms(world, clock):
    people = neighbourhood(world)
    alice, bob = people["alice"], people["bob"]
    rid, bill = help_until_claimed(world, clock, people, minutes=75)

    confirmed = alice.call("ledger", "post", f"/v1/transfers/{bill['transfer_id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.get_json()["state"] == "posted"
    done = wait_until(lambda: (r := alice.call("requests", "get", f"/v1/requests/{rid}").get_json())
                      ["status"] == "completed" and r, message="the request to complete")
    assert done["transfer_id"] == bill["transfer_id"]
    assert alice.balance("HOUR")["posted"] == -75
    assert bob.balance("HOUR")["posted"] == 75

    rated = alice.call("requests", "post", f"/v1/requests/{rid}/rating", {"stars": 5, "comment": "Thank you!"})
    assert rated.status_code == 201
    assert bob.call("requests", "get", "/v1/ratings/received").get_json()["items"][0]["stars"] == 5


def dispute(world, clock) -> tuple[dict, str, dict]:
    """Bob helps Alice for 40 minutes and claims; Alice rejects the bill: the request ends disputed."""
    people = neighbourhood(world)
    alice, bob = people["alice"], people["bob"]
    rid, bill = help_until_claimed(world, clock, people, minutes=40)

    rejected = alice.call("ledger", "post", f"/v1/transfers/{bill['transfer_id']}/reject",
                          {"reason": "The helper left early"})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    disputed = wait_until(lambda: (r := alice.call("requests", "get", f"/v1/requests/{rid}").get_json())
                          ["status"] == "disputed" and r, message="the request to be disputed")
    assert disputed["transfer_id"] == bill["transfer_id"]
    assert alice.balance("HOUR")["posted"] == 0 and alice.balance("HOUR")["pending_out"] == 0
    assert bob.balance("HOUR")["posted"] == 0 and bob.balance("HOUR")["pending_in"] == 0
    return people, rid, bill


def test_request_disputed_when_the_requester_rejects(world, clock):
    dispute(world, clock)


def test_a_disputed_claim_appealed_and_upheld_is_paid_as_its_bill_and_the_request_completes(world, clock):
    """The dispute above is appealed (积分异议申诉): the ledger heard RequestDisputed from the requests service, Bob
    appeals, the admin upholds, Alice's 40 minutes move to Bob as the bill would have, the request completes."""
    people, rid, bill = dispute(world, clock)
    helper, alice = people["bob"], people["alice"]
    appeal = wait_until(lambda: (r := helper.call("ledger", "post", "/v1/appeals", {
        "kind": "claim", "subject_id": bill["transfer_id"], "reason": "活都干完了，有照片"})).status_code == 201 and r,
        message="the ledger to know the claim is disputed").get_json()
    assert (appeal["disputed"], appeal["unit"], appeal["request_id"]) == (40, "HOUR", rid)
    upheld = world["admin"].call("ledger", "post", f"/v1/admin/appeals/{appeal['appeal_id']}/uphold", {})
    assert upheld.status_code == 200 and upheld.get_json()["amount"] == 40, upheld.get_json()
    done = wait_until(lambda: (r := helper.call("requests", "get", f"/v1/requests/{rid}").get_json())
                      ["status"] == "completed" and r, message="the request to complete")
    assert done["transfer_id"] == upheld.get_json()["transfer_id"]
    assert (helper.balance("HOUR")["posted"], alice.balance("HOUR")["posted"]) == (40, -40)


def test_activity_attendance_ends_in_a_pending_award(world, clock):
    organizer = register(world, roles=("resident", "organizer"), grid_id=world["g1"])
    grid_worker = register(world, roles=("resident", "grid_worker"), grid_id=world["g1"])
    bob = register(world, grid_id=world["g1"], skills=["environment_cleanup"])
    start = clock.now + timedelta(hours=1)
    published = organizer.call("requests", "post", "/v1/activities", {
        "activity_type": "environment_cleanup", "title": "Clean the riverside", "place": "East gate",
        "capacity": 10, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "grid_id": world["g1"]})
    assert published.status_code == 201, published.get_json()
    aid = published.get_json()["activity_id"]
    assert bob.call("requests", "post", f"/v1/activities/{aid}/signup").status_code == 200
    clock.advance(hours=3)
    verified = organizer.call("requests", "post", f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id})
    assert verified.status_code == 200 and verified.get_json()["minutes"] == 120

    signup = wait_until(lambda: (s := bob.call("requests", "get", f"/v1/activities/{aid}").get_json()["my_signup"])
                        ["transfer_state"] == "pending" and s, message="the ledger's pending award")
    award = bob.call("ledger", "get", f"/v1/transfers/{signup['transfer_id']}").get_json()
    assert (award["workflow"], award["unit"], award["state"]) == ("award", "PT", "pending")
    assert award["payee_id"] == bob.member_id and award["amount"] > 0
    assert award["reference"] == {"kind": "activity", "id": aid}
    assert bob.balance("PT")["pending_in"] == award["amount"] and bob.balance("PT")["posted"] == 0
    awaiting = grid_worker.call("ledger", "get", "/v1/transfers/awaiting").get_json()
    assert award["transfer_id"] in [t["transfer_id"] for t in awaiting]
