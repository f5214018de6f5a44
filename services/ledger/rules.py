"""Points rules (SPEC §5): how many points an award is worth. Pure; per-community overrides merge in.

Only base points per activity type and hourly class rates exist yet; bonuses, caps, expiry and
penalties join here later, so every rule reads from one `Rules` value built per community.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

SERVICE_CLASSES = ("ordinary", "professional", "high_risk")

DEFAULT_ACTIVITY_POINTS = MappingProxyType({
    "environment_cleanup": 20,   # 环境清洁
    "mediation": 50,             # 纠纷调解
    "elder_care": 30,            # 助老
    "safety_patrol": 50,         # 安全巡逻
    "hazard_report": 20,         # 隐患上报
    "hygiene_photo_report": 5,   # 卫生随手拍
})
DEFAULT_HOURLY_RATE = 10  # points per hour of ordinary service
DEFAULT_CLASS_MULTIPLIERS = MappingProxyType({"ordinary": 1, "professional": 2, "high_risk": 3})


@dataclass(frozen=True)
class Rules:
    """A community's points rules."""

    activity_points: dict = field(default_factory=lambda: dict(DEFAULT_ACTIVITY_POINTS))
    hourly_rate: int = DEFAULT_HOURLY_RATE
    class_multipliers: dict = field(default_factory=lambda: dict(DEFAULT_CLASS_MULTIPLIERS))


def rules_from_settings(settings: dict | None) -> Rules:
    """The community's rules: SPEC defaults overridden by whatever its settings declare (lenient)."""
    raw = (settings or {}).get("points_rules") or {}
    base = Rules()
    activity = dict(base.activity_points)
    activity.update({k: v for k, v in (raw.get("activity_points") or {}).items() if _whole(v)})
    classes = dict(base.class_multipliers)
    classes.update({k: v for k, v in (raw.get("class_multipliers") or {}).items() if _whole(v)})
    rate = raw.get("hourly_rate", base.hourly_rate)
    return Rules(activity_points=activity, hourly_rate=rate if _whole(rate) else base.hourly_rate,
                 class_multipliers=classes)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def hourly_points(rules: Rules, minutes: int, service_class: str = "ordinary") -> int:
    """rate × class multiplier × hours, rounded half-even to whole points."""
    multiplier = rules.class_multipliers.get(service_class, rules.class_multipliers.get("ordinary", 1))
    exact = Decimal(rules.hourly_rate) * Decimal(multiplier) * Decimal(minutes) / Decimal(60)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def award_points(rules: Rules, *, minutes: int, activity_type: str | None = None,
                 service_class: str = "ordinary") -> int:
    """Points for one award: an activity type's base points if it has them, else the hourly class rate."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if activity_type and activity_type in rules.activity_points:
        return rules.activity_points[activity_type]
    return hourly_points(rules, minutes, service_class)
