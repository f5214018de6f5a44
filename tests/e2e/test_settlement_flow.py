"""Merchant settlement end to end: community, ledger and settlement services on real Kafka and MongoDB.

Till redemption → pending redeem transfer in the ledger → the member approves (or rejects, or it lapses)
→ settlement completes (declines, expires) the redemption → the next batch holds it exactly once → paid,
and the ledger moves the batch's points from the merchant to the sponsor account. Also the one-time pay
code path and property-fee deduction (the property company is a merchant of kind "property")."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.ledger.scheduler import expire_due
from shared.testing import bearer, wait_until


class Person:
    """A member calling any service with their bearer token."""

    def __init__(self, dep, member_id: str, community_id: str, *roles: str, merchant_id: str | None = None):
        self.dep, self.member_id = dep, member_id
        self.headers = bearer(dep.token(member_id, community_id, *(roles or ("resident",)), merchant_id=merchant_id))

    def call(self, service: str, method: str, path: str, json=None, **query):
        return getattr(self.dep.services[service].http, method)(path, json=json, query_string=query,
                                                                headers=self.headers)


# Rules under which an award is exactly its hourly points (no newcomer boost, one-off bonuses or yearly cap).
PLAIN = {"first_participation_bonus": 0, "newcomer": {"activities": 0}, "streak": {"every": 0},
         "caps": {"per_year": None}}


@pytest.fixture(scope="module")
def world(module_deployment):
    """community + ledger + settlement, one community, an organizer, and a member holding points."""
    dep = module_deployment
    for name in ("community", "ledger", "settlement"):
        dep.service(name)
    made = dep.services["community"].http.post("/v1/communities", headers={"X-Operator-Key": "dev-operator-key"},
                                               json={"code": f"e2e-{uuid.uuid4().hex[:8]}", "name": "阳光社区",
                                                     "point_value_fen": 10, "settings": {"points_rules": PLAIN},
                                                     "admin": {"display_name": "Admin", "phone": "13900000000",
                                                               "password": "admin-password-1"}})
    assert made.status_code == 201, made.get_json()
    cid = made.get_json()["community"]["community_id"]
    wait_until(lambda: dep.services["ledger"].db.points_rules.find_one({"community_id": cid}),
               message="the ledger has the community's points rules")
    world = {"dep": dep, "cid": cid, "admin": Person(dep, made.get_json()["admin_member_id"], cid, "admin")}
    world["organizer"] = join(world, "organizer")
    world["alice"] = with_points(world, join(world), 1440)
    world["bob"] = join(world)
    return world


def join(world, *roles, merchant_id=None) -> Person:
    """An admin registers a member; the ledger opens accounts and settlement learns the member."""
    body = {"display_name": "Neighbour", "phone": f"13{uuid.uuid4().int % 10**9:09d}", "password": "pass-word-123",
            "roles": list(roles or ("resident",)), "merchant_id": merchant_id}
    resp = world["admin"].call("community", "post", f"/v1/communities/{world['cid']}/members", body)
    assert resp.status_code == 201, resp.get_json()
    person = Person(world["dep"], resp.get_json()["member_id"], world["cid"], *(roles or ("resident",)),
                    merchant_id=merchant_id)
    wait_until(lambda: world["dep"].services["settlement"].db.members.find_one({"_id": person.member_id}))
    account = f"m:{world['cid']}:{person.member_id}:PT"
    wait_until(lambda: world["dep"].services["ledger"].db.accounts.find_one({"_id": account}),
               message="the ledger to open the member's accounts")
    return person


def with_points(world, person: Person, points: int) -> Person:
    """The member earns points through awards the organizer confirms (720 points per high-risk day)."""
    for _ in range(points // 720):
        claim = person.call("ledger", "post", "/v1/transfers", {"workflow": "award", "unit": "PT", "minutes": 1440,
                                                                "service_class": "high_risk"})
        assert claim.status_code == 201, claim.get_json()
        tid = claim.get_json()["transfer_id"]
        confirmed = world["organizer"].call("ledger", "post", f"/v1/transfers/{tid}/confirm")
        assert confirmed.status_code == 200, confirmed.get_json()
    wait_until(lambda: world["dep"].services["settlement"].db.ledger_accounts.find_one(
        {"owner_kind": "member", "owner_id": person.member_id, "unit": "PT", "posted": points}),
        message="settlement to see the member's points")
    return person


def shop(world, **fields) -> tuple[dict, Person]:
    """A merchant registered by the admin, and one of its staff."""
    resp = world["admin"].call("settlement", "post", "/v1/merchants", {"name": "好邻居便利店", **fields})
    assert resp.status_code == 201, resp.get_json()
    merchant = resp.get_json()
    return merchant, join(world, "merchant", merchant_id=merchant["merchant_id"])


def till(staff: Person, merchant: dict, member: Person, points: int, bill_fen: int, **extra):
    return staff.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/redemptions",
                      {"member_id": member.member_id, "points": points, "bill_fen": bill_fen, **extra})


def pending_for(member: Person, redemption_id: str) -> dict:
    def find():
        for t in member.call("ledger", "get", "/v1/transfers/awaiting").get_json():
            if t["reference"] == {"kind": "redemption", "id": redemption_id}:
                return t
    return wait_until(find, message="the ledger's pending redeem transfer")


def state_of(member: Person, redemption_id: str, state: str, **expected) -> dict:
    """The redemption once it is in `state` with the `expected` fields (settlement learns them from events)."""
    def check():
        body = member.call("settlement", "get", f"/v1/redemptions/{redemption_id}").get_json()
        return body if body["state"] == state and all(body.get(k) == v for k, v in expected.items()) else None
    return wait_until(check, message=f"redemption {state} with {expected}")


def available(member: Person) -> int:
    return next(a for a in member.call("ledger", "get", "/v1/balances").get_json() if a["unit"] == "PT")["available"]


def test_approved_redemption_is_settled_once_and_paid(world):
    alice, bob, admin = world["alice"], world["bob"], world["admin"]
    merchant, staff = shop(world, max_discount_share_bp=5000)
    before = available(alice)
    made = till(staff, merchant, alice, 100, 3000)
    assert made.status_code == 201, made.get_json()
    rid = made.get_json()["redemption_id"]
    transfer = pending_for(alice, rid)
    assert (transfer["workflow"], transfer["amount"], transfer["state"]) == ("redeem", 100, "pending")
    assert bob.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 403
    assert staff.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 403
    # The settlement service learns the transfer id from the ledger's event, a moment after the ledger has it.
    state_of(alice, rid, "requested", transfer_id=transfer["transfer_id"])
    assert alice.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 200
    done = state_of(alice, rid, "completed")
    assert done["transfer_id"] == transfer["transfer_id"] and available(alice) == before - 100

    assert admin.call("settlement", "post", "/v1/sponsor-budget/top-ups",
                      {"amount_fen": 100_000, "reference": "街道赞助"}).status_code == 201
    batch = admin.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/batches", {"close": True})
    assert batch.status_code == 201, batch.get_json()
    batch = batch.get_json()
    assert (batch["redemption_count"], batch["points"], batch["fen"], batch["over_budget"]) == (1, 100, 1000, False)
    again = admin.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/batches", {"close": True})
    assert again.status_code == 422  # nothing left to settle: never twice
    paid = admin.call("settlement", "post", f"/v1/batches/{batch['batch_id']}/pay", {"payment_reference": "BANK-1"})
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"
    # The ledger moves the settled points from the merchant's account to the sponsor account.
    settlement_db = world["dep"].services["settlement"].db
    wait_until(lambda: settlement_db.ledger_transfers.find_one({"reference_kind": "settlement",
                                                                "reference_id": batch["batch_id"],
                                                                "state": "posted", "amount": 100}),
               message="the ledger's settlement transfer")
    merchant_account = settlement_db.ledger_accounts.find_one({"owner_kind": "merchant",
                                                               "owner_id": merchant["merchant_id"]})
    assert merchant_account["posted"] == 0
    now = datetime.now(timezone.utc)
    recon = admin.call("settlement", "get", f"/v1/merchants/{merchant['merchant_id']}/reconciliation",
                       since=(now - timedelta(hours=1)).isoformat(), until=(now + timedelta(hours=1)).isoformat())
    assert recon.get_json()["balanced"] and recon.get_json()["ledger"]["points"] == 100


def test_declined_and_expired_redemptions_are_never_settled_and_stock_comes_back(world):
    alice, admin = world["alice"], world["admin"]
    merchant, staff = shop(world)
    declined = till(staff, merchant, alice, 60, 2000).get_json()
    transfer = pending_for(alice, declined["redemption_id"])
    assert alice.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/reject",
                      {"reason": "not me"}).status_code == 200
    state_of(alice, declined["redemption_id"], "declined")

    item = staff.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/items",
                      {"name": "食用油 5L", "price_points": 200, "stock": 3}).get_json()
    order = alice.call("settlement", "post", f"/v1/items/{item['item_id']}/orders", {})
    assert order.status_code == 201, order.get_json()
    assert alice.call("settlement", "get", f"/v1/items/{item['item_id']}").get_json()["available"] == 2
    lapse = pending_for(alice, order.get_json()["redemption_id"])
    # Time passes beyond the community's pending TTL; the ledger's scheduler expires the transfer.
    ledger = world["dep"].services["ledger"]
    ledger.db.transfers.update_one({"_id": lapse["transfer_id"]},
                                   {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert expire_due(ledger.runtime) >= 1
    state_of(alice, order.get_json()["redemption_id"], "expired")
    stock = alice.call("settlement", "get", f"/v1/items/{item['item_id']}").get_json()
    assert (stock["stock"], stock["available"]) == (3, 3)
    none = admin.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/batches", {"close": True})
    assert (none.status_code, none.get_json()["code"]) == (422, "nothing_to_settle")


def test_one_time_pay_code(world):
    alice = world["alice"]
    merchant, staff = shop(world)
    issued = alice.call("ledger", "post", "/v1/pay-codes", {"max_points": 150, "ttl_seconds": 120})
    assert issued.status_code == 201, issued.get_json()
    code = issued.get_json()["code"]
    settlement_db = world["dep"].services["settlement"].db
    wait_until(lambda: settlement_db.pay_codes.find_one({"member_id": alice.member_id, "used": {"$ne": True},
                                                         "claimed_by": None}), message="settlement to see the code")
    over = till(staff, merchant, alice, 151, 10_000, pay_code=code)
    assert (over.status_code, over.get_json()["code"]) == (422, "pay_code_over_max")
    made = till(staff, merchant, alice, 120, 10_000, pay_code=code)
    assert made.status_code == 201, made.get_json()
    done = state_of(alice, made.get_json()["redemption_id"], "completed")  # posted at once by the ledger
    assert done["paid_with_code"] is True
    reused = till(staff, merchant, alice, 50, 10_000, pay_code=code)
    assert (reused.status_code, reused.get_json()["code"]) == (409, "pay_code_used")


def test_property_fee_deduction(world):
    alice, admin = world["alice"], world["admin"]
    prop, clerk = shop(world, name="物业服务中心", kind="property")
    assert (prop["settlement_rate_fen_per_point"], prop["max_discount_share_bp"]) == (10, 10_000)
    # A 10-yuan share of the monthly fee paid with 100 points (100 PT = 10 yuan).
    made = till(clerk, prop, alice, 100, 1000)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["value_fen"] == 1000
    transfer = pending_for(alice, made.get_json()["redemption_id"])
    assert alice.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 200
    state_of(alice, made.get_json()["redemption_id"], "completed")
    batch = admin.call("settlement", "post", f"/v1/merchants/{prop['merchant_id']}/batches", {"close": True}).get_json()
    assert (batch["points"], batch["fen"]) == (100, 1000)


def test_more_points_than_the_member_has_is_refused_at_the_till(world):
    bob = world["bob"]  # has no points
    merchant, staff = shop(world)
    wait_until(lambda: world["dep"].services["settlement"].db.ledger_accounts.find_one(
        {"owner_kind": "member", "owner_id": bob.member_id, "unit": "PT"}))
    refused = till(staff, merchant, bob, 60, 10_000)
    assert (refused.status_code, refused.get_json()["code"]) == (422, "insufficient_points")
    assert bob.call("settlement", "get", "/v1/members/me/redemptions").get_json()["total"] == 0


def test_a_points_loan_granted_in_the_ledger_lets_the_till_accept(world):
    carol = join(world)  # no points of her own
    merchant, staff = shop(world)
    account = f"m:{world['cid']}:{carol.member_id}:PT"
    wait_until(lambda: world["dep"].services["settlement"].db.ledger_accounts.find_one({"_id": account}))
    refused = till(staff, merchant, carol, 60, 10_000)
    assert (refused.status_code, refused.get_json()["code"]) == (422, "insufficient_points")
    assert carol.call("settlement", "get", "/v1/members/me/redemptions").get_json()["total"] == 0
    granted = world["admin"].call("ledger", "post", f"/v1/admin/accounts/{account}/credit-limit",
                                  {"credit_limit": 100})
    assert granted.status_code == 200, granted.get_json()
    assert (granted.get_json()["credit_limit"], granted.get_json()["posted"]) == (100, 0)
    mine = next(a for a in carol.call("ledger", "get", "/v1/balances").get_json() if a["unit"] == "PT")
    assert (mine["posted"], mine["credit_limit"], mine["available"]) == (0, 100, 100)
    wait_until(lambda: world["dep"].services["settlement"].db.ledger_accounts.find_one(
        {"_id": account, "credit_limit": 100}), message="settlement to learn of the points loan")
    accepted = till(staff, merchant, carol, 60, 10_000)
    assert accepted.status_code == 201, accepted.get_json()
    rid = accepted.get_json()["redemption_id"]
    transfer = pending_for(carol, rid)
    assert (transfer["amount"], transfer["state"], transfer["funds_reserved"]) == (60, "pending", True)
    assert available(carol) == 40  # the loan holds the pending redemption
    assert carol.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 200
    state_of(carol, rid, "completed", transfer_id=transfer["transfer_id"])
    mine = next(a for a in carol.call("ledger", "get", "/v1/balances").get_json() if a["unit"] == "PT")
    assert (mine["posted"], mine["pending_out"], mine["available"]) == (-60, 0, 40)  # she owes the loan


def redeemed(world, staff: Person, merchant: dict, member: Person, points: int) -> tuple[str, str]:
    """A till redemption the member approves; (redemption id, ledger transfer id) once completed."""
    made = till(staff, merchant, member, points, 100_000)
    assert made.status_code == 201, made.get_json()
    rid = made.get_json()["redemption_id"]
    transfer = pending_for(member, rid)
    assert member.call("ledger", "post", f"/v1/transfers/{transfer['transfer_id']}/confirm").status_code == 200
    state_of(member, rid, "completed", transfer_id=transfer["transfer_id"])
    return rid, transfer["transfer_id"]


def reverse(world, transfer_id: str) -> dict:
    """The admin reverses a posted transfer in the ledger (the shop gave the points back)."""
    r = world["admin"].call("ledger", "post", f"/v1/admin/transfers/{transfer_id}/reverse", {"reason": "退货 returned"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["reference"] == {"kind": "reversal", "id": transfer_id}
    return r.get_json()


def settle_and_pay(world, merchant: dict, reference: str) -> dict:
    """Close the merchant's next batch and pay it; returns the batch once the ledger moved its points."""
    admin = world["admin"]
    batch = admin.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/batches", {"close": True})
    assert batch.status_code == 201, batch.get_json()
    batch = batch.get_json()
    paid = admin.call("settlement", "post", f"/v1/batches/{batch['batch_id']}/pay", {"payment_reference": reference})
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid", paid.get_json()
    return batch


def merchant_move(world, batch: dict) -> dict:
    """The ledger's merchant → sponsor transfer for a paid batch, once it exists (any final state)."""
    ledger = world["dep"].services["ledger"].db
    return wait_until(lambda: ledger.transfers.find_one({"reference": {"kind": "settlement", "id": batch["batch_id"]}}),
                      message="the ledger's settlement transfer")


def ledger_posted(world, account_id: str) -> int:
    return world["dep"].services["ledger"].db.accounts.find_one({"_id": account_id})["posted"]


def reconciled(world, merchant: dict) -> dict:
    now = datetime.now(timezone.utc)
    r = world["admin"].call("settlement", "get", f"/v1/merchants/{merchant['merchant_id']}/reconciliation",
                            since=(now - timedelta(hours=1)).isoformat(), until=(now + timedelta(hours=1)).isoformat())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_redemption_reversed_before_its_batch_closes_is_never_paid(world):
    alice, admin = world["alice"], world["admin"]
    merchant, staff = shop(world)
    assert admin.call("settlement", "post", "/v1/sponsor-budget/top-ups",
                      {"amount_fen": 100_000, "reference": "赞助"}).status_code == 201
    before = available(alice)
    returned, returned_tid = redeemed(world, staff, merchant, alice, 100)
    kept, _ = redeemed(world, staff, merchant, alice, 60)
    reversal = reverse(world, returned_tid)
    gone = state_of(alice, returned, "reversed", reversal_transfer_id=reversal["transfer_id"])
    assert gone["batch_id"] is None and available(alice) == before - 60  # the points came back

    batch = settle_and_pay(world, merchant, "BANK-R1")
    assert (batch["redemption_count"], batch["points"], batch["fen"], batch["chargeback_points"]) == (1, 60, 600, 0)
    lines = admin.call("settlement", "get", f"/v1/batches/{batch['batch_id']}/statement").get_json()["lines"]
    assert [line["redemption_id"] for line in lines] == [kept]
    move = merchant_move(world, batch)
    assert (move["state"], move["amount"]) == ("posted", 60)  # never refused for points the shop gave back
    assert ledger_posted(world, move["debit_account"]) == 0
    recon = reconciled(world, merchant)
    assert recon["balanced"], recon["differences"]
    assert (recon["ledger"]["points"], recon["batches"]["points"], recon["awaiting_batch"]["points"]) == (60, 60, 0)
    assert recon["reversed_before_payment"] == {"transfers": 2, "points": 0}  # posted +100, reversed −100


def test_a_redemption_reversed_after_its_batch_was_paid_is_charged_back_in_the_next_batch(world):
    alice, admin = world["alice"], world["admin"]
    merchant, staff = shop(world)
    assert admin.call("settlement", "post", "/v1/sponsor-budget/top-ups",
                      {"amount_fen": 100_000, "reference": "赞助"}).status_code == 201
    before = available(alice)
    first, first_tid = redeemed(world, staff, merchant, alice, 100)
    paid = settle_and_pay(world, merchant, "BANK-P1")
    assert merchant_move(world, paid)["state"] == "posted"
    later, _ = redeemed(world, staff, merchant, alice, 150)
    reversal = reverse(world, first_tid)
    state_of(alice, first, "reversed", reversal_transfer_id=reversal["transfer_id"], batch_id=paid["batch_id"])
    assert available(alice) == before - 150

    nxt = settle_and_pay(world, merchant, "BANK-P2")
    assert (nxt["redemption_count"], nxt["points"], nxt["fen"]) == (1, 50, 500)  # 150 settled − 100 charged back
    assert (nxt["chargeback_count"], nxt["chargeback_points"], nxt["chargeback_fen"]) == (1, 100, 1000)
    statement = admin.call("settlement", "get", f"/v1/batches/{nxt['batch_id']}/statement").get_json()
    assert [line["redemption_id"] for line in statement["lines"]] == [later]
    [charged] = statement["chargebacks"]
    assert (charged["redemption_id"], charged["points"], charged["fen"], charged["original_batch_id"],
            charged["transfer_id"]) == (first, 100, 1000, paid["batch_id"], reversal["transfer_id"])
    csv_text = admin.call("settlement", "get", f"/v1/batches/{nxt['batch_id']}/statement",
                          format="csv").get_data(as_text=True)
    assert f"{first}," in csv_text and ",-100," in csv_text and ",-1000," in csv_text
    move = merchant_move(world, nxt)
    assert (move["state"], move["amount"]) == ("posted", 50)
    assert ledger_posted(world, move["debit_account"]) == 0  # the shop holds nothing it was not paid for
    again = admin.call("settlement", "post", f"/v1/merchants/{merchant['merchant_id']}/batches", {"close": True})
    assert (again.status_code, again.get_json()["code"]) == (422, "nothing_to_settle")  # charged back once
    recon = reconciled(world, merchant)
    assert recon["balanced"], recon["differences"]
    # Ledger: +100 +150 −100; batches: line 100, line 150, chargeback −100.
    assert (recon["ledger"]["points"], recon["batches"]["points"], recon["batches"]["fen"]) == (150, 150, 1500)
    assert recon["difference_points"] == 0
