"""Search and browse, concurrent accepts, activities with capacity and awards, offers, and expiry."""
from __future__ import annotations

import threading
from datetime import timedelta

from shared.testing import bearer, wait_until
from services.requests.scheduler import expire_due


def post(client, window, **fields):
    body = {"category": "errands", "title": "Help", "estimated_minutes": 30, **window(), **fields}
    resp = client.post("/v1/requests", body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["request_id"]


def ids(resp) -> list[str]:
    return [r["request_id"] for r in resp.get_json()["items"]]


def test_browse_by_grid_category_time_text_and_pages(members, clock, window):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    dog = post(alice, window, category="pet_care", title="Walk my dog", grid_id="g1")
    maths = post(alice, lambda: window(hours=2, start_in=24), category="tutoring",
                 title="Maths homework for grade 5", description="fractions", grid_id="g2")
    shop = post(bob, lambda: window(hours=3, start_in=2), category="errands", title="Pharmacy run 帮忙取药",
                grid_id="g1")
    taken = post(bob, window, title="Move a sofa")
    alice.post(f"/v1/requests/{taken}/accept")

    assert ids(carol.get("/v1/requests")) == [dog, shop, maths]  # open only, soonest window first
    assert ids(carol.get("/v1/requests", grid_id="g1")) == [dog, shop]
    assert ids(carol.get("/v1/requests", category="tutoring")) == [maths]
    assert ids(carol.get("/v1/requests", q="homework")) == [maths]
    assert ids(carol.get("/v1/requests", q="fractions")) == [maths]
    # Chinese is written without spaces: part of a phrase finds it; every word given must match.
    assert ids(carol.get("/v1/requests", q="取药")) == [shop]
    assert ids(carol.get("/v1/requests", q="pharmacy 取药")) == [shop]
    assert ids(carol.get("/v1/requests", q="取药 homework")) == []
    assert ids(carol.get("/v1/requests", q="a+b(")) == []  # regex characters are plain text
    later = (clock.now + timedelta(hours=12)).isoformat()
    assert ids(carol.get("/v1/requests", **{"from": later})) == [maths]
    assert ids(carol.get("/v1/requests", to=(clock.now + timedelta(hours=1)).isoformat())) == [dog]
    page = carol.get("/v1/requests", limit=2, offset=2).get_json()
    assert [r["request_id"] for r in page["items"]] == [maths] and page["total"] == 3 and page["limit"] == 2
    assert set(ids(alice.get("/v1/requests/mine"))) == {dog, maths}
    assert set(ids(alice.get("/v1/requests/mine", status="open"))) == {dog, maths}
    assert ids(bob.get("/v1/requests/mine", status="accepted")) == [taken]
    assert alice.get("/v1/requests/mine", status="bogus").status_code == 422
    assert ids(alice.get("/v1/requests/commitments")) == [taken]
    assert carol.get("/v1/requests", **{"from": later, "to": clock.now.isoformat()}).status_code == 422


def test_concurrent_accepts_of_one_request_exactly_one_wins(svc, module_deployment, members, window):
    rid = post(members["alice"], window)
    cid = members["alice"].get(f"/v1/requests/{rid}").get_json()["community_id"]
    helpers = [f"h{i}-{rid}" for i in range(8)]
    results: dict[str, int] = {}
    barrier = threading.Barrier(len(helpers))

    def accept(helper):
        client = svc.app.test_client()
        token = module_deployment.token(helper, cid)
        barrier.wait()
        results[helper] = client.post(f"/v1/requests/{rid}/accept", headers=bearer(token)).status_code
    threads = [threading.Thread(target=accept, args=(h,)) for h in helpers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [h for h, status in results.items() if status == 200]
    assert len(winners) == 1 and sorted(set(results.values())) == [200, 409]
    assert members["alice"].get(f"/v1/requests/{rid}").get_json()["helper_id"] == winners[0]
    assert svc.db.outbox.count_documents({"key": rid, "type": "RequestAccepted"}) == 1


def test_concurrent_accepts_by_one_helper_respect_the_limit(svc, members, window):
    alice, bob = members["alice"], members["bob"]
    rids = [post(alice, window) for _ in range(6)]
    results = []
    barrier = threading.Barrier(len(rids))

    def accept(rid):
        client = svc.app.test_client()
        barrier.wait()
        results.append(client.post(f"/v1/requests/{rid}/accept", headers=bearer(bob.token)).status_code)
    threads = [threading.Thread(target=accept, args=(r,)) for r in rids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 200, 409, 409, 409]
    assert bob.get("/v1/requests/commitments").get_json()["total"] == 3


def test_expiry_of_open_requests_whose_window_passed(svc, members, clock, window, emitted):
    alice, bob = members["alice"], members["bob"]
    lapsed = post(alice, lambda: window(hours=1))
    taken = post(alice, lambda: window(hours=1))
    bob.post(f"/v1/requests/{taken}/accept")
    future = post(alice, lambda: window(hours=48))
    bus = svc.app.extensions["bus"]
    expire_due(svc.runtime, bus, now=clock.now + timedelta(hours=2))
    assert alice.get(f"/v1/requests/{lapsed}").get_json()["status"] == "expired"
    assert alice.get(f"/v1/requests/{taken}").get_json()["status"] == "accepted"
    assert alice.get(f"/v1/requests/{future}").get_json()["status"] == "open"
    assert [e["payload"] for e in emitted("RequestExpired", lapsed)] == [
        {"request_id": lapsed, "community_id": emitted("RequestPosted", lapsed)[0]["community_id"]}]
    expire_due(svc.runtime, bus, now=clock.now + timedelta(hours=2))  # a second run expires nothing twice
    assert len(emitted("RequestExpired", lapsed)) == 1
    clock.advance(hours=2)
    assert bob.post(f"/v1/requests/{lapsed}/accept").status_code == 409


def activity(org, clock, capacity=2, start_in_hours=1, **fields):
    start = clock.now + timedelta(hours=start_in_hours)
    resp = org.post("/v1/activities", {"activity_type": "environment_cleanup", "title": "Park clean-up",
                                       "place": "North gate", "capacity": capacity, "starts_at": start.isoformat(),
                                       "ends_at": (start + timedelta(hours=2)).isoformat(), **fields})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_activity_capacity_sign_up_withdrawal_and_award(svc, members, clock, emitted, ledger_says):
    org, alice, bob, carol = members["org"], members["alice"], members["bob"], members["carol"]
    assert alice.post("/v1/activities", {"activity_type": "x_y", "title": "t", "place": "p", "capacity": 3,
                                         "starts_at": clock.now.isoformat(),
                                         "ends_at": (clock.now + timedelta(hours=1)).isoformat()}).status_code == 403
    act = activity(org, clock, capacity=2)
    aid = act["activity_id"]
    assert act["places_left"] == 2
    assert alice.post(f"/v1/activities/{aid}/signup").get_json()["my_signup"]["status"] == "signed_up"
    assert alice.post(f"/v1/activities/{aid}/signup").status_code == 409
    assert bob.post(f"/v1/activities/{aid}/signup").get_json()["places_left"] == 0
    full = carol.post(f"/v1/activities/{aid}/signup")
    assert full.status_code == 409 and full.get_json()["code"] == "activity_full"
    assert alice.post(f"/v1/activities/{aid}/withdraw").get_json()["my_signup"]["status"] == "withdrawn"
    assert carol.post(f"/v1/activities/{aid}/signup").status_code == 200
    assert [a["activity_id"] for a in carol.get("/v1/activities").get_json()["items"]] == [aid]
    assert carol.get(f"/v1/activities/{aid}").get_json()["my_signup"]["status"] == "signed_up"
    assert carol.get(f"/v1/activities/{aid}/participants").status_code == 403
    assert {p["member_id"] for p in org.get(f"/v1/activities/{aid}/participants").get_json()["items"]} == {
        bob.member_id, carol.member_id}

    early = org.post(f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id})
    assert early.status_code == 409 and early.get_json()["code"] == "not_started"
    clock.advance(hours=3)
    assert alice.post(f"/v1/activities/{aid}/signup").get_json()["code"] == "activity_over"
    verified = org.post(f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id})
    assert verified.status_code == 200 and verified.get_json()["status"] == "attended"
    assert verified.get_json()["minutes"] == 120
    assert org.post(f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id}).status_code == 409
    assert org.post(f"/v1/activities/{aid}/attendance", {"member_id": carol.member_id, "minutes": 90}
                    ).get_json()["minutes"] == 90

    events = emitted(key=aid)
    assert [e["type"] for e in events] == ["ActivityPublished", "ActivitySignedUp", "ActivitySignedUp",
                                           "ActivityWithdrawn", "ActivitySignedUp", "AttendanceVerified",
                                           "HelpClaimed", "AttendanceVerified", "HelpClaimed"]
    claim = events[6]["payload"]
    assert claim == {"request_id": aid, "community_id": act["community_id"], "helper_id": bob.member_id,
                     "payer_id": None, "unit": "PT", "minutes": 120, "activity_type": "environment_cleanup",
                     "service_class": "ordinary", "source": "activity", "claim_id": f"{aid}:{bob.member_id}",
                     "title": "Park clean-up"}
    assert events[5]["payload"] == {"activity_id": aid, "community_id": act["community_id"],
                                    "member_id": bob.member_id, "organizer_id": org.member_id, "minutes": 120}

    ledger_says("TransferPending", transfer_id=f"t-{aid}", payee_id=bob.member_id, payer_id=None,
                state="pending", workflow="award", unit="PT", amount=20, reference={"kind": "activity", "id": aid})
    wait_until(lambda: bob.get(f"/v1/activities/{aid}").get_json()["my_signup"]["transfer_state"] == "pending")
    ledger_says("TransferPosted", transfer_id=f"t-{aid}", payee_id=bob.member_id, payer_id=None,
                state="posted", workflow="award", unit="PT", amount=20, reference={"kind": "activity", "id": aid})
    wait_until(lambda: bob.get(f"/v1/activities/{aid}").get_json()["my_signup"]["transfer_state"] == "posted")
    assert carol.get(f"/v1/activities/{aid}").get_json()["my_signup"]["transfer_state"] is None


def test_concurrent_sign_ups_never_exceed_capacity(svc, module_deployment, members, clock):
    act = activity(members["org"], clock, capacity=3)
    aid, cid = act["activity_id"], act["community_id"]
    results = []
    barrier = threading.Barrier(8)

    def sign_up(i):
        client = svc.app.test_client()
        token = module_deployment.token(f"m{i}-{aid}", cid)
        barrier.wait()
        results.append(client.post(f"/v1/activities/{aid}/signup", headers=bearer(token)).status_code)
    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 3 + [409] * 5
    detail = members["org"].get(f"/v1/activities/{aid}").get_json()
    assert detail["signed_up"] == 3 and detail["places_left"] == 0


def test_offers_post_browse_withdraw(members, clock, window, emitted):
    alice, bob = members["alice"], members["bob"]
    resp = bob.post("/v1/offers", {"category": "tutoring", "title": "Piano lessons for kids", "grid_id": "g1",
                                   **window(hours=48)})
    assert resp.status_code == 201
    oid = resp.get_json()["offer_id"]
    assert [o["offer_id"] for o in alice.get("/v1/offers", q="piano").get_json()["items"]] == [oid]
    assert [o["offer_id"] for o in alice.get("/v1/offers", category="tutoring").get_json()["items"]] == [oid]
    assert alice.get("/v1/offers", category="repairs").get_json()["total"] == 0
    assert alice.post(f"/v1/offers/{oid}/withdraw").status_code == 403
    assert bob.post(f"/v1/offers/{oid}/withdraw").get_json()["status"] == "withdrawn"
    assert alice.get("/v1/offers").get_json()["total"] == 0
    assert bob.get("/v1/offers", mine="true").get_json()["total"] == 1
    [posted] = emitted("OfferPosted", oid)
    assert set(posted["payload"]) == {"offer_id", "community_id", "member_id", "category", "grid_id",
                                      "window_start", "window_end"}


def test_scheduler_process_loop_expires_lapsed_requests(svc, members, clock, emitted):
    """scheduler.run (what `python -m shared.worker requests scheduler` runs) expires by the real time."""
    from services.requests import scheduler
    alice = members["alice"]
    clock.now -= timedelta(hours=5)  # the request was posted five hours ago, for a window that has ended
    lapsed = post(alice, lambda: {"window_start": clock.now.isoformat(),
                                  "window_end": (clock.now + timedelta(hours=1)).isoformat()})
    stop = threading.Event()
    worker = threading.Thread(target=scheduler.run, args=(svc.runtime, None, stop), daemon=True)
    worker.start()
    try:
        wait_until(lambda: alice.get(f"/v1/requests/{lapsed}").get_json()["status"] == "expired")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert len(emitted("RequestExpired", lapsed)) == 1
