"""HTTP bodies of the economy statistics, the leaderboards and the public honour board (`boards_api`)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MONTH = validate.Regexp(r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$", error="请用 YYYY-MM 格式（1970 年起的月份）。 "
                                                                             "Use YYYY-MM (a month from 1970 on).")
YEAR_OR_MONTH = validate.Regexp(r"^(19[7-9]\d|2\d{3})(-(0[1-9]|1[0-2]))?$", error="请用 YYYY-MM 或 YYYY 格式。 "
                                                                                        "Use YYYY-MM or YYYY.")
GRID = validate.Length(min=1, max=64)
MAX_MONTHS = 60


class StatsArgsSchema(Schema):
    from_ = fields.String(required=True, data_key="from", validate=MONTH)
    to = fields.String(required=True, validate=MONTH)
    grid_id = fields.String(validate=GRID)

    @validates_schema
    def _in_order(self, data, **_):
        if "from_" in data and "to" in data:
            first, last = data["from_"], data["to"]
            if first > last:
                raise ValidationError("from 不能晚于 to。 `from` must not be after `to`.", "from")
            months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
            if months > MAX_MONTHS:
                raise ValidationError(f"最多 {MAX_MONTHS} 个月。 At most {MAX_MONTHS} months.", "to")


class BoardArgsSchema(Schema):
    period = fields.String(required=True, validate=validate.OneOf(("month", "year")))
    at = fields.String(required=True, validate=YEAR_OR_MONTH,
                       metadata={"description": "YYYY-MM (a month board) or YYYY / YYYY-MM (the year's)"})
    grid_id = fields.String(validate=GRID)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _month_given(self, data, **_):
        if data.get("period") == "month" and len(data.get("at", "YYYY-MM")) != 7:
            raise ValidationError("月榜需要 YYYY-MM。 A month board needs `at` as YYYY-MM.", "at")


class MonthRowSchema(Schema):
    month = fields.String()
    issued = fields.Integer()
    redeemed = fields.Integer()
    expired = fields.Integer()
    penalised = fields.Integer()
    outstanding = fields.Integer()
    participants = fields.Integer()
    members = fields.Integer()


class GridRowSchema(Schema):
    grid_id = fields.String(allow_none=True)
    month = fields.String()
    issued = fields.Integer()
    redeemed = fields.Integer()
    expired = fields.Integer()
    penalised = fields.Integer()
    participants = fields.Integer()
    members = fields.Integer()


class ConcentrationSchema(Schema):
    holders = fields.Integer()
    top10_share = fields.String(allow_none=True, metadata={"description": "0.0000-1.0000, half-even"})
    gini = fields.String(allow_none=True, metadata={"description": "0.0000-1.0000, half-even"})


class ExpiringSchema(Schema):
    next_30_days = fields.Integer()
    next_90_days = fields.Integer()


class StatsSchema(Schema):
    community_id = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    grid_id = fields.String(allow_none=True)
    months = fields.List(fields.Nested(MonthRowSchema))
    grids = fields.List(fields.Nested(GridRowSchema))
    concentration = fields.Nested(ConcentrationSchema)
    expiring = fields.Nested(ExpiringSchema)


class NameSchema(Schema):
    zh_CN = fields.String(data_key="zh-CN", attribute="zh-CN")
    en = fields.String()


class PublicRowSchema(Schema):
    """A row of the public honour board: no member id, a pseudonym unless the member chose to show a name."""

    rank = fields.Integer()
    points = fields.Integer()
    name = fields.Nested(NameSchema, metadata={"description": "the member's chosen name if they opted in, else "
                                                               "a stable pseudonym"})
    named = fields.Boolean()
    level = fields.Integer()
    title_zh = fields.String(allow_none=True)
    title_en = fields.String(allow_none=True)


class BoardRowSchema(PublicRowSchema):
    is_me = fields.Boolean()


class MyRankSchema(Schema):
    rank = fields.Integer(allow_none=True)
    points = fields.Integer()


class BoardSchema(Schema):
    community_id = fields.String()
    period = fields.String()
    at = fields.String()
    grid_id = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(BoardRowSchema))
    me = fields.Nested(MyRankSchema)


class TitleCountSchema(Schema):
    level = fields.Integer()
    title_zh = fields.String()
    title_en = fields.String()
    count = fields.Integer()


class HonourBoardSchema(Schema):
    community_id = fields.String()
    month = fields.String()
    updated_at = fields.String()
    leaderboard = fields.List(fields.Nested(PublicRowSchema))
    titles = fields.List(fields.Nested(TitleCountSchema))
    redeemed = fields.Integer()
    issued = fields.Integer()
    participants = fields.Integer()
