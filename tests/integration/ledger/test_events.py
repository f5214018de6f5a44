"""The ledger's reactions to other services' events, through real Kafka, and the events it publishes."""
from __future__ import annotations

import uuid

import pytest

from shared.testing import wait_until


@pytest.fixture
def c(kit):
    cid = kit.community()
    kit.join(cid, "alice", "bob", "carol")
    return cid


def _claim(c, **kw):
    payload = {"request_id": "r_" + uuid.uuid4().hex[:8], "community_id": c, "helper_id": "bob", "payer_id": "alice",
               "unit": "HOUR", "minutes": 90, "activity_type": None, "service_class": "ordinary",
               "source": "request", "claim_id": "cl_" + uuid.uuid4().hex[:8]}
    payload.update(kw)
    return payload


def _by_ref(kit, ref_id):
    return wait_until(lambda: kit.db.transfers.find_one({"reference.id": ref_id}), message=f"transfer for {ref_id}")


def test_community_created_opens_system_accounts_and_stores_settings(kit):
    c = kit.community()
    kit.publish("community.events", "CommunityCreated",
                {"community_id": c, "code": "x", "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 7, "bill_auto_confirm": False, "timezone": "Asia/Shanghai"}}, c)
    wait_until(lambda: kit.db.accounts.count_documents({"community_id": c, "kind": "system"}) == 10)
    assert kit.db.communities.find_one({"_id": c})["pending_ttl_days"] == 7
    opened = kit.log.wait("AccountOpened", 10, community_id=c)
    assert {e["payload"]["account_id"] for e in opened} >= {f"s:{c}:{n}:{u}" for n in
                                                           ("issuance", "expiry", "penalty", "fees", "sponsor")
                                                           for u in ("HOUR", "PT")}
    # Updated again (replayed): nothing opened twice.
    kit.publish("community.events", "CommunityUpdated",
                {"community_id": c, "code": "x", "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 9, "bill_auto_confirm": True}}, c)
    wait_until(lambda: kit.db.communities.find_one({"_id": c})["pending_ttl_days"] == 9)
    assert len(kit.log.of("AccountOpened", account_id=f"s:{c}:issuance:PT")) == 1


def test_help_claimed_in_hours_makes_one_pending_bill_even_when_delivered_twice(kit, c):
    kit.grant(f"m:{c}:alice:HOUR", c, 600)
    claim = _claim(c)
    event = kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"])
    kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"], event_id=event["id"])  # redelivery
    kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"])  # re-emitted: new event id
    t = _by_ref(kit, claim["request_id"])
    assert (t["workflow"], t["amount"], t["payer_id"], t["payee_id"], t["state"]) == ("bill", 90, "alice", "bob",
                                                                                       "pending")
    kit.log.wait("TransferPending", transfer_id=t["_id"])
    processed = lambda: kit.db.processed_events.count_documents({"type": "HelpClaimed"})  # noqa: E731
    before = processed()
    sentinel = _claim(c)
    kit.publish("requests.events", "HelpClaimed", sentinel, sentinel["request_id"])
    _by_ref(kit, sentinel["request_id"])
    wait_until(lambda: processed() > before)
    assert kit.db.transfers.count_documents({"reference.id": claim["request_id"]}) == 1
    assert kit.balance("alice", c, "HOUR")["pending_out"] == 180  # both claims hold alice's hours
    # The requester (payer) confirms; the helper may not.
    assert kit.act("confirm", t["_id"], "bob", c).status_code == 403
    r = kit.act("confirm", t["_id"], "alice", c)
    assert r.json["state"] == "posted"
    posted = kit.log.wait("TransferPosted", transfer_id=t["_id"])[0]["payload"]
    assert posted["reference"] == {"kind": "request", "id": claim["request_id"]}
    assert kit.balance("bob", c, "HOUR")["posted"] == 90


def test_help_claimed_in_points_is_an_award_by_the_rules(kit, c):
    claim = _claim(c, unit="PT", payer_id=None, minutes=120, activity_type=None, service_class="professional",
                   source="activity", helper_id="carol")
    kit.publish("requests.events", "HelpClaimed", claim, claim["request_id"])
    t = _by_ref(kit, claim["request_id"])
    # Default rules (version 0): 2 h professional = 10/h × 2 × 2 = 40; newcomer 1/3 ×200% +40; first +5 = 85.
    assert (t["workflow"], t["amount"], t["debit_account"]) == ("award", 85, f"s:{c}:issuance:PT")
    assert [(i["code"], i["points"]) for i in t["details"]["award"]["items"]] == [
        ("base_hourly", 40), ("newcomer_multiplier", 40), ("first_participation_bonus", 5)]
    assert kit.act("confirm", t["_id"], "carol", c, "organizer").status_code == 403
    posted = kit.act("confirm", t["_id"], "olga", c, "organizer").json
    assert posted["state"] == "posted" and posted["award"]["rule_version"] == 0
    assert posted["award"]["explanation"]["zh-CN"][2] == "首次参与奖励 +5"
    assert kit.balance("carol", c, "PT")["posted"] == 85
    lot = kit.db.point_lots.find_one({"account_id": f"m:{c}:carol:PT"})
    assert (lot["amount"], lot["remaining"], lot["rule_version"]) == (85, 85, 0)
    assert kit.db.member_economy.find_one({"_id": f"m:{c}:carol:PT"})["honour_points"] == 85
    patrol = _claim(c, unit="PT", payer_id=None, minutes=45, activity_type="safety_patrol", source="activity")
    kit.publish("requests.events", "HelpClaimed", patrol, patrol["request_id"])
    assert _by_ref(kit, patrol["request_id"])["amount"] == 105  # bob's first: 50, newcomer +50, first +5
    assert kit.audit(c)["ok"]


def test_redemption_with_and_without_a_pay_code(kit, c):
    kit.publish("settlement.events", "MerchantRegistered",
                {"merchant_id": "shop1", "community_id": c, "name": "x", "settlement_rate_fen_per_point": 10,
                 "max_discount_share_bp": 3000, "min_points": 10, "schedule": "daily", "status": "active",
                 "kind": "shop"}, "shop1")
    wait_until(lambda: kit.db.accounts.find_one({"_id": f"x:{c}:shop1:PT"}))
    kit.fund("alice", c, points=200)

    def redeem(points, pay_code=None, member="alice"):
        rid = "rd_" + uuid.uuid4().hex[:8]
        kit.publish("settlement.events", "RedemptionRequested",
                    {"redemption_id": rid, "community_id": c, "merchant_id": "shop1", "member_id": member,
                     "points": points, "bill_fen": 5000, "staff_id": "staff1", "pay_code": pay_code,
                     "item_id": None}, rid)
        return _by_ref(kit, rid)

    # Approved on the phone: pending, the member confirms, the staff cannot.
    t = redeem(30)
    assert (t["workflow"], t["state"], t["payee_id"]) == ("redeem", "pending", "shop1")
    assert kit.act("confirm", t["_id"], "staff1", c, "merchant", merchant_id="shop1").status_code == 403
    assert kit.act("confirm", t["_id"], "alice", c).json["state"] == "posted"

    # A one-time code: posted at once, then spent.
    code = kit.http.post("/v1/pay-codes", json={"max_points": 50}, headers=kit.h("alice", c))
    assert code.status_code == 201 and len(code.json["code"]) == 8
    assert not kit.db.pay_codes.find_one({"code": code.json["code"]})  # only its hash is kept
    issued = kit.log.wait("PayCodeIssued", code_id=code.json["code_id"])[0]["payload"]
    assert code.json["code"] not in str(issued)
    t = redeem(50, code.json["code"].lower())
    assert t["state"] == "posted"
    kit.log.wait("PayCodeUsed", code_id=code.json["code_id"], transfer_id=t["_id"])
    again = redeem(10, code.json["code"])
    assert (again["state"], again["reason"]) == ("rejected", "pay_code_invalid")
    kit.log.wait("TransferRejected", transfer_id=again["_id"], reason="pay_code_invalid")

    # Codes are bound to their member and their limit.
    code = kit.http.post("/v1/pay-codes", json={"max_points": 20}, headers=kit.h("alice", c)).json
    assert redeem(21, code["code"])["reason"] == "pay_code_invalid"
    assert redeem(5, code["code"], member="bob")["reason"] == "pay_code_invalid"
    assert redeem(5, "WRONG123")["reason"] == "pay_code_invalid"
    assert redeem(1000)["reason"] == "insufficient_funds"
    assert kit.balance("alice", c, "PT")["posted"] == 120
    assert kit.http.post("/v1/pay-codes", json={"max_points": 0}, headers=kit.h("alice", c)).status_code == 422

    # The merchant is paid in cash: its points go to the community's sponsor account.
    kit.publish("settlement.events", "SettlementBatchPaid",
                {"batch_id": "b1" + c, "community_id": c, "merchant_id": "shop1", "points": 80, "fen": 800,
                 "payment_reference": "bank-1"}, "shop1")
    t = _by_ref(kit, "b1" + c)
    assert (t["workflow"], t["state"], t["credit_account"]) == ("system", "posted", f"s:{c}:sponsor:PT")
    report = kit.audit(c)
    assert report["ok"], report["problems"]


def test_deactivated_members_cannot_be_paid_by_new_transfers(kit, c):
    kit.fund("alice", c, points=10)
    kit.publish("community.events", "MemberDeactivated", {"community_id": c, "member_id": "carol"}, "carol")
    wait_until(lambda: kit.db.accounts.find_one({"_id": f"m:{c}:carol:PT"})["status"] == "inactive")
    r = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="carol", amount=5)
    assert r.status_code == 422 and r.json["code"] == "account_inactive"


def test_bad_events_go_to_the_dead_letter_topic(kit, c):
    kit.publish("requests.events", "HelpClaimed", _claim(c, minutes=-5), "r_bad")
    good = _claim(c)
    kit.publish("requests.events", "HelpClaimed", good, good["request_id"])
    _by_ref(kit, good["request_id"])  # the consumer kept going
    assert kit.db.transfers.count_documents({"reference.id": "r_bad"}) == 0


def test_members_open_with_the_community_s_mutual_credit_in_hours(kit):
    c = kit.community()
    kit.publish("community.events", "CommunityCreated",
                {"community_id": c, "code": "x", "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 7, "bill_auto_confirm": False, "hour_credit_limit_minutes": 300}},
                c)
    wait_until(lambda: kit.db.communities.find_one({"_id": c}), message="the community's settings")
    kit.join(c, "newcomer")
    hour = kit.balance("newcomer", c, "HOUR")
    assert (hour["posted"], hour["credit_limit"], hour["available"]) == (0, 300, 300)
    assert kit.balance("newcomer", c, "PT")["credit_limit"] == 0
    opened = kit.log.wait("AccountOpened", account_id=f"m:{c}:newcomer:HOUR")[0]["payload"]
    assert opened["credit_limit"] == 300
    other = kit.community()  # its CommunityCreated has not arrived: the default, 10 hours
    kit.join(other, "newcomer")
    assert kit.balance("newcomer", other, "HOUR")["credit_limit"] == 600


def test_events_naming_parties_the_ledger_never_heard_of_are_refused_and_open_nothing(kit, c):
    kit.publish("settlement.events", "MerchantRegistered",
                {"merchant_id": "shop2", "community_id": c, "name": "x", "settlement_rate_fen_per_point": 10,
                 "max_discount_share_bp": 3000, "min_points": 10, "schedule": "daily", "status": "active",
                 "kind": "shop"}, "shop2")
    wait_until(lambda: kit.db.accounts.find_one({"_id": f"x:{c}:shop2:PT"}))
    kit.fund("alice", c, points=100)
    accounts_before = kit.db.accounts.count_documents({})

    def refused(topic, type_, payload, ref_id):
        kit.publish(topic, type_, payload, ref_id)
        t = _by_ref(kit, ref_id)
        assert (t["state"], t["reason"]) == ("rejected", "unknown_account"), t
        event = kit.log.wait("TransferRejected", transfer_id=t["_id"])[0]["payload"]
        assert event["reason"] == "unknown_account" and event["reference"]["id"] == ref_id
        return t

    # A help claim by, or billed to, someone who never joined: the request hears of it (TransferRejected).
    for claim in (_claim(c, helper_id="ghost"), _claim(c, payer_id="ghost"),
                  _claim(c, helper_id="ghost", payer_id=None, unit="PT", activity_type="mediation")):
        refused("requests.events", "HelpClaimed", claim, claim["request_id"])

    def redemption(member, merchant):
        rid = "rd_" + uuid.uuid4().hex[:8]
        return {"redemption_id": rid, "community_id": c, "merchant_id": merchant, "member_id": member,
                "points": 10, "bill_fen": 5000, "staff_id": "staff1", "pay_code": None, "item_id": None}
    for payload in (redemption("ghost", "shop2"), redemption("alice", "shop_ghost")):
        refused("settlement.events", "RedemptionRequested", payload, payload["redemption_id"])
    batch = {"batch_id": "b_ghost" + c, "community_id": c, "merchant_id": "shop_ghost", "points": 10, "fen": 100,
             "payment_reference": "bank-x"}
    refused("settlement.events", "SettlementBatchPaid", batch, batch["batch_id"])

    assert kit.db.accounts.count_documents({}) == accounts_before
    assert kit.db.accounts.count_documents({"owner_id": {"$in": ["ghost", "shop_ghost"]}}) == 0
    assert kit.db.entries.count_documents({"community_id": c, "account_id": {"$regex": "ghost"}}) == 0
    assert kit.balance("alice", c, "PT")["available"] == 100  # nothing held for the refused redemption
    report = kit.audit(c)
    assert report["ok"], report["problems"]
