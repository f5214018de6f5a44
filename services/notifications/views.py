"""Read side of the notification centre: a member's notifications, newest first, with a cursor."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from pymongo import DESCENDING

from shared.errors import BadRequest

FIELDS = ("notification_id", "member_id", "community_id", "kind", "created_at", "read", "ref", "data")


def _encode(doc: dict) -> str:
    raw = json.dumps([doc["created_at"].isoformat(), doc["_id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, nid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(nid)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("游标无效，请从第一页重新加载。The cursor is not valid; reload from the first page.",
                         code="bad_cursor") from exc


def page(db, member_id: str, community_id: str, *, unread_only: bool, limit: int, cursor: str | None) -> dict:
    """`limit` of the member's notifications newest first (after `cursor`), how many are unread, the next cursor."""
    query: dict = {"member_id": member_id, "community_id": community_id}
    if unread_only:
        query["read"] = False
    if cursor:
        at, nid = _decode(cursor)
        query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": nid}}]
    docs = list(db.notifications.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
                .limit(limit + 1))
    more = len(docs) > limit
    docs = docs[:limit]
    return {"items": [{k: d[k] for k in FIELDS} for d in docs],
            "unread": db.notifications.count_documents({"member_id": member_id, "community_id": community_id,
                                                        "read": False}),
            "next_cursor": _encode(docs[-1]) if more else None}
