"""Wires the ledger's message bus: which commands run alone and which are group-committed."""
from shared.groupcommit import GroupCommitter, GroupUnitOfWork
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.ledger import commands
from services.ledger.handlers import HANDLERS
from services.ledger.history import HANDLERS as HISTORY
from services.ledger.loans import HANDLERS as LOANS
from services.ledger.reads import RESOLVE_VERBS, prefetch

# The residents' money moves: many arrive at once, so they share transactions (shared.groupcommit).
GROUPED = (commands.CreateTransfer, *RESOLVE_VERBS)


def group_unit_of_work(runtime: Runtime) -> GroupUnitOfWork:
    """The unit of work the grouped commands share: their reads prefetched together, each under a savepoint."""
    return GroupUnitOfWork(runtime.uow, {t: HANDLERS[t] for t in GROUPED}, prefetch=prefetch)


def bootstrap(runtime: Runtime) -> MessageBus:
    """The message bus with every ledger command handler; residents' transfers are group-committed."""
    return MessageBus(runtime.uow, {**HANDLERS, **LOANS, **HISTORY}, grouped=GroupCommitter(group_unit_of_work(runtime)))
