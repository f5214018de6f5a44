"""The unit of work's rules, checked without a database: the identity map takes only immutable values and
undoes exactly to a savepoint; deferred writes are split so each bulk's matched count is checked exactly."""
from dataclasses import dataclass
from types import MappingProxyType

import pytest
from pymongo import InsertOne, UpdateOne

from shared.uow import IdentityMap, SavepointLost, _runs


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


def test_writes_are_split_into_runs_whose_matched_count_is_exact():
    g1, g2 = UpdateOne({"_id": 1, "seq": 0}, {"$inc": {"seq": 1}}), UpdateOne({"_id": 2}, {"$set": {"a": 1}})
    loose = UpdateOne({"_id": 3}, {"$set": {"b": 1}}, upsert=True)
    ins = InsertOne({"_id": 4})
    runs = list(_runs([(ins, False), (g1, True), (g2, True), (loose, False), (ins, False), (g1, True)]))
    assert runs == [([ins, g1, g2], 2), ([loose, ins], None), ([g1], 1)]
    assert list(_runs([(ins, False), (ins, False)])) == [([ins, ins], 0)]  # inserts alone match nothing
    assert list(_runs([])) == []
