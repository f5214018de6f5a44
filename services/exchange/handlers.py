"""Command handlers of the exchange service: each runs inside one unit of work."""
from __future__ import annotations

import uuid

from pymongo.errors import DuplicateKeyError

from shared.errors import Conflict
from shared.uow import Tx
from services.exchange import ccflow, commands, events
from services.exchange.federation import TrunkwardNode
from services.exchange.repository import NODES, ExchangeRepository, NodeRepository


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


def graft_node(cmd: commands.GraftNode, tx: Tx) -> TrunkwardNode:
    """Record the graft of one unit onto a trunkward node; one per unit (a re-graft is a new deployment act)."""
    node = TrunkwardNode.graft(cmd.unit, cmd.peer_node_path, cmd.our_node_path, cmd.url, cmd.rate, cmd.last_hash,
                               cmd.at, cmd.relation, cmd.secret, cmd.net_limit)
    nodes = NodeRepository(tx)
    if tx[NODES].find_one({"_id": node.node_id}) is not None:
        raise Conflict(f"{cmd.unit} 已接入上级节点。 {cmd.unit} is already grafted onto a trunkward node.",
                       code="already_grafted")
    try:
        nodes.add(node)
    except DuplicateKeyError as exc:
        raise Conflict(f"{cmd.unit} 已接入上级节点。 "
                       f"{cmd.unit} is already grafted onto a trunkward node.", code="already_grafted") from exc
    return node


def start_cc_transfer(cmd: commands.StartCcTransfer, tx: Tx):
    """Record a resident's transfer to another node (its relay is sent next, outside this transaction)."""
    return ccflow.start(tx, unit=cmd.unit, community_id=cmd.community_id, member_id=cmd.member_id, payee=cmd.payee,
                        amount=cmd.amount, memo=cmd.memo, at=cmd.at)


HANDLERS = {
    commands.ClearTrustLine: clear_trust_line,
    commands.GraftNode: graft_node,
    commands.StartCcTransfer: start_cc_transfer,
}
