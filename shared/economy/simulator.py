"""The rules simulator (SPEC §5, issue 15): a synthetic year of a community replayed under a rule set, giving the
economy-health figures the staff dashboards show; run under the current and a proposed rule set side by side.
Pure: no I/O; deterministic for a given seed.

1. `synthesize(params)` draws the community once — members in grids, who takes part in which month (a
   participation curve rising from `participation_start_percent` to `participation_end_percent`, each grid a
   little more or less keen), their activities (type, minutes and service class for hourly help, situational
   bonuses, star ratings, whether a reviewer releases a held award), redemptions and penalties — from
   `random.Random(seed)`, independent of any rule set, so both sides of a comparison replay the same year.
2. `replay(community, rules)` applies a rule set member by member with `shared.economy`'s own pieces:
   `compute` (awards, with `next_streak` and the day's and year's earnings for the caps), `Wallet` (lots,
   FIFO spending, expiry, penalties and points owed), `check_redemption`, `honour_level`; then the figures of
   `shared.economy.health`.
3. `compare(params, current, proposed)` does both and the differences; `progress(percent)` is called as it
   goes (0…100).

README.md of this package describes the model and every parameter."""
from __future__ import annotations

import bisect
import calendar
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from itertools import accumulate
from typing import Callable

from shared.economy.award import HELD, PAYABLE, Activity, History, compute, next_streak, percent_of
from shared.economy.health import (FORECAST_DAYS, coverage, expiry_forecast, gini, month_of, monthly_flows,
                                   participation, top_share)
from shared.economy.rules import SERVICE_CLASSES, RuleSet
from shared.economy.wallet import Wallet, add_months, check_redemption, honour_level
from shared.errors import Unprocessable

HOURLY_ACTIVITY = "neighbour_help"   # an activity type without base points in the defaults: paid by the hour
GRID_HOUSEHOLDS = 300                # seeds: a grid (网格) covers 100–300 (网格分站 300–500) households
MAX_MEMBERS = 30_000                 # 2.5 × the largest community SPEC §1 designs for (12,000 households)
MAX_MEMBER_MONTHS = MAX_MEMBERS * 12  # a job's size: memory and time grow with members × months

# Defaults from the seeds: the activities a volunteer-points scheme rewards (环境清洁, 助老, 巡逻, 隐患上报, 卫生随手拍,
# 调解) and neighbour help paid by the hour (邻里互助), as weights.
DEFAULT_ACTIVITY_MIX = {"environment_cleanup": 30, "elder_care": 20, "hygiene_photo_report": 15,
                        "safety_patrol": 10, "hazard_report": 10, "mediation": 5, HOURLY_ACTIVITY: 10}
# The chance (%) that a situational bonus of the default rules applies to an activity of that type.
DEFAULT_BONUS_PERCENT = {"environment_cleanup": {"bad_weather": 15}, "mediation": {"complex_case": 30},
                         "elder_care": {"three_consecutive_months": 25}, "safety_patrol": {"major_hazard": 10}}


def _weights(**kw):
    return field(default_factory=lambda: dict(kw))


@dataclass(frozen=True)
class Params:
    """The synthetic community and its year. Weights need not add up to 100; percents are whole."""

    seed: int = 1
    households: int = 1200
    members_per_household_percent: int = 100      # registered members per household × 100
    grids: int | None = None                       # None: one per GRID_HOUSEHOLDS households
    start: date = date(2026, 1, 1)
    months: int = 12
    participation_start_percent: int = 10          # seeds: 参与率从不足10%提升至45%
    participation_end_percent: int = 45
    grid_spread_percent: int = 30                  # each grid's keenness: ×(1 ± up to this %)
    activities_per_month: dict = _weights(**{"1": 50, "2": 30, "4": 15, "8": 5})   # per active member
    activity_mix: dict = field(default_factory=lambda: dict(DEFAULT_ACTIVITY_MIX))
    bonus_percent: dict = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_BONUS_PERCENT.items()})
    hourly_minutes: dict = _weights(**{"30": 20, "60": 40, "90": 20, "120": 20})
    service_classes: dict = _weights(ordinary=80, professional=15, high_risk=5)
    rated_percent: int = 60                        # activities the person helped rates
    ratings: dict = _weights(**{"5": 55, "4": 30, "3": 10, "2": 3, "1": 2})
    review_release_percent: int = 70               # held awards a reviewer releases
    redeem_percent: int = 25                       # chance a member redeems in a month (if they can)
    redeem_share_percent: int = 80                 # of their balance
    penalty_percent: int = 1                       # chance a member is penalised in a month
    point_value_fen: int = 10                      # seeds: 1 PT = 0.1 yuan
    budget_fen: int = 3_000_000                    # the sponsor budget (¥30,000)
    warn_below_percent: int = 100                  # coverage warning threshold

    def __post_init__(self):
        _check(self)

    @property
    def members(self) -> int:
        return self.households * self.members_per_household_percent // 100

    @property
    def grid_count(self) -> int:
        return self.grids if self.grids is not None else max(1, -(-self.households // GRID_HOUSEHOLDS))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["grids"] = self.grid_count
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Params":
        """From JSON-shaped values (weights keyed by strings, `start` as an ISO date)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _bad(f"未知参数：{', '.join(unknown)}。", f"Unknown parameters: {', '.join(unknown)}.")
        values = dict(data)
        if isinstance(values.get("start"), str):
            try:
                values["start"] = date.fromisoformat(values["start"])
            except ValueError:
                raise _bad("start 应为日期 YYYY-MM-DD。", "start must be a date YYYY-MM-DD.") from None
        return cls(**values)


def _bad(zh: str, en: str) -> Unprocessable:
    return Unprocessable(f"{zh} {en}", code="simulation_bad_parameters")


def _whole(value, low: int, high: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{name} 须为 {low} 到 {high} 之间的整数。", f"{name} must be a whole number from {low} to {high}.")


def _check_weights(weights, name: str, keys=None, int_keys: bool = False) -> None:
    if not isinstance(weights, dict) or not weights:
        raise _bad(f"{name} 须为非空的权重表。", f"{name} must be a non-empty table of weights.")
    for key, weight in weights.items():
        if int_keys and not (isinstance(key, str) and key.isdigit() and 0 < int(key) <= 1000):
            raise _bad(f"{name} 的键须为 1 到 1000 的整数。", f"{name} keys must be whole numbers from 1 to 1000.")
        if keys is not None and key not in keys:
            raise _bad(f"{name} 含未知项 {key!r}。", f"{name} has an unknown entry {key!r}.")
        _whole(weight, 0, 1_000_000, f"{name}.{key}")
    if not any(weights.values()):
        raise _bad(f"{name} 的权重不能全为 0。", f"{name} needs a weight above 0.")


def _check(p: Params) -> None:
    _whole(p.seed, -2**63, 2**63 - 1, "seed")
    _whole(p.households, 1, MAX_MEMBERS, "households")
    _whole(p.members_per_household_percent, 1, 500, "members_per_household_percent")
    if not 1 <= p.members <= MAX_MEMBERS:
        raise _bad(f"成员数须在 1 到 {MAX_MEMBERS} 之间。", f"The members must number 1 to {MAX_MEMBERS}.")
    if isinstance(p.months, int) and p.members * p.months > MAX_MEMBER_MONTHS:
        raise _bad(f"成员数 × 月数不能超过 {MAX_MEMBER_MONTHS}。",
                   f"Members × months may not exceed {MAX_MEMBER_MONTHS}.")
    if p.grids is not None:
        _whole(p.grids, 1, min(1000, p.members), "grids")
    if not isinstance(p.start, date) or not 2000 <= p.start.year <= 2100:
        raise _bad("start 应为 2000 到 2100 年间的日期。", "start must be a date from 2000 to 2100.")
    _whole(p.months, 1, 24, "months")
    for name in ("participation_start_percent", "participation_end_percent", "grid_spread_percent",
                 "rated_percent", "review_release_percent", "redeem_percent", "redeem_share_percent",
                 "penalty_percent", "warn_below_percent"):
        _whole(getattr(p, name), 0, 100 if name != "warn_below_percent" else 10_000, name)
    _whole(p.point_value_fen, 1, 10_000, "point_value_fen")
    _whole(p.budget_fen, 0, 10**13, "budget_fen")
    _check_weights(p.activities_per_month, "activities_per_month", int_keys=True)
    _check_weights(p.hourly_minutes, "hourly_minutes", int_keys=True)
    _check_weights(p.ratings, "ratings", keys={"1", "2", "3", "4", "5"})
    _check_weights(p.service_classes, "service_classes", keys=set(SERVICE_CLASSES))
    _check_weights(p.activity_mix, "activity_mix")
    if not isinstance(p.bonus_percent, dict):
        raise _bad("bonus_percent 须为表。", "bonus_percent must be a table.")
    for activity, bonuses in p.bonus_percent.items():
        if not isinstance(bonuses, dict):
            raise _bad("bonus_percent 须为表。", "bonus_percent must be a table.")
        for code, chance in bonuses.items():
            _whole(chance, 0, 100, f"bonus_percent.{activity}.{code}")


# -- 1. the synthetic community ------------------------------------------------------------------------
ACTIVITY, PENALTY, REDEEM = 0, 1, 2   # event kinds, in the order they happen on one day


@dataclass(frozen=True)
class Community:
    """The drawn year: members' grids and events `(day, kind, details)`, oldest first, per member."""

    params: Params
    grids: tuple[int, ...]                    # grid of each member
    events: tuple[tuple, ...]                 # per member: ((day, kind, details, 'YYYY-MM'), …)
    active: dict                              # {(grid name, 'YYYY-MM'): members who took part}
    month_ends: tuple[date, ...]

    def grid_name(self, index: int) -> str:
        return f"G{index + 1:03d}"


class _Picker:
    """A weighted choice from a table by one uniform draw."""

    def __init__(self, weights: dict, convert=lambda k: k):
        items = [(convert(k), w) for k, w in weights.items() if w]
        self.values = [k for k, _ in items]
        self.cum = list(accumulate(w for _, w in items))

    def __call__(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def _month_starts(p: Params) -> list[date]:
    first = p.start.replace(day=1)
    return [add_months(first, m) for m in range(p.months)]


def participation_percent(p: Params, month: int) -> float:
    """The share of members taking part in month `month` (0-based): linear from the start to the end figure."""
    if p.months == 1:
        return float(p.participation_end_percent)
    step = (p.participation_end_percent - p.participation_start_percent) / (p.months - 1)
    return p.participation_start_percent + step * month


def synthesize(p: Params, progress: Callable[[int], None] | None = None) -> Community:
    """Draw the community's year from `Random(p.seed)` (see the module docstring)."""
    rng = random.Random(p.seed)
    grid_count, members = p.grid_count, p.members
    keenness = [1 + (rng.random() * 2 - 1) * p.grid_spread_percent / 100 for _ in range(grid_count)]
    starts = _month_starts(p)
    lengths = [calendar.monthrange(s.year, s.month)[1] for s in starts]
    ends = tuple(s + timedelta(days=n - 1) for s, n in zip(starts, lengths))
    keys = [month_of(s) for s in starts]
    thresholds = [[participation_percent(p, m) * k / 100 for m in range(p.months)] for k in keenness]
    count = _Picker(p.activities_per_month, int)
    mix = _Picker(p.activity_mix)
    minutes = _Picker(p.hourly_minutes, int)
    classes = _Picker(p.service_classes)
    stars = _Picker(p.ratings, int)
    bonuses = {a: tuple(p.bonus_percent.get(a, {}).items()) for a in p.activity_mix}
    active: Counter = Counter()
    grids, events = [], []
    for member in range(members):
        grid = member * grid_count // members          # contiguous blocks of households per grid
        keen = rng.random()                            # below the month's threshold: takes part
        timeline = []
        for m, (start, length) in enumerate(zip(starts, lengths)):
            key = keys[m]
            if keen < thresholds[grid][m]:
                active[(grid, key)] += 1
                for _ in range(count(rng)):
                    kind = mix(rng)
                    day = start + timedelta(days=rng.randrange(length))
                    hourly = (minutes(rng), classes(rng)) if kind == HOURLY_ACTIVITY else (0, "ordinary")
                    claimed = tuple(code for code, chance in bonuses[kind] if rng.random() * 100 < chance)
                    rating = stars(rng) if rng.random() * 100 < p.rated_percent else None
                    released = rng.random() * 100 < p.review_release_percent
                    timeline.append((day, ACTIVITY, (kind, *hourly, claimed, rating, released), key))
            if rng.random() * 100 < p.penalty_percent:
                timeline.append((start + timedelta(days=rng.randrange(length)), PENALTY, rng.randrange(1 << 16), key))
            if rng.random() * 100 < p.redeem_percent:
                timeline.append((start + timedelta(days=length - 1), REDEEM, None, key))
        timeline.sort(key=lambda e: (e[0], e[1]))
        grids.append(grid)
        events.append(tuple(timeline))
        if progress is not None and member % 500 == 0:
            progress(member * 100 // members)
    names = {(f"G{g + 1:03d}", month): n for (g, month), n in active.items()}
    return Community(p, tuple(grids), tuple(events), names, ends)


# -- 2. one rule set over the community ----------------------------------------------------------------
@dataclass
class _Tally:
    flows: Counter = field(default_factory=Counter)          # (month, kind) -> points
    awards: Counter = field(default_factory=Counter)         # counts and cut points by code
    balances: list = field(default_factory=list)             # of members who earned points
    expiring: Counter = field(default_factory=Counter)       # {days: points} expiring after the last day
    levels: Counter = field(default_factory=Counter)
    debt: int = 0


def _replay_member(timeline: tuple, rules: RuleSet, month_ends: tuple, redeem_share: int, tally: _Tally,
                   member: int) -> None:
    wallet = Wallet()
    participations = streak = honour = 0
    last_day: date | None = None
    earned_day: dict[date, int] = defaultdict(int)
    earned_year: dict[int, int] = defaultdict(int)
    penalties = sorted(rules["penalties"])
    end_index = 0
    flows, awards = tally.flows, tally.awards

    def expire(day: date, month: str) -> None:
        nonlocal wallet
        if wallet.lots:
            wallet, items = wallet.expire(day)
            if items:
                flows[(month, "expired")] += -sum(i["points"] for i in items)

    for day, kind, details, month in timeline:
        while end_index < len(month_ends) and month_ends[end_index][0] < day:
            expire(*month_ends[end_index])
            end_index += 1
        if kind == ACTIVITY:
            activity_type, minutes, service_class, claimed, rating, released = details
            before = next_streak(streak, (day - last_day).days if last_day else None, rules)
            history = History(participations, before, earned_day[day], earned_year[day.year], honour)
            activity = Activity(activity_type, minutes, service_class,
                                tuple(c for c in claimed if rules.bonus(activity_type, c) is not None), rating)
            try:
                award = compute(rules, history, activity)
            except Unprocessable:  # e.g. a service class these rules dropped: refused as the ledger would
                awards["refused"] += 1
                continue
            awards["awards"] += 1
            if award.status == HELD:
                awards["held_for_review"] += 1
                if not released:
                    continue
                awards["released"] += 1
                award = compute(rules, history, replace(activity, review_released=True))
            if award.status != PAYABLE:  # pragma: no cover - a released award is payable
                continue
            for item in award.cuts:
                awards[item.code] += 1
                awards[f"{item.code}_points"] -= item.points
            participations, streak, last_day = participations + 1, before + 1, day
            if award.amount:
                earned_day[day] += award.amount
                earned_year[day.year] += award.amount
                honour += award.amount
                flows[(month, "issued")] += award.amount
                wallet, items = wallet.earn(f"m{member}:{participations}", award.amount, day, rules)
                repaid = -sum(i["points"] for i in items if i["code"] == "debt_repaid")
                if repaid:  # points owed from a penalty are collected now
                    flows[(month, "penalised")] += repaid
        elif kind == PENALTY:
            if not penalties:
                continue
            expire(day, month)
            wallet, items = wallet.penalise(rules, penalties[details % len(penalties)])
            awards["penalties"] += 1
            flows[(month, "penalised")] += -sum(i["points"] for i in items if i["code"] == "penalty")
        else:  # REDEEM
            expire(day, month)
            amount = percent_of(wallet.balance, redeem_share)
            try:
                check_redemption(rules, wallet.balance, amount)
            except Unprocessable:  # below the community's minimum (兑换门槛): not redeemed this month
                continue
            wallet, _ = wallet.spend(amount)
            awards["redemptions"] += 1
            flows[(month, "redeemed")] += amount
    for end in month_ends[end_index:]:
        expire(*end)
    if honour:
        tally.balances.append(wallet.balance)
        tally.levels[honour_level(rules, honour)["level"]] += 1
    tally.expiring.update(expiry_forecast(wallet.lots, month_ends[-1][0]))
    tally.debt += wallet.debt


def replay(community: Community, rules: RuleSet, progress: Callable[[int], None] | None = None) -> dict:
    """The dashboard figures of `community`'s year under `rules` (see `figures`)."""
    tally = _Tally()
    total = len(community.events)
    ends = tuple((end, month_of(end)) for end in community.month_ends)
    for member, timeline in enumerate(community.events):
        _replay_member(timeline, rules, ends, community.params.redeem_share_percent, tally, member)
        if progress is not None and member % 500 == 0:
            progress(member * 100 // total)
    return figures(community, rules, tally)


def figures(community: Community, rules: RuleSet, tally: _Tally) -> dict:
    """What the staff dashboards show, for the simulated year: monthly flows, participation, coverage,
    concentration, the expiry forecast at the year's end, awards and cap cuts, honour levels."""
    p = community.params
    months = [month_of(end) for end in community.month_ends]
    flows = monthly_flows([(m, k, v) for (m, k), v in tally.flows.items()], months)
    outstanding = flows[-1]["outstanding"] if flows else 0
    totals = {kind: sum(row[kind] for row in flows) for kind in ("issued", "redeemed", "expired", "penalised")}
    sizes = Counter(community.grid_name(g) for g in community.grids)
    top, g = top_share(tally.balances), gini(tally.balances)
    cuts = {code: {"count": tally.awards[code], "points": tally.awards[f"{code}_points"]}
            for code in ("cap_per_activity", "cap_per_day", "cap_per_year")}
    return {
        "rule_version": rules.version,
        "totals": {**totals, "outstanding": outstanding, "owed": tally.debt},
        "monthly": flows,
        "participation": participation(dict(sizes), community.active),
        "coverage": coverage(outstanding, p.point_value_fen, p.budget_fen, p.warn_below_percent).to_dict(),
        "concentration": {"earners": len(tally.balances), "top10_share_percent": None if top is None else str(top),
                          "gini": None if g is None else str(g)},
        "expiring": {str(d): tally.expiring[d] for d in FORECAST_DAYS},
        "awards": {"count": tally.awards["awards"], "refused": tally.awards["refused"],
                   "held_for_review": tally.awards["held_for_review"],
                   "released": tally.awards["released"], "penalties": tally.awards["penalties"],
                   "redemptions": tally.awards["redemptions"], "cap_cuts": cuts},
        "honour_levels": {str(level): n for level, n in sorted(tally.levels.items())},
    }


# -- 3. side by side -----------------------------------------------------------------------------------
SCALARS = ("issued", "redeemed", "expired", "penalised", "outstanding", "owed")


def compare(params: Params, current: RuleSet, proposed: RuleSet,
            progress: Callable[[int], None] | None = None) -> dict:
    """The same synthetic year under the current and the proposed rules, and what the proposal changes.
    Progress: drawing the year 0–20 %, each replay 40 %."""
    last = [-1]

    def report(base: int, span: int) -> Callable[[int], None]:
        def inner(percent: int) -> None:
            value = base + percent * span // 100
            if progress is not None and value > last[0]:
                last[0] = value
                progress(value)
        return inner

    community = synthesize(params, report(0, 20))
    before = replay(community, current, report(20, 40))
    after = replay(community, proposed, report(60, 40))
    report(100, 0)(0)
    difference = {k: after["totals"][k] - before["totals"][k] for k in SCALARS}
    difference["liability_fen"] = after["coverage"]["liability_fen"] - before["coverage"]["liability_fen"]
    return {"params": params.to_dict(), "members": params.members, "current": before, "proposed": after,
            "difference": difference}
