"""A community's points rules (SPEC §5) as one versioned value: what every award, bonus, cap, expiry, penalty
and repair is computed under. Pure: no I/O.

The community service owns the rule sets (admins publish versions with an effective date); the ledger applies
them (awards, lots, penalties); a simulator replays candidate ones. All three read this one model.

Numbers are whole points; multipliers and percentages are whole percents (`multiplier_percent: 200` is ×2) so a
rule set is plain JSON without floats. `check()` refuses an inconsistent rule set with a coded 422 problem."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from shared.errors import Unprocessable

SERVICE_CLASSES = ("ordinary", "professional", "high_risk")
EXPIRY_MODES = ("rolling", "annual", "never")
DUTY_PERIODS = ("weekly", "monthly")
MAX_POINTS = 1_000_000          # no single rule figure may exceed this
MAX_MULTIPLIER_PERCENT = 500    # a newcomer boost of at most ×5
MAX_CLASS_MULTIPLIER = 10

# SPEC §5 defaults and the seeds' figures (社区志愿服务激励办法, 志愿者积分制, 网格积分制).
DEFAULT_DOCUMENT = MappingProxyType({
    "activity_points": {"environment_cleanup": 20, "mediation": 50, "elder_care": 30, "safety_patrol": 50,
                        "hazard_report": 20, "hygiene_photo_report": 5},
    "activity_bonuses": {"environment_cleanup": {"bad_weather": 10}, "mediation": {"complex_case": 50},
                         "elder_care": {"three_consecutive_months": 20}, "safety_patrol": {"major_hazard": 30}},
    "hourly_rate": 10,
    "class_multipliers": {"ordinary": 1, "professional": 2, "high_risk": 3},
    "first_participation_bonus": 5,
    "streak": {"every": 10, "points": 10, "max_gap_days": 31},
    "newcomer": {"activities": 3, "multiplier_percent": 200},
    "rating": {"five_star_bonus_percent": 10, "review_at_or_below": 2},
    "caps": {"per_activity": None, "per_day": None, "per_year": 1000},
    "expiry": {"mode": "rolling", "months": 12, "clearing_date": "01-01", "reminder_days": [30, 7]},
    # 星级志愿者: the thresholds of the national volunteer star rating (100/300/600/1000/1500), here in points.
    "honour_levels": [
        {"threshold": 100, "title_zh": "一星志愿者", "title_en": "One-star volunteer"},
        {"threshold": 300, "title_zh": "二星志愿者", "title_en": "Two-star volunteer"},
        {"threshold": 600, "title_zh": "三星志愿者", "title_en": "Three-star volunteer"},
        {"threshold": 1000, "title_zh": "四星志愿者", "title_en": "Four-star volunteer"},
        {"threshold": 1500, "title_zh": "五星志愿者", "title_en": "Five-star volunteer"},
    ],
    "penalties": {"noise": 10, "littering": 10},
    "repair": {"window_days": 180, "max_percent": 100},
    "min_redemption_points": 50,
    "points_loan_limit": 0,
    # 随手拍 (grid reports): what a verified report earns, and the bonus when the grid worker confirms a major hazard.
    "report_types": {"hazard_report": {"points": 20, "major_hazard_bonus": 30},
                     "hygiene_photo_report": {"points": 5, "major_hazard_bonus": 0}},
    # Standing duties (网格积分制): 门前三包 monthly, 垃圾分类监督 weekly; points per period verified.
    "duties": {"doorstep_duty": {"period": "monthly", "points": 20},
               "waste_sorting_watch": {"period": "weekly", "points": 5}},
})
TOP_LEVEL_KEYS = tuple(DEFAULT_DOCUMENT)
OBJECT_KEYS = ("streak", "newcomer", "rating", "caps", "expiry", "repair")  # fixed fields, each with a default
ADDED_KEYS = ("report_types", "duties")  # keys added after rule sets were first stored: an old one gets the defaults


def default_document() -> dict:
    """A fresh, mutable copy of the SPEC defaults."""
    return copy.deepcopy(dict(DEFAULT_DOCUMENT))


def _bad(zh: str, en: str, *, code: str, **extra) -> Unprocessable:
    return Unprocessable(f"{zh} {en}", code=code, **extra)


def _points(value, where: str, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"{where} 须为整数。", f"{where} must be a whole number.", field=where,
                   code="rules_not_whole_points")
    if value < minimum:
        raise _bad(f"{where} 不能小于 {minimum}。", f"{where} must not be below {minimum}.",
                   field=where, code="rules_negative_points")
    if value > MAX_POINTS:
        raise _bad(f"{where} 不能超过 {MAX_POINTS}。",
                   f"{where} must not exceed {MAX_POINTS}.", field=where, code="rules_points_too_large")


def _range(value, low: int, high: int, where: str, *, code: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{where} 须在 {low} 到 {high} 之间。", f"{where} must lie between {low} and {high}.",
                   field=where, code=code)


def clearing_day(text: str) -> tuple[int, int]:
    """`MM-DD` of an annual clearing as (month, day); any day of a leap year (02-29 clears on 02-28 otherwise)."""
    try:
        month, day = (int(p) for p in text.split("-"))
        date(2024, month, day)
    except (ValueError, AttributeError):
        raise _bad(f"清零日期 {text!r} 应为 MM-DD。", f"The clearing date {text!r} must be MM-DD.",
                   field="expiry.clearing_date", code="rules_bad_expiry") from None
    return month, day


@dataclass(frozen=True)
class RuleSet:
    """One version of a community's rules (a full document; `check()` has passed)."""

    document: dict = field(default_factory=default_document)
    version: int = 0
    effective_from: datetime | None = None

    def __post_init__(self):
        missing = {k: copy.deepcopy(DEFAULT_DOCUMENT[k]) for k in ADDED_KEYS if k not in self.document}
        if missing:  # a version stored before these rules existed
            object.__setattr__(self, "document", {**self.document, **missing})
        check(self.document)

    def __getitem__(self, key):
        return self.document[key]

    # Shortcuts the computations read.
    @property
    def caps(self) -> dict:
        return self.document["caps"]

    def base_points(self, activity_type: str | None) -> int | None:
        """The fixed points of an activity type, or None when it is paid by the hour."""
        return self.document["activity_points"].get(activity_type) if activity_type else None

    def bonus(self, activity_type: str | None, code: str) -> int | None:
        return (self.document["activity_bonuses"].get(activity_type or "") or {}).get(code)

    def class_multiplier(self, service_class: str) -> int | None:
        return self.document["class_multipliers"].get(service_class)

    def report_type(self, name: str | None) -> dict | None:
        """A grid report type's `{points, major_hazard_bonus}`, or None."""
        return self.document["report_types"].get(name or "")

    def duty(self, name: str | None) -> dict | None:
        """A standing duty's `{period, points}`, or None."""
        return self.document["duties"].get(name or "")


def from_document(document: dict, version: int = 0, effective_from: datetime | None = None,
                  base: dict | None = None) -> RuleSet:
    """A rule set from a (possibly partial) document: top-level keys left out keep `base`'s value (the SPEC
    defaults unless given); a key given replaces that key's value whole."""
    merged = {**(copy.deepcopy(base) if base is not None else default_document()), **copy.deepcopy(document)}
    for key in OBJECT_KEYS:  # an object's left-out fields take their defaults (as the schema fills them)
        if isinstance(merged.get(key), dict):
            merged[key] = {**DEFAULT_DOCUMENT[key], **merged[key]}
    unknown = sorted(set(merged) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise _bad(f"未知的规则项：{', '.join(unknown)}。", f"Unknown rules: {', '.join(unknown)}.",
                   code="rules_unknown_field")
    return RuleSet(merged, version, effective_from)


def check(doc: dict) -> None:
    """Refuse an inconsistent rule set with a coded 422 (the first problem found)."""
    for activity, points in doc["activity_points"].items():
        _points(points, f"activity_points.{activity}")
    for activity, bonuses in doc["activity_bonuses"].items():
        for code, points in bonuses.items():
            _points(points, f"activity_bonuses.{activity}.{code}")
    _points(doc["hourly_rate"], "hourly_rate")
    classes = doc["class_multipliers"]
    unknown = sorted(set(classes) - set(SERVICE_CLASSES))
    if unknown or "ordinary" not in classes:
        raise _bad("服务类别只能是 ordinary / professional / high_risk，且须含 ordinary。",
                   "Service classes are ordinary / professional / high_risk, and ordinary must be set.",
                   field="class_multipliers", code="rules_unknown_service_class")
    for name, multiplier in classes.items():
        _range(multiplier, 1, MAX_CLASS_MULTIPLIER, f"class_multipliers.{name}", code="rules_multiplier_out_of_range")
    _points(doc["first_participation_bonus"], "first_participation_bonus")
    streak = doc["streak"]
    _range(streak["every"], 0, 1000, "streak.every", code="rules_bad_streak")
    _points(streak["points"], "streak.points")
    _range(streak["max_gap_days"], 1, 366, "streak.max_gap_days", code="rules_bad_streak")
    _range(doc["newcomer"]["activities"], 0, 1000, "newcomer.activities", code="rules_bad_newcomer")
    _range(doc["newcomer"]["multiplier_percent"], 100, MAX_MULTIPLIER_PERCENT, "newcomer.multiplier_percent",
           code="rules_multiplier_out_of_range")
    _range(doc["rating"]["five_star_bonus_percent"], 0, 100, "rating.five_star_bonus_percent",
           code="rules_multiplier_out_of_range")
    _range(doc["rating"]["review_at_or_below"], 0, 4, "rating.review_at_or_below", code="rules_bad_rating")
    _check_caps(doc["caps"])
    _check_expiry(doc["expiry"])
    _check_levels(doc["honour_levels"])
    for reason, points in doc["penalties"].items():
        _points(points, f"penalties.{reason}", minimum=1)
    _range(doc["repair"]["window_days"], 1, 3660, "repair.window_days", code="rules_bad_repair")
    _range(doc["repair"]["max_percent"], 0, 100, "repair.max_percent", code="rules_bad_repair")
    _points(doc["min_redemption_points"], "min_redemption_points")
    _points(doc["points_loan_limit"], "points_loan_limit")
    for name, kind in doc["report_types"].items():
        _points(kind["points"], f"report_types.{name}.points")
        _points(kind["major_hazard_bonus"], f"report_types.{name}.major_hazard_bonus")
    for name, duty in doc["duties"].items():
        _points(duty["points"], f"duties.{name}.points")
        if duty["period"] not in DUTY_PERIODS:
            raise _bad("值守周期须为 weekly 或 monthly。", "A duty's period is weekly or monthly.",
                       field=f"duties.{name}.period", code="rules_bad_duty")


def _check_caps(caps: dict) -> None:
    for name in ("per_activity", "per_day", "per_year"):
        if caps[name] is not None:
            _points(caps[name], f"caps.{name}", minimum=1)
    chain = [(n, caps[n]) for n in ("per_activity", "per_day", "per_year") if caps[n] is not None]
    for (low_name, low), (high_name, high) in zip(chain, chain[1:]):
        if low > high:
            raise _bad(f"上限 {low_name}（{low}）不能大于 {high_name}（{high}）。",
                       f"The cap {low_name} ({low}) cannot exceed {high_name} ({high}).", field=f"caps.{low_name}",
                       code="rules_caps_inconsistent")


def _check_expiry(expiry: dict) -> None:
    if expiry["mode"] not in EXPIRY_MODES:
        raise _bad("过期方式须为 rolling、annual 或 never。",
                   "The expiry mode must be rolling, annual or never.", field="expiry.mode", code="rules_bad_expiry")
    _range(expiry["months"], 1, 120, "expiry.months", code="rules_bad_expiry")
    clearing_day(expiry["clearing_date"])
    days = expiry["reminder_days"]
    for d in days:
        _range(d, 1, 365, "expiry.reminder_days", code="rules_bad_expiry")
    if len(set(days)) != len(days):
        raise _bad("提醒天数重复。", "A reminder day is listed twice.", field="expiry.reminder_days",
                   code="rules_bad_expiry")


def _check_levels(levels: list) -> None:
    previous = 0
    for i, level in enumerate(levels):
        _points(level["threshold"], f"honour_levels[{i}].threshold", minimum=1)
        if level["threshold"] <= previous:
            raise _bad("荣誉等级的门槛须从低到高严格递增。",
                       "Honour level thresholds must rise strictly from the first level to the last.",
                       field=f"honour_levels[{i}].threshold", code="rules_threshold_order")
        previous = level["threshold"]
    for lang in ("title_zh", "title_en"):
        titles = [level[lang] for level in levels]
        if len(set(titles)) != len(titles):
            raise _bad("荣誉称号重复。", "Two honour levels share a title.",
                       field=f"honour_levels.{lang}", code="rules_duplicate_title")


DEFAULT_RULES = RuleSet()


# -- versions ------------------------------------------------------------------------------------------
def in_effect(versions: list[RuleSet], at: datetime) -> RuleSet:
    """The version in force at `at`: the latest effective date not after it (version 0, the SPEC defaults,
    before any). Versions need not be sorted."""
    live = [v for v in versions if v.effective_from is not None and v.effective_from <= at]
    return max(live, key=lambda v: (v.effective_from, v.version)) if live else DEFAULT_RULES


def diff(old: dict, new: dict, prefix: str = "") -> list[dict]:
    """What changed from one rule document to another: `{path, from, to}` per changed leaf (a dotted path into
    nested objects; a list such as `honour_levels` compares whole). Absent on one side is None."""
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        path = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(diff(a, b, path + "."))
        elif a != b:
            changes.append({"path": path, "from": a, "to": b})
    return changes
