"""Marshmallow schemas: the notification centre's HTTP bodies and the payloads of the events it consumes."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.notifications.model import KINDS

Id = fields.String(required=True, validate=validate.Length(min=1, max=128))
OptionalId = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
OptionalText = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
MAX_IDS = 200


# -- HTTP -------------------------------------------------------------------------------------------
class ListArgsSchema(Schema):
    unread_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "next_cursor of the previous page"})


class RefSchema(Schema):
    kind = fields.String(metadata={"description": "transfer | request | redemption"})
    id = fields.String()


class NotificationSchema(Schema):
    notification_id = fields.String()
    member_id = fields.String()
    community_id = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS),
                         metadata={"description": "Stable code the app turns into words", "enum": list(KINDS)})
    created_at = fields.DateTime()
    read = fields.Boolean()
    ref = fields.Nested(RefSchema)
    data = fields.Dict(metadata={"description": "Non-personal facts: ids, unit, amount, workflow, title…"})


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer(metadata={"description": "How many of my notifications are unread"})
    next_cursor = fields.String(allow_none=True)


class MarkReadSchema(Schema):
    """Either `ids` (my notifications to mark read) or `all: true`."""

    ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                      validate=validate.Length(min=1, max=MAX_IDS))
    all = fields.Boolean(truthy={True}, falsy={False})  # JSON true, not "yes"

    @validates_schema
    def _one_of(self, data, **_):
        if ("ids" in data) == bool(data.get("all")):
            raise ValidationError("请给出 ids 或 all: true 其中之一。 Give either ids or all: true.", "_schema")
        if data.get("all") is False:
            raise ValidationError("给出 all 时须为 true。 all must be true when given.", "all")


class UnreadSchema(Schema):
    unread = fields.Integer()


# -- consumed events (read leniently: unknown fields ignored) ----------------------------------------
class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class ReferenceSchema(_Lenient):
    kind = fields.String(required=True)
    id = fields.String(required=True)


class TransferEventSchema(_Lenient):
    transfer_id = Id
    community_id = Id
    workflow = fields.String(required=True)
    unit = fields.String(required=True)
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    debit_account = fields.String(required=True)
    credit_account = fields.String(required=True)
    payer_id = OptionalId
    payee_id = OptionalId
    reason = OptionalText
    reference = fields.Nested(ReferenceSchema, load_default=None, allow_none=True)
    # a cross-community transfer: the payee is in `payee_community` (the ledger's terms, read leniently)
    cross = fields.Dict(load_default=None, allow_none=True)


class RequestRefSchema(_Lenient):
    """RequestCancelled / RequestExpired / HelperReleased: which request."""

    request_id = Id
    community_id = Id


class RequestPostedSchema(RequestRefSchema):
    requester_id = Id


class RequestAcceptedSchema(RequestRefSchema):
    requester_id = Id
    helper_id = Id


class HelpClaimedSchema(RequestRefSchema):
    helper_id = Id
    payer_id = OptionalId
    unit = fields.String(required=True)
    minutes = fields.Integer(strict=True, required=True)
    claim_id = Id
    source = fields.String(load_default="request")
    title = OptionalText


class RequestCompletedSchema(RequestRefSchema):
    transfer_id = Id


class MatchSuggestedSchema(_Lenient):
    request_id = Id
    community_id = Id
    member_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True)


class RedemptionEventSchema(_Lenient):
    redemption_id = Id
    community_id = Id
    merchant_id = Id
    member_id = Id
    points = fields.Integer(strict=True, required=True)
    bill_fen = fields.Integer(strict=True, load_default=None, allow_none=True)
    item_id = OptionalId
    pay_code = fields.String(load_default=None, allow_none=True)
    merchant_name = OptionalText
    item_name = OptionalText
    transfer_id = OptionalId


class PointsExpiringSchema(_Lenient):
    """The ledger's reminder that a member's points lapse on `expires_on` (in `days` days)."""

    community_id = Id
    member_id = Id
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    points = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    expires_on = fields.Date(required=True)
    days = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=3660))


class AppealDecidedSchema(_Lenient):
    """The ledger's AppealUpheld / AppealDismissed: whose appeal, of what, and what an upholding paid."""

    appeal_id = Id
    community_id = Id
    member_id = Id
    kind = fields.String(required=True, validate=validate.Length(min=1, max=32))
    unit = fields.String(required=True, validate=validate.OneOf(("HOUR", "PT")))
    disputed = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    amount = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1))
    transfer_id = OptionalId


class AppealFiledSchema(AppealDecidedSchema):
    """The ledger's AppealFiled: also the member's grid and who made the decision (never its reviewer)."""

    grid_id = OptionalId
    deciders = fields.List(fields.String(validate=validate.Length(min=1, max=128)), load_default=list,
                           validate=validate.Length(max=20))


class MemberSchema(_Lenient):
    """The community's MemberJoined / MemberUpdated / MemberDeactivated: roles, grid and status only."""

    community_id = Id
    member_id = Id
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=list,
                        validate=validate.Length(max=20))
    grid_id = OptionalId
    status = fields.String(load_default="active", validate=validate.Length(min=1, max=32))


class ChargeIssuedSchema(_Lenient):
    """A bill a shop or the property company addressed to one member, to pay in points."""

    charge_id = Id
    community_id = Id
    merchant_id = Id
    member_id = Id
    bill_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    memo = OptionalText
    merchant_name = OptionalText
