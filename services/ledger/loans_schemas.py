"""Marshmallow schemas of points loans (积分借用): the lending body, a loan with its repayments, the list's query."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

# Why an amount is what it is, in both languages: {"zh-CN": [lines], "en": [lines]} (shared.economy.words).
Explanation = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class LendSchema(Schema):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    repay_percent = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=1, max=100),
                                   metadata={"description": "share of every later award that repays the loan"})
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=140))


class RepaymentSchema(Schema):
    transfer_id = fields.String()
    award_transfer_id = fields.String()
    award = fields.Integer()
    points = fields.Integer()
    outstanding = fields.Integer()
    at = fields.DateTime()
    explanation = Explanation


class LoanSchema(Schema):
    loan_id = fields.String()
    community_id = fields.String()
    member_id = fields.String()
    principal = fields.Integer()
    repay_percent = fields.Integer()
    repaid = fields.Integer()
    outstanding = fields.Integer()
    status = fields.String(metadata={"description": "active or repaid"})
    lent_at = fields.DateTime()
    lent_by = fields.String()
    memo = fields.String(allow_none=True)
    rule_version = fields.Integer()
    transfer_id = fields.String()
    repayments = fields.List(fields.Nested(RepaymentSchema))
    explanation = Explanation


class LoanListArgsSchema(Schema):
    member_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
