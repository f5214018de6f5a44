"""Wires the exchange service's message bus."""
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.exchange.handlers import HANDLERS


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every exchange command handler."""
    return MessageBus(runtime.uow, HANDLERS)
