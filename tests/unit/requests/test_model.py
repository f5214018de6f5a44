"""The requests domain without infrastructure: lifecycle, codes, claims, ratings, activities."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, Forbidden, Unprocessable
from services.requests.model import (Activity, CheckCode, HelpRequest, Offer, Policy, SignUp, measured_minutes)

T0 = datetime(2030, 5, 1, 9, 0, tzinfo=timezone.utc)
POLICY = Policy(commitment_limit=3, claim_tolerance_minutes=10, code_ttl_minutes=15, code_max_attempts=5)


def post(**overrides) -> HelpRequest:
    fields = dict(community_id="c1", requester_id="alice", is_staff=False, now=T0, category="errands",
                  title="Groceries", description="Carry bags", unit="HOUR", estimated_minutes=60,
                  window_start=T0 + timedelta(hours=1), window_end=T0 + timedelta(hours=5))
    fields.update(overrides)
    req = HelpRequest.post(**fields)
    req.events.clear()
    return req


def types(entity) -> list[str]:
    return [t for t, _ in entity.events]


def started(req: HelpRequest, at=T0) -> HelpRequest:
    req.accept("bob", 0, POLICY, at)
    req.issue_code("alice", "123456", "salt", POLICY, at)
    assert req.check_in("bob", "123456", POLICY, at) is None
    return req


def finished(minutes=75) -> HelpRequest:
    req = started(post())
    req.issue_code("alice", "654321", "salt2", POLICY, T0 + timedelta(minutes=minutes))
    assert req.check_out("bob", "654321", POLICY, T0 + timedelta(minutes=minutes)) is None
    req.events.clear()
    return req


def test_posting_records_request_posted_without_free_text():
    req = HelpRequest.post(community_id="c1", requester_id="alice", is_staff=False, now=T0, category="pet_care",
                           title="Walk my dog", description="call me on 13800000000", unit="HOUR",
                           estimated_minutes=30, window_start=T0, window_end=T0 + timedelta(hours=2),
                           urgency="high", grid_id="g1")
    [(type_, payload)] = req.events
    assert type_ == "RequestPosted" and req.status == "open"
    assert payload["requester_id"] == "alice" and payload["kind"] == "request" and payload["urgency"] == "high"
    assert "title" not in payload and "description" not in payload
    assert payload["window_end"] == (T0 + timedelta(hours=2)).isoformat()


@pytest.mark.parametrize("overrides, problem", [
    (dict(category="juggling"), Unprocessable),
    (dict(unit="PT"), Forbidden),  # community tasks are posted by staff
    (dict(estimated_minutes=0), Unprocessable),
    (dict(window_end=T0 + timedelta(minutes=30), window_start=T0 + timedelta(hours=1)), Unprocessable),
    (dict(window_start=T0 - timedelta(hours=3), window_end=T0 - timedelta(hours=1)), Unprocessable),
    (dict(window_end=T0 + timedelta(days=9)), Unprocessable),
])
def test_bad_posts_are_refused(overrides, problem):
    with pytest.raises(problem):
        post(**overrides)


def test_staff_may_post_point_tasks():
    assert post(unit="PT", is_staff=True, activity_type="environment_cleanup").unit == "PT"


def test_accepting_own_request_is_forbidden():
    req = post()
    with pytest.raises(Forbidden):
        req.accept("alice", 0, POLICY, T0)
    assert req.status == "open" and req.events == []


def test_first_accept_wins_and_second_conflicts():
    req = post()
    req.accept("bob", 0, POLICY, T0)
    assert req.status == "accepted" and req.helper_id == "bob" and types(req) == ["RequestAccepted"]
    with pytest.raises(Conflict):
        req.accept("carol", 0, POLICY, T0)
    assert req.helper_id == "bob"


def test_commitment_limit_is_enforced():
    req = post()
    with pytest.raises(Conflict) as exc:
        req.accept("bob", 3, POLICY, T0)
    assert exc.value.code == "commitment_limit" and req.status == "open"


def test_accepting_after_the_window_is_refused():
    req = post()
    with pytest.raises(Conflict):
        req.accept("bob", 0, POLICY, T0 + timedelta(hours=6))


def test_cancelled_request_cannot_be_accepted():
    req = post()
    req.cancel("alice", False, T0)
    with pytest.raises(Conflict):
        req.accept("bob", 0, POLICY, T0)
    assert req.status == "cancelled"


def test_only_requester_or_staff_cancel():
    req = post()
    with pytest.raises(Forbidden):
        req.cancel("mallory", False, T0)
    req.cancel("organizer1", True, T0)
    assert types(req) == ["RequestCancelled"]


def test_release_reopens_and_forgets_the_helper():
    req = post()
    req.accept("bob", 0, POLICY, T0)
    with pytest.raises(Forbidden):
        req.release("mallory", T0)
    req.release("alice", T0)
    assert req.status == "open" and req.helper_id is None
    assert req.events[-1] == ("HelperReleased", {"request_id": req.request_id, "community_id": "c1",
                                                 "helper_id": "bob"})
    with pytest.raises(Conflict) as exc:
        req.accept("bob", 0, POLICY, T0)  # the released no-show cannot take it straight back
    assert exc.value.code == "released_helper"
    req.accept("carol", 0, POLICY, T0)
    assert req.helper_id == "carol"


def test_cannot_release_after_check_in():
    req = started(post())
    with pytest.raises(Conflict):
        req.release("alice", T0)


def test_check_in_with_the_code_starts_the_help():
    req = started(post())
    assert req.status == "in_progress" and req.started_at == T0
    assert types(req)[-1] == "HelpStarted"


def test_codes_are_stored_hashed():
    code = CheckCode.issue("checkin", "123456", "s", T0, 15)
    assert "123456" not in repr(code.__dict__)


@pytest.mark.parametrize("code, at, reason", [
    ("000000", T0, "wrong_code"),
    ("123456", T0 + timedelta(minutes=16), "code_expired"),
])
def test_wrong_or_expired_codes_are_refused(code, at, reason):
    req = post()
    req.accept("bob", 0, POLICY, T0)
    req.issue_code("alice", "123456", "salt", POLICY, T0)
    assert req.check_in("bob", code, POLICY, at) == reason
    assert req.status == "accepted" and req.started_at is None


def test_a_code_locks_after_too_many_wrong_attempts():
    req = post()
    req.accept("bob", 0, POLICY, T0)
    req.issue_code("alice", "123456", "salt", POLICY, T0)
    for _ in range(POLICY.code_max_attempts):
        assert req.check_in("bob", "999999", POLICY, T0) == "wrong_code"
    assert req.check_in("bob", "123456", POLICY, T0) == "code_locked"


def test_checkin_code_cannot_be_reused_for_check_out():
    req = started(post())
    assert req.check_out("bob", "123456", POLICY, T0 + timedelta(minutes=30)) == "code_used"
    assert req.ended_at is None


def test_check_in_needs_a_code_and_the_helper():
    req = post()
    req.accept("bob", 0, POLICY, T0)
    assert req.check_in("bob", "123456", POLICY, T0) == "no_code"
    with pytest.raises(Forbidden):
        req.issue_code("bob", "123456", "s", POLICY, T0)  # the requester shows the code
    req.issue_code("alice", "123456", "s", POLICY, T0)
    with pytest.raises(Forbidden):
        req.check_in("carol", "123456", POLICY, T0)


def test_check_out_without_check_in_is_refused():
    req = post()
    req.accept("bob", 0, POLICY, T0)
    with pytest.raises(Conflict) as exc:
        req.check_out("bob", "123456", POLICY, T0)
    assert exc.value.code == "not_checked_in"


def test_check_out_measures_minutes():
    req = finished(75)
    assert req.measured_minutes == 75 and req.ended_at == T0 + timedelta(minutes=75)
    with pytest.raises(Conflict):
        req.issue_code("alice", "111111", "s", POLICY, T0 + timedelta(minutes=80))


def test_measured_minutes_round_half_even():
    assert measured_minutes(T0, T0 + timedelta(seconds=90)) == 2
    assert measured_minutes(T0, T0 + timedelta(seconds=150)) == 2
    assert measured_minutes(T0, T0 + timedelta(seconds=29)) == 0


def test_claim_up_to_measured_plus_tolerance():
    req = finished(75)
    with pytest.raises(Unprocessable) as exc:
        req.claim("bob", 86, POLICY, T0)
    assert exc.value.code == "claim_exceeds_measured" and req.status == "in_progress" and req.events == []
    req.claim("bob", 85, POLICY, T0)
    [(type_, payload)] = req.events
    assert type_ == "HelpClaimed" and req.status == "claimed"
    assert payload == {"request_id": req.request_id, "community_id": "c1", "helper_id": "bob", "payer_id": "alice",
                       "unit": "HOUR", "minutes": 85, "activity_type": None, "service_class": "ordinary",
                       "source": "request", "claim_id": req.claim_id, "title": req.title}


def test_requester_agreement_allows_a_longer_claim():
    req = finished(30)
    with pytest.raises(Forbidden):
        req.agree_claim("bob", 90)
    req.agree_claim("alice", 90)
    req.claim("bob", 90, POLICY, T0)
    assert req.claimed_minutes == 90


def test_claim_needs_check_out_and_the_helper():
    req = started(post())
    with pytest.raises(Conflict):
        req.claim("bob", 10, POLICY, T0)
    req2 = finished()
    with pytest.raises(Forbidden):
        req2.claim("alice", 10, POLICY, T0)


def test_point_tasks_are_paid_by_the_community():
    req = post(unit="PT", is_staff=True, activity_type="environment_cleanup")
    req.accept("bob", 0, POLICY, T0)
    req.issue_code("alice", "123456", "s", POLICY, T0)
    req.check_in("bob", "123456", POLICY, T0)
    req.issue_code("alice", "654321", "s", POLICY, T0 + timedelta(hours=1))
    req.check_out("bob", "654321", POLICY, T0 + timedelta(hours=1))
    req.claim("bob", 60, POLICY, T0)
    payload = req.events[-1][1]
    assert payload["payer_id"] is None and payload["unit"] == "PT" and payload["activity_type"] == "environment_cleanup"


def test_ledger_news_complete_or_dispute_once():
    req = finished()
    req.claim("bob", 75, POLICY, T0)
    req.events.clear()
    assert req.transfer_pending("t1") and req.transfer_id == "t1"
    assert not req.transfer_settled("t2", True, T0)  # another transfer: not ours
    assert req.transfer_settled("t1", True, T0) and req.status == "completed"
    assert types(req) == ["RequestCompleted"]
    assert not req.transfer_settled("t1", True, T0) and not req.transfer_settled("t1", False, T0)
    assert not req.transfer_pending("t1")  # late news after the outcome
    assert req.status == "completed" and len(req.events) == 1


def test_expired_transfer_lapses_the_claim_and_the_helper_claims_again():
    req = finished()
    req.claim("bob", 75, POLICY, T0)
    first_claim = req.claim_id
    assert req.transfer_pending("t1")
    req.events.clear()
    assert req.transfer_lapsed("t1", "expired")
    assert req.status == "in_progress" and req.transfer_state == "expired"
    assert (req.claim_id, req.claimed_minutes, req.claimed_at, req.transfer_id) == (None, None, None, None)
    assert req.lapsed_claims == [{"claim_id": first_claim, "transfer_id": "t1", "state": "expired"}]
    [(type_, payload)] = req.events
    assert type_ == "ClaimLapsed"
    assert payload == {"request_id": req.request_id, "community_id": "c1", "helper_id": "bob",
                       "transfer_id": "t1", "state": "expired", "claim_id": first_claim}
    req.events.clear()
    assert not req.transfer_lapsed("t1", "expired")  # a repeat changes nothing
    assert req.events == []

    req.claim("bob", 70, POLICY, T0 + timedelta(days=8))
    assert req.status == "claimed" and req.claim_id not in (None, first_claim)
    assert req.transfer_id is None and req.transfer_state is None
    [(type_, payload)] = req.events
    assert type_ == "HelpClaimed" and payload["claim_id"] == req.claim_id and payload["minutes"] == 70


def test_lapsed_transfer_news_never_touches_the_next_claim():
    req = finished()
    req.claim("bob", 75, POLICY, T0)
    req.transfer_pending("t1")
    assert not req.transfer_lapsed("t2", "cancelled")  # another transfer: not ours
    assert req.status == "claimed" and req.transfer_id == "t1"
    assert req.transfer_lapsed("t1", "cancelled")
    req.claim("bob", 75, POLICY, T0)
    req.events.clear()
    assert not req.transfer_pending("t1")  # late pending of the lapsed transfer does not attach
    assert not req.transfer_lapsed("t1", "cancelled") and not req.transfer_settled("t1", True, T0)
    assert req.status == "claimed" and req.transfer_id is None and req.events == []
    assert req.transfer_pending("t3") and req.transfer_id == "t3"
    assert req.transfer_settled("t3", True, T0) and req.status == "completed"


def test_rejection_disputes_even_without_pending_news():
    req = finished()
    req.claim("bob", 75, POLICY, T0)
    assert req.transfer_settled("t9", False, T0) and req.status == "disputed" and req.transfer_id == "t9"


def test_rating_once_by_the_requester_after_completion():
    req = finished()
    with pytest.raises(Conflict):
        req.rate("alice", 5, "", T0)  # not completed yet
    req.claim("bob", 75, POLICY, T0)
    req.transfer_settled("t1", True, T0)
    with pytest.raises(Forbidden):
        req.rate("bob", 5, "", T0)
    req.rate("alice", 4, "Kind and punctual", T0)
    assert req.rating["stars"] == 4 and req.events[-1][0] == "HelpRated"
    with pytest.raises(Conflict):
        req.rate("alice", 1, "changed my mind", T0)
    assert req.rating["stars"] == 4


def test_expiry_only_for_open_requests_past_their_window():
    req = post()
    assert not req.expire(T0)
    assert req.expire(T0 + timedelta(hours=5)) and req.status == "expired" and types(req) == ["RequestExpired"]
    taken = post()
    taken.accept("bob", 0, POLICY, T0)
    assert not taken.expire(T0 + timedelta(hours=6))


def test_privacy_hides_requester_from_bystanders():
    req = post(private=True)
    assert not req.requester_visible_to("carol", False)
    assert req.requester_visible_to("carol", True)  # staff
    req.accept("bob", 0, POLICY, T0)
    assert req.requester_visible_to("bob", False) and req.requester_visible_to("alice", False)
    assert post().requester_visible_to("carol", False)


def test_offers_post_and_withdraw():
    offer = Offer.post(community_id="c1", member_id="bob", now=T0, category="tutoring", title="Maths",
                       description="", window_start=T0, window_end=T0 + timedelta(days=2))
    assert types(offer) == ["OfferPosted"]
    with pytest.raises(Forbidden):
        offer.withdraw("alice", T0)
    offer.withdraw("bob", T0)
    with pytest.raises(Conflict):
        offer.withdraw("bob", T0)


def activity(capacity=2) -> Activity:
    act = Activity.publish(community_id="c1", organizer_id="org", is_staff=True, now=T0,
                           activity_type="environment_cleanup", title="Clean the park", description="",
                           place="North gate", capacity=capacity, starts_at=T0 + timedelta(hours=1),
                           ends_at=T0 + timedelta(hours=3))
    act.events.clear()
    return act


def test_only_staff_publish_activities():
    with pytest.raises(Forbidden):
        Activity.publish(community_id="c1", organizer_id="bob", is_staff=False, now=T0, activity_type="x_y",
                         title="t", description="", place="p", capacity=3, starts_at=T0 + timedelta(hours=1),
                         ends_at=T0 + timedelta(hours=2))


def test_capacity_sign_up_and_withdrawal():
    act = activity(capacity=1)
    s1 = act.sign_up("bob", None, T0)
    with pytest.raises(Conflict):
        act.sign_up("bob", s1, T0)
    with pytest.raises(Conflict) as exc:
        act.sign_up("carol", None, T0)
    assert exc.value.code == "activity_full"
    act.withdraw(s1, T0)
    assert act.signed_up == 0 and s1.status == "withdrawn"
    s2 = act.sign_up("carol", None, T0)
    assert s2.status == "signed_up" and act.signed_up == 1
    with pytest.raises(Conflict):
        act.withdraw(s2, T0 + timedelta(hours=2))  # already started
    assert types(act) == ["ActivitySignedUp", "ActivityWithdrawn", "ActivitySignedUp"]


def test_organizer_verifies_attendance_and_claims_points():
    act = activity()
    signup = act.sign_up("bob", None, T0)
    act.events.clear()
    with pytest.raises(Forbidden):
        act.verify_attendance("carol", signup, None, T0 + timedelta(hours=3))
    with pytest.raises(Conflict):
        act.verify_attendance("org", signup, None, T0)  # not started
    act.verify_attendance("org", signup, None, T0 + timedelta(hours=3))
    assert signup.status == "attended" and signup.minutes == 120
    assert types(act) == ["AttendanceVerified", "HelpClaimed"]
    claim = act.events[1][1]
    assert claim == {"request_id": act.activity_id, "community_id": "c1", "helper_id": "bob", "payer_id": None,
                     "unit": "PT", "minutes": 120, "activity_type": "environment_cleanup",
                     "service_class": "ordinary", "source": "activity", "claim_id": f"{act.activity_id}:bob",
                     "title": act.title}
    with pytest.raises(Conflict):
        act.verify_attendance("org", signup, None, T0 + timedelta(hours=3))


def test_attendance_needs_a_sign_up():
    act = activity()
    with pytest.raises(Conflict):
        act.verify_attendance("org", None, None, T0 + timedelta(hours=2))
    with pytest.raises(Forbidden):
        act.verify_attendance("org", SignUp(act.activity_id, "c1", "org"), None, T0 + timedelta(hours=2))


def test_award_news_is_recorded_once_settled():
    signup = SignUp("a1", "c1", "bob", status="attended")
    assert signup.transfer_news("t1", "pending") and signup.transfer_news("t1", "posted")
    assert not signup.transfer_news("t1", "rejected") and signup.transfer_state == "posted"


def test_a_disputed_claim_names_its_claim_and_helper_and_follows_the_appeal_of_it():
    """RequestDisputed carries what the ledger needs to let the helper appeal (claim, helper); an upheld appeal
    completes the request with the appeal's transfer, a dismissed one closes the dispute; repeats change nothing."""
    req = finished()
    req.claim("bob", 75, POLICY, T0)
    req.events.clear()
    assert req.transfer_settled("t1", False, T0) and req.status == "disputed"
    assert req.events[-1] == ("RequestDisputed", {"request_id": req.request_id, "community_id": req.community_id,
                                                  "transfer_id": "t1", "claim_id": req.claim_id, "helper_id": "bob",
                                                  "settled_at": T0.isoformat()})
    other = copy.deepcopy(req)
    assert req.appeal_decided("ap_1", True, "t_comp", T0) and req.status == "completed"
    assert (req.transfer_id, req.appeal["outcome"]) == ("t_comp", "upheld")
    assert req.events[-1] == ("RequestCompleted", {"request_id": req.request_id, "community_id": req.community_id,
                                                   "transfer_id": "t_comp", "appeal_id": "ap_1",
                                                   "settled_at": T0.isoformat()})
    assert not req.appeal_decided("ap_1", True, "t_comp", T0)
    assert other.appeal_decided("ap_2", False, None, T0) and other.status == "disputed"
    assert other.appeal["outcome"] == "dismissed" and types(other)[-1] == "DisputeClosed"
    assert not other.appeal_decided("ap_2", False, None, T0)
