"""Unit of work: one MongoDB transaction that holds a state change and the events it emits."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable

from pymongo import InsertOne, MongoClient, ReadPreference, UpdateOne, WriteConcern
from pymongo.client_session import ClientSession
from pymongo.read_concern import ReadConcern

from shared import outbox
from shared.envelope import Event


class WriteMissed(RuntimeError):
    """A deferred write's guard matched no document: the state it was computed from moved (a bug under
    snapshot isolation, where a concurrent change is a write conflict; the transaction is aborted)."""


class DirectWriteRefused(RuntimeError):
    """A write sent straight to a collection inside a group transaction: a savepoint could not undo it."""


class SavepointLost(RuntimeError):
    """A savepoint can no longer be restored (what it marked was already sent or dropped)."""


# Methods of a pymongo Collection that write; a Tx in deferred-only mode (a group) refuses them when called
# on a collection reached through tx["name"] (the way handlers and repositories reach them).
WRITE_METHODS = frozenset({
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
    "bulk_write", "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "drop",
    "create_index", "create_indexes", "drop_index", "drop_indexes", "rename"})
_MISSING = object()
_IMMUTABLE = (type(None), str, bytes, int, float, bool, tuple, frozenset, MappingProxyType)
_IMMUTABLE_TYPES: set[type] = set()  # types already found immutable (checked once each)


def _immutable(value) -> bool:
    """Whether a value cannot be changed in place at its top level (frozen dataclass, read-only mapping…)."""
    kind = type(value)
    if kind in _IMMUTABLE_TYPES:
        return True
    params = getattr(kind, "__dataclass_params__", None)
    if isinstance(value, _IMMUTABLE) or (params is not None and params.frozen):
        _IMMUTABLE_TYPES.add(kind)
        return True
    return False


class IdentityMap(dict):
    """(collection, _id) -> what this transaction holds of that document (None = known absent).

    Rules, checked here:
    - values are immutable at their top level (frozen dataclasses, `MappingProxyType`, None…): a change is a
      new value stored under the key, never an edit of the value already there; so
    - every change is journalled (key, previous value) and `undo(mark)` restores exactly what was there at
      `mark`: a savepoint costs nothing to take and undoes only what changed since. Nested values (a
      transfer's `details`, a key record's response) are never edited after they are built."""

    def __init__(self):
        super().__init__()
        self._journal: list[tuple[Any, Any]] = []

    def __setitem__(self, key, value) -> None:
        if type(value) not in _IMMUTABLE_TYPES and not _immutable(value):
            raise TypeError(f"identity map values must be immutable (a frozen dataclass, MappingProxyType…): "
                            f"{key!r} got a {type(value).__name__}")
        self._journal.append((key, dict.get(self, key, _MISSING)))
        dict.__setitem__(self, key, value)

    def setdefault(self, key, value=None):
        if key not in self:
            self[key] = value
        return dict.__getitem__(self, key)

    def _refuse(self, *args, **kwargs):
        raise TypeError("identity map entries are only set (tx.cache[key] = value), never removed or merged")

    __delitem__ = pop = popitem = clear = update = __ior__ = _refuse  # type: ignore[assignment]

    def mark(self) -> int:
        """A point to undo back to."""
        return len(self._journal)

    def undo(self, mark: int) -> None:
        """Restore every key changed since `mark` to its value then (or its absence)."""
        if mark > len(self._journal):
            raise SavepointLost(f"identity map: mark {mark} is past the journal ({len(self._journal)})")
        while len(self._journal) > mark:
            key, previous = self._journal.pop()
            if previous is _MISSING:
                dict.__delitem__(self, key)
            else:
                dict.__setitem__(self, key, previous)


class SessionCollection:
    """A collection whose every operation runs in the unit of work's session (reads only, when `read_only`)."""

    def __init__(self, collection, session: ClientSession, read_only: bool = False):
        self._collection = collection
        self._session = session
        self._read_only = read_only

    def __getattr__(self, name: str):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr
        if self._read_only and name in WRITE_METHODS:
            raise DirectWriteRefused(f"{self._collection.name}.{name} inside a group transaction: write through "
                                     "tx.defer() so a refused command can be undone alone")

        def bound(*args, **kwargs):
            kwargs.setdefault("session", self._session)
            return attr(*args, **kwargs)
        return bound


class Tx:
    """What a handler sees of its transaction: collections bound to the session, fetch(), emit(), defer().

    With `deferred_only` (a group transaction, see shared.groupcommit.GroupUnitOfWork) the collections are
    read-only: every write goes through defer(), so a savepoint can drop it."""

    def __init__(self, db, session: ClientSession, producer: str, collections: dict | None = None,
                 deferred_only: bool = False, unique_paths: Callable[[str], frozenset] | None = None):
        self.db = db
        self.session = session
        self.producer = producer
        self.deferred_only = deferred_only
        self.events: list[tuple[str, Event]] = []
        # Identity map: a repository that defers its writes reads through it, so it sees its own changes.
        self.cache = IdentityMap()
        self._writes: list[tuple[str, Any, bool]] = []  # (collection, pymongo write model, must match)
        self._collections = collections if collections is not None else {}
        # collection -> the fields its unique indexes hold (besides _id): flush keeps the writes in their order
        # when an update could free a value an insert takes (see _plan)
        self._unique_paths = unique_paths or (lambda _collection: frozenset())

    def _collection(self, name: str):
        coll = self._collections.get(name)
        if coll is None:  # Collection objects are immutable and thread-safe: built once per unit of work
            coll = self._collections[name] = self.db[name]
        return coll

    def __getitem__(self, name: str) -> SessionCollection:
        return SessionCollection(self._collection(name), self.session, read_only=self.deferred_only)

    def fetch(self, reads: dict[str, tuple[str, Any]], follow: dict[str, tuple[str, str]] | None = None,
              computed: dict[str, Any] | None = None) -> dict:
        """Read documents by _id from several collections in one round trip (one aggregate, same snapshot).

        `reads` maps a name to (collection, id) -> the document or None, or (collection, [ids]) -> a list.
        `follow` maps a name to (collection, "other_name.field") -> the list of documents whose _id is that
        field of the documents fetched as other_name (e.g. a transfer's accounts), or a name of `computed`:
        aggregation expressions over what `reads` fetched (e.g. ids built from its fields); or to
        (collection, path, field, match): the documents whose `field` (not _id) is one of those values and
        that also match `match` (e.g. a member's lots holding points)."""
        pipeline: list[dict] = [{"$documents": [{}]}]
        for name, (collection, ids) in reads.items():
            match = {"_id": {"$in": list(ids)}} if isinstance(ids, (list, tuple, set)) else {"_id": ids}
            pipeline.append({"$lookup": {"from": collection, "pipeline": [{"$match": match}], "as": name}})
        if computed:
            pipeline.append({"$set": computed})
        for name, (collection, path, *by) in (follow or {}).items():
            foreign, match = by if by else ("_id", None)
            lookup = {"from": collection, "localField": path, "foreignField": foreign, "as": name}
            if match:
                lookup["pipeline"] = [{"$match": match}]
            pipeline.append({"$lookup": lookup})
        row = next(self.db.aggregate(pipeline, session=self.session))
        out = {name: row[name] for name in follow or {}}
        for name, (_collection, ids) in reads.items():
            out[name] = row[name] if isinstance(ids, (list, tuple, set)) else (row[name][0] if row[name] else None)
        return out

    def emit(self, topic: str, event: Event) -> Event:
        """Queue `event` for `topic`; it is written to the outbox when the transaction commits."""
        self.events.append((topic, event))
        return event

    def defer(self, collection: str, op, must_match: bool = False) -> None:
        """Queue a write (a pymongo InsertOne/UpdateOne/ReplaceOne) for flush(); with `must_match` an
        update whose filter (its guard) matches nothing aborts the transaction."""
        self._writes.append((collection, op, must_match))

    def flush(self) -> None:
        """Send the deferred writes: per collection, in as few commands as keep their meaning (see `_plan`):
        at best one insert command and one update command, whose matched count is checked exactly (every
        guarded update must have matched its document)."""
        writes, self._writes = self._writes, []
        by_collection: dict[str, list] = {}
        for collection, op, must_match in writes:
            by_collection.setdefault(collection, []).append((op, must_match))
        for collection, ops in by_collection.items():
            for bulk, counted in _plan(ops, self._unique_paths(collection)):
                result = self._collection(collection).bulk_write(bulk, ordered=True, session=self.session)
                # Each counted update matched its document or (an upsert) inserted one: nothing else adds up.
                if counted is not None and result.matched_count + result.upserted_count != counted:
                    raise WriteMissed(f"{collection}: {result.matched_count} matched and {result.upserted_count} "
                                      f"upserted of {counted} guarded writes and upserts")

    def savepoint(self) -> tuple[int, int, int]:
        """A mark to undo back to: the deferred writes, the events and the identity map as they are now."""
        return len(self._writes), len(self.events), self.cache.mark()

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Forget what was deferred, emitted and cached since `mark` (nothing of it reached MongoDB)."""
        writes, events, cache = mark
        if writes > len(self._writes) or events > len(self.events):
            raise SavepointLost(f"savepoint {mark} is past what the transaction holds "
                                f"({len(self._writes)} writes, {len(self.events)} events): it was flushed")
        del self._writes[writes:]
        del self.events[events:]
        self.cache.undo(cache)


def _doc_id(op) -> Any:
    """The _id an update (UpdateOne / ReplaceOne) names exactly in its filter, else _MISSING."""
    value = op._filter.get("_id", _MISSING) if isinstance(op._filter, dict) else _MISSING
    return _MISSING if isinstance(value, dict) else value


def _mergeable(op, must: bool) -> bool:
    """An unguarded upsert of `$inc` and `$set` only, by _id (a counter: statistics)."""
    return (not must and isinstance(op, UpdateOne) and op._upsert and isinstance(op._doc, dict)
            and op._doc.keys() <= {"$inc", "$set"} and _doc_id(op) is not _MISSING)


def _merged(first, second):
    """One update doing what `first` then `second` do to their document, or None when they cannot be one
    (the same `$set` values and no field both counted and set: a statistic's increments)."""
    sets, incs = first._doc.get("$set", {}), dict(first._doc.get("$inc", {}))
    if second._doc.get("$set", {}) != sets or (incs.keys() | second._doc.get("$inc", {}).keys()) & sets.keys():
        return None
    for k, v in second._doc.get("$inc", {}).items():
        incs[k] = incs.get(k, 0) + v
    return UpdateOne(first._filter, {k: v for k, v in (("$inc", incs), ("$set", sets)) if v}, upsert=True)


def _paths(op) -> set | None:
    """The fields an update may change (the keys under its operators, both names of a `$rename`); None when it
    may change any field (a replacement, a pipeline update, a delete)."""
    if not isinstance(op, UpdateOne) or not isinstance(op._doc, dict):
        return None
    paths: set = set()
    for operator, spec in op._doc.items():
        if not isinstance(spec, dict):
            return None
        paths.update(spec)
        if operator == "$rename":
            paths.update(v for v in spec.values() if isinstance(v, str))
    return paths


def _changes_any(op, fields: frozenset) -> bool:
    """Whether an update may change one of `fields` (dotted paths: a field, its parent or a field inside it)."""
    paths = _paths(op)
    return paths is None or any(p == f or p.startswith(f + ".") or f.startswith(p + ".") for p in paths for f in fields)


def _inserts_first(writes: list, unique: frozenset = frozenset()) -> list | None:
    """The writes with the inserts moved ahead of the updates, when that changes nothing an update finds or
    frees: every update names its document by _id, none names a document inserted after it, and none may change
    a field of the collection's unique indexes (`unique`: an update freeing a value that a later insert takes
    must run first, or the insert would fail as a duplicate); else None."""
    named: set = set()
    for op, _ in writes:
        if isinstance(op, InsertOne):
            if op._doc.get("_id", _MISSING) in named:
                return None
        elif (doc_id := _doc_id(op)) is _MISSING or (unique and _changes_any(op, unique)):
            return None
        else:
            named.add(doc_id)
    return ([(op, must) for op, must in writes if isinstance(op, InsertOne)]
            + [(op, must) for op, must in writes if not isinstance(op, InsertOne)])


def _plan(ops: list[tuple[Any, bool]], unique: frozenset = frozenset()):
    """One collection's deferred writes as few bulk writes, each with the count of its updates that must
    match a document or upsert one (None: unchecked), keeping what the writes in order would do:
    1. Increments of one document (unguarded `$inc` upserts, same `$set`) with nothing else writing that
       document in between become one update: a group's statistics are written once per document.
    2. Inserts go first, in their order, when every update names its document by _id, none names a document
       inserted after it and none may change a field of the collection's unique indexes (`unique`, read from
       MongoDB by the unit of work): an update then finds exactly what it found in order, and no insert meets a
       unique value an earlier update would have freed.
    3. Updates go in order, in runs whose matched count can be checked exactly: guarded updates and upserts
       (each matches or inserts one document) together; an unguarded plain update (it may match nothing) in
       a run left unchecked.
    pymongo sends one command per run of one kind in an ordered bulk, so at best: one insert, one update."""
    merged: list[list] = []  # [op, must]
    last: dict = {}  # _id -> index in merged of the last write naming it
    for op, must in ops:
        doc_id = op._doc.get("_id", _MISSING) if isinstance(op, InsertOne) else _doc_id(op)
        target = last.get(doc_id)
        if target is not None and _mergeable(op, must) and _mergeable(*merged[target]):
            combined = _merged(merged[target][0], op)
            if combined is not None:
                merged[target][0] = combined
                continue
        if doc_id is not _MISSING:
            last[doc_id] = len(merged)
        merged.append([op, must])
    order = _inserts_first(merged, unique) or [tuple(m) for m in merged]
    bulk: list = []
    counted = 0
    checked = None  # True: a checked run, False: an unchecked one, None: inserts only so far
    for op, must in order:
        if not isinstance(op, InsertOne):
            checks = must or bool(getattr(op, "_upsert", False))
            if checked is not None and checked != checks:
                yield bulk, (counted if checked else None)
                bulk, counted = [], 0
            checked = checks
            counted += checks
        bulk.append(op)
    if bulk:
        yield bulk, (counted if checked is not False else None)


class UnitOfWork:
    """Runs callbacks in MongoDB transactions with the driver's documented retry behaviour.

    `run(fn)` gives fn a Tx whose collections write directly (and may also defer). Several commands in one
    transaction, each undone alone when refused, are `shared.groupcommit.GroupUnitOfWork`'s job: it runs
    them through `run(fn, deferred_only=True)`."""

    def __init__(self, client: MongoClient, db_name: str, producer: str, topic_for: Callable[[str], str] = str):
        self.client = client
        self.db = client.get_database(db_name)
        self.producer = producer
        self.topic_for = topic_for
        self._collections: dict = {}
        self._unique: dict[str, frozenset] = {}

    def unique_paths(self, collection: str) -> frozenset:
        """The fields held by the collection's unique indexes other than _id's, read once per process (indexes
        are made at start-up by each service's ensure_indexes) outside any transaction (listIndexes cannot run
        in one). A collection not made yet has none, and is asked again next time."""
        known = self._unique.get(collection)
        if known is None:
            info = self.db[collection].index_information()
            known = frozenset(field for name, index in info.items() if index.get("unique") and name != "_id_"
                              for field, _direction in index["key"])
            if info:
                self._unique[collection] = known
        return known

    def run(self, fn: Callable[[Tx], Any], deferred_only: bool = False) -> Any:
        """Run fn(tx) atomically; retried whole on TransientTransactionError / UnknownTransactionCommitResult.
        With `deferred_only`, a direct collection write inside fn raises DirectWriteRefused."""
        with self.client.start_session() as session:
            def attempt(s: ClientSession):
                # A fresh Tx per attempt: a retried transaction must not keep the failed attempt's events.
                tx = Tx(self.db, s, self.producer, self._collections, deferred_only=deferred_only,
                        unique_paths=self.unique_paths)
                result = fn(tx)
                self._finish(tx)
                return result
            return session.with_transaction(
                attempt,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
                read_preference=ReadPreference.PRIMARY,
            )

    def _finish(self, tx: Tx) -> None:
        tx.flush()
        if tx.events:
            outbox.write(self.db, tx.session, [(self.topic_for(t), e) for t, e in tx.events])
