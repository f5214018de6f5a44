"""Months of past points for the dashboards: the demo imports each community's points records of the last
HISTORY_MONTHS months (as a community moving from a paper ledger, 纸质台账, would) through the ledger's own import
(services/ledger/history.py), in-process on its bus like the operator CLI (`python -m services.ledger.cli
import-points`). Awards to the history's residents in every grid, more of them month by month as participation
grows, and a deduction or two, each posted at its own past time: the ledger's statistics (issued, penalised,
outstanding, participation per grid and month), lots and boards follow. Deterministic (a seeded generator); the
records' source ids make a second run import nothing."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.config import Config
from shared.runtime import build_runtime
from services.demo.data import Community
from services.demo.history import HISTORY_MONTHS, month_start, participants
from services.ledger.bootstrap import bootstrap
from services.ledger.cli import run_import
from services.ledger.history import PastRecord

MEMO = "演示历史积分（纸质台账导入） · demo past points (imported from a paper ledger)"


def past_records(c: Community, members: dict[str, dict], today: datetime, seed: int = 15) -> list[PastRecord]:
    """The community's past points: in each grid and month a growing share of the history's residents earn an
    award (10-60 points); last month two of the earliest earners lose 5 points for a broken rule."""
    rng = random.Random(f"{c.code}:points:{seed}")
    tz = ZoneInfo(c.settings.get("timezone", "Asia/Shanghai"))
    known = set(participants(c, today))
    out: list[PastRecord] = []
    for back in range(HISTORY_MONTHS, 0, -1):
        start = month_start(today, back, tz)
        share = 0.2 + 0.1 * (HISTORY_MONTHS - back)  # participation rising month by month
        for grid, _ in c.grids:
            people = sorted(r.key for r in c.residents if r.grid == grid and r.key in known)
            for key in rng.sample(people, max(1, min(len(people), round(len(people) * share)))):
                at = start + timedelta(days=rng.randrange(26), hours=9 + rng.randrange(9), minutes=rng.randrange(60))
                out.append(PastRecord(f"demo:{start:%Y-%m}:{key}", members[key]["member_id"], "award",
                                      10 * (1 + rng.randrange(6)), at, MEMO))
    first = sorted((r for r in out if r.at < month_start(today, HISTORY_MONTHS - 1, tz)), key=lambda r: r.source_id)
    last_month = month_start(today, 1, tz)
    for r in first[:2]:
        out.append(PastRecord(f"demo:{last_month:%Y-%m}:deduction:{r.member_id}", r.member_id, "deduction", 5,
                              last_month + timedelta(days=26, hours=10), "演示：违规扣分 · demo: a broken rule"))
    return out


def seed_past_points(seeder, c: Community, cid: str, members: dict[str, dict], today: datetime) -> None:
    """Import the community's past points into the ledger (in-process) and say what happened."""
    runtime = build_runtime(seeder.ledger_config or Config.from_env("ledger"))
    try:
        outcome = run_import(bootstrap(runtime), cid, past_records(c, members, today), by="demo",
                             batch=f"demo-past-points-{c.code}")
    finally:
        runtime.close()
    counts = outcome["counts"]
    seeder.created["past points records"] += counts.get("imported", 0)
    seeder.say(c, f"past points of {HISTORY_MONTHS} months imported: "
                  + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for problem in outcome["refused"]:
        seeder.say(c, f"past points record {problem['source_id']} refused: {problem['code']}")
