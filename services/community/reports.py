"""Grid work (网格): residents' reports (随手拍) and members' standing duties (常态值守). Pure: no I/O.

- **A report** is a hazard or hygiene problem a resident saw, with text, place and one photo. The photo is
  checked here by its content (JPEG, PNG or WebP magic bytes; at most `PHOTO_MAX_BYTES`) whatever the client
  says it is, and stored without its metadata (`photos.py`: no EXIF GPS position of a resident's home reaches
  anyone who reads it). The grid worker of the report's grid, or an admin, verifies it (optionally confirming a
  major hazard, which the rules reward with a bonus) or dismisses it with a reason; nobody decides their own report, and a
  decided report stays decided. A verified report is announced (`GridReportVerified`) and the ledger pays what
  the report type is worth under the rules in effect (through `shared.economy.compute`: caps, explanation,
  rule version), once per report.
- **A duty** (门前三包, 垃圾分类监督…) is held by a member (an admin assigns it). Each period of the duty (an ISO week
  or a month in the community's time zone) the grid worker of the member's grid, or an admin, verifies it once:
  a second verification of the same member, duty and period answers the first (`DutyVerified` is emitted once).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.errors import Conflict, Forbidden, Problem, Unprocessable
from services.community.photos import PNG_SIGNATURE, strip_metadata

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Magic bytes of the photo types accepted (the client's Content-Type is never trusted).
PHOTO_SIGNATURES = (("image/jpeg", lambda b: b[:3] == b"\xff\xd8\xff"),
                    ("image/png", lambda b: b[:8] == PNG_SIGNATURE),
                    ("image/webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"))
# A photo is stored before its report's transaction (GridFS takes none): a process that dies in between leaves
# a photo no report names. Past this grace (far longer than any upload takes) such a photo is an orphan.
PHOTO_ORPHAN_GRACE = timedelta(hours=1)
OPEN, VERIFIED, DISMISSED = "open", "verified", "dismissed"
DECIDERS = ("admin", "grid_worker")


class PayloadTooLarge(Problem):
    status, title = 413, "内容太大 Payload too large"


def photo_type(data: bytes) -> str:
    """The photo's media type from its content; a 413 past the size limit, a 422 for anything not a photo."""
    if len(data) > PHOTO_MAX_BYTES:
        raise PayloadTooLarge(f"照片不能超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB。 A photo may be at most "
                              f"{PHOTO_MAX_BYTES // (1024 * 1024)} MB.", code="photo_too_large",
                              limit_bytes=PHOTO_MAX_BYTES)
    if not data:
        raise Unprocessable("请附上一张照片。 Attach a photo.", code="photo_missing")
    for media_type, matches in PHOTO_SIGNATURES:
        if matches(data):
            return media_type
    raise Unprocessable("照片须为 JPEG、PNG 或 WebP 格式。 The photo must be a JPEG, PNG or WebP image.",
                        code="photo_type_not_allowed", allowed=[t for t, _ in PHOTO_SIGNATURES])


def accept_photo(data: bytes) -> tuple[str, bytes]:
    """An uploaded photo as it is stored: its media type (by content) and its bytes without metadata (EXIF GPS,
    XMP, comments…: `photos.strip_metadata`)."""
    media_type = photo_type(data)
    return media_type, strip_metadata(data, media_type)


def orphan_photos(uploaded: dict[str, datetime], referenced: set[str], now: datetime,
                  grace: timedelta = PHOTO_ORPHAN_GRACE) -> list[str]:
    """Of some photos (id → upload time), those no report references that were uploaded longer than `grace` before
    `now` (a younger one may belong to a report being made right now)."""
    return [photo_id for photo_id, at in uploaded.items() if photo_id not in referenced and at <= now - grace]


@dataclass(frozen=True)
class Staff:
    """Who acts on grid work: a member with roles and the grid they belong to."""

    member_id: str
    roles: tuple[str, ...]
    grid_id: str | None

    def may_decide_for(self, grid_id: str | None) -> bool:
        """An admin decides for any grid; a grid worker only for their own."""
        return "admin" in self.roles or ("grid_worker" in self.roles and self.grid_id is not None
                                         and self.grid_id == grid_id)

    def require_grid(self, grid_id: str | None) -> None:
        if not any(r in self.roles for r in DECIDERS):
            raise Forbidden("只有网格员或管理员可以核实。 Only a grid worker or an admin can verify.",
                            code="role_required")
        if not self.may_decide_for(grid_id):
            raise Forbidden("这不是您的网格。 This is not your grid.", code="not_your_grid")


@dataclass(frozen=True)
class GridReport:
    report_id: str
    community_id: str
    grid_id: str
    reporter_id: str
    report_type: str
    text: str
    place: str
    photo_id: str
    photo_type: str
    photo_bytes: int
    major_hazard_claimed: bool
    created_at: datetime
    status: str = OPEN
    major_hazard: bool = False      # confirmed by the verifier
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None

    def readable_by(self, reader: Staff) -> bool:
        """The reporter, the grid worker of its grid and admins may see it (and its photo)."""
        return reader.member_id == self.reporter_id or reader.may_decide_for(self.grid_id)

    def _decide(self, by: Staff, now: datetime) -> None:
        by.require_grid(self.grid_id)
        if by.member_id == self.reporter_id:
            raise Forbidden("不能核实自己的随手拍。 You cannot decide your own report.", code="own_report")
        if self.status != OPEN:
            raise Conflict(f"这条随手拍已处理（{self.status}）。 This report is already {self.status}.",
                           code="report_decided", status_now=self.status)

    def verify(self, by: Staff, major_hazard: bool, now: datetime) -> "GridReport":
        """Verified (a major hazard confirmed or not): the reporter earns the points of its type."""
        self._decide(by, now)
        return replace(self, status=VERIFIED, major_hazard=major_hazard, decided_at=now, decided_by=by.member_id)

    def dismiss(self, by: Staff, reason: str, now: datetime) -> "GridReport":
        """Dismissed with a reason the reporter reads; no points."""
        self._decide(by, now)
        return replace(self, status=DISMISSED, decided_at=now, decided_by=by.member_id, reason=reason)

    def event_facts(self) -> dict:
        """GridReportVerified: ids and the facts the rules price (no text, no place, no photo)."""
        return {"community_id": self.community_id, "report_id": self.report_id, "member_id": self.reporter_id,
                "grid_id": self.grid_id, "report_type": self.report_type, "major_hazard": self.major_hazard,
                "verified_at": self.decided_at.isoformat(), "verified_by": self.decided_by}


def check_report_type(rules, report_type: str) -> None:
    """A report type the community's rules in effect price."""
    if rules.report_type(report_type) is None:
        known = sorted(rules["report_types"])
        raise Unprocessable(f"没有随手拍类型「{report_type}」。 Unknown report type {report_type!r}.",
                            code="unknown_report_type", known=known)


# -- standing duties ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DutyAssignment:
    assignment_id: str
    community_id: str
    member_id: str
    duty: str
    grid_id: str | None
    assigned_by: str
    assigned_at: datetime
    active: bool = True
    verified_periods: tuple[str, ...] = field(default_factory=tuple)


def assignment_id(community_id: str, member_id: str, duty: str) -> str:
    """One assignment per member and duty (re-assigning answers the same one)."""
    return f"dt_{community_id}_{member_id}_{duty}"


def check_duty(rules, duty: str) -> dict:
    """A duty the rules in effect price: its `{period, points}`."""
    found = rules.duty(duty)
    if found is None:
        raise Unprocessable(f"没有值守项目「{duty}」。 Unknown duty {duty!r}.", code="unknown_duty",
                            known=sorted(rules["duties"]))
    return found


def verification_id(assignment: DutyAssignment, period: str) -> str:
    return f"{assignment.assignment_id}_{period}"


def check_verifiable(assignment: DutyAssignment, by: Staff) -> None:
    """Who may verify a member's duty: the grid worker of the member's grid or an admin, never the holder."""
    by.require_grid(assignment.grid_id)
    if by.member_id == assignment.member_id:
        raise Forbidden("不能核实自己的值守。 You cannot verify your own duty.", code="own_duty")
    if not assignment.active:
        raise Conflict("这项值守已取消。 This duty is no longer assigned.", code="duty_inactive")


def duty_facts(assignment: DutyAssignment, period: str, by: str, at: datetime) -> dict:
    """DutyVerified: ids, the duty and its period."""
    return {"community_id": assignment.community_id, "verification_id": verification_id(assignment, period),
            "member_id": assignment.member_id, "grid_id": assignment.grid_id, "duty": assignment.duty,
            "period": period, "verified_at": at.isoformat(), "verified_by": by}
