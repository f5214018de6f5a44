"""Two neighbours, each on their own phone, carry a help request from posting to completed."""
from __future__ import annotations

from playwright.sync_api import expect

from shared.testing import wait_until


def test_a_help_request_goes_from_posting_to_completed(site, phones):
    alice = site.member("王阿姨", grid="1号楼")
    bob = site.member("李师傅", grid="1号楼", skills=["errands"])
    site.hours_overdraft(alice, 120)  # Alice has no hours yet: the admin's two-hour overdraft
    a, b = phones(alice), phones(bob)

    # Alice posts a request with every field the form has.
    a.open("/r/requests/new")
    a.accessible("resident-post-zh")
    a.fill("post-title", "帮忙买菜")
    a.el("post-category").select_option("errands")
    a.fill("post-description", "小区门口菜市场，买一周的菜")
    a.fill("post-minutes", "45")
    assert "45 分钟" in a.page.inner_text("main")
    a.el("post-urgency").select_option("high")
    a.el("post-grid").select_option(site.grids["1号楼"])
    a.tap("post-submit")
    a.page.wait_for_url("**/r/requests/r_*")
    request_id = a.page.url.rsplit("/", 1)[1]
    assert a.text("request-title") == "帮忙买菜"
    assert a.text("request-status") == "等待帮手"

    # Bob finds it by a word and accepts it.
    b.open("/r/requests")
    b.fill("browse-q", "帮忙买菜")  # MongoDB $text matches whole words: no Chinese substrings
    b.tap("browse-search")
    card = b.el(f"request-{request_id}")
    card.wait_for()
    assert "紧急" in card.inner_text() and "45 分钟" in card.inner_text()
    b.accessible("resident-browse-zh")
    card.click()
    b.tap("accept")
    b.el("notice-ok").wait_for()
    assert b.text("request-status") == "已有帮手"

    # Alice shows the check-in code (QR and digits); Bob types the digits.
    a.page.reload()
    a.tap("issue-code")
    digits = a.text("code-digits")
    assert len(digits) == 6 and a.el("qr-image").is_visible()
    a.accessible("resident-checkin-code-zh")
    b.page.reload()
    b.fill("scan-typed", digits)
    b.tap("scan-submit")
    b.page.get_by_text("已签到，开始计时").wait_for()
    assert b.text("request-status") == "进行中"

    # Check-out the same way.
    a.tap("refresh-status")
    a.tap("issue-code")
    out = a.text("code-digits")
    b.fill("scan-typed", out)
    b.tap("scan-submit")
    b.page.get_by_text("已签退，用时已记录").wait_for()

    # Bob claims: the minutes are prefilled from the measured time (at least one).
    claim = b.el("claim-minutes").locator("input")
    expect(claim).not_to_have_value("")
    assert int(claim.input_value()) >= 1
    claim.fill("5")
    b.tap("claim-submit")
    b.el("claim-waiting").wait_for()
    b.accessible("resident-claimed-zh")

    # Alice sees it waiting on her home screen with a badge, reads what, who and how much, and confirms.
    a.open("/r")
    a.until(lambda: a.el("awaiting-badge").is_visible(), message="the claim to wait for Alice")
    assert a.text("awaiting-badge") == "1"
    a.tap("awaiting-link")
    item = a.page.locator('[data-test="transfer"]').first
    item.wait_for()
    a.until(lambda: "帮忙买菜" in item.inner_text(), refresh=False, message="the request's title")
    text = item.inner_text()
    assert "5 分钟" in text and "服务收费" in text and "你将支付" in text
    a.accessible("resident-awaiting-zh")
    item.locator('[data-test="confirm"]').click()
    a.page.get_by_text("已确认，已入账").wait_for()

    # The request completes; Alice rates Bob.
    a.open(f"/r/requests/{request_id}")
    a.until(lambda: a.text("request-status") == "已完成", message="the request to complete")
    a.el("rate-comment").locator("textarea").fill("准时，很细心")
    a.tap("rate-submit")
    a.el("rating").wait_for()

    # What the ledger holds: Bob earned the 5 minutes Alice paid.
    assert site.balances(bob)["HOUR"]["posted"] == 5
    assert site.balances(alice)["HOUR"]["posted"] == -5
    ledger = site.dep.services["ledger"].db
    posted = wait_until(lambda: ledger.transfers.find_one({"reference.id": request_id, "state": "posted"}))
    assert posted["amount"] == 5 and posted["workflow"] == "bill"
    assert site.dep.services["requests"].db.requests.find_one({"_id": request_id})["rating"]["stars"] == 5
