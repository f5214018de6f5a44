"""Marshmallow schemas: HTTP bodies of the settlement API and payloads of the events it consumes."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import AwareDateTime, PageArgsSchema
from services.settlement.model import MERCHANT_KINDS, MERCHANT_STATUSES, REDEMPTION_STATES, SCHEDULES


def _not_empty(data):
    if not data:
        raise ValidationError("没有要修改的内容。 Nothing to change.")


# -- merchants ---------------------------------------------------------------------------------------
class MerchantFieldsSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String(validate=validate.OneOf(MERCHANT_KINDS))
    address = fields.String(validate=validate.Length(max=200))
    grid_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    staff = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=100))
    settlement_rate_fen_per_point = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    max_discount_share_bp = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    min_points = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000))
    schedule = fields.String(validate=validate.OneOf(SCHEDULES))
    status = fields.String(validate=validate.OneOf(MERCHANT_STATUSES))


class MerchantCreateSchema(MerchantFieldsSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class MerchantUpdateSchema(MerchantFieldsSchema):
    @validates_schema
    def _something(self, data, **_):
        _not_empty(data)


class MerchantSchema(Schema):
    merchant_id = fields.String()
    community_id = fields.String()
    name = fields.String()
    kind = fields.String()
    address = fields.String()
    grid_id = fields.String(allow_none=True)
    settlement_rate_fen_per_point = fields.Integer()
    max_discount_share_bp = fields.Integer()
    min_points = fields.Integer()
    schedule = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    last_period_end = fields.DateTime(allow_none=True)


class MerchantDetailSchema(MerchantSchema):
    """What admins and the merchant's own staff see (with the staff list)."""

    staff = fields.List(fields.String())


# -- catalogue -----------------------------------------------------------------------------------------
class ItemCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    price_points = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000))
    stock = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=1_000_000))
    active = fields.Boolean(load_default=True)


class ItemUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    price_points = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))
    stock = fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000))
    active = fields.Boolean()

    @validates_schema
    def _something(self, data, **_):
        _not_empty(data)


class ItemSchema(Schema):
    item_id = fields.String()
    merchant_id = fields.String()
    community_id = fields.String()
    name = fields.String()
    price_points = fields.Integer()
    stock = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    active = fields.Boolean()


class OrderSchema(Schema):
    pay_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=4, max=32))


# -- redemptions ---------------------------------------------------------------------------------------
class RedemptionCreateSchema(Schema):
    member_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64),
                              metadata={"description": "Who pays; may be left out when `pay_code` is given "
                                                       "(the code names its member)"})
    points = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000))
    bill_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000_000))
    pay_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=4, max=32))

    @validates_schema
    def _someone(self, data, **_):
        if not data.get("member_id") and not data.get("pay_code"):
            raise ValidationError("请提供居民的付款码（或请其在手机上确认时，提供其成员编号）。 "
                                  "Give the member's pay code (or, asking them to approve on their phone, "
                                  "their member id).", field_name="pay_code")


class RedemptionSchema(Schema):
    redemption_id = fields.String()
    community_id = fields.String()
    merchant_id = fields.String()
    member_id = fields.String()
    points = fields.Integer()
    bill_fen = fields.Integer()
    rate_fen_per_point = fields.Integer()
    value_fen = fields.Integer()
    staff_id = fields.String(allow_none=True)
    item_id = fields.String(allow_none=True)
    paid_with_code = fields.Method("_with_code")
    state = fields.String()
    transfer_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    batch_id = fields.String(allow_none=True)
    reversal_transfer_id = fields.String(allow_none=True)
    reversed_at = fields.DateTime(allow_none=True)
    removed_from_batch = fields.String(allow_none=True)
    charge_id = fields.String(allow_none=True)

    def _with_code(self, obj):
        return bool(obj.get("pay_code_sha256"))



# -- charges: a till's 收款码 and property-fee bills ---------------------------------------------------------
class ChargeCreateSchema(Schema):
    bill_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000_000))
    memo = fields.String(required=True, validate=validate.Length(min=1, max=60),
                         metadata={"description": "What it is for, shown to the payer (e.g. 2026年11月物业费)"})
    member_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64),
                              metadata={"description": "Address it to one member (a property-fee bill); "
                                                       "left out, anyone of the community who scans it may pay"})
    ttl_minutes = fields.Integer(strict=True, load_default=10, validate=validate.Range(min=1, max=60 * 24 * 62))


class ChargeSchema(Schema):
    charge_id = fields.String()
    community_id = fields.String()
    merchant_id = fields.String()
    merchant_name = fields.String()
    merchant_kind = fields.String()
    bill_fen = fields.Integer()
    memo = fields.String()
    member_id = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "open | paying | paid | expired (open, and its time ran out)"})
    redemption_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    rate_fen_per_point = fields.Integer(metadata={"description": "The merchant's settlement rate"})
    min_points = fields.Integer(metadata={"description": "The fewest points one payment may use"})
    max_points = fields.Integer(metadata={"description": "The most points this bill may take (the max share)"})


class ChargePaySchema(Schema):
    points = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000))


class RedemptionListArgsSchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(REDEMPTION_STATES))
    since = AwareDateTime(default_timezone=None)
    until = AwareDateTime(default_timezone=None)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page of items with its total."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item_schema)), "total": fields.Integer(),
                             "limit": fields.Integer(), "offset": fields.Integer()}, name=name)


RedemptionPageSchema = page_schema(RedemptionSchema, "RedemptionPage")
ChargePageSchema = page_schema(ChargeSchema, "ChargePage")


# -- batches and budget ---------------------------------------------------------------------------------
class BatchCreateSchema(Schema):
    close = fields.Boolean(load_default=False)


class PaySchema(Schema):
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))


class BatchSchema(Schema):
    batch_id = fields.String()
    community_id = fields.String()
    merchant_id = fields.String()
    state = fields.String()
    period_start = fields.DateTime(allow_none=True)
    period_end = fields.DateTime()
    points = fields.Integer()
    fen = fields.Integer()
    redemption_count = fields.Integer()
    chargeback_points = fields.Integer(metadata={"description": "paid redemptions reversed since, taken off"})
    chargeback_fen = fields.Integer()
    chargeback_count = fields.Integer()
    over_budget = fields.Boolean()
    budget_acknowledged = fields.Boolean()
    payable = fields.Method("_payable")
    payment_reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)

    def _payable(self, obj):
        return obj.get("state") == "closed" and (not obj.get("over_budget") or obj.get("budget_acknowledged"))


BatchPageSchema = page_schema(BatchSchema, "BatchPage")


class LineSchema(Schema):
    redemption_id = fields.String()
    transfer_id = fields.String(allow_none=True)
    member_id = fields.String()
    points = fields.Integer()
    rate_fen_per_point = fields.Integer()
    fen = fields.Integer()
    item_id = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class ChargebackSchema(Schema):
    redemption_id = fields.String()
    transfer_id = fields.String(metadata={"description": "the ledger's reversal"})
    original_transfer_id = fields.String(allow_none=True)
    original_batch_id = fields.String()
    member_id = fields.String()
    points = fields.Integer()
    rate_fen_per_point = fields.Integer()
    fen = fields.Integer()
    reversed_at = fields.DateTime(allow_none=True)


class StatementSchema(Schema):
    batch = fields.Nested(BatchSchema)
    merchant = fields.Nested(MerchantSchema)
    lines = fields.List(fields.Nested(LineSchema))
    chargebacks = fields.List(fields.Nested(ChargebackSchema))


# -- reconciliation and reports -------------------------------------------------------------------------
class _CountPointsSchema(Schema):
    transfers = fields.Integer()
    points = fields.Integer()


class _BatchTotalsSchema(Schema):
    lines = fields.Integer()
    points = fields.Integer()
    fen = fields.Integer()


class _AwaitingBatchSchema(_CountPointsSchema):
    items = fields.List(fields.Dict(), metadata={"description": "transfer_id, redemption_id, points"})


class ReconciliationSchema(Schema):
    """Posted redeem transfers (ledger) against settled batch lines for a period, with every difference."""

    merchant_id = fields.String()
    since = fields.String(metadata={"format": "date-time"})
    until = fields.String(metadata={"format": "date-time"})
    ledger = fields.Nested(_CountPointsSchema)
    batches = fields.Nested(_BatchTotalsSchema)
    awaiting_batch = fields.Nested(_AwaitingBatchSchema)
    difference_points = fields.Integer()
    differences = fields.List(fields.Dict(), metadata={"description": "kind, transfer_id, redemption_id, batch_id, "
                                                                      "ledger_points, batch_points"})
    balanced = fields.Boolean()


class _DaySchema(Schema):
    day = fields.String(metadata={"description": "YYYY-MM-DD in the community's time zone"})
    redemptions = fields.Integer()
    points = fields.Integer()
    fen = fields.Integer()


class _TotalsSchema(Schema):
    redemptions = fields.Integer()
    points = fields.Integer()
    fen = fields.Integer()


class _TopItemSchema(Schema):
    item_id = fields.String()
    name = fields.String(allow_none=True)
    redemptions = fields.Integer()
    points = fields.Integer()


class _PerMerchantSchema(Schema):
    merchant_id = fields.String()
    name = fields.String(allow_none=True)
    redemptions = fields.Integer()
    points = fields.Integer()
    fen = fields.Integer()


class _ReportSchema(Schema):
    timezone = fields.String()
    since = fields.String(metadata={"format": "date-time"})
    until = fields.String(metadata={"format": "date-time"})
    per_day = fields.List(fields.Nested(_DaySchema))
    totals = fields.Nested(_TotalsSchema)
    top_items = fields.List(fields.Nested(_TopItemSchema))
    requested_by_state = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                     metadata={"description": "redemptions requested in the period, per state"})


class MerchantReportSchema(_ReportSchema):
    merchant_id = fields.String()


class CommunityReportSchema(_ReportSchema):
    community_id = fields.String()
    per_merchant = fields.List(fields.Nested(_PerMerchantSchema))


class StatementArgsSchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "html")))


class TopUpSchema(Schema):
    amount_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000_000))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))


class BudgetSchema(Schema):
    community_id = fields.String()
    topped_up_fen = fields.Integer()
    committed_fen = fields.Integer()
    remaining_fen = fields.Integer()
    top_ups = fields.List(fields.Dict())


class PeriodArgsSchema(Schema):
    since = AwareDateTime(required=True, default_timezone=None)
    until = AwareDateTime(required=True, default_timezone=None)

    @validates_schema
    def _ordered(self, data, **_):
        if data["since"] >= data["until"]:
            raise ValidationError("since 须早于 until。 since must be before until.", "until")


# -- consumed events (read leniently: unknown fields ignored) --------------------------------------------
class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class CommunityEventSchema(_Lenient):
    community_id = fields.String(required=True)
    point_value_fen = fields.Integer(allow_none=True, load_default=None)
    settings = fields.Dict(load_default=dict)


class MemberEventSchema(_Lenient):
    community_id = fields.String(required=True)
    member_id = fields.String(required=True)
    status = fields.String(load_default="active", allow_none=True)
    merchant_id = fields.String(allow_none=True, load_default=None)
    roles = fields.List(fields.String(), load_default=list)


class MemberDeactivatedSchema(_Lenient):
    community_id = fields.String(required=True)
    member_id = fields.String(required=True)


class ReferenceSchema(_Lenient):
    kind = fields.String(required=True)
    id = fields.String(required=True)


class ReversesSchema(_Lenient):
    """What a reversal compensates (ledger TransferPosted of a `reversal`)."""

    transfer_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    workflow = fields.String(allow_none=True, load_default=None)
    reference = fields.Nested(ReferenceSchema, allow_none=True, load_default=None)


class TransferEventSchema(_Lenient):
    transfer_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    community_id = fields.String(required=True)
    workflow = fields.String(allow_none=True, load_default=None)
    unit = fields.String(required=True)
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    debit_account = fields.String(allow_none=True, load_default=None)
    credit_account = fields.String(allow_none=True, load_default=None)
    payer_id = fields.String(allow_none=True, load_default=None)
    payee_id = fields.String(allow_none=True, load_default=None)
    state = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)
    reference = fields.Nested(ReferenceSchema, allow_none=True, load_default=None)
    occurred_at = fields.String(allow_none=True, load_default=None)
    reverses = fields.Nested(ReversesSchema, allow_none=True, load_default=None)


class AccountOpenedSchema(_Lenient):
    account_id = fields.String(required=True)
    community_id = fields.String(required=True)
    owner_kind = fields.String(required=True)
    owner_id = fields.String(required=True)
    unit = fields.String(required=True)
    credit_limit = fields.Integer(load_default=0, allow_none=True)


class PayCodeIssuedSchema(_Lenient):
    code_id = fields.String(required=True)
    community_id = fields.String(required=True)
    member_id = fields.String(required=True)
    code_sha256 = fields.String(required=True, validate=validate.Length(equal=64))
    max_points = fields.Integer(allow_none=True, load_default=None)
    expires_at = fields.String(required=True)


class PayCodeUsedSchema(_Lenient):
    code_id = fields.String(required=True)
    community_id = fields.String(required=True)
    member_id = fields.String(allow_none=True, load_default=None)
    transfer_id = fields.String(allow_none=True, load_default=None)
