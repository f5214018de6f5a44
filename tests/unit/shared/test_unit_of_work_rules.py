"""The unit of work's rules, checked without a database: the identity map takes only immutable values and
undoes exactly to a savepoint; deferred writes are split so each bulk's matched count is checked exactly."""
from dataclasses import dataclass
from types import MappingProxyType

import pytest
from pymongo import InsertOne, ReplaceOne, UpdateOne

from shared.uow import IdentityMap, SavepointLost, _plan


@dataclass(frozen=True)
class Frozen:
    n: int


@dataclass
class Loose:
    n: int


def test_identity_map_takes_only_values_that_cannot_change_in_place():
    cache = IdentityMap()
    cache["a"] = Frozen(1)
    cache["b"] = MappingProxyType({"x": 1})
    cache["c"] = None
    assert cache.setdefault("d", "text") == "text" and cache.setdefault("d", "other") == "text"
    for bad in ({"x": 1}, [1], Loose(1)):
        with pytest.raises(TypeError, match="immutable"):
            cache["e"] = bad
    with pytest.raises(TypeError):
        cache.setdefault("e", {"x": 1})
    for remove in (lambda: cache.pop("a"), lambda: cache.update(z=None), lambda: cache.clear()):
        with pytest.raises(TypeError):
            remove()
    assert "e" not in cache


def test_undo_restores_each_key_to_its_value_at_the_mark():
    cache = IdentityMap()
    cache["kept"] = Frozen(1)
    mark = cache.mark()
    cache["kept"] = Frozen(2)
    cache["kept"] = Frozen(3)
    cache["new"] = Frozen(9)
    inner = cache.mark()
    cache["new"] = None
    cache.undo(inner)
    assert cache["new"] == Frozen(9)
    cache.undo(mark)
    assert dict(cache) == {"kept": Frozen(1)}
    with pytest.raises(SavepointLost):
        cache.undo(mark + 5)


def test_guarded_updates_and_upserts_share_a_checked_run_after_the_inserts():
    g1, g2 = UpdateOne({"_id": 1, "seq": 0}, {"$inc": {"seq": 1}}), UpdateOne({"_id": 2}, {"$set": {"a": 1}})
    upsert = UpdateOne({"_id": 3}, {"$set": {"b": 1}}, upsert=True)
    plain = UpdateOne({"_id": 5}, {"$set": {"c": 1}})  # unguarded, no upsert: may match nothing
    ins, ins2 = InsertOne({"_id": 4}), InsertOne({"_id": 6})
    # inserts first (no update names 4 or 6 before them), then updates in order: one insert, one update command
    assert list(_plan([(ins, False), (g1, True), (upsert, False), (ins2, False), (g2, True)])) == [
        ([ins, ins2, g1, upsert, g2], 3)]
    # a plain update cannot be counted: it runs alone, unchecked, between checked runs
    assert list(_plan([(g1, True), (plain, False), (g2, True)])) == [([g1], 1), ([plain], None), ([g2], 1)]
    assert list(_plan([(ins, False), (ins2, False)])) == [([ins, ins2], 0)]  # inserts alone match nothing
    assert list(_plan([])) == []


def test_inserts_keep_their_place_after_an_update_naming_what_they_insert():
    update = UpdateOne({"_id": 4}, {"$set": {"a": 1}}, upsert=True)
    ins, other = InsertOne({"_id": 4}), InsertOne({"_id": 7})
    assert list(_plan([(other, False), (update, False), (ins, False)])) == [([other, update, ins], 1)]
    by_field = UpdateOne({"account_id": "a"}, {"$set": {"x": 1}})  # not by _id: it could match a new document
    assert list(_plan([(by_field, False), (ins, False)])) == [([by_field, ins], None)]  # kept in order


def test_a_documents_increments_in_one_group_become_one_update():
    def inc(doc_id, n, fields=None):
        return UpdateOne({"_id": doc_id}, {"$inc": {"n": n}, "$set": fields or {"kind": "balance"}}, upsert=True)
    guarded = UpdateOne({"_id": "h1", "n": 1}, {"$set": {"kind": "balance"}})
    [(bulk, counted)] = _plan([(inc("h1", 1), False), (inc("h2", 1), False), (inc("h1", -1), False),
                               (inc("h1", 5), False)])
    assert [(op._filter, op._doc) for op in bulk] == [
        ({"_id": "h1"}, {"$inc": {"n": 5}, "$set": {"kind": "balance"}}),
        ({"_id": "h2"}, {"$inc": {"n": 1}, "$set": {"kind": "balance"}})] and counted == 2
    # not merged: another write of the document in between, different $set values, a guarded write
    for middle in ((guarded, True), (InsertOne({"_id": "h1"}), False)):
        assert len(list(_plan([(inc("h1", 1), False), middle, (inc("h1", 1), False)]))[-1][0]) == 3
    assert len(list(_plan([(inc("h1", 1), False), (inc("h1", 1, {"kind": "flow"}), False)]))[0][0]) == 2
    assert len(list(_plan([(inc("h1", 1), False), (guarded, True)]))[0][0]) == 2


def test_inserts_stay_behind_an_update_that_may_free_a_unique_value():
    """An update that may change a field of a unique index (its parent, a field inside it, a $rename's either
    name, a replacement) could free a value a later insert takes: the writes keep their order."""
    ins = InsertOne({"_id": 2, "code": "x"})
    frees = UpdateOne({"_id": 1}, {"$unset": {"code": ""}})
    assert list(_plan([(frees, False), (ins, False)], frozenset({"code"}))) == [([frees, ins], None)]
    other = UpdateOne({"_id": 1}, {"$set": {"note": "n"}})
    assert list(_plan([(other, False), (ins, False)], frozenset({"code"}))) == [([ins, other], None)]
    assert list(_plan([(frees, False), (ins, False)])) == [([ins, frees], None)]  # no unique index: reordered
    for update in ({"$set": {"a": {"b": 1}}}, {"$set": {"a.b.c": 1}}, {"$rename": {"old": "a.b"}}):
        op = UpdateOne({"_id": 1}, update)
        assert list(_plan([(op, False), (ins, False)], frozenset({"a.b"})))[0][0][0] is op, update
    replace = ReplaceOne({"_id": 1}, {"note": "n"})
    assert list(_plan([(replace, False), (ins, False)], frozenset({"code"})))[0][0][0] is replace
