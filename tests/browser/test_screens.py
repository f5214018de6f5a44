"""Every screen of both faces in both languages (axe-core: no serious or critical violation), the language and the
large-text mode (长辈版) with their figures measured in the browser, and an outage said in plain Chinese."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.testing import wait_until

RESIDENT_SCREENS = [("home", "/r"), ("awaiting", "/r/awaiting"), ("browse", "/r/requests"),
                    ("post", "/r/requests/new"), ("mine", "/r/mine"), ("suggestions", "/r/suggestions"),
                    ("gift", "/r/gift"), ("activities", "/r/activities"), ("mall", "/r/mall"),
                    ("pay-code", "/r/pay-code"), ("scan", "/r/scan"), ("history", "/r/history"),
                    ("notifications", "/r/notifications"), ("property-fee", "/r/property-fee")]
SHOP_SCREENS = [("till", "/shop"), ("redemptions", "/shop/redemptions"), ("catalogue", "/shop/catalogue"),
                ("statements", "/shop/statements")]
# What the page measures: every visible thing a finger taps, and every visible element that holds text.
MEASURE = """() => {
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const targets = [...document.querySelectorAll('a[href], button, select, input:not([type=hidden]), textarea, [role=switch]')]
    .filter(visible).map((e) => {
      const area = e.closest('.van-field') || e.closest('.van-cell') || e;  // a field's whole row takes the tap
      const r = (e.matches('input, textarea') ? area : e).getBoundingClientRect();
      return { what: e.outerHTML.slice(0, 90), width: r.width, height: r.height };
    });
  const texts = [...document.querySelectorAll('body *')].filter(visible)
    .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
    .map((e) => { const s = getComputedStyle(e); const size = parseFloat(s.fontSize);
      const line = s.lineHeight === 'normal' ? 1.3 * size : parseFloat(s.lineHeight);
      return { what: e.outerHTML.slice(0, 90), size, ratio: line / size }; });
  const main = [...document.querySelectorAll('.main-action')].filter(visible)
    .map((e) => parseFloat(getComputedStyle(e.querySelector('.van-button__text') || e).fontSize));
  return { targets, texts, main };
}"""


def measure(phone) -> dict:
    phone.page.wait_for_load_state("networkidle")
    return phone.page.evaluate(MEASURE)


def small_targets(figures: dict, least: float) -> list:
    return [t for t in figures["targets"] if t["width"] < least - 0.5 or t["height"] < least - 0.5]


@pytest.fixture(scope="module")
def people(site):
    """A resident with things on every screen, and a shop with an item, redemptions and a settled batch."""
    now = datetime.now(timezone.utc)
    resident = site.member("何奶奶")
    neighbour = site.member("吕阿姨", grid="2号楼")
    site.give_points(resident)
    site.hours_overdraft(neighbour, 120)
    window = {"window_start": (now + timedelta(hours=2)).isoformat(), "window_end": (now + timedelta(days=1)).isoformat()}
    for title in ("陪老人去医院复查", "修水龙头"):
        made = site.call("post", "/requests/v1/requests", token=neighbour["token"], json={
            "category": "medical_escort" if "医院" in title else "repairs", "title": title, "estimated_minutes": 90,
            "grid_id": site.grids["2号楼"], **window})
        assert made.status_code == 201, made.text
    made = site.call("post", "/requests/v1/activities", token=site.organizer["token"], json={
        "activity_type": "cleanup", "title": "周末小区大扫除", "place": "中心花园", "capacity": 20,
        "starts_at": (now + timedelta(days=2)).isoformat(), "ends_at": (now + timedelta(days=2, hours=2)).isoformat()})
    assert made.status_code == 201, made.text
    gift = site.call("post", "/ledger/v1/transfers", token=neighbour["token"], json={
        "workflow": "credit", "unit": "HOUR", "counterparty_id": resident["member_id"], "amount": 30, "memo": "谢谢帮忙"})
    assert gift.status_code == 201, gift.text

    merchant, staff = site.shop("阳光药房", max_discount_share_bp=3000)
    item = site.call("post", f"/settlement/v1/merchants/{merchant['merchant_id']}/items", token=staff["token"],
                     json={"name": "口罩一盒", "price_points": 50, "stock": 10})
    assert item.status_code == 201, item.text
    code = site.call("post", "/ledger/v1/pay-codes", token=resident["token"], json={"max_points": 100}).json()["code"]

    def till():  # the shop learns the pay code from the ledger's event a moment after it is issued
        answer = site.call("post", f"/settlement/v1/merchants/{merchant['merchant_id']}/redemptions",
                           token=staff["token"], json={"member_id": resident["member_id"], "points": 60,
                                                       "bill_fen": 2000, "pay_code": code})
        assert answer.status_code in (201, 422), answer.text
        return answer if answer.status_code == 201 else None
    redeemed = wait_until(till, timeout=180, message="the pay code to reach settlement")
    wait_until(lambda: site.call("get", f"/settlement/v1/redemptions/{redeemed.json()['redemption_id']}",
                                 token=staff["token"]).json()["state"] == "completed", timeout=180)
    assert site.call("post", "/settlement/v1/sponsor-budget/top-ups", token=site.admin,
                     json={"amount_fen": 100_000, "reference": "街道赞助"}).status_code == 201
    batch = site.call("post", f"/settlement/v1/merchants/{merchant['merchant_id']}/batches", token=site.admin,
                      json={"close": True})
    assert batch.status_code == 201, batch.text
    return {"resident": resident, "neighbour": neighbour, "staff": staff, "merchant": merchant}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_resident_screen_passes_axe(people, phones, locale):
    phone = phones(people["resident"])
    if locale == "en":
        phone.tap("lang-switch")
    for name, path in RESIDENT_SCREENS:
        phone.open(path)
        phone.page.locator(".van-loading").first.wait_for(state="detached")  # the list has loaded (or is empty)
        phone.accessible(f"resident-{name}-{'zh' if locale == 'zh-CN' else 'en'}")
        assert not small_targets(measure(phone), 44), f"{path}: targets under 44 px"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_shop_screen_passes_axe(people, phones, locale):
    phone = phones(people["staff"])
    if locale == "en":
        phone.tap("lang-switch")
    for name, path in SHOP_SCREENS:
        phone.open(path)
        if name == "statements":
            phone.tap("open-batch")
            phone.el("statement").wait_for()
        phone.accessible(f"shop-{name}-{'zh' if locale == 'zh-CN' else 'en'}")
        assert not small_targets(measure(phone), 44), f"{path}: targets under 44 px"


def test_language_and_large_text_mode_are_kept_and_meet_the_figures(people, phones):
    phone = phones(people["resident"])
    phone.open("/r")
    phone.el("balances").wait_for()
    assert phone.page.get_by_role("heading", name="我的余额").is_visible()
    assert "30 分钟" in phone.text("balance-HOUR")  # the gift waits: pending in, said in words
    normal = measure(phone)
    assert not small_targets(normal, 44)

    # English, kept across a reload.
    phone.tap("lang-switch")
    assert phone.page.get_by_role("heading", name="My balances").is_visible()
    assert "30 min" in phone.text("balance-HOUR")
    phone.page.reload()
    phone.el("balances").wait_for()
    assert phone.page.get_by_role("heading", name="My balances").is_visible()
    assert phone.page.evaluate("document.documentElement.lang") == "en"

    # Large text mode from the home screen, kept across a reload; then the national figures, measured.
    phone.tap("lang-switch")
    phone.el("elder-switch").click()
    phone.page.reload()
    phone.el("balances").wait_for()
    assert phone.page.evaluate("document.documentElement.classList.contains('elder')")
    for path in ("/r", "/r/requests/new", "/r/awaiting"):
        phone.open(path)
        phone.page.wait_for_load_state("networkidle")
        figures = measure(phone)
        assert not small_targets(figures, 60), f"{path}: {small_targets(figures, 60)[:3]}"
        tiny = [t for t in figures["texts"] if t["size"] < 24]
        assert not tiny, f"{path}: text under 24 px (18 pt): {tiny[:3]}"
        tight = [t for t in figures["texts"] if t["ratio"] < 1.3 - 1e-6]
        assert not tight, f"{path}: line spacing under 1.3: {tight[:3]}"
        if path == "/r/requests/new":
            assert figures["main"] and min(figures["main"]) >= 40, figures["main"]  # 30 pt main actions
        phone.accessible(f"resident-{path.strip('/').replace('/', '-')}-elder-zh")
    # An error in this mode is said inline, in words (no pop-up, not colour alone).
    phone.open("/r/requests/new")
    phone.tap("post-submit")
    notice = phone.el("notice-error")
    assert notice.inner_text().startswith("出错了：") and "请填写标题" in notice.inner_text()
    assert phone.page.locator(".van-popup, .van-toast, .van-dialog").count() == 0


def test_large_text_mode_on_the_shop_face(people, phones):
    phone = phones(people["staff"])
    phone.page.evaluate("localStorage.setItem('tb.elder', '1')")  # chosen once on this phone, kept
    phone.open("/shop")
    phone.fill("till-bill", "20")
    phone.el("till-allowed").wait_for()
    figures = measure(phone)
    assert not small_targets(figures, 60), small_targets(figures, 60)[:3]
    assert not [t for t in figures["texts"] if t["size"] < 24], [t for t in figures["texts"] if t["size"] < 24][:3]
    assert figures["main"] and min(figures["main"]) >= 40
    phone.tap("lang-switch")
    assert phone.page.get_by_role("heading", name="Till · 阳光药房").is_visible()
    phone.accessible("shop-till-elder-en")


def test_a_service_outage_is_said_in_chinese_and_a_retry_pays_once(site, people, phones):
    giver = people["neighbour"]
    phone = phones(giver)
    phone.open(f"/r/gift?to={people['resident']['member_id']}&unit=HOUR&amount=10")
    phone.fill("gift-memo", "停电那天的电池")
    ledger = site.served["ledger"]
    ledger.stop()
    try:
        phone.tap("gift-submit")
        notice = phone.el("notice-error")
        notice.wait_for()
        assert notice.inner_text() == "出错了：服务暂时连不上，请稍后再试。"
        phone.accessible("resident-outage-zh")
        phone.open("/r")
        phone.el("notice-error").wait_for()
        assert "服务暂时连不上" in phone.text("notice-error")
    finally:
        ledger.start()
    # The same gift again after the outage: the kept Idempotency-Key makes it one transfer, not two.
    phone.open(f"/r/gift?to={people['resident']['member_id']}&unit=HOUR&amount=10")
    phone.fill("gift-memo", "停电那天的电池")
    phone.tap("gift-submit")
    phone.page.get_by_text("已转赠，等待对方确认收下").wait_for()
    gifts = list(site.dep.services["ledger"].db.transfers.find({"memo": "停电那天的电池"}))
    assert len(gifts) == 1 and gifts[0]["amount"] == 10 and gifts[0]["state"] == "pending"
