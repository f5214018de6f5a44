"""The shape of a rule set document at every edge that reads one (the community API, events, the simulator).

Types and sizes only (strict integers, known keys, short names); the numbers' meaning — no negative points,
caps in order, multipliers in range, thresholds rising — is the model's `check()`, which answers with a coded
422. Nested objects are complete after loading (their left-out fields take the SPEC defaults); top-level keys
left out are filled by `from_document` from the version the new one builds on."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.economy.rules import DEFAULT_DOCUMENT, DUTY_PERIODS, EXPIRY_MODES

NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="名称为小写字母、数字或下划线，最多 40 个字符。 "
                        "a name: lowercase letters, digits or _, up to 40.")


def points_by_name(**kw) -> fields.Dict:
    """`{name: whole points}`, up to 100 names."""
    return fields.Dict(keys=fields.String(validate=NAME), values=fields.Integer(strict=True),
                       validate=validate.Length(max=100), **kw)


def _int(key: str, name: str, **kw):
    return fields.Integer(strict=True, load_default=DEFAULT_DOCUMENT[key][name], **kw)


class StreakSchema(Schema):
    every = _int("streak", "every", metadata={"description": "每连续参与 N 次奖励一次 (0: off)"})
    points = _int("streak", "points")
    max_gap_days = _int("streak", "max_gap_days", metadata={"description": "a longer gap breaks the streak"})


class NewcomerSchema(Schema):
    activities = _int("newcomer", "activities", metadata={"description": "新人前 N 次活动 (0: off)"})
    multiplier_percent = _int("newcomer", "multiplier_percent", metadata={"description": "200 = ×2 (100-500)"})


class RatingSchema(Schema):
    five_star_bonus_percent = _int("rating", "five_star_bonus_percent")
    review_at_or_below = _int("rating", "review_at_or_below",
                              metadata={"description": "ratings at or below this many stars hold the award (0: never)"})


class CapsSchema(Schema):
    per_activity = fields.Integer(strict=True, allow_none=True, load_default=DEFAULT_DOCUMENT["caps"]["per_activity"])
    per_day = fields.Integer(strict=True, allow_none=True, load_default=DEFAULT_DOCUMENT["caps"]["per_day"])
    per_year = fields.Integer(strict=True, allow_none=True, load_default=DEFAULT_DOCUMENT["caps"]["per_year"])


class ExpirySchema(Schema):
    mode = fields.String(load_default=DEFAULT_DOCUMENT["expiry"]["mode"], validate=validate.OneOf(EXPIRY_MODES))
    months = _int("expiry", "months", metadata={"description": "rolling: lots expire N months after earning"})
    clearing_date = fields.String(load_default=DEFAULT_DOCUMENT["expiry"]["clearing_date"],
                                  validate=validate.Regexp(r"^\d\d-\d\d$"),
                                  metadata={"description": "annual: MM-DD of the yearly clearing (年度清零)"})
    reminder_days = fields.List(fields.Integer(strict=True), validate=validate.Length(max=5),
                                load_default=lambda: list(DEFAULT_DOCUMENT["expiry"]["reminder_days"]))


class HonourLevelSchema(Schema):
    threshold = fields.Integer(strict=True, required=True)
    title_zh = fields.String(required=True, validate=validate.Length(min=1, max=30))
    title_en = fields.String(required=True, validate=validate.Length(min=1, max=60))


class RepairSchema(Schema):
    window_days = _int("repair", "window_days", metadata={"description": "days after a penalty it can be repaired"})
    max_percent = _int("repair", "max_percent", metadata={"description": "share of a penalty a repair may restore"})


class ReportTypeSchema(Schema):
    points = fields.Integer(strict=True, required=True, metadata={"description": "随手拍 points when verified"})
    major_hazard_bonus = fields.Integer(strict=True, load_default=0,
                                        metadata={"description": "重大隐患 bonus the grid worker may confirm"})


class DutySchema(Schema):
    period = fields.String(required=True, validate=validate.OneOf(DUTY_PERIODS))
    points = fields.Integer(strict=True, required=True, metadata={"description": "points per period verified"})


class RuleSetSchema(Schema):
    """A community's points rules (积分规则): any top-level key left out keeps its current value."""

    activity_points = points_by_name(metadata={"description": "基础分 base points per activity type"})
    activity_bonuses = fields.Dict(keys=fields.String(validate=NAME), values=points_by_name(),
                                   validate=validate.Length(max=100),
                                   metadata={"description": "情形加分 {activity type: {bonus: points}}"})
    hourly_rate = fields.Integer(strict=True, metadata={"description": "points per hour of ordinary service"})
    class_multipliers = points_by_name(metadata={"description": "ordinary / professional / high_risk: 1-10"})
    first_participation_bonus = fields.Integer(strict=True)
    streak = fields.Nested(StreakSchema)
    newcomer = fields.Nested(NewcomerSchema)
    rating = fields.Nested(RatingSchema)
    caps = fields.Nested(CapsSchema)
    expiry = fields.Nested(ExpirySchema)
    honour_levels = fields.List(fields.Nested(HonourLevelSchema), validate=validate.Length(max=20))
    penalties = points_by_name(metadata={"description": "扣分项 {reason: points taken}"})
    repair = fields.Nested(RepairSchema)
    min_redemption_points = fields.Integer(strict=True)
    points_loan_limit = fields.Integer(strict=True)
    report_types = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(ReportTypeSchema),
                               validate=validate.Length(max=50),
                               metadata={"description": "随手拍 {report type: {points, major_hazard_bonus}}"})
    duties = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(DutySchema),
                         validate=validate.Length(max=50),
                         metadata={"description": "常态值守 {duty: {period: weekly|monthly, points}}"})
