"""Requests domain: the help-request lifecycle, check codes, offers, activities and sign-ups.

Pure Python: every method takes `now` and the acting member, checks the rule, changes the entity and
records the events it implies in `entity.events` as (type, payload) pairs for the handler to emit.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from shared.errors import Conflict, Forbidden, Unprocessable

CATEGORIES = ("errands", "elder_companionship", "pet_care", "tutoring", "repairs", "medical_escort",
              "environment_cleanup", "mediation", "safety_patrol", "professional_services", "other")
UNITS = ("HOUR", "PT")
URGENCIES = ("low", "normal", "high")
SERVICE_CLASSES = ("ordinary", "professional", "high_risk")

OPEN, ACCEPTED, IN_PROGRESS, CLAIMED = "open", "accepted", "in_progress", "claimed"
COMPLETED, CANCELLED, EXPIRED, DISPUTED = "completed", "cancelled", "expired", "disputed"
STATUSES = (OPEN, ACCEPTED, IN_PROGRESS, CLAIMED, COMPLETED, CANCELLED, EXPIRED, DISPUTED)
COMMITTED = (ACCEPTED, IN_PROGRESS)  # the states that count against a helper's open-commitment limit
FINAL = (COMPLETED, CANCELLED, EXPIRED, DISPUTED)

CHECKIN, CHECKOUT = "checkin", "checkout"
# How a request's status reads in a Chinese sentence.
STATUS_ZH = {OPEN: "待接单", ACCEPTED: "已有人接单", IN_PROGRESS: "进行中", CLAIMED: "已申报时长",
             COMPLETED: "已完成", CANCELLED: "已取消", EXPIRED: "已过期", DISPUTED: "有争议"}
MAX_MINUTES = 24 * 60  # one request or activity session never counts for more than a day


def new_id(prefix: str) -> str:
    """A new identifier such as `r_3f2a…`."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Policy:
    """Community-independent rules of this deployment (from REQUESTS_* settings)."""

    commitment_limit: int = 3
    claim_tolerance_minutes: int = 10
    code_ttl_minutes: int = 15
    code_max_attempts: int = 5


def measured_minutes(started_at: datetime, ended_at: datetime) -> int:
    """Whole minutes between check-in and check-out, rounded half-even."""
    seconds = Decimal((ended_at - started_at).total_seconds())
    return int((seconds / Decimal(60)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def check_window(start: datetime, end: datetime, now: datetime, what: str = "window", what_zh: str = "时间段") -> None:
    """A time window must be ordered, at most a week long and not already over."""
    if end <= start:
        raise Unprocessable(f"{what_zh}的结束时间须晚于开始时间。 The {what} must end after it starts.", code="bad_window")
    if end - start > timedelta(days=7):
        raise Unprocessable(f"{what_zh}最长 7 天。 The {what} can be at most 7 days long.", code="bad_window")
    if end <= now:
        raise Unprocessable(f"{what_zh}已经结束。 The {what} is already over.", code="window_passed")


# -- one-time check-in / check-out codes --------------------------------------------------
def _digest(salt: str, purpose: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{purpose}:{code}".encode()).hexdigest()


@dataclass
class CheckCode:
    """A one-time code, stored only as a salted hash, for one purpose, until it expires or is used."""

    purpose: str
    salt: str
    digest: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None

    @classmethod
    def issue(cls, purpose: str, code: str, salt: str, now: datetime, ttl_minutes: int) -> "CheckCode":
        """A fresh code for `purpose`, valid `ttl_minutes`."""
        return cls(purpose, salt, _digest(salt, purpose, code), now, now + timedelta(minutes=ttl_minutes))

    def verify(self, purpose: str, code: str, now: datetime, max_attempts: int) -> str | None:
        """None when the code is good (and marks it used); otherwise why it was refused."""
        if self.used_at is not None:
            return "code_used"
        if now >= self.expires_at:
            return "code_expired"
        if self.attempts >= max_attempts:
            return "code_locked"
        if self.purpose != purpose or not hmac.compare_digest(self.digest, _digest(self.salt, purpose, code)):
            self.attempts += 1
            return "wrong_code"
        self.used_at = now
        return None


CODE_MESSAGES = {
    "no_code": "这一步还没有验证码，请让求助人出示。 No code has been issued for this step; ask the requester to show one.",
    "code_used": "这个验证码已用过，请要一个新的。 This code was already used; ask for a new one.",
    "code_expired": "这个验证码已过期，请要一个新的。 This code has expired; ask for a new one.",
    "code_locked": "输错次数过多，请要一个新的验证码。 Too many wrong attempts; ask for a new code.",
    "wrong_code": "验证码不对。 The code is wrong.",
}


# -- help requests --------------------------------------------------------------------------
@dataclass
class HelpRequest:
    """A request for help (求助) and everything that happens to it until it is settled."""

    request_id: str
    community_id: str
    requester_id: str
    category: str
    title: str
    description: str
    unit: str
    estimated_minutes: int
    window_start: datetime
    window_end: datetime
    grid_id: str | None = None
    urgency: str = "normal"
    private: bool = False
    service_class: str = "ordinary"
    activity_type: str | None = None
    status: str = OPEN
    created_at: datetime | None = None
    helper_id: str | None = None
    accepted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    measured_minutes: int | None = None
    agreed_minutes: int | None = None
    claim_id: str | None = None
    claimed_minutes: int | None = None
    claimed_at: datetime | None = None
    transfer_id: str | None = None
    transfer_state: str | None = None
    settled_at: datetime | None = None
    cancelled_at: datetime | None = None
    rating: dict | None = None
    code: CheckCode | None = None
    released_helpers: list = field(default_factory=list)
    lapsed_claims: list = field(default_factory=list)  # claims whose transfer lapsed: {claim_id, transfer_id, state}
    appeal: dict | None = None  # the ledger's decision on the helper's appeal of a disputed claim (积分异议申诉)
    version: int = 0
    events: list = field(default_factory=list, repr=False, compare=False)

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def post(cls, *, community_id: str, requester_id: str, is_staff: bool, now: datetime, category: str,
             title: str, description: str, unit: str, estimated_minutes: int, window_start: datetime,
             window_end: datetime, grid_id: str | None = None, urgency: str = "normal", private: bool = False,
             service_class: str = "ordinary", activity_type: str | None = None,
             request_id: str | None = None) -> "HelpRequest":
        """A new open request; community tasks paid in points (unit PT) are posted by staff only."""
        if category not in CATEGORIES:
            raise Unprocessable(f"未知类别 {category}。 Unknown category {category!r}.", code="unknown_category")
        if unit not in UNITS:
            raise Unprocessable(f"未知单位 {unit}。 Unknown unit {unit!r}.", code="unknown_unit")
        if unit == "PT" and not is_staff:
            raise Forbidden("以积分支付的社区任务只能由组织者或网格员发布。 "
                            "Community tasks paid in points are posted by organizers or grid workers.",
                            code="staff_only")
        if not 1 <= estimated_minutes <= MAX_MINUTES:
            raise Unprocessable("预计时长须为 1 到 1440 分钟。 "
                                "The estimated duration must be 1 to 1440 minutes.", code="bad_duration")
        check_window(window_start, window_end, now)
        req = cls(request_id=request_id or new_id("r"), community_id=community_id, requester_id=requester_id,
                  category=category, title=title, description=description, unit=unit,
                  estimated_minutes=estimated_minutes, window_start=window_start, window_end=window_end,
                  grid_id=grid_id, urgency=urgency, private=private, service_class=service_class,
                  activity_type=activity_type, created_at=now)
        req._record("RequestPosted", requester_id=requester_id, kind="request", category=category, unit=unit,
                    estimated_minutes=estimated_minutes, window_start=window_start.isoformat(),
                    window_end=window_end.isoformat(), grid_id=grid_id, urgency=urgency,
                    activity_type=activity_type, posted_at=now.isoformat())
        return req

    def _record(self, type_: str, **payload) -> None:
        self.events.append((type_, {"request_id": self.request_id, "community_id": self.community_id, **payload}))

    # -- who sees what ----------------------------------------------------------------------
    def requester_visible_to(self, viewer_id: str, is_staff: bool) -> bool:
        """Private requests show the requester only to the requester, the accepted helper and staff."""
        return not self.private or is_staff or viewer_id in (self.requester_id, self.helper_id)

    def _must_be_requester(self, member_id: str, action_zh: str, action: str) -> None:
        if member_id != self.requester_id:
            raise Forbidden(f"只有求助人可以{action_zh}。 Only the requester can {action}.", code="not_requester")

    def _must_be_helper(self, member_id: str, action_zh: str, action: str) -> None:
        if self.helper_id is None or member_id != self.helper_id:
            raise Forbidden(f"只有已接单的帮忙者可以{action_zh}。 Only the accepted helper can {action}.",
                            code="not_helper")

    def _must_be(self, action_zh: str, action: str, *statuses: str) -> None:
        if self.status not in statuses:
            raise Conflict(f"这条求助{STATUS_ZH.get(self.status, self.status)}，不能{action_zh}。 "
                           f"Cannot {action} a request that is {self.status}.", code="wrong_state",
                           status_now=self.status)

    # -- taking the request -----------------------------------------------------------------
    def accept(self, helper_id: str, open_commitments: int, policy: Policy, now: datetime) -> None:
        """First come, first served, within the helper's open-commitment limit."""
        if helper_id == self.requester_id:
            raise Forbidden("不能接自己的求助。 You cannot accept your own request.", code="own_request")
        self._must_be("接单", "accept", OPEN)
        if now >= self.window_end:
            raise Conflict("这条求助的时间段已过。 This request's time window has passed.", code="window_passed")
        if helper_id in self.released_helpers:
            raise Conflict("您已被解除这条求助，会有其他邻居接手。 You were released from this request; another neighbour will take it.",
                           code="released_helper")
        if open_commitments >= policy.commitment_limit:
            raise Conflict(f"您已有 {open_commitments} 个未完成的承诺（上限 {policy.commitment_limit}），请先完成一个。 "
                           f"You already have {open_commitments} open commitments (limit "
                           f"{policy.commitment_limit}); finish one first.", code="commitment_limit")
        self.status, self.helper_id, self.accepted_at = ACCEPTED, helper_id, now
        self._record("RequestAccepted", requester_id=self.requester_id, helper_id=helper_id,
                     accepted_at=now.isoformat())

    def release(self, member_id: str, now: datetime) -> None:
        """The requester releases a helper who did not show up (or the helper steps back) before check-in."""
        if member_id not in (self.requester_id, self.helper_id):
            raise Forbidden("只有求助人或帮忙者可以解除帮忙者。 "
                            "Only the requester or the helper can release the helper.", code="not_party")
        self._must_be("解除帮忙者", "release the helper of", ACCEPTED)
        helper_id = self.helper_id
        self.released_helpers.append(helper_id)  # a no-show does not grab the request straight back
        self.status, self.helper_id, self.accepted_at, self.code = OPEN, None, None, None
        self.agreed_minutes = None
        self._record("HelperReleased", helper_id=helper_id)

    def cancel(self, member_id: str, is_staff: bool, now: datetime) -> None:
        """The requester (or staff) withdraws the request before the help has started."""
        if member_id != self.requester_id and not is_staff:
            raise Forbidden("只有求助人可以取消这条求助。 Only the requester can cancel this request.", code="not_requester")
        self._must_be("取消", "cancel", OPEN, ACCEPTED)
        self.status, self.cancelled_at, self.code = CANCELLED, now, None
        self._record("RequestCancelled")

    def expire(self, now: datetime) -> bool:
        """An open request whose window has passed expires; False if it is not due."""
        if self.status != OPEN or now < self.window_end:
            return False
        self.status = EXPIRED
        self._record("RequestExpired")
        return True

    # -- check-in / check-out -----------------------------------------------------------------
    def issue_code(self, member_id: str, code: str, salt: str, policy: Policy, now: datetime) -> CheckCode:
        """The requester shows a one-time code: for check-in once accepted, for check-out once started."""
        self._must_be_requester(member_id, "出示签到或签退码", "show a check-in or check-out code")
        if self.status == ACCEPTED:
            purpose = CHECKIN
        elif self.status == IN_PROGRESS and self.ended_at is None:
            purpose = CHECKOUT
        else:
            done = ("且已签退", " and checked out") if self.ended_at else ("", "")
            raise Conflict(f"这条求助{STATUS_ZH.get(self.status, self.status)}{done[0]}，不需要验证码。 "
                           f"No code is needed for a request that is {self.status}{done[1]}.", code="wrong_state",
                           status_now=self.status)
        self.code = CheckCode.issue(purpose, code, salt, now, policy.code_ttl_minutes)
        return self.code

    def _use_code(self, purpose: str, code: str, policy: Policy, now: datetime) -> str | None:
        if self.code is None:
            return "no_code"
        return self.code.verify(purpose, code, now, policy.code_max_attempts)

    def check_in(self, member_id: str, code: str, policy: Policy, now: datetime) -> str | None:
        """The helper enters the requester's check-in code; returns a refusal reason (wrong codes count)."""
        self._must_be_helper(member_id, "签到", "check in")
        self._must_be("签到", "check in to", ACCEPTED)
        refusal = self._use_code(CHECKIN, code, policy, now)
        if refusal is None:
            self.status, self.started_at = IN_PROGRESS, now
            self._record("HelpStarted", helper_id=self.helper_id, started_at=now.isoformat())
        return refusal

    def check_out(self, member_id: str, code: str, policy: Policy, now: datetime) -> str | None:
        """The helper enters the check-out code; the measured duration is fixed from the two check times."""
        self._must_be_helper(member_id, "签退", "check out")
        if self.status == ACCEPTED:
            raise Conflict("您还没有签到。 You have not checked in yet.", code="not_checked_in", status_now=self.status)
        self._must_be("签退", "check out of", IN_PROGRESS)
        if self.ended_at is not None:
            raise Conflict("您已经签退了。 You have already checked out.", code="already_checked_out", status_now=self.status)
        refusal = self._use_code(CHECKOUT, code, policy, now)
        if refusal is None:
            self.ended_at = now
            self.measured_minutes = measured_minutes(self.started_at, now)
        return refusal

    # -- claim and settlement ----------------------------------------------------------------
    def agree_claim(self, member_id: str, minutes: int) -> None:
        """The requester explicitly agrees the helper may claim up to `minutes` (beyond the measurement)."""
        self._must_be_requester(member_id, "同意申报的时长", "agree to a claim")
        self._must_be("同意申报的时长", "agree to a claim on", IN_PROGRESS)
        if not 1 <= minutes <= MAX_MINUTES:
            raise Unprocessable("约定时长须为 1 到 1440 分钟。 Agreed minutes must be 1 to 1440.", code="bad_minutes")
        self.agreed_minutes = minutes

    def max_claim(self, policy: Policy) -> int:
        """The most the helper may claim: measured + tolerance, or what the requester agreed if more."""
        return max((self.measured_minutes or 0) + policy.claim_tolerance_minutes, self.agreed_minutes or 0)

    def claim(self, member_id: str, minutes: int, policy: Policy, now: datetime, claim_id: str | None = None) -> None:
        """The helper claims the time, at most the measured duration plus tolerance unless agreed."""
        self._must_be_helper(member_id, "为这条求助申报时长", "claim for this request")
        if self.status == ACCEPTED:
            raise Conflict("请先签到和签退，再申报时长。 "
                           "Check in and out before claiming.", code="not_checked_in", status_now=self.status)
        self._must_be("申报时长", "claim", IN_PROGRESS)
        if self.ended_at is None:
            raise Conflict("请先签退，再申报时长。 Check out before claiming.", code="not_checked_out", status_now=self.status)
        if minutes < 1:
            raise Unprocessable("申报时长至少 1 分钟。 A claim is at least one minute.", code="bad_minutes")
        limit = self.max_claim(policy)
        if minutes > limit:
            raise Unprocessable(f"您最多可申报 {limit} 分钟（实测 {self.measured_minutes} 分钟），如需更多请求助人同意。 "
                                f"You can claim at most {limit} minutes (measured {self.measured_minutes}); "
                                "ask the requester to agree to more.", code="claim_exceeds_measured",
                                max_minutes=limit, measured_minutes=self.measured_minutes)
        self.status, self.claimed_minutes, self.claimed_at = CLAIMED, minutes, now
        self.claim_id = claim_id or new_id("cl")
        self.transfer_id = self.transfer_state = None  # a claim after a lapse waits for its own transfer
        self._record("HelpClaimed", helper_id=self.helper_id,
                     payer_id=self.requester_id if self.unit == "HOUR" else None, unit=self.unit,
                     minutes=minutes, activity_type=self.activity_type, service_class=self.service_class,
                     source="request", claim_id=self.claim_id, title=self.title)

    def _lapsed(self, transfer_id: str) -> bool:
        return any(c["transfer_id"] == transfer_id for c in self.lapsed_claims)

    def transfer_pending(self, transfer_id: str) -> bool:
        """The ledger opened the pending transfer for this claim; remember which it is."""
        # A re-delivered pending of a lapsed claim's transfer must not attach to the helper's new claim.
        if self.status != CLAIMED or self.transfer_state not in (None, "pending") or self._lapsed(transfer_id):
            return False
        self.transfer_id, self.transfer_state = transfer_id, "pending"
        return True

    def transfer_settled(self, transfer_id: str, posted: bool, now: datetime) -> bool:
        """TransferPosted completes, TransferRejected disputes; repeats and stale news change nothing."""
        if self.status != CLAIMED or (self.transfer_id not in (None, transfer_id)) or self._lapsed(transfer_id):
            return False
        self.transfer_id, self.settled_at = transfer_id, now
        self.transfer_state = "posted" if posted else "rejected"
        self.status = COMPLETED if posted else DISPUTED
        if posted:
            self._record("RequestCompleted", transfer_id=transfer_id, settled_at=now.isoformat())
        else:  # the ledger keeps the claim appealable by its helper (积分异议申诉)
            self._record("RequestDisputed", transfer_id=transfer_id, claim_id=self.claim_id, helper_id=self.helper_id,
                         settled_at=now.isoformat())
        return True

    def appeal_decided(self, appeal_id: str, upheld: bool, transfer_id: str | None, now: datetime) -> bool:
        """The ledger decided the helper's appeal of this disputed claim: upheld, the appeal's transfer paid it and
        the request completes; dismissed, the dispute is closed (the request stays disputed, with the outcome).
        Repeats and news about a request not disputed change nothing."""
        if self.status != DISPUTED or self.appeal is not None:
            return False
        self.appeal = {"appeal_id": appeal_id, "outcome": "upheld" if upheld else "dismissed",
                       "transfer_id": transfer_id, "at": now}
        if upheld:
            self.status, self.transfer_id, self.transfer_state, self.settled_at = COMPLETED, transfer_id, "posted", now
            self._record("RequestCompleted", transfer_id=transfer_id, appeal_id=appeal_id, settled_at=now.isoformat())
        else:
            self._record("DisputeClosed", appeal_id=appeal_id)
        return True

    def transfer_lapsed(self, transfer_id: str, state: str) -> bool:
        """A cancelled or expired transfer lapses the claim: back to in_progress so the helper may claim again."""
        if self.status != CLAIMED or self.transfer_id not in (None, transfer_id) or self._lapsed(transfer_id):
            return False
        claim_id = self.claim_id
        # Remembered so that late or repeated news about this transfer never touches a later claim.
        self.lapsed_claims.append({"claim_id": claim_id, "transfer_id": transfer_id, "state": state})
        self.status, self.transfer_id, self.transfer_state = IN_PROGRESS, None, state
        self.claim_id = self.claimed_minutes = self.claimed_at = None
        self._record("ClaimLapsed", helper_id=self.helper_id, transfer_id=transfer_id, state=state,
                     claim_id=claim_id)
        return True

    # -- rating -------------------------------------------------------------------------------
    def rate(self, member_id: str, stars: int, comment: str, now: datetime) -> None:
        """The helped side rates the help once, after completion."""
        self._must_be_requester(member_id, "评价这次帮忙", "rate this help")
        self._must_be("评价", "rate", COMPLETED)
        if self.rating is not None:
            raise Conflict("您已经评价过这条求助。 You have already rated this request.", code="already_rated")
        if not 1 <= stars <= 5:
            raise Unprocessable("评分须为 1 到 5 星。 Stars must be 1 to 5.", code="bad_stars")
        self.rating = {"stars": stars, "comment": comment, "rated_at": now}
        self._record("HelpRated", helper_id=self.helper_id, rater_id=member_id, stars=stars)


# -- offers ---------------------------------------------------------------------------------
@dataclass
class Offer:
    """An offer of help (I can help with …), browsable by neighbours until withdrawn or over."""

    offer_id: str
    community_id: str
    member_id: str
    category: str
    title: str
    description: str
    window_start: datetime
    window_end: datetime
    grid_id: str | None = None
    status: str = "open"
    created_at: datetime | None = None
    withdrawn_at: datetime | None = None
    version: int = 0
    events: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def post(cls, *, community_id: str, member_id: str, now: datetime, category: str, title: str,
             description: str, window_start: datetime, window_end: datetime, grid_id: str | None = None) -> "Offer":
        """A new open offer."""
        if category not in CATEGORIES:
            raise Unprocessable(f"未知类别 {category}。 Unknown category {category!r}.", code="unknown_category")
        check_window(window_start, window_end, now)
        offer = cls(new_id("o"), community_id, member_id, category, title, description, window_start, window_end,
                    grid_id, created_at=now)
        offer.events.append(("OfferPosted", {"offer_id": offer.offer_id, "community_id": community_id,
                                             "member_id": member_id, "category": category, "grid_id": grid_id,
                                             "window_start": window_start.isoformat(),
                                             "window_end": window_end.isoformat()}))
        return offer

    def withdraw(self, member_id: str, now: datetime) -> None:
        """The offering member takes the offer down."""
        if member_id != self.member_id:
            raise Forbidden("只有发布者可以撤回这条帮忙信息。 Only the member who offered can withdraw the offer.", code="not_yours")
        if self.status != "open":
            raise Conflict(f"这条帮忙信息已经处理过了（{self.status}）。 "
                           f"The offer is already {self.status}.", code="wrong_state", status_now=self.status)
        self.status, self.withdrawn_at = "withdrawn", now
        self.events.append(("OfferWithdrawn", {"offer_id": self.offer_id, "community_id": self.community_id,
                                               "member_id": member_id}))


# -- community activities ---------------------------------------------------------------------
SIGNED_UP, WITHDRAWN, ATTENDED = "signed_up", "withdrawn", "attended"


@dataclass
class SignUp:
    """One member's place in one activity, and the award that follows verified attendance."""

    activity_id: str
    community_id: str
    member_id: str
    status: str = SIGNED_UP
    signed_up_at: datetime | None = None
    withdrawn_at: datetime | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    minutes: int | None = None
    claim_id: str | None = None
    transfer_id: str | None = None
    transfer_state: str | None = None
    version: int = 0

    def transfer_news(self, transfer_id: str, state: str) -> bool:
        """Record the ledger's progress on this award; a settled award never changes again."""
        if self.status != ATTENDED or self.transfer_state in ("posted", "rejected"):
            return False
        if self.transfer_id not in (None, transfer_id):
            return False
        self.transfer_id, self.transfer_state = transfer_id, state
        return True


@dataclass
class Activity:
    """A community activity (社区活动) with limited places; attendance is verified by its organizer."""

    activity_id: str
    community_id: str
    organizer_id: str
    activity_type: str
    title: str
    description: str
    place: str
    capacity: int
    starts_at: datetime
    ends_at: datetime
    grid_id: str | None = None
    status: str = "published"
    signed_up: int = 0
    created_at: datetime | None = None
    version: int = 0
    events: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def publish(cls, *, community_id: str, organizer_id: str, is_staff: bool, now: datetime, activity_type: str,
                title: str, description: str, place: str, capacity: int, starts_at: datetime, ends_at: datetime,
                grid_id: str | None = None) -> "Activity":
        """Organizers, grid workers and admins publish activities."""
        if not is_staff:
            raise Forbidden("只有组织者、网格员和管理员可以发布活动。 "
                            "Only organizers, grid workers and admins publish activities.", code="staff_only")
        if not 1 <= capacity <= 10_000:
            raise Unprocessable("人数上限须为 1 到 10000。 Capacity must be 1 to 10000.", code="bad_capacity")
        check_window(starts_at, ends_at, now, "activity", "活动")
        act = cls(new_id("a"), community_id, organizer_id, activity_type, title, description, place, capacity,
                  starts_at, ends_at, grid_id, created_at=now)
        act._record("ActivityPublished", organizer_id=organizer_id, activity_type=activity_type,
                    capacity=capacity, starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
                    grid_id=grid_id)
        return act

    def _record(self, type_: str, **payload) -> None:
        self.events.append((type_, {"activity_id": self.activity_id, "community_id": self.community_id,
                                    **payload}))

    @property
    def duration_minutes(self) -> int:
        """The scheduled length of the activity."""
        return measured_minutes(self.starts_at, self.ends_at)

    def sign_up(self, member_id: str, existing: SignUp | None, now: datetime) -> SignUp:
        """Take a place before the activity ends, while places are left; once per member."""
        if self.status != "published":
            raise Conflict(f"活动当前不可报名（{self.status}）。 "
                           f"The activity is {self.status}.", code="wrong_state", status_now=self.status)
        if now >= self.ends_at:
            raise Conflict("活动已结束。 The activity is over.", code="activity_over")
        if existing is not None and existing.status != WITHDRAWN:
            raise Conflict("您已经报名了。 You are already signed up.", code="already_signed_up")
        if self.signed_up >= self.capacity:
            raise Conflict("活动名额已满。 The activity is full.", code="activity_full")
        self.signed_up += 1
        signup = existing or SignUp(self.activity_id, self.community_id, member_id)
        signup.status, signup.signed_up_at, signup.withdrawn_at = SIGNED_UP, now, None
        self._record("ActivitySignedUp", member_id=member_id)
        return signup

    def withdraw(self, signup: SignUp | None, now: datetime) -> None:
        """Give the place back before the activity starts."""
        if signup is None or signup.status != SIGNED_UP:
            raise Conflict("您没有报名这个活动。 You are not signed up for this activity.", code="not_signed_up")
        if now >= self.starts_at:
            raise Conflict("活动已开始，请联系组织者。 "
                           "The activity has started; ask the organizer instead.", code="activity_started")
        self.signed_up -= 1
        signup.status, signup.withdrawn_at = WITHDRAWN, now
        self._record("ActivityWithdrawn", member_id=signup.member_id)

    def verify_attendance(self, organizer_id: str, signup: SignUp | None, minutes: int | None,
                          now: datetime) -> None:
        """The organizer confirms a signed-up member attended; the points award is claimed for them."""
        if organizer_id != self.organizer_id:
            raise Forbidden("只有活动组织者可以核实出勤。 Only the activity's organizer verifies attendance.", code="not_organizer")
        if signup is None or signup.status == WITHDRAWN:
            raise Conflict("这位成员没有报名这个活动。 This member is not signed up for the activity.", code="not_signed_up")
        if signup.member_id == organizer_id:
            raise Forbidden("组织者不能核实自己的出勤。 Organizers cannot verify their own attendance.", code="own_attendance")
        if signup.status == ATTENDED:
            raise Conflict("出勤已经核实过了。 Attendance was already verified.", code="already_verified")
        if now < self.starts_at:
            raise Conflict("活动还没有开始。 The activity has not started yet.", code="not_started")
        minutes = self.duration_minutes if minutes is None else minutes
        if not 1 <= minutes <= MAX_MINUTES:
            raise Unprocessable("时长须为 1 到 1440 分钟。 Minutes must be 1 to 1440.", code="bad_minutes")
        signup.status, signup.verified_at, signup.verified_by, signup.minutes = ATTENDED, now, organizer_id, minutes
        signup.claim_id = f"{self.activity_id}:{signup.member_id}"  # unique per (activity, member)
        self._record("AttendanceVerified", member_id=signup.member_id, organizer_id=organizer_id, minutes=minutes)
        self.events.append(("HelpClaimed", {
            "request_id": self.activity_id, "community_id": self.community_id, "helper_id": signup.member_id,
            "payer_id": None, "unit": "PT", "minutes": minutes, "activity_type": self.activity_type,
            "service_class": "ordinary", "source": "activity", "claim_id": signup.claim_id,
            "title": self.title}))
