"""Marshmallow schemas: HTTP bodies, query strings and responses, and the ledger events consumed."""
from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import AwareDateTime, PageArgsSchema
from services.requests.stats import MONTH_PATTERN
from services.requests.model import CATEGORIES, SERVICE_CLASSES, STATUSES, UNITS, URGENCIES

ACTIVITY_TYPE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="2-40 个小写字母、数字或下划线。 "
                                                                   "2-40 lowercase letters, digits or underscores.")
ID = validate.Length(min=1, max=64)
QR = re.compile(r"^timebank://(checkin|checkout)/([A-Za-z0-9_-]{1,64})/([0-9]{6})$")


class WindowMixin(Schema):
    window_start = AwareDateTime(required=True)
    window_end = AwareDateTime(required=True)


# -- requests -------------------------------------------------------------------------------------
class RequestCreateSchema(WindowMixin):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    unit = fields.String(load_default="HOUR", validate=validate.OneOf(UNITS))
    estimated_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1440))
    grid_id = fields.String(allow_none=True, load_default=None, validate=ID)
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    private = fields.Boolean(load_default=False)
    service_class = fields.String(load_default="ordinary", validate=validate.OneOf(SERVICE_CLASSES))
    activity_type = fields.String(allow_none=True, load_default=None, validate=ACTIVITY_TYPE)


class RatingSchema(Schema):
    stars = fields.Integer()
    comment = fields.String()
    rated_at = fields.DateTime()


class RequestSchema(Schema):
    request_id = fields.String()
    community_id = fields.String()
    requester_id = fields.String(allow_none=True)
    category = fields.String()
    title = fields.String()
    description = fields.String()
    unit = fields.String()
    estimated_minutes = fields.Integer()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    grid_id = fields.String(allow_none=True)
    urgency = fields.String()
    private = fields.Boolean()
    service_class = fields.String()
    activity_type = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    helper_id = fields.String(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    measured_minutes = fields.Integer(allow_none=True)
    agreed_minutes = fields.Integer(allow_none=True)
    max_claim_minutes = fields.Integer(allow_none=True)
    claim_id = fields.String(allow_none=True)
    claimed_minutes = fields.Integer(allow_none=True)
    claimed_at = fields.DateTime(allow_none=True)
    transfer_id = fields.String(allow_none=True)
    transfer_state = fields.String(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    rating = fields.Nested(RatingSchema, allow_none=True)



class BrowseArgsSchema(PageArgsSchema):
    grid_id = fields.String(validate=ID)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    unit = fields.String(validate=validate.OneOf(UNITS))
    starts_from = AwareDateTime(data_key="from")
    ends_by = AwareDateTime(data_key="to")
    q = fields.String(validate=validate.Length(min=1, max=100))

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("starts_from") and data.get("ends_by") and data["ends_by"] <= data["starts_from"]:
            raise ValidationError("`to` 须晚于 `from`。 `to` must be after `from`.", "to")


class StatusArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


def _page(item_schema):
    return type(f"{item_schema.__name__.replace('Schema', '')}PageSchema", (Schema,), {
        "items": fields.List(fields.Nested(item_schema)), "total": fields.Integer(),
        "limit": fields.Integer(), "offset": fields.Integer()})


RequestPageSchema = _page(RequestSchema)


class CheckCodeSchema(Schema):
    request_id = fields.String()
    purpose = fields.String()
    code = fields.String()
    expires_at = fields.DateTime()
    qr_payload = fields.String()


class CodeSubmitSchema(Schema):
    """The 6-digit code typed in, or the QR payload scanned (timebank://<purpose>/<request>/<code>)."""

    code = fields.String(validate=validate.Regexp(r"^[0-9]{6}$", error="验证码为 6 位数字。 6 digits."))
    qr_payload = fields.String(validate=validate.Regexp(QR, error="这不是时间银行的验证码。 Not a time-bank check code."))

    @validates_schema
    def _one(self, data, **_):
        if ("code" in data) == ("qr_payload" in data):
            raise ValidationError("请给出 code 或 qr_payload 其中之一。 Give either code or qr_payload.", "code")


class MinutesSchema(Schema):
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1440))


class RatingCreateSchema(Schema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=500))


class ReceivedRatingSchema(Schema):
    request_id = fields.String()
    category = fields.String()
    stars = fields.Integer()
    comment = fields.String()
    rated_at = fields.DateTime()


ReceivedRatingPageSchema = _page(ReceivedRatingSchema)


# -- offers ---------------------------------------------------------------------------------------------
class OfferCreateSchema(WindowMixin):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    grid_id = fields.String(allow_none=True, load_default=None, validate=ID)


class OfferSchema(Schema):
    offer_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    category = fields.String()
    title = fields.String()
    description = fields.String()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    grid_id = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)


OfferPageSchema = _page(OfferSchema)


class OfferBrowseArgsSchema(PageArgsSchema):
    grid_id = fields.String(validate=ID)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    q = fields.String(validate=validate.Length(min=1, max=100))
    mine = fields.Boolean(load_default=False)


# -- activities -------------------------------------------------------------------------------------------
class ActivityCreateSchema(Schema):
    activity_type = fields.String(required=True, validate=ACTIVITY_TYPE)
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    grid_id = fields.String(allow_none=True, load_default=None, validate=ID)


class SignUpSchema(Schema):
    activity_id = fields.String()
    member_id = fields.String()
    status = fields.String()
    signed_up_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    minutes = fields.Integer(allow_none=True)
    claim_id = fields.String(allow_none=True)
    transfer_id = fields.String(allow_none=True)
    transfer_state = fields.String(allow_none=True)


class ActivitySchema(Schema):
    activity_id = fields.String()
    community_id = fields.String()
    organizer_id = fields.String()
    activity_type = fields.String()
    title = fields.String()
    description = fields.String()
    place = fields.String()
    capacity = fields.Integer()
    signed_up = fields.Integer()
    places_left = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    grid_id = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    my_signup = fields.Nested(SignUpSchema, allow_none=True)


ActivityPageSchema = _page(ActivitySchema)
SignUpPageSchema = _page(SignUpSchema)


class ActivityBrowseArgsSchema(PageArgsSchema):
    grid_id = fields.String(validate=ID)
    activity_type = fields.String(validate=ACTIVITY_TYPE)
    starts_from = AwareDateTime(data_key="from")
    ends_by = AwareDateTime(data_key="to")


class AttendanceSchema(Schema):
    member_id = fields.String(required=True, validate=ID)
    minutes = fields.Integer(strict=True, allow_none=True, load_default=None,
                             validate=validate.Range(min=1, max=1440))


# -- consumed: ledger.events transfer payloads (read leniently) ------------------------------------------
class ReferenceSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True)
    id = fields.String(required=True)


class AppealDecidedSchema(Schema):
    """ledger.events AppealUpheld / AppealDismissed (only a claim's appeal, which names its request, matters)."""

    class Meta:
        unknown = EXCLUDE

    appeal_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None, validate=ID)
    transfer_id = fields.String(allow_none=True, load_default=None, validate=ID)


class TransferEventSchema(Schema):
    transfer_id = fields.String(required=True, validate=ID)
    community_id = fields.String(allow_none=True, load_default=None)
    workflow = fields.String(allow_none=True, load_default=None)
    unit = fields.String(allow_none=True, load_default=None)
    amount = fields.Integer(allow_none=True, load_default=None)
    payer_id = fields.String(allow_none=True, load_default=None)
    payee_id = fields.String(allow_none=True, load_default=None)
    state = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)
    reference = fields.Nested(ReferenceSchema, allow_none=True, load_default=None)


# -- statistics (GET /v1/admin/requests/stats) and the events its read model consumes ---------------------------
MONTH_FIELD = validate.Regexp(MONTH_PATTERN, error="月份格式为 YYYY-MM（1970-01 至 2999-12）。 A month is YYYY-MM "
                                                   "(1970-01 to 2999-12).")


class StatsArgsSchema(Schema):
    from_month = fields.String(required=True, data_key="from", validate=MONTH_FIELD)
    to_month = fields.String(required=True, data_key="to", validate=MONTH_FIELD)
    grid_id = fields.String(validate=ID)


class StatsFiguresSchema(Schema):
    posted = fields.Integer()
    accepted = fields.Integer()
    completed = fields.Integer()
    accept_median_minutes = fields.Integer(allow_none=True)
    accept_p90_minutes = fields.Integer(allow_none=True)


class StatsMonthCategorySchema(StatsFiguresSchema):
    month = fields.String()
    category = fields.String()


class StatsCategorySchema(StatsFiguresSchema):
    category = fields.String()


class StatsMonthSchema(StatsFiguresSchema):
    month = fields.String()


class RequestStatsSchema(Schema):
    community_id = fields.String()
    from_month = fields.String(data_key="from")
    to_month = fields.String(data_key="to")
    grid_id = fields.String(allow_none=True)
    months = fields.List(fields.Nested(StatsMonthCategorySchema))
    categories = fields.List(fields.Nested(StatsCategorySchema))
    totals = fields.List(fields.Nested(StatsMonthSchema))


class _News(Schema):
    class Meta:
        unknown = EXCLUDE


class RequestNewsSchema(_News):
    request_id = fields.String(required=True, validate=ID)
    community_id = fields.String(required=True, validate=ID)
    accepted_at = AwareDateTime(load_default=None)
    settled_at = AwareDateTime(load_default=None)


class RequestPostedNewsSchema(RequestNewsSchema):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    grid_id = fields.String(allow_none=True, load_default=None, validate=ID)
    posted_at = AwareDateTime(load_default=None)


class CommunitySettingsNewsSchema(_News):
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))


class CommunityNewsSchema(_News):
    community_id = fields.String(required=True, validate=ID)
    settings = fields.Nested(CommunitySettingsNewsSchema, load_default=lambda: {"timezone": "Asia/Shanghai"})


class MemberNewsSchema(_News):
    community_id = fields.String(required=True, validate=ID)
    member_id = fields.String(required=True, validate=ID)
    grid_id = fields.String(allow_none=True, load_default=None)
