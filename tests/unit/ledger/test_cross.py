"""Cross-community transfers without infrastructure: the trust line's pricing, limit and clearing rules, and
the Transfer across two communities (who may resolve or see it, its two legs, entries in each community)."""
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from shared.errors import Forbidden, Unprocessable
from services.ledger import model
from services.ledger.audit import expected_entries
from services.ledger.cross import TrustLine, line_for
from services.ledger.lifecycle import new_transfer
from services.ledger.model import POSTED, Account, Actor, member_of

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
A, B = "ca", "cb"


def line(**kw) -> TrustLine:
    base = dict(trust_line_id="tl:ag1:PT", agreement_id="ag1", unit="PT", community_a=A, community_b=B,
                net_limit=500, status="open", a_point_value_fen=10, b_point_value_fen=5, rate_version=1)
    return TrustLine(**{**base, **kw})


def clearing(community, partner, unit="PT"):
    return Account(model.partner_account_id(community, partner, unit), community, "partner", partner, unit,
                   credit_limit=None)


def cross_transfer(workflow="credit", amount=7, tl=None, payer=("ann", A), payee=("bob", B)):
    tl = tl or line()
    terms = tl.price(workflow, amount, payer[1])
    debit = replace(member_of(payer[1], payer[0], "PT"), posted=100)
    credit = member_of(payee[1], payee[0], "PT")
    initiator = payer[0] if workflow == "credit" else payee[0]
    t = new_transfer(transfer_id="tx1", community_id=payer[1], workflow=workflow, unit="PT",
                     amount=terms["debit_amount"], debit=debit, credit=credit, payer_id=payer[0], payee_id=payee[0],
                     initiator_id=initiator, now=NOW, ttl_days=14)
    books = {b.key: b for b in (debit, credit, clearing(payer[1], payee[1]), clearing(payee[1], payer[1]))}
    return replace(t, cross=terms), books


def test_price_fixes_both_amounts_rounded_against_the_person_and_the_clearing_accounts():
    gift = line().price("credit", 7, A)  # A gives 7 A-points (70 fen) → B receives 14
    assert (gift["debit_amount"], gift["credit_amount"], gift["measure"]) == (7, 14, 70)
    assert (gift["payer_point_value_fen"], gift["payee_point_value_fen"], gift["rate_version"]) == (10, 5, 1)
    assert gift["payer_clearing_account"] == f"p:{A}:{B}:PT" and gift["payee_clearing_account"] == f"p:{B}:{A}:PT"
    bill = line().price("bill", 15, A)  # B bills 15 B-points (75 fen): A pays 7.5 → 8
    assert (bill["debit_amount"], bill["credit_amount"], bill["measure"]) == (8, 15, 75)
    back = line().price("credit", 3, B)  # B gives 3 (15 fen) → A receives 1 (1.5 down)
    assert (back["debit_amount"], back["credit_amount"], back["payee_community"]) == (3, 1, A)
    hour = line(unit="HOUR", a_point_value_fen=None, b_point_value_fen=None).price("bill", 90, B)
    assert (hour["debit_amount"], hour["credit_amount"], hour["measure"]) == (90, 90, 90)


def test_a_line_that_is_not_open_or_has_no_rate_refuses_new_transfers():
    for status in ("suspended", "closed"):
        with pytest.raises(Unprocessable) as e:
            line(status=status).price("credit", 7, A)
        assert e.value.code == "trust_line_closed"
    with pytest.raises(Unprocessable) as e:
        line(rate_version=0).price("credit", 7, A)
    assert e.value.code == "rate_unknown"
    with pytest.raises(Unprocessable) as e:
        line_for([])
    assert e.value.code == "no_trust_line"
    assert line_for([line(trust_line_id="old", status="closed"), line()]).trust_line_id == "tl:ag1:PT"


def test_admit_keeps_net_within_the_limit_but_always_allows_a_move_towards_zero():
    tl = line(net_limit=100)
    gift = tl.price("credit", 7, A)  # +70 fen
    assert tl.admit(gift).net == 70
    with pytest.raises(Unprocessable) as e:
        replace(tl, net=40).admit(gift)  # 110 > 100
    assert e.value.code == "trust_line_limit"
    back = tl.price("credit", 30, B)  # b pays 150 fen → Δ −150
    assert replace(tl, net=90).admit(back).net == -60
    assert replace(tl, net=130).admit(back).net == -20  # over the limit (limit lowered) but towards zero
    with pytest.raises(Unprocessable):
        replace(tl, net=100, status="suspended").admit(back)


def test_clearing_moves_each_clearing_account_back_by_its_recorded_balance_once():
    tl = line(net=30)
    record = {"clearing_id": "clr1", "a_balance": 3, "b_balance": -6, "net": 30}
    moves = tl.clearing_moves(record)
    assert [(m["debit"], m["credit"], m["amount"]) for m in moves] == [
        (f"p:{A}:{B}:PT", f"s:{A}:issuance:PT", 3), (f"s:{B}:issuance:PT", f"p:{B}:{A}:PT", 6)]
    assert moves[0]["source"] != moves[1]["source"]
    after = tl.cleared(record)
    assert after.net == 0 and after.clearings == ("clr1",)
    assert after.cleared(record) is None
    assert tl.clearing_moves({**record, "a_balance": 0}) == moves[1:]


def test_only_the_named_counterparty_of_the_other_community_may_resolve_and_the_initiator_cancel():
    t, _ = cross_transfer("credit")
    bob_b, bob_a, ann_a = Actor("bob", B), Actor("bob", A), Actor("ann", A)
    assert t.may_resolve(bob_b) and not t.may_resolve(bob_a) and not t.may_resolve(ann_a)
    assert not t.may_resolve(Actor("root", B, ("admin",)))
    with pytest.raises(Forbidden):
        t.confirm(ann_a, NOW)
    assert t.may_cancel(ann_a) and not t.may_cancel(bob_b) and not t.may_cancel(Actor("ann", B))
    bill, _ = cross_transfer("bill", 15)  # bob (B) bills ann (A): ann confirms
    assert bill.may_resolve(Actor("ann", A)) and not bill.may_resolve(Actor("bob", B))
    assert bill.may_cancel(Actor("bob", B)) and bill.community_id == A and bill.communities() == (A, B)
    # Who may see: the two parties and the admins of either community, nobody else.
    assert all(t.may_see(x) for x in (ann_a, bob_b, Actor("x", A, ("admin",)), Actor("y", B, ("admin",))))
    assert not any(t.may_see(x) for x in (bob_a, Actor("ann", B), Actor("z", "cc", ("admin",)), Actor("w", B)))


def test_a_cross_transfer_holds_the_debit_amount_and_posts_two_legs_each_inside_its_community():
    t, books = cross_transfer("credit", 7)
    held, changed = t.reserve(books, require_funds=True)
    payer, payee = changed[held.payer_book], changed[held.payee_book]
    assert (held.reserved, payer.pending_out, payee.pending_in) == (7, 7, 14)
    books.update(changed)
    done, moved, entries = held.post(books, "bob", NOW)
    assert done.state == POSTED and moved[done.payer_book].posted == 93 and moved[done.payee_book].posted == 14
    assert moved[(f"p:{A}:{B}:PT", None)].posted == 7 and moved[(f"p:{B}:{A}:PT", None)].posted == -14
    assert moved[done.payer_book].pending_out == 0 and moved[done.payee_book].pending_in == 0
    by_id = {e["_id"]: e for e in entries}
    assert {e["community_id"] for i, e in by_id.items() if i.endswith(("D", "C"))} == {A}
    assert {by_id["tx1:D1"]["community_id"], by_id["tx1:C1"]["community_id"]} == {B}
    # Per community the legs sum to zero.
    assert sum(e["delta"] for e in entries if e["community_id"] == A) == 0
    assert sum(e["delta"] for e in entries if e["community_id"] == B) == 0
    doc = {"_id": t.transfer_id, "amount": t.amount, "debit_account": t.debit_account,
           "credit_account": t.credit_account, "cross": t.cross}
    assert sorted(expected_entries(doc)) == sorted((e["side"], e["account_id"], e["amount"]) for e in entries)


def test_a_cross_transfer_closed_releases_everything_and_posts_nothing():
    t, books = cross_transfer("credit", 7)
    held, changed = t.reserve(books, require_funds=True)
    books.update(changed)
    done, released = held.close("rejected", "bob", NOW, "no", books)
    assert done.state == "rejected" and released[held.payer_book].pending_out == 0
    assert released[held.payee_book].pending_in == 0
