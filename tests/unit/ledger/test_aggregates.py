"""The aggregates without infrastructure: holds, limits, posting onto the hash chain, shards, and the
difference the repository writes (with its guards) when a book changes."""
from dataclasses import FrozenInstanceError, dataclass, replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Unprocessable
from services.ledger import model
from services.ledger.lifecycle import new_transfer
from services.ledger.model import CANCELLED, PENDING, POSTED, Shard, member_of, system_of
from services.ledger.repository import _difference

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
C = "c1"


def pt(member, posted=0, limit=0, **kw):
    return replace(member_of(C, member, "PT", limit), posted=posted, **kw)


def credit(debit, credit_, amount, tid="t1"):
    return new_transfer(transfer_id=tid, community_id=C, workflow="credit", unit="PT", amount=amount, debit=debit,
                        credit=credit_, payer_id=debit.owner_id, payee_id=credit_.owner_id,
                        initiator_id=debit.owner_id, now=NOW, ttl_days=14)


def books(*accounts_or_shards):
    return {b.key: b for b in accounts_or_shards}


def test_aggregates_are_immutable():
    with pytest.raises(FrozenInstanceError):
        pt("ann").posted = 5  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        credit(pt("ann"), pt("bob"), 1).state = POSTED  # type: ignore[misc]


def test_reserve_holds_what_the_payer_can_cover_and_notes_the_payees_pending_credit():
    ann, bob = pt("ann", posted=30, limit=5), pt("bob")
    t, changed = credit(ann, bob, 35).reserve(books(ann, bob), require_funds=True)
    assert t.reserved == 35 and t.state == PENDING
    assert changed[ann.key].pending_out == 35 and changed[ann.key].available == 0
    assert changed[bob.key].pending_in == 35 and changed[bob.key].posted == 0
    assert (ann.pending_out, bob.pending_in) == (0, 0)  # the loaded versions are unchanged

    with pytest.raises(Unprocessable) as refused:
        credit(ann, bob, 36).reserve(books(ann, bob), require_funds=True)
    assert refused.value.code == "insufficient_funds"
    # a bill the payer cannot cover stays pending unreserved; only the pending credit is noted
    t, changed = credit(ann, bob, 36).reserve(books(ann, bob), require_funds=False)
    assert t.reserved == 0 and set(changed) == {bob.key} and changed[bob.key].pending_in == 36


def test_post_appends_both_entries_to_their_chains_and_releases_the_hold():
    ann, bob = pt("ann", posted=30), pt("bob")
    t, held = credit(ann, bob, 20).reserve(books(ann, bob), require_funds=True)
    done, moved, entries = t.post(books(*held.values()), "bob", NOW)
    assert done.state == POSTED and done.resolved_by == "bob" and done.reserved == 0
    a, b = moved[ann.key], moved[bob.key]
    assert (a.posted, a.pending_out, a.seq) == (10, 0, 1) and (b.posted, b.pending_in, b.seq) == (20, 0, 1)
    debit, credit_entry = entries
    assert (debit["_id"], debit["delta"], debit["balance_after"], debit["prev_hash"]) == (
        "t1:D", -20, 10, model.GENESIS)
    assert credit_entry["account_id"] == bob.account_id and credit_entry["balance_after"] == 20
    assert a.last_hash == debit["hash"] == model.chain_hash(model.GENESIS, debit)
    assert model.verify_chain([debit])[0] == []

    # the next entry on ann's chain links to the first
    t2, held2 = credit(a, b, 5, "t2").reserve(books(a, b), require_funds=True)
    _, moved2, (next_debit, _) = t2.post(books(*held2.values()), "bob", NOW + timedelta(seconds=1))
    assert next_debit["seq"] == 2 and next_debit["prev_hash"] == debit["hash"]
    assert model.verify_chain([debit, next_debit])[0] == []


def test_post_rechecks_the_limit_and_a_transfer_made_posted_holds_nothing():
    ann, bob = pt("ann", posted=5), pt("bob")
    t, noted = credit(ann, bob, 10).reserve(books(ann, bob), require_funds=False)  # a bill: nothing held
    assert t.reserved == 0
    with pytest.raises(Unprocessable):  # still does not fit at confirm
        t.post(books(ann, *noted.values()), "ann", NOW)
    ann = replace(ann, posted=10)  # funded meanwhile: it posts
    assert t.post(books(ann, *noted.values()), "ann", NOW)[1][ann.key].posted == 0
    done, moved, _ = credit(ann, bob, 10).post(books(ann, bob), None, NOW, stored=False)
    assert done.state == POSTED and moved[ann.key].pending_out == 0 and moved[bob.key].pending_in == 0
    assert moved[ann.key].posted == 0 and moved[bob.key].posted == 10


def test_close_releases_the_hold_and_the_pending_credit_and_posts_nothing():
    ann, bob = pt("ann", posted=30), pt("bob")
    t, held = credit(ann, bob, 20).reserve(books(ann, bob), require_funds=True)
    done, released = t.close(CANCELLED, "ann", NOW, "changed my mind", books(*held.values()))
    assert done.state == CANCELLED and done.reason == "changed my mind"
    assert released[ann.key] == ann and released[bob.key] == bob


def test_a_hot_account_moves_on_the_shard_the_transfer_id_picks():
    issuance, bob = system_of(C, "issuance", "PT"), pt("bob")
    assert issuance.unlimited and issuance.shards == model.HOT_SHARDS
    t = new_transfer(transfer_id="t9", community_id=C, workflow="award", unit="PT", amount=7, debit=issuance,
                     credit=bob, payer_id=None, payee_id="bob", initiator_id="bob", now=NOW, ttl_days=14)
    shard = Shard(issuance.account_id, model.shard_of("t9", model.HOT_SHARDS))
    assert t.payer_book == shard.key and t.debit_shard == shard.shard and t.credit_shard is None
    t, held = t.reserve(books(shard, bob), require_funds=True)  # unlimited: always held
    _, moved, (debit, _) = t.post(books(*held.values()), "olga", NOW)
    assert moved[shard.key].posted == -7 and moved[shard.key].pending_out == 0
    assert debit["shard"] == shard.shard and "balance_after" not in debit  # a shard is not the balance
    assert [s.key for s in issuance.new_shards()][:2] == [(issuance.account_id, 0), (issuance.account_id, 1)]


def test_new_limit_is_checked_once_by_the_account():
    ann = pt("ann", posted=-50, limit=100)
    assert ann.with_limit(60).credit_limit == 60
    with pytest.raises(Unprocessable) as below:
        ann.with_limit(40)
    assert below.value.code == "limit_below_use"
    with pytest.raises(Unprocessable):
        system_of(C, "fees", "PT").with_limit(5)


def test_the_repository_writes_the_difference_under_the_guards_the_aggregate_decided_under():
    ann, bob = pt("ann", posted=30), pt("bob")
    t, held = credit(ann, bob, 20).reserve(books(ann, bob), require_funds=True)
    update, guard = _difference(ann, held[ann.key])
    assert update == {"$inc": {"pending_out": 20}}
    assert guard == {"$expr": {"$gte": [{"$subtract": ["$posted", "$pending_out"]}, 20]}}  # the limit re-checked
    assert _difference(bob, held[bob.key]) == ({"$inc": {"pending_in": 20}}, {})  # raising a balance: no guard

    _, moved, (entry, _) = t.post(books(*held.values()), "bob", NOW)
    update, guard = _difference(held[ann.key], moved[ann.key])
    assert update == {"$inc": {"posted": -20, "pending_out": -20, "seq": 1}, "$set": {"last_hash": entry["hash"]}}
    assert guard["seq"] == 0 and "$expr" in guard  # the chain head it was appended to, and the limit

    assert _difference(ann, ann.with_limit(10)) == ({"$set": {"credit_limit": 10}}, {})  # raised: nothing to guard
    lowered = ann.with_limit(0)
    assert _difference(ann.with_limit(10), lowered)[1] == {
        "$expr": {"$gte": [{"$subtract": ["$posted", "$pending_out"]}, 0]}}
    assert _difference(ann, ann) == ({}, {})


@dataclass(frozen=True)
class CrossTransfer(model.Transfer):
    """The shape a cross-community transfer will take (services/exchange/README.md, "The ledger's side"): two
    legs of different amounts through the two clearing accounts. Only `legs` differs from a Transfer."""

    clearing: tuple = ("", "")
    credit_amount: int = 0

    def legs(self):
        return (model.Leg((self.debit_account, None), (self.clearing[0], None), self.amount),
                model.Leg((self.clearing[1], None), (self.credit_account, None), self.credit_amount))


def test_a_transfer_of_two_legs_holds_the_first_amount_and_posts_four_entries():
    ann = pt("ann", posted=30)
    bob = replace(member_of("c2", "bob", "PT"), posted=0)
    clear_a = replace(member_of(C, "x", "PT"), account_id=model.partner_account_id(C, "c2", "PT"), kind="partner",
                      credit_limit=None)
    clear_b = replace(member_of("c2", "x", "PT"), account_id=model.partner_account_id("c2", C, "PT"),
                      kind="partner", credit_limit=None)
    t = CrossTransfer(transfer_id="tx", community_id=C, workflow="credit", unit="PT", amount=10,
                      debit_account=ann.account_id, credit_account=bob.account_id, payer_id="ann", payee_id="bob",
                      initiator_id="ann", clearing=(clear_a.account_id, clear_b.account_id), credit_amount=12)
    all_books = books(ann, bob, clear_a, clear_b)
    assert t.book_keys() == [ann.key, clear_a.key, clear_b.key, bob.key]
    t, held = t.reserve(all_books, require_funds=True)
    assert held[ann.key].pending_out == 10 and held[bob.key].pending_in == 12
    done, moved, entries = t.post({**all_books, **held}, "bob", NOW)
    assert [(e["_id"], e["account_id"], e["delta"], e["counter_account"]) for e in entries] == [
        ("tx:D", ann.account_id, -10, clear_a.account_id), ("tx:C", clear_a.account_id, 10, ann.account_id),
        ("tx:D1", clear_b.account_id, -12, bob.account_id), ("tx:C1", bob.account_id, 12, clear_b.account_id)]
    assert [(moved[k].posted, moved[k].pending_out, moved[k].pending_in) for k in t.book_keys()] == [
        (20, 0, 0), (10, 0, 0), (-12, 0, 0), (12, 0, 0)]
    assert done.state == POSTED
