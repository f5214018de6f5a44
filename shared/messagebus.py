"""Message bus: dispatches a command to its handler inside one unit of work."""
from __future__ import annotations

from typing import Any, Callable

from shared.groupcommit import GroupCommitter
from shared.uow import Tx, UnitOfWork


class MessageBus:
    """Maps command types to handlers(cmd, tx); each command runs in its own transaction, except the types
    given to `grouped`, which share transactions with the commands arriving together (group commit)."""

    def __init__(self, uow: UnitOfWork, handlers: dict[type, Callable[[Any, Tx], Any]],
                 grouped: GroupCommitter | None = None):
        self.uow = uow
        self.handlers = handlers
        self.grouped = grouped

    def handle(self, command) -> Any:
        """Run the command's handler atomically and return its result."""
        if self.grouped is not None and self.grouped.handles(command):
            return self.grouped.handle(command)
        handler = self.handlers[type(command)]
        return self.uow.run(lambda tx: handler(command, tx))
