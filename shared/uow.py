"""Unit of work: one MongoDB transaction that holds a state change and the events it emits."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from pymongo import InsertOne, MongoClient, ReadPreference, WriteConcern
from pymongo.client_session import ClientSession
from pymongo.read_concern import ReadConcern

from shared import outbox
from shared.envelope import Event
from shared.errors import Problem


class WriteMissed(RuntimeError):
    """A deferred write's guard matched no document: the state it was computed from moved (a bug under
    snapshot isolation, where a concurrent change is a write conflict; the transaction is aborted)."""


class SessionCollection:
    """A collection whose every operation runs in the unit of work's session."""

    def __init__(self, collection, session: ClientSession):
        self._collection = collection
        self._session = session

    def __getattr__(self, name: str):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def bound(*args, **kwargs):
            kwargs.setdefault("session", self._session)
            return attr(*args, **kwargs)
        return bound


class Tx:
    """What a handler sees of its transaction: collections bound to the session, fetch() and emit()."""

    def __init__(self, db, session: ClientSession, producer: str, collections: dict | None = None):
        self.db = db
        self.session = session
        self.producer = producer
        self.events: list[tuple[str, Event]] = []
        # Identity map: (collection, _id) -> what this transaction holds of that document (None = known
        # absent). A repository that defers its writes reads through it, so it sees its own changes.
        self.cache: dict[tuple[str, Any], Any] = {}
        self._writes: list[tuple[str, Any, bool]] = []  # (collection, pymongo write model, must match)
        self._collections = collections if collections is not None else {}

    def __getitem__(self, name: str) -> SessionCollection:
        coll = self._collections.get(name)
        if coll is None:  # Collection objects are immutable and thread-safe: built once per unit of work
            coll = self._collections[name] = self.db[name]
        return SessionCollection(coll, self.session)

    def fetch(self, reads: dict[str, tuple[str, Any]], follow: dict[str, tuple[str, str]] | None = None) -> dict:
        """Read documents by _id from several collections in one round trip (one aggregate, same snapshot).

        `reads` maps a name to (collection, id) -> the document or None, or (collection, [ids]) -> a list.
        `follow` maps a name to (collection, "other_name.field") -> the list of documents whose _id is that
        field of the documents fetched as other_name (e.g. a transfer's accounts)."""
        pipeline: list[dict] = [{"$documents": [{}]}]
        for name, (collection, ids) in reads.items():
            match = {"_id": {"$in": list(ids)}} if isinstance(ids, (list, tuple, set)) else {"_id": ids}
            pipeline.append({"$lookup": {"from": collection, "pipeline": [{"$match": match}], "as": name}})
        for name, (collection, path) in (follow or {}).items():
            pipeline.append({"$lookup": {"from": collection, "localField": path, "foreignField": "_id", "as": name}})
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
        """Send the deferred writes: one ordered bulk_write per collection (in order within each)."""
        writes, self._writes = self._writes, []
        by_collection: dict[str, list] = {}
        for collection, op, must_match in writes:
            by_collection.setdefault(collection, []).append((op, must_match))
        for collection, ops in by_collection.items():
            result = self[collection].bulk_write([op for op, _ in ops], ordered=True)
            guarded = sum(1 for op, must in ops if must and not isinstance(op, InsertOne))
            loose = sum(1 for op, must in ops if not must and not isinstance(op, InsertOne))
            # bulk_write counts matches over the whole batch: exact when every update is guarded, else a
            # lower bound (an unguarded update may or may not have matched).
            missed = result.matched_count != guarded if not loose else result.matched_count < guarded
            if missed:
                raise WriteMissed(f"{collection}: {result.matched_count} matched, {guarded} guarded writes")

    def savepoint(self) -> tuple:
        """A mark to undo back to: the deferred writes, the events and the identity map as they are now."""
        return len(self._writes), len(self.events), dict(self.cache)

    def rollback(self, mark: tuple) -> None:
        """Forget what was deferred, emitted and cached since `mark` (nothing of it reached MongoDB)."""
        writes, events, cache = mark
        del self._writes[writes:]
        del self.events[events:]
        self.cache = cache


class UnitOfWork:
    """Runs callbacks in MongoDB transactions with the driver's documented retry behaviour."""

    def __init__(self, client: MongoClient, db_name: str, producer: str, topic_for: Callable[[str], str] = str):
        self.client = client
        self.db = client.get_database(db_name)
        self.producer = producer
        self.topic_for = topic_for
        self._collections: dict = {}

    def run(self, fn: Callable[[Tx], Any]) -> Any:
        """Run fn(tx) atomically; retried whole on TransientTransactionError / UnknownTransactionCommitResult."""
        with self.client.start_session() as session:
            def attempt(s: ClientSession):
                # A fresh Tx per attempt: a retried transaction must not keep the failed attempt's events.
                tx = Tx(self.db, s, self.producer, self._collections)
                result = fn(tx)
                self._finish(tx)
                return result
            return self._transaction(session, attempt)

    def run_many(self, fns: Iterable[Callable[[Tx], Any]], prepare: Callable[[Tx], None] | None = None) -> list:
        """Run several callbacks in one transaction (group commit); returns each one's result, or the
        Problem it raised, in order. A callback that raises a Problem is undone alone (its deferred writes
        and events dropped), so it must write only through tx.defer(); any other error aborts them all.
        `prepare(tx)` runs first, e.g. to read every document the callbacks need in one round trip."""
        fns = list(fns)
        with self.client.start_session() as session:
            def attempt(s: ClientSession):
                tx = Tx(self.db, s, self.producer, self._collections)
                if prepare is not None:
                    prepare(tx)
                results = []
                for fn in fns:
                    mark = tx.savepoint()
                    try:
                        results.append(fn(tx))
                    except Problem as exc:
                        tx.rollback(mark)
                        results.append(exc)
                self._finish(tx)
                return results
            return self._transaction(session, attempt)

    def _finish(self, tx: Tx) -> None:
        tx.flush()
        if tx.events:
            outbox.write(self.db, tx.session, [(self.topic_for(t), e) for t, e in tx.events])

    @staticmethod
    def _transaction(session: ClientSession, attempt: Callable[[ClientSession], Any]) -> Any:
        return session.with_transaction(
            attempt,
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority"),
            read_preference=ReadPreference.PRIMARY,
        )
