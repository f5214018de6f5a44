"""The minimum redemption threshold (兑换门槛) at the till and in the mall, through real Kafka and MongoDB: a member
holding fewer points than the community's minimum is refused with the figures and nothing is stored; the
community's published rules (PointsRulesVersioned) move the minimum."""
from __future__ import annotations

from datetime import datetime, timezone

from shared import topics
from shared.economy import DEFAULT_RULES
from shared.testing import wait_until


def _counts(svc) -> tuple[int, int]:
    return svc.db.redemptions.count_documents({}), svc.db.outbox.count_documents({})


def test_a_member_below_the_threshold_cannot_redeem_anywhere_until_the_rules_lower_it(world, new_merchant,
                                                                                      new_resident):
    up, svc = world["up"], world["svc"]
    shop = new_merchant(max_discount_share_bp=5000, min_points=1)
    up.wait_event("MerchantRegistered", shop["merchant_id"])
    item = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/items", headers=shop["staff"],
                         json={"name": "肥皂", "price_points": 10, "stock": 5}).json
    member_id, member = new_resident(40)
    before = _counts(svc)

    # The default minimum is 50; holding 40 she is 10 short, at the till and in the mall alike.
    till = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/redemptions", headers=shop["staff"],
                         json={"member_id": member_id, "points": 10, "bill_fen": 1000})
    order = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={})
    for refused in (till, order):
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
        body = refused.json
        assert (body["code"], body["minimum"], body["balance"], body["short_by"]) == (
            "below_redemption_threshold", 50, 40, 10)
        assert "50" in body["detail"] and "40" in body["detail"]
    assert _counts(svc) == before
    assert svc.http.get(f"/v1/items/{item['item_id']}", headers=member).json["stock"] == 5  # nothing held

    # The community lowers the minimum to 30: the same member may now redeem a 10-point item.
    rules = {**DEFAULT_RULES.document, "min_redemption_points": 30}
    up.publish(topics.COMMUNITY, "PointsRulesVersioned", {
        "community_id": world["cid"], "version": 1, "revision": 1, "rules": rules,
        "effective_from": datetime(2020, 1, 1, tzinfo=timezone.utc).isoformat(),
        "published_at": datetime(2020, 1, 1, tzinfo=timezone.utc).isoformat()}, world["cid"])
    wait_until(lambda: svc.db.points_rules.find_one({"community_id": world["cid"], "version": 1}), timeout=60,
               message="settlement has the rules")
    ordered = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={})
    assert ordered.status_code == 201, ordered.json
    assert ordered.json["points"] == 10
