"""Message bus: dispatches a command to its handler inside one unit of work."""
from __future__ import annotations

from typing import Any, Callable

from shared.uow import Tx, UnitOfWork


class MessageBus:
    """Maps command types to handlers(cmd, tx); each command runs in its own transaction."""

    def __init__(self, uow: UnitOfWork, handlers: dict[type, Callable[[Any, Tx], Any]]):
        self.uow = uow
        self.handlers = handlers

    def handle(self, command) -> Any:
        """Run the command's handler atomically and return its result."""
        handler = self.handlers[type(command)]
        return self.uow.run(lambda tx: handler(command, tx))
