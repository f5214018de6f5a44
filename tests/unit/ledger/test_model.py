"""The transfer state machine, limits and the hash chain, without infrastructure."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, Forbidden, Unprocessable
from services.ledger import model
from services.ledger.model import Account, Actor, Transfer

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
C = "c1"


def transfer(workflow="bill", payer="alice", payee="bob", initiator="bob", **kw) -> Transfer:
    debit = model.member_account_id(C, payer, "HOUR") if payer else model.system_account_id(C, "issuance", "HOUR")
    return Transfer(transfer_id="t1", community_id=C, workflow=workflow, unit="HOUR", amount=60,
                    debit_account=debit, credit_account=model.member_account_id(C, payee, "HOUR"),
                    payer_id=payer, payee_id=payee, initiator_id=initiator, created_at=NOW,
                    expires_at=NOW + timedelta(days=14), **kw)


def actor(member, *roles, community=C, merchant=None):
    return Actor(member, community, tuple(roles) or ("resident",), merchant)


def test_bill_is_confirmed_by_the_payer_only():
    t = transfer()
    assert t.confirm(actor("alice"), NOW) is True
    with pytest.raises(Forbidden):
        t.confirm(actor("bob"), NOW)  # the initiator
    with pytest.raises(Forbidden):
        t.confirm(actor("carol"), NOW)  # a stranger
    with pytest.raises(Forbidden):
        t.confirm(actor("alice", community="c2"), NOW)  # same id, other community


def test_credit_is_accepted_by_the_payee():
    t = transfer("credit", initiator="alice")
    assert t.confirm(actor("bob"), NOW)
    with pytest.raises(Forbidden):
        t.confirm(actor("alice"), NOW)


def test_award_is_confirmed_by_a_verifier_who_is_not_the_volunteer():
    t = transfer("award", payer=None, payee="bob", initiator="bob")
    assert t.confirm(actor("olga", "organizer"), NOW)
    assert t.confirm(actor("greg", "grid_worker"), NOW)
    with pytest.raises(Forbidden):
        t.confirm(actor("carol"), NOW)  # a resident
    with pytest.raises(Forbidden):
        t.confirm(actor("bob", "organizer"), NOW)  # the volunteer, even as organizer
    with pytest.raises(Forbidden):
        t.confirm(actor("olga", "organizer", community="c2"), NOW)


def test_an_admin_of_the_community_other_than_the_volunteer_reviews_an_award_claim():
    t = transfer("award", payer=None, payee="bob", initiator="bob")
    assert t.may_resolve(actor("root", "admin"))
    assert t.confirm(actor("root", "admin"), NOW)
    assert transfer("award", payer=None, payee="bob", initiator="bob").reject(actor("root", "admin"), NOW)
    with pytest.raises(Forbidden, match="organizer, grid worker or admin"):  # the volunteer, even as admin
        transfer("award", payer=None, payee="bob", initiator="requests").confirm(actor("bob", "admin"), NOW)
    with pytest.raises(Forbidden):
        t.confirm(actor("root", "admin", community="c2"), NOW)  # another community's admin
    # An admin reviews award claims only: a bill still waits for its payer.
    assert not transfer().may_resolve(actor("root", "admin"))


def test_redeem_is_approved_by_the_member_and_cancellable_by_the_merchants_staff():
    t = transfer("redeem", payer="alice", payee="shop1", initiator="staff1")
    assert t.confirm(actor("alice"), NOW)
    with pytest.raises(Forbidden):
        t.confirm(actor("staff2", merchant="shop1"), NOW)
    assert t.cancel(actor("staff2", "merchant", merchant="shop1"), NOW)
    with pytest.raises(Forbidden):
        t.cancel(actor("staff3", "merchant", merchant="shop2"), NOW)


def test_system_transfers_are_confirmed_by_nobody():
    t = transfer("system", initiator="settlement")
    with pytest.raises(Forbidden):
        t.confirm(actor("alice", "admin"), NOW)


def test_only_the_initiator_cancels():
    t = transfer()
    assert t.cancel(actor("bob"), NOW)
    with pytest.raises(Forbidden):
        t.cancel(actor("alice"), NOW)


def test_a_resolved_transfer_answers_repeats_and_refuses_other_moves():
    posted = transfer().resolved(model.POSTED, "alice", NOW)
    assert posted.confirm(actor("alice"), NOW) is False  # no-op, same result
    with pytest.raises(Conflict):
        posted.reject(actor("alice"), NOW)
    with pytest.raises(Conflict):
        posted.cancel(actor("bob"), NOW)
    with pytest.raises(Forbidden):
        posted.confirm(actor("carol"), NOW)  # a repeat still checks who asks
    rejected = transfer().resolved(model.REJECTED, "alice", NOW)
    assert rejected.reject(actor("alice"), NOW) is False
    with pytest.raises(Conflict):
        rejected.confirm(actor("alice"), NOW)
    with pytest.raises(Conflict):
        posted.resolved(model.REJECTED, "x", NOW)


def test_a_lapsed_transfer_cannot_be_confirmed_even_before_the_scheduler_runs():
    t = transfer()
    late = NOW + timedelta(days=14)
    assert t.is_lapsed(late)
    with pytest.raises(Conflict) as err:
        t.confirm(actor("alice"), late)
    assert err.value.code == "transfer_expired"
    expired = t.resolved(model.EXPIRED, None, late)
    with pytest.raises(Conflict):
        expired.confirm(actor("alice"), NOW)


def test_resolution_releases_the_reservation():
    t = replace(transfer(), reserved=60)
    assert t.resolved(model.CANCELLED, "bob", NOW).reserved == 0


def test_visibility():
    t = transfer()
    assert t.may_see(actor("alice")) and t.may_see(actor("bob")) and t.may_see(actor("root", "admin"))
    assert not t.may_see(actor("carol")) and not t.may_see(actor("root", "admin", community="c2"))
    assert transfer("award", payer=None).may_see(actor("olga", "organizer"))
    assert not t.may_see(actor("olga", "organizer"))


def test_available_balance_and_limits():
    a = Account("a", C, "member", "alice", "PT", posted=100, pending_out=30, credit_limit=20)
    assert a.available == 90
    assert a.can_reserve(90) and not a.can_reserve(91)
    assert a.can_post(90, reserved=0) is True
    assert a.can_post(120, reserved=30) is True   # 100 - 120 - 0 + 20 = 0
    assert a.can_post(121, reserved=30) is False
    issuance = Account("i", C, "system", "issuance", "PT", posted=-10**9, credit_limit=None)
    assert issuance.available is None and issuance.can_reserve(10**9) and issuance.can_post(10**9, 0)


def test_credit_limit_changes():
    a = Account("a", C, "member", "alice", "PT", posted=-50, credit_limit=100)
    a.check_new_limit(50)
    with pytest.raises(Unprocessable):
        a.check_new_limit(49)
    with pytest.raises(Unprocessable):
        a.check_new_limit(-1)
    with pytest.raises(Unprocessable):
        Account("s", C, "system", "sponsor", "PT").check_new_limit(10)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True, None, 10**13])
def test_amounts_are_positive_whole_numbers(bad):
    with pytest.raises(Unprocessable):
        model.check_amount(bad)


def test_units():
    assert model.check_unit("PT") == "PT"
    with pytest.raises(Unprocessable):
        model.check_unit("EUR")


def _chain(n=3):
    entries, prev = [], model.GENESIS
    for i in range(1, n + 1):
        t = replace(transfer(), transfer_id=f"t{i}")
        e = model.make_entry(t, "credit", 0, i, prev, NOW + timedelta(minutes=i))
        entries.append(e)
        prev = e["hash"]
    return entries


def test_hash_chain_verifies_and_sums():
    entries = _chain()
    problems, head, seq, total = model.verify_chain(entries)
    assert problems == [] and head == entries[-1]["hash"] and seq == 3 and total == 180


def test_tampering_is_detected():
    entries = _chain()
    entries[1]["amount"], entries[1]["delta"] = 600, 600
    problems, *_ = model.verify_chain(entries)
    assert any("tampered" in p for p in problems)
    entries = _chain()
    del entries[1]
    problems, *_ = model.verify_chain(entries)
    assert any("expected seq 2" in p for p in problems) and any("prev_hash" in p for p in problems)


def test_entry_hash_covers_time_and_accounts():
    a = _chain(1)[0]
    b = dict(a, posted_at_ms=a["posted_at_ms"] + 1)
    c = dict(a, counter_account="m:c1:mallory:HOUR")
    assert len({model.chain_hash(model.GENESIS, x) for x in (a, b, c)}) == 3


def test_debit_entry_is_negative():
    e = model.make_entry(transfer(), "debit", 0, 1, model.GENESIS, NOW)
    assert e["delta"] == -60 and e["account_id"] == transfer().debit_account and e["_id"] == "t1:D"


def test_shards_are_stable_and_spread():
    assert model.shard_of("t_abc", 32) == model.shard_of("t_abc", 32)
    assert len({model.shard_of(f"t_{i}", 32) for i in range(500)}) == 32
