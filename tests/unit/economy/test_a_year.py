"""A year of one member's life under a community's custom rules, composed from the pure pieces the way the ledger
is to use them (versions in effect by date, award computation, lots, penalty, repair, expiry, honour levels).
Every figure is worked by hand in the comments."""
from __future__ import annotations

from datetime import date, datetime, timezone

from shared.economy import Activity, History, Penalty, Wallet, compute, explain, from_document, honour_level, in_effect
from shared.economy.rules import default_document
from shared.economy.wallet import check_redemption


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def custom() -> dict:
    doc = default_document()
    doc.update({
        "caps": {"per_activity": None, "per_day": 100, "per_year": 300},
        "newcomer": {"activities": 2, "multiplier_percent": 200},
        "streak": {"every": 3, "points": 10, "max_gap_days": 60},
        "expiry": {"mode": "rolling", "months": 6, "clearing_date": "01-01", "reminder_days": [30]},
        "honour_levels": [{"threshold": 100, "title_zh": "一星志愿者", "title_en": "One-star volunteer"},
                          {"threshold": 250, "title_zh": "二星志愿者", "title_en": "Two-star volunteer"}],
        "penalties": {"noise": 15},
        "repair": {"window_days": 60, "max_percent": 100},
    })
    return doc


V1 = from_document(custom(), 1, at(date(2026, 1, 1)))
V2 = from_document({"activity_points": {**custom()["activity_points"], "hazard_report": 30}}, 2,
                   at(date(2026, 5, 1)), base=V1.document)
VERSIONS = [V1, V2]


class Member:
    """What the ledger keeps of one member: history summary, lots, honour points."""

    def __init__(self):
        self.wallet, self.honour, self.participations, self.streak = Wallet(), 0, 0, 0
        self.earned = {}  # day -> points; the year is 2026 throughout
        self.awards = []

    def award(self, day: date, activity: Activity):
        rules = in_effect(VERSIONS, at(day))
        history = History(self.participations, self.streak, self.earned.get(day, 0), sum(self.earned.values()),
                          self.honour)
        award = compute(rules, history, activity)
        self.awards.append(award)
        if award.status == "payable":
            self.participations, self.streak = self.participations + 1, self.streak + 1
            self.earned[day] = self.earned.get(day, 0) + award.amount
            self.honour += award.amount
            if award.amount:
                self.wallet, _ = self.wallet.earn(f"lot{len(self.awards)}", award.amount, day, rules)
        return award


def test_a_year_of_one_members_life():
    m = Member()
    # 01-10 clean-up in bad weather, 5★: (20 + 10) ×2 = 60; +10% = 66; first participation +5 → 71
    assert m.award(date(2026, 1, 10), Activity("environment_cleanup", bonuses=("bad_weather",), rating=5)).amount == 71
    # 02-14 mediation, 4★: 50 ×2 (second newcomer activity) = 100 → honour 171: 一星
    assert m.award(date(2026, 2, 14), Activity("mediation", rating=4)).amount == 100
    assert honour_level(V1, m.honour)["title_zh"] == "一星志愿者"
    # 03-01 redeem 80 (holding 171 ≥ the 50 minimum): oldest first — lot1 71 → 0, lot2 100 → 91
    check_redemption(V1, m.wallet.balance, 80)
    m.wallet, spent = m.wallet.spend(80)
    assert [i["points"] for i in spent] == [-71, -9] and m.wallet.balance == 91
    # 03-20 patrol with a major hazard, 2★: held for review, nothing paid
    held = m.award(date(2026, 3, 20), Activity("safety_patrol", bonuses=("major_hazard",), rating=2))
    assert (held.amount, held.status) == (0, "held_for_review")
    # 03-25 a reviewer releases it: 50 + 30 = 80; third consecutive participation +10 → 90; honour 261: 二星
    released = m.award(date(2026, 3, 25), Activity("safety_patrol", bonuses=("major_hazard",), rating=2,
                                                   review_released=True))
    assert released.amount == 90 and [i.code for i in released.items][-1] == "streak_bonus"
    assert honour_level(V1, m.honour)["level"] == 2
    # 04-02 a noise penalty: 15 from the oldest lot with points (lot2 91 → 76); balance 76 + 90 = 166
    m.wallet, taken = m.wallet.penalise(V1, "noise")
    assert [(i["lot_id"], i["points"], i["rule_version"]) for i in taken] == [("lot2", -15, 1)]
    penalty = Penalty("p1", "noise", 15, date(2026, 4, 2))
    assert m.wallet.balance == 166
    # 05-10 under version 2 (hazard report 30): 5★ → 30 + 3 = 33; year 261 + 33 = 294
    report = m.award(date(2026, 5, 10), Activity("hazard_report", rating=5))
    assert (report.amount, report.rule_version) == (33, 2)
    # 05-10 again: complex mediation 100; daily cap 100 with 33 earned → 67 (−33); yearly cap 300 with 294 earned
    # → 6 (−61): both cuts recorded
    capped = m.award(date(2026, 5, 10), Activity("mediation", bonuses=("complex_case",)))
    assert capped.amount == 6 and [(c.code, c.points) for c in capped.cuts] == [("cap_per_day", -33),
                                                                                ("cap_per_year", -61)]
    assert explain([capped.cuts[1].to_dict()], "zh-CN") == ["年度上限 300 分（今年已得 294），扣减 61"]
    # 05-20 point repair of the whole penalty (within 60 days): a new lot of 15 until 11-20
    m.wallet, penalty, repaired = m.wallet.repair(penalty, "repair1", 15, date(2026, 5, 20), in_effect(
        VERSIONS, at(date(2026, 5, 20))))
    assert repaired[0]["expires_on"] == "2026-11-20" and penalty.repaired == 15
    # 07-15 a reminder: lot2's 76 expire on 08-14, 30 days later
    assert m.wallet.reminders(date(2026, 7, 15), V2) == [{"days": 30, "expires_on": "2026-08-14", "points": 76}]
    # 08-14 expiry: lot1 (07-10) is already empty; lot2's remaining 76 expire
    m.wallet, expired = m.wallet.expire(date(2026, 8, 14))
    assert [(i["lot_id"], i["points"]) for i in expired] == [("lot2", -76)]
    # The end: lots 90 (patrol) + 33 (report) + 6 (capped mediation) + 15 (repair) = 144;
    # honour 71 + 100 + 90 + 33 + 6 = 300 (the repair and the penalty do not count), level 二星.
    assert m.wallet.balance == 144 and m.wallet.debt == 0
    assert m.honour == 300 and honour_level(V2, m.honour)["title_en"] == "Two-star volunteer"
    assert [a.rule_version for a in m.awards] == [1, 1, 1, 1, 2, 2]
    for award in m.awards:  # every award explains itself: the lines add up to the amount
        assert sum(i.points for i in award.items) == award.amount
