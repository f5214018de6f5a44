"""Appeals (积分异议申诉) in the browser: a resident appeals the cap cut of an award from a line of her points history,
the admin upholds it in the console's appeal queue, and she sees the compensation in her history with the appeal's
number, every step of her appeal, and the notice. axe-core on every screen."""
from __future__ import annotations

from shared.testing import wait_until

ADMIN = {"phone": "13800000001", "password": "admin-pass-1"}


def test_a_resident_appeals_a_cap_cut_the_admin_upholds_it_and_she_sees_the_compensation(site, phones):
    member = site.member("钱阿姨")
    earned = site.give_points(member)  # a newcomer's high-risk day: the yearly cap of 1,000 cuts it
    assert earned == 1000

    p = phones(member)
    p.open("/r/history")
    p.el("history-appeal").first.wait_for()
    p.accessible("resident-history-appealable-zh")
    p.tap("history-appeal")
    p.page.wait_for_url("**/r/appeals/new**")
    p.el("appeal-decision").wait_for()
    assert "年度上限 1000 分" in p.text("appeal-decision")
    assert p.el("appeal-kind").input_value() == "cap_cut"
    p.accessible("resident-appeal-file-zh")
    p.tap("appeal-submit")  # no reason: refused in words, nothing filed
    p.page.get_by_text("请写明理由").wait_for()
    p.fill("appeal-reason", "那天是防汛值守，整整一天")
    p.tap("appeal-submit")
    p.page.wait_for_url("**/r/appeals/ap_*")
    filed = p.el("appeal").first
    assert filed.get_attribute("data-status") == "open" and "上限扣减 · 处理中" in filed.inner_text()
    appeal_id = filed.get_attribute("data-appeal")
    p.accessible("resident-appeal-open-zh")

    admin = phones(ADMIN)
    admin.open("/admin")
    admin.tap("console-adminAppeals")
    admin.page.wait_for_url("**/admin/appeals")
    card = admin.page.locator(f'[data-appeal="{appeal_id}"]')
    card.wait_for()
    assert "那天是防汛值守，整整一天" in card.inner_text() and "445 分" in card.inner_text()  # 1,445 − 1,000
    admin.until(lambda: "钱阿姨" in card.inner_text(), refresh=False, message="the appellant's name")
    admin.accessible("admin-appeal-queue-zh")
    card.locator('[data-test="uphold-amount"] input').fill("100")
    card.locator('[data-test="uphold"]').click()
    admin.page.get_by_text("已支持申诉，补偿已入账。").wait_for()
    admin.el("appeal-status-filter").select_option("upheld")
    admin.page.locator(f'[data-appeal="{appeal_id}"][data-status="upheld"]').wait_for()
    admin.accessible("admin-appeal-upheld-zh")

    p.open("/r/history")
    line = p.el("history-list").locator("li", has_text=f"积分申诉补偿 · {appeal_id}")
    line.wait_for()
    assert "收入 100 分" in line.inner_text()
    assert site.balances(member)["PT"]["posted"] == 1100
    p.open("/r/appeals")
    mine = p.page.locator(f'[data-appeal="{appeal_id}"]')
    mine.wait_for()
    assert [s.get_attribute("data-step") for s in mine.locator('[data-test="appeal-step"]').all()] == ["filed", "upheld"]
    assert "申诉成立" in mine.inner_text() and "100 分" in p.text("appeal-amount")
    p.accessible("resident-appeals-upheld-zh")

    notices = site.dep.services["notifications"].db.notifications
    wait_until(lambda: notices.find_one({"member_id": member["member_id"], "kind": "appeal.upheld"}), timeout=120)
    p.open("/r/notifications")
    item = p.el("notifications-list").locator("li", has_text="你的积分申诉成立")
    item.wait_for()
    item.locator("a").click()
    p.page.wait_for_url(f"**/r/appeals/{appeal_id}")
    p.tap("lang-switch")
    p.page.get_by_text("Cap cut · Upheld").wait_for()
    p.accessible("resident-appeal-upheld-en")
