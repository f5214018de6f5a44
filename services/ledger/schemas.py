"""Marshmallow schemas: the ledger's HTTP bodies and the payloads of the events it consumes."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import AwareDateTime, PageCursor

from services.ledger.model import DEFAULT_HOUR_CREDIT_LIMIT, MAX_AMOUNT, STATES, UNITS, WORKFLOWS
from shared.economy.rules import SERVICE_CLASSES

Id = fields.String(required=True, validate=validate.Length(min=1, max=64))
Unit = fields.String(required=True, validate=validate.OneOf(UNITS))
Amount = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
Reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


# -- HTTP requests -----------------------------------------------------------------------------------
class TransferCreateSchema(Schema):
    """bill (I am paid by counterparty_id), credit (I pay counterparty_id), award (my claim on the community)."""

    workflow = fields.String(required=True, validate=validate.OneOf(("bill", "credit", "award")))
    unit = Unit
    counterparty_id = fields.String(validate=validate.Length(min=1, max=64))
    counterparty_community = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The counterparty's community when it is a partner community (a cross-community "
                                 "transfer: `amount` is in the stating side's unit — the payer's for `credit`, the "
                                 "payee's for `bill` — converted through the open trust line; the answer's `cross` "
                                 "holds both amounts). Omitted, or my own community: a transfer inside it."})
    amount = Amount
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=140))
    minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 60))
    activity_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    service_class = fields.String(load_default="ordinary", validate=validate.OneOf(SERVICE_CLASSES))

    @validates_schema
    def _by_workflow(self, data, **_):
        if data["workflow"] == "award":
            if "amount" in data or "counterparty_id" in data or "counterparty_community" in data:
                raise ValidationError("奖励积分由社区规则计算、由社区支付：请填写时长 minutes（及 activity_type/service_class），"
                                      "不要填 amount 或 counterparty_id。 "
                                      "An award's points come from the community's rules and it is paid by the "
                                      "community: send minutes (and activity_type/service_class), not amount or "
                                      "counterparty_id.")
            if "minutes" not in data:
                raise ValidationError("缺少必填字段。 Missing data for required field.", "minutes")
        else:
            missing = [f for f in ("counterparty_id", "amount") if f not in data]
            if missing:
                raise ValidationError({f: ["缺少必填字段。 Missing data for required field."] for f in missing})


class ResolveSchema(Schema):
    reason = Reason


class CreditLimitSchema(Schema):
    credit_limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_AMOUNT))


class GiftPreferenceSchema(Schema):
    auto_accept_credits = fields.Boolean(required=True)


class PayCodeCreateSchema(Schema):
    max_points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    ttl_seconds = fields.Integer(strict=True, load_default=300, validate=validate.Range(min=30, max=900))


class EntriesArgsSchema(Schema):
    unit = fields.String(validate=validate.OneOf(UNITS))
    since = AwareDateTime(default_timezone=None)
    until = AwareDateTime(default_timezone=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = PageCursor()

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("since 须早于 until。 since must be before until", "until")


class StatementArgsSchema(EntriesArgsSchema):
    pass


class LimitArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AuditArgsSchema(Schema):
    max_problems = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))


# -- HTTP responses ---------------------------------------------------------------------------------
class ReferenceSchema(Schema):
    kind = fields.String()
    id = fields.String()


class CrossTermsSchema(Schema):
    """A cross-community transfer's terms, fixed when it was created."""

    trust_line_id = fields.String()
    agreement_id = fields.String()
    payer_community = fields.String()
    payee_community = fields.String()
    debit_amount = fields.Integer(metadata={"description": "taken from the payer, in the payer community's unit"})
    credit_amount = fields.Integer(metadata={"description": "given to the payee, in the payee community's unit"})
    payer_point_value_fen = fields.Integer(allow_none=True)
    payee_point_value_fen = fields.Integer(allow_none=True)
    rate_version = fields.Integer()
    measure = fields.Integer(metadata={"description": "minutes (HOUR) or fen (PT) counted against the trust line"})
    payer_clearing_account = fields.String()
    payee_clearing_account = fields.String()


class TransferSchema(Schema):
    transfer_id = fields.String()
    community_id = fields.String()
    workflow = fields.String(validate=validate.OneOf(WORKFLOWS))
    unit = fields.String()
    amount = fields.Integer()
    debit_account = fields.String()
    credit_account = fields.String()
    payer_id = fields.String(allow_none=True)
    payee_id = fields.String(allow_none=True)
    initiator_id = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    reason = fields.String(allow_none=True)
    reference = fields.Nested(ReferenceSchema, allow_none=True)
    memo = fields.String(allow_none=True)
    funds_reserved = fields.Boolean()
    created_at = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    cross = fields.Nested(CrossTermsSchema, allow_none=True)
    award = fields.Dict(metadata={"description": "the award's computation under the points rules: amount, status "
                                                 "(payable | held_for_review), rule_version, items (code, points, "
                                                 "figures), cuts (cap cuts), explanation (zh-CN, en)"})
    lots = fields.List(fields.Dict(), metadata={"description": "the point lots this transfer moved"})
    economy = fields.Dict(metadata={"description": "an expiry's, penalty's or repair's lines and explanation"})


class AccountSchema(Schema):
    account_id = fields.String()
    unit = fields.String()
    kind = fields.String()
    owner_id = fields.String()
    status = fields.String()
    posted = fields.Integer()
    pending_in = fields.Integer()
    pending_out = fields.Integer()
    credit_limit = fields.Integer(allow_none=True, metadata={"description": "null = unlimited"})
    available = fields.Integer(allow_none=True)


class EntrySchema(Schema):
    entry_id = fields.String()
    transfer_id = fields.String()
    account_id = fields.String()
    counter_account = fields.String()
    unit = fields.String()
    side = fields.String()
    amount = fields.Integer()
    delta = fields.Integer()
    balance_after = fields.Integer(allow_none=True)
    workflow = fields.String(allow_none=True)
    reference = fields.Nested(ReferenceSchema, allow_none=True)
    posted_at = fields.String()
    seq = fields.Integer()
    shard = fields.Integer()
    hash = fields.String()


class EntriesPageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema))
    next_cursor = fields.String(allow_none=True)


class StatementSchema(EntriesPageSchema):
    account = fields.Nested(AccountSchema)
    opening_balance = fields.Integer(allow_none=True)


class PayCodeSchema(Schema):
    code_id = fields.String()
    code = fields.String()
    max_points = fields.Integer()
    expires_at = fields.String()


class AuditSchema(Schema):
    ok = fields.Boolean()
    community_id = fields.String(allow_none=True)
    accounts = fields.Integer()
    chains = fields.Integer()
    entries = fields.Integer()
    transfers = fields.Dict()
    sums = fields.Dict()
    problems = fields.List(fields.String())
    checked_at = fields.String()


# -- consumed events (read leniently: unknown fields ignored) ---------------------------------------
class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class SettingsEventSchema(_Lenient):
    pending_ttl_days = fields.Integer(strict=True, load_default=14, validate=validate.Range(min=1, max=365))
    bill_auto_confirm = fields.Boolean(load_default=False)
    hour_credit_limit_minutes = fields.Integer(strict=True, load_default=DEFAULT_HOUR_CREDIT_LIMIT,
                                               validate=validate.Range(min=0, max=MAX_AMOUNT))
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))


class CommunityEventSchema(_Lenient):
    community_id = Id
    point_value_fen = fields.Integer(strict=True, load_default=None, allow_none=True)
    settings = fields.Nested(SettingsEventSchema, load_default=lambda: SettingsEventSchema().load({}))


class MemberEventSchema(_Lenient):
    community_id = Id
    member_id = Id
    status = fields.String(load_default="active")
    grid_id = fields.String(load_default=None, allow_none=True)  # whose grid worker may penalise them
    board_name = fields.String(load_default=None, allow_none=True,  # shown on the boards: only if they opted in
                               validate=validate.Length(max=50))


class MemberDeactivatedSchema(_Lenient):
    community_id = Id
    member_id = Id


class HelpClaimedSchema(_Lenient):
    request_id = Id
    community_id = Id
    helper_id = Id
    payer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    unit = Unit
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    activity_type = fields.String(load_default=None, allow_none=True)
    service_class = fields.String(load_default="ordinary", validate=validate.OneOf(SERVICE_CLASSES))
    source = fields.String(load_default="request", validate=validate.OneOf(("request", "activity")))
    claim_id = Id
    title = fields.String(load_default=None, allow_none=True)
    bonuses = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                          validate=validate.Length(max=20))  # situational bonuses the verifier confirmed
    rating = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=5))


class PointsRulesVersionedSchema(_Lenient):
    community_id = Id
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    revision = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1))
    effective_from = fields.String(required=True)
    rules = fields.Dict(required=True)


class MerchantEventSchema(_Lenient):
    merchant_id = Id
    community_id = Id
    status = fields.String(load_default="active")


class RedemptionRequestedSchema(_Lenient):
    redemption_id = Id
    community_id = Id
    merchant_id = Id
    member_id = Id
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    staff_id = fields.String(load_default=None, allow_none=True)
    pay_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    merchant_name = fields.String(load_default=None, allow_none=True)
    item_name = fields.String(load_default=None, allow_none=True)


class SettlementBatchPaidSchema(_Lenient):
    batch_id = Id
    community_id = Id
    merchant_id = Id
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_AMOUNT))


# exchange.events (the exchange service's trust lines, rates and clearings; services/exchange/README.md)
_LineId = fields.String(required=True, validate=validate.Length(min=1, max=160))
_Fen = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1, max=100_000))
_Balance = fields.Integer(strict=True, required=True, validate=validate.Range(min=-MAX_AMOUNT, max=MAX_AMOUNT))


class _TrustLineFacts(_Lenient):
    trust_line_id = _LineId
    agreement_id = Id
    unit = Unit
    community_a = Id
    community_b = Id


class TrustLineEventSchema(_TrustLineFacts):
    """TrustLineOpened / TrustLineChanged / TrustLineClosed."""

    net_limit = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    status = fields.String(required=True, validate=validate.OneOf(("open", "suspended", "closed")))


class RateChangedSchema(_TrustLineFacts):
    a_point_value_fen = _Fen
    b_point_value_fen = _Fen
    rate_version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class ClearingCompletedSchema(_TrustLineFacts):
    clearing_id = fields.String(required=True, validate=validate.Length(min=1, max=160))
    a_balance = _Balance
    b_balance = _Balance
    net = _Balance


# -- the points economy -------------------------------------------------------------------------------
class PenaltyCreateSchema(Schema):
    """A penalty: whom, for which of the rules' reasons (the rules set the points), and a note."""

    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=64))
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=140))


class RepairSchema(Schema):
    """积分修复: how many points of the penalty the member's community service restores."""

    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=140))


class PenaltySchema(Schema):
    penalty_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    reason = fields.String()
    amount = fields.Integer()
    taken = fields.Integer(metadata={"description": "points taken from the member's lots"})
    owed = fields.Integer(metadata={"description": "points the balance could not cover, owed (欠扣积分)"})
    issued_on = fields.String()
    issued_by = fields.String()
    rule_version = fields.Integer()
    memo = fields.String(allow_none=True)
    repaired = fields.Integer()
    repairs = fields.List(fields.Dict())
    transfer_id = fields.String(allow_none=True)
    items = fields.List(fields.Dict())
    explanation = fields.Dict()


class MemberPointsSchema(Schema):
    member_id = fields.String()
    community_id = fields.String()
    balance = fields.Integer()
    debt = fields.Integer()
    honour_points = fields.Integer()
    level = fields.Dict()
    participations = fields.Integer()
    rule_version = fields.Integer()
    expiring_within_30_days = fields.Integer()
    lots = fields.List(fields.Dict())
    penalties = fields.List(fields.Nested(PenaltySchema))
