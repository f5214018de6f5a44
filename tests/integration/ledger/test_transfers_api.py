"""Transfers through the HTTP API against real MongoDB and Kafka: each workflow and each forbidden move."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.mongo import utcnow
from shared.testing import wait_until
from services.ledger.scheduler import expire_due


@pytest.fixture
def c(kit):
    """A fresh community with members alice, bob and carol (accounts opened by MemberJoined)."""
    cid = kit.community()
    kit.join(cid, "alice", "bob", "carol")
    return cid


def _entries(kit, transfer_id):
    return kit.db.entries.count_documents({"transfer_id": transfer_id})


def test_credit_gift_reserves_then_posts_when_the_payee_accepts(kit, c):
    kit.fund("alice", c, points=100)
    assert kit.balance("alice", c, "PT")["posted"] == 100
    r = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=30, memo="谢谢")
    assert r.status_code == 201, r.json
    t = r.json
    assert t["state"] == "pending" and t["payer_id"] == "alice" and t["payee_id"] == "bob" and t["funds_reserved"]
    a = kit.balance("alice", c, "PT")
    assert (a["posted"], a["pending_out"], a["available"]) == (100, 30, 70)
    assert kit.balance("bob", c, "PT")["pending_in"] == 30
    assert _entries(kit, t["transfer_id"]) == 0

    r = kit.act("confirm", t["transfer_id"], "bob", c)
    assert r.status_code == 200 and r.json["state"] == "posted" and r.json["resolved_by"] == "bob"
    a, b = kit.balance("alice", c, "PT"), kit.balance("bob", c, "PT")
    assert (a["posted"], a["pending_out"], a["available"]) == (70, 0, 70)
    assert (b["posted"], b["pending_in"]) == (30, 0)
    assert _entries(kit, t["transfer_id"]) == 2
    posted = kit.log.wait("TransferPosted", transfer_id=t["transfer_id"])[0]
    assert posted["payload"]["amount"] == 30 and posted["key"] == t["transfer_id"]
    assert "memo" not in posted["payload"]  # free text stays out of events
    assert kit.log.of("TransferPending", transfer_id=t["transfer_id"])
    assert kit.audit(c)["ok"]


def test_gifts_post_at_once_to_a_payee_who_opted_in_and_wait_again_after_opting_out(kit, c):
    kit.fund("alice", c, points=100)
    me = kit.h("bob", c)
    assert kit.http.get("/v1/preferences", headers=me).json == {"auto_accept_credits": False}
    assert kit.http.put("/v1/preferences", json={"auto_accept_credits": "yes please"}, headers=me).status_code == 422
    opted = kit.http.put("/v1/preferences", json={"auto_accept_credits": True}, headers=me)
    assert opted.status_code == 200 and kit.http.get("/v1/preferences", headers=me).json["auto_accept_credits"]

    r = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=25)
    assert r.status_code == 201 and r.json["state"] == "posted" and r.json["resolved_by"] == "bob"
    assert kit.balance("bob", c, "PT")["posted"] == 25 and kit.balance("alice", c, "PT")["available"] == 75
    assert _entries(kit, r.json["transfer_id"]) == 2
    kit.log.wait("TransferPosted", transfer_id=r.json["transfer_id"])
    assert kit.log.of("TransferPending", transfer_id=r.json["transfer_id"])  # the trail shows both steps

    # Bills are never auto-accepted: consent covers being paid, not paying.
    bill = kit.transfer("carol", c, workflow="bill", unit="PT", counterparty_id="bob", amount=5)
    assert bill.status_code == 201 and bill.json["state"] == "pending"

    kit.http.put("/v1/preferences", json={"auto_accept_credits": False}, headers=me)
    again = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=5)
    assert again.json["state"] == "pending"
    assert kit.audit(c)["ok"]


def test_bill_is_confirmed_by_the_payer_and_rechecks_funds(kit, c):
    # A newcomer's HOUR account opens with the community's mutual credit (10 h by default), PT at 0.
    a = kit.balance("alice", c, "HOUR")
    assert (a["posted"], a["credit_limit"], a["available"]) == (0, 600, 600)
    assert kit.balance("alice", c, "PT")["credit_limit"] == 0
    r = kit.transfer("bob", c, workflow="bill", unit="HOUR", counterparty_id="alice", amount=690)
    assert r.status_code == 201 and r.json["payer_id"] == "alice" and r.json["funds_reserved"] is False
    tid = r.json["transfer_id"]
    r = kit.act("confirm", tid, "alice", c)
    assert r.status_code == 422 and r.json["code"] == "insufficient_funds"
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert kit.http.get(f"/v1/transfers/{tid}", headers=kit.h("alice", c)).json["state"] == "pending"
    kit.grant(f"m:{c}:alice:HOUR", c, 720)  # a larger hours overdraft granted by the admin
    r = kit.act("confirm", tid, "alice", c)
    assert r.status_code == 200 and r.json["state"] == "posted"
    a, b = kit.balance("alice", c, "HOUR"), kit.balance("bob", c, "HOUR")
    assert (a["posted"], a["credit_limit"], a["available"], b["posted"]) == (-690, 720, 30, 690)
    page = kit.http.get("/v1/entries?unit=HOUR", headers=kit.h("alice", c)).json
    assert page["items"][0]["delta"] == -690 and page["items"][0]["balance_after"] == -690
    assert kit.audit(c)["ok"]


def test_award_claim_is_confirmed_by_an_organizer_who_is_not_the_volunteer(kit, c):
    r = kit.transfer("carol", c, workflow="award", unit="PT", minutes=30, activity_type="mediation")
    # Mediation 50, newcomer 1/3 ×200% +50, first participation +5 (default rules, version 0).
    assert r.status_code == 201 and r.json["amount"] == 105 and r.json["debit_account"] == f"s:{c}:issuance:PT"
    assert r.json["award"]["explanation"]["en"] == ["Base points for mediation: 50",
                                                    "Newcomer activity 1 of 3: 50 × 200%: +50",
                                                    "First participation: +5"]
    tid = r.json["transfer_id"]
    assert kit.act("confirm", tid, "carol", c, "organizer").status_code == 403  # the volunteer herself
    assert kit.act("confirm", tid, "alice", c).status_code == 403  # a plain resident
    waiting = kit.http.get("/v1/transfers/awaiting", headers=kit.h("greg", c, "grid_worker")).json
    assert tid in [w["transfer_id"] for w in waiting]
    assert kit.act("confirm", tid, "greg", c, "grid_worker").json["state"] == "posted"
    assert kit.balance("carol", c, "PT")["posted"] == 105
    assert kit.audit(c)["ok"]


def test_forbidden_moves(kit, c):
    kit.fund("alice", c, points=50)
    t = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=10).json
    tid = t["transfer_id"]
    r = kit.act("confirm", tid, "alice", c)  # the initiator confirms her own transfer
    assert r.status_code == 403 and r.json["code"] == "not_counterparty"
    assert kit.act("confirm", tid, "carol", c).status_code == 403  # a stranger
    assert kit.act("reject", tid, "carol", c).status_code == 403
    assert kit.act("cancel", tid, "bob", c).status_code == 403  # only the initiator cancels
    assert kit.act("confirm", tid, "bob", "c_other").status_code == 404  # another community
    first = kit.act("confirm", tid, "bob", c)
    second = kit.act("confirm", tid, "bob", c)
    assert first.status_code == second.status_code == 200 and first.json == second.json
    assert _entries(kit, tid) == 2 and kit.balance("bob", c, "PT")["posted"] == 10
    assert kit.act("reject", tid, "bob", c).status_code == 409
    assert kit.act("cancel", tid, "alice", c).status_code == 409
    assert kit.act("confirm", tid, "carol", c).status_code == 403  # still nobody else's, even when posted
    assert kit.audit(c)["ok"]


def test_confirm_after_expiry_is_409_and_the_scheduler_releases_the_hold(kit, c):
    kit.fund("alice", c, points=40)
    tid = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=40).json["transfer_id"]
    # Time passes: the community's 14-day TTL runs out.
    kit.db.transfers.update_one({"_id": tid}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    r = kit.act("confirm", tid, "bob", c)
    assert r.status_code == 409 and r.json["code"] == "transfer_expired"
    assert expire_due(kit.ledger.runtime) >= 1
    assert expire_due(kit.ledger.runtime) == 0  # idempotent
    assert kit.http.get(f"/v1/transfers/{tid}", headers=kit.h("alice", c)).json["state"] == "expired"
    assert kit.balance("alice", c, "PT")["available"] == 40
    assert kit.act("confirm", tid, "bob", c).status_code == 409
    kit.log.wait("TransferExpired", transfer_id=tid)
    assert kit.audit(c)["ok"]


def test_bill_auto_confirms_on_expiry_when_the_community_chose_it(kit):
    c = kit.community()
    kit.publish("community.events", "CommunityCreated",
                {"community_id": c, "code": c, "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 3, "bill_auto_confirm": True, "timezone": "Asia/Shanghai"}}, c)
    wait_until(lambda: kit.db.accounts.count_documents({"community_id": c, "kind": "system"}) == 10)
    kit.join(c, "alice", "bob")
    kit.grant(f"m:{c}:alice:HOUR", c, 600)
    t = kit.transfer("bob", c, workflow="bill", unit="HOUR", counterparty_id="alice", amount=60).json
    assert t["funds_reserved"] and t["expires_at"].startswith(str((utcnow() + timedelta(days=3)).date()))
    kit.db.transfers.update_one({"_id": t["transfer_id"]}, {"$set": {"expires_at": utcnow()}})
    expire_due(kit.ledger.runtime)
    done = kit.http.get(f"/v1/transfers/{t['transfer_id']}", headers=kit.h("bob", c)).json
    assert done["state"] == "posted" and kit.balance("bob", c, "HOUR")["posted"] == 60
    assert kit.audit(c)["ok"]


def test_overdraft_beyond_the_limit_is_422_and_changes_nothing(kit, c):
    kit.fund("alice", c, points=20)
    before = (kit.balance("alice", c, "PT"), kit.balance("bob", c, "PT"),
              kit.db.transfers.count_documents({"community_id": c}), kit.db.outbox.count_documents({}))
    r = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=21)
    assert r.status_code == 422 and r.json["code"] == "insufficient_funds"
    after = (kit.balance("alice", c, "PT"), kit.balance("bob", c, "PT"),
             kit.db.transfers.count_documents({"community_id": c}), kit.db.outbox.count_documents({}))
    assert before == after


@pytest.mark.parametrize("body,status", [
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "nobody", "amount": 5}, 404),
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "bob", "amount": 0}, 422),
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "bob", "amount": -5}, 422),
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "bob", "amount": 1.5}, 422),
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "bob", "amount": "10"}, 422),
    ({"workflow": "credit", "unit": "EUR", "counterparty_id": "bob", "amount": 5}, 422),
    ({"workflow": "credit", "unit": "PT", "counterparty_id": "alice", "amount": 5}, 422),
    ({"workflow": "steal", "unit": "PT", "counterparty_id": "bob", "amount": 5}, 422),
    ({"workflow": "award", "unit": "PT", "minutes": 60, "amount": 1000}, 422),
    ({"workflow": "credit", "unit": "PT", "amount": 5}, 422),
])
def test_bad_input_is_a_clear_4xx(kit, c, body, status):
    before = _written(kit, c)
    r = kit.transfer("alice", c, **body)
    assert r.status_code == status, r.json
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json["status"] == status and isinstance(r.json["code"], str) and r.json["code"]
    assert _written(kit, c) == before


def _written(kit, c) -> dict:
    """Everything a refused command could have left behind: transfers, journal entries, outbox rows, accounts
    (with their balances), Idempotency-Key records, pay codes."""
    return {"transfers": kit.db.transfers.count_documents({"community_id": c}),
            "entries": kit.db.entries.count_documents({"community_id": c}),
            "outbox": kit.db.outbox.count_documents({}),
            "accounts": sorted((a["_id"], a["posted"], a["pending_out"], a["pending_in"], a["credit_limit"])
                               for a in kit.db.accounts.find({"community_id": c})),
            "keys": kit.db.idempotency_keys.count_documents({}),
            "pay_codes": kit.db.pay_codes.count_documents({"community_id": c})}


def test_authentication_and_unknown_transfers(kit, c):
    before = _written(kit, c)
    assert kit.http.get("/v1/balances").status_code == 401
    assert kit.http.post("/v1/transfers", json={"workflow": "credit", "unit": "PT", "counterparty_id": "bob",
                                                "amount": 5},
                         headers={"Authorization": "Bearer nope"}).status_code == 401
    assert kit.act("confirm", "t_missing", "bob", c).status_code == 404
    broken = kit.http.post("/v1/transfers", data='{"workflow": "credit", "unit": "PT", "amount": 5',
                           headers=kit.h("alice", c, **{"Content-Type": "application/json",
                                                        "Idempotency-Key": "broken-body"}))
    assert broken.status_code == 400, broken.json  # not JSON at all: a bad request, not a rule refusal
    assert broken.headers["Content-Type"].startswith("application/problem+json") and broken.json["status"] == 400
    assert _written(kit, c) == before


def test_idempotency_key_replays_the_answer_and_refuses_another_body(kit, c):
    kit.fund("alice", c, points=50)
    headers = kit.h("alice", c, **{"Idempotency-Key": "gift-1"})
    body = {"workflow": "credit", "unit": "PT", "counterparty_id": "bob", "amount": 5}
    first = kit.http.post("/v1/transfers", json=body, headers=headers)
    again = kit.http.post("/v1/transfers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    other = kit.http.post("/v1/transfers", json={**body, "amount": 6}, headers=headers)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    assert kit.db.transfers.count_documents({"community_id": c, "workflow": "credit"}) == 1
    assert kit.balance("alice", c, "PT")["pending_out"] == 5


def test_reject_and_cancel_release_the_reservation(kit, c):
    kit.fund("alice", c, points=30)
    t1 = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=20).json
    assert kit.balance("alice", c, "PT")["available"] == 10
    r = kit.act("reject", t1["transfer_id"], "bob", c, reason="不需要")
    assert r.json["state"] == "rejected" and r.json["reason"] == "不需要"
    assert kit.act("reject", t1["transfer_id"], "bob", c).json["state"] == "rejected"  # replay
    t2 = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="carol", amount=30).json
    assert kit.act("cancel", t2["transfer_id"], "alice", c).json["state"] == "cancelled"
    assert kit.balance("alice", c, "PT")["available"] == 30 and kit.balance("bob", c, "PT")["pending_in"] == 0
    kit.log.wait("TransferRejected", transfer_id=t1["transfer_id"])
    kit.log.wait("TransferCancelled", transfer_id=t2["transfer_id"])
    assert kit.audit(c)["ok"]


def test_who_sees_a_transfer_and_what_awaits_whom(kit, c):
    t = kit.transfer("bob", c, workflow="bill", unit="HOUR", counterparty_id="alice", amount=30).json
    tid = t["transfer_id"]
    for who, roles in (("alice", ()), ("bob", ()), ("root", ("admin",))):
        assert kit.http.get(f"/v1/transfers/{tid}", headers=kit.h(who, c, *roles)).status_code == 200
    assert kit.http.get(f"/v1/transfers/{tid}", headers=kit.h("carol", c)).status_code == 404
    assert kit.http.get(f"/v1/transfers/{tid}", headers=kit.h("root", "c_other", "admin")).status_code == 404
    assert [w["transfer_id"] for w in kit.http.get("/v1/transfers/awaiting", headers=kit.h("alice", c)).json] == [tid]
    assert kit.http.get("/v1/transfers/awaiting", headers=kit.h("bob", c)).json == []


def test_entries_are_paged_newest_first_and_filtered(kit, c):
    kit.fund("alice", c, points=100, minutes=100)
    for amount in (1, 2, 3, 4, 5):
        t = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=amount).json
        kit.act("confirm", t["transfer_id"], "bob", c)
    t = kit.transfer("alice", c, workflow="credit", unit="HOUR", counterparty_id="bob", amount=7).json
    kit.act("confirm", t["transfer_id"], "bob", c)
    page = kit.http.get("/v1/entries?unit=PT&limit=2", headers=kit.h("bob", c)).json
    assert [e["amount"] for e in page["items"]] == [5, 4] and page["next_cursor"]
    seen = [e["amount"] for e in page["items"]]
    while page["next_cursor"]:
        page = kit.http.get(f"/v1/entries?unit=PT&limit=2&cursor={page['next_cursor']}",
                            headers=kit.h("bob", c)).json
        seen += [e["amount"] for e in page["items"]]
    assert seen == [5, 4, 3, 2, 1]
    assert [e["unit"] for e in kit.http.get("/v1/entries", headers=kit.h("bob", c)).json["items"]][0] == "HOUR"
    future = (utcnow() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert kit.http.get(f"/v1/entries?since={future}", headers=kit.h("bob", c)).json["items"] == []
    assert kit.http.get("/v1/entries?cursor=garbage", headers=kit.h("bob", c)).status_code == 400
    assert kit.http.get("/v1/entries?unit=EUR", headers=kit.h("bob", c)).status_code == 422


def test_admin_statement_credit_limits_reversal_and_audit(kit, c):
    kit.fund("alice", c, points=60)
    t = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=25).json
    kit.act("confirm", t["transfer_id"], "bob", c)
    admin = kit.h("root", c, "admin")
    st = kit.http.get(f"/v1/admin/accounts/m:{c}:bob:PT/statement", headers=admin).json
    assert st["account"]["posted"] == 25 and st["items"][0]["transfer_id"] == t["transfer_id"]
    assert kit.http.get(f"/v1/admin/accounts/m:{c}:bob:PT/statement", headers=kit.h("bob", c)).status_code == 403
    assert kit.http.get(f"/v1/admin/accounts/m:{c}:bob:PT/statement",
                        headers=kit.h("root", "c_other", "admin")).status_code == 404
    assert kit.http.get("/v1/admin/audit", headers=kit.h("bob", c)).status_code == 403
    issuance = kit.http.get(f"/v1/admin/accounts/s:{c}:issuance:PT/statement", headers=admin).json
    assert issuance["account"]["posted"] == -60 and issuance["account"]["credit_limit"] is None

    r = kit.http.post(f"/v1/admin/transfers/{t['transfer_id']}/reverse", json={"reason": "appeal upheld"},
                      headers=admin)
    assert r.status_code == 201 and r.json["reference"] == {"kind": "reversal", "id": t["transfer_id"]}
    assert kit.http.post(f"/v1/admin/transfers/{t['transfer_id']}/reverse", json={"reason": "appeal upheld"},
                         headers=admin).json["transfer_id"] == r.json["transfer_id"]  # once only
    assert kit.balance("bob", c, "PT")["posted"] == 0 and kit.balance("alice", c, "PT")["posted"] == 60

    # A limit cannot drop below what the account already uses.
    kit.grant(f"m:{c}:carol:PT", c, 10)
    kit.transfer("carol", c, workflow="credit", unit="PT", counterparty_id="bob", amount=8)
    r = kit.http.post(f"/v1/admin/accounts/m:{c}:carol:PT/credit-limit", json={"credit_limit": 5}, headers=admin)
    assert r.status_code == 422 and r.json["code"] == "limit_below_use"
    assert kit.http.post(f"/v1/admin/accounts/s:{c}:issuance:PT/credit-limit", json={"credit_limit": 5},
                         headers=admin).status_code == 422
    report = kit.audit(c)
    assert report["ok"], report["problems"]
    assert report["sums"] == {f"{c}:PT": 0, f"{c}:HOUR": 0}


def test_audit_detects_tampering(kit, c):
    kit.fund("alice", c, points=10)
    entry = kit.db.entries.find_one({"account_id": f"m:{c}:alice:PT"})
    kit.db.entries.update_one({"_id": entry["_id"]}, {"$set": {"amount": 1000, "delta": 1000}})
    report = kit.audit(c)
    assert not report["ok"]
    assert any("tampered" in p for p in report["problems"])
    assert any("sum to" in p for p in report["problems"])


def test_no_command_opens_an_account_for_someone_the_ledger_has_not_heard_of(kit, c):
    """SPEC §4: accounts exist only for members, merchants and partners announced by events; every command
    naming anyone else is 404 and writes nothing, and afterwards that person still cannot be paid."""
    kit.fund("alice", c, points=20)
    admin = kit.h("root", c, "admin")
    before = _written(kit, c)
    for account in (f"m:{c}:m_nobody:HOUR", f"m:{c}:m_nobody:PT", f"x:{c}:shop_nobody:PT",
                    f"p:{c}:c_partner:HOUR", "m:c_elsewhere:m_x:HOUR"):
        r = kit.http.post(f"/v1/admin/accounts/{account}/credit-limit", json={"credit_limit": 5}, headers=admin)
        assert (r.status_code, r.json["code"]) == (404, "unknown_account"), (account, r.json)
    gift = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="m_nobody", amount=5)
    assert (gift.status_code, gift.json["code"]) == (404, "unknown_account")
    # A token for someone whose MemberJoined never reached the ledger: their own account is not opened either.
    ghost = kit.h("m_nobody", c)
    for method, path, body in (("post", "/v1/transfers", {"workflow": "award", "unit": "PT", "minutes": 60}),
                               ("post", "/v1/transfers", {"workflow": "bill", "unit": "HOUR",
                                                          "counterparty_id": "alice", "amount": 30}),
                               ("post", "/v1/pay-codes", {"max_points": 10}),
                               ("put", "/v1/preferences", {"auto_accept_credits": True})):
        r = getattr(kit.http, method)(path, json=body, headers=ghost)
        assert (r.status_code, r.json["code"]) == (404, "unknown_account"), (path, r.json)
        assert r.json["detail"].startswith("您的账户尚未开通")
    assert _written(kit, c) == before
    assert kit.db.accounts.count_documents({"owner_id": {"$in": ["m_nobody", "shop_nobody", "c_partner", "m_x"]}}) == 0
    assert not kit.log.of("AccountOpened", owner_id="m_nobody")

    # Once the member has joined, the same loan is granted on the account MemberJoined opened.
    kit.join(c, "m_nobody")
    granted = kit.grant(f"m:{c}:m_nobody:HOUR", c, 120)
    assert (granted["credit_limit"], granted["available"]) == (120, 120)
    assert kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="m_nobody",
                        amount=5).status_code == 201
    assert len(kit.log.wait("AccountOpened", account_id=f"m:{c}:m_nobody:HOUR")) == 1


def test_audit_finds_a_missing_journal_entry_among_many_chains(kit, c):
    for m in ("alice", "bob"):
        kit.fund(m, c, points=5)
    r = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=3)
    assert kit.act("confirm", r.json["transfer_id"], "bob", c).json["state"] == "posted"
    assert kit.audit(c)["ok"]
    kit.db.entries.delete_one({"_id": f"{r.json['transfer_id']}:C"})
    problems = kit.audit(c)["problems"]
    assert any(f"transfer {r.json['transfer_id']}: posted but its entries are" in p for p in problems)
    assert any(p.startswith(f"m:{c}:bob:PT#0: chain head") for p in problems)
    assert not any(p.startswith(f"m:{c}:alice:PT") for p in problems)  # alice's chain is intact


def test_a_reversal_needs_the_amount_where_it_now_is_and_writes_nothing_otherwise(kit, c):
    kit.fund("alice", c, points=20)
    gift = kit.transfer("alice", c, workflow="credit", unit="PT", counterparty_id="bob", amount=20).json
    kit.act("confirm", gift["transfer_id"], "bob", c)
    onward = kit.transfer("bob", c, workflow="credit", unit="PT", counterparty_id="carol", amount=15).json
    kit.act("confirm", onward["transfer_id"], "carol", c)
    before = _written(kit, c)
    r = kit.http.post(f"/v1/admin/transfers/{gift['transfer_id']}/reverse", json={"reason": "mistake"},
                      headers=kit.h("root", c, "admin"))
    assert (r.status_code, r.json["code"], r.json["account_id"]) == (422, "insufficient_funds", f"m:{c}:bob:PT")
    assert r.json["detail"].startswith("要退回的账户现有积分不足 20")
    assert _written(kit, c) == before and kit.balance("bob", c, "PT")["posted"] == 5
