"""Who hears about what: the notification centre's rules, without infrastructure."""
from datetime import date, datetime, timezone

from services.notifications import model
from services.notifications.model import Notice


def transfer(workflow="bill", payer="alice", payee="bob", **extra) -> dict:
    accounts = {None: "s:c1:issuance:PT"}
    debit = f"m:c1:{payer}:HOUR" if payer else accounts[None]
    credit = f"x:c1:{payee}:PT" if workflow == "redeem" else f"m:c1:{payee}:HOUR"
    return {"transfer_id": "t1", "community_id": "c1", "workflow": workflow, "unit": "HOUR", "amount": 90,
            "debit_account": debit, "credit_account": credit, "payer_id": payer, "payee_id": payee,
            "reason": None, "reference": {"kind": "request", "id": "r1"}, **extra}


def test_a_bill_awaits_the_payer_with_the_other_side_and_amount():
    [notice] = model.transfer_notices("TransferPending", transfer())
    assert notice == Notice("alice", "transfer.awaiting_confirmation", {"kind": "transfer", "id": "t1"}, {
        "transfer_id": "t1", "workflow": "bill", "unit": "HOUR", "amount": 90, "direction": "out",
        "reference": {"kind": "request", "id": "r1"}, "counterparty_kind": "member", "counterparty_id": "bob"})


def test_a_gift_awaits_the_receiver():
    [notice] = model.transfer_notices("TransferPending", transfer("credit", payer="bob", payee="alice"))
    assert (notice.member_id, notice.data["direction"], notice.data["counterparty_id"]) == ("alice", "in", "bob")


def test_awards_and_redemptions_await_no_member_here():
    award = transfer("award", payer=None, payee="bob")
    assert model.transfer_notices("TransferPending", award) == []
    assert model.transfer_notices("TransferPending", transfer("redeem", payee="mer1")) == []
    assert model.transfer_notices("TransferPosted", transfer("redeem", payee="mer1")) == []
    assert model.transfer_notices("TransferPosted", transfer("system")) == []
    [posted] = model.transfer_notices("TransferPosted", award)
    assert (posted.member_id, posted.kind, posted.data["counterparty_kind"]) == ("bob", "transfer.posted", "community")


def test_outcomes_reach_both_member_parties_and_a_cancellation_the_one_it_awaited():
    for event_type, kind in (("TransferPosted", "transfer.posted"), ("TransferRejected", "transfer.rejected"),
                             ("TransferExpired", "transfer.expired")):
        notices = model.transfer_notices(event_type, transfer(reason="not me"))
        assert [(n.member_id, n.kind) for n in notices] == [("alice", kind), ("bob", kind)]
        assert notices[1].data["direction"] == "in" and notices[1].data["reason"] == "not me"
    [cancelled] = model.transfer_notices("TransferCancelled", transfer())
    assert (cancelled.member_id, cancelled.kind) == ("alice", "transfer.cancelled")


def test_request_parties_are_remembered_from_the_events():
    posted = {"request_id": "r1", "community_id": "c1", "requester_id": "alice"}
    parties = model.parties_after("RequestPosted", posted, None)
    assert parties == {"requester_id": "alice", "helper_id": None}
    accepted = {**posted, "helper_id": "bob"}
    assert model.request_notices("RequestAccepted", accepted, parties) == [
        Notice("alice", "request.accepted", {"kind": "request", "id": "r1"}, {"request_id": "r1", "helper_id": "bob"})]
    parties = model.parties_after("RequestAccepted", accepted, parties)
    assert parties == {"requester_id": "alice", "helper_id": "bob"}
    done = model.request_notices("RequestCompleted", {**posted, "transfer_id": "t1"}, parties)
    assert [(n.member_id, n.kind, n.data["counterparty_id"]) for n in done] == [
        ("alice", "request.completed", "bob"), ("bob", "request.completed", "alice")]
    [cancelled] = model.request_notices("RequestCancelled", posted, parties)
    assert (cancelled.member_id, cancelled.kind) == ("bob", "request.cancelled")
    assert model.parties_after("HelperReleased", posted, parties) == {"requester_id": "alice", "helper_id": None}
    assert model.request_notices("RequestCancelled", posted, {"requester_id": "alice", "helper_id": None}) == []
    [expired] = model.request_notices("RequestExpired", posted, {"requester_id": "alice", "helper_id": None})
    assert (expired.member_id, expired.kind) == ("alice", "request.expired")


def test_a_claim_is_told_by_its_bill_unless_the_community_pays():
    claim = {"request_id": "r1", "community_id": "c1", "helper_id": "bob", "payer_id": "alice", "unit": "HOUR",
             "minutes": 60, "claim_id": "cl1", "source": "request", "title": "取药"}
    parties = {"requester_id": "alice", "helper_id": "bob"}
    assert model.request_notices("HelpClaimed", claim, parties) == []
    [task] = model.request_notices("HelpClaimed", {**claim, "payer_id": None, "unit": "PT"}, parties)
    assert (task.member_id, task.kind, task.data["title"], task.data["minutes"]) == ("alice", "request.claimed",
                                                                                      "取药", 60)
    assert model.request_notices("HelpClaimed", {**claim, "payer_id": None, "source": "activity"}, None) == []


def test_suggestions_and_redemptions():
    assert [n.member_id for n in model.suggestion_notices(
        {"request_id": "r1", "community_id": "c1", "member_ids": ["a", "b", "a"]})] == ["a", "b"]
    red = {"redemption_id": "red1", "community_id": "c1", "merchant_id": "mer1", "member_id": "alice",
           "points": 50, "bill_fen": 3000, "item_id": None, "pay_code": None, "merchant_name": "茶馆",
           "item_name": None, "transfer_id": None}
    [asked] = model.redemption_notices("RedemptionRequested", red)
    assert (asked.kind, asked.ref, asked.data["merchant_name"], asked.data["points"]) == (
        "redemption.requested", {"kind": "redemption", "id": "red1"}, "茶馆", 50)
    assert model.redemption_notices("RedemptionRequested", {**red, "pay_code": "123456"}) == []
    kinds = [model.redemption_notices(t, {**red, "transfer_id": "t9"})[0].kind
             for t in ("RedemptionCompleted", "RedemptionDeclined", "RedemptionExpired")]
    assert kinds == ["redemption.approved", "redemption.declined", "redemption.expired"]


def test_one_notification_per_event_member_and_kind():
    notice = Notice("alice", "transfer.posted", {"kind": "transfer", "id": "t1"})
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    one = model.new_notification(notice, event_id="e1", community_id="c1", created_at=at)
    assert one == model.new_notification(notice, event_id="e1", community_id="c1", created_at=at)
    assert one["notification_id"] != model.new_notification(notice, event_id="e2", community_id="c1",
                                                             created_at=at)["notification_id"]
    assert one["read"] is False and one["member_id"] == "alice"
    assert set(model.KINDS) >= {"transfer.awaiting_confirmation", "request.suggested", "redemption.expired"}
    assert "points.expiring" in model.KINDS


def test_a_bill_addressed_to_a_member_awaits_them_with_who_asks_what_for_and_how_much():
    p = {"charge_id": "chg_1", "community_id": "c1", "merchant_id": "mer_pm", "member_id": "alice", "bill_fen": 30000,
         "memo": "2026年11月物业费", "merchant_name": "莲花物业服务中心"}
    assert model.charge_notices(p) == [Notice("alice", "charge.issued", {"kind": "charge", "id": "chg_1"}, {
        "charge_id": "chg_1", "merchant_id": "mer_pm", "merchant_name": "莲花物业服务中心", "bill_fen": 30000,
        "title": "2026年11月物业费"})]


def test_points_about_to_expire_tell_their_owner_how_many_and_when():
    p = {"community_id": "c1", "member_id": "alice", "account_id": "m:c1:alice:PT", "points": 120,
         "expires_on": date(2027, 1, 31), "days": 7, "rule_version": 3}
    assert model.expiry_notices(p) == [Notice("alice", "points.expiring", {"kind": "points", "id": "m:c1:alice:PT"},
                                              {"unit": "PT", "amount": 120, "expires_on": "2027-01-31", "days": 7})]


def test_an_appeal_decided_tells_the_member_the_outcome_and_what_an_upholding_paid():
    p = {"appeal_id": "ap_1", "community_id": "c1", "member_id": "alice", "kind": "cap_cut", "unit": "PT",
         "disputed": 40, "amount": 30, "transfer_id": "t_9", "status": "upheld"}
    assert model.appeal_notices("AppealUpheld", p) == [Notice("alice", "appeal.upheld", {"kind": "appeal", "id": "ap_1"}, {
        "appeal_id": "ap_1", "appeal_kind": "cap_cut", "unit": "PT", "disputed": 40, "amount": 30, "transfer_id": "t_9"})]
    dismissed = model.appeal_notices("AppealDismissed", {**p, "amount": None, "transfer_id": None})
    assert [(n.kind, n.data) for n in dismissed] == [("appeal.dismissed", {"appeal_id": "ap_1", "appeal_kind": "cap_cut",
                                                                           "unit": "PT", "disputed": 40})]
    assert {"appeal.upheld", "appeal.dismissed"} <= set(model.KINDS)


def test_a_reviewer_is_kept_while_an_active_admin_or_grid_worker():
    joined = {"community_id": "c1", "member_id": "gus", "roles": ["resident", "grid_worker"], "grid_id": "g1",
              "status": "active"}
    assert model.reviewer_facts(joined) == {"community_id": "c1", "roles": ["grid_worker"], "grid_id": "g1"}
    assert model.reviewer_facts({**joined, "roles": ["resident", "organizer"]}) is None
    assert model.reviewer_facts({**joined, "status": "deactivated"}) is None
    assert model.reviewer_facts({"community_id": "c1", "member_id": "gus"}) is None  # MemberDeactivated


def test_an_appeal_filed_is_told_to_the_admins_and_for_a_grid_decision_to_its_grid_worker_not_the_decider():
    reviewers = [{"member_id": "root", "roles": ["admin"], "grid_id": None},
                 {"member_id": "gus", "roles": ["grid_worker"], "grid_id": "g1"},
                 {"member_id": "gwen", "roles": ["grid_worker"], "grid_id": "g2"},
                 {"member_id": "amy", "roles": ["admin"], "grid_id": "g1"}]
    p = {"appeal_id": "ap_1", "community_id": "c1", "member_id": "alice", "kind": "penalty", "unit": "PT",
         "disputed": 10, "grid_id": "g1", "deciders": ["amy"]}
    told = model.appeal_filed_notices(p, reviewers)
    # root (admin) and gus (g1's grid worker); not gwen (g2), not amy (she issued the penalty).
    assert [n.member_id for n in told] == ["root", "gus"]
    assert told[0] == Notice("root", "appeal.filed", {"kind": "appeal", "id": "ap_1"},
                             {"appeal_id": "ap_1", "appeal_kind": "penalty", "unit": "PT", "disputed": 10})
    # An expiry or a disputed claim is no grid decision: the admins only.
    assert [n.member_id for n in model.appeal_filed_notices({**p, "kind": "expiry", "deciders": []}, reviewers)] == [
        "root", "amy"]
    # A member of no grid: no grid worker; the appellant never hears of their own appeal as a reviewer.
    assert [n.member_id for n in model.appeal_filed_notices({**p, "grid_id": None}, reviewers)] == ["root"]
    assert [n.member_id for n in model.appeal_filed_notices({**p, "member_id": "root"}, reviewers)] == ["gus"]
    assert "appeal.filed" in model.KINDS
