"""HTTP API of the matching service (/v1): suggestions with explanations."""
from __future__ import annotations

from flask import current_app
from shared.web import ServiceBlueprint as Blueprint

from shared.auth import authenticated, current_principal
from shared.mongo import utcnow
from services.matching import schemas, views

blp = Blueprint("matching", __name__, url_prefix="/v1",
                description="Suggested helpers for a request and suggested requests for a member")


def _ext(name: str):
    return current_app.extensions[name]


@blp.get("/requests/<request_id>/suggestions")
@blp.arguments(schemas.LimitArgsSchema(), location="query")
@blp.response(200, schemas.RequestSuggestionsSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(security=[{"bearer": []}])
@authenticated
def request_suggestions(args, request_id):
    """Top neighbours for an open request, each with score components and reasons (requester or staff)."""
    return views.suggestions_for_request(_ext("runtime").db, _ext("matching_index"), _ext("matching_policy"),
                                         current_principal(), request_id, args["limit"], utcnow())


@blp.get("/members/<member_id>/suggested-requests")
@blp.arguments(schemas.LimitArgsSchema(), location="query")
@blp.response(200, schemas.MemberSuggestionsSchema)
@blp.doc(security=[{"bearer": []}])
@authenticated
def member_suggested_requests(args, member_id):
    """Open requests that fit this member best, urgent and vulnerable requesters first (the member only)."""
    return views.requests_for_member(_ext("matching_index"), _ext("matching_policy"), current_principal(),
                                     member_id, args["limit"], utcnow())
