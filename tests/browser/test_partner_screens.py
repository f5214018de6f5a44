"""Partner communities in the web app (互认社区), on the real stack with the exchange service: two admins in two
browser contexts — A proposes, B accepts, both see the trust lines; clearing with nothing to clear is refused in
Chinese; once a cross transfer is counted, clearing makes a record whose CSV comes down through the app's
session; a resident finds a partner community's member by handle, sees a quote with the exact conversion, and
pays across: the member of B confirms it in their awaiting list, where it shows both amounts and the partner.

The transfer the clearing nets here is the ledger's CrossTransferPosted event (its contract in
services/exchange/README.md) published on ledger.events, as the exchange's own tests do, so that the exchange has
a position to show and clear before any resident pays; the payment at the end goes through the ledger itself."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from shared import topics
from shared.testing import cross_transfer_posted, wait_until

EXTRA_SERVICES = ("exchange",)
ZH_NOTHING_TO_CLEAR = "目前没有需要清算的净额。"


@pytest.fixture(scope="module")
def partner(site):
    """Community B (桃源社区, 4 fen a point) on the same stack as A (莲花社区, 10 fen a point), and B's member
    王师傅 with the public handle wang_fix."""
    b = type(site)(site.dep, site.served, site.gateway, name="桃源社区", point_value_fen=4)
    wang = b.wang = b.member("王师傅")
    changed = b.call("patch", "/community/v1/members/me", token=wang["token"], json={"handle": "wang_fix"})
    assert changed.status_code == 200, changed.text
    exchange = site.dep.services["exchange"].db
    wait_until(lambda: exchange.communities.count_documents({"_id": {"$in": [site.cid, b.cid]}}) == 2,
               timeout=180, message="the exchange to learn both communities")
    return b


def _admin(site) -> dict:
    return {"phone": "13800000001", "password": "admin-pass-1", "token": site.admin}


def _line(phone, code: str, unit: str):
    return phone.page.locator(f'[data-test="trust-line"][data-partner="{code}"][data-unit="{unit}"]')


def test_two_admins_agree_clear_and_export_and_a_resident_sees_a_quote(site, partner, phones):
    a_admin = phones(_admin(site))
    b_admin = phones(_admin(partner), login=False)
    b_admin.site = partner  # B's admin signs in to community B
    b_admin.login()
    _agree(site, partner, a_admin, b_admin)
    _clear(site, partner, a_admin, b_admin)
    _quote(site, partner, phones)
    _suspend_resume_end(site, partner, a_admin, b_admin)


def _agree(site, partner, a_admin, b_admin) -> None:
    # A's admin reaches the console from the top bar, then proposes hours (10 h) and points (¥50), weekly.
    a_admin.tap("face-switch")
    a_admin.page.wait_for_url("**/admin")
    a_admin.accessible("admin-console-zh")
    a_admin.tap("console-partners")
    a_admin.page.wait_for_url("**/admin/partners")
    a_admin.fill("propose-code", partner.code)
    a_admin.el("propose-pt").check()
    a_admin.fill("propose-hours", "10")
    a_admin.fill("propose-yuan", "50")
    a_admin.el("propose-period").select_option("weekly")
    a_admin.tap("propose-submit")
    expect(a_admin.el("notice-ok")).to_contain_text("已向 桃源社区 发起提议")
    mine = a_admin.page.locator(f'[data-test="agreement"][data-partner="{partner.code}"]')
    expect(mine).to_have_attribute("data-state", "proposed")
    assert "待对方答复" in mine.inner_text() and "本社区发起" in mine.inner_text()
    assert "净额上限 10 小时" in mine.locator('[data-test="agreement-HOUR"]').inner_text()
    pt = mine.locator('[data-test="agreement-PT"]').inner_text()
    assert "净额上限 ¥50.00" in pt and "莲花社区 每分 ¥0.10，桃源社区 每分 ¥0.04" in pt
    a_admin.accessible("admin-partners-proposed-zh")

    # B's admin sees the incoming proposal first and accepts it.
    b_admin.open("/admin/partners")
    theirs = b_admin.page.locator(f'[data-test="agreement"][data-partner="{site.code}"]')
    assert "待本社区答复 · 对方向本社区发起" in theirs.inner_text()
    b_admin.accessible("admin-partners-incoming-zh")
    theirs.locator('[data-test="agreement-accept"]').click()
    expect(b_admin.el("notice-ok")).to_contain_text("已接受")
    expect(theirs).to_have_attribute("data-state", "active")
    assert "生效中" in theirs.inner_text()
    a_admin.page.reload()
    expect(mine).to_have_attribute("data-state", "active")
    assert {b.strip() for b in mine.locator(".actions .van-button").all_inner_texts()} == {"暂停", "终止协议"}
    a_admin.accessible("admin-partners-zh")

    # Both see the two trust lines the exchange opened (through Kafka), with rate, limit, position and headroom.
    for phone, other in ((a_admin, partner), (b_admin, site)):
        phone.open("/admin/trust-lines")
        phone.until(lambda p=phone, o=other: _line(p, o.code, "PT").count() and _line(p, o.code, "HOUR").count(),
                    message="both trust lines")
    hours = _line(a_admin, partner.code, "HOUR")
    assert hours.locator('[data-test="line-limit"]').inner_text() == "10 小时"
    assert hours.locator('[data-test="line-rate"]').inner_text() == "1 小时 = 1 小时"
    assert hours.locator('[data-test="line-position"]').inner_text() == "双方持平"
    assert hours.locator('[data-test="line-headroom"]').inner_text() == "10 小时"
    assert hours.locator('[data-test="line-next"]').inner_text() == "暂无待清算的往来"
    points = _line(b_admin, site.code, "PT")
    assert points.locator('[data-test="line-rate"]').inner_text() == "按积分面值：桃源社区 每分 ¥0.04，莲花社区 每分 ¥0.10"
    assert points.locator('[data-test="line-limit"]').inner_text() == "¥50.00"
    b_admin.accessible("admin-trust-lines-empty-zh")


def _clear(site, partner, a_admin, b_admin) -> None:
    # Nothing to clear yet: the 409 is said in Chinese, and nothing is recorded.
    hours = _line(a_admin, partner.code, "HOUR")
    hours.locator('[data-test="clear-now"]').click()
    expect(hours.locator('[data-test="notice-error"]')).to_contain_text(ZH_NOTHING_TO_CLEAR)
    exchange = site.dep.services["exchange"].db
    assert exchange.clearings.count_documents({}) == 0

    # One cross transfer counted: A's resident paid 90 minutes to B (the ledger's event, see the module doc).
    line = exchange.trust_lines.find_one({"community_a": site.cid, "unit": "HOUR"})
    quote = site.call("get", f"/exchange/v1/trust-lines/{line['_id']}/quote", token=site.admin,
                      params={"payer_community": site.cid, "amount": 90, "stated_by": "payer"}).json()
    tid = f"t_{uuid.uuid4().hex[:12]}"
    site.dep.publish(topics.LEDGER, "CrossTransferPosted",
                     cross_transfer_posted(quote, line["_id"], line["agreement_id"], tid), tid)
    wait_until(lambda: exchange.position_entries.find_one({"_id": tid}), timeout=120,
               message="the exchange to count the cross transfer")
    a_admin.page.reload()
    assert hours.locator('[data-test="line-position"]').inner_text() == "本社区欠 桃源社区 1 小时 30 分钟"
    assert hours.locator('[data-test="line-headroom"]').inner_text() == "8 小时 30 分钟"
    b_admin.page.reload()
    theirs = _line(b_admin, site.code, "HOUR")
    assert theirs.locator('[data-test="line-position"]').inner_text() == "莲花社区 欠本社区 1 小时 30 分钟"
    a_admin.accessible("admin-trust-lines-zh")

    # B's admin clears now: the record says who owes whom, and the position is back to even.
    theirs.locator('[data-test="clear-now"]').click()
    expect(theirs.locator('[data-test="notice-ok"]')).to_contain_text("已清算：莲花社区 应付 桃源社区 1 小时 30 分钟")
    expect(theirs.locator('[data-test="line-position"]')).to_have_text("双方持平")

    # A's admin sees the record and downloads its CSV through the app's session (its bearer token).
    asked: list[dict] = []
    a_admin.page.on("request", lambda r: asked.append(r.headers) if "export.csv" in r.url else None)
    a_admin.open("/admin/clearings")
    record = a_admin.el("clearing").first
    record.wait_for()
    assert record.locator('[data-test="clearing-due"]').inner_text() == "莲花社区 应付 桃源社区 1 小时 30 分钟"
    assert "对方管理员" in record.inner_text() and "1 笔往来" in record.inner_text()
    a_admin.accessible("admin-clearings-zh")
    with a_admin.page.expect_download() as download:
        a_admin.tap("clearing-csv")
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and "莲花社区" in body.decode("utf-8-sig")
    assert download.value.suggested_filename.startswith("clearing-")
    assert asked and asked[0].get("authorization", "").startswith("Bearer ")
    a_admin.tap("lang-switch")
    expect(a_admin.el("clearing-due").first).to_have_text("莲花社区 owes 桃源社区 1 h 30 min")
    a_admin.accessible("admin-clearings-en")
    a_admin.open("/admin/partners")
    a_admin.el("agreement").first.wait_for()
    a_admin.accessible("admin-partners-en")
    a_admin.open("/admin/trust-lines")
    a_admin.el("trust-line").first.wait_for()
    a_admin.accessible("admin-trust-lines-en")


def _quote(site, partner, phones) -> None:
    resident = site.member("何奶奶")
    phone = phones(resident)
    phone.open("/r/gift")
    phone.tap("gift-partners")
    phone.page.wait_for_url("**/r/partners")
    expect(phone.el("partner-community")).to_have_value(partner.code)
    # A phone number finds nobody; the handle does (case does not matter).
    phone.fill("partner-handle", partner.wang["phone"])
    phone.tap("partner-find")
    expect(phone.el("notice-error")).to_contain_text("该社区没有这个公开账号的居民，请核对后再试。")
    phone.fill("partner-handle", "Wang_Fix")
    phone.tap("partner-find")
    expect(phone.el("partner-member-name")).to_have_text("王师傅")
    assert "1号楼" in phone.text("partner-member") and "@wang_fix" in phone.text("partner-member")
    phone.accessible("resident-partner-member-zh")

    # Giving 7 of my points (¥0.70) is 17.5 of theirs at ¥0.04: they receive 17 (rounded down).
    _see_quote(phone, "quote-give", "PT", 7, "7 分", "17 分", ("你付出", "王师傅 收到"))
    assert phone.text("quote-rate") == "本社区每分 ¥0.10，桃源社区每分 ¥0.04。"
    phone.accessible("resident-partner-quote-zh")
    # Billing them 3 of my points (¥0.30) is 7.5 of theirs: they pay 8 (rounded up).
    _see_quote(phone, "quote-bill", "PT", 3, "8 分", "3 分", ("王师傅 付出", "你收到"))
    # Hours are 1:1.
    _see_quote(phone, "quote-give", "HOUR", 90, "1 小时 30 分钟", "1 小时 30 分钟", ("你付出", "王师傅 收到"))
    phone.tap("lang-switch")
    expect(phone.el("quote-debit")).to_have_text("1 h 30 min")
    phone.accessible("resident-partner-quote-en")
    # Nothing moved: a quote is a price, not a payment.
    assert site.balances(resident)["HOUR"]["posted"] == 0
    _pay_across(site, partner, phones, phone, resident)


def _pay_across(site, partner, phones, phone, resident) -> None:
    """The quoted 90 minutes sent for real (the ledger, with the app's Idempotency-Key): held, pending in A until
    王师傅 confirms it in B, where it waits with both amounts and the partner community; then it has moved."""
    phone.tap("lang-switch")  # back to Chinese
    phone.tap("partner-send")
    expect(phone.el("notice-ok")).to_contain_text("已发送，等待桃源社区的王师傅确认。")
    expect(phone.el("partner-send")).to_have_count(0)
    held = site.balances(resident)["HOUR"]
    assert (held["posted"], held["pending_out"]) == (0, 90)
    wang = phones(partner.wang, login=False)
    wang.site = partner  # 王师傅 signs in to community B
    wang.login()
    wang.open("/r/awaiting")
    card = wang.el("transfer").first
    card.wait_for()
    assert card.locator('[data-test="transfer-amount"]').inner_text() == "你将收到 1 小时 30 分钟"
    expect(card.locator('[data-test="transfer-cross"]')).to_have_text(
        "跨社区（莲花社区）：付款方付 1 小时 30 分钟，收款方收 1 小时 30 分钟")
    wang.accessible("resident-partner-awaiting-zh")
    card.locator('[data-test="confirm"]').click()
    expect(card.locator('[data-test="transfer-state"]')).to_have_text("已入账")
    assert site.balances(resident)["HOUR"]["posted"] == -90
    assert partner.balances(partner.wang)["HOUR"]["posted"] == 90
    # Both histories say where it went.
    phone.open("/r/history")
    expect(phone.el("history-list")).to_contain_text("与桃源社区")


def _suspend_resume_end(site, partner, a_admin, b_admin) -> None:
    """A suspends (only A may resume), resumes; B ends the agreement with a second tap, and the lines close."""
    a_admin.tap("lang-switch")  # back to Chinese
    a_admin.open("/admin/partners")
    mine = a_admin.page.locator(f'[data-test="agreement"][data-partner="{partner.code}"]')
    mine.locator('[data-test="agreement-suspend"]').click()
    expect(mine).to_have_attribute("data-state", "suspended")
    expect(mine.locator(".actions .van-button")).to_have_text(["恢复", "终止协议"])
    b_admin.open("/admin/partners")
    theirs = b_admin.page.locator(f'[data-test="agreement"][data-partner="{site.code}"]')
    expect(theirs).to_have_attribute("data-state", "suspended")
    expect(theirs.locator(".actions .van-button")).to_have_text(["终止协议"])  # only A resumes
    mine.locator('[data-test="agreement-resume"]').click()
    expect(mine).to_have_attribute("data-state", "active")
    b_admin.page.reload()
    end = theirs.locator('[data-test="agreement-end"]')
    end.click()
    expect(end).to_have_text("再点一次确认：终止协议")
    assert theirs.get_attribute("data-state") == "active"  # one tap ends nothing
    end.click()
    expect(theirs).to_have_attribute("data-state", "ended")
    expect(b_admin.el("notice-ok")).to_contain_text("协议已终止")
    expect(theirs.locator(".actions")).to_have_count(0)
    b_admin.open("/admin/trust-lines")
    b_admin.until(lambda: b_admin.el("trust-line").count() == 2 and all(
        "已关闭" in text for text in b_admin.el("trust-line").all_inner_texts()), message="both lines closed")
    expect(b_admin.el("clear-now")).to_have_count(0)


def _see_quote(phone, direction: str, unit: str, amount: int, debit: str, credit: str, who: tuple[str, str]):
    """Ask for a quote (give or bill, in a unit) and see both amounts and who pays and receives them."""
    phone.tap(direction)
    phone.el("quote-unit").select_option(unit)
    phone.fill("quote-amount", str(amount))
    phone.tap("quote-submit")
    expect(phone.el("quote-debit")).to_have_text(debit)
    expect(phone.el("quote-credit")).to_have_text(credit)
    assert all(words in phone.text("quote") for words in who)
