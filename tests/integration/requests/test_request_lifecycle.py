"""A help request from post to rating, through the real MongoDB and Kafka (ledger news on ledger.events)."""
from __future__ import annotations

from shared.testing import wait_until
from services.ledger.ids import source_transfer_id


def post_request(client, window, **overrides):
    body = {"category": "errands", "title": "Carry groceries upstairs", "description": "Three bags, 5th floor",
            "estimated_minutes": 60, "grid_id": "g1", **window(), **overrides}
    resp = client.post("/v1/requests", body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def do_help(members, clock, window, minutes=75, **overrides):
    """Alice posts, Bob accepts, checks in with Alice's code, works `minutes`, checks out by QR scan."""
    alice, bob = members["alice"], members["bob"]
    req = post_request(alice, window, **overrides)
    rid = req["request_id"]
    assert bob.post(f"/v1/requests/{rid}/accept").status_code == 200
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()
    assert code["purpose"] == "checkin" and len(code["code"]) == 6
    assert code["qr_payload"] == f"timebank://checkin/{rid}/{code['code']}"
    resp = bob.post(f"/v1/requests/{rid}/check-in", {"code": code["code"]})
    assert resp.status_code == 200 and resp.get_json()["status"] == "in_progress"
    clock.advance(minutes=minutes)
    out = alice.post(f"/v1/requests/{rid}/codes").get_json()
    assert out["purpose"] == "checkout"
    resp = bob.post(f"/v1/requests/{rid}/check-out", {"qr_payload": out["qr_payload"]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["measured_minutes"] == minutes
    return rid


def test_post_accept_check_in_out_claim_complete_and_rate(svc, members, clock, window, emitted, ledger_says):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    rid = do_help(members, clock, window, minutes=75)
    claimed = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 80}, **{"Idempotency-Key": "claim-1"})
    assert claimed.status_code == 200 and claimed.get_json()["status"] == "claimed"
    replay = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 80}, **{"Idempotency-Key": "claim-1"})
    assert replay.status_code == 200 and replay.get_json()["claimed_minutes"] == 80

    assert [e["type"] for e in emitted(key=rid)] == ["RequestPosted", "RequestAccepted", "HelpStarted", "HelpClaimed"]
    [help_claimed] = emitted("HelpClaimed", rid)
    cid = help_claimed["community_id"]
    assert help_claimed["payload"] == {
        "request_id": rid, "community_id": cid, "helper_id": bob.member_id, "payer_id": alice.member_id,
        "unit": "HOUR", "minutes": 80, "activity_type": None, "service_class": "ordinary", "source": "request",
        "claim_id": claimed.get_json()["claim_id"], "title": "Carry groceries upstairs"}

    transfer = {"transfer_id": f"t-{rid}", "community_id": cid, "workflow": "bill", "unit": "HOUR", "amount": 80,
                "debit_account": "a1", "credit_account": "a2", "payer_id": alice.member_id,
                "payee_id": bob.member_id, "initiator_id": bob.member_id, "reason": None,
                "reference": {"kind": "request", "id": rid}, "occurred_at": clock.now.isoformat()}
    ledger_says("TransferPending", state="pending", **transfer)
    ledger_says("TransferPosted", state="posted", **transfer)
    ledger_says("TransferPosted", state="posted", **transfer)  # a repeat changes nothing
    done = wait_until(lambda: (r := alice.get(f"/v1/requests/{rid}").get_json())["status"] == "completed" and r)
    assert done["transfer_id"] == f"t-{rid}" and done["transfer_state"] == "posted"
    wait_until(lambda: emitted("RequestCompleted", rid))
    assert [e["payload"]["transfer_id"] for e in emitted("RequestCompleted", rid)] == [f"t-{rid}"]

    # Only the requester rates, once; the helper sees the rating.
    assert carol.post(f"/v1/requests/{rid}/rating", {"stars": 5}).status_code == 403
    assert bob.post(f"/v1/requests/{rid}/rating", {"stars": 5}).status_code == 403
    rated = alice.post(f"/v1/requests/{rid}/rating", {"stars": 5, "comment": "Very kind"})
    assert rated.status_code == 201 and rated.get_json()["rating"]["stars"] == 5
    again = alice.post(f"/v1/requests/{rid}/rating", {"stars": 1, "comment": "changed my mind"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    received = bob.get("/v1/ratings/received").get_json()
    assert [(r["request_id"], r["stars"], r["comment"]) for r in received["items"]] == [(rid, 5, "Very kind")]
    assert bob.get(f"/v1/requests/{rid}").get_json()["rating"]["comment"] == "Very kind"
    assert carol.get(f"/v1/requests/{rid}").get_json()["rating"] is None
    [rated_event] = emitted("HelpRated", rid)
    assert rated_event["payload"] == {"request_id": rid, "community_id": cid, "helper_id": bob.member_id,
                                      "rater_id": alice.member_id, "stars": 5}


def test_rejected_transfer_disputes_the_request(members, clock, window, emitted, ledger_says):
    alice, bob = members["alice"], members["bob"]
    rid = do_help(members, clock, window, minutes=30)
    assert bob.post(f"/v1/requests/{rid}/claim", {"minutes": 30}).status_code == 200
    ledger_says("TransferRejected", transfer_id=f"t-{rid}", community_id="x", workflow="bill", unit="HOUR",
                amount=30, payer_id=alice.member_id, payee_id=bob.member_id, state="rejected",
                reason="not_done", reference={"kind": "request", "id": rid})
    wait_until(lambda: alice.get(f"/v1/requests/{rid}").get_json()["status"] == "disputed")
    wait_until(lambda: emitted("RequestDisputed", rid))
    assert alice.post(f"/v1/requests/{rid}/rating", {"stars": 1}).status_code == 409


def test_expired_transfer_lapses_the_claim_and_the_helper_claims_again(svc, members, clock, window, emitted,
                                                                        ledger_says):
    alice, bob = members["alice"], members["bob"]
    rid = do_help(members, clock, window, minutes=30)
    first = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 30}).get_json()
    assert first["status"] == "claimed"
    tid = source_transfer_id(f"claim:{first['claim_id']}")  # the id the ledger gives this claim's transfer
    transfer = {"transfer_id": tid, "community_id": first["community_id"], "workflow": "bill", "unit": "HOUR",
                "amount": 30, "payer_id": alice.member_id, "payee_id": bob.member_id, "reason": None,
                "reference": {"kind": "request", "id": rid}}
    ledger_says("TransferPending", state="pending", **transfer)
    ledger_says("TransferExpired", state="expired", **transfer)
    ledger_says("TransferExpired", state="expired", **transfer)  # a repeat changes nothing
    lapsed = wait_until(lambda: (r := bob.get(f"/v1/requests/{rid}").get_json())["status"] == "in_progress" and r)
    assert lapsed["claim_id"] is None and lapsed["transfer_id"] is None and lapsed["transfer_state"] == "expired"
    assert lapsed["max_claim_minutes"] == 40
    [event] = wait_until(lambda: emitted("ClaimLapsed", rid))
    assert event["payload"] == {"request_id": rid, "community_id": first["community_id"],
                                "helper_id": bob.member_id, "transfer_id": tid, "state": "expired",
                                "claim_id": first["claim_id"]}

    again = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 30})
    assert again.status_code == 200 and again.get_json()["status"] == "claimed"
    second_claim = again.get_json()["claim_id"]
    claims = [e["payload"]["claim_id"] for e in emitted("HelpClaimed", rid)]
    assert claims == [first["claim_id"], second_claim] and second_claim != first["claim_id"]

    # Old news re-delivered after the new claim (new event ids) neither attaches nor lapses it.
    stale = [ledger_says("TransferPending", state="pending", **transfer).id,
             ledger_says("TransferExpired", state="expired", **transfer).id]
    wait_until(lambda: svc.db.processed_events.count_documents({"_id": {"$in": stale}}) == 2)
    still = bob.get(f"/v1/requests/{rid}").get_json()
    assert still["status"] == "claimed" and still["claim_id"] == second_claim and still["transfer_id"] is None
    assert len(emitted("ClaimLapsed", rid)) == 1

    # The new claim's own transfer settles it as usual.
    tid2 = source_transfer_id(f"claim:{second_claim}")
    ledger_says("TransferPending", state="pending", **{**transfer, "transfer_id": tid2})
    ledger_says("TransferPosted", state="posted", **{**transfer, "transfer_id": tid2})
    done = wait_until(lambda: (r := alice.get(f"/v1/requests/{rid}").get_json())["status"] == "completed" and r)
    assert done["transfer_id"] == tid2 and done["transfer_state"] == "posted"
    assert [e["type"] for e in emitted(key=rid)][-3:] == ["ClaimLapsed", "HelpClaimed", "RequestCompleted"]


def test_requester_agreement_lets_the_helper_claim_more(members, clock, window):
    alice, bob = members["alice"], members["bob"]
    rid = do_help(members, clock, window, minutes=20)
    refused = bob.post(f"/v1/requests/{rid}/claim", {"minutes": 60})
    assert refused.status_code == 422 and refused.get_json()["max_minutes"] == 30
    assert bob.post(f"/v1/requests/{rid}/agree-claim", {"minutes": 60}).status_code == 403
    assert alice.post(f"/v1/requests/{rid}/agree-claim", {"minutes": 60}).get_json()["max_claim_minutes"] == 60
    assert bob.post(f"/v1/requests/{rid}/claim", {"minutes": 60}).get_json()["claimed_minutes"] == 60


def test_point_task_posted_by_staff_claims_a_community_award(members, clock, window, emitted):
    org, bob = members["org"], members["bob"]
    assert members["alice"].post("/v1/requests", {"category": "environment_cleanup", "title": "Sweep",
                                                  "unit": "PT", "estimated_minutes": 60, **window()}
                                 ).status_code == 403
    rid = post_request(org, window, category="environment_cleanup", unit="PT",
                       activity_type="environment_cleanup")["request_id"]
    bob.post(f"/v1/requests/{rid}/accept")
    bob.post(f"/v1/requests/{rid}/check-in", {"code": org.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    clock.advance(minutes=45)
    bob.post(f"/v1/requests/{rid}/check-out", {"code": org.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    assert bob.post(f"/v1/requests/{rid}/claim", {"minutes": 45}).status_code == 200
    [claim] = emitted("HelpClaimed", rid)
    assert claim["payload"]["unit"] == "PT" and claim["payload"]["payer_id"] is None
    assert claim["payload"]["activity_type"] == "environment_cleanup"


def test_release_cancel_and_commitments(members, window, emitted):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    rid = post_request(alice, window)["request_id"]
    bob.post(f"/v1/requests/{rid}/accept")
    assert [r["request_id"] for r in bob.get("/v1/requests/commitments").get_json()["items"]] == [rid]
    assert carol.post(f"/v1/requests/{rid}/release").status_code == 403
    released = alice.post(f"/v1/requests/{rid}/release")
    assert released.status_code == 200 and released.get_json()["status"] == "open"
    assert released.get_json()["helper_id"] is None
    assert bob.get("/v1/requests/commitments").get_json()["total"] == 0
    assert emitted("HelperReleased", rid)[0]["payload"]["helper_id"] == bob.member_id
    assert bob.post(f"/v1/requests/{rid}/accept").get_json()["code"] == "released_helper"
    assert carol.post(f"/v1/requests/{rid}/accept").status_code == 200
    assert carol.post(f"/v1/requests/{rid}/cancel").status_code == 403
    assert alice.post(f"/v1/requests/{rid}/cancel").get_json()["status"] == "cancelled"
    assert carol.get("/v1/requests/commitments").get_json()["total"] == 0
    assert [e["type"] for e in emitted(key=rid)][-1] == "RequestCancelled"


def test_commitment_limit(members, window):
    alice, bob = members["alice"], members["bob"]
    ids = [post_request(alice, window)["request_id"] for _ in range(4)]
    assert [bob.post(f"/v1/requests/{r}/accept").status_code for r in ids] == [200, 200, 200, 409]
    assert bob.post(f"/v1/requests/{ids[3]}/accept").get_json()["code"] == "commitment_limit"
    alice.post(f"/v1/requests/{ids[0]}/release")
    assert bob.post(f"/v1/requests/{ids[3]}/accept").status_code == 200


def test_private_requester_shown_only_to_helper_and_staff(members, window):
    alice, bob, carol, org = members["alice"], members["bob"], members["carol"], members["org"]
    rid = post_request(alice, window, private=True)["request_id"]
    assert alice.get(f"/v1/requests/{rid}").get_json()["requester_id"] == alice.member_id
    assert bob.get(f"/v1/requests/{rid}").get_json()["requester_id"] is None
    browsed = carol.get("/v1/requests").get_json()["items"]
    assert [r["requester_id"] for r in browsed if r["request_id"] == rid] == [None]
    assert org.get(f"/v1/requests/{rid}").get_json()["requester_id"] == alice.member_id
    bob.post(f"/v1/requests/{rid}/accept")
    assert bob.get(f"/v1/requests/{rid}").get_json()["requester_id"] == alice.member_id
    assert carol.get(f"/v1/requests/{rid}").get_json()["requester_id"] is None


def test_other_communities_and_anonymous_callers_see_nothing(svc, members, window):
    rid = post_request(members["alice"], window)["request_id"]
    assert members["eve"].get(f"/v1/requests/{rid}").status_code == 404
    assert members["eve"].post(f"/v1/requests/{rid}/accept").status_code == 404
    assert members["eve"].get("/v1/requests").get_json()["total"] == 0
    resp = svc.http.get(f"/v1/requests/{rid}")
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


def test_bad_bodies_are_422_problems(members, window):
    alice = members["alice"]
    for body in ({"category": "juggling", "title": "x", "estimated_minutes": 10, **window()},
                 {"category": "errands", "title": "", "estimated_minutes": 10, **window()},
                 {"category": "errands", "title": "x", "estimated_minutes": "10", **window()},
                 {"category": "errands", "title": "x", "estimated_minutes": 10,
                  "window_start": "2030-01-01T10:00:00", "window_end": "2030-01-01T12:00:00"},
                 {"category": "errands", "title": "x", "estimated_minutes": 10, **window(hours=-1)}):
        resp = alice.post("/v1/requests", body)
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", body
    assert alice.get("/v1/requests/mine").get_json()["total"] == 0
    assert alice.get("/v1/requests", limit=1000).status_code == 422


def test_post_is_idempotent_with_a_key(members, window):
    alice = members["alice"]
    body = {"category": "pet_care", "title": "Feed the cat", "estimated_minutes": 20, **window()}
    first = alice.post("/v1/requests", body, **{"Idempotency-Key": "k1"}).get_json()
    second = alice.post("/v1/requests", body, **{"Idempotency-Key": "k1"}).get_json()
    assert first["request_id"] == second["request_id"]
    assert alice.post("/v1/requests", {**body, "title": "Feed the dog"},
                      **{"Idempotency-Key": "k1"}).status_code == 409
    assert alice.get("/v1/requests/mine").get_json()["total"] == 1
