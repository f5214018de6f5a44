"""The words of an explanation: each machine-readable item rendered in Chinese (first) and English.

An item is `{"code": ..., "points": ..., <figures>}` (from an award, a lot operation, a penalty or a repair);
`render(item, lang)` is one line a member reads ("为什么我得了 33 分?"). Unknown codes render their code and
points, so an older client never fails on a newer line."""
from __future__ import annotations

LANGS = ("zh-CN", "en")

TEMPLATES = {
    "base_activity": ("活动「{activity_type}」基础分 {points}", "Base points for {activity_type}: {points}"),
    "base_hourly": ("按时长：{minutes} 分钟 × 每小时 {hourly_rate} 分 × {service_class} 系数 {class_multiplier} = {points}",
                    "By the hour: {minutes} min × {hourly_rate}/h × {service_class} ×{class_multiplier} = {points}"),
    "base_report": ("随手拍「{report_type}」核实 {points}", "Grid report ({report_type}) verified: {points}"),
    "base_duty": ("值守「{duty}」（{period}）核实 {points}", "Standing duty {duty} ({period}) verified: {points}"),
    "situational_bonus": ("情形加分「{bonus}」+{points}", "Bonus for {bonus}: +{points}"),
    "newcomer_multiplier": ("新人第 {nth}/{of} 次活动，{before} 分 × {multiplier_percent}% ：+{points}",
                            "Newcomer activity {nth} of {of}: {before} × {multiplier_percent}%: +{points}"),
    "rating_bonus": ("五星评价，{before} 分加 {percent}%：+{points}",
                     "Five-star rating: {percent}% of {before}: +{points}"),
    "held_for_review": ("评价 {rating} 星（≤{review_at_or_below} 星），{before} 分待审核后发放",
                        "Rated {rating}★ (≤{review_at_or_below}★): {before} held for a reviewer"),
    "review_released": ("低评价（{rating} 星）已经审核，照常发放", "Low rating ({rating}★) reviewed: paid as usual"),
    "cap_per_activity": ("单次活动上限 {cap} 分，{before} 分中扣减 {cut}",
                         "Per-activity cap {cap}: {cut} of {before} cut"),
    "first_participation_bonus": ("首次参与奖励 +{points}", "First participation: +{points}"),
    "streak_bonus": ("连续参与满 {streak} 次（每 {every} 次）奖励 +{points}",
                     "{streak} consecutive participations (every {every}): +{points}"),
    "cap_per_day": ("每日上限 {cap} 分（今日已得 {earned_before}），扣减 {cut}",
                    "Daily cap {cap} (earned today {earned_before}): {cut} cut"),
    "cap_per_year": ("年度上限 {cap} 分（今年已得 {earned_before}），扣减 {cut}",
                     "Yearly cap {cap} (earned this year {earned_before}): {cut} cut"),
    "lot_earned": ("入账 {points} 分（{earned_on} 获得，{expires_on} 到期）",
                   "{points} points credited (earned {earned_on}, expire {expires_on})"),
    "debt_repaid": ("先抵扣欠扣积分 {cut}", "{cut} first repays points owed"),
    "spent": ("使用 {earned_on} 获得的积分 {cut}", "{cut} spent from points earned {earned_on}"),
    "expired": ("{earned_on} 获得的积分到期 {cut}", "{cut} of the points earned {earned_on} expired"),
    "penalty": ("扣分「{reason}」{cut}", "Penalty for {reason}: {cut}"),
    "penalty_debt": ("余额不足，{cut} 分记为欠扣积分，以后获得的积分先行抵扣",
                     "Balance too small: {cut} recorded as owed, repaid first from later points"),
    "loan_lent": ("积分借用 {points} 分，以后每次奖励的 {repay_percent}% 先用于还款",
                  "Points loan of {points}; {repay_percent}% of every later award repays it first"),
    "loan_repaid": ("奖励 {award} 分中 {cut} 分偿还积分借用（尚欠 {outstanding}）",
                    "{cut} of an award of {award} repaid the points loan ({outstanding} still owed)"),
    "repair_debt": ("积分修复：免除欠扣积分 {points}", "Point repair: {points} owed points forgiven"),
    "repair_lot": ("积分修复：恢复 {points} 分（{expires_on} 到期）", "Point repair: {points} restored (expire {expires_on})"),
    "appeal_debt": ("申诉成立：免除欠扣积分 {points}", "Appeal upheld: {points} owed points forgiven"),
    "appeal_lot": ("申诉成立：退回扣分 {points} 分（{expires_on} 到期）",
                   "Appeal upheld: {points} penalised points back (expire {expires_on})"),
    "appeal_compensation": ("申诉 {appeal_id} 成立，补偿 {points}", "Appeal {appeal_id} upheld: {points} compensated"),
}


def render(item: dict, lang: str = "zh-CN") -> str:
    """One line of explanation in `lang` (zh-CN or en)."""
    pair = TEMPLATES.get(item.get("code"))
    figures = {**item, "cut": -item.get("points", 0), "expires_on": item.get("expires_on") or "—"}
    if pair is None:
        return f"{item.get('code')}: {item.get('points')}"
    try:
        return pair[LANGS.index(lang) if lang in LANGS else 0].format(**figures)
    except (KeyError, IndexError):
        return f"{item.get('code')}: {item.get('points')}"


def explain(items: list[dict], lang: str = "zh-CN") -> list[str]:
    """Every line of an explanation, in order."""
    return [render(item, lang) for item in items]


def words(items: list[dict]) -> dict[str, list[str]]:
    """Every line of an explanation in each language, Chinese first (`{"zh-CN": [...], "en": [...]}`): what a
    transfer, a loan or a repayment stores as its `explanation`."""
    return {lang: explain(items, lang) for lang in LANGS}
