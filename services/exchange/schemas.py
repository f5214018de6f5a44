"""Schemas of the exchange service: consumed event payloads and HTTP responses."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

Unit = fields.String(required=True, validate=validate.OneOf(("HOUR", "PT")))
Id = fields.String(required=True, validate=validate.Length(min=1, max=120))
Amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12))
Fen = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1, max=100_000))


# -- consumed events ----------------------------------------------------------------------------------
class CommunityEventSchema(Schema):
    community_id = Id
    code = fields.String(load_default=None)
    name = fields.String(load_default=None)
    point_value_fen = Fen


class AgreementTermSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # lenient reader: the producer may add fields

    unit = Unit
    net_limit = Amount


class AgreementEventSchema(Schema):
    agreement_id = Id
    community_id = Id
    proposer_id = Id
    partner_id = Id
    units = fields.List(fields.Nested(AgreementTermSchema), required=True, validate=validate.Length(min=1, max=2))
    clearing_period = fields.String(load_default="monthly", validate=validate.OneOf(("daily", "weekly", "monthly")))
    state = fields.String(required=True)


class CrossTransferPostedSchema(Schema):
    """The ledger's CrossTransferPosted (see the README for the whole contract)."""

    transfer_id = Id
    trust_line_id = Id
    unit = Unit
    payer_community = Id
    payee_community = Id
    debit_amount = Amount
    credit_amount = Amount
    payer_point_value_fen = Fen
    payee_point_value_fen = Fen
    workflow = fields.String(load_default=None)
    posted_at = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _points_need_values(self, data, **_):
        if data["unit"] == "PT" and not (data.get("payer_point_value_fen") and data.get("payee_point_value_fen")):
            raise ValidationError("积分（PT）转账须同时带上双方的积分面值。 "
                                  "PT transfers carry both point values.", "payee_point_value_fen")
        if data["unit"] == "HOUR" and data["debit_amount"] != data["credit_amount"]:
            raise ValidationError("工时（HOUR）按 1:1 兑换。 HOUR is 1:1.", "credit_amount")


# -- HTTP ---------------------------------------------------------------------------------------------
class CommunityRefSchema(Schema):
    community_id = fields.String()
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    point_value_fen = fields.Integer(allow_none=True)


class PositionSchema(Schema):
    a_balance = fields.Integer(metadata={"description": "community a's clearing balance, in a's unit"})
    b_balance = fields.Integer(metadata={"description": "community b's clearing balance, in b's unit"})
    net = fields.Integer(metadata={"description": "signed measure: > 0 when a owes b"})
    transfers = fields.Integer()
    since = fields.DateTime(allow_none=True)


class TrustLineSchema(Schema):
    trust_line_id = fields.String()
    agreement_id = fields.String()
    unit = fields.String()
    community_a = fields.Nested(CommunityRefSchema)
    community_b = fields.Nested(CommunityRefSchema)
    net_limit = fields.Integer()
    measure = fields.String(metadata={"description": "minutes (HOUR) or fen (PT)"})
    status = fields.String()
    clearing_period = fields.String()
    rate = fields.Dict(metadata={"description": "basis, both point values and the rate version"})
    position = fields.Nested(PositionSchema)
    headroom = fields.Integer(metadata={"description": "net limit − |net|"})
    opened_at = fields.DateTime()
    last_cleared_at = fields.DateTime(allow_none=True)
    next_clearing_at = fields.DateTime(allow_none=True)


# What only admins see of a trust line (residents see partner, unit, status and rate).
ADMIN_ONLY_LINE_FIELDS = ("position", "headroom", "net_limit", "last_cleared_at", "next_clearing_at")


class QuoteArgsSchema(Schema):
    payer_community = fields.String(required=True, validate=validate.Length(min=1, max=120))
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=10**12))  # a query string
    stated_by = fields.String(load_default="payer", validate=validate.OneOf(("payer", "payee")))


class QuoteSchema(Schema):
    unit = fields.String()
    payer_community = fields.String()
    payee_community = fields.String()
    debit_amount = fields.Integer()
    credit_amount = fields.Integer()
    payer_point_value_fen = fields.Integer(allow_none=True)
    payee_point_value_fen = fields.Integer(allow_none=True)
    measure = fields.Integer()
    headroom = fields.Integer()
    within_limit = fields.Boolean()


class ClearingSchema(Schema):
    clearing_id = fields.String()
    trust_line_id = fields.String()
    agreement_id = fields.String()
    unit = fields.String()
    community_a = fields.String()
    community_b = fields.String()
    a_balance = fields.Integer()
    b_balance = fields.Integer()
    net = fields.Integer()
    measure = fields.String()
    debtor_id = fields.String(allow_none=True)
    creditor_id = fields.String(allow_none=True)
    amount_due = fields.Integer()
    transfers = fields.Integer()
    a_point_value_fen = fields.Integer(allow_none=True)
    b_point_value_fen = fields.Integer(allow_none=True)
    period_start = fields.DateTime(allow_none=True)
    period_end = fields.DateTime()
    cleared_at = fields.DateTime()
    triggered_by = fields.String()


class TrustLineListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(("open", "suspended", "closed")))


class ClearingListArgsSchema(Schema):
    trust_line_id = fields.String(validate=validate.Length(min=1, max=120))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


# -- federation ---------------------------------------------------------------------------------------
class GraftSchema(Schema):
    unit = Unit
    peer_node_path = fields.String(required=True, validate=validate.Length(min=1, max=300),
                                   metadata={"description": "the trunkward node's path, e.g. trunk"})
    our_node_path = fields.String(required=True, validate=validate.Length(min=1, max=300),
                                  metadata={"description": "our path below it, e.g. trunk/lianhua"})
    url = fields.String(required=True, validate=validate.Length(min=1, max=500),
                        metadata={"description": "the trunkward node's base URL for this unit"})
    rate = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "trunkward quantity = local quantity × rate, e.g. \"1\""})
    last_hash = fields.String(required=True, validate=validate.Length(min=1, max=128),
                              metadata={"description": "the initial hash both operators agreed on"})
    relation = fields.String(load_default="trunkward", validate=validate.OneOf(("trunkward", "leafward")),
                             metadata={"description": "trunkward: we graft onto the peer; leafward: the peer grafts "
                                                      "onto us (its path is ours plus its name)"})
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=16, max=256),
                           metadata={"description": "the node secret both operators set (signs every request)"})
    net_limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**12),
                               metadata={"description": "the most the net position with the peer may reach, either "
                                                        "way, in this deployment's unit (minutes or points)"})


class NodeSchema(Schema):
    unit = fields.String()
    peer_node_path = fields.String()
    our_node_path = fields.String()
    url = fields.String()
    rate = fields.String()
    last_hash = fields.String()
    grafted_at = fields.DateTime()
    relation = fields.String()
    net_limit = fields.Integer()
    net = fields.Integer(metadata={"description": "> 0: our members paid the peer's more than they received"})
    pending_out = fields.Integer()
    pending_in = fields.Integer()


class CcWelcomeSchema(Schema):
    message = fields.String()


class CcErrorSchema(Schema):
    """A refusal on the /cc routes, in the Credit Commons dialect its peers parse (Komunitin's `errors` list),
    carrying the problem fields too."""

    errors = fields.List(fields.String(), required=True,
                         metadata={"description": "what went wrong, as the protocol's peers read it"})
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)


# -- transfers between deployments ------------------------------------------------------------------------
class CcTransferArgsSchema(Schema):
    unit = Unit
    payee = fields.String(required=True, validate=validate.Length(min=3, max=300),
                          metadata={"description": "the payee's address: <node path>/<community code>/<handle>"})
    amount = Amount
    memo = fields.String(load_default=None, validate=validate.Length(max=140))


class CcTransferSchema(Schema):
    uuid = fields.String()
    direction = fields.String(metadata={"description": "out: paid by our resident; in: received"})
    unit = fields.String()
    state = fields.String(metadata={"description": "new, validated, held, pending, completed, refused, refusing, "
                                                   "erased or timedout"})
    amount = fields.Integer(metadata={"description": "the local amount (minutes or points)"})
    quant = fields.Raw(metadata={"description": "the quantity on the wire"})
    payer = fields.String()
    payee = fields.String()
    description = fields.String()
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime(allow_none=True)


class CcAddressSchema(Schema):
    unit = fields.String(metadata={"description": "HOUR or PT: the grafted unit this address receives"})
    address = fields.String(metadata={"description": "my Credit Commons address for this unit: "
                                                     "<node path>/<community code>/<handle>, what another "
                                                     "deployment's resident types to pay me"})
    node_path = fields.String(metadata={"description": "this deployment's node path for the unit"})
    community_code = fields.String(metadata={"description": "my community's code"})
    handle = fields.String(metadata={"description": "my public handle (never a phone number)"})


class CcTransactionSchema(Schema):
    uuid = fields.String()
    state = fields.String()
    workflow = fields.String()
    version = fields.Integer()
    entries = fields.List(fields.Dict())


class CcTransactionAnswerSchema(Schema):
    data = fields.Raw()
    meta = fields.Dict()


class MemberEventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = Id
    member_id = Id
    handle = fields.String(load_default=None)
    status = fields.String(load_default="active")


class LedgerTransferEventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    transfer_id = Id
    state = fields.String(required=True)
    reason = fields.String(allow_none=True, load_default=None)
    reference = fields.Dict(allow_none=True, load_default=None)
