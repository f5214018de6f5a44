"""Schemas of consumed event payloads (read leniently: unknown fields ignored) and of the HTTP API."""
from __future__ import annotations

from datetime import timezone

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.schemas import AwareDateTime

Id = fields.String(required=True, validate=validate.Length(min=1, max=64))
OptionalId = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))
When = AwareDateTime(required=True, default_timezone=timezone.utc)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


# -- community.events ---------------------------------------------------------------------------------
class CommunityEventSchema(_Lenient):
    community_id = Id
    settings = fields.Dict(load_default=dict)


class GridCreatedSchema(_Lenient):
    community_id = Id
    grid_id = Id
    neighbours = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)


class MemberEventSchema(_Lenient):
    community_id = Id
    member_id = Id
    grid_id = OptionalId
    roles = fields.List(fields.String(), load_default=list)
    skills = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)
    availability = fields.List(fields.Dict(), load_default=list)
    vulnerable = fields.Boolean(load_default=False)
    status = fields.String(load_default="active", validate=validate.OneOf(("active", "inactive")))
    joined_at = fields.String(allow_none=True, load_default=None)


class MemberRefSchema(_Lenient):
    community_id = Id
    member_id = Id


# -- requests.events ----------------------------------------------------------------------------------
class RequestPostedSchema(_Lenient):
    request_id = Id
    community_id = Id
    requester_id = Id
    kind = fields.String(load_default="request")
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    unit = fields.String(load_default="HOUR")
    estimated_minutes = fields.Integer(load_default=60, validate=validate.Range(min=0))
    window_start = When
    window_end = When
    grid_id = OptionalId
    urgency = fields.String(load_default="normal", validate=validate.OneOf(("low", "normal", "high")))
    activity_type = fields.String(allow_none=True, load_default=None)


class OfferPostedSchema(_Lenient):
    offer_id = Id
    community_id = Id
    member_id = Id
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    grid_id = OptionalId
    window_start = When
    window_end = When


class OfferWithdrawnSchema(_Lenient):
    offer_id = Id
    community_id = Id
    member_id = Id


class RequestRefSchema(_Lenient):
    request_id = Id
    community_id = Id


class HelperEventSchema(RequestRefSchema):
    helper_id = Id


class HelpClaimedSchema(HelperEventSchema):
    source = fields.String(load_default="request")


class HelpRatedSchema(HelperEventSchema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))


# -- ledger.events ------------------------------------------------------------------------------------
class TransferPostedSchema(_Lenient):
    transfer_id = Id
    community_id = Id
    workflow = fields.String(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(("HOUR", "PT")))
    amount = fields.Integer(required=True, strict=True)
    payee_id = OptionalId
    occurred_at = AwareDateTime(allow_none=True, load_default=None, default_timezone=timezone.utc)
    # a cross-community transfer (the ledger's terms): the payee is in `payee_community`, paid `credit_amount`
    cross = fields.Dict(load_default=None, allow_none=True)


# -- HTTP -------------------------------------------------------------------------------------------
class LimitArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))


class ComponentsSchema(Schema):
    skill = fields.Float()
    proximity = fields.Float()
    availability = fields.Float()
    reliability = fields.Float()
    fairness = fields.Float()


class SuggestionSchema(Schema):
    member_id = fields.String()
    score = fields.Float()
    components = fields.Nested(ComponentsSchema)
    weights = fields.Nested(ComponentsSchema)
    reasons = fields.List(fields.String())


class RequestSuggestionsSchema(Schema):
    request_id = fields.String()
    community_id = fields.String()
    state = fields.String()
    category = fields.String()
    grid_id = fields.String(allow_none=True)
    urgency = fields.String()
    vulnerable_requester = fields.Boolean()
    priority = fields.Float()
    candidates_considered = fields.Integer()
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    generated_at = fields.DateTime()


class SuggestedRequestSchema(Schema):
    request_id = fields.String()
    category = fields.String()
    unit = fields.String(allow_none=True)
    grid_id = fields.String(allow_none=True)
    urgency = fields.String()
    window_start = fields.String()
    window_end = fields.String()
    estimated_minutes = fields.Integer()
    vulnerable_requester = fields.Boolean()
    priority = fields.Float()
    score = fields.Float()
    rank_score = fields.Float()
    components = fields.Nested(ComponentsSchema)
    weights = fields.Nested(ComponentsSchema)
    reasons = fields.List(fields.String())


class MemberSuggestionsSchema(Schema):
    member_id = fields.String()
    community_id = fields.String()
    open_commitments = fields.Integer()
    commitment_limit = fields.Integer()
    at_commitment_limit = fields.Boolean()
    items = fields.List(fields.Nested(SuggestedRequestSchema))
    generated_at = fields.DateTime()
