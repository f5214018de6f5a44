"""HTTP API of grid work: 随手拍 reports (residents create with a photo; the grid worker of the grid or an admin
verifies or dismisses) and standing duties (admins assign; the grid worker verifies each period)."""
from __future__ import annotations

from flask import Response, current_app, request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from shared.auth import require_community
from shared.economy.schema import NAME
from shared.mongo import utcnow
from shared.ratelimit import limiter
from shared.schemas import PageCursor, problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.community import reports_views as views
from services.community.model import new_id
from services.community.reports import PHOTO_MAX_BYTES, accept_photo
from services.community.reports_handlers import AssignDuty, CreateReport, DecideReport, VerifyDuty
from services.community.reports_store import PhotoStore

blp = Blueprint("grid_work", __name__, url_prefix="/v1",
                description="网格 Grid work: 随手拍 reports with a photo, and standing duties (门前三包…) verified by "
                            "the grid worker")
BASE = "/communities/<community_id>"
FORM_ROOM = 64 * 1024  # the text fields of a report's form, next to its photo
DEFAULT_REPORT_LIMIT = "30/hour"  # photos per caller (bearer token)
Id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ReportFormSchema(Schema):
    report_type = fields.String(required=True, validate=NAME, metadata={"description": "hazard_report…"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    place = fields.String(required=True, validate=validate.Length(min=1, max=120))
    major_hazard = fields.Boolean(load_default=False, metadata={"description": "the reporter thinks it is major"})
    grid_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                            metadata={"description": "default: the reporter's grid"})


class ReportPhotoSchema(Schema):
    photo = Upload(required=True, metadata={"description": "JPEG, PNG or WebP, at most 5 MB"})


class ReportSchema(Schema):
    report_id = fields.String()
    community_id = fields.String()
    grid_id = fields.String()
    reporter_id = fields.String()
    report_type = fields.String()
    text = fields.String()
    place = fields.String()
    photo_type = fields.String()
    photo_bytes = fields.Integer()
    major_hazard_claimed = fields.Boolean()
    major_hazard = fields.Boolean()
    status = fields.String(metadata={"description": "open, verified or dismissed"})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    points = fields.Integer(metadata={"description": "what the rules in effect pay when verified"})


class CursorArgsSchema(Schema):
    """`?limit=&cursor=`: a page of a list, and where the next one starts (the `next_cursor` of the page before)."""
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = PageCursor(load_default=None, metadata={"description": "the next_cursor of the previous page"})


class ReportListArgsSchema(CursorArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(("open", "verified", "dismissed")))


NEXT_CURSOR = {"description": "pass as ?cursor= for the next page; null on the last page"}


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportSchema))
    next_cursor = fields.String(allow_none=True, metadata=NEXT_CURSOR)


class VerifyReportSchema(Schema):
    major_hazard = fields.Boolean(load_default=False, metadata={"description": "confirm a major hazard (bonus)"})


class DismissReportSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class DutyAssignSchema(Schema):
    member_id = Id
    duty = fields.String(required=True, validate=NAME)
    active = fields.Boolean(load_default=True, metadata={"description": "false ends the assignment"})


class DutyAssignmentSchema(Schema):
    assignment_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    duty = fields.String()
    grid_id = fields.String(allow_none=True)
    assigned_by = fields.String()
    assigned_at = fields.DateTime()
    active = fields.Boolean()


class DutyDueSchema(DutyAssignmentSchema):
    period = fields.String(metadata={"description": "this period: 2026-W48 (weekly) or 2026-11 (monthly)"})
    period_kind = fields.String()
    points = fields.Integer()
    verified = fields.Boolean(metadata={"description": "verified for this period"})


class DutyDuePageSchema(Schema):
    items = fields.List(fields.Nested(DutyDueSchema))
    next_cursor = fields.String(allow_none=True, metadata=NEXT_CURSOR)


class DutyVerifySchema(Schema):
    period = fields.String(load_default=None, validate=validate.Length(min=7, max=8),
                           metadata={"description": "default this period; an earlier one may be verified late"})


class DutyVerificationSchema(Schema):
    verification_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    grid_id = fields.String(allow_none=True)
    duty = fields.String()
    period = fields.String()
    verified_at = fields.String()
    verified_by = fields.String()


def _report_limit() -> str:
    # Operators (and the fuzz and hardening suites) raise it with COMMUNITY_REPORT_RATE_LIMIT.
    return current_app.config["SERVICE_CONFIG"].setting("REPORT_RATE_LIMIT", DEFAULT_REPORT_LIMIT)


@blp.before_request
def _photo_room():
    """The report form carries a photo: room for one, here only (every other body keeps the small limit)."""
    if request.method == "POST" and request.endpoint == f"{blp.name}.create_report":
        request.max_content_length = PHOTO_MAX_BYTES + FORM_ROOM


_refusals = problem_responses(blp, {"413": "photo over 5 MB",
                                    "422": "not a JPEG/PNG/WebP photo, a damaged one, unknown report type or grid"})
_decisions = problem_responses(blp, {"404": "no such report", "409": "already decided"})


@blp.post(f"{BASE}/reports")
@limiter.limit(_report_limit)
@blp.arguments(ReportFormSchema(), location="form")
@blp.arguments(ReportPhotoSchema(), location="files")
@blp.response(201, ReportSchema)
@_refusals
def create_report(form, files, community_id):
    """随手拍: report a hazard or hygiene problem with text, place and a photo (any member)."""
    me = require_community(community_id)
    media_type, data = accept_photo(files["photo"].read(PHOTO_MAX_BYTES + 1))
    photos = PhotoStore(current_db())
    photo_id = photos.save(data, media_type, community_id, me.member_id)
    try:
        report = current_bus().handle(CreateReport(new_id("rp"), community_id, me.member_id, form["report_type"],
                                                   form["text"], form["place"], form["major_hazard"],
                                                   form["grid_id"], photo_id, media_type, len(data), utcnow()))
    except BaseException:
        photos.discard(photo_id)  # the report was refused: keep no photo of it
        raise
    return views.report(current_db(), report)


@blp.get(f"{BASE}/reports/mine")
@blp.arguments(ReportListArgsSchema(), location="query")
@blp.response(200, ReportPageSchema)
def my_reports(args, community_id):
    """My reports, newest first, with their status and the reason of a dismissal; page on with next_cursor."""
    me = require_community(community_id)
    return views.reports(current_db(), community_id, {"reporter_id": me.member_id}, args["status"],
                         limit=args["limit"], cursor=args["cursor"])


@blp.get(f"{BASE}/reports/queue")
@blp.arguments(ReportListArgsSchema(), location="query")
@blp.response(200, ReportPageSchema)
def report_queue(args, community_id):
    """Reports to decide (open by default), oldest first: a grid worker's own grid, every grid for an admin; page
    on with next_cursor."""
    me = require_community(community_id, "grid_worker", "admin")
    return views.queue(current_db(), community_id, me.member_id, args["status"] or "open", limit=args["limit"],
                       cursor=args["cursor"])


@blp.get(f"{BASE}/reports/<report_id>")
@blp.response(200, ReportSchema)
@_decisions
def get_report(community_id, report_id):
    """One report (its reporter, the grid worker of its grid, admins)."""
    me = require_community(community_id)
    return views.report(current_db(), views.readable(current_db(), community_id, report_id, me.member_id))


@blp.get(f"{BASE}/reports/<report_id>/photo")
@blp.response(200, {"format": "binary", "type": "string"}, content_type="image/jpeg",
              description="the photo, as JPEG, PNG or WebP")
@_decisions
def report_photo(community_id, report_id):
    """The report's photo (its reporter, the grid worker of its grid, admins)."""
    me = require_community(community_id)
    report = views.readable(current_db(), community_id, report_id, me.member_id)
    return Response(PhotoStore(current_db()).chunks(report.photo_id), mimetype=report.photo_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
                             "Content-Length": str(report.photo_bytes)})


@blp.post(f"{BASE}/reports/<report_id>/verify")
@blp.arguments(VerifyReportSchema())
@blp.response(200, ReportSchema)
@_decisions
def verify_report(body, community_id, report_id):
    """Verify a report (the grid worker of its grid, or an admin; not its reporter): the reporter earns its points."""
    me = require_community(community_id, "grid_worker", "admin")
    report = current_bus().handle(DecideReport(community_id, report_id, me.member_id, "verify",
                                               major_hazard=body["major_hazard"], at=utcnow()))
    return views.report(current_db(), report)


@blp.post(f"{BASE}/reports/<report_id>/dismiss")
@blp.arguments(DismissReportSchema())
@blp.response(200, ReportSchema)
@_decisions
def dismiss_report(body, community_id, report_id):
    """Dismiss a report with a reason the reporter reads (the grid worker of its grid, or an admin)."""
    me = require_community(community_id, "grid_worker", "admin")
    report = current_bus().handle(DecideReport(community_id, report_id, me.member_id, "dismiss",
                                               reason=body["reason"], at=utcnow()))
    return views.report(current_db(), report)


@blp.post(f"{BASE}/duties")
@blp.arguments(DutyAssignSchema())
@blp.response(200, DutyAssignmentSchema)
@problem_responses(blp, {"404": "no such member", "422": "a duty the rules do not price"})
def assign_duty(body, community_id):
    """Assign a member a standing duty, or end it with `active: false` (admins)."""
    admin = require_community(community_id, "admin")
    return current_bus().handle(AssignDuty(community_id, body["member_id"], body["duty"], admin.member_id, utcnow(),
                                           body["active"]))


@blp.get(f"{BASE}/duties/due")
@blp.arguments(CursorArgsSchema(), location="query")
@blp.response(200, DutyDuePageSchema)
def duties_due(args, community_id):
    """The duties held in my grid (every grid for an admin) with this period and whether it is verified; page on
    with next_cursor."""
    me = require_community(community_id, "grid_worker", "admin")
    return views.duties_due(current_db(), community_id, me.member_id, utcnow(), limit=args["limit"],
                            cursor=args["cursor"])


@blp.post(f"{BASE}/duties/<assignment_id>/verify")
@blp.arguments(DutyVerifySchema())
@blp.response(200, DutyVerificationSchema)
@problem_responses(blp, {"404": "no such duty assignment", "409": "the duty was ended",
                         "422": "a period after this one"})
def verify_duty(body, community_id, assignment_id):
    """Verify a member's duty for this period (or an earlier one), once: a repeat answers the first verification."""
    me = require_community(community_id, "grid_worker", "admin")
    verification, _ = current_bus().handle(VerifyDuty(community_id, assignment_id, me.member_id, utcnow(),
                                                      body["period"]))
    return verification
