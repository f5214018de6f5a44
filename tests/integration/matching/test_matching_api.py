"""Matching through real Kafka and MongoDB: suggestions, exclusions, re-ranking, access rules, bad events."""
from __future__ import annotations

from datetime import datetime, timezone

from shared import topics
from shared.envelope import Event
from shared.testing import wait_until

GRIDS = {"g1": ["g2"], "g2": [], "g3": []}  # g2 names no neighbours: neighbourhood is still symmetric


def neighbourhood(world):
    """A community where bob is plainly the right neighbour for alice's pet-care request."""
    world.community(GRIDS)
    m = {"alice": world.member("alice", "g1", vulnerable=True),
         "bob": world.member("bob", "g1", skills=["pet_care"]),
         "carol": world.member("carol", "g3", skills=["pet_care"], availability=[]),
         "dan": world.member("dan", "g2", skills=["tutoring"]),
         "erin": world.member("erin", "g1", skills=["pet_care"]),
         "frank": world.member("frank", "g1", skills=["Pet Care"])}
    world.publish(topics.COMMUNITY, "MemberDeactivated", m["erin"], member_id=m["erin"])
    for i in range(3):  # frank is at the open-commitment limit
        world.requests_event("RequestAccepted", world.id(f"busy{i}"), requester_id=m["dan"], helper_id=m["frank"])
    wait_until(lambda: world.stored_member(m["erin"]).get("status") == "inactive", message="erin deactivated")
    wait_until(lambda: (world.member_view(m["frank"]) or {}).get("at_commitment_limit"), message="frank busy")
    wait_until(lambda: world.member_view(m["carol"]), message="members known")
    return m


def test_a_new_request_suggests_the_right_neighbour_with_reasons_and_notifies_them(world):
    m = neighbourhood(world)
    rid = world.request("r1", m["alice"], "pet_care", "g1", urgency="high")
    response = wait_until(lambda: (lambda r: r if r.status_code == 200 else None)(world.suggestions(rid, m["alice"])))
    body = response.get_json()
    ids = [s["member_id"] for s in body["suggestions"]]
    assert ids[0] == m["bob"]
    assert m["alice"] not in ids and m["erin"] not in ids and m["frank"] not in ids
    assert body["vulnerable_requester"] is True and body["urgency"] == "high" and body["priority"] > 1.5
    top = body["suggestions"][0]
    assert set(top["components"]) == {"skill", "proximity", "availability", "reliability", "fairness"}
    assert top["components"]["skill"] == 1.0 and top["components"]["proximity"] == 1.0
    assert top["components"]["availability"] == 1.0
    assert any("same grid" in r for r in top["reasons"]) and any("同网格" in r for r in top["reasons"])
    # dan lives in g2, which g1 lists as its neighbour: he is nearby though he lacks the skill.
    dan = next(s for s in body["suggestions"] if s["member_id"] == m["dan"])
    assert dan["components"]["proximity"] == 0.6 and dan["components"]["skill"] == 0.0
    notified = wait_until(lambda: world.match_suggested(rid), message="MatchSuggested")
    assert len(notified) == 1
    assert notified[0]["payload"]["member_ids"][0] == m["bob"]
    assert notified[0]["community_id"] == world.cid and notified[0]["key"] == rid


def test_reranks_when_the_helper_commits_elsewhere_and_drops_cancelled_requests(world):
    m = neighbourhood(world)
    rid = world.request("r1", m["alice"], "pet_care", "g1")
    assert wait_until(lambda: world.suggested_ids(rid, m["alice"]))[0] == m["bob"]
    mine = wait_until(lambda: [i for i in (world.member_view(m["bob"]) or {}).get("items", ())
                               if i["request_id"] == rid])
    assert rid in [i["request_id"] for i in world.member_view(m["carol"])["items"]]  # skilled, though far
    assert mine[0]["reasons"] and "requester_id" not in mine[0]  # the requester stays private

    for i in range(3):  # bob takes three other jobs: he reaches the limit and leaves the list
        world.requests_event("RequestAccepted", world.id(f"job{i}"), requester_id=m["dan"], helper_id=m["bob"])
    wait_until(lambda: m["bob"] not in world.suggested_ids(rid, m["alice"]), message="bob at limit")
    assert world.member_view(m["bob"])["at_commitment_limit"] is True
    assert world.member_view(m["bob"])["items"] == []

    world.requests_event("RequestPosted", world.id("job0"), requester_id=m["dan"], kind="request",
                         category="errands", unit="HOUR", estimated_minutes=30,
                         window_start="2030-01-01T00:00:00+00:00", window_end="2030-01-01T01:00:00+00:00")
    world.requests_event("HelpClaimed", world.id("job0"), helper_id=m["bob"], payer_id=m["dan"], unit="HOUR",
                         minutes=30, source="request", service_class="ordinary", claim_id="x", activity_type=None)
    wait_until(lambda: world.member_view(m["bob"])["open_commitments"] == 2, message="claim ends a commitment")
    assert m["bob"] in world.suggested_ids(rid, m["alice"])
    # The claim's transfer expired: the job is bob's again (twice delivered, counted once), until he re-claims.
    for _ in range(2):
        world.requests_event("ClaimLapsed", world.id("job0"), helper_id=m["bob"], transfer_id="t-old",
                             state="expired", claim_id="x")
    wait_until(lambda: world.member_view(m["bob"])["open_commitments"] == 3, message="a lapsed claim counts again")
    world.requests_event("HelpClaimed", world.id("job0"), helper_id=m["bob"], payer_id=m["dan"], unit="HOUR",
                         minutes=30, source="request", service_class="ordinary", claim_id="y", activity_type=None)
    wait_until(lambda: world.member_view(m["bob"])["open_commitments"] == 2, message="the re-claim ends it again")

    before = next(s for s in world.suggestions(rid, m["alice"]).get_json()["suggestions"]
                  if s["member_id"] == m["bob"])
    world.requests_event("RequestCompleted", world.id("job0"), transfer_id="t0")
    world.requests_event("HelpRated", world.id("job0"), helper_id=m["bob"], rater_id=m["dan"], stars=5)
    world.publish(topics.LEDGER, "TransferPosted", "t0", transfer_id="t0", workflow="bill", unit="HOUR",
                  amount=600, debit_account="a", credit_account="b", payer_id=m["dan"], payee_id=m["bob"],
                  initiator_id=m["bob"], state="posted", reason=None,
                  reference={"kind": "request", "id": world.id("job0")},
                  occurred_at=datetime.now(timezone.utc).isoformat())

    def bob_after():
        s = next(s for s in world.suggestions(rid, m["alice"]).get_json()["suggestions"] if s["member_id"] == m["bob"])
        return s if s["components"]["fairness"] < before["components"]["fairness"] \
            and s["components"]["reliability"] > before["components"]["reliability"] else None
    after = wait_until(bob_after, message="earnings and rating reach bob's score")
    assert any("completed 1 of 1" in r for r in after["reasons"])

    world.requests_event("RequestCancelled", rid)
    gone = wait_until(lambda: (lambda r: r if r.status_code == 409 else None)(world.suggestions(rid, m["alice"])))
    assert gone.get_json()["code"] == "request_not_open"
    assert gone.mimetype == "application/problem+json"
    assert rid not in [i["request_id"] for i in world.member_view(m["carol"])["items"]]


def test_a_cross_community_bill_counts_for_the_payee_in_their_own_community(world):
    world.community(GRIDS)
    bob = world.member("bob-x", "g1", skills=["pet_care"])
    wait_until(lambda: world.stored_member(bob).get("community_id") == world.cid, message="bob joined")
    tid = world.id("tx-cross")
    world.publish(topics.LEDGER, "TransferPosted", tid, transfer_id=tid, community_id="c-partner", workflow="bill",
                  unit="PT", amount=8, debit_account="m:c-partner:ann:PT", credit_account=f"m:{world.cid}:{bob}:PT",
                  payer_id="ann", payee_id=bob, initiator_id=bob, state="posted", reason=None, reference=None,
                  occurred_at=datetime.now(timezone.utc).isoformat(),
                  cross={"payer_community": "c-partner", "payee_community": world.cid, "debit_amount": 8,
                         "credit_amount": 15})
    stored = wait_until(lambda: (m := world.stored_member(bob)).get("earnings") and m, message="bob's earning")
    assert stored["community_id"] == world.cid
    assert [(e["transfer_id"], e["amount"]) for e in stored["earnings"]] == [(tid, 15)]


def test_released_helper_is_not_suggested_again_for_that_request(world):
    m = neighbourhood(world)
    rid = world.request("r1", m["alice"], "pet_care", "g1")
    assert wait_until(lambda: world.suggested_ids(rid, m["alice"]))[0] == m["bob"]
    world.requests_event("RequestAccepted", rid, requester_id=m["alice"], helper_id=m["bob"])
    wait_until(lambda: world.suggestions(rid, m["alice"]).status_code == 409, message="accepted")
    world.requests_event("HelperReleased", rid, helper_id=m["bob"])
    ids = wait_until(lambda: world.suggested_ids(rid, m["alice"]), message="open again")
    assert m["bob"] not in ids and ids[0] == m["carol"]
    assert world.member_view(m["bob"])["open_commitments"] == 0


def test_who_may_see_suggestions(world):
    m = neighbourhood(world)
    rid = world.request("r1", m["alice"], "pet_care", "g1")
    wait_until(lambda: world.suggested_ids(rid, m["alice"]))
    assert world.suggestions(rid, world.id("org"), "resident", "organizer").status_code == 200
    assert world.suggestions(rid, world.id("gw"), "grid_worker").status_code == 200
    nosy = world.suggestions(rid, m["bob"])
    assert nosy.status_code == 403 and nosy.get_json()["code"] == "not_requester"
    outsider = world.get(f"/v1/requests/{rid}/suggestions", "eve", "admin", community_id="elsewhere")
    # Another community's request is not the outsider's to know of: 404, as the requests service answers.
    assert outsider.status_code == 404 and outsider.get_json()["code"] == "request_not_found"
    assert world.svc.http.get(f"/v1/requests/{rid}/suggestions").status_code == 401
    assert world.suggestions("no-such-request", m["alice"]).status_code == 404
    for bad in ("0", "51", "many"):
        answer = world.suggestions(rid, m["alice"], limit=bad)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert len(world.suggestions(rid, m["alice"], limit=2).get_json()["suggestions"]) == 2
    others = world.get(f"/v1/members/{m['bob']}/suggested-requests", m["carol"])
    assert others.status_code == 403
    assert world.get(f"/v1/members/{world.id('ghost')}/suggested-requests", world.id("ghost")).status_code == 404


def test_events_are_applied_once_and_bad_events_are_dead_lettered(world):
    m = neighbourhood(world)
    accepted = world.requests_event("RequestAccepted", world.id("once"), requester_id=m["dan"], helper_id=m["bob"])
    duplicate = Event(**accepted).to_json()
    world.send_raw(topics.REQUESTS, world.id("once"), duplicate)  # Kafka redelivery / relay replay
    world.send_raw(topics.REQUESTS, world.id("bad"), b"{not json")
    world.requests_event("RequestPosted", world.id("bad2"), requester_id=m["dan"], kind="request",
                         unit="HOUR", window_start="soon", window_end="later")  # no category, bad dates
    rid = world.request("after", m["alice"], "pet_care", "g1")
    wait_until(lambda: world.suggested_ids(rid, m["alice"]), message="consumer kept going")
    assert world.member_view(m["bob"])["open_commitments"] == 1

    def ours():
        found = [d for d in world.dead_letters(topics.REQUESTS)
                 if world.suffix in d["value"] or d["value"] == "{not json"]
        return found if len(found) >= 2 else None
    reasons = " ".join(d["reason"] for d in wait_until(ours, message="both bad events dead-lettered"))
    assert "unparseable" in reasons and "fails its schema" in reasons

