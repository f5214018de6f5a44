"""Wires the ledger's message bus."""
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.ledger.handlers import HANDLERS


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every ledger command handler."""
    return MessageBus(runtime.uow, HANDLERS)
