"""Wires the ledger's message bus."""
from shared.groupcommit import GroupCommitter
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.ledger.handlers import GROUPED, HANDLERS, prefetch


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every ledger command handler; residents' transfers are group-committed."""
    grouped = GroupCommitter(runtime.uow, {t: HANDLERS[t] for t in GROUPED}, prepare=prefetch)
    return MessageBus(runtime.uow, HANDLERS, grouped=grouped)
