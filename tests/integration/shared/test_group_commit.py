"""shared.groupcommit on the real MongoDB: commands arriving together share a transaction; a refused one
is undone alone; a failing group falls back to one transaction per command."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY
from pymongo import InsertOne, MongoClient, UpdateOne, monitoring

from shared.envelope import new_event
from shared.errors import Unprocessable
from shared.groupcommit import GroupCommitter, GroupUnitOfWork
from shared.logs import get_correlation_id, reset_correlation_id, set_correlation_id
from shared.outbox import OUTBOX
from shared.uow import DirectWriteRefused, UnitOfWork, WriteMissed
from shared.runtime import build_runtime


@dataclass(frozen=True)
class Note:
    """Write a note; `refuse` makes its handler say no after deferring a write, `crash` makes it fail."""

    text: str
    refuse: bool = False
    crash: bool = False


def write_note(cmd: Note, tx):
    tx.defer("notes", InsertOne({"_id": cmd.text}))
    tx.emit("notes.events", new_event("NoteWritten", {"text": cmd.text}, key=cmd.text, producer="notes"))
    if cmd.refuse:
        raise Unprocessable("No.", code="refused")
    if cmd.crash:
        raise RuntimeError("a bug in one handler")
    return cmd.text


@pytest.fixture
def runtime(deployment):
    rt = build_runtime(deployment.config("notes"))
    yield rt
    rt.close()


def test_commands_arriving_together_share_transactions(runtime):
    gate = threading.Event()
    groups: list[int] = []

    def prepare(tx, commands):
        gate.wait(5)  # hold the first group so the rest queue up behind it
        groups.append(len(commands))

    committer = GroupCommitter(GroupUnitOfWork(runtime.uow, {Note: write_note}, prefetch=prepare))
    observed = {name: REGISTRY.get_sample_value(f"group_commit_{name}_count") or 0
                for name in ("transaction_seconds", "cpu_seconds")}
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(committer.handle, Note(f"n{i}")) for i in range(20)]
        threading.Timer(0.3, gate.set).start()
        assert sorted(f.result() for f in futures) == sorted(f"n{i}" for i in range(20))
    assert runtime.db.notes.count_documents({}) == 20
    assert runtime.db[OUTBOX].count_documents({"type": "NoteWritten"}) == 20
    assert sum(groups) == 20 and len(groups) < 20 and max(groups) > 1
    # each group's wall seconds and the committer thread's own CPU seconds are both observed (the bench's figures),
    # right after its commands are answered
    deadline = time.monotonic() + 5
    while (REGISTRY.get_sample_value("group_commit_cpu_seconds_count") - observed["cpu_seconds"] < len(groups)
           and time.monotonic() < deadline):
        time.sleep(0.01)
    for name, before in observed.items():
        assert REGISTRY.get_sample_value(f"group_commit_{name}_count") - before == len(groups)


def test_a_refused_command_is_undone_alone_and_a_crash_falls_back_to_one_by_one(runtime):
    got = GroupUnitOfWork(runtime.uow, {Note: write_note}).run([Note("a"), Note("b", refuse=True), Note("c")])
    assert got[0] == "a" and got[2] == "c" and got[1].status == 422
    assert sorted(d["_id"] for d in runtime.db.notes.find()) == ["a", "c"]
    assert runtime.db[OUTBOX].count_documents({"key": "b"}) == 0  # its event went with it

    gate = threading.Event()
    committer = GroupCommitter(GroupUnitOfWork(runtime.uow, {Note: write_note},
                                               prefetch=lambda tx, commands: gate.wait(5)))
    with ThreadPoolExecutor(3) as pool:
        futures = {text: pool.submit(committer.handle, Note(text, crash=text == "e"))
                   for text in ("d", "e", "f")}
        threading.Timer(0.3, gate.set).start()
        assert futures["d"].result() == "d" and futures["f"].result() == "f"
        with pytest.raises(RuntimeError, match="a bug in one handler"):
            futures["e"].result()
    assert sorted(d["_id"] for d in runtime.db.notes.find()) == ["a", "c", "d", "f"]


def test_each_command_s_events_carry_the_correlation_id_of_the_thread_that_queued_it(runtime):
    seen = {}

    def note_with_id(cmd: Note, tx):
        seen[cmd.text] = get_correlation_id()
        return write_note(cmd, tx)

    committer = GroupCommitter(GroupUnitOfWork(runtime.uow, {Note: note_with_id}))

    def send(i: int) -> str:
        token = set_correlation_id(f"req-{i}")
        try:
            return committer.handle(Note(f"corr{i}", refuse=i == 3))
        except Unprocessable:
            return "refused"
        finally:
            reset_correlation_id(token)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    assert results.count("refused") == 1
    assert seen == {f"corr{i}": f"req-{i}" for i in range(8)}
    rows = {r["key"]: r for r in runtime.db[OUTBOX].find({"type": "NoteWritten", "key": {"$regex": "^corr"}})}
    assert sorted(rows) == sorted(f"corr{i}" for i in range(8) if i != 3)
    assert all(json.loads(row["value"])["correlation_id"] == f"req-{key[4:]}" for key, row in rows.items())


def test_a_group_refuses_a_direct_write_and_the_others_commit(runtime):
    """Inside a group a handler may write only through tx.defer(): a direct write could not be undone by its
    savepoint, so it raises (and, not being a refusal, aborts the group: the committer retries each alone)."""
    def direct(cmd: Note, tx):
        tx["notes"].insert_one({"_id": cmd.text})
        return cmd.text

    group = GroupUnitOfWork(runtime.uow, {Note: direct})
    with pytest.raises(DirectWriteRefused):
        group.run([Note("direct")])
    assert runtime.db.notes.count_documents({"_id": "direct"}) == 0
    assert runtime.uow.run(lambda tx: direct(Note("alone"), tx)) == "alone"  # alone, a direct write is fine


def test_the_identity_map_of_a_refused_command_is_restored_and_refuses_mutable_values(runtime):
    seen = []

    def cached(cmd: Note, tx):
        seen.append(tx.cache.get(("notes", "x")))
        tx.cache[("notes", "x")] = cmd.text
        if cmd.refuse:
            raise Unprocessable("No.", code="refused")
        return cmd.text

    GroupUnitOfWork(runtime.uow, {Note: cached}).run([Note("one"), Note("two", refuse=True), Note("three")])
    assert seen == [None, "one", "one"]  # the refused command's value is gone, the first one's is back

    def mutable(cmd: Note, tx):
        tx.cache[("notes", "y")] = {"text": cmd.text}
    with pytest.raises(TypeError, match="immutable"):
        runtime.uow.run(lambda tx: mutable(Note("m"), tx))


def test_flush_catches_a_missed_guard_beside_an_unguarded_update_of_the_same_collection(runtime):
    """An unguarded update that matches does not hide a guarded one that does not (one count per bulk)."""
    runtime.db.notes.insert_many([{"_id": "g1", "v": 0}, {"_id": "g2", "v": 0}])

    def work(tx):
        tx.defer("notes", UpdateOne({"_id": "g1"}, {"$set": {"v": 1}}))  # matches, unguarded
        tx.defer("notes", UpdateOne({"_id": "g2", "v": 5}, {"$set": {"v": 1}}), must_match=True)  # misses
    with pytest.raises(WriteMissed):
        runtime.uow.run(work)
    assert [d["v"] for d in runtime.db.notes.find({"_id": {"$in": ["g1", "g2"]}}).sort("_id")] == [0, 0]


def test_flush_checks_guarded_updates_sent_with_upserts_exactly_and_merges_increments(runtime):
    """One update command holds guarded updates and upserts (some insert, some match): matched + upserted
    must equal their count, so a missed guard is caught however the upserts went; a document's increments in
    one transaction arrive as one update with their sum."""
    runtime.db.notes.insert_many([{"_id": "p1", "v": 0}, {"_id": "c1", "n": 3, "kind": "k"}])

    def counted(miss: bool):
        def work(tx):
            tx.defer("notes", UpdateOne({"_id": "c1"}, {"$inc": {"n": 1}, "$set": {"kind": "k"}}, upsert=True))
            tx.defer("notes", InsertOne({"_id": "i1"}))
            tx.defer("notes", UpdateOne({"_id": "p1", "v": 5 if miss else 0}, {"$set": {"v": 1}}), must_match=True)
            tx.defer("notes", UpdateOne({"_id": "c2"}, {"$inc": {"n": 2}, "$set": {"kind": "k"}}, upsert=True))
            tx.defer("notes", UpdateOne({"_id": "c1"}, {"$inc": {"n": 4}, "$set": {"kind": "k"}}, upsert=True))
        return work

    with pytest.raises(WriteMissed):  # 1 matched + 1 upserted of 3 counted
        runtime.uow.run(counted(miss=True))
    assert runtime.db.notes.count_documents({"_id": {"$in": ["i1", "c2"]}}) == 0  # nothing of it stayed
    sent = []

    class Spy(monitoring.CommandListener):
        def started(self, event):
            if event.command_name in ("insert", "update") and event.command.get(event.command_name) == "notes":
                sent.append((event.command_name, len(event.command.get("documents", event.command.get("updates", ())))))

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    client = MongoClient(runtime.config.mongo_url, tz_aware=True, event_listeners=[Spy()])
    try:
        UnitOfWork(client, runtime.config.mongo_db, producer="notes").run(counted(miss=False))
    finally:
        client.close()
    assert sent == [("insert", 1), ("update", 3)]  # c1's two increments merged; the insert went first
    notes = {d["_id"]: d for d in runtime.db.notes.find()}
    assert notes["c1"]["n"] == 8 and notes["c2"]["n"] == 2 and notes["p1"]["v"] == 1 and "i1" in notes


def test_an_insert_taking_a_unique_value_an_earlier_update_frees_keeps_its_place(runtime):
    """flush sends a collection's inserts ahead of its updates only when no update may change a field of its
    unique indexes, which the unit of work reads from MongoDB: here the update frees `tag` before the insert
    takes it, in one transaction, as the handler wrote them (sent inserts first, the insert would fail)."""
    runtime.db.tags.create_index("tag", unique=True)
    runtime.db.tags.insert_one({"_id": "old", "tag": "x"})
    assert runtime.uow.unique_paths("tags") == {"tag"}
    assert runtime.uow.unique_paths("never_made") == frozenset()

    def move(tx):
        tx.defer("tags", UpdateOne({"_id": "old", "tag": "x"}, {"$unset": {"tag": ""}}), must_match=True)
        tx.defer("tags", InsertOne({"_id": "new", "tag": "x"}))
    runtime.uow.run(move)
    assert list(runtime.db.tags.find().sort("_id")) == [{"_id": "new", "tag": "x"}, {"_id": "old"}]
