"""Charges through real Kafka and MongoDB: a property-fee bill a resident deducts points from, a till's 收款码
anyone may scan, and a till that identifies the member by their pay code alone."""
from __future__ import annotations

from shared.testing import wait_until


def create_charge(world, merchant, **body):
    return world["svc"].http.post(f"/v1/merchants/{merchant['merchant_id']}/charges", headers=merchant["staff"],
                                  json=body)


def test_a_property_fee_bill_is_paid_in_points_within_the_rules(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    property_co = new_merchant(name="莲花物业服务中心", kind="property", max_discount_share_bp=2000, min_points=100)
    member_id, member = new_resident(1000)
    other_id, other = new_resident(1000)
    r = create_charge(world, property_co, bill_fen=30_000, memo="2026年11月物业费", member_id=member_id,
                      ttl_minutes=60 * 24 * 30)
    assert r.status_code == 201, r.json
    charge = r.json
    assert (charge["state"], charge["max_points"], charge["min_points"]) == ("open", 600, 100)
    assert charge["merchant_name"] == "莲花物业服务中心" and charge["merchant_kind"] == "property"
    issued = up.wait_event("ChargeIssued", charge["charge_id"])["payload"]  # the notification centre tells her
    assert {k: issued[k] for k in ("member_id", "bill_fen", "memo", "merchant_name")} == {
        "member_id": member_id, "bill_fen": 30_000, "memo": "2026年11月物业费", "merchant_name": "莲花物业服务中心"}

    mine = svc.http.get("/v1/members/me/charges", headers=member).json
    assert [c["charge_id"] for c in mine["items"]] == [charge["charge_id"]] and mine["items"][0]["max_points"] == 600
    assert svc.http.get("/v1/members/me/charges", headers=other).json["items"] == []
    assert svc.http.get(f"/v1/charges/{charge['charge_id']}", headers=other).status_code == 403
    stolen = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=other, json={"points": 100})
    assert (stolen.status_code, stolen.json["code"]) == (403, "charge_other_member")

    for points, code in ((99, "below_minimum"), (601, "over_max_share")):
        bad = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=member, json={"points": points})
        assert (bad.status_code, bad.json["code"]) == (422, code)
    assert svc.db.redemptions.count_documents({"charge_id": charge["charge_id"]}) == 0

    headers = {**member, "Idempotency-Key": "pay-bill-1"}
    paid = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=headers, json={"points": 500})
    assert paid.status_code == 201, paid.json
    again = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=headers, json={"points": 500})
    assert again.json["redemption_id"] == paid.json["redemption_id"]  # the retry pays once
    red = paid.json
    assert (red["points"], red["bill_fen"], red["value_fen"], red["charge_id"]) == (500, 30_000, 5000,
                                                                                    charge["charge_id"])
    requested = up.wait_event("RedemptionRequested", red["redemption_id"])["payload"]
    assert requested["item_name"] == "2026年11月物业费" and requested["merchant_name"] == "莲花物业服务中心"
    busy = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=member, json={"points": 100})
    assert (busy.status_code, busy.json["code"]) == (409, "charge_paying")

    up.redeem("TransferRejected", red, reason="rejected_by_payer")  # she said no on her phone: open again
    wait_until(lambda: svc.http.get(f"/v1/charges/{charge['charge_id']}", headers=member).json["state"] == "open")
    second = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=member, json={"points": 300}).json
    up.redeem("TransferPosted", second)
    up.redemption_state(member, second["redemption_id"], "completed")
    done = svc.http.get(f"/v1/charges/{charge['charge_id']}", headers=property_co["staff"]).json
    assert (done["state"], done["redemption_id"]) == ("paid", second["redemption_id"])
    late = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=member, json={"points": 100})
    assert (late.status_code, late.json["code"]) == (409, "charge_paid")


def test_a_till_code_is_paid_by_whoever_scans_it_but_never_by_its_own_staff(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant(max_discount_share_bp=5000, min_points=10)
    member_id, member = new_resident(1000)
    charge = create_charge(world, shop, bill_fen=2_000, memo="鸡蛋 10 枚").json
    assert charge["member_id"] is None and charge["max_points"] == 100
    seen = svc.http.get(f"/v1/charges/{charge['charge_id']}", headers=member).json
    assert (seen["memo"], seen["bill_fen"], seen["merchant_name"]) == ("鸡蛋 10 枚", 2_000, shop["name"])
    own = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=shop["staff"], json={"points": 10})
    assert (own.status_code, own.json["code"]) == (422, "self_redemption")
    red = svc.http.post(f"/v1/charges/{charge['charge_id']}/pay", headers=member, json={"points": 100}).json
    assert red["member_id"] == member_id and red["staff_id"] is None
    up.redeem("TransferPosted", red)
    up.redemption_state(member, red["redemption_id"], "completed")
    wait_until(lambda: svc.db.charges.find_one({"_id": charge["charge_id"], "state": "paid"}))
    for body, code in (({"bill_fen": 0, "memo": "x"}, "validation_failed"), ({"bill_fen": 100}, "validation_failed")):
        bad = create_charge(world, shop, **body)
        assert bad.status_code == 422 and bad.json["code"] == code
    assert svc.db.charges.count_documents({"merchant_id": shop["merchant_id"]}) == 1


def test_the_till_identifies_the_member_by_the_pay_code_alone(world, new_merchant, new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant(max_discount_share_bp=5000)
    member_id, member = new_resident(1000)
    code_id = up.pay_code(member_id, "H8P3W6TZ", max_points=300)
    up.wait_read_model("pay_codes", {"_id": code_id})
    url = f"/v1/merchants/{shop['merchant_id']}/redemptions"
    nobody = svc.http.post(url, headers=shop["staff"], json={"points": 100, "bill_fen": 5000})
    assert nobody.status_code == 422
    unknown = svc.http.post(url, headers=shop["staff"], json={"points": 100, "bill_fen": 5000, "pay_code": "ZZZZ2222"})
    assert (unknown.status_code, unknown.json["code"]) == (422, "pay_code_unknown")
    r = svc.http.post(url, headers=shop["staff"], json={"points": 100, "bill_fen": 5000, "pay_code": "h8p3 w6tz"})
    assert r.status_code == 201, r.json
    assert r.json["member_id"] == member_id and r.json["paid_with_code"] is True
    assert up.wait_event("RedemptionRequested", r.json["redemption_id"])["payload"]["member_id"] == member_id
