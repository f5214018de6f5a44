"""Commands and handlers of grid work (随手拍 reports and standing duties), each in one unit of work. The model
is `reports.py`; the bus takes these handlers next to the service's others (`bootstrap.py`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from shared.economy import in_effect
from shared.economy.periods import period_of, zone_day
from shared.errors import NotFound, Unprocessable
from shared.uow import Tx
from services.community import events
from services.community.reports import (DutyAssignment, GridReport, Staff, assignment_id, check_duty,
                                        check_report_type, check_verifiable, duty_facts, verification_id)
from services.community.reports_store import ReportRepository
from services.community.repository import CommunityRepository, PointsRulesRepository


@dataclass(frozen=True)
class CreateReport:
    report_id: str
    community_id: str
    reporter_id: str
    report_type: str
    text: str
    place: str
    major_hazard: bool
    grid_id: str | None
    photo_id: str
    photo_type: str
    photo_bytes: int
    at: datetime


@dataclass(frozen=True)
class DecideReport:
    community_id: str
    report_id: str
    by: str
    action: str          # "verify" | "dismiss"
    major_hazard: bool = False
    reason: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class AssignDuty:
    community_id: str
    member_id: str
    duty: str
    by: str
    at: datetime
    active: bool = True


@dataclass(frozen=True)
class VerifyDuty:
    community_id: str
    assignment_id: str
    by: str
    at: datetime
    period: str | None = None   # default: the period `at` falls in


def staff(repo: CommunityRepository, community_id: str, member_id: str) -> Staff:
    """The caller as the community knows them now (roles and grid from their member record, not their token)."""
    member = repo.member(community_id, member_id)
    return Staff(member.member_id, tuple(member.roles), member.grid_id)


def rules_at(tx: Tx, community: dict, at: datetime):
    return in_effect([v.rule_set() for v in PointsRulesRepository(tx).all(community)], at)


def local_day(community: dict, at: datetime):
    return zone_day((community.get("settings") or {}).get("timezone"), at)


def create_report(cmd: CreateReport, tx: Tx) -> GridReport:
    """A resident's report, in their grid (or the grid they name); its type must be one the rules price."""
    repo = CommunityRepository(tx)
    community = repo.community(cmd.community_id)
    reporter = repo.member(cmd.community_id, cmd.reporter_id)
    check_report_type(rules_at(tx, community, cmd.at), cmd.report_type)
    grid_id = cmd.grid_id or reporter.grid_id
    if grid_id is None:
        raise Unprocessable("请选择问题所在的网格。 Choose the grid the problem is in.", code="report_grid_required")
    if grid_id not in {g["grid_id"] for g in repo.grids(cmd.community_id)}:
        raise Unprocessable("没有这个网格。 No such grid.", code="unknown_grid", field="grid_id")
    report = GridReport(cmd.report_id, cmd.community_id, grid_id, cmd.reporter_id, cmd.report_type, cmd.text,
                        cmd.place, cmd.photo_id, cmd.photo_type, cmd.photo_bytes, cmd.major_hazard, cmd.at)
    ReportRepository(tx).add(report)
    return report


def decide_report(cmd: DecideReport, tx: Tx) -> GridReport:
    """Verify (GridReportVerified: the ledger pays) or dismiss with a reason."""
    reports = ReportRepository(tx)
    report = reports.get(cmd.community_id, cmd.report_id)
    by = staff(CommunityRepository(tx), cmd.community_id, cmd.by)
    if cmd.action == "verify":
        decided = report.verify(by, cmd.major_hazard, cmd.at)
        reports.save_decision(decided)
        events.grid_report_verified(tx, decided.event_facts())
    else:
        decided = report.dismiss(by, cmd.reason, cmd.at)
        reports.save_decision(decided)
    return decided


def assign_duty(cmd: AssignDuty, tx: Tx) -> DutyAssignment:
    """An admin assigns a member a duty the rules price (again: the same assignment, active again), or ends it."""
    repo = CommunityRepository(tx)
    community = repo.community(cmd.community_id)
    member = repo.member(cmd.community_id, cmd.member_id)
    check_duty(rules_at(tx, community, cmd.at), cmd.duty)
    reports = ReportRepository(tx)
    aid = assignment_id(cmd.community_id, cmd.member_id, cmd.duty)
    before = reports.assignment(cmd.community_id, aid)
    assignment = DutyAssignment(aid, cmd.community_id, member.member_id, cmd.duty, member.grid_id,
                                before.assigned_by if before and before.active == cmd.active else cmd.by,
                                before.assigned_at if before and before.active == cmd.active else cmd.at,
                                cmd.active)
    reports.save_assignment(assignment)
    return assignment


def verify_duty(cmd: VerifyDuty, tx: Tx) -> tuple[dict, bool]:
    """The grid worker (or an admin) verifies a member's duty for a period, once: (verification, newly made)."""
    repo = CommunityRepository(tx)
    community = repo.community(cmd.community_id)
    reports = ReportRepository(tx)
    assignment = reports.assignment(cmd.community_id, cmd.assignment_id)
    if assignment is None:
        raise NotFound("没有这项值守。 No such duty assignment.", code="unknown_duty_assignment")
    # The member's grid now (they may have moved since the duty was assigned).
    holder = repo.member(cmd.community_id, assignment.member_id)
    assignment = replace(assignment, grid_id=holder.grid_id)
    check_verifiable(assignment, staff(repo, cmd.community_id, cmd.by))
    duty = check_duty(rules_at(tx, community, cmd.at), assignment.duty)
    current = period_of(duty["period"], local_day(community, cmd.at))
    period = cmd.period or current
    if period != current and not _earlier(period, current, duty["period"]):
        raise Unprocessable(f"只能核实本期或之前的值守（本期 {current}）。 Only this period or an earlier one can be "
                            f"verified (this period is {current}).", code="duty_period_invalid", current=current)
    existing = reports.verification(verification_id(assignment, period))
    if existing is not None:
        return existing, False
    doc = {**duty_facts(assignment, period, cmd.by, cmd.at), "points_rule": duty}
    try:
        reports.add_verification(doc)
    except DuplicateKeyError:  # a concurrent verification of the same period: the first one stands
        return reports.verification(doc["verification_id"]), False
    events.duty_verified(tx, duty_facts(assignment, period, cmd.by, cmd.at))
    return doc, True


def _earlier(period: str, current: str, kind: str) -> bool:
    """Whether `period` is a well-formed period of this kind before `current` (string order is time order)."""
    shape = r"[0-9]{4}-W[0-9]{2}" if kind == "weekly" else r"[0-9]{4}-(0[1-9]|1[0-2])"
    return re.fullmatch(shape, period) is not None and period < current


HANDLERS = {CreateReport: create_report, DecideReport: decide_report, AssignDuty: assign_duty,
            VerifyDuty: verify_duty}
