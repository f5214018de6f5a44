"""Settlement domain: merchants, catalogue items, redemptions, pay codes, batches and the sponsor budget."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import Conflict, Forbidden, Unprocessable
from services.settlement.money import max_points_for_bill, points_to_fen, share_of_bill_fen

DEFAULT_RATE_FEN_PER_POINT = 10        # seeds: 1 PT = 0.1 yuan; property fees: 100 PT = 10 yuan
DEFAULT_MIN_POINTS = 50
DEFAULT_SHARE_BP = {"shop": 5_000, "property": 10_000}
DEFAULT_TIMEZONE = "Asia/Shanghai"
MERCHANT_KINDS = ("shop", "property")
SCHEDULES = ("daily", "weekly")
MERCHANT_STATUSES = ("active", "suspended")

REQUESTED, COMPLETED, DECLINED, EXPIRED, REVERSED = "requested", "completed", "declined", "expired", "reversed"
REDEMPTION_STATES = (REQUESTED, COMPLETED, DECLINED, EXPIRED, REVERSED)
# What a ledger transfer event means for the redemption it references.
OUTCOME_OF = {"TransferPosted": COMPLETED, "TransferRejected": DECLINED, "TransferCancelled": DECLINED,
              "TransferExpired": EXPIRED}

OPEN, CLOSED, PAID = "open", "closed", "paid"


def new_id(prefix: str) -> str:
    """A new identifier such as `mer_3f2a…`."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def pay_code_digest(code: str) -> str:
    """The SHA-256 (hex) of a pay code as typed, case and spaces ignored as the ledger does (only digests are kept)."""
    return hashlib.sha256(code.strip().upper().replace(" ", "").encode()).hexdigest()


def zone(name: str | None) -> ZoneInfo:
    """The community's time zone (Asia/Shanghai when unknown or invalid)."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


# -- merchants -----------------------------------------------------------------------------------
@dataclass
class Merchant:
    """A shop partner (商家) or the property company of one community."""

    merchant_id: str
    community_id: str
    name: str
    kind: str = "shop"
    address: str = ""
    grid_id: str | None = None
    staff: list[str] = field(default_factory=list)
    settlement_rate_fen_per_point: int = DEFAULT_RATE_FEN_PER_POINT
    max_discount_share_bp: int = DEFAULT_SHARE_BP["shop"]
    min_points: int = DEFAULT_MIN_POINTS
    schedule: str = "daily"
    status: str = "active"
    created_at: datetime | None = None
    last_period_end: datetime | None = None

    @classmethod
    def register(cls, merchant_id: str, community_id: str, fields_: dict, now: datetime,
                 community_point_value_fen: int | None = None) -> "Merchant":
        """A new merchant with the defaults of its kind filled in."""
        kind = fields_.get("kind", "shop")
        values = dict(fields_)
        values.setdefault("settlement_rate_fen_per_point", community_point_value_fen or DEFAULT_RATE_FEN_PER_POINT)
        values.setdefault("max_discount_share_bp", DEFAULT_SHARE_BP.get(kind, DEFAULT_SHARE_BP["shop"]))
        values.setdefault("min_points", DEFAULT_MIN_POINTS)
        merchant = cls(merchant_id=merchant_id, community_id=community_id, created_at=now, **values)
        merchant.validate()
        return merchant

    def validate(self) -> None:
        """Field rules the schema cannot express alone."""
        if self.kind not in MERCHANT_KINDS:
            raise Unprocessable(f"商户类型须为以下之一：{', '.join(MERCHANT_KINDS)}。 "
                                f"kind must be one of {', '.join(MERCHANT_KINDS)}.", code="bad_kind")
        if self.schedule not in SCHEDULES:
            raise Unprocessable(f"结算周期须为以下之一：{', '.join(SCHEDULES)}。 "
                                f"schedule must be one of {', '.join(SCHEDULES)}.", code="bad_schedule")
        if self.status not in MERCHANT_STATUSES:
            raise Unprocessable("状态须为 active（营业）或 suspended（暂停）。 "
                                "status must be active or suspended.", code="bad_status")
        if not 1 <= self.settlement_rate_fen_per_point <= 100_000:
            raise Unprocessable("结算价须为每积分 1 到 100000 分。 "
                                "The settlement rate must be 1..100000 fen per point.", code="bad_rate")
        if not 0 < self.max_discount_share_bp <= 10_000:
            raise Unprocessable("积分抵扣比例上限须为 1 到 10000 个基点。 "
                                "The maximum share must be 1..10000 basis points.", code="bad_share")
        if self.min_points < 1:
            raise Unprocessable("最低兑换额须至少 1 积分。 The minimum must be at least 1 point.", code="bad_minimum")

    def update(self, changes: dict) -> None:
        """Apply an admin's changes (validated as a whole)."""
        for key, value in changes.items():
            setattr(self, key, value)
        self.validate()

    def require_active(self) -> None:
        """Only an active merchant takes redemptions."""
        if self.status != "active":
            raise Conflict("该商户已暂停，不能兑换积分。 "
                           "This merchant is suspended and cannot take redemptions.", code="merchant_suspended")

    def check_till_redemption(self, points: int, bill_fen: int) -> int:
        """Check the till rules (minimum, max share of the bill); returns the value of the points in fen."""
        if points < self.min_points:
            raise Unprocessable(f"在该商户每次至少兑换 {self.min_points} 积分。 "
                                f"At least {self.min_points} points per redemption at this merchant.",
                                code="below_minimum", min_points=self.min_points)
        value = points_to_fen(points, self.settlement_rate_fen_per_point)
        allowed = share_of_bill_fen(bill_fen, self.max_discount_share_bp)
        if value > allowed:
            raise Unprocessable(
                f"{points} 积分值 {value} 分；这笔账单最多可用积分抵 {allowed} 分。 "
                f"{points} points are worth {value} fen; at most {allowed} fen of this bill may be paid in points.",
                code="over_max_share", value_fen=value, allowed_fen=allowed,
                max_points=max_points_for_bill(bill_fen, self.max_discount_share_bp,
                                               self.settlement_rate_fen_per_point))
        return value

    def event_facts(self) -> dict:
        """The MerchantRegistered / MerchantUpdated payload (no addresses or staff identities)."""
        return {"merchant_id": self.merchant_id, "community_id": self.community_id, "name": self.name,
                "settlement_rate_fen_per_point": self.settlement_rate_fen_per_point,
                "max_discount_share_bp": self.max_discount_share_bp, "min_points": self.min_points,
                "schedule": self.schedule, "status": self.status, "kind": self.kind}


def require_staff_of(principal, merchant: Merchant) -> None:
    """Merchant staff act only for their own shop (token role merchant with mid = merchant id)."""
    if (principal.community_id != merchant.community_id or not principal.has_role("merchant")
            or principal.merchant_id != merchant.merchant_id):
        raise Forbidden("只有该商户自己的店员可以这样做。 Only this merchant's own staff may do this.", code="other_merchant")


def can_view_merchant_data(principal, merchant: Merchant) -> bool:
    """Own staff and the community's admins see a merchant's redemptions and batches."""
    if principal.community_id != merchant.community_id:
        return False
    return principal.is_admin or (principal.has_role("merchant") and principal.merchant_id == merchant.merchant_id)


# -- catalogue -----------------------------------------------------------------------------------
@dataclass
class CatalogItem:
    """An item of the points mall (积分商城): stock leaves only when its redemption posts."""

    item_id: str
    merchant_id: str
    community_id: str
    name: str
    price_points: int
    stock: int
    reserved: int = 0
    active: bool = True

    @property
    def available(self) -> int:
        """Units that may still be ordered (stock not held by a pending order)."""
        return self.stock - self.reserved

    def reserve(self) -> None:
        """Hold one unit for an order whose redemption is requested."""
        if not self.active:
            raise Conflict("该商品未上架。 This item is not on offer.", code="item_inactive")
        if self.available < 1:
            raise Conflict("该商品已售罄。 This item is out of stock.", code="out_of_stock")
        self.reserved += 1

    def consume(self) -> None:
        """The order's redemption posted: the held unit leaves the stock."""
        self.reserved = max(0, self.reserved - 1)
        self.stock = max(0, self.stock - 1)

    def release(self) -> None:
        """The order's redemption was declined or expired: the held unit is available again."""
        self.reserved = max(0, self.reserved - 1)

    def set_stock(self, stock: int) -> None:
        """Staff count the shelf; held units must still be covered."""
        if stock < self.reserved:
            raise Conflict(f"有 {self.reserved} 件被未完成订单占用，库存不能低于这个数。 "
                           f"{self.reserved} units are held by pending orders; stock cannot go below that.",
                           code="stock_below_reserved")
        self.stock = stock

    def event_facts(self) -> dict:
        """The CatalogItemChanged payload."""
        return {"item_id": self.item_id, "community_id": self.community_id, "merchant_id": self.merchant_id,
                "name": self.name, "price_points": self.price_points, "stock": self.stock, "active": self.active}


# -- redemptions ---------------------------------------------------------------------------------
@dataclass
class Redemption:
    """Points a member spends at a merchant; valid only once the ledger posts its transfer."""

    redemption_id: str
    community_id: str
    merchant_id: str
    member_id: str
    points: int
    bill_fen: int
    rate_fen_per_point: int
    value_fen: int
    staff_id: str | None
    item_id: str | None = None
    pay_code_sha256: str | None = None
    state: str = REQUESTED
    transfer_id: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None
    batch_id: str | None = None
    reversal_transfer_id: str | None = None  # the ledger's compensating transfer, once the shop gave points back
    reversed_at: datetime | None = None
    removed_from_batch: str | None = None  # the unpaid batch it was taken out of when reversed
    charge_id: str | None = None  # the shop's 收款码 or the property-fee bill it pays, if any

    def note_transfer(self, transfer_id: str) -> None:
        """The ledger made the pending transfer the member approves."""
        if self.transfer_id is None:
            self.transfer_id = transfer_id

    def resolve(self, outcome: str, transfer_id: str, at: datetime, reason: str | None = None) -> bool:
        """Move to completed/declined/expired once; False (no change) if already resolved."""
        if outcome not in (COMPLETED, DECLINED, EXPIRED):
            raise ValueError(outcome)
        if self.state != REQUESTED:
            return False
        self.state, self.transfer_id, self.resolved_at, self.reason = outcome, transfer_id, at, reason
        return True

    def reverse(self, reversal_transfer_id: str, at: datetime) -> bool:
        """The ledger reversed the posted transfer (the points went back to the member): once, only when completed.
        A reversal news that arrives before the completion is kept and applied right after it."""
        if self.state != COMPLETED:
            return False
        self.state, self.reversal_transfer_id, self.reversed_at = REVERSED, reversal_transfer_id, at
        return True

    @property
    def fen(self) -> int:
        """The cash value of its points at the agreed rate (what a batch line pays)."""
        return points_to_fen(self.points, self.rate_fen_per_point)

    def event_facts(self) -> dict:
        """The RedemptionCompleted / Declined / Expired / Reversed payload."""
        return {"redemption_id": self.redemption_id, "community_id": self.community_id,
                "merchant_id": self.merchant_id, "member_id": self.member_id, "points": self.points,
                "transfer_id": self.transfer_id}


def check_not_self(member_id: str, staff_id: str) -> None:
    """Staff cannot charge themselves (the ledger would never let them approve their own charge)."""
    if member_id == staff_id:
        raise Unprocessable("店员不能在自己的收银台兑换自己的积分。 "
                            "Staff cannot redeem their own points at their own till.", code="self_redemption")


def check_member(member: dict | None, community_id: str) -> None:
    """The member must be known to this community and active."""
    if member is None or member.get("community_id") != community_id:
        raise Unprocessable("本社区没有这位居民。 This member is not known in this community.", code="member_unknown")
    if member.get("status", "active") != "active":
        raise Unprocessable("该居民的账户已停用。 This member is not active.", code="member_inactive")


def check_balance(available: int | None, points: int) -> None:
    """Refuse more points than the member has, when the balance is known (the ledger still decides)."""
    if available is not None and points > available:
        raise Unprocessable(f"该居民可用积分为 {max(available, 0)}。 "
                            f"The member has {max(available, 0)} points available.", code="insufficient_points",
                            available_points=max(available, 0))


# -- pay codes -----------------------------------------------------------------------------------
@dataclass
class PayCode:
    """What this service knows of a member's one-time pay code (the ledger verifies it for real)."""

    code_id: str
    member_id: str | None
    max_points: int | None
    expires_at: datetime | None
    used: bool = False
    claimed_by: str | None = None

    def check(self, member_id: str, points: int, now: datetime) -> None:
        """A code is bound to its member, unexpired, unused and covers the points."""
        if self.used or self.claimed_by:
            raise Conflict("这个付款码已用过。 This pay code was already used.", code="pay_code_used")
        if self.member_id is None or self.expires_at is None:
            raise Unprocessable("付款码无效。 This pay code is not known.", code="pay_code_unknown")
        if self.member_id != member_id:
            raise Unprocessable("这个付款码属于另一位居民。 This pay code belongs to another member.", code="pay_code_other_member")
        if self.expires_at <= now:
            raise Unprocessable("付款码已过期，请让居民重新生成。 "
                                "This pay code has expired; ask the member for a new one.", code="pay_code_expired")
        if self.max_points is not None and points > self.max_points:
            raise Unprocessable(f"这个付款码最多可用 {self.max_points} 积分。 "
                                f"This pay code allows at most {self.max_points} points.",
                                code="pay_code_over_max", max_points=self.max_points)


# -- charges (收款码 and property-fee bills) -----------------------------------------------------------
CHARGE_OPEN, CHARGE_PAYING, CHARGE_PAID = "open", "paying", "paid"
CHARGE_EXPIRED = "expired"  # said, never stored: an open charge whose time has run out


@dataclass
class Charge:
    """A bill a merchant asks a member to pay partly in points: a till's 收款码 (anyone who scans it) or a
    property-fee bill addressed to one resident (物业费抵扣). The member chooses how many points within the
    merchant's rules; paying makes a redemption, and the charge is paid once that redemption completes."""

    charge_id: str
    community_id: str
    merchant_id: str
    bill_fen: int
    memo: str
    staff_id: str
    expires_at: datetime
    member_id: str | None = None
    state: str = CHARGE_OPEN
    redemption_id: str | None = None
    created_at: datetime | None = None

    def check_visible_to(self, member_id: str, insider: bool) -> None:
        """An addressed bill is its member's (and the merchant's insiders') business only."""
        if self.member_id is not None and self.member_id != member_id and not insider:
            raise Forbidden("这张账单不是给您的。This bill is addressed to another member.", code="charge_other_member")

    def start_payment(self, member_id: str, redemption_id: str, now: datetime) -> None:
        """A member pays it: open, unexpired, and theirs if addressed; one payment at a time."""
        self.check_visible_to(member_id, insider=False)
        if self.state == CHARGE_PAID:
            raise Conflict("这张账单已经付过了。This bill is already paid.", code="charge_paid")
        if self.state == CHARGE_PAYING:
            raise Conflict("这张账单正在支付中，请等待确认。This bill is being paid; wait for the approval.", code="charge_paying")
        if self.expires_at <= now:
            raise Unprocessable("收款码已过期，请商家重新出示。This payment code has expired; ask the shop for a new one.", code="charge_expired")
        self.state, self.redemption_id = CHARGE_PAYING, redemption_id

    def settle(self, redemption_id: str, completed: bool) -> bool:
        """Its redemption resolved: paid when it completed, open again (to pay anew) when it did not."""
        if self.redemption_id != redemption_id or self.state != CHARGE_PAYING:
            return False
        if completed:
            self.state = CHARGE_PAID
        else:
            self.state, self.redemption_id = CHARGE_OPEN, None
        return True


def charge_view(doc: dict, merchant: Merchant, now: datetime) -> dict:
    """A stored charge with what the payer must see: who asks, and the merchant's rules for this bill; an open
    charge whose time ran out by `now` is shown `expired` (paying it is refused with charge_expired)."""
    state = CHARGE_EXPIRED if doc["state"] == CHARGE_OPEN and doc["expires_at"] <= now else doc["state"]
    return {**doc, "state": state, "merchant_name": merchant.name, "merchant_kind": merchant.kind,
            "rate_fen_per_point": merchant.settlement_rate_fen_per_point, "min_points": merchant.min_points,
            "max_points": max_points_for_bill(doc["bill_fen"], merchant.max_discount_share_bp,
                                              merchant.settlement_rate_fen_per_point)}


# -- settlement batches --------------------------------------------------------------------------
@dataclass
class SponsorBudget:
    """A community's cash budget (fen) from which merchants are settled."""

    community_id: str
    topped_up_fen: int = 0
    committed_fen: int = 0

    @property
    def remaining_fen(self) -> int:
        """Cash not yet promised to a batch (negative after an admin accepted an over-budget batch)."""
        return self.topped_up_fen - self.committed_fen

    def top_up(self, amount_fen: int) -> None:
        """Record cash added by the sponsor."""
        if amount_fen <= 0:
            raise Unprocessable("充值须为正整数（单位：分）。 A top-up must be a positive number of fen.", code="bad_amount")
        self.topped_up_fen += amount_fen

    def commit(self, fen: int) -> None:
        """Promise `fen` to a batch."""
        self.committed_fen += fen


@dataclass
class Batch:
    """One merchant's settlement for a period: open (drafted) → closed (owed) → paid."""

    batch_id: str
    community_id: str
    merchant_id: str
    period_start: datetime | None
    period_end: datetime
    points: int
    fen: int
    redemption_count: int
    state: str = OPEN
    chargeback_points: int = 0  # paid redemptions reversed since, charged back here (points and fen are net)
    chargeback_fen: int = 0
    chargeback_count: int = 0
    over_budget: bool = False
    budget_acknowledged: bool = False
    payment_reference: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    paid_at: datetime | None = None

    def close(self, budget: SponsorBudget, now: datetime) -> None:
        """Freeze the batch; within budget the cash is committed, otherwise it is flagged for the admin."""
        if self.state != OPEN:
            raise Conflict(f"该批次已经处理过了（{self.state}）。 "
                           f"This batch is already {self.state}.", code="batch_not_open", state=self.state)
        self.state, self.closed_at = CLOSED, now
        if self.fen <= budget.remaining_fen:
            budget.commit(self.fen)
            self.over_budget = False
        else:
            self.over_budget = True

    @property
    def payable(self) -> bool:
        """Closed, and within budget or accepted by the admin."""
        return self.state == CLOSED and (not self.over_budget or self.budget_acknowledged)

    def acknowledge_over_budget(self) -> None:
        """The admin accepts paying a batch beyond the remaining sponsor budget."""
        if self.state != CLOSED or not self.over_budget:
            raise Conflict("只有超出预算而被标记的已关闭批次才需要确认。 "
                           "Only a closed batch flagged over budget needs acknowledging.", code="not_over_budget")
        self.budget_acknowledged = True

    def pay(self, reference: str, budget: SponsorBudget, now: datetime) -> None:
        """Record the cash payment; an over-budget batch needs a top-up or the admin's acknowledgement."""
        if self.state == OPEN:
            raise Conflict("请先关闭批次再付款。 Close the batch before paying it.", code="batch_not_closed")
        if self.state == PAID:
            raise Conflict("该批次已付款。 This batch is already paid.", code="batch_already_paid",
                           payment_reference=self.payment_reference)
        if self.over_budget:
            if not self.budget_acknowledged and self.fen > budget.remaining_fen:
                raise Conflict("该批次超出剩余的赞助预算，请先充值或确认。 "
                               "This batch exceeds the remaining sponsor budget; top up or acknowledge it first.",
                               code="over_budget", fen=self.fen, remaining_fen=budget.remaining_fen)
            budget.commit(self.fen)  # over-budget batches were not committed when they closed
        self.state, self.payment_reference, self.paid_at = PAID, reference, now

    def _committed(self) -> bool:
        """Whether this batch's cash is promised from the sponsor budget now."""
        return self.state == CLOSED and not self.over_budget

    def take_out(self, points: int, fen: int, budget: SponsorBudget) -> None:
        """A redemption on this unpaid batch was reversed: its line leaves the batch (and its cash the budget)."""
        if self.state == PAID:
            raise Conflict("已付款的批次不能修改，请改为退款冲回。 "
                           "A paid batch cannot change; charge the reversal back instead.", code="batch_paid")
        if self._committed():
            budget.commit(-fen)
        self.points, self.fen, self.redemption_count = self.points - points, self.fen - fen, self.redemption_count - 1

    def can_charge_back(self, points: int) -> bool:
        """Whether a chargeback of `points` fits this unpaid batch (what it pays never goes below zero)."""
        return self.state != PAID and self.points >= points

    def charge_back(self, points: int, fen: int, budget: SponsorBudget | None = None) -> None:
        """A paid redemption was reversed since: its value comes off what this batch pays."""
        if not self.can_charge_back(points):
            raise Conflict("这笔退款不属于这个批次。 This chargeback does not fit this batch.", code="chargeback_too_large")
        if budget is not None and self._committed():
            budget.commit(-fen)
        self.points, self.fen = self.points - points, self.fen - fen
        self.chargeback_points += points
        self.chargeback_fen += fen
        self.chargeback_count += 1

    def closed_facts(self) -> dict:
        """The SettlementBatchClosed payload."""
        return {"batch_id": self.batch_id, "community_id": self.community_id, "merchant_id": self.merchant_id,
                "period_start": self.period_start.isoformat() if self.period_start else None,
                "period_end": self.period_end.isoformat(), "points": self.points, "fen": self.fen,
                "redemption_count": self.redemption_count, "chargeback_points": self.chargeback_points,
                "chargeback_fen": self.chargeback_fen, "over_budget": self.over_budget}

    def paid_facts(self) -> dict:
        """The SettlementBatchPaid payload."""
        return {"batch_id": self.batch_id, "community_id": self.community_id, "merchant_id": self.merchant_id,
                "points": self.points, "fen": self.fen, "payment_reference": self.payment_reference}


def batch_line(redemption: dict, batch_id: str) -> dict:
    """One statement line: a completed redemption settled in a batch."""
    return {"redemption_id": redemption["_id"], "batch_id": batch_id, "merchant_id": redemption["merchant_id"],
            "community_id": redemption["community_id"], "member_id": redemption["member_id"],
            "transfer_id": redemption.get("transfer_id"), "points": redemption["points"],
            "rate_fen_per_point": redemption["rate_fen_per_point"],
            "fen": points_to_fen(redemption["points"], redemption["rate_fen_per_point"]),
            "item_id": redemption.get("item_id"), "completed_at": redemption.get("resolved_at")}


def chargeback(redemption: Redemption, original_batch_id: str) -> dict:
    """A paid redemption reversed afterwards: its cash comes off the merchant's next batch (batch_id None until
    a batch takes it; keyed by the redemption, so one reversal is charged back once)."""
    return {"_id": redemption.redemption_id, "redemption_id": redemption.redemption_id,
            "community_id": redemption.community_id, "merchant_id": redemption.merchant_id,
            "member_id": redemption.member_id, "transfer_id": redemption.reversal_transfer_id,
            "original_transfer_id": redemption.transfer_id, "original_batch_id": original_batch_id,
            "points": redemption.points, "rate_fen_per_point": redemption.rate_fen_per_point,
            "fen": redemption.fen, "reversed_at": redemption.reversed_at, "batch_id": None}


def fitting_chargebacks(line_points: int, pending: list[dict]) -> list[dict]:
    """The pending chargebacks (oldest first) a new batch with `line_points` of redemptions takes: as many as keep
    its net at zero or above; the rest wait for a later batch."""
    taken, left = [], line_points
    for cb in sorted(pending, key=lambda c: (c["reversed_at"], c["_id"])):
        if cb["points"] <= left:
            taken.append(cb)
            left -= cb["points"]
    return taken


def schedule_cutoff(schedule: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The end of the last whole period: local midnight today (daily) or of this Monday (weekly)."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == "weekly":
        midnight -= timedelta(days=local.weekday())
    return midnight


def batch_due(schedule: str, last_period_end: datetime | None, created_at: datetime | None, now: datetime,
              tz: ZoneInfo) -> datetime | None:
    """The cutoff of the batch a scheduled run should close now, or None if the period has not ended."""
    cutoff = schedule_cutoff(schedule, now, tz)
    since = last_period_end or created_at
    if since is not None and since >= cutoff:
        return None
    return cutoff
