"""Appeals (积分异议申诉): a member disputes one of their own decisions and a reviewer decides. Pure: no I/O.

What can be appealed (`Subject`, built from what the ledger stored about the decision):

| kind | the decision | who decided it | what is disputed (points) |
|---|---|---|---|
| `award` | a posted award: its amount or explanation | the verifier who confirmed it | what the member says is missing (`points`, ≤ `MAX_AWARD_CLAIM`) |
| `cap_cut` | a cap that cut a posted award | the verifier who confirmed it | the points the caps cut |
| `penalty` | a penalty | the grid worker or admin who issued it | its points not yet repaired or restored |
| `expiry` | the expiry of the member's lots | the scheduler (nobody) | the points expired |
| `claim` | a help claim the ledger refused and the requests service marked `disputed` | who rejected it, and the payer | the claimed amount (HOUR minutes or PT) |

Rules:
- Only the member whose decision it is may appeal it (403 `not_your_decision`), with a reason of 1–500
  characters, once per subject: a second appeal while one is open is 409 `appeal_already_open`, and a decided one
  is final (409 `appeal_already_decided`).
- Reviewers: an admin of the community, for every kind; the grid worker of the member's grid for the decisions
  made in a grid (`award`, `cap_cut`, `penalty`). Expiries and disputed claims are the admins' (403
  `not_a_reviewer`). Never the member themselves (403 `reviewer_is_appellant`) nor anyone who made the decision
  (403 `reviewer_is_decider`).
- Uphold: a compensating amount of 1 … what is still disputed (the appeal's points, less whatever was repaired
  since for a penalty), defaulting to all of it (422 `uphold_exceeds_disputed`; 422 `nothing_to_appeal` when
  nothing is left). Dismiss: a reason of 1–500 characters. Either closes the appeal (409 `appeal_closed` after).
- Every step is kept (`steps`: who, when, what) and shown to the member.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.errors import Conflict, Forbidden, Unprocessable

KINDS = ("award", "cap_cut", "penalty", "expiry", "claim")
OPEN, UPHELD, DISMISSED = "open", "upheld", "dismissed"
STATUSES = (OPEN, UPHELD, DISMISSED)
GRID_KINDS = ("award", "cap_cut", "penalty")  # decisions made in a grid: its grid worker may review them
REASON_MAX = 500
MAX_AWARD_CLAIM = 1000  # the most points a member may say an award is missing (the default yearly cap)


@dataclass(frozen=True)
class Subject:
    """A decision a member may appeal, as the rules need it."""

    kind: str
    subject_id: str
    community_id: str
    member_id: str            # whose decision it is: the only one who may appeal it
    unit: str                 # PT, or HOUR for a claim paid in hours
    deciders: tuple = ()      # who made the decision (never its reviewer)
    disputable: int | None = None  # what may be disputed now (None: the member says, for an award)
    grid_id: str | None = None     # the member's grid


@dataclass(frozen=True)
class Reviewer:
    member_id: str
    roles: tuple
    grid_id: str | None = None


def reason_text(text) -> str:
    """A reason: 1–500 characters once trimmed (422 `bad_reason`)."""
    text = text.strip() if isinstance(text, str) else ""
    if not 1 <= len(text) <= REASON_MAX:
        raise Unprocessable(f"请写明理由（1–{REASON_MAX} 字）。 Give a reason (1–{REASON_MAX} characters).",
                            code="bad_reason")
    return text


def _whole(points) -> bool:
    return isinstance(points, int) and not isinstance(points, bool) and points > 0


def disputed_points(subject: Subject, points: int | None) -> int:
    """What an appeal of `subject` disputes: the member's figure for an award (required, 1…MAX_AWARD_CLAIM), else
    what the decision took or withheld (the member may dispute less, never more)."""
    if subject.disputable is None:
        if not _whole(points) or points > MAX_AWARD_CLAIM:
            raise Unprocessable(f"请写明少给了多少分（1–{MAX_AWARD_CLAIM}）。 Say how many points the award is missing "
                                f"(1–{MAX_AWARD_CLAIM}).", code="points_required", maximum=MAX_AWARD_CLAIM)
        return points
    if subject.disputable <= 0:
        raise Unprocessable("这项决定没有可申诉的积分。 Nothing of this decision is left to appeal.",
                            code="nothing_to_appeal")
    if points is None:
        return subject.disputable
    if not _whole(points) or points > subject.disputable:
        raise Unprocessable(f"最多可申诉 {subject.disputable}。 At most {subject.disputable} can be disputed.",
                            code="appeal_exceeds_disputed", disputable=subject.disputable)
    return points


def file(appeal_id: str, subject: Subject, appellant_id: str, reason: str, points: int | None,
         now: datetime, existing: dict | None = None) -> dict:
    """A new open appeal of `subject` by `appellant_id` (see the module's rules); `existing` is the appeal already
    filed on this subject, if any."""
    if appellant_id != subject.member_id:
        raise Forbidden("只能对自己的积分决定提出申诉。 You can appeal only decisions about your own points.",
                        code="not_your_decision")
    if existing is not None:
        if existing["status"] == OPEN:
            raise Conflict("这项决定已有一条申诉在处理中。 This decision already has an open appeal.",
                           code="appeal_already_open", appeal_id=existing["appeal_id"])
        raise Conflict("这项决定的申诉已有结论。 This decision's appeal has been decided.",
                       code="appeal_already_decided", appeal_id=existing["appeal_id"])
    reason = reason_text(reason)
    disputed = disputed_points(subject, points)
    return {"appeal_id": appeal_id, "community_id": subject.community_id, "member_id": subject.member_id,
            "kind": subject.kind, "subject_id": subject.subject_id, "unit": subject.unit,
            "grid_id": subject.grid_id, "deciders": list(subject.deciders), "disputed": disputed, "reason": reason,
            "status": OPEN, "filed_at": now, "decided_at": None, "decided_by": None, "amount": None,
            "transfer_id": None, "decision_reason": None,
            "steps": [{"step": "filed", "by": appellant_id, "at": now, "points": disputed, "reason": reason}]}


def check_reviewer(appeal: dict, reviewer: Reviewer) -> None:
    """May `reviewer` decide this appeal? (see the module's rules)"""
    roles = set(reviewer.roles)
    in_grid = ("grid_worker" in roles and appeal["kind"] in GRID_KINDS and appeal.get("grid_id") is not None
               and reviewer.grid_id == appeal["grid_id"])
    if "admin" not in roles and not in_grid:
        raise Forbidden("只有管理员（或该网格的网格员）可以审核这条申诉。 Only an admin (or the grid worker of the "
                        "member's grid, for awards and penalties) can review this appeal.", code="not_a_reviewer")
    if reviewer.member_id == appeal["member_id"]:
        raise Forbidden("不能审核自己的申诉。 You cannot review your own appeal.", code="reviewer_is_appellant")
    if reviewer.member_id in appeal["deciders"]:
        raise Forbidden("原决定人不能审核这条申诉，请由其他人审核。 The person who made the original decision cannot "
                        "review its appeal.", code="reviewer_is_decider")
    if appeal["status"] != OPEN:
        raise Conflict("这条申诉已有结论。 This appeal has already been decided.", code="appeal_closed",
                       status_now=appeal["status"])


def upholdable(appeal: dict, disputable_now: int | None) -> int:
    """What an upholding may still pay: the appeal's points, less what the decision no longer holds (a penalty
    repaired since the appeal was filed)."""
    return appeal["disputed"] if disputable_now is None else min(appeal["disputed"], max(0, disputable_now))


def uphold(appeal: dict, reviewer: Reviewer, amount: int | None, disputable_now: int | None,
           now: datetime) -> dict:
    """The appeal upheld with a compensation of `amount` (default: all that is still disputed); the caller posts
    it and records the transfer (`decided`)."""
    check_reviewer(appeal, reviewer)
    room = upholdable(appeal, disputable_now)
    if room <= 0:
        raise Unprocessable("这项决定已没有可补偿的积分。 Nothing of this decision is left to compensate.",
                            code="nothing_to_appeal")
    amount = room if amount is None else amount
    if not _whole(amount) or amount > room:
        raise Unprocessable(f"补偿最多 {room}。 The compensation can be at most {room}.",
                            code="uphold_exceeds_disputed", maximum=room)
    return _decided(appeal, UPHELD, reviewer, now, amount=amount)


def payer(kind: str, claim_workflow: str | None, paid_by: str | None) -> str:
    """Who pays an upheld appeal: `penalty` (the penalty account gives the points back), `requester` (a disputed
    bill between residents, as the agreed transfer would have paid) or `community` (its issuance account: awards,
    cap cuts, expiries, a task the community pays in points). For a bill the reviewer may decide the community
    pays instead (`paid_by: community`); elsewhere there is no choice to make (422 `payer_not_choosable`)."""
    bill = kind == "claim" and claim_workflow != "award"
    if paid_by is not None and not bill:
        raise Unprocessable("只有居民之间有争议的互助结算可以选择由谁支付。 Only a disputed bill between residents "
                            "lets the reviewer choose who pays.", code="payer_not_choosable")
    if kind == "penalty":
        return "penalty"
    return "requester" if bill and paid_by != "community" else "community"


def dismiss(appeal: dict, reviewer: Reviewer, reason: str, now: datetime) -> dict:
    """The appeal dismissed with a reason."""
    check_reviewer(appeal, reviewer)
    return _decided(appeal, DISMISSED, reviewer, now, reason=reason_text(reason))


def _decided(appeal: dict, status: str, reviewer: Reviewer, now: datetime, amount: int | None = None,
             reason: str | None = None) -> dict:
    step = {"step": status, "by": reviewer.member_id, "at": now, "points": amount, "reason": reason}
    return {**appeal, "status": status, "decided_at": now, "decided_by": reviewer.member_id, "amount": amount,
            "decision_reason": reason, "steps": [*appeal["steps"], step]}


def with_transfer(appeal: dict, transfer_id: str | None) -> dict:
    """The upheld appeal with its compensating transfer recorded (on the appeal and its last step)."""
    steps = [*appeal["steps"][:-1], {**appeal["steps"][-1], "transfer_id": transfer_id}]
    return {**appeal, "transfer_id": transfer_id, "steps": steps}


# -- subjects from what the ledger stored ------------------------------------------------------------
def award_subject(kind: str, t: dict, member_id: str, grid_id: str | None) -> Subject:
    """An award (`award`: what the member says is missing) or its cap cuts (`cap_cut`: the points cut) as a
    subject; `t` is the posted award transfer as stored (`details.award`)."""
    award = (t.get("details") or {}).get("award") or {}
    if t.get("workflow") != "award" or t.get("state") != "posted" or not award:
        raise Unprocessable("只能对已发放的奖励提出申诉。 Only a paid award can be appealed.", code="not_appealable")
    cut = -sum(c["points"] for c in award.get("cuts", ()))
    return Subject(kind, t["_id"], t["community_id"], t.get("payee_id"), t["unit"],
                   tuple(d for d in (t.get("resolved_by"),) if d), None if kind == "award" else cut, grid_id)


def penalty_subject(doc: dict, grid_id: str | None) -> Subject:
    """A penalty: what is not yet repaired (or restored by an earlier appeal) is disputed."""
    return Subject("penalty", doc["_id"], doc["community_id"], doc["member_id"], "PT", (doc["issued_by"],),
                   doc["amount"] - doc["repaired"], grid_id)


def expiry_subject(t: dict, member_id: str | None) -> Subject:
    """An expiry of the member's lots (a posted system transfer to `s:<c>:expiry:PT`)."""
    if (t.get("reference") or {}).get("kind") != "expiry" or t.get("state") != "posted":
        raise Unprocessable("这不是积分到期记录。 This is not an expiry of points.", code="not_appealable")
    return Subject("expiry", t["_id"], t["community_id"], member_id, "PT", (), t["amount"], None)


def claim_subject(t: dict, dispute: dict | None) -> Subject:
    """A help claim a person rejected (`t`) and the requests service marked disputed (`dispute`): the
    helper may appeal it for the claimed amount; who rejected it and the payer are its deciders."""
    if dispute is None or t.get("state") != "rejected" or not t.get("resolved_by"):
        raise Unprocessable("只有被标记为有争议的求助结算可以申诉。 Only a disputed help claim can be appealed.",
                            code="not_appealable")
    deciders = tuple(d for d in (t.get("resolved_by"), t.get("payer_id")) if d)
    return Subject("claim", t["_id"], t["community_id"], t.get("payee_id"), t["unit"], deciders, t["amount"], None)
