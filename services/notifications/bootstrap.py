"""Wires the notification centre's message bus."""
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.notifications.handlers import HANDLERS


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with the notification centre's command handlers."""
    return MessageBus(runtime.uow, HANDLERS)
