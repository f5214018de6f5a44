"""Matching domain: who may help with what (candidates, requests seen by matching, policy, eligibility rules)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from shared.errors import Conflict
from services.matching import availability
from services.matching.availability import Slot, WindowByDay

URGENCIES = ("low", "normal", "high")
OPEN = "open"
# Request states after which a helper's commitment is over (requests' COMMITTED = accepted, in_progress).
COMMITMENT_ENDS = ("claimed", "completed", "disputed", "cancelled", "expired")


def normalize_category(text: str | None) -> str:
    """Skills and categories compare case- and separator-insensitively ('Pet care' == 'pet_care')."""
    return "_".join((text or "").strip().lower().replace("-", " ").replace("/", " ").split())


def to_ts(value) -> float | None:
    """A datetime or ISO string as a UTC timestamp (naive datetimes are UTC, as MongoDB returns them)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


@dataclass(frozen=True)
class Policy:
    """The community-independent knobs of matching (MATCHING_* settings)."""

    commitment_limit: int = 3
    earnings_window_days: int = 30
    points_per_hour: int = 10  # SPEC §5: ordinary community work earns 10 PT per hour
    newcomer_tasks: int = 3
    low_earner_hours: float = 5.0
    top_n: int = 5

    @classmethod
    def from_config(cls, config) -> "Policy":
        """Policy from MATCHING_COMMITMENT_LIMIT, MATCHING_EARNINGS_WINDOW_DAYS, MATCHING_NOTIFY_TOP…"""
        return cls(commitment_limit=int(config.setting("COMMITMENT_LIMIT", cls.commitment_limit)),
                   earnings_window_days=int(config.setting("EARNINGS_WINDOW_DAYS", cls.earnings_window_days)),
                   points_per_hour=int(config.setting("POINTS_PER_HOUR", cls.points_per_hour)),
                   newcomer_tasks=int(config.setting("NEWCOMER_TASKS", cls.newcomer_tasks)),
                   low_earner_hours=float(config.setting("LOW_EARNER_HOURS", cls.low_earner_hours)),
                   top_n=int(config.setting("NOTIFY_TOP", cls.top_n)))

    @property
    def earnings_window_seconds(self) -> float:
        """The look-back of 'recent earnings'."""
        return self.earnings_window_days * 86400.0


@dataclass(slots=True)
class Candidate:
    """A member as matching sees them: profile facts, load, track record and recent earnings."""

    member_id: str
    community_id: str
    grid_id: str | None = None
    skills: frozenset = frozenset()
    slots: tuple[Slot, ...] = ()
    vulnerable: bool = False
    active: bool = False
    open_commitments: int = 0
    completed: int = 0
    released: int = 0
    disputed: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    earnings: tuple = ()  # ((timestamp, unit, amount), …)
    offers: tuple = ()  # ((offer_id, category, window_end timestamp), …)
    # (policy id, reliability, fairness, valid until): request-independent parts for the ranking fast path.
    memo: tuple | None = None

    @classmethod
    def from_doc(cls, doc: dict) -> "Candidate":
        """Build from a read-model member document."""
        return cls(
            member_id=doc["_id"], community_id=doc.get("community_id", ""), grid_id=doc.get("grid_id"),
            skills=frozenset(normalize_category(s) for s in doc.get("skills") or ()),
            slots=availability.parse_slots(doc.get("availability")),
            vulnerable=bool(doc.get("vulnerable")), active=doc.get("status") == "active",
            open_commitments=int(doc.get("open_commitments", 0)), completed=int(doc.get("completed", 0)),
            released=int(doc.get("released", 0)), disputed=int(doc.get("disputed", 0)),
            rating_sum=int(doc.get("rating_sum", 0)), rating_count=int(doc.get("rating_count", 0)),
            earnings=tuple((to_ts(e["at"]), e["unit"], int(e["amount"])) for e in doc.get("earnings") or ()),
            offers=tuple((o["offer_id"], normalize_category(o["category"]), to_ts(o["window_end"]))
                         for o in doc.get("offers") or ()))

    def recent_hours(self, policy: Policy, now: float) -> float:
        """Hour-equivalents earned inside the earnings window (PT converted at the policy's rate)."""
        since = now - policy.earnings_window_seconds
        hours = 0.0
        for at, unit, amount in self.earnings:
            if at >= since:
                hours += amount / 60.0 if unit == "HOUR" else amount / policy.points_per_hour
        return hours

    def offers_category(self, category: str, now: float) -> bool:
        """Whether the member has a live offer ('I can help with …') in this category."""
        return any(cat == category and end > now for _, cat, end in self.offers)


@dataclass(frozen=True)
class RequestContext:
    """An open request as matching scores it; the window is pre-split into local weekday ranges."""

    request_id: str
    community_id: str
    requester_id: str | None
    category: str
    grid_id: str | None
    near_grids: frozenset  # neighbouring grids, not including grid_id itself
    window: WindowByDay
    needed_minutes: int
    urgency: str = "normal"
    vulnerable_requester: bool = False
    excluded: frozenset = frozenset()  # helpers released from this request
    window_start: str | None = None
    window_end: str | None = None
    estimated_minutes: int = 0
    unit: str | None = None
    window_end_ts: float = float("inf")

    @classmethod
    def from_doc(cls, doc: dict, *, neighbours: dict, timezone_name: str | None,
                 vulnerable_requester: bool) -> "RequestContext":
        """Build from a read-model request document, the community's grid graph and time zone."""
        start, end = _as_datetime(doc["window_start"]), _as_datetime(doc["window_end"])
        window = availability.window_by_day(start, end, availability.zone(timezone_name))
        window_minutes = max(1, int((end - start).total_seconds() // 60))
        estimated = int(doc.get("estimated_minutes") or 0)
        grid = doc.get("grid_id")
        return cls(request_id=doc["_id"], community_id=doc["community_id"], requester_id=doc.get("requester_id"),
                   category=normalize_category(doc.get("category")), grid_id=grid,
                   near_grids=frozenset(neighbours.get(grid, ())) - {grid} if grid else frozenset(),
                   window=window, needed_minutes=max(1, min(window_minutes, estimated or window_minutes)),
                   urgency=doc.get("urgency") if doc.get("urgency") in URGENCIES else "normal",
                   vulnerable_requester=vulnerable_requester,
                   excluded=frozenset(doc.get("released_helpers") or ()),
                   window_start=start.isoformat(), window_end=end.isoformat(), estimated_minutes=estimated,
                   unit=doc.get("unit"), window_end_ts=end.timestamp())


def _as_datetime(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ineligibility(request: RequestContext, candidate: Candidate, policy: Policy) -> str | None:
    """Why a member may not be suggested for a request (None when they may)."""
    if candidate.member_id == request.requester_id:
        return "requester"
    if not candidate.active:
        return "inactive"
    if candidate.community_id != request.community_id:
        return "other_community"
    if candidate.open_commitments >= policy.commitment_limit:
        # SPEC §5 "avoid elite monopoly": a few busy residents must not take everything.
        return "at_commitment_limit"
    if candidate.member_id in request.excluded:
        return "released_from_this_request"
    return None


def ensure_open(doc: dict) -> None:
    """Suggestions make sense only while a request is waiting for a helper."""
    if doc.get("state") != OPEN:
        raise Conflict(f"该求助当前为 {doc.get('state')} 状态，只有待接单的求助才有推荐。 "
                       f"The request is {doc.get('state')}; suggestions are only given for open requests.",
                       code="request_not_open", state=doc.get("state"))
