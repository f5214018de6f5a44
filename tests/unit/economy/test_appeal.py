"""Appeals (shared.economy.appeal, 积分异议申诉): what each decision lets a member dispute, who may review, the
amounts an upholding may pay, one appeal per decision, a penalty upheld after a repair, an expiry appealed.
Numbers worked by hand in the comments."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from shared.economy import Penalty, Wallet, from_document
from shared.economy import appeal as rules
from shared.economy.rules import default_document
from shared.errors import Conflict, Forbidden, Unprocessable

NOW = datetime(2026, 11, 29, 8, tzinfo=timezone.utc)
RULES = from_document(default_document(), version=1)  # 12-month rolling expiry
ADMIN, ANN = rules.Reviewer("root", ("admin",)), rules.Reviewer("ann", ("admin", "resident"))
GREG, GUS = rules.Reviewer("greg", ("grid_worker",), "g1"), rules.Reviewer("gus", ("grid_worker",), "g1")
OTTO = rules.Reviewer("otto", ("grid_worker",), "g2")


def award(**kw) -> dict:
    """A posted award confirmed by greg: base 100, per-day cap 60 cut 40 → 60 paid."""
    return {"_id": "t_a", "community_id": "c1", "workflow": "award", "state": "posted", "unit": "PT", "amount": 60,
            "payee_id": "mei", "resolved_by": "greg",
            "details": {"award": {"amount": 60, "cuts": [{"code": "cap_per_day", "points": -40}]}}, **kw}


def filed(subject: rules.Subject, points=None) -> dict:
    return rules.file("ap_1", subject, subject.member_id, "那天调解了两起纠纷", points, NOW)


def test_a_cap_cut_disputes_the_points_cut_and_an_award_what_the_member_says_is_missing():
    cap = rules.award_subject("cap_cut", award(), "mei", "g1")
    assert (cap.disputable, cap.deciders, cap.grid_id) == (40, ("greg",), "g1")   # −(−40)
    assert filed(cap)["disputed"] == 40 and filed(cap, points=25)["disputed"] == 25
    with pytest.raises(Unprocessable) as e:
        filed(cap, points=41)                                                     # 41 > 40 cut
    assert e.value.code == "appeal_exceeds_disputed"
    whole = rules.award_subject("award", award(), "mei", "g1")
    assert whole.disputable is None and filed(whole, points=15)["disputed"] == 15
    for points in (None, 0, rules.MAX_AWARD_CLAIM + 1):
        with pytest.raises(Unprocessable) as e:
            filed(whole, points=points)
        assert e.value.code == "points_required"
    uncut = rules.award_subject("cap_cut", award(details={"award": {"amount": 60, "cuts": []}}), "mei", "g1")
    with pytest.raises(Unprocessable) as e:
        filed(uncut)                                                              # no cut: 0 to dispute
    assert e.value.code == "nothing_to_appeal"
    with pytest.raises(Unprocessable) as e:
        rules.award_subject("award", award(state="pending"), "mei", "g1")         # only a paid award
    assert e.value.code == "not_appealable"


def test_only_the_member_appeals_with_a_reason_once_per_decision():
    cap = rules.award_subject("cap_cut", award(), "mei", "g1")
    with pytest.raises(Forbidden) as e:
        rules.file("ap_1", cap, "bo", "不公平", None, NOW)
    assert e.value.code == "not_your_decision"
    for reason in ("", "   ", "x" * (rules.REASON_MAX + 1), None):
        with pytest.raises(Unprocessable) as e:
            rules.file("ap_1", cap, "mei", reason, None, NOW)
        assert e.value.code == "bad_reason"
    first = filed(cap)
    assert first["reason"] == "那天调解了两起纠纷" and first["steps"] == [
        {"step": "filed", "by": "mei", "at": NOW, "points": 40, "reason": "那天调解了两起纠纷"}]
    with pytest.raises(Conflict) as e:
        rules.file("ap_2", cap, "mei", "again", None, NOW, existing=first)
    assert e.value.code == "appeal_already_open"
    decided = rules.dismiss(first, ADMIN, "上限是社区规定", NOW)
    with pytest.raises(Conflict) as e:
        rules.file("ap_2", cap, "mei", "again", None, NOW, existing=decided)
    assert e.value.code == "appeal_already_decided"


@pytest.mark.parametrize("who,code", [
    (GREG, "reviewer_is_decider"),                        # greg confirmed the award
    (OTTO, "not_a_reviewer"),                             # another grid's worker
    (rules.Reviewer("olga", ("organizer",), "g1"), "not_a_reviewer"),
    (rules.Reviewer("mei", ("admin",), "g1"), "reviewer_is_appellant"),
    (rules.Reviewer("greg", ("admin",), "g1"), "reviewer_is_decider"),  # an admin who decided it is still its decider
])
def test_who_may_not_review(who, code):
    appeal = filed(rules.award_subject("cap_cut", award(), "mei", "g1"))
    with pytest.raises(Forbidden) as e:
        rules.uphold(appeal, who, None, 40, NOW)
    assert e.value.code == code


def test_the_grid_worker_of_the_members_grid_reviews_awards_and_penalties_only_admins_expiries_and_claims():
    cap = filed(rules.award_subject("cap_cut", award(), "mei", "g1"))
    assert rules.uphold(cap, GUS, None, 40, NOW)["decided_by"] == "gus"
    expiry = filed(rules.expiry_subject({"_id": "t_x", "community_id": "c1", "reference": {"kind": "expiry"},
                                         "state": "posted", "amount": 20}, "mei"))
    with pytest.raises(Forbidden) as e:
        rules.uphold(expiry, GUS, None, 20, NOW)
    assert e.value.code == "not_a_reviewer"
    assert rules.uphold(expiry, ANN, None, 20, NOW)["amount"] == 20   # the scheduler decided: any admin reviews


def test_an_upholding_pays_at_most_what_is_disputed_by_default_all_of_it_and_closes_the_appeal():
    appeal = filed(rules.award_subject("cap_cut", award(), "mei", "g1"))       # 40 disputed
    assert rules.uphold(appeal, ANN, None, 40, NOW)["amount"] == 40
    upheld = rules.uphold(appeal, ANN, 30, 40, NOW)
    assert (upheld["status"], upheld["amount"], upheld["decided_by"]) == ("upheld", 30, "ann")
    assert [s["step"] for s in upheld["steps"]] == ["filed", "upheld"] and upheld["steps"][1]["points"] == 30
    assert rules.with_transfer(upheld, "t_c")["steps"][1]["transfer_id"] == "t_c"
    for amount in (41, 0, -5):
        with pytest.raises(Unprocessable) as e:
            rules.uphold(appeal, ANN, amount, 40, NOW)
        assert e.value.code == "uphold_exceeds_disputed"
    with pytest.raises(Conflict) as e:
        rules.dismiss(upheld, ADMIN, "late", NOW)
    assert e.value.code == "appeal_closed"
    dismissed = rules.dismiss(appeal, ADMIN, "  上限是社区规定 ", NOW)
    assert (dismissed["status"], dismissed["decision_reason"], dismissed["amount"]) == ("dismissed", "上限是社区规定",
                                                                                       None)


def test_a_penalty_upheld_after_a_repair_gives_back_only_what_the_repair_left_owed_points_first():
    """Littering 30 on a balance of 20: 20 taken, 10 owed. Repair 5 → 5 owed forgiven, 5 still owed; repaired 5.
    An appeal disputes 30 − 5 = 25. Another repair of 10 while it is open leaves 15 to uphold (min(25, 30 − 15)).
    Upheld 15: 5 owed forgiven, 10 back as a lot of today."""
    penalty = {"_id": "pn_1", "community_id": "c1", "member_id": "pat", "issued_by": "greg", "amount": 30,
               "repaired": 5}
    appeal = filed(rules.penalty_subject(penalty, "g1"))
    assert (appeal["disputed"], appeal["deciders"]) == (25, ["greg"])
    now_disputable = rules.penalty_subject({**penalty, "repaired": 15}, "g1").disputable
    assert now_disputable == 15 and rules.upholdable(appeal, now_disputable) == 15
    with pytest.raises(Unprocessable) as e:
        rules.uphold(appeal, GUS, 16, now_disputable, NOW)
    assert e.value.code == "uphold_exceeds_disputed"
    assert rules.uphold(appeal, GUS, None, now_disputable, NOW)["amount"] == 15
    with pytest.raises(Unprocessable) as e:
        rules.uphold(appeal, GUS, None, 0, NOW)                                  # repaired in full meanwhile
    assert e.value.code == "nothing_to_appeal"
    wallet = Wallet(debt=5)
    after, items = wallet.restore("pn_1", "l_a", 15, date(2026, 11, 29), RULES, source="appeal")
    assert (after.debt, after.balance) == (0, 10)
    assert [(i["code"], i["points"]) for i in items] == [("appeal_debt", 5), ("appeal_lot", 10)]
    assert (after.lots[0].source, after.lots[0].expires_on) == ("appeal", date(2027, 11, 29))
    # and a repair still goes through the same give-back, within its window
    repaired, penalty_after, lines = Wallet(debt=5).repair(Penalty("pn_1", "littering", 30, date(2026, 11, 1), 5),
                                                           "l_b", 15, date(2026, 11, 29), RULES)
    assert penalty_after.repaired == 20 and [i["code"] for i in lines] == ["repair_debt", "repair_lot"]


def test_an_expiry_disputes_the_points_expired_and_a_disputed_claim_its_amount_but_not_before_it_is_disputed():
    expiry = rules.expiry_subject({"_id": "t_x", "community_id": "c1", "reference": {"kind": "expiry"},
                                   "state": "posted", "amount": 55}, "mei")
    assert (expiry.disputable, expiry.deciders) == (55, ())
    with pytest.raises(Unprocessable):
        rules.expiry_subject({"_id": "t_a", "community_id": "c1", "reference": {"kind": "request"},
                              "state": "posted", "amount": 5}, "mei")
    bill = {"_id": "t_b", "community_id": "c1", "state": "rejected", "unit": "HOUR", "amount": 60,
            "payer_id": "bo", "payee_id": "mei", "resolved_by": "bo"}
    with pytest.raises(Unprocessable) as e:
        rules.claim_subject(bill, None)                                           # requests has not said disputed
    assert e.value.code == "not_appealable"
    with pytest.raises(Unprocessable):
        rules.claim_subject({**bill, "resolved_by": None}, {"request_id": "r1"})  # refused by the system, not a person
    claim = rules.claim_subject(bill, {"request_id": "r1"})
    assert (claim.member_id, claim.unit, claim.disputable, claim.deciders) == ("mei", "HOUR", 60, ("bo", "bo"))
    appeal = filed(claim)
    with pytest.raises(Forbidden) as e:
        rules.uphold(appeal, rules.Reviewer("bo", ("admin",)), None, 60, NOW)
    assert e.value.code == "reviewer_is_decider"
    with pytest.raises(Forbidden):
        rules.uphold(appeal, GUS, None, 60, NOW)                                  # claims are the admins'


def test_who_pays_an_upholding_the_requester_of_a_bill_unless_the_reviewer_says_the_community():
    assert rules.payer("claim", "bill", None) == "requester"          # as the agreed transfer would have
    assert rules.payer("claim", "bill", "community") == "community"   # the community decides to pay
    assert rules.payer("claim", "award", None) == "community"         # a task the community pays in points
    assert rules.payer("penalty", None, None) == "penalty"            # the penalised points back
    assert {rules.payer(k, None, None) for k in ("award", "cap_cut", "expiry")} == {"community"}
    for kind, workflow in (("award", None), ("penalty", None), ("claim", "award")):
        with pytest.raises(Unprocessable) as e:
            rules.payer(kind, workflow, "community")
        assert e.value.code == "payer_not_choosable"
