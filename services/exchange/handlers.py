"""Command handlers of the exchange service: each runs inside one unit of work."""
from __future__ import annotations

import uuid

from shared.uow import Tx
from services.exchange import commands, events
from services.exchange.repository import ExchangeRepository


def clear_trust_line(cmd: commands.ClearTrustLine, tx: Tx) -> dict:
    """Net a trust line's position into a clearing record both admins see, and reset the position."""
    repo = ExchangeRepository(tx)
    line = repo.line(cmd.trust_line_id)
    if cmd.by_community is not None:
        line.check_party(cmd.by_community)
    cleared, record = line.cleared(f"cl_{uuid.uuid4().hex[:16]}", cmd.at, cmd.by_community)
    repo.save_line(cleared)
    repo.add_clearing(record)
    events.clearing_completed(tx, record)
    return record


HANDLERS = {
    commands.ClearTrustLine: clear_trust_line,
}
