"""A member's points as FIFO lots (积分批次), with expiry, spending, penalties, owed points and point repair;
lifetime honour points and levels; the redemption threshold. Pure: a `Wallet` is a value, every operation
returns a new one and the explanation items of what it did.

- Every award that pays creates a lot: the points, the day earned, the day they expire (`expiry_date`) and the
  rule version. Spending, expiry and penalties take from the **oldest lot first**; a lot can be partly spent.
- Expiry (`expire(today)`): a lot whose expiry day has come (`expires_on <= today`, the community's local day)
  loses what remains of it; the spent part was spent.
- A penalty takes what the lots hold, oldest first. **A penalty larger than the balance never makes the
  balance negative**: the shortfall is recorded as points owed (`debt`, 欠扣积分), shown to the member, and the
  points they earn later repay it first (`earn` makes a smaller lot, or none). The ledger's posted balance is
  therefore always the sum of the lots' remainders.
- Point repair (积分修复) restores penalised points after community service: first it forgives points still
  owed, then the rest comes back as a **new lot earned on the repair day** (with a fresh expiry), so a repair
  after the penalised points' lot has expired still restores them — it does not revive the expired lot.
- Honour points (累计积分) count every point awarded, for life; spending, expiry, penalties and repairs never
  change them. Levels come from the rule set's thresholds.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from shared.economy.award import percent_of
from shared.economy.rules import RuleSet, clearing_day
from shared.errors import Conflict, Unprocessable


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_date(rules: RuleSet, earned_on: date) -> date | None:
    """The day points earned on `earned_on` expire: N months later (rolling), the first clearing date after
    the day they were earned (annual: 年度清零), or never."""
    expiry = rules["expiry"]
    if expiry["mode"] == "never":
        return None
    if expiry["mode"] == "rolling":
        return add_months(earned_on, expiry["months"])
    month, day = clearing_day(expiry["clearing_date"])
    for year in (earned_on.year, earned_on.year + 1):
        last = calendar.monthrange(year, month)[1]
        clearing = date(year, month, min(day, last))
        if clearing > earned_on:
            return clearing
    raise AssertionError("a clearing date falls within a year")  # pragma: no cover


@dataclass(frozen=True)
class Lot:
    """Points earned together: `remaining` of `amount` are still there until `expires_on`."""

    lot_id: str
    earned_on: date
    expires_on: date | None
    amount: int
    remaining: int
    rule_version: int = 0
    source: str = "award"        # award | repair | appeal

    def with_remaining(self, remaining: int) -> "Lot":
        """The lot with `remaining` points left (a direct copy: `dataclasses.replace` is slow on hot paths)."""
        return Lot(self.lot_id, self.earned_on, self.expires_on, self.amount, remaining, self.rule_version,
                   self.source)

    def to_dict(self) -> dict:
        return {"lot_id": self.lot_id, "earned_on": self.earned_on.isoformat(),
                "expires_on": self.expires_on.isoformat() if self.expires_on else None, "amount": self.amount,
                "remaining": self.remaining, "rule_version": self.rule_version, "source": self.source}


def _item(code: str, points: int, **figures) -> dict:
    return {"code": code, "points": points, **figures}


def _lot_item(code: str, lot: Lot, points: int) -> dict:
    """A line about one lot: its id, when it was earned and expires, and the rule version it was earned under."""
    return _item(code, points, lot_id=lot.lot_id, earned_on=lot.earned_on.isoformat(),
                 expires_on=lot.expires_on.isoformat() if lot.expires_on else None, rule_version=lot.rule_version)


@dataclass(frozen=True)
class Wallet:
    """A member's lots (oldest first) and the points they owe from penalties larger than their balance."""

    lots: tuple[Lot, ...] = ()
    debt: int = 0

    @property
    def balance(self) -> int:
        """Points the member can spend now (the ledger's posted balance)."""
        return sum(lot.remaining for lot in self.lots)

    def _ordered(self) -> list[Lot]:
        return sorted(self.lots, key=lambda lot: (lot.earned_on, lot.lot_id))

    def _take(self, amount: int, code: str) -> tuple["Wallet", list[dict], int]:
        """Take up to `amount` from the oldest lots; the new wallet, the items, and what could not be taken."""
        lots, items = [], []
        for lot in self._ordered():
            taken = min(lot.remaining, amount)
            if taken:
                items.append(_lot_item(code, lot, -taken))
                amount -= taken
                lot = lot.with_remaining(lot.remaining - taken)
            lots.append(lot)
        return Wallet(tuple(lots), self.debt), items, amount

    def earn(self, lot_id: str, amount: int, earned_on: date, rules: RuleSet) -> tuple["Wallet", list[dict]]:
        """Credit an award: points owed are repaid first, the rest becomes a lot expiring per the rules."""
        _positive(amount)
        repaid = min(self.debt, amount)
        items = [_item("debt_repaid", -repaid, debt_before=self.debt)] if repaid else []
        lots = self.lots
        if amount > repaid:
            lot = Lot(lot_id, earned_on, expiry_date(rules, earned_on), amount - repaid, amount - repaid,
                      rules.version)
            lots = (*lots, lot)
            items.append(_lot_item("lot_earned", lot, lot.amount))
        return Wallet(lots, self.debt - repaid), items

    def spend(self, amount: int) -> tuple["Wallet", list[dict]]:
        """Spend from the oldest lots first; refused (409) beyond the balance."""
        _positive(amount)
        if amount > self.balance:
            raise Conflict(f"积分不足：余额 {self.balance}，需要 {amount}。 Not enough points: balance {self.balance}, "
                           f"needed {amount}.", code="insufficient_points", balance=self.balance)
        wallet, items, _ = self._take(amount, "spent")
        return wallet, items

    def expire(self, today: date) -> tuple["Wallet", list[dict]]:
        """Expire what remains of every lot whose expiry day has come; idempotent."""
        if not any(lot.remaining and lot.expires_on is not None and lot.expires_on <= today for lot in self.lots):
            return self, []
        lots, items = [], []
        for lot in self._ordered():
            if lot.expires_on is not None and lot.expires_on <= today and lot.remaining:
                items.append(_lot_item("expired", lot, -lot.remaining))
                lot = lot.with_remaining(0)
            lots.append(lot)
        return Wallet(tuple(lots), self.debt), items

    def expiring(self, today: date, within_days: int) -> int:
        """Points that will expire within `within_days` days of `today` (for reminders and economy health)."""
        horizon = today + timedelta(days=within_days)
        return sum(lot.remaining for lot in self.lots if lot.expires_on is not None and today < lot.expires_on
                   <= horizon)

    def penalise(self, rules: RuleSet, reason: str) -> tuple["Wallet", list[dict]]:
        """Take the penalty the rules set for `reason` from the oldest lots; what the balance cannot cover is
        recorded as owed (debt). Every line names the reason and the rule version."""
        amount = penalty_amount(rules, reason)
        wallet, items, short = self._take(amount, "penalty")
        if short:
            wallet = replace(wallet, debt=wallet.debt + short)
            items.append(_item("penalty_debt", -short))
        return wallet, [{**item, "reason": reason, "rule_version": rules.version} for item in items]

    def reminders(self, today: date, rules: RuleSet) -> list[dict]:
        """The expiry reminders due today: for each of the rules' `reminder_days` on which lots expire exactly
        that many days from today, `{days, expires_on, points}`."""
        due = []
        for days in sorted(rules["expiry"]["reminder_days"], reverse=True):
            on = today + timedelta(days=days)
            points = sum(lot.remaining for lot in self.lots if lot.expires_on == on)
            if points:
                due.append({"days": days, "expires_on": on.isoformat(), "points": points})
        return due

    def repair(self, penalty: "Penalty", lot_id: str, amount: int, today: date,
               rules: RuleSet) -> tuple["Wallet", "Penalty", list[dict]]:
        """Restore `amount` points of `penalty` (积分修复, within the repair window and the share the rules allow):
        owed points are forgiven first, the rest comes back as a new lot earned today."""
        penalty = check_repair(penalty, amount, today, rules)
        wallet, items = self.restore(penalty.penalty_id, lot_id, amount, today, rules)
        return wallet, penalty, items

    def restore(self, penalty_id: str, lot_id: str, amount: int, today: date, rules: RuleSet,
                source: str = "repair") -> tuple["Wallet", list[dict]]:
        """Give back `amount` penalised points (a repair, or an appeal upheld: `source` "appeal"): owed points
        are forgiven first, the rest comes back as a new lot earned today."""
        _positive(amount)
        forgiven = min(self.debt, amount)
        items = [_item(f"{source}_debt", forgiven, penalty_id=penalty_id, rule_version=rules.version)
                 ] if forgiven else []
        wallet = replace(self, debt=self.debt - forgiven)
        if amount > forgiven:
            lot = Lot(lot_id, today, expiry_date(rules, today), amount - forgiven, amount - forgiven, rules.version,
                      source)
            wallet = replace(wallet, lots=(*wallet.lots, lot))
            items.append({**_lot_item(f"{source}_lot", lot, lot.amount), "penalty_id": penalty_id})
        return wallet, items


def _positive(amount) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Unprocessable("积分须为正整数。 Points must be a positive whole number.", code="bad_amount")


@dataclass(frozen=True)
class Penalty:
    """A penalty issued (by a grid worker or admin, with a reason) and how much of it was repaired since."""

    penalty_id: str
    reason: str
    amount: int
    issued_on: date
    repaired: int = 0
    repairs: tuple = field(default_factory=tuple)


def penalty_amount(rules: RuleSet, reason: str) -> int:
    """The points a penalty reason costs under the rules (422 for a reason the community has not set)."""
    amount = rules["penalties"].get(reason)
    if amount is None:
        raise Unprocessable(f"没有扣分项「{reason}」。 No penalty {reason!r} in this community's rules.",
                            code="unknown_penalty")
    return amount


def _window_open(penalty: Penalty, today: date, rules: RuleSet) -> bool:
    return today <= penalty.issued_on + timedelta(days=rules["repair"]["window_days"])


def repairable(penalty: Penalty, today: date, rules: RuleSet) -> int:
    """How many points of `penalty` can still be repaired today (0 once the repair window has closed)."""
    if not _window_open(penalty, today, rules):
        return 0
    return max(0, percent_of(penalty.amount, rules["repair"]["max_percent"]) - penalty.repaired)


def check_repair(penalty: Penalty, amount: int, today: date, rules: RuleSet) -> Penalty:
    """The penalty with `amount` more repaired, or a 422 (window closed, or more than may be restored)."""
    _positive(amount)
    if not _window_open(penalty, today, rules):
        days = rules["repair"]["window_days"]
        raise Unprocessable(f"修复期（{days} 天）已过。 The repair window ({days} days) has closed.",
                            code="repair_window_closed")
    room = repairable(penalty, today, rules)
    if amount > room:
        raise Unprocessable(f"最多还能修复 {room} 分。 At most {room} more points of this penalty can be repaired.",
                            code="repair_exceeds_penalty", repairable=room)
    return replace(penalty, repaired=penalty.repaired + amount, repairs=(*penalty.repairs, (today, amount)))


# -- honour points and levels ------------------------------------------------------------------------------
def honour_level(rules: RuleSet, honour_points: int) -> dict:
    """The member's level (星级) and what the next one needs: `{level, title_zh, title_en, next_threshold,
    points_to_next}`; level 0 (no title) below the first threshold."""
    levels = rules["honour_levels"]
    reached = [i for i, level in enumerate(levels) if honour_points >= level["threshold"]]
    current = reached[-1] if reached else -1
    ahead = levels[current + 1] if current + 1 < len(levels) else None
    title = levels[current] if current >= 0 else {}
    return {"level": current + 1, "title_zh": title.get("title_zh"), "title_en": title.get("title_en"),
            "next_threshold": ahead["threshold"] if ahead else None,
            "points_to_next": ahead["threshold"] - honour_points if ahead else None}


def check_redemption(rules: RuleSet, balance: int, amount: int) -> None:
    """兑换门槛: a member holding fewer than the community's minimum points cannot redeem at all (at the till or
    in the mall); at or above it, any amount they hold. The refusal carries the figures."""
    _positive(amount)
    minimum = rules["min_redemption_points"]
    if balance < minimum:
        raise Unprocessable(f"积分满 {minimum} 分才能兑换，您现有 {max(balance, 0)} 分。 Redeeming needs at least "
                            f"{minimum} points; you hold {max(balance, 0)}.", code="below_redemption_threshold",
                            minimum=minimum, balance=max(balance, 0), short_by=minimum - max(balance, 0))


def check_loan(rules: RuleSet, outstanding: int, amount: int) -> None:
    """A points loan (积分贷款, 先用后还) of `amount` on top of `outstanding` may not pass the rules' limit."""
    _positive(amount)
    limit = rules["points_loan_limit"]
    if outstanding + amount > limit:
        raise Unprocessable(f"积分借用上限为 {limit} 分，已借 {outstanding} 分。 The points loan limit is {limit}; "
                            f"{outstanding} is already lent.", code="loan_over_limit", limit=limit,
                            outstanding=outstanding)


def loan_repayment(outstanding: int, award: int, repay_percent: int, held: int) -> int:
    """What a later award repays of a points loan under its plan: `repay_percent` % of the award (half-even; 100:
    the award repays the loan first, whole), never more than is outstanding nor than the member holds."""
    if outstanding <= 0 or award <= 0 or held <= 0:
        return 0
    share = award if repay_percent >= 100 else percent_of(award, repay_percent)
    return max(0, min(outstanding, share, held))
