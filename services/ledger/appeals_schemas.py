"""Marshmallow schemas of appeals (积分异议申诉): the HTTP bodies and the `RequestDisputed` payload the ledger reads."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.economy.appeal import KINDS, MAX_AWARD_CLAIM, REASON_MAX, STATUSES
from services.ledger.model import MAX_AMOUNT
from services.ledger.schemas import Id, _Lenient

# Only the length is checked here: an empty or blank reason is the rules' own 422 `bad_reason`, said in words.
Reason = fields.String(required=True, validate=validate.Length(max=REASON_MAX))


class AppealCreateSchema(Schema):
    """Which of my decisions I dispute, why, and (for an award: required) how many points."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={
        "description": "award (its amount), cap_cut (a cap that cut an award), penalty, expiry (of my lots), claim "
                       "(a help claim marked disputed)"})
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "the transfer id (award, cap_cut, expiry, claim) or the penalty id"})
    reason = Reason
    points = fields.Integer(load_default=None, allow_none=True, strict=True,
                            validate=validate.Range(min=1, max=MAX_AWARD_CLAIM), metadata={
                                "description": "points disputed: required for an award (what is missing), else at "
                                               "most what the decision took (default: all of it)"})


class UpholdSchema(Schema):
    """The compensation: at most what is still disputed (default: all of it)."""

    amount = fields.Integer(load_default=None, allow_none=True, strict=True,
                            validate=validate.Range(min=1, max=MAX_AMOUNT))
    paid_by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("requester", "community")),
                            metadata={"description": "a disputed bill between residents only: who pays (default the "
                                                     "requester, as the bill would have; `community`: its issuance)"})


class DismissSchema(Schema):
    reason = Reason


class AppealArgsSchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AppealStepSchema(Schema):
    step = fields.String(metadata={"description": "filed, upheld or dismissed"})
    by = fields.String()
    at = fields.DateTime()
    points = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    transfer_id = fields.String(allow_none=True)


class AppealSchema(Schema):
    appeal_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    kind = fields.String()
    subject_id = fields.String()
    unit = fields.String()
    disputed = fields.Integer(metadata={"description": "points (minutes for an HOUR claim) disputed"})
    reason = fields.String()
    status = fields.String(metadata={"description": "open, upheld or dismissed"})
    filed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    amount = fields.Integer(allow_none=True, metadata={"description": "the compensation of an upheld appeal"})
    transfer_id = fields.String(allow_none=True, metadata={"description": "the compensating transfer"})
    decision_reason = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(AppealStepSchema))


class RequestDisputedSchema(_Lenient):
    """requests.events RequestDisputed: the claim's transfer was refused; its helper may appeal."""

    request_id = Id
    community_id = Id
    transfer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    claim_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    helper_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
