"""Group commit: the commands that arrive together share one MongoDB transaction.

A transaction's commit (journal flush, oplog entry, majority acknowledgement) and each round trip cost
far more than the few documents a ledger command writes, so committing commands one by one made MongoDB
and the driver the bottleneck. Two pieces:

- `GroupUnitOfWork` runs a list of commands in one transaction: `prefetch(tx, commands)` first (read what
  they all need in one round trip), then each command's handler under a savepoint, with the correlation id
  of the request that sent it current (its events and log lines keep it). A command refused with a Problem
  is undone alone; any other error aborts the group.
- `GroupCommitter` owns one thread per process: request threads hand it their command and wait; it takes
  every command queued meanwhile (up to `max_batch`) and runs them through its GroupUnitOfWork; if the
  transaction itself fails, each command is retried alone so one cannot fail the others.

Handlers and repositories do not know whether they are grouped (a service's bootstrap decides, by giving
command types to a GroupCommitter). They only keep the unit of work's rules, which are checked:
1. Write only through `tx.defer()`: in a group the Tx's collections are read-only, a direct write raises
   `shared.uow.DirectWriteRefused` (a savepoint could not undo it).
2. Read through the identity map (`tx.cache`) and never change a value in it in place: values must be
   immutable (`shared.uow.IdentityMap` refuses others); a change is a new value set under the key. The map
   journals each change, so a savepoint restores exactly what it held (`SavepointLost` if it cannot).
3. Each deferred update carries the guard it was decided under (`must_match=True`): at flush a guard that
   matches nothing aborts the transaction (`shared.uow.WriteMissed`).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

from shared.errors import Problem
from shared.logs import get_correlation_id, reset_correlation_id, set_correlation_id
from shared.metrics import GROUP_COMMIT_COMMANDS, GROUP_COMMIT_CPU, GROUP_COMMIT_SECONDS, GROUP_COMMIT_WAIT
from shared.uow import Tx, UnitOfWork

log = logging.getLogger(__name__)
Handler = Callable[[Any, Tx], Any]


class GroupUnitOfWork:
    """Several commands in one transaction: prefetch, a savepoint per command, each with its request context."""

    def __init__(self, uow: UnitOfWork, handlers: dict[type, Handler],
                 prefetch: Callable[[Tx, list], None] | None = None):
        self.uow = uow
        self.handlers = handlers
        self.prefetch = prefetch

    def run(self, commands: list, correlation_ids: list[str | None] | None = None) -> list:
        """Each command's result, or the Problem it raised, in order (one transaction for all)."""
        cids = correlation_ids if correlation_ids is not None else [get_correlation_id()] * len(commands)

        def attempt(tx: Tx) -> list:
            if self.prefetch is not None:
                self.prefetch(tx, commands)
            results = []
            for command, cid in zip(commands, cids):
                mark = tx.savepoint()
                token = set_correlation_id(cid)
                try:
                    results.append(self.handlers[type(command)](command, tx))
                except Problem as exc:
                    tx.rollback(mark)
                    results.append(exc)
                finally:
                    reset_correlation_id(token)
            return results
        return self.uow.run(attempt, deferred_only=True)


class GroupCommitter:
    """Runs commands through a GroupUnitOfWork in shared transactions, from one background thread."""

    def __init__(self, group: GroupUnitOfWork, max_batch: int = 64):
        self.group = group
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def handles(self, command) -> bool:
        """Whether this committer runs commands of this type."""
        return type(command) in self.group.handlers

    def handle(self, command) -> Any:
        """Run `command` in the next group transaction and return its handler's result (or raise its error)."""
        self._ensure_thread()
        done: Future = Future()
        self._queue.put((command, done, get_correlation_id(), time.perf_counter()))
        return done.result()

    def _ensure_thread(self) -> None:
        # Started by the first command in each process: a thread does not survive gunicorn's fork.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._loop, name="group-commit", daemon=True).start()
                self._pid = os.getpid()

    def _loop(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < self.max_batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            GROUP_COMMIT_COMMANDS.observe(len(items))
            start, cpu = time.perf_counter(), time.thread_time()
            for *_, queued in items:
                GROUP_COMMIT_WAIT.observe(start - queued)
            try:
                self._commit(items)
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any one batch
                log.exception("group commit: batch failed")
                for _, done, *_ in items:
                    if not done.done():
                        done.set_exception(exc)
            GROUP_COMMIT_SECONDS.observe(time.perf_counter() - start)
            GROUP_COMMIT_CPU.observe(time.thread_time() - cpu)

    def _commit(self, items: list[tuple[Any, Future, str | None, float]]) -> None:
        try:
            results = self.group.run([c for c, *_ in items], [cid for _, _, cid, _ in items])
        except Exception as exc:  # noqa: BLE001 - answered below, per command
            if len(items) == 1:
                items[0][1].set_exception(exc)
                return
            log.warning("group commit: batch of %d failed, retrying each alone", len(items),
                        extra={"error": repr(exc)})
            for item in items:
                self._commit([item])
            return
        for (_, done, *_), result in zip(items, results):
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)
