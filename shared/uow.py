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
    """What a handler sees of its transaction: collections bound to the session, and emit()."""

    def __init__(self, db, session: ClientSession, producer: str):
        self.db = db
        self.session = session
        self.producer = producer
        self.events: list[tuple[str, Event]] = []

    def __getitem__(self, name: str) -> SessionCollection:
        return SessionCollection(self.db[name], self.session)

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

    def run(self, fn: Callable[[Tx], Any]) -> Any:
        """Run fn(tx) atomically; retried whole on TransientTransactionError / UnknownTransactionCommitResult."""
        with self.client.start_session() as session:
            def attempt(s: ClientSession):
                tx = Tx(self.db, s, self.producer)  # fresh per attempt: a retry must not keep old events
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
