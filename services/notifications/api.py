"""HTTP API of the notification centre (/v1): my notifications, newest first; mark them read."""
from __future__ import annotations


from shared.auth import authenticated, current_principal
from shared.mongo import utcnow
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.notifications import commands, schemas, views

blp = Blueprint("notifications", __name__, url_prefix="/v1",
                description="What awaits me and what changed: my notifications, newest first")


@blp.get("/notifications")
@blp.arguments(schemas.ListArgsSchema(), location="query")
@blp.response(200, schemas.NotificationPageSchema)
@blp.doc(security=[{"bearer": []}])
@authenticated
def list_notifications(args):
    """My notifications, newest first (`unread_only=true` for the unread ones), and how many are unread.

    Page on with `cursor` = the previous page's `next_cursor` (null on the last page)."""
    p = current_principal()
    return views.page(current_db(), p.member_id, p.community_id, unread_only=args["unread_only"],
                      limit=args["limit"], cursor=args.get("cursor"))


@blp.post("/notifications/read")
@blp.arguments(schemas.MarkReadSchema())
@blp.response(200, schemas.UnreadSchema)
@blp.doc(security=[{"bearer": []}])
@authenticated
def mark_read(body):
    """Mark my notifications read: `{"ids": [...]}` (others' ids change nothing) or `{"all": true}`."""
    p = current_principal()
    ids = tuple(body["ids"]) if "ids" in body else None
    return current_bus().handle(commands.MarkRead(p.member_id, p.community_id, ids, utcnow()))
