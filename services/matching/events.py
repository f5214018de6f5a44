"""Events the matching service publishes on matching.events."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event

PRODUCER = "matching"


def match_suggested(tx, request_id: str, community_id: str, member_ids: list[str], causation_id: str | None = None):
    """MatchSuggested: the neighbours to tell about a new request (member ids only)."""
    payload = {"request_id": request_id, "community_id": community_id, "member_ids": list(member_ids)}
    return tx.emit(topics.MATCHING, new_event("MatchSuggested", payload, key=request_id, producer=PRODUCER,
                                              community_id=community_id, causation_id=causation_id))
