"""Group commit: the commands that arrive together share one MongoDB transaction.

A transaction's commit (journal flush, oplog entry, majority acknowledgement) and each round trip cost
far more than the few documents a ledger command writes, so committing commands one by one made MongoDB
and the driver the bottleneck. A GroupCommitter owns one thread per process: request threads hand it
their command and wait; it takes every command queued meanwhile (up to `max_batch`), reads what they all
need in one round trip (`prepare`), runs their handlers one after another in one transaction
(`UnitOfWork.run_many`, each seeing the changes of those before it) and answers each. A command refused
with a Problem is undone alone; if the transaction itself fails, each command is retried on its own so one
cannot fail the others. Each command carries the correlation id of the request that sent it, and its handler
runs with that id current (the committer thread has none of its own), so its events and log lines keep it.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from concurrent.futures import Future
from functools import partial
from typing import Any, Callable

from shared.logs import get_correlation_id, reset_correlation_id, set_correlation_id
from shared.metrics import GROUP_COMMIT_COMMANDS
from shared.uow import Tx, UnitOfWork

log = logging.getLogger(__name__)


class GroupCommitter:
    """Runs commands through their handlers in shared transactions, from one background thread."""

    def __init__(self, uow: UnitOfWork, handlers: dict[type, Callable[[Any, Tx], Any]],
                 prepare: Callable[[Tx, list], None] | None = None, max_batch: int = 64):
        self.uow = uow
        self.handlers = handlers
        self.prepare = prepare
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def handle(self, command) -> Any:
        """Run `command` in the next group transaction and return its handler's result (or raise its error)."""
        self._ensure_thread()
        done: Future = Future()
        self._queue.put((command, done, get_correlation_id()))
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
            try:
                self._commit(items)
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any one batch
                log.exception("group commit: batch failed")
                for _, done, _ in items:
                    if not done.done():
                        done.set_exception(exc)

    def _step(self, command, correlation_id: str | None, tx: Tx) -> Any:
        """One command's handler, run with the correlation id of the request that queued it."""
        token = set_correlation_id(correlation_id)
        try:
            return self.handlers[type(command)](command, tx)
        finally:
            reset_correlation_id(token)

    def _commit(self, items: list[tuple[Any, Future, str | None]]) -> None:
        commands = [command for command, _, _ in items]
        prepare = (lambda tx: self.prepare(tx, commands)) if self.prepare else None
        try:
            results = self.uow.run_many([partial(self._step, c, cid) for c, _, cid in items], prepare=prepare)
        except Exception as exc:  # noqa: BLE001 - answered below, per command
            if len(items) == 1:
                items[0][1].set_exception(exc)
                return
            log.warning("group commit: batch of %d failed, retrying each alone", len(items),
                        extra={"error": repr(exc)})
            for item in items:
                self._commit([item])
            return
        for (_, done, _), result in zip(items, results):
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)
