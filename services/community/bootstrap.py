"""Wires the community service's message bus."""
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.community.handlers import HANDLERS
from services.community.reports_handlers import HANDLERS as GRID_WORK


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every community command handler."""
    return MessageBus(runtime.uow, {**HANDLERS, **GRID_WORK})
