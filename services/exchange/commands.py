"""Commands the exchange service accepts (imperative names); time travels in them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClearTrustLine:
    """Net a trust line's position into a clearing record and reset it (an admin of either side, or the
    scheduler when `by_community` is None)."""

    trust_line_id: str
    at: datetime
    by_community: str | None = None


@dataclass(frozen=True)
class GraftNode:
    """Graft this deployment, for one unit, onto a trunkward node (a deployment operator's act)."""

    unit: str
    peer_node_path: str
    our_node_path: str
    url: str
    rate: str
    last_hash: str
    at: datetime
    relation: str = "trunkward"
    secret: str = ""
    net_limit: int = 0


@dataclass(frozen=True)
class StartCcTransfer:
    """A resident pays an account on another node (`payee`: `<node path>/<community code>/<handle>`)."""

    unit: str
    community_id: str
    member_id: str
    payee: str
    amount: int
    memo: str | None
    at: datetime
