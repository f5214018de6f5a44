"""Money on phones: a gift and its acceptance, a rejected gift with its reason, the till (pay code, and approval
on the member's own phone) with the shop and the resident each on their own page, and a points-mall order."""
from __future__ import annotations

from shared.testing import wait_until


def test_a_gift_found_by_the_receive_code_is_accepted_and_then_posts_at_once(site, phones):
    giver = site.member("陈奶奶")
    taker = site.member("周小妹", grid="2号楼")
    site.hours_overdraft(giver, 120)
    g, t = phones(giver), phones(taker)

    # The receiver shows their 收款码 for 30 minutes; the giver scans it (here: types what it says).
    t.open("/r/pay-code")
    t.tap("show-receive")
    t.el("receive-unit").select_option("HOUR")
    t.fill("receive-amount", "30")
    t.fill("receive-memo", "谢谢你上次帮我取快递")  # what for travels in the code too
    code = t.text("receive-text")
    assert code.startswith("timebank://v1/receive/") and "amount=30" in code
    t.accessible("resident-receive-code-zh")
    g.open("/r/scan")
    g.accessible("resident-scan-zh")
    g.fill("scan-typed", code)
    g.tap("scan-submit")
    g.page.wait_for_url("**/r/gift?**")
    assert g.text("gift-words") == "30 分钟"
    assert g.el("gift-memo").locator("input").input_value() == "谢谢你上次帮我取快递"
    g.accessible("resident-gift-zh")
    g.tap("gift-submit")
    g.page.get_by_text("已转赠，等待对方确认收下").wait_for()

    # The receiver accepts it from what awaits them: what, who, how much.
    t.open("/r/awaiting")
    item = t.until(lambda: t.page.locator('[data-test="transfer"]').first if t.page.locator(
        '[data-test="transfer"]').count() else None, message="the gift to wait for the receiver")
    text = item.inner_text()
    assert "谢谢你上次帮我取快递" in text and "转赠" in text and "30 分钟" in text and "你将收到" in text
    item.locator('[data-test="confirm"]').click()
    t.page.get_by_text("已确认，已入账").wait_for()
    assert site.balances(taker)["HOUR"]["posted"] == 30

    # With auto-accept on, the next gift posts at once.
    t.open("/r/gift")
    t.el("auto-accept").click()
    wait_until(lambda: site.call("get", "/ledger/v1/preferences", token=taker["token"]).json()["auto_accept_credits"])
    g.page.reload()
    g.fill("gift-amount", "15")
    g.tap("gift-submit")
    g.page.get_by_text("已转赠，已到对方账上").wait_for()
    assert site.balances(taker)["HOUR"]["posted"] == 45
    assert site.balances(giver)["HOUR"]["posted"] == -45


def test_a_rejected_gift_keeps_its_reason_and_moves_nothing(site, phones):
    giver = site.member("吴先生")
    taker = site.member("郑女士")
    site.hours_overdraft(giver, 60)
    g, t = phones(giver), phones(taker)
    g.open(f"/r/gift?to={taker['member_id']}&unit=HOUR&amount=20")
    g.tap("gift-submit")
    g.page.get_by_text("已转赠，等待对方确认收下").wait_for()

    t.open("/r/awaiting")
    item = t.until(lambda: t.page.locator('[data-test="transfer"]').first if t.page.locator(
        '[data-test="transfer"]').count() else None, message="the gift to wait")
    item.locator('[data-test="reject-open"]').click()
    item.locator('[data-test="reject-submit"]').click()
    assert "请写下拒绝的原因" in item.inner_text()  # a reason is asked for, in words
    item.locator('[data-test="reject-reason"] input').fill("我不认识这位邻居")
    t.accessible("resident-reject-zh")
    item.locator('[data-test="reject-submit"]').click()
    t.page.get_by_text("已拒绝，对方会看到你的原因").wait_for()
    assert "已拒绝" in item.inner_text()

    transfer = site.dep.services["ledger"].db.transfers.find_one({"payee_id": taker["member_id"]})
    assert transfer["state"] == "rejected" and transfer["reason"] == "我不认识这位邻居"
    assert site.balances(taker)["HOUR"]["posted"] == 0 and site.balances(giver)["HOUR"]["pending_out"] == 0


def test_the_till_takes_points_by_pay_code_and_by_approval_on_the_members_phone(site, phones):
    merchant, staff = site.shop("好邻居便利店", max_discount_share_bp=5000)
    member = site.member("冯大爷")
    points = site.give_points(member)
    s, m = phones(staff), phones(member)
    assert "/shop" in s.page.url  # a shop's staff land on the till, not the resident face

    # By pay code: the member shows it; the cashier types the code alone (never the member's internal id).
    m.open("/r/pay-code")
    m.el("paycode-digits").wait_for()
    code = m.text("paycode-digits")
    assert member["member_id"] not in m.page.inner_text("body")
    m.accessible("resident-pay-code-zh")
    s.fill("till-bill", "100")
    assert "最多可用 500 分 抵扣 ¥50.00" in s.text("till-allowed")
    s.fill("till-points", "200")
    assert s.text("till-value") == "抵扣金额 ¥20.00"
    s.accessible("shop-till-zh")
    s.fill("till-code", code)
    s.tap("till-charge-code")
    s.el("till-status").wait_for()
    s.page.get_by_text("已完成").wait_for(timeout=30_000)
    s.accessible("shop-till-done-zh")
    assert site.balances(member)["PT"]["posted"] == points - 200

    # By approval on the member's phone: the till shows a QR; the member scans it and confirms.
    s.tap("till-next")
    s.fill("till-bill", "30")
    s.fill("till-points", "100")
    s.tap("how-phone")
    s.fill("till-find", "冯大")  # by name (or public handle): the till never asks for an internal id
    s.tap("till-find-go")
    s.el("till-person").filter(has_text="冯大爷").first.click()
    approve = s.el("approve-text")
    approve.wait_for(timeout=30_000)
    m.open("/r/scan")
    m.fill("scan-typed", approve.inner_text())
    m.tap("scan-submit")
    card = m.page.locator('[data-test="transfer"]').first
    card.wait_for()
    m.until(lambda: "好邻居便利店" in card.inner_text(), refresh=False, message="the shop's name on the charge")
    assert "100 分" in card.inner_text() and "积分抵扣" in card.inner_text()
    m.accessible("resident-approve-zh")
    card.locator('[data-test="confirm"]').click()
    m.page.get_by_text("已确认，已入账").wait_for()
    s.until(lambda: s.text("till-state") == "已完成", refresh=False, message="the till to see the approval")
    assert site.balances(member)["PT"]["posted"] == points - 300

    s.open("/shop/redemptions")
    s.el("redemptions-list").locator("li").nth(1).wait_for()
    assert s.el("redemptions-list").inner_text().count("已完成") == 2
    s.accessible("shop-redemptions-zh")
    redemptions = list(site.dep.services["settlement"].db.redemptions.find({"merchant_id": merchant["merchant_id"]}))
    assert sorted(r["points"] for r in redemptions) == [100, 200]


def test_a_points_mall_order_is_approved_on_the_phone(site, phones):
    merchant, staff = site.shop("莲花超市")
    member = site.member("褚阿姨")
    points = site.give_points(member)
    s, m = phones(staff), phones(member)

    # The shop adds an item to its catalogue.
    s.open("/shop/catalogue")
    s.fill("new-name", "食用油 5L")
    s.fill("new-price", "150")
    s.fill("new-stock", "3")
    s.tap("new-add")
    s.page.get_by_text("已新增").wait_for()
    s.accessible("shop-catalogue-zh")

    # The member orders it and approves the charge.
    m.open("/r/mall")
    item = m.until(lambda: m.page.locator('[data-test^="item-"]', has_text="食用油 5L").first if m.page.locator(
        '[data-test^="item-"]', has_text="食用油 5L").count() else None, message="the item in the mall")
    assert "150 分" in item.inner_text() and "莲花超市" in item.inner_text()
    m.accessible("resident-mall-zh")
    item.locator('[data-test="order"]').click()
    card = m.el("order-approval").locator('[data-test="transfer"]')
    card.wait_for(timeout=30_000)
    card.locator('[data-test="confirm"]').click()
    m.page.get_by_text("已确认，已入账").wait_for()
    m.until(lambda: "已完成" in m.el("my-redemptions").inner_text(), message="the order to complete")

    assert site.balances(member)["PT"]["posted"] == points - 150
    order = site.dep.services["settlement"].db.redemptions.find_one({"member_id": member["member_id"]})
    assert order["state"] == "completed" and order["points"] == 150 and order["item_id"]
