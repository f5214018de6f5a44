"""Wires the settlement service's message bus."""
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.settlement.handlers import HANDLERS


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every settlement command handler."""
    return MessageBus(runtime.uow, HANDLERS)
