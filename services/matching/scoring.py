"""Scoring a helper for a request: components in [0, 1], weights, a total, and human-readable reasons."""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from services.matching import availability
from services.matching.model import Candidate, Policy, RequestContext, ineligibility

COMPONENTS = ("skill", "proximity", "availability", "reliability", "fairness")
BASE_WEIGHTS = {"skill": 0.30, "proximity": 0.20, "availability": 0.15, "reliability": 0.15, "fairness": 0.20}
NEIGHBOUR_PROXIMITY = 0.6
UNKNOWN_AVAILABILITY = 0.3  # no slots declared: possible, but less likely than a declared fit
EPSILON = 1e-9  # totals computed in different orders differ in the last bits: ties must stay ties
PRIOR_TASKS, PRIOR_COMPLETION, PRIOR_STARS = 2.0, 0.8, 4.0  # newcomers start near a good record, not at 0


@dataclass(frozen=True)
class Scored:
    """A member's score for a request, with the weighted components that make it up."""

    member_id: str
    total: float
    components: dict
    weights: dict


def weights_for(urgency: str, vulnerable_requester: bool) -> dict:
    """Base weights shifted by the request: urgent → nearby and free now; vulnerable requester → reliable."""
    w = dict(BASE_WEIGHTS)
    if urgency == "high":
        w["proximity"] *= 2.0
        w["availability"] *= 1.3
    elif urgency == "low":
        w["fairness"] *= 1.3  # no hurry: a good moment to give newcomers a go
    if vulnerable_requester:
        w["reliability"] *= 1.5
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def priority(urgency: str, vulnerable_requester: bool) -> float:
    """How much a request should be put first in a helper's list (urgent, elderly living alone)."""
    return 1.0 + {"high": 0.5, "low": -0.2}.get(urgency, 0.0) + (0.3 if vulnerable_requester else 0.0)


def skill_fit(request: RequestContext, c: Candidate, now: float) -> float:
    """1 when the member lists the category as a skill or offers this kind of help right now."""
    if request.category in c.skills or c.offers_category(request.category, now):
        return 1.0
    return 0.0


def proximity(request: RequestContext, c: Candidate) -> float:
    """1 in the same grid, 0.6 in a neighbouring grid, else 0."""
    if request.grid_id is None or c.grid_id is None:
        return 0.0
    if c.grid_id == request.grid_id:
        return 1.0
    return NEIGHBOUR_PROXIMITY if c.grid_id in request.near_grids else 0.0


def availability_fit(request: RequestContext, c: Candidate) -> float:
    """Share of the needed minutes the member's weekly slots cover inside the window (capped at 1)."""
    if not c.slots:
        return UNKNOWN_AVAILABILITY
    return min(1.0, availability.overlap_minutes(c.slots, request.window) / request.needed_minutes)


def completion_rate(c: Candidate) -> float:
    """Completed / (completed + released + disputed), smoothed by a prior."""
    resolved = c.completed + c.released + c.disputed
    return (c.completed + PRIOR_TASKS * PRIOR_COMPLETION) / (resolved + PRIOR_TASKS)


def average_stars(c: Candidate) -> float:
    """Average rating, smoothed by a prior of two 4-star ratings."""
    return (c.rating_sum + PRIOR_TASKS * PRIOR_STARS) / (c.rating_count + PRIOR_TASKS)


def reliability(c: Candidate) -> float:
    """Track record: completion rate and average stars (1★ → 0, 5★ → 1)."""
    return 0.6 * completion_rate(c) + 0.4 * (average_stars(c) - 1.0) / 4.0


def fairness(c: Candidate, policy: Policy, now: float) -> float:
    """Newcomers, low recent earners and lightly loaded members first (SPEC §5: avoid elite monopoly)."""
    newcomer = max(0.0, 1.0 - c.completed / policy.newcomer_tasks) if policy.newcomer_tasks else 0.0
    low_earner = 1.0 / (1.0 + c.recent_hours(policy, now) / policy.low_earner_hours)
    load = max(0.0, 1.0 - c.open_commitments / policy.commitment_limit)
    return 0.35 * newcomer + 0.40 * low_earner + 0.25 * load


def components(request: RequestContext, c: Candidate, policy: Policy, now: float) -> dict:
    """Every component of the score, each in [0, 1]."""
    return {"skill": skill_fit(request, c, now), "proximity": proximity(request, c),
            "availability": availability_fit(request, c), "reliability": reliability(c),
            "fairness": fairness(c, policy, now)}


def score(request: RequestContext, c: Candidate, policy: Policy, now: float, weights: dict | None = None) -> Scored:
    """The weighted total of the components."""
    weights = weights or weights_for(request.urgency, request.vulnerable_requester)
    parts = components(request, c, policy, now)
    total = sum(weights[k] * parts[k] for k in COMPONENTS)
    return Scored(c.member_id, total, parts, weights)


def standing(c: Candidate, policy: Policy, now: float) -> tuple[float, float]:
    """(reliability, fairness): request-independent, memoised until an earning leaves the window.

    A changed member is a new Candidate (fresh memo), so only the earnings window can age the memo.
    """
    memo = c.memo
    if memo is None or memo[0] != id(policy) or now >= memo[3]:
        window = policy.earnings_window_seconds
        expiries = [at + window for at, _, _ in c.earnings if at + window > now]
        memo = c.memo = (id(policy), reliability(c), fairness(c, policy, now), min(expiries, default=math.inf))
    return memo[1], memo[2]


def rank_helpers(request: RequestContext, candidates, policy: Policy, now: float, n: int) -> list[Scored]:
    """The best n eligible candidates, best first (ties by member id, so answers are stable)."""
    return rank_groups(request, [(1.0, 1.0, candidates)], policy, now, n)


def rank_groups(request: RequestContext, groups, policy: Policy, now: float, n: int) -> list[Scored]:
    """rank_helpers over candidates grouped by (skill, proximity) upper bounds: the same answer, less work.

    Skill, place and standing are cheap, so each candidate gets an upper bound (as if fully available)
    and the availability overlap is computed only while that bound can still reach the current top n.
    A whole group is skipped once its bound (with perfect availability and standing) cannot.
    """
    if n <= 0:
        return []
    weights = weights_for(request.urgency, request.vulnerable_requester)
    ws, wp, wa, wr, wf = (weights[k] for k in COMPONENTS)
    category, grid, near, window = request.category, request.grid_id, request.near_grids, request.window
    requester, excluded, community = request.requester_id, request.excluded, request.community_id
    limit, needed, pid = policy.commitment_limit, request.needed_minutes, id(policy)
    best: list[float] = []  # min-heap of the n best totals so far
    kept: list[tuple[float, Candidate]] = []
    for group_skill, group_place, members in sorted(groups, key=lambda g: -(ws * g[0] + wp * g[1])):
        if len(best) >= n and ws * group_skill + wp * group_place + wa + wr + wf < best[0] - EPSILON:
            break
        bounded = []
        for c in members:
            # ineligibility(), inlined: this loop runs over thousands of members per query.
            if (not c.active or c.open_commitments >= limit or c.member_id == requester
                    or c.community_id != community or c.member_id in excluded):
                continue
            skill = 1.0 if category in c.skills or (c.offers and c.offers_category(category, now)) else 0.0
            if grid is None or c.grid_id is None:
                place = 0.0
            else:
                place = 1.0 if c.grid_id == grid else NEIGHBOUR_PROXIMITY if c.grid_id in near else 0.0
            memo = c.memo
            if memo is None or memo[0] != pid or now >= memo[3]:
                standing(c, policy, now)
                memo = c.memo
            cheap = ws * skill + wp * place + wr * memo[1] + wf * memo[2]
            bounded.append((cheap + wa, cheap, c))
        bounded.sort(key=lambda t: t[0], reverse=True)
        for bound, cheap, c in bounded:
            if len(best) >= n and bound < best[0] - EPSILON:
                break  # no one further down this group can reach the top n
            if c.slots:
                fit = min(1.0, availability.overlap_minutes(c.slots, window) / needed)
            else:
                fit = UNKNOWN_AVAILABILITY
            total = cheap + wa * fit
            kept.append((total, c))
            if len(best) < n:
                heapq.heappush(best, total)
            elif total > best[0]:
                heapq.heapreplace(best, total)
    top = heapq.nsmallest(n, kept, key=lambda t: (-round(t[0], 9), t[1].member_id))
    return [score(request, c, policy, now, weights) for _, c in top]


def rank_requests(member: Candidate, requests, policy: Policy, now: float,
                  n: int) -> list[tuple[RequestContext, Scored, float]]:
    """The best n requests for one member: match score × request priority, best first."""
    ranked = []
    for req in requests:
        if ineligibility(req, member, policy) is not None:
            continue
        s = score(req, member, policy, now)
        ranked.append((req, s, s.total * priority(req.urgency, req.vulnerable_requester)))
    return heapq.nsmallest(n, ranked, key=lambda t: (-round(t[2], 9), t[0].request_id))


def reasons(request: RequestContext, c: Candidate, s: Scored, policy: Policy, now: float) -> list[str]:
    """Why this member is suggested, in zh-CN / English."""
    out = []
    parts = s.components
    if request.category in c.skills:
        out.append(f"擅长此类帮助 / has the skill: {request.category}")
    elif parts["skill"]:
        out.append(f"已发布相关帮助意向 / offered to help with {request.category}")
    else:
        out.append(f"未登记此技能 / {request.category} is not among their skills")
    if parts["proximity"] == 1.0:
        out.append("同网格 / same grid")
    elif parts["proximity"] > 0:
        out.append("相邻网格 / neighbouring grid")
    elif request.grid_id is not None:
        out.append("不在附近网格 / not in a nearby grid")
    if not c.slots:
        out.append("未填写空闲时间 / no availability declared")
    elif parts["availability"] >= 0.999:
        out.append("时间段内有空 / available during the window")
    elif parts["availability"] > 0:
        out.append(f"部分时间有空 ({parts['availability']:.0%}) / partly available ({parts['availability']:.0%})")
    else:
        out.append("该时段通常没空 / usually not available then")
    resolved = c.completed + c.released + c.disputed
    if resolved:
        stars = f"，平均 {c.rating_sum / c.rating_count:.1f}★" if c.rating_count else ""
        stars_en = f", {c.rating_sum / c.rating_count:.1f}★ average" if c.rating_count else ""
        out.append(f"完成 {c.completed}/{resolved}{stars} / completed {c.completed} of {resolved}{stars_en}")
    if c.completed < policy.newcomer_tasks:
        out.append("新人优先 / newcomer boost")
    hours = c.recent_hours(policy, now)
    if hours < policy.low_earner_hours:
        out.append(f"近{policy.earnings_window_days}天收入较少 ({hours:.1f}h) / earned little in the last "
                   f"{policy.earnings_window_days} days ({hours:.1f}h)")
    out.append(f"当前承诺 {c.open_commitments}/{policy.commitment_limit} / "
               f"{c.open_commitments} of {policy.commitment_limit} open commitments")
    if request.urgency == "high":
        out.append("紧急求助：优先附近、有空的邻居 / urgent: nearby and free neighbours first")
    if request.vulnerable_requester:
        out.append("独居老人等重点对象优先：看重可靠性 / vulnerable requester: reliability weighs more")
    return out


def explain(request: RequestContext, c: Candidate, s: Scored, policy: Policy, now: float) -> dict:
    """A suggestion as the API shows it: total, components, weights and reasons."""
    return {"member_id": c.member_id, "score": round(s.total, 4),
            "components": {k: round(v, 4) for k, v in s.components.items()},
            "weights": {k: round(v, 4) for k, v in s.weights.items()},
            "reasons": reasons(request, c, s, policy, now)}
