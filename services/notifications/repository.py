"""MongoDB storage of notifications and of what the centre knows of each request (always inside a unit of work)."""
from __future__ import annotations

from datetime import datetime

from shared.uow import Tx


class NotificationRepository:
    """Reads and writes the notification centre's collections through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def add(self, notification: dict) -> None:
        """Store a notification once (its id is derived from the event, so a replay finds it there)."""
        doc = {"_id": notification["notification_id"], **notification}
        self.tx["notifications"].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)

    def request_parties(self, request_id: str) -> dict | None:
        """The requester and helper ids of a request, as last learnt from its events."""
        return self.tx["requests"].find_one({"_id": request_id}, {"_id": 0, "requester_id": 1, "helper_id": 1})

    def save_request_parties(self, request_id: str, community_id: str, parties: dict) -> None:
        """Remember a request's requester and helper."""
        self.tx["requests"].update_one({"_id": request_id}, {"$set": {"community_id": community_id, **parties}},
                                       upsert=True)

    def save_reviewer(self, member_id: str, facts: dict | None) -> None:
        """Remember a member who may review appeals (`model.reviewer_facts`), or forget one who no longer may."""
        if facts is None:
            self.tx["reviewers"].delete_one({"_id": member_id})
        else:
            self.tx["reviewers"].update_one({"_id": member_id}, {"$set": facts}, upsert=True)

    def reviewers(self, community_id: str) -> list[dict]:
        """The community's admins and grid workers: {member_id, roles, grid_id}."""
        return [{"member_id": d.pop("_id"), **d} for d in self.tx["reviewers"].find({"community_id": community_id})]

    def mark_read(self, member_id: str, community_id: str, ids: list[str] | None, at: datetime) -> None:
        """Mark the member's unread notifications among `ids` (all of them when None) read."""
        query = {"member_id": member_id, "community_id": community_id, "read": False}
        if ids is not None:
            query["_id"] = {"$in": ids}
        self.tx["notifications"].update_many(query, {"$set": {"read": True, "read_at": at}})

    def unread(self, member_id: str, community_id: str) -> int:
        """How many of the member's notifications are unread."""
        return self.tx["notifications"].count_documents({"member_id": member_id, "community_id": community_id,
                                                         "read": False})
