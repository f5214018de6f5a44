"""How many points one activity earns under a rule set, explained line by line. Pure.

The order is fixed (README.md of this package shows it with worked examples):

1. base — the activity type's fixed points, or hourly rate × service class × hours;
2. situational bonuses of that activity type (bad weather, complex case, …);
3. newcomer multiplier on 1+2, for a member's first N activities;
4. rating factor on 1–3: 5★ adds a percentage; ≤ the review threshold holds the award for a reviewer;
5. the per-activity cap on 1–4;
6. one-off bonuses: first participation, every N consecutive participations (flat, never multiplied);
7. the per-member daily cap, then 8. the yearly cap, on everything earned today / this year with this award.

Every step that changes the amount is one `Item` (a code, the points it adds or cuts, its figures); a cap that
cuts is an item with negative points, never a silent drop. Percentages and multipliers round half-even to
whole points at the step that applies them."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from shared.economy.rules import RuleSet
from shared.errors import Unprocessable

PAYABLE, HELD = "payable", "held_for_review"


def percent_of(points: int, percent: int) -> int:
    """`percent`% of `points`, rounded half-even to a whole point."""
    return int((Decimal(points) * Decimal(percent) / Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def hourly(rate: int, multiplier: int, minutes: int) -> int:
    """rate × class multiplier × minutes / 60, rounded half-even."""
    exact = Decimal(rate) * Decimal(multiplier) * Decimal(minutes) / Decimal(60)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class History:
    """What the ledger knows of the member before this award (under the community's day and year)."""

    participations: int = 0     # awards paid before this one (the newcomer count and first participation)
    streak: int = 0             # consecutive participations before this one (see `next_streak`)
    earned_today: int = 0       # points awarded today, bonuses included, after caps
    earned_this_year: int = 0   # likewise this calendar year
    honour_points: int = 0      # lifetime 累计积分 (not used by the computation; carried for levels)


@dataclass(frozen=True)
class Activity:
    """The activity being rewarded."""

    activity_type: str | None = None
    minutes: int = 0
    service_class: str = "ordinary"
    bonuses: tuple[str, ...] = ()        # situational bonus codes the verifier confirmed
    rating: int | None = None            # 1–5 stars from the person helped, if any
    review_released: bool = False        # a reviewer released an award held for a low rating
    kind: str = "activity"               # "report": a verified grid report (随手拍); "duty": a standing duty's period


@dataclass(frozen=True)
class Item:
    """One line of an explanation: a code, the points it adds (negative: cuts), and its figures."""

    code: str
    points: int
    figures: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"code": self.code, "points": self.points, **self.figures}


@dataclass(frozen=True)
class Award:
    """The result: the amount to pay now, whether it is held, the lines that make it up, the rule version."""

    amount: int
    status: str
    rule_version: int
    items: tuple[Item, ...]

    @property
    def cuts(self) -> tuple[Item, ...]:
        """The cap cuts (reported to the member and staff)."""
        return tuple(i for i in self.items if i.code.startswith("cap_"))

    def to_dict(self) -> dict:
        """What an award records: amount, status, rule version and the machine-readable lines."""
        return {"amount": self.amount, "status": self.status, "rule_version": self.rule_version,
                "items": [i.to_dict() for i in self.items]}


def next_streak(streak: int, days_since_last: int | None, rules: RuleSet) -> int:
    """The streak before a participation: it continues if the previous one was at most `max_gap_days` ago."""
    if days_since_last is None or days_since_last > rules["streak"]["max_gap_days"]:
        return 0
    return streak


def _refuse(zh: str, en: str, *, code: str) -> Unprocessable:
    return Unprocessable(f"{zh} {en}", code=code)


def _priced(rules: RuleSet, activity: Activity) -> Item:
    """The base of a grid report or a standing duty: the points its type is worth under the rules."""
    name = activity.activity_type
    if activity.kind == "report":
        kind = rules.report_type(name)
        if kind is None:
            raise _refuse(f"没有随手拍类型 {name!r}。", f"Unknown report type {name!r}.", code="unknown_report_type")
        return Item("base_report", kind["points"], {"report_type": name})
    duty = rules.duty(name)
    if duty is None:
        raise _refuse(f"没有值守项目 {name!r}。", f"Unknown duty {name!r}.", code="unknown_duty")
    return Item("base_duty", duty["points"], {"duty": name, "period": duty["period"]})


def _base(rules: RuleSet, activity: Activity) -> Item:
    if activity.kind in ("report", "duty"):
        return _priced(rules, activity)
    if activity.minutes < 0:
        raise _refuse("时长不能为负。", "Minutes must not be negative.", code="bad_minutes")
    fixed = rules.base_points(activity.activity_type)
    if fixed is not None:
        return Item("base_activity", fixed, {"activity_type": activity.activity_type})
    multiplier = rules.class_multiplier(activity.service_class)
    if multiplier is None:
        raise _refuse(f"未知服务类别 {activity.service_class!r}。",
                      f"Unknown service class {activity.service_class!r}.", code="unknown_service_class")
    rate = rules["hourly_rate"]
    return Item("base_hourly", hourly(rate, multiplier, activity.minutes),
                {"minutes": activity.minutes, "hourly_rate": rate, "service_class": activity.service_class,
                 "class_multiplier": multiplier})


def _situational(rules: RuleSet, activity: Activity) -> list[Item]:
    items = []
    for code in dict.fromkeys(activity.bonuses):
        if activity.kind == "report":
            points = rules.report_type(activity.activity_type)["major_hazard_bonus"] if code == "major_hazard" else None
        else:
            points = rules.bonus(activity.activity_type, code)
        if points is None:
            raise _refuse(f"活动类型 {activity.activity_type!r} 没有加分项 {code!r}。",
                          f"Activity type {activity.activity_type!r} has no bonus {code!r}.", code="unknown_bonus")
        items.append(Item("situational_bonus", points, {"bonus": code}))
    return items


def _cap(items: list[Item], code: str, subtotal: int, room: int, figures: dict) -> int:
    """Cut `subtotal` down to `room` if it exceeds it, recording the cut; the amount after."""
    if subtotal > room:
        items.append(Item(code, room - subtotal, {**figures, "before": subtotal}))
        return room
    return subtotal


def compute(rules: RuleSet, history: History, activity: Activity) -> Award:
    """The award for `activity` by a member with `history`, under `rules` (see the module docstring)."""
    if activity.rating is not None and not 1 <= activity.rating <= 5:
        raise _refuse("评分须为 1 到 5 星。", "A rating is 1 to 5 stars.", code="bad_rating")
    items = [_base(rules, activity), *_situational(rules, activity)]
    subtotal = sum(i.points for i in items)

    newcomer = rules["newcomer"]
    if history.participations < newcomer["activities"] and newcomer["multiplier_percent"] != 100:
        extra = percent_of(subtotal, newcomer["multiplier_percent"] - 100)
        items.append(Item("newcomer_multiplier", extra, {"nth": history.participations + 1,
                                                         "of": newcomer["activities"],
                                                         "multiplier_percent": newcomer["multiplier_percent"],
                                                         "before": subtotal}))
        subtotal += extra

    rating = rules["rating"]
    if activity.rating is not None:
        if activity.rating <= rating["review_at_or_below"] and not activity.review_released:
            items.append(Item("held_for_review", -subtotal, {"rating": activity.rating,
                                                             "review_at_or_below": rating["review_at_or_below"],
                                                             "before": subtotal}))
            return Award(0, HELD, rules.version, tuple(items))
        if activity.rating <= rating["review_at_or_below"]:
            items.append(Item("review_released", 0, {"rating": activity.rating}))
        elif activity.rating == 5 and rating["five_star_bonus_percent"]:
            extra = percent_of(subtotal, rating["five_star_bonus_percent"])
            items.append(Item("rating_bonus", extra, {"rating": 5, "percent": rating["five_star_bonus_percent"],
                                                      "before": subtotal}))
            subtotal += extra

    caps = rules.caps
    if caps["per_activity"] is not None:
        subtotal = _cap(items, "cap_per_activity", subtotal, caps["per_activity"], {"cap": caps["per_activity"]})

    if history.participations == 0 and rules["first_participation_bonus"]:
        items.append(Item("first_participation_bonus", rules["first_participation_bonus"], {}))
        subtotal += rules["first_participation_bonus"]
    streak = rules["streak"]
    reached = history.streak + 1
    if streak["every"] and streak["points"] and reached % streak["every"] == 0:
        items.append(Item("streak_bonus", streak["points"], {"streak": reached, "every": streak["every"]}))
        subtotal += streak["points"]

    for code, cap, earned in (("cap_per_day", caps["per_day"], history.earned_today),
                              ("cap_per_year", caps["per_year"], history.earned_this_year)):
        if cap is not None:
            subtotal = _cap(items, code, subtotal, max(0, cap - earned), {"cap": cap, "earned_before": earned})
    return Award(subtotal, PAYABLE, rules.version, tuple(items))
