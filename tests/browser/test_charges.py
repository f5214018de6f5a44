"""Bills paid partly in points on the resident's phone: a property-fee bill (物业费抵扣) the property company sends,
and a shop's 收款码 the resident films with the phone camera (Chromium's fake camera playing a video of the QR the
till shows). Each asserts what the people see and what the ledger and the settlement service hold afterwards."""
from __future__ import annotations

from playwright.sync_api import expect

from shared.testing import wait_until
from tests.browser.camera import camera_args, qr_video
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Phone
from tests.browser.test_screens import measure, small_targets


def approve_in_app(phone) -> None:
    card = phone.el("charge-approval").locator('[data-test="transfer"]')
    card.wait_for(timeout=60_000)
    return card


def test_a_resident_deducts_points_from_a_property_fee_bill(site, phones):
    merchant, staff = site.shop("莲花物业服务中心", kind="property", max_discount_share_bp=2000, min_points=100)
    resident = site.member("王阿姨", grid="2号楼")
    points = site.give_points(resident)
    s, r = phones(staff), phones(resident)

    # The property company bills her 300 yuan for November (at most 20% of it in points, 100 points at least).
    s.fill("till-bill", "300")
    s.tap("how-bill")
    s.fill("charge-memo-input", "2026年11月物业费")
    s.fill("charge-find", "王阿")
    s.tap("charge-find-go")
    s.el("charge-person").filter(has_text="王阿姨").first.click()
    s.accessible("shop-bill-zh")
    s.tap("charge-create")
    assert s.text("charge-state") == "待付款"

    # Her notification centre tells her the bill awaits her: from whom, what for, how much; it opens the bill.
    notices = site.dep.services["notifications"].db.notifications
    wait_until(lambda: notices.find_one({"member_id": resident["member_id"], "kind": "charge.issued"}), timeout=120)
    r.open("/r/notifications")
    told = r.el("notifications-list").locator("li").filter(has_text="有一张账单可以用积分抵扣").first
    told.wait_for()
    assert "莲花物业服务中心" in told.inner_text() and "2026年11月物业费" in told.inner_text()
    assert "¥300.00" in told.inner_text()
    told.locator("a").click()
    r.page.wait_for_url("**/r/charges/**")
    r.el("charge-who").wait_for()
    assert r.text("charge-who") == "莲花物业服务中心"

    # She also finds it from her home screen: what, from whom, how much.
    r.open("/r")
    r.tap("tile-propertyfee")
    bill = r.el("bills").locator("a").first
    bill.wait_for()
    assert "2026年11月物业费" in bill.inner_text() and "莲花物业服务中心 · ¥300.00" in bill.inner_text()
    assert "待付款" in bill.inner_text()
    r.accessible("resident-property-fee-bill-zh")
    bill.click()
    assert r.text("charge-who") == "莲花物业服务中心" and r.text("charge-memo") == "2026年11月物业费"
    assert r.text("charge-bill") == "账单 ¥300.00"
    assert r.text("charge-rules") == "最多可用 600 分 抵扣 ¥60.00；每次至少 100 分；100 分 = ¥10.00"
    assert r.text("charge-available") == f"我可用的积分：{points} 分"
    expect(r.el("charge-points").locator("input")).to_have_value("600")  # the most the rules and her points allow
    r.fill("charge-points", "50")
    assert "少于每次最低 100 分" in r.text("notice-error")
    r.tap("charge-pay")  # refused on the phone, in words; nothing is asked of the ledger
    assert site.dep.services["settlement"].db.redemptions.count_documents({"member_id": resident["member_id"]}) == 0
    r.fill("charge-points", "500")
    assert r.text("charge-value") == "抵扣 ¥50.00，还需另付 ¥250.00"
    r.accessible("resident-charge-zh")
    r.tap("charge-pay")

    # She approves the ledger's charge on the same screen, then sees the result.
    card = approve_in_app(r)
    r.until(lambda: "莲花物业服务中心" in card.inner_text(), refresh=False, message="the company on the charge")
    assert "500 分" in card.inner_text() and "2026年11月物业费" in card.inner_text()
    card.locator('[data-test="confirm"]').click()
    r.el("charge-result").wait_for(timeout=60_000)
    assert r.text("charge-result") == "已用 500 分 抵扣 ¥50.00，还需另付 ¥250.00"
    r.accessible("resident-charge-paid-zh")

    # The ledger and the settlement service hold it; the property company's screen says so.
    assert site.balances(resident)["PT"]["posted"] == points - 500
    settlement = site.dep.services["settlement"].db
    charge = settlement.charges.find_one({"member_id": resident["member_id"]})
    redemption = settlement.redemptions.find_one({"_id": charge["redemption_id"]})
    assert charge["state"] == "paid" and charge["bill_fen"] == 30_000
    assert (redemption["state"], redemption["points"], redemption["value_fen"]) == ("completed", 500, 5000)
    s.until(lambda: s.text("charge-state") == "已付款", refresh=False, message="the company to see it paid")
    assert s.text("charge-paid-line") == "已用 500 分 抵扣 ¥50.00，还需另付 ¥250.00"

    # Her history has the receipt-like line: who, what for, how much.
    r.tap("charge-history")
    line = r.page.locator("li", has_text="2026年11月物业费").first
    line.wait_for()
    assert "莲花物业服务中心" in line.inner_text() and "500 分" in line.inner_text()

    # In English, and in large-text mode (长辈版), the paid bill still reads right and meets the figures.
    r.tap("lang-switch")
    r.open("/r/property-fee")
    r.el("bills").locator("a").first.wait_for()
    assert "Paid" in r.el("bills").inner_text()
    r.accessible("resident-property-fee-en")
    r.el("bills").locator("a").first.click()
    r.el("charge-result").wait_for()
    assert r.text("charge-result") == "500 pts took ¥50.00 off; ¥250.00 left to pay"
    assert r.page.get_by_role("heading", name="Property fee deduction").is_visible()
    r.accessible("resident-charge-paid-en")
    r.page.evaluate("localStorage.setItem('tb.elder', '1')")
    r.page.reload()
    r.el("charge-result").wait_for()
    figures = measure(r)
    assert not small_targets(figures, 60), small_targets(figures, 60)[:3]
    assert not [t for t in figures["texts"] if t["size"] < 24], [t for t in figures["texts"] if t["size"] < 24][:3]
    r.accessible("resident-charge-paid-elder-en")


def test_a_shops_pay_me_code_filmed_with_the_camera_is_paid_in_points(site, phones, tmp_path):
    merchant, staff = site.shop("好邻居水果店", max_discount_share_bp=5000, min_points=10)
    resident = site.member("钱叔叔")
    points = site.give_points(resident)
    s = phones(staff)

    # The till shows a 收款码 for a 20-yuan bill: apples.
    s.fill("till-bill", "20")
    s.tap("how-charge")
    s.fill("charge-memo-input", "苹果 2 斤")
    s.tap("charge-create")
    text = s.text("charge-text")
    assert text.startswith("timebank://v1/charge/chg_")
    s.el("charge-status").locator('[data-test="qr-image"]').wait_for()
    s.accessible("shop-charge-code-zh")

    # The resident's phone camera films that QR code (a video made from the till's screen).
    video = qr_video(s.page, '[data-test="charge-status"] [data-test="qr-image"]', tmp_path / "qr.y4m")
    camera_browser = s.context.browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                                           args=CHROMIUM_ARGS + camera_args(video))
    try:
        r = Phone(camera_browser, site, resident)
        r.login()
        r.open("/r/scan")
        r.accessible("resident-scan-camera-zh")
        r.tap("scan-start")
        r.page.wait_for_url("**/r/charges/**", timeout=60_000)
        assert r.page.url.endswith("/r/charges/" + text.rsplit("/", 1)[1])
        r.el("charge-who").wait_for()
        assert r.text("charge-who") == "好邻居水果店" and r.text("charge-memo") == "苹果 2 斤"
        assert r.text("charge-bill") == "账单 ¥20.00"
        expect(r.el("charge-points").locator("input")).to_have_value("100")  # half of 20 yuan, at 10 fen a point
        r.accessible("resident-charge-shop-zh")
        r.tap("charge-pay")
        card = approve_in_app(r)
        card.locator('[data-test="confirm"]').click()
        r.el("charge-result").wait_for(timeout=60_000)
        assert r.text("charge-result") == "已用 100 分 抵扣 ¥10.00，还需另付 ¥10.00"
        r.clean()
    finally:
        camera_browser.close()

    s.until(lambda: s.text("charge-state") == "已付款", refresh=False, message="the till to see it paid")
    assert site.balances(resident)["PT"]["posted"] == points - 100
    redemption = site.dep.services["settlement"].db.redemptions.find_one({"member_id": resident["member_id"]})
    assert redemption["state"] == "completed" and redemption["charge_id"] and redemption["staff_id"] is None
    ledger = site.dep.services["ledger"].db.transfers.find_one({"payer_id": resident["member_id"], "workflow": "redeem"})
    assert ledger["state"] == "posted" and ledger["amount"] == 100 and ledger["memo"] == "好邻居水果店 · 苹果 2 斤"
