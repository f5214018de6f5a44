"""Matching without infrastructure: availability overlap, score components, exclusions, ranking, reasons."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict
from services.matching import availability, scoring
from services.matching.cache import CommunityView
from services.matching.model import Candidate, Policy, RequestContext, ensure_open, ineligibility, normalize_category

SHANGHAI = availability.zone("Asia/Shanghai")
# Wednesday 2030-05-01 09:00-11:00 Shanghai time (01:00-03:00 UTC).
START = datetime(2030, 5, 1, 1, 0, tzinfo=timezone.utc)
NOW = (START - timedelta(days=1)).timestamp()
POLICY = Policy()
NEIGHBOURS = {"g1": ["g2"], "g2": ["g1", "g3"], "g3": ["g2"]}


def request(**overrides) -> RequestContext:
    doc = {"_id": "r1", "community_id": "c1", "requester_id": "alice", "category": "pet_care",
           "window_start": START, "window_end": START + timedelta(hours=2), "estimated_minutes": 60,
           "grid_id": "g1", "urgency": "normal", "state": "open", "released_helpers": []}
    vulnerable = overrides.pop("vulnerable_requester", False)
    doc.update(overrides)
    return RequestContext.from_doc(doc, neighbours=NEIGHBOURS, timezone_name="Asia/Shanghai",
                                   vulnerable_requester=vulnerable)


def member(member_id="bob", **overrides) -> Candidate:
    fields = dict(member_id=member_id, community_id="c1", grid_id="g1", skills=frozenset({"pet_care"}),
                  slots=availability.parse_slots([{"day": 2, "start": "08:00", "end": "12:00"}]), active=True)
    fields.update(overrides)
    return Candidate(**fields)


# -- availability -------------------------------------------------------------------------------------
def test_window_is_split_into_local_weekday_ranges():
    window = availability.window_by_day(START, START + timedelta(hours=2), SHANGHAI)
    assert window == {2: ((540, 660),)}


def test_window_across_midnight_lands_on_two_days():
    start = datetime(2030, 5, 1, 14, 0, tzinfo=timezone.utc)  # Wed 22:00 Shanghai
    window = availability.window_by_day(start, start + timedelta(hours=4), SHANGHAI)
    assert window == {2: ((1320, 1440),), 3: ((0, 120),)}


def test_a_window_longer_than_a_week_covers_every_day_once():
    window = availability.window_by_day(START, START + timedelta(days=20), SHANGHAI)
    assert sorted(window) == list(range(7))
    assert sum(hi - lo for ranges in window.values() for lo, hi in ranges) == 7 * 24 * 60


def test_overlap_counts_declared_minutes_inside_the_window_once():
    slots = availability.parse_slots([{"day": 2, "start": "08:00", "end": "10:00"},
                                      {"day": 2, "start": "09:30", "end": "10:30"},
                                      {"day": 3, "start": "09:00", "end": "11:00"}])
    assert availability.overlap_minutes(slots, {2: ((540, 660),)}) == 90


def test_malformed_slots_are_skipped():
    assert availability.parse_slots([{"day": 9, "start": "08:00", "end": "09:00"},
                                     {"day": 1, "start": "10:00", "end": "09:00"},
                                     {"day": 1, "start": "xx", "end": "09:00"}, {"day": 1}]) == ()


# -- components -----------------------------------------------------------------------------------------
def test_skill_fits_by_listed_skill_or_live_offer():
    req = request()
    assert scoring.skill_fit(req, member(), NOW) == 1.0
    assert scoring.skill_fit(req, member(skills=frozenset({"repairs"})), NOW) == 0.0
    offering = member(skills=frozenset(), offers=(("o1", "pet_care", NOW + 3600),))
    assert scoring.skill_fit(req, offering, NOW) == 1.0
    expired = member(skills=frozenset(), offers=(("o1", "pet_care", NOW - 1),))
    assert scoring.skill_fit(req, expired, NOW) == 0.0


def test_proximity_same_then_neighbouring_then_far_grid():
    req = request()
    assert scoring.proximity(req, member(grid_id="g1")) == 1.0
    assert scoring.proximity(req, member(grid_id="g2")) == pytest.approx(0.6)
    assert scoring.proximity(req, member(grid_id="g3")) == 0.0
    assert scoring.proximity(request(grid_id=None), member()) == 0.0


def test_availability_share_of_needed_minutes():
    req = request()  # needs 60 minutes inside Wed 09:00-11:00
    assert scoring.availability_fit(req, member()) == 1.0
    half = member(slots=availability.parse_slots([{"day": 2, "start": "10:30", "end": "12:00"}]))
    assert scoring.availability_fit(req, half) == pytest.approx(0.5)
    assert scoring.availability_fit(req, member(slots=availability.parse_slots(
        [{"day": 4, "start": "09:00", "end": "11:00"}]))) == 0.0
    assert scoring.availability_fit(req, member(slots=())) == scoring.UNKNOWN_AVAILABILITY


def test_reliability_rewards_a_track_record_and_gives_newcomers_a_fair_prior():
    newcomer = member()
    reliable = member(completed=10, rating_sum=50, rating_count=10)
    flaky = member(completed=1, released=4, rating_sum=4, rating_count=2)
    assert scoring.reliability(reliable) > scoring.reliability(newcomer) > scoring.reliability(flaky)
    assert 0.7 < scoring.reliability(newcomer) < 0.8


def test_fairness_prefers_newcomers_low_earners_and_light_load():
    now = NOW
    veteran_rich = member(completed=20, open_commitments=2,
                          earnings=((now - 86400, "HOUR", 1200), (now - 86400, "PT", 100)))
    veteran_poor = member(completed=20, open_commitments=2)
    newcomer = member()
    assert scoring.fairness(newcomer, POLICY, now) > scoring.fairness(veteran_poor, POLICY, now) \
        > scoring.fairness(veteran_rich, POLICY, now)


def test_earnings_outside_the_window_do_not_count():
    old = member(earnings=((NOW - 40 * 86400, "HOUR", 6000),))
    assert old.recent_hours(POLICY, NOW) == 0.0
    recent = member(earnings=((NOW - 86400, "HOUR", 90), (NOW - 86400, "PT", 20)))
    assert recent.recent_hours(POLICY, NOW) == pytest.approx(1.5 + 2.0)


def test_urgency_and_vulnerable_requester_shift_weights_and_priority():
    base = scoring.weights_for("normal", False)
    urgent = scoring.weights_for("high", False)
    vulnerable = scoring.weights_for("normal", True)
    assert sum(base.values()) == pytest.approx(1.0) and sum(urgent.values()) == pytest.approx(1.0)
    assert urgent["proximity"] > base["proximity"]
    assert vulnerable["reliability"] > base["reliability"]
    assert scoring.priority("high", True) > scoring.priority("high", False) > scoring.priority("normal", False) \
        > scoring.priority("low", False)


def test_urgent_request_puts_the_nearby_neighbour_first():
    near_plain = member("near", skills=frozenset(), grid_id="g1", completed=5, rating_sum=20, rating_count=5)
    far_skilled = member("far", grid_id="g3", completed=5, rating_sum=20, rating_count=5)
    normal = [s.member_id for s in scoring.rank_helpers(request(), [near_plain, far_skilled], POLICY, NOW, 2)]
    urgent = [s.member_id for s in scoring.rank_helpers(request(urgency="high"), [near_plain, far_skilled],
                                                        POLICY, NOW, 2)]
    assert normal == ["far", "near"]
    assert urgent == ["near", "far"]


# -- exclusions and ranking ----------------------------------------------------------------------------
def test_requester_inactive_over_limit_and_released_helpers_are_excluded():
    req = request(released_helpers=["noshow"])
    assert ineligibility(req, member("alice"), POLICY) == "requester"
    assert ineligibility(req, member(active=False), POLICY) == "inactive"
    assert ineligibility(req, member(open_commitments=3), POLICY) == "at_commitment_limit"
    assert ineligibility(req, member(open_commitments=2), POLICY) is None
    assert ineligibility(req, member("noshow"), POLICY) == "released_from_this_request"
    assert ineligibility(req, member(community_id="c2"), POLICY) == "other_community"


def test_rank_puts_the_right_neighbour_first_and_explains_why():
    right = member("bob")
    wrong_skill = member("carol", skills=frozenset({"tutoring"}))
    far = member("dave", grid_id="g3")
    busy = member("erin", open_commitments=3)
    top = scoring.rank_helpers(request(), [far, busy, wrong_skill, right, member("alice")], POLICY, NOW, 5)
    assert [s.member_id for s in top] == ["bob", "dave", "carol"]
    explained = scoring.explain(request(), right, top[0], POLICY, NOW)
    assert set(explained["components"]) == set(scoring.COMPONENTS)
    assert explained["score"] == pytest.approx(sum(explained["components"][k] * explained["weights"][k]
                                                   for k in scoring.COMPONENTS), abs=1e-3)
    text = " ".join(explained["reasons"])
    assert "same grid" in text and "has the skill: pet_care" in text and "newcomer boost" in text


def test_fairness_lets_a_newcomer_overtake_a_busy_high_earner_with_equal_fit():
    veteran = member("vera", completed=30, rating_sum=140, rating_count=30, open_commitments=2,
                     earnings=((NOW - 3600, "HOUR", 1800),))
    newcomer = member("nina")
    assert [s.member_id for s in scoring.rank_helpers(request(), [veteran, newcomer], POLICY, NOW, 2)] == \
        ["nina", "vera"]


def test_rank_requests_for_a_member_puts_urgent_and_vulnerable_first():
    calm = request(_id="calm")
    urgent = request(_id="urgent", urgency="high")
    elderly = request(_id="elderly", vulnerable_requester=True)
    mine = request(_id="mine", requester_id="bob")
    ranked = scoring.rank_requests(member(), [calm, urgent, elderly, mine], POLICY, NOW, 10)
    assert [r.request_id for r, _, _ in ranked] == ["urgent", "elderly", "calm"]


def test_ties_are_broken_by_member_id():
    twins = [member("m2"), member("m1"), member("m3")]
    assert [s.member_id for s in scoring.rank_helpers(request(), twins, POLICY, NOW, 2)] == ["m1", "m2"]


# -- model rules and the candidate index -------------------------------------------------------------
def test_categories_compare_loosely():
    assert normalize_category(" Pet-Care ") == "pet_care" == normalize_category("pet care")


def test_suggestions_only_for_open_requests():
    ensure_open({"state": "open"})
    with pytest.raises(Conflict):
        ensure_open({"state": "accepted"})


def test_candidate_from_read_model_document():
    doc = {"_id": "m1", "community_id": "c1", "grid_id": "g1", "skills": ["Pet Care"], "status": "active",
           "availability": [{"day": 0, "start": "09:00", "end": "10:00"}], "open_commitments": 1,
           "earnings": [{"at": datetime(2030, 4, 30, tzinfo=timezone.utc), "unit": "HOUR", "amount": 60}],
           "offers": [{"offer_id": "o1", "category": "repairs", "window_end": "2030-05-02T00:00:00+00:00"}]}
    c = Candidate.from_doc(doc)
    assert c.skills == {"pet_care"} and c.slots == ((0, 540, 600),) and c.active and c.open_commitments == 1
    assert c.recent_hours(POLICY, NOW) == pytest.approx(1.0)
    assert c.offers_category("repairs", NOW)


def test_index_prefilters_by_skill_offer_and_grid_and_follows_changes():
    view = CommunityView("c1", gen="x")
    view.neighbours = {g: frozenset(n) for g, n in NEIGHBOURS.items()}
    view.put(member("skilled_far", grid_id="g3"))
    view.put(member("near_unskilled", skills=frozenset(), grid_id="g2"))
    view.put(member("far_unskilled", skills=frozenset(), grid_id="g3"))
    view.put(member("offering", skills=frozenset(), grid_id=None, offers=(("o", "pet_care", NOW + 99),)))
    ids = {c.member_id for c in view.candidates_for(request())}
    assert ids == {"skilled_far", "near_unskilled", "offering"}
    view.put(member("skilled_far", grid_id="g3", active=False))  # deactivated: leaves every index
    view.put(member("near_unskilled", skills=frozenset(), grid_id="g3"))  # moved away
    assert {c.member_id for c in view.candidates_for(request())} == {"offering"}


def _brute_force(req, candidates, n):
    """Score every eligible candidate fully: what the pruned ranking must reproduce."""
    eligible = [c for c in candidates if ineligibility(req, c, POLICY) is None]
    scored = [scoring.score(req, c, POLICY, NOW) for c in eligible]
    return [s.member_id for s in sorted(scored, key=lambda s: (-round(s.total, 9), s.member_id))[:n]]


@pytest.mark.parametrize("seed", range(8))
def test_pruned_group_ranking_equals_scoring_everyone(seed):
    import random
    rng = random.Random(seed)
    cats = ["pet_care", "errands", "tutoring"]
    view = CommunityView("c1", gen="x", policy=POLICY)
    view.neighbours = {g: frozenset(n) for g, n in NEIGHBOURS.items()}
    for i in range(400):
        slots = [{"day": rng.randint(0, 6), "start": f"{h:02d}:00", "end": f"{h + rng.randint(1, 3):02d}:00"}
                 for h in rng.sample(range(6, 20), rng.randint(0, 3))]
        view.put(member(f"m{i:03d}", grid_id=rng.choice(["g1", "g2", "g3", None]),
                        skills=frozenset(rng.sample(cats, rng.randint(0, 2))),
                        slots=availability.parse_slots(slots), active=rng.random() > 0.05,
                        open_commitments=rng.randint(0, 3), completed=rng.randint(0, 6),
                        released=rng.randint(0, 2), rating_sum=rng.randint(0, 25), rating_count=rng.randint(0, 5),
                        earnings=tuple((NOW - rng.randint(0, 40) * 86400, "HOUR", rng.randint(0, 600))
                                       for _ in range(rng.randint(0, 3)))))
    for urgency in ("low", "normal", "high"):
        for grid in ("g1", "g2", None):
            req = request(category=rng.choice(cats), grid_id=grid, urgency=urgency, requester_id="m001",
                          vulnerable_requester=rng.random() < 0.5)
            pruned = [s.member_id for s in scoring.rank_groups(req, view.candidate_groups(req), POLICY, NOW, 7)]
            assert pruned == _brute_force(req, view.candidates_for(req), 7)


def test_standing_is_recomputed_when_an_earning_leaves_the_window():
    c = member(earnings=((NOW - 29 * 86400, "HOUR", 6000),))
    rich = scoring.standing(c, POLICY, NOW)[1]
    assert scoring.standing(c, POLICY, NOW + 3600)[1] == rich  # memoised
    assert scoring.standing(c, POLICY, NOW + 2 * 86400)[1] > rich  # the earning aged out


def test_index_lists_open_requests_for_a_member_by_category_and_grid():
    view = CommunityView("c1", gen="x", policy=POLICY)
    view.neighbours = {g: frozenset(n) for g, n in NEIGHBOURS.items()}
    view.put(member("alice", vulnerable=True))
    base = {"community_id": "c1", "requester_id": "alice", "state": "open", "kind": "request",
            "window_start": START, "window_end": START + timedelta(hours=2), "estimated_minutes": 60,
            "urgency": "normal", "released_helpers": []}
    view.put_request({**base, "_id": "pets_far", "category": "pet_care", "grid_id": "g3"})
    view.put_request({**base, "_id": "repairs_near", "category": "repairs", "grid_id": "g2"})
    view.put_request({**base, "_id": "repairs_far", "category": "repairs", "grid_id": "g3"})
    view.put_request({**base, "_id": "mine", "category": "pet_care", "grid_id": "g1", "requester_id": "bob"})
    view.put_request({**base, "_id": "taken", "category": "pet_care", "grid_id": "g1", "state": "accepted"})
    bob = member("bob", grid_id="g1")
    found = {r.request_id: r for r in view.open_requests_for(bob, NOW)}
    assert set(found) == {"pets_far", "repairs_near"}
    assert found["pets_far"].vulnerable_requester
    view.put_request({**base, "_id": "pets_far", "category": "pet_care", "grid_id": "g3", "state": "cancelled"})
    assert {r.request_id for r in view.open_requests_for(bob, NOW)} == {"repairs_near"}
    assert view.open_requests_for(bob, (START + timedelta(hours=3)).timestamp()) == []  # window passed
