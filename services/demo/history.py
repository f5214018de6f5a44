"""Months of past help requests for the dashboards: in every grid, each of the last HISTORY_MONTHS months,
neighbours post requests; most are accepted after a wait, helped, checked out and claimed; some are cancelled
and some expire unanswered.

Time travels in commands: the past happens through the requests service's own commands with their `at` in the
past (its HTTP API always acts now), run in-process on its bus like the operator CLI (`services.community.cli`),
so every rule is checked and every event is emitted as at the time. The ledger stamps what it does now (it has
no past-time entry): the bills of these claims are opened and confirmed today, so the history's completions
fall in the current month. Deterministic (a seeded generator and idempotency keys): a second run finds every
request it posted and only moves on what it left unfinished."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.config import Config
from shared.errors import Problem
from shared.runtime import build_runtime
from services.demo.data import Community
from services.requests import commands
from services.requests.bootstrap import bootstrap
from services.requests.repository import REQUESTS, request_from_doc

HISTORY_MONTHS = 6
CATEGORIES = ("errands", "elder_companionship", "pet_care", "tutoring", "repairs", "medical_escort",
              "environment_cleanup")
TITLES = {"errands": "帮忙代买菜", "elder_companionship": "陪老人聊天散步", "pet_care": "帮忙遛狗",
          "tutoring": "辅导孩子作业", "repairs": "修理门锁", "medical_escort": "陪同去医院",
          "environment_cleanup": "清理楼道杂物"}


@dataclass(frozen=True)
class Plan:
    """One past request: who, what, when, and how it went."""

    key: str             # written in the description: finds the request on a second run
    grid: str            # grid name
    requester: str       # resident key
    helper: str
    category: str
    posted_at: datetime
    wait_minutes: int    # until a neighbour accepted it
    help_minutes: int
    outcome: str         # helped | cancelled | expired


def month_start(today: datetime, back: int, tz: ZoneInfo) -> datetime:
    """The first moment of the month `back` months before today's, in the community's time zone."""
    local = today.astimezone(tz)
    index = local.year * 12 + local.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=tz)


def plans(c: Community, today: datetime, seed: int = 15) -> list[Plan]:
    """The community's past requests, growing month by month as participation does (fixed by the seed)."""
    rng = random.Random(f"{c.code}:{seed}")
    tz = ZoneInfo(c.settings.get("timezone", "Asia/Shanghai"))
    # The residents of the demo's own exchanges, open requests and shops keep exactly what those steps give them.
    busy = {k for e in c.exchanges for k in e[:2]} | {o[0] for o in c.open_requests} | {m.staff for m in c.merchants}
    out = []
    for back in range(HISTORY_MONTHS, 0, -1):
        start = month_start(today, back, tz)
        for grid, _ in c.grids:
            people = [r.key for r in c.residents if r.grid == grid and "resident" in r.roles and r.key not in busy]
            for n in range(2 + (HISTORY_MONTHS - back) // 2 + rng.randrange(2)):
                requester, helper = rng.sample(people, 2)
                posted = start + timedelta(days=rng.randrange(26), hours=8 + rng.randrange(11),
                                           minutes=rng.randrange(60))
                roll = rng.random()
                outcome = "expired" if roll < 0.12 else "cancelled" if roll < 0.22 else "helped"
                out.append(Plan(f"{start:%Y-%m}/{grid}/{n}", grid, requester, helper, rng.choice(CATEGORIES),
                                posted, min(int(rng.lognormvariate(4.0, 1.0)) + 1, 2000), 30 + 15 * rng.randrange(7), outcome))
    return out


def participants(c: Community, today: datetime) -> list[str]:
    """The residents the history has ask for help or give it (resident keys)."""
    return sorted({k for p in plans(c, today) for k in (p.requester, p.helper)})


class History:
    """Runs the plans through the requests service's bus, each step at its own past moment."""

    def __init__(self, config: Config | None = None):
        self.runtime = build_runtime(config or Config.from_env("requests"))
        self.bus = bootstrap(self.runtime)

    def close(self) -> None:
        self.runtime.close()

    def find(self, query: dict):
        doc = self.runtime.db[REQUESTS].find_one(query)
        return request_from_doc(doc) if doc else None

    def play(self, cid: str, members: dict[str, dict], grids: dict[str, str], plan: Plan):
        """Post (or find) the request and move it on to where the plan ends; returns it."""
        requester = commands.Actor(members[plan.requester]["member_id"], cid)
        helper = commands.Actor(members[plan.helper]["member_id"], cid)
        at = plan.posted_at
        fields = {"category": plan.category, "title": TITLES[plan.category], "unit": "HOUR",
                  "description": f"演示历史数据 · demo history {plan.key}", "estimated_minutes": plan.help_minutes,
                  "window_start": at + timedelta(hours=1), "window_end": at + timedelta(days=2),
                  "grid_id": grids[plan.grid], "urgency": "normal", "private": False, "service_class": "ordinary",
                  "activity_type": None}
        req = self.find({"community_id": cid, "description": fields["description"]}) \
            or self.bus.handle(commands.PostRequest(requester, fields, at))
        accepted_at = at + timedelta(minutes=plan.wait_minutes)
        started = accepted_at + timedelta(minutes=30)
        ended = started + timedelta(minutes=plan.help_minutes)
        steps = {
            "open": lambda: (
                self.bus.handle(commands.ExpireRequest(req.request_id, req.window_end)) if plan.outcome == "expired"
                else self.bus.handle(commands.CancelRequest(requester, req.request_id, at + timedelta(hours=3)))
                if plan.outcome == "cancelled"
                else self.bus.handle(commands.AcceptRequest(helper, req.request_id, accepted_at))),
            "accepted": lambda: self.bus.handle(commands.CheckIn(helper, req.request_id, self.bus.handle(
                commands.IssueCheckCode(requester, req.request_id, started))["code"], started)),
            "in_progress": lambda: self.bus.handle(commands.ClaimHelp(helper, req.request_id, plan.help_minutes,
                                                                      ended, f"{plan.key}:claim"))
            if req.ended_at else self.bus.handle(commands.CheckOut(helper, req.request_id, self.bus.handle(
                commands.IssueCheckCode(requester, req.request_id, ended))["code"], ended)),
        }
        for _ in range(5):
            step = steps.get(req.status)
            if step is None:
                break
            step()
            req = self.find({"_id": req.request_id})
        return req


def seed_history(seeder, c: Community, cid: str, members: dict[str, dict], grids: dict[str, str],
                 today: datetime | None = None) -> None:
    """Play the community's history, then have each requester confirm its bills (the ledger acts today)."""
    today = today or datetime.now(timezone.utc)
    history = History(seeder.requests_config)
    outcomes: Counter = Counter()
    claimed: dict[str, list[str]] = {}
    try:
        for plan in plans(c, today):
            try:
                req = history.play(cid, members, grids, plan)
                outcomes[req.status] += 1
            except Problem as problem:  # a rule said no: the plan stops there, and the summary says so
                outcomes[f"refused ({problem.code})"] += 1
                continue
            if req.status == "claimed":
                claimed.setdefault(plan.requester, []).append(req.request_id)
    finally:
        history.close()
    seeder.say(c, f"history of {HISTORY_MONTHS} months: " + ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())))
    seeder.confirm_bills(c, claimed)
