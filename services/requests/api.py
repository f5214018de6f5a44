"""HTTP API of the requests service (/v1): requests, check-in/out, claims, ratings, offers, activities."""
from __future__ import annotations

from flask import current_app
from shared.web import ServiceBlueprint as Blueprint

from shared.auth import current_principal, require_roles
from shared.errors import Unprocessable
from shared.idempotency import key_from_request
from shared.web import current_bus, current_db
from services.requests import commands, schemas, views
from services.requests.model import CODE_MESSAGES

blp = Blueprint("requests", __name__, url_prefix="/v1",
                description="Help requests, offers, community activities, check-in/out, claims and ratings")




def _policy():
    return current_app.extensions["policy"]


def _now():
    return current_app.extensions["clock"]()


def _actor() -> commands.Actor:
    p = current_principal()
    return commands.Actor(p.member_id, p.community_id, views.is_staff(p))


def _request_view(req) -> dict:
    return views.request_view(req, current_principal(), _policy())


def _code(body: dict, request_id: str) -> str:
    if "code" in body:
        return body["code"]
    match = schemas.QR.match(body["qr_payload"])
    if match.group(2) != request_id:
        raise Unprocessable("这个二维码属于另一条求助。 This QR code belongs to another request.", code="wrong_code")
    return match.group(3)


def _refused(result: dict) -> dict:
    # Wrong attempts were committed (they count towards the lock-out); now tell the helper.
    if result["refusal"]:
        raise Unprocessable(CODE_MESSAGES[result["refusal"]], code=result["refusal"])
    return _request_view(result["request"])


# -- help requests -------------------------------------------------------------------------------------
@blp.post("/requests")
@blp.arguments(schemas.RequestCreateSchema())
@blp.response(201, schemas.RequestSchema)
def post_request(body):
    """Post a help request (求助); honours Idempotency-Key."""
    return _request_view(current_bus().handle(commands.PostRequest(_actor(), body, _now(), key_from_request())))


@blp.get("/requests")
@blp.arguments(schemas.BrowseArgsSchema(), location="query")
@blp.response(200, schemas.RequestPageSchema)
def browse_requests(args):
    """Open requests of my community: filter by grid, category, unit, time window (from/to) and text (q)."""
    return views.browse(current_db(), current_principal(), args, _now(), _policy())


@blp.get("/requests/mine")
@blp.arguments(schemas.StatusArgsSchema(), location="query")
@blp.response(200, schemas.RequestPageSchema)
def my_requests(args):
    """Requests I posted, newest first."""
    return views.mine(current_db(), current_principal(), args, _policy())


@blp.get("/requests/commitments")
@blp.arguments(schemas.StatusArgsSchema(), location="query")
@blp.response(200, schemas.RequestPageSchema)
def my_commitments(args):
    """Requests I accepted as a helper (by default: accepted, in progress or claimed)."""
    return views.commitments(current_db(), current_principal(), args, _policy())


@blp.get("/requests/<request_id>")
@blp.response(200, schemas.RequestSchema)
def get_request(request_id):
    """One request (a private requester is shown only to the accepted helper and staff)."""
    return views.request(current_db(), current_principal(), request_id, _policy())


@blp.post("/requests/<request_id>/accept")
@blp.response(200, schemas.RequestSchema)
def accept_request(request_id):
    """Accept a request as its helper: first come, first served, within the open-commitment limit."""
    return _request_view(current_bus().handle(commands.AcceptRequest(_actor(), request_id, _now())))


@blp.post("/requests/<request_id>/release")
@blp.response(200, schemas.RequestSchema)
def release_helper(request_id):
    """The requester releases a helper who did not show up (or the helper steps back); the request reopens."""
    return _request_view(current_bus().handle(commands.ReleaseHelper(_actor(), request_id, _now())))


@blp.post("/requests/<request_id>/cancel")
@blp.response(200, schemas.RequestSchema)
def cancel_request(request_id):
    """Cancel a request that has not started."""
    return _request_view(current_bus().handle(commands.CancelRequest(_actor(), request_id, _now())))


@blp.post("/requests/<request_id>/codes")
@blp.response(201, schemas.CheckCodeSchema)
def issue_code(request_id):
    """The requester gets a one-time code (and QR payload) for the helper's next check-in or check-out."""
    result = current_bus().handle(commands.IssueCheckCode(_actor(), request_id, _now()))
    return {"request_id": request_id, **{k: result[k] for k in ("purpose", "code", "expires_at", "qr_payload")}}


@blp.post("/requests/<request_id>/check-in")
@blp.arguments(schemas.CodeSubmitSchema())
@blp.response(200, schemas.RequestSchema)
def check_in(body, request_id):
    """The helper enters or scans the requester's check-in code; the help is in progress."""
    return _refused(current_bus().handle(commands.CheckIn(_actor(), request_id, _code(body, request_id), _now())))


@blp.post("/requests/<request_id>/check-out")
@blp.arguments(schemas.CodeSubmitSchema())
@blp.response(200, schemas.RequestSchema)
def check_out(body, request_id):
    """The helper enters or scans the check-out code; the measured duration is fixed."""
    return _refused(current_bus().handle(commands.CheckOut(_actor(), request_id, _code(body, request_id), _now())))


@blp.post("/requests/<request_id>/agree-claim")
@blp.arguments(schemas.MinutesSchema())
@blp.response(200, schemas.RequestSchema)
def agree_claim(body, request_id):
    """The requester agrees that the helper may claim up to `minutes`, beyond the measured time."""
    return _request_view(current_bus().handle(commands.AgreeClaim(_actor(), request_id, body["minutes"], _now())))


@blp.post("/requests/<request_id>/claim")
@blp.arguments(schemas.MinutesSchema())
@blp.response(200, schemas.RequestSchema)
def claim(body, request_id):
    """The helper claims the minutes; the ledger opens a pending transfer for the other side to confirm."""
    return _request_view(current_bus().handle(commands.ClaimHelp(_actor(), request_id, body["minutes"], _now(),
                                                          key_from_request())))


@blp.post("/requests/<request_id>/rating")
@blp.arguments(schemas.RatingCreateSchema())
@blp.response(201, schemas.RequestSchema)
def rate(body, request_id):
    """The requester rates completed help once: 1-5 stars and a comment, visible to the helper."""
    return _request_view(current_bus().handle(commands.RateHelp(_actor(), request_id, body["stars"], body["comment"],
                                                         _now())))


@blp.get("/ratings/received")
@blp.arguments(schemas.PageArgsSchema(), location="query")
@blp.response(200, schemas.ReceivedRatingPageSchema)
def ratings_received(args):
    """Ratings my help received."""
    return views.ratings_received(current_db(), current_principal(), args)


# -- offers ------------------------------------------------------------------------------------------------
@blp.post("/offers")
@blp.arguments(schemas.OfferCreateSchema())
@blp.response(201, schemas.OfferSchema)
def post_offer(body):
    """Offer help (I can help with …)."""
    return current_bus().handle(commands.PostOffer(_actor(), body, _now()))


@blp.get("/offers")
@blp.arguments(schemas.OfferBrowseArgsSchema(), location="query")
@blp.response(200, schemas.OfferPageSchema)
def browse_offers(args):
    """Open offers of my community (or mine=true: all my offers)."""
    return views.offers(current_db(), current_principal(), args, _now())


@blp.get("/offers/<offer_id>")
@blp.response(200, schemas.OfferSchema)
def get_offer(offer_id):
    """One offer."""
    return views.offer(current_db(), current_principal(), offer_id)


@blp.post("/offers/<offer_id>/withdraw")
@blp.response(200, schemas.OfferSchema)
def withdraw_offer(offer_id):
    """Withdraw my offer."""
    return current_bus().handle(commands.WithdrawOffer(_actor(), offer_id, _now()))


# -- activities ---------------------------------------------------------------------------------------------
def _activity_view(result: dict) -> dict:
    act, signup = result["activity"], result["signup"]
    doc = {k: v for k, v in vars(act).items() if k != "events"}
    mine = vars(signup) if signup.member_id == current_principal().member_id else None
    return views.activity_view(doc, mine)


@blp.post("/activities")
@blp.arguments(schemas.ActivityCreateSchema())
@blp.response(201, schemas.ActivitySchema)
def publish_activity(body):
    """Publish a community activity (organizers, grid workers, admins)."""
    act = current_bus().handle(commands.PublishActivity(_actor(), body, _now()))
    return views.activity_view({k: v for k, v in vars(act).items() if k != "events"}, None)


@blp.get("/activities")
@blp.arguments(schemas.ActivityBrowseArgsSchema(), location="query")
@blp.response(200, schemas.ActivityPageSchema)
def browse_activities(args):
    """Activities of my community that are not over, soonest first."""
    return views.activities(current_db(), current_principal(), args, _now())


@blp.get("/activities/<activity_id>")
@blp.response(200, schemas.ActivitySchema)
def get_activity(activity_id):
    """One activity with my sign-up."""
    return views.activity(current_db(), current_principal(), activity_id)


@blp.post("/activities/<activity_id>/signup")
@blp.response(200, schemas.ActivitySchema)
def sign_up(activity_id):
    """Take a place in the activity."""
    return _activity_view(current_bus().handle(commands.SignUpForActivity(_actor(), activity_id, _now())))


@blp.post("/activities/<activity_id>/withdraw")
@blp.response(200, schemas.ActivitySchema)
def withdraw(activity_id):
    """Give my place back before the activity starts."""
    return _activity_view(current_bus().handle(commands.WithdrawFromActivity(_actor(), activity_id, _now())))


@blp.get("/activities/<activity_id>/participants")
@blp.arguments(schemas.PageArgsSchema(), location="query")
@blp.response(200, schemas.SignUpPageSchema)
def participants(args, activity_id):
    """Who signed up (the organizer and staff)."""
    return views.participants(current_db(), current_principal(), activity_id, args)


@blp.post("/activities/<activity_id>/attendance")
@blp.arguments(schemas.AttendanceSchema())
@blp.response(200, schemas.SignUpSchema)
def verify_attendance(body, activity_id):
    """The organizer verifies a member attended; a points award is claimed for them."""
    result = current_bus().handle(commands.VerifyAttendance(_actor(), activity_id, body["member_id"], body["minutes"],
                                                     _now()))
    return vars(result["signup"])


# -- statistics (the staff dashboards) -------------------------------------------------------------------------
@blp.get("/admin/requests/stats")
@require_roles("admin", "grid_worker")
@blp.arguments(schemas.StatsArgsSchema(), location="query")
@blp.response(200, schemas.RequestStatsSchema)
def request_stats(args):
    """Requests per month and category (posted, accepted, completed; time-to-accept median and p90 in minutes)
    from the statistics read model; admins: the community or one grid (grid_id), a grid worker: their grid."""
    return views.request_stats(current_db(), current_principal(), args)
