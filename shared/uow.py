"""Unit of work: one MongoDB transaction that holds a state change and the events it emits."""
from __future__ import annotations

from typing import Any, Callable

from pymongo import MongoClient, ReadPreference, WriteConcern
from pymongo.client_session import ClientSession
from pymongo.read_concern import ReadConcern

from shared import outbox
from shared.envelope import Event


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
                if tx.events:
                    outbox.write(self.db, s, [(self.topic_for(t), e) for t, e in tx.events])
                return result
            return session.with_transaction(
                attempt,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
                read_preference=ReadPreference.PRIMARY,
            )
