"""Commands the notification centre accepts (imperative names)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MarkRead:
    """Mark some (`ids`) or all (`ids` None) of a member's notifications read."""

    member_id: str
    community_id: str
    ids: tuple[str, ...] | None
    now: datetime
