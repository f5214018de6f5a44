"""The requests statistics read model (GET /v1/admin/requests/stats) on the real Kafka and MongoDB: figures
worked by hand, months in the community's time zone, a redelivered or repeated event counted once, a grid
worker limited to their grid."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from shared import topics
from shared.testing import bearer, wait_until

# 2026-01-31 16:30 UTC is 2026-02-01 00:30 in Shanghai: the community's February.
T0 = datetime(2026, 1, 31, 16, 30, tzinfo=timezone.utc)
MARCH = datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc)


def post(client, clock, category="errands", grid_id="g1"):
    body = {"category": category, "title": "帮忙", "estimated_minutes": 30, "grid_id": grid_id,
            "window_start": clock.now.isoformat(), "window_end": (clock.now + timedelta(days=2)).isoformat()}
    resp = client.post("/v1/requests", body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["request_id"]


def accept(client, rid):
    resp = client.post(f"/v1/requests/{rid}/accept")
    assert resp.status_code == 200, resp.get_json()


def stats(client, **params):
    resp = client.get("/v1/admin/requests/stats", **params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def figures(posted, accepted, completed, median, p90):
    return {"posted": posted, "accepted": accepted, "completed": completed, "accept_median_minutes": median,
            "accept_p90_minutes": p90}


def complete(members, clock, module_deployment, rid):
    """Alice's request helped by Bob: check-in, check-out, claim; the ledger posts the transfer now."""
    alice, bob = members["alice"], members["bob"]
    for step in ("check-in", "check-out"):
        code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
        assert bob.post(f"/v1/requests/{rid}/{step}", {"code": code}).status_code == 200
        clock.advance(minutes=30)
    claimed = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 30})
    assert claimed.status_code == 200, claimed.get_json()
    cid = claimed.get_json()["community_id"]
    transfer = {"transfer_id": f"t-{rid}", "community_id": cid, "workflow": "bill", "unit": "HOUR", "amount": 30,
                "payer_id": alice.member_id, "payee_id": bob.member_id, "state": "posted",
                "reference": {"kind": "request", "id": rid}}
    module_deployment.publish(topics.LEDGER, "TransferPosted", transfer, key=transfer["transfer_id"],
                              occurred_at=clock.now.isoformat())
    wait_until(lambda: alice.get(f"/v1/requests/{rid}").get_json()["status"] == "completed")


def test_figures_by_month_and_category_each_request_counted_once(svc, members, clock, module_deployment):
    alice, bob, carol, dave, admin = (members[k] for k in ("alice", "bob", "carol", "dave", "admin"))
    clock.now = T0
    r1 = post(alice, clock)
    clock.advance(minutes=10)
    accept(bob, r1)                                    # waited 10 minutes
    r2 = post(alice, clock)
    clock.advance(minutes=30)
    accept(carol, r2)                                  # waited 30 minutes
    assert carol.post(f"/v1/requests/{r2}/release").status_code == 200
    accept(dave, r2)                                   # a second acceptance: still counted once, at 30
    r3 = post(alice, clock, "tutoring", "g2")
    clock.advance(minutes=90)
    accept(carol, r3)                                  # waited 90 minutes
    post(alice, clock, grid_id=None)                   # never accepted, for the whole community
    complete(members, clock, module_deployment, r1)
    clock.now = MARCH
    r5 = post(alice, clock)
    clock.advance(minutes=20)
    accept(carol, r5)                                  # waited 20 minutes, in March

    wanted = {
        "community_id": stats(admin, **{"from": "2026-01", "to": "2026-01"})["community_id"],
        "from": "2026-01", "to": "2026-03", "grid_id": None,
        "months": [{"month": "2026-02", "category": "errands", **figures(3, 2, 1, 10, 30)},
                   {"month": "2026-02", "category": "tutoring", **figures(1, 1, 0, 90, 90)},
                   {"month": "2026-03", "category": "errands", **figures(1, 1, 0, 20, 20)}],
        "categories": [{"category": "errands", **figures(4, 3, 1, 20, 30)},
                       {"category": "tutoring", **figures(1, 1, 0, 90, 90)}],
        "totals": [{"month": "2026-01", **figures(0, 0, 0, None, None)},
                   {"month": "2026-02", **figures(4, 3, 1, 30, 90)},
                   {"month": "2026-03", **figures(1, 1, 0, 20, 20)}]}
    wait_until(lambda: stats(admin, **{"from": "2026-01", "to": "2026-03"}) == wanted,
               message="the read model has every event")

    # The same events again (the very envelopes, and the same facts under new ids): nothing changes.
    outbox = [json.loads(bytes(r["value"])) for r in svc.db.outbox.find({"key": r1}).sort([("created_at", 1), ("n", 1)])]
    again = []
    for envelope in outbox:
        if envelope["type"] in ("RequestPosted", "RequestAccepted", "RequestCompleted"):
            for event_id in (envelope["id"], f"{envelope['id']}-again"):
                again.append(module_deployment.publish(topics.REQUESTS, envelope["type"], envelope["payload"],
                                                       key=r1, event_id=event_id))
    wait_until(lambda: svc.db.processed_events.find_one({"_id": again[-1].id}), message="the repeats were read")
    assert stats(admin, **{"from": "2026-01", "to": "2026-03"}) == wanted
    assert svc.db.stat_requests.find_one({"_id": r1}, {"_id": 0, "accepted": 1, "completed": 1}) == \
        {"accepted": True, "completed": True}

    # One grid: g2 had only the tutoring request.
    g2 = stats(admin, **{"from": "2026-02", "to": "2026-02", "grid_id": "g2"})
    assert g2["grid_id"] == "g2" and g2["months"] == [{"month": "2026-02", "category": "tutoring",
                                                       **figures(1, 1, 0, 90, 90)}]


def test_a_grid_worker_sees_only_their_grid(svc, members, clock, module_deployment):
    alice, bob, admin = members["alice"], members["bob"], members["admin"]
    cid = None
    clock.now = T0 + timedelta(days=40)                # 2026-03-12
    for grid in ("g1", "g2", "g2"):
        rid = post(alice, clock, "pet_care", grid)
        clock.advance(minutes=5)
        accept(bob, rid)
        cid = alice.get(f"/v1/requests/{rid}").get_json()["community_id"]
    gwen_id = f"gwen-{cid}"
    module_deployment.publish(topics.COMMUNITY, "MemberJoined", {"community_id": cid, "member_id": gwen_id,
                                                                 "status": "active", "grid_id": "g2"}, key=gwen_id)
    gwen = bearer(module_deployment.token(gwen_id, cid, "grid_worker"))
    month = {"from": "2026-03", "to": "2026-03"}

    def ask(**params):
        return svc.http.get("/v1/admin/requests/stats", headers=gwen, query_string={**month, **params})
    pets = [{"category": "pet_care", **figures(2, 2, 0, 5, 5)}]
    mine = wait_until(lambda: (r := ask()).status_code == 200 and r.get_json()["categories"] == pets and r.get_json(),
                      message="gwen's grid and its requests are counted")
    assert mine["grid_id"] == "g2"
    assert ask(grid_id="g2").get_json() == mine
    refused = ask(grid_id="g1")
    assert refused.status_code == 403 and refused.get_json()["code"] == "grid_not_yours"
    # Admins see the community; residents and other communities' admins see nothing of it.
    everything = wait_until(lambda: (s := stats(admin, **month)) and {
        c["category"]: c["accepted"] for c in s["categories"]}.get("pet_care") == 3 and s)
    assert {c["category"]: c["posted"] for c in everything["categories"]}["pet_care"] == 3
    assert alice.get("/v1/admin/requests/stats", **month).status_code == 403


@pytest.mark.parametrize("params, code", [
    ({"from": "2026-13", "to": "2026-12"}, None),
    ({"from": "0000-01", "to": "0000-01"}, None),
    ({"from": "2026-03"}, None),
    ({"from": "2026-03", "to": "2026-02"}, "bad_month_range"),
    ({"from": "2020-01", "to": "2026-01"}, "bad_month_range"),
])
def test_bad_ranges_are_refused_with_a_problem(members, params, code):
    resp = members["admin"].get("/v1/admin/requests/stats", **params)
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    if code:
        assert resp.get_json()["code"] == code
