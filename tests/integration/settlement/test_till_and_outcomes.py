"""Till redemptions, catalogue orders and their ledger outcomes, through real Kafka and MongoDB.

The ledger is played by publishing contract-shaped ledger.events into Kafka, which is also how duplicate and
out-of-order delivery are produced."""
from __future__ import annotations

import uuid
from datetime import timedelta

from services.settlement import handlers
from shared.testing import wait_until


def till(world, merchant, member_id, points, bill_fen, **extra):
    return world["svc"].http.post(f"/v1/merchants/{merchant['merchant_id']}/redemptions", headers=merchant["staff"],
                                  json={"member_id": member_id, "points": points, "bill_fen": bill_fen, **extra})


def redemptions_count(world) -> int:
    return world["svc"].db.redemptions.count_documents({})


def test_till_redemption_completes_on_posted_and_duplicates_change_nothing(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant(max_discount_share_bp=5000)
    up.wait_event("MerchantRegistered", shop["merchant_id"])
    member_id, member = new_resident(1000)

    r = till(world, shop, member_id, 100, 2500)
    assert r.status_code == 201, r.json
    red = r.json
    assert red["state"] == "requested" and red["value_fen"] == 1000 and red["staff_id"] == shop["staff_id"]
    requested = up.wait_event("RedemptionRequested", red["redemption_id"])["payload"]
    assert requested["points"] == 100 and requested["bill_fen"] == 2500 and requested["pay_code"] is None

    up.redeem("TransferPending", red)
    pending = wait_until(lambda: svc.http.get(f"/v1/redemptions/{red['redemption_id']}",
                                              headers=member).json["transfer_id"])
    assert pending == up.tid(red)
    posted_event = up.redeem("TransferPosted", red)
    done = up.redemption_state(member, red["redemption_id"], "completed")
    assert done["transfer_id"] == up.tid(red)
    # The same event again, and the same fact under a new event id: still one completion.
    up.redeem("TransferPosted", red, event_id=posted_event)
    later = [up.redeem("TransferPosted", red),
             up.redeem("TransferRejected", red)]  # a late contradiction cannot undo a posted redemption
    up.wait_processed(*later)  # same key, same partition: the re-sent event was handled before these
    assert len(up.settlement_events("RedemptionCompleted", red["redemption_id"])) == 1
    assert svc.http.get(f"/v1/redemptions/{red['redemption_id']}", headers=member).json["state"] == "completed"
    account = svc.db.ledger_accounts.find_one({"owner_kind": "member", "owner_id": member_id})
    assert (account["posted"], account.get("reserved", 0)) == (900, 0)  # debited once, reservation released


def test_decline_and_expiry_are_final_and_release_the_item(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant()
    member_id, member = new_resident(1000)
    declined = till(world, shop, member_id, 60, 2000).json
    up.redeem("TransferRejected", declined, reason="rejected_by_payer")
    got = up.redemption_state(member, declined["redemption_id"], "declined")
    assert got["reason"] == "rejected_by_payer"
    up.wait_event("RedemptionDeclined", declined["redemption_id"])

    item = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/items", headers=shop["staff"],
                         json={"name": "五常大米 5kg", "price_points": 300, "stock": 1}).json
    order = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={})
    assert order.status_code == 201, order.json
    assert order.json["points"] == 300 and order.json["item_id"] == item["item_id"]
    held = svc.http.get(f"/v1/items/{item['item_id']}", headers=member).json
    assert (held["stock"], held["available"]) == (1, 0)
    other_id, other = new_resident(1000)
    sold_out = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=other, json={})
    assert sold_out.status_code == 409 and sold_out.json["code"] == "out_of_stock"

    up.redeem("TransferExpired", order.json)
    up.redemption_state(member, order.json["redemption_id"], "expired")
    back = svc.http.get(f"/v1/items/{item['item_id']}", headers=member).json
    assert (back["stock"], back["available"]) == (1, 1)

    again = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=other, json={}).json
    up.redeem("TransferPosted", again)
    up.redemption_state(other, again["redemption_id"], "completed")
    sold = svc.http.get(f"/v1/items/{item['item_id']}", headers=member).json
    assert (sold["stock"], sold["available"]) == (0, 0)
    changed = up.wait_event("CatalogItemChanged", item["item_id"])
    assert changed["payload"]["merchant_id"] == shop["merchant_id"]
    wait_until(lambda: any(e["payload"]["stock"] == 0 for e in up.settlement_events("CatalogItemChanged",
                                                                                        item["item_id"])))


def test_outcome_before_the_redemption_is_stored_is_not_lost(world, new_merchant, new_resident, monkeypatch):
    up, svc = world["up"], world["svc"]
    shop = new_merchant()
    member_id, member = new_resident(1000)
    early_id = "red_" + uuid.uuid4().hex[:16]
    fake = {"redemption_id": early_id, "points": 80, "member_id": member_id, "merchant_id": shop["merchant_id"]}
    up.redeem("TransferPosted", fake)
    up.redeem("TransferPosted", fake)  # delivered twice, still before the redemption exists
    tid = up.tid(fake)
    up.wait_read_model("redemption_outcomes", {"_id": early_id, "final_type": "TransferPosted"})

    # The redemption appears afterwards (as if written by another process that was slower).
    original = handlers.new_id
    monkeypatch.setattr(handlers, "new_id", lambda prefix: early_id if prefix == "red" else original(prefix))
    r = till(world, shop, member_id, 80, 2000)
    assert r.status_code == 201, r.json
    assert r.json["redemption_id"] == early_id and r.json["state"] == "completed" and r.json["transfer_id"] == tid
    up.wait_event("RedemptionCompleted", early_id)
    assert svc.http.get(f"/v1/redemptions/{early_id}", headers=member).json["state"] == "completed"
    assert len(up.settlement_events("RedemptionCompleted", early_id)) == 1


def test_pay_code_path_and_reused_or_expired_codes(world, new_merchant, new_resident):
    up = world["up"]
    shop = new_merchant()
    member_id, member = new_resident(1000)
    code_id = up.pay_code(member_id, "K7M2Q9XR", max_points=200)
    up.wait_read_model("pay_codes", {"_id": code_id})
    before = redemptions_count(world)
    for body, status, code in (({"pay_code": "K7M2Q9XR", "points": 201}, 422, "pay_code_over_max"),
                               ({"pay_code": "ZZZZ2222"}, 422, "pay_code_unknown")):
        bad = till(world, shop, member_id, body.pop("points", 100), 5000, **body)
        assert (bad.status_code, bad.json["code"]) == (status, code)
    other_id, _ = new_resident(1000)
    stolen = till(world, shop, other_id, 100, 5000, pay_code="K7M2Q9XR")
    assert (stolen.status_code, stolen.json["code"]) == (422, "pay_code_other_member")
    assert redemptions_count(world) == before

    r = till(world, shop, member_id, 150, 5000, pay_code="k7m2 q9xr")  # as typed: case and spaces ignored
    assert r.status_code == 201, r.json
    assert r.json["paid_with_code"] is True
    assert up.wait_event("RedemptionRequested", r.json["redemption_id"])["payload"]["pay_code"] == "k7m2 q9xr"
    reused = till(world, shop, member_id, 100, 5000, pay_code="K7M2Q9XR")
    assert (reused.status_code, reused.json["code"]) == (409, "pay_code_used")

    # The ledger posts at once on a valid code and reports the code used.
    up.redeem("TransferPosted", r.json)
    tid = up.tid(r.json)
    up.publish("ledger.events", "PayCodeUsed", {"code_id": code_id, "community_id": world["cid"],
                                                "member_id": member_id, "transfer_id": tid}, code_id)
    up.redemption_state(member, r.json["redemption_id"], "completed")
    up.wait_read_model("pay_codes", {"_id": code_id, "used": True})
    assert till(world, shop, member_id, 100, 5000, pay_code="K7M2Q9XR").json["code"] == "pay_code_used"

    expired_id = up.pay_code(member_id, "EXP12345", ttl=timedelta(seconds=-1))
    up.wait_read_model("pay_codes", {"_id": expired_id})
    expired = till(world, shop, member_id, 100, 5000, pay_code="EXP12345")
    assert (expired.status_code, expired.json["code"]) == (422, "pay_code_expired")


def test_a_code_the_ledger_refuses_declines_and_frees_the_till_hold(world, new_merchant, new_resident):
    up = world["up"]
    shop = new_merchant()
    member_id, member = new_resident(1000)
    code_id = up.pay_code(member_id, "HOLD2345", max_points=300)
    up.wait_read_model("pay_codes", {"_id": code_id})
    first = till(world, shop, member_id, 100, 5000, pay_code="HOLD2345").json
    up.redeem("TransferRejected", first, reason="insufficient_funds")
    up.redemption_state(member, first["redemption_id"], "declined")
    retry = till(world, shop, member_id, 100, 5000, pay_code="HOLD2345")
    assert retry.status_code == 201, retry.json


def test_bad_and_forbidden_till_requests_change_nothing(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant(max_discount_share_bp=3000, min_points=50)
    other_shop = new_merchant(name="隔壁水果店")
    member_id, member = new_resident(200)
    inactive_id, _ = new_resident(500, status="inactive")
    before, events_before = redemptions_count(world), len(up.settlement_events("RedemptionRequested"))
    cases = [
        (till(world, shop, member_id, 61, 2000), 422, "over_max_share"),       # 30% of 20 yuan = 60 points
        (till(world, shop, member_id, 49, 100_000), 422, "below_minimum"),
        (till(world, shop, member_id, 201, 100_000), 422, "insufficient_points"),
        (till(world, shop, inactive_id, 100, 100_000), 422, "member_inactive"),
        (till(world, shop, "mem_nobody", 100, 100_000), 422, "member_unknown"),
        (till(world, shop, shop["staff_id"], 100, 100_000), 422, "self_redemption"),
        (till(world, {**shop, "staff": other_shop["staff"]}, member_id, 100, 100_000), 403, "other_merchant"),
        (svc.http.post(f"/v1/merchants/{shop['merchant_id']}/redemptions", headers=member,
                       json={"member_id": member_id, "points": 100, "bill_fen": 100_000}), 403, "other_merchant"),
        (till(world, shop, member_id, -5, 2000), 422, "validation_failed"),
        (till(world, shop, member_id, "100", 2000), 422, "validation_failed"),
        (svc.http.post(f"/v1/merchants/{shop['merchant_id']}/redemptions", headers=shop["staff"],
                       data="not json", content_type="application/json"), 400, None),
        (svc.http.post(f"/v1/merchants/{shop['merchant_id']}/redemptions",
                       json={"member_id": member_id, "points": 100, "bill_fen": 100_000}), 401, "missing_token"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.json
        assert response.mimetype == "application/problem+json"
        if code:
            assert response.json["code"] == code
    suspended = new_merchant(status="suspended")
    r = till(world, suspended, member_id, 100, 100_000)
    assert (r.status_code, r.json["code"]) == (409, "merchant_suspended")
    assert redemptions_count(world) == before
    ok = till(world, shop, member_id, 60, 2000)  # a good one afterwards: the marker that events are flowing
    up.wait_event("RedemptionRequested", ok.json["redemption_id"])
    assert len(up.settlement_events("RedemptionRequested")) == events_before + 1


def test_idempotent_till_retry(world, new_merchant, new_resident):
    shop = new_merchant()
    member_id, _ = new_resident(1000)
    headers = {**shop["staff"], "Idempotency-Key": "till-retry-1"}
    url = f"/v1/merchants/{shop['merchant_id']}/redemptions"
    body = {"member_id": member_id, "points": 100, "bill_fen": 5000}
    first = world["svc"].http.post(url, headers=headers, json=body)
    second = world["svc"].http.post(url, headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json["redemption_id"] == second.json["redemption_id"]
    changed = world["svc"].http.post(url, headers=headers, json={**body, "points": 90})
    assert changed.status_code == 409
    assert world["svc"].db.redemptions.count_documents({"member_id": member_id}) == 1


def test_who_sees_what(world, new_merchant, new_resident):
    svc = world["svc"]
    shop, other_shop = new_merchant(), new_merchant(name="别家店")
    member_id, member = new_resident(1000)
    _, nosy = new_resident(0)
    red = till(world, shop, member_id, 100, 5000).json
    rid, mid = red["redemption_id"], shop["merchant_id"]
    assert svc.http.get(f"/v1/redemptions/{rid}", headers=member).status_code == 200
    assert svc.http.get(f"/v1/redemptions/{rid}", headers=shop["staff"]).status_code == 200
    assert svc.http.get(f"/v1/redemptions/{rid}", headers=world["admin"]).status_code == 200
    assert svc.http.get(f"/v1/redemptions/{rid}", headers=nosy).status_code == 403
    assert svc.http.get(f"/v1/redemptions/{rid}", headers=other_shop["staff"]).status_code == 403
    mine = svc.http.get("/v1/members/me/redemptions", headers=member).json
    assert [r["redemption_id"] for r in mine["items"]] == [rid]
    assert svc.http.get("/v1/members/me/redemptions", headers=nosy).json["total"] == 0
    listed = svc.http.get(f"/v1/merchants/{mid}/redemptions", headers=shop["staff"]).json
    assert [r["redemption_id"] for r in listed["items"]] == [rid]
    assert svc.http.get(f"/v1/merchants/{mid}/redemptions", headers=other_shop["staff"]).status_code == 403
    assert svc.http.get(f"/v1/merchants/{mid}/redemptions", headers=member).status_code == 403
    foreign_admin = {"Authorization": "Bearer " + world["dep"].token("adm_x", "c_elsewhere", "admin")}
    assert svc.http.get(f"/v1/merchants/{mid}/redemptions", headers=foreign_admin).status_code == 403
    assert svc.http.get(f"/v1/merchants/{mid}", headers=foreign_admin).status_code == 403
    assert "staff" not in svc.http.get(f"/v1/merchants/{mid}", headers=member).json
    assert svc.http.patch(f"/v1/merchants/{mid}", headers=shop["staff"], json={"min_points": 1}).status_code == 403
    assert svc.http.post("/v1/merchants", headers=member, json={"name": "x"}).status_code == 403


def test_merchant_terms_and_catalogue_changes_are_published(world, new_merchant, new_resident):
    up, svc, admin = world["up"], world["svc"], world["admin"]
    shop = new_merchant()
    mid = shop["merchant_id"]
    changed = svc.http.patch(f"/v1/merchants/{mid}", headers=admin, json={"min_points": 20, "schedule": "weekly"})
    assert changed.status_code == 200 and changed.json["min_points"] == 20
    wait_until(lambda: any(e["payload"]["schedule"] == "weekly"
                           for e in up.settlement_events("MerchantUpdated", mid)))
    for body in ({}, {"min_points": 0}, {"kind": "bank"}, {"settlement_rate_fen_per_point": 1.5}):
        bad = svc.http.patch(f"/v1/merchants/{mid}", headers=admin, json=body)
        assert bad.status_code == 422, body
    assert svc.http.get(f"/v1/merchants/{mid}", headers=admin).json["min_points"] == 20

    item = svc.http.post(f"/v1/merchants/{mid}/items", headers=shop["staff"],
                         json={"name": "酱油", "price_points": 80, "stock": 1}).json
    member_id, member = new_resident(1000)
    assert svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={}).status_code == 201
    below = svc.http.patch(f"/v1/items/{item['item_id']}", headers=shop["staff"], json={"stock": 0})
    assert (below.status_code, below.json["code"]) == (409, "stock_below_reserved")
    off = svc.http.patch(f"/v1/items/{item['item_id']}", headers=shop["staff"], json={"stock": 5, "active": False})
    assert off.status_code == 200 and off.json["available"] == 4
    assert svc.http.get(f"/v1/merchants/{mid}/items", headers=member).json == []
    assert len(svc.http.get(f"/v1/merchants/{mid}/items", headers=shop["staff"]).json) == 1
    refused = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={})
    assert (refused.status_code, refused.json["code"]) == (409, "item_inactive")
    other = new_merchant(name="别人的店")
    assert svc.http.patch(f"/v1/items/{item['item_id']}", headers=other["staff"], json={"stock": 9}).status_code == 403
    wait_until(lambda: any(not e["payload"]["active"] for e in up.settlement_events("CatalogItemChanged",
                                                                                      item["item_id"])))
