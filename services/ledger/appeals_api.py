"""HTTP API of appeals (积分异议申诉) under /v1: members file and follow theirs, reviewers decide.
The rules and every refusal's code are in `shared/economy/appeal.py`; the postings in `services/ledger/appeals.py`."""
from __future__ import annotations

from shared.auth import authenticated, require_roles
from shared.idempotency import key_from_request
from shared.ratelimit import limiter
from shared.web import ServiceBlueprint as Blueprint
from shared.web import current_bus, current_db
from services.ledger import appeals_views, commands
from services.ledger.api import _actor, _money_limit
from services.ledger.appeals_schemas import (AppealArgsSchema, AppealCreateSchema, AppealSchema, DismissSchema,
                                             UpholdSchema)

blp = Blueprint("ledger_appeals", __name__, url_prefix="/v1", description="Appeals of points decisions (积分异议申诉)")


@blp.post("/appeals")
@authenticated
@limiter.limit(_money_limit)
@blp.arguments(AppealCreateSchema())
@blp.response(201, AppealSchema)
def file_appeal(body):
    """Appeal one of my decisions: an award (say how many points are missing), a cap cut, a penalty, an expiry of
    my points, or a help claim marked disputed. 403 `not_your_decision`; 404 `appeal_subject_not_found`; 409
    `appeal_already_open` / `appeal_already_decided` (one appeal per decision); 422 `bad_reason`,
    `points_required`, `appeal_exceeds_disputed`, `nothing_to_appeal`, `not_appealable`."""
    cmd = commands.FileAppeal(_actor(), body["kind"], body["subject_id"], body["reason"], body["points"],
                              key_from_request(), body)
    return current_bus().handle(cmd)[0]


@blp.get("/appeals/mine")
@authenticated
@blp.arguments(AppealArgsSchema(), location="query")
@blp.response(200, AppealSchema(many=True))
def my_appeals(args):
    """My appeals, newest first, each with every step (filed, upheld with the compensation, or dismissed)."""
    return appeals_views.mine(current_db(), _actor(), args["status"], args["limit"])


@blp.get("/appeals/<appeal_id>")
@authenticated
@blp.response(200, AppealSchema)
def get_appeal(appeal_id):
    """One appeal: its member, an admin of the community or the grid worker of the member's grid (404
    `appeal_not_found` to anyone else)."""
    return appeals_views.one(current_db(), _actor(), appeal_id)


@blp.get("/admin/appeals")
@require_roles("admin", "grid_worker")
@blp.arguments(AppealArgsSchema(), location="query")
@blp.response(200, AppealSchema(many=True))
def appeal_queue(args):
    """The appeals I may review, newest first (`status` filters): an admin's community, a grid worker's grid
    (awards, cap cuts and penalties of its members)."""
    return appeals_views.queue(current_db(), _actor(), args["status"], args["limit"])


@blp.post("/admin/appeals/<appeal_id>/uphold")
@require_roles("admin", "grid_worker")
@limiter.limit(_money_limit)
@blp.arguments(UpholdSchema())
@blp.response(200, AppealSchema)
def uphold(body, appeal_id):
    """Uphold: the compensation (default: all that is disputed) posts to the member with the appeal's id. 403
    `not_a_reviewer`, `reviewer_is_decider`, `reviewer_is_appellant`; 404 `appeal_not_found`; 409
    `appeal_closed`; 422 `uphold_exceeds_disputed`, `nothing_to_appeal`, `insufficient_funds` (the requester of a
    disputed bill cannot pay: uphold with less, or `paid_by: community`), `payer_not_choosable`."""
    return current_bus().handle(commands.UpholdAppeal(_actor(), appeal_id, body["amount"], body["paid_by"],
                                                      key_from_request(), body))[0]


@blp.post("/admin/appeals/<appeal_id>/dismiss")
@require_roles("admin", "grid_worker")
@limiter.limit(_money_limit)
@blp.arguments(DismissSchema())
@blp.response(200, AppealSchema)
def dismiss(body, appeal_id):
    """Dismiss with a reason the member reads. 403 `not_a_reviewer`, `reviewer_is_decider`,
    `reviewer_is_appellant`; 404 `appeal_not_found`; 409 `appeal_closed`; 422 `bad_reason`."""
    return current_bus().handle(commands.DismissAppeal(_actor(), appeal_id, body["reason"], key_from_request(),
                                                       body))[0]
