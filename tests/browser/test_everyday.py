"""Everyday resident flows not covered elsewhere, on a phone against the real stack: signing up for a community
activity and withdrawing, the history's filters and paging, and the notification centre (unread marks, newest
first, marking read). Each asserts what the person sees and what the services hold afterwards."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.testing import wait_until


def test_signing_up_for_an_activity_and_withdrawing(site, phones):
    now = datetime.now(timezone.utc)
    made = site.call("post", "/requests/v1/activities", token=site.organizer["token"], json={
        "activity_type": "cleanup", "title": "楼道大扫除", "place": "3号楼大厅", "capacity": 2,
        "starts_at": (now + timedelta(days=3)).isoformat(), "ends_at": (now + timedelta(days=3, hours=2)).isoformat()})
    assert made.status_code == 201, made.text
    activity_id = made.json()["activity_id"]
    resident = site.member("卫大姐")
    p = phones(resident)
    signups = site.dep.services["requests"].db.signups

    p.open("/r/activities")
    card = p.el(f"activity-{activity_id}")
    card.wait_for()
    assert "楼道大扫除" in card.inner_text() and "3号楼大厅" in card.inner_text()
    assert "剩余名额 2 / 2" in card.inner_text()
    p.accessible("resident-activities-zh")
    card.locator('[data-test="signup"]').click()
    p.page.get_by_text("报名成功").wait_for()
    assert card.locator('[data-test="signed-up"]').inner_text() == "已报名"
    p.page.reload()
    card.locator('[data-test="signed-up"]').wait_for()
    assert "剩余名额 1 / 2" in card.inner_text()  # kept: the requests service holds the place
    assert signups.find_one({"_id": f"{activity_id}:{resident['member_id']}"})["status"] == "signed_up"

    # In English: withdraw, and the place is given back.
    p.tap("lang-switch")
    card.locator('[data-test="withdraw"]').click()
    p.page.get_by_text("You withdrew").wait_for()
    assert card.locator('[data-test="signup"]').inner_text().strip() == "Sign up"
    p.page.reload()
    card.locator('[data-test="signup"]').wait_for()
    assert "2 of 2 places left" in card.inner_text()
    p.accessible("resident-activities-en")
    assert signups.find_one({"_id": f"{activity_id}:{resident['member_id']}"})["status"] == "withdrawn"


def test_history_filters_by_unit_and_date_and_pages_newest_first(site, phones):
    taker = site.member("蒋老师")
    giver = site.member("沈大哥", grid="2号楼")
    site.hours_overdraft(giver, 600)
    earned = site.give_points(taker)  # one PT line (what the community's rules make of a high-risk day)
    assert site.call("put", "/ledger/v1/preferences", token=taker["token"],
                     json={"auto_accept_credits": True}).status_code == 200
    for minutes in range(1, 13):  # twelve gifts, posted at once: twelve HOUR lines
        gift = site.call("post", "/ledger/v1/transfers", token=giver["token"], json={
            "workflow": "credit", "unit": "HOUR", "counterparty_id": taker["member_id"], "amount": minutes})
        assert gift.status_code == 201 and gift.json()["state"] == "posted", gift.text
    wait_until(lambda: site.balances(taker)["HOUR"]["posted"] == sum(range(1, 13)))

    p = phones(taker)
    p.open("/r/history")
    lines = p.el("history-list").locator("li")
    lines.nth(9).wait_for()
    assert lines.count() == 10  # a page of ten, the newest first
    assert "收入 12 分钟" in lines.nth(0).inner_text() and "收入 3 分钟" in lines.nth(9).inner_text()
    p.accessible("resident-history-page1-zh")
    p.tap("page-next")
    p.until(lambda: "收入 2 分钟" in p.el("history-list").inner_text(), refresh=False, message="page two")
    page_two = p.el("history-list").inner_text()
    assert "收入 1 分钟" in page_two and f"{earned} 分" in page_two and p.el("history-list").locator("li").count() == 3
    assert p.el("page-next").is_disabled()
    p.tap("page-prev")
    p.until(lambda: "收入 12 分钟" in p.el("history-list").inner_text(), refresh=False, message="back to page one")

    # Only points: the one award line.
    p.el("history-unit").select_option("PT")
    p.tap("history-filter")
    p.until(lambda: p.el("history-list").locator("li").count() == 1 and f"{earned} 分" in p.text("history-list"),
            refresh=False, message="only the points line")
    # From tomorrow on: nothing, said as an empty state.
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    p.el("history-unit").select_option("")
    p.el("history-since").fill(tomorrow)
    p.tap("history-filter")
    p.page.get_by_text("这段时间没有记录").wait_for()
    p.accessible("resident-history-empty-zh")
    entries = site.call("get", "/ledger/v1/entries", token=taker["token"], params={"limit": 100}).json()
    assert len(entries["items"]) == 13


def test_the_notification_centre_marks_unread_lists_newest_first_and_marks_read(site, phones):
    taker = site.member("韩奶奶")
    giver = site.member("杨小弟", grid="2号楼")
    site.hours_overdraft(giver, 120)
    gift = site.call("post", "/ledger/v1/transfers", token=giver["token"], json={
        "workflow": "credit", "unit": "HOUR", "counterparty_id": taker["member_id"], "amount": 45, "memo": "买药"})
    assert gift.status_code == 201, gift.text
    notices = site.dep.services["notifications"].db.notifications
    wait_until(lambda: notices.count_documents({"member_id": taker["member_id"]}) == 1, timeout=120)
    accepted = site.call("post", f"/ledger/v1/transfers/{gift.json()['transfer_id']}/confirm", token=taker["token"])
    assert accepted.status_code == 200, accepted.text
    wait_until(lambda: notices.count_documents({"member_id": taker["member_id"]}) == 2, timeout=120)

    p = phones(taker)
    p.open("/r")
    assert p.el("unread-badge").inner_text() == "2"
    p.tap("tile-notifications")
    items = p.el("notifications-list").locator("li")
    items.nth(1).wait_for()
    newest, older = items.nth(0).inner_text(), items.nth(1).inner_text()
    assert newest.startswith("新 · 已入账") and older.startswith("新 · 有一笔需要你确认")  # newest first, both unread
    assert "45 分钟" in newest and "45 分钟" in older  # how much, in words
    p.accessible("resident-notifications-unread-zh")

    # Opening one marks it read (the other stays unread).
    items.nth(1).locator("a").click()
    p.page.wait_for_url("**/r/approve/**")
    wait_until(lambda: notices.count_documents({"member_id": taker["member_id"], "read": False}) == 1)
    p.open("/r/notifications")
    items.nth(1).wait_for()
    assert items.nth(0).inner_text().startswith("新 · ") and not items.nth(1).inner_text().startswith("新")
    assert p.page.locator('h1 [data-test="unread-badge"]').inner_text() == "1"

    # Mark all read: no mark, no badge, here or at home.
    p.tap("lang-switch")
    p.tap("read-all")
    p.until(lambda: not p.el("read-all").count() and "New" not in p.text("notifications-list"), refresh=False,
            message="everything read")
    p.accessible("resident-notifications-read-en")
    assert notices.count_documents({"member_id": taker["member_id"], "read": False}) == 0
    p.open("/r")
    p.el("balances").wait_for()
    p.page.wait_for_load_state("networkidle")
    assert p.el("unread-badge").count() == 0


def test_points_about_to_expire_are_said_in_words_in_the_notification_centre(site, phones):
    """The ledger's expiry reminder (PointsExpiring, as services.ledger.economy.remind publishes it) reaches the
    member's notification centre: how many points, on which day, in how many days, in both languages."""
    from shared import topics
    member = site.member("孙阿姨")
    account = f"m:{site.cid}:{member['member_id']}:PT"
    site.dep.publish(topics.LEDGER, "PointsExpiring", {
        "community_id": site.cid, "member_id": member["member_id"], "account_id": account,
        "rule_version": 1, "days": 7, "expires_on": "2027-01-31", "points": 120}, key=account)
    notices = site.dep.services["notifications"].db.notifications
    wait_until(lambda: notices.find_one({"member_id": member["member_id"], "kind": "points.expiring"}), timeout=120)

    p = phones(member)
    p.open("/r/notifications")
    item = p.el("notifications-list").locator("li").nth(0)
    item.wait_for()
    text = item.inner_text()
    assert text.startswith("新 · 你的积分快过期了") and "120 分" in text and "2027-01-31 到期（还有 7 天）" in text
    p.accessible("resident-notifications-expiring-zh")
    p.tap("lang-switch")
    p.page.get_by_text("expire on 2027-01-31 (in 7 days)").wait_for()
    item.locator("a").click()
    p.page.wait_for_url("**/r/history")
