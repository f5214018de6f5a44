"""Forbidden moves answer 4xx problems and change nothing: neither the request nor the events emitted."""
from __future__ import annotations

import pytest


@pytest.fixture
def unchanged(svc):
    """unchanged(client, path, call, status): call() answers `status`; the resource and the outbox stay as they were."""
    def check(client, path, call, status, code=None):
        before, outbox_before = client.get(path).get_json(), svc.db.outbox.count_documents({})
        resp = call()
        assert resp.status_code == status, resp.get_json()
        assert resp.mimetype == "application/problem+json"
        if code:
            assert resp.get_json()["code"] == code
        assert client.get(path).get_json() == before
        assert svc.db.outbox.count_documents({}) == outbox_before
        return resp
    return check


def posted(client, window) -> str:
    resp = client.post("/v1/requests", {"category": "repairs", "title": "Fix a tap", "estimated_minutes": 45,
                                        **window()})
    return resp.get_json()["request_id"]


def test_accepting_your_own_request(members, window, unchanged):
    alice = members["alice"]
    rid = posted(alice, window)
    unchanged(alice, f"/v1/requests/{rid}", lambda: alice.post(f"/v1/requests/{rid}/accept"), 403, "own_request")


def test_accepting_a_request_already_taken(members, window, unchanged):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    unchanged(alice, f"/v1/requests/{rid}", lambda: carol.post(f"/v1/requests/{rid}/accept"), 409, "wrong_state")
    unchanged(alice, f"/v1/requests/{rid}", lambda: bob.post(f"/v1/requests/{rid}/accept"), 409, "wrong_state")


def test_accepting_a_cancelled_request(members, window, unchanged):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    alice.post(f"/v1/requests/{rid}/cancel")
    unchanged(alice, f"/v1/requests/{rid}", lambda: bob.post(f"/v1/requests/{rid}/accept"), 409, "wrong_state")


def test_checking_out_without_checking_in(members, window, unchanged):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-out", {"code": code}), 409, "not_checked_in")


def test_a_wrong_code(members, window, unchanged):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    wrong = "000000" if code != "000000" else "111111"
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-in", {"code": wrong}), 422, "wrong_code")
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-in", {"code": "12ab"}), 422, "validation_failed")
    unchanged(alice, f"/v1/requests/{rid}", lambda: bob.post(f"/v1/requests/{rid}/check-in", {
        "qr_payload": f"timebank://checkin/r_someotherrequest/{code}"}), 422, "wrong_code")
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: carol.post(f"/v1/requests/{rid}/check-in", {"code": code}), 403, "not_helper")
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/codes"), 403, "not_requester")
    assert bob.post(f"/v1/requests/{rid}/check-in", {"code": code}).status_code == 200  # the right one still works


def test_wrong_codes_lock_the_code(members, window):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert bob.post(f"/v1/requests/{rid}/check-in", {"code": wrong}).get_json()["code"] == "wrong_code"
    locked = bob.post(f"/v1/requests/{rid}/check-in", {"code": code})
    assert locked.status_code == 422 and locked.get_json()["code"] == "code_locked"
    fresh = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    assert bob.post(f"/v1/requests/{rid}/check-in", {"code": fresh}).status_code == 200


def test_a_reused_code(members, clock, window, unchanged):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    bob.post(f"/v1/requests/{rid}/check-in", {"code": code})
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-in", {"code": code}), 409, "wrong_state")
    clock.advance(minutes=40)
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-out", {"code": code}), 422, "code_used")
    out = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    assert bob.post(f"/v1/requests/{rid}/check-out", {"code": out}).status_code == 200
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-out", {"code": out}), 409, "already_checked_out")


def test_an_expired_code(members, clock, window, unchanged):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    code = alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]
    clock.advance(minutes=16)
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/check-in", {"code": code}), 422, "code_expired")


def test_claiming_more_than_measured(members, clock, window, unchanged):
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    bob.post(f"/v1/requests/{rid}/check-in", {"code": alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/claim", {"minutes": 5}), 409, "not_checked_out")
    clock.advance(minutes=50)
    bob.post(f"/v1/requests/{rid}/check-out", {"code": alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    resp = unchanged(alice, f"/v1/requests/{rid}",
                     lambda: bob.post(f"/v1/requests/{rid}/claim", {"minutes": 61}), 422, "claim_exceeds_measured")
    assert resp.get_json()["measured_minutes"] == 50 and resp.get_json()["max_minutes"] == 60
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: alice.post(f"/v1/requests/{rid}/claim", {"minutes": 50}), 403, "not_helper")
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/claim", {"minutes": 0}), 422, "validation_failed")
    assert bob.post(f"/v1/requests/{rid}/claim", {"minutes": 60}).status_code == 200
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: bob.post(f"/v1/requests/{rid}/claim", {"minutes": 60}), 409, "wrong_state")


def _completed(members, clock, window, ledger_says) -> str:
    from shared.testing import wait_until
    alice, bob = members["alice"], members["bob"]
    rid = posted(alice, window)
    bob.post(f"/v1/requests/{rid}/accept")
    bob.post(f"/v1/requests/{rid}/check-in", {"code": alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    clock.advance(minutes=30)
    bob.post(f"/v1/requests/{rid}/check-out", {"code": alice.post(f"/v1/requests/{rid}/codes").get_json()["code"]})
    bob.post(f"/v1/requests/{rid}/claim", {"minutes": 30})
    ledger_says("TransferPosted", transfer_id=f"t-{rid}", payee_id=bob.member_id, payer_id=alice.member_id,
                state="posted", reference={"kind": "request", "id": rid})
    wait_until(lambda: alice.get(f"/v1/requests/{rid}").get_json()["status"] == "completed")
    return rid


def test_rating_twice(members, clock, window, ledger_says, unchanged):
    alice = members["alice"]
    rid = _completed(members, clock, window, ledger_says)
    assert alice.post(f"/v1/requests/{rid}/rating", {"stars": 4, "comment": "good"}).status_code == 201
    unchanged(alice, f"/v1/requests/{rid}",
              lambda: alice.post(f"/v1/requests/{rid}/rating", {"stars": 2}), 409, "already_rated")


def test_rating_a_request_you_did_not_request(members, clock, window, ledger_says, unchanged):
    alice, bob, carol = members["alice"], members["bob"], members["carol"]
    rid = _completed(members, clock, window, ledger_says)
    unchanged(alice, f"/v1/requests/{rid}", lambda: carol.post(f"/v1/requests/{rid}/rating", {"stars": 1}),
              403, "not_requester")
    unchanged(alice, f"/v1/requests/{rid}", lambda: bob.post(f"/v1/requests/{rid}/rating", {"stars": 5}),
              403, "not_requester")
    unchanged(alice, f"/v1/requests/{rid}", lambda: alice.post(f"/v1/requests/{rid}/rating", {"stars": 6}),
              422, "validation_failed")


def test_rating_before_completion(members, window, unchanged):
    alice = members["alice"]
    rid = posted(alice, window)
    unchanged(alice, f"/v1/requests/{rid}", lambda: alice.post(f"/v1/requests/{rid}/rating", {"stars": 5}),
              409, "wrong_state")


def test_a_non_organizer_verifying_attendance(members, clock, svc, unchanged):
    from datetime import timedelta
    org, admin, bob, carol = members["org"], members["admin"], members["bob"], members["carol"]
    start = clock.now + timedelta(hours=1)
    act = org.post("/v1/activities", {"activity_type": "environment_cleanup", "title": "Park clean-up",
                                      "place": "North gate", "capacity": 5, "starts_at": start.isoformat(),
                                      "ends_at": (start + timedelta(hours=2)).isoformat()}).get_json()
    aid = act["activity_id"]
    bob.post(f"/v1/activities/{aid}/signup")
    clock.advance(hours=3)
    for who in (carol, bob, admin):
        unchanged(org, f"/v1/activities/{aid}/participants",
                  lambda: who.post(f"/v1/activities/{aid}/attendance", {"member_id": bob.member_id}),
                  403, "not_organizer")
    unchanged(org, f"/v1/activities/{aid}/participants",
              lambda: org.post(f"/v1/activities/{aid}/attendance", {"member_id": carol.member_id}),
              409, "not_signed_up")
