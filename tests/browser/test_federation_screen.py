"""联网转账 in the web app: a resident pays a resident of another deployment (Credit Commons), on the real stack
with the exchange service. On a deployment not federated for the unit: the screen is reached from the home
screen, a malformed address is refused in the browser (nothing is sent), a well-formed one is sent after the
review step and the exchange's `not_federated` refusal is said in Chinese, the balance unchanged. Then with a
second deployment on loopback (tests/integration/exchange/loopback.py: its own ledger and exchange, served over
real HTTP) grafted for HOUR: the resident pays 1 h 30 min to hub/taoyuan/bo, sees it validated at once, and the
list follows it by itself until it is completed; both ledgers hold the figures. One beyond her balance is erased on
both nodes (the list says why), and one the hub's resident pays her, at the address her 我的联网地址 card shows
(with its QR code and a copy button; no card while not federated), is listed as received."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
from playwright.sync_api import expect

from shared.testing import serve, wait_until
from shared.worker import every
from services.exchange import ccflow
from tests.browser.test_screens import measure, small_targets
from tests.integration.exchange.loopback import Node, graft_pair

EXTRA_SERVICES = ("exchange",)
ZH_NOT_FEDERATED = "本部署的这个单位尚未接入联网。"
ZH_SHAPE = "地址至少有三段"


@pytest.fixture(scope="module")
def resident(site):
    """A resident with 2 hours of overdraft and the public handle the exchange names her by."""
    person = site.member("钱阿姨")
    site.hours_overdraft(person, 120)
    person["handle"] = f"qian_{uuid.uuid4().hex[:6]}"
    changed = site.call("patch", "/community/v1/members/me", token=person["token"], json={"handle": person["handle"]})
    assert changed.status_code == 200, changed.text
    exchange = site.dep.services["exchange"].db
    wait_until(lambda: exchange.cc_members.find_one({"community_id": site.cid, "handle": person["handle"]}),
               timeout=180, message="the exchange to learn the resident's handle")
    return person


def _posts_to_federation(phone) -> list:
    sent = []
    phone.page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and
                  "/federation/transfers" in r.url else None)
    return sent


def test_a_bad_address_is_refused_here_and_an_unfederated_unit_is_said_in_chinese(site, resident, phones):
    phone = phones(resident)
    posts = _posts_to_federation(phone)
    phone.el("tile-federation").wait_for()
    assert not small_targets(measure(phone), 44)
    phone.tap("tile-federation")
    phone.page.wait_for_url("**/r/federation")
    expect(phone.el("fed-list")).to_be_visible()
    expect(phone.page.get_by_text("还没有和其他网络的转账。")).to_be_visible()
    assert "hub/taoyuan/wang_fix" in phone.text("fed-payee-hint")
    # Not federated yet: no address to give anyone, so no 我的联网地址 card.
    expect(phone.el("fed-mine")).to_have_count(0)
    phone.accessible("resident-federation-zh")
    assert not small_targets(measure(phone), 44), small_targets(measure(phone), 44)[:3]

    # Malformed: two parts only. Said under the field; nothing sent, no review step.
    phone.fill("fed-payee", "taoyuan/wang_fix")
    phone.fill("fed-hours", "1")
    phone.tap("fed-next")
    expect(phone.el("fed-form")).to_contain_text(ZH_SHAPE)
    expect(phone.el("fed-review")).to_have_count(0)
    phone.fill("fed-payee", "hub/桃源/wang_fix")  # a community's name instead of its code
    phone.tap("fed-next")
    expect(phone.el("fed-form")).to_contain_text("不能有空格或汉字")
    expect(phone.el("fed-review")).to_have_count(0)
    assert posts == []

    # Well-formed, in points (this deployment is not federated for PT): the review says what will happen.
    phone.fill("fed-payee", " hub/taoyuan/wang_fix/ ")
    phone.el("fed-unit").select_option("PT")
    phone.fill("fed-points", "5")
    expect(phone.el("fed-words")).to_have_text("5 分")
    phone.fill("fed-memo", "谢谢修水管")
    phone.tap("fed-next")
    expect(phone.el("fed-review-payee")).to_have_text("hub/taoyuan/wang_fix")
    expect(phone.el("fed-review-amount")).to_have_text("5 分")
    expect(phone.el("fed-what-happens")).to_contain_text("对方节点先确认，然后从您的账户扣除 5 分")
    phone.accessible("resident-federation-review-zh")
    assert not small_targets(measure(phone), 44)
    before = site.balances(resident)["PT"]
    # While the other node is being asked, the screen says so (the request is held here until that is seen).
    held = []
    route = "**/api/exchange/v1/federation/transfers"
    phone.page.route(route, lambda r: held.append(r) if r.request.method == "POST" else r.continue_())
    phone.tap("fed-send")
    expect(phone.el("fed-progress")).to_contain_text("正在联系对方节点")
    expect(phone.el("fed-back")).to_be_disabled()
    wait_until(lambda: held, timeout=30, message="the POST to be held")
    phone.page.unroute(route)
    held[0].continue_()
    expect(phone.el("notice-error")).to_contain_text(ZH_NOT_FEDERATED)
    assert posts and all(url.endswith("/api/exchange/v1/federation/transfers") for url in posts)
    assert site.balances(resident)["PT"]["posted"] == before["posted"]
    assert site.dep.services["exchange"].db.cc_transfers.count_documents({"member_id": resident["member_id"]}) == 0

    # Back to the form with what was typed, and the same screen in English.
    phone.tap("fed-back")
    expect(phone.el("fed-payee").locator("input")).to_have_value("hub/taoyuan/wang_fix")
    phone.tap("lang-switch")
    expect(phone.page.get_by_role("heading", name="Pay another network")).to_be_visible()
    phone.accessible("resident-federation-en")

    # Large-text mode (长辈版): targets ≥ 60 px, text ≥ 24 px, and the form's problems said inline in words.
    phone.tap("lang-switch")
    phone.page.evaluate("localStorage.setItem('tb.elder', '1')")
    phone.open("/r/federation")
    expect(phone.page.get_by_text("还没有和其他网络的转账。")).to_be_visible()
    phone.tap("fed-next")
    expect(phone.el("fed-form")).to_contain_text("请填写对方的地址。")
    expect(phone.el("notice-error")).to_contain_text("请填写时间")
    figures = measure(phone)
    assert not small_targets(figures, 60), small_targets(figures, 60)[:3]
    assert not [t for t in figures["texts"] if t["size"] < 24], [t for t in figures["texts"] if t["size"] < 24][:3]
    phone.accessible("resident-federation-elder-zh")


@pytest.fixture(scope="module")
def hub(site, infra):
    """A second deployment (hub: community taoyuan, residents ann and bo) on loopback; this one is grafted onto it
    as hub/leaf for HOUR only (rate 1). The recovery the exchange's scheduler runs every second (it sends the
    pending and completed steps) runs here in a thread, as the in-process harness has no scheduler."""
    node = Node(infra, "hub", "taoyuan", 5)
    exchange = site.dep.services["exchange"]
    leaf = type("Leaf", (), {"exchange": exchange})
    stop = threading.Event()
    recovery = threading.Thread(target=every, args=(0.5, lambda: ccflow.recover(exchange.runtime), stop, "federation"),
                                daemon=True)
    try:
        with serve(node.exchange.app) as hub_url:
            graft_pair(leaf, node, hub_url, site.served["exchange"].url, units=(("HOUR", "1"),))
            recovery.start()
            yield node
    finally:
        stop.set()
        if recovery.is_alive():
            recovery.join(timeout=10)
        node.dep.close()


def test_hours_paid_to_another_deployment_complete_and_the_list_follows(site, resident, hub, phones):
    before = (site.balances(resident)["HOUR"]["posted"], hub.balance("bo", "HOUR"))
    phone = phones(resident)
    phone.open("/r/federation")
    # Grafted for HOUR: her own address, large and selectable, with a copy button, its QR code and the hint.
    mine = f"hub/leaf/{site.code}/{resident['handle']}"
    expect(phone.el("fed-mine-address")).to_have_text(mine)
    expect(phone.el("fed-mine-units")).to_contain_text("时间")
    expect(phone.el("fed-mine-hint")).to_have_text("请对方在他们的联网转账里填写这个地址。")
    qr = phone.el("fed-mine").locator('[data-test="qr-image"]')
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/png;base64,.{100}"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    phone.tap("fed-copy")
    expect(phone.el("fed-copy")).to_have_text("已复制")
    assert not small_targets(measure(phone), 44), small_targets(measure(phone), 44)[:3]
    phone.accessible("resident-federation-my-address-zh")
    shown = phone.text("fed-mine-address")
    phone.tap("lang-switch")
    expect(phone.page.get_by_role("heading", name="My address")).to_be_visible()
    expect(phone.el("fed-mine-hint")).to_contain_text("Ask the other person to type this address")
    expect(phone.el("fed-copy")).to_have_text("Copied")
    phone.accessible("resident-federation-my-address-en")
    phone.tap("lang-switch")
    phone.fill("fed-payee", "hub/taoyuan/bo")
    phone.el("fed-unit").select_option("HOUR")
    phone.fill("fed-hours", "1")
    phone.fill("fed-minutes", "30")
    expect(phone.el("fed-words")).to_have_text("1 小时 30 分钟")
    phone.tap("fed-next")
    expect(phone.el("fed-what-happens")).to_contain_text("从您的账户扣除 1 小时 30 分钟")
    phone.tap("fed-send")
    expect(phone.el("notice-ok")).to_contain_text("对方节点已确认（hub/taoyuan/bo）")

    row = phone.el("fed-transfer").first
    tid = row.get_attribute("data-uuid")
    assert phone.text("fed-amount") == "-1 小时 30 分钟"
    assert phone.text("fed-other") == "hub/taoyuan/bo"
    # The screen polls the transfer (no reload here) until it is completed on both nodes.
    expect(row).to_have_attribute("data-state", "completed", timeout=120_000)
    expect(row.locator('[data-test="fed-state"]')).to_have_text("已完成")
    assert hub.transfer(tid)["state"] == "completed" and hub.transfer(tid)["amount"] == 90
    wait_until(lambda: site.balances(resident)["HOUR"]["posted"] == before[0] - 90
               and hub.balance("bo", "HOUR") == before[1] + 90, timeout=120, message="both ledgers posted")
    phone.accessible("resident-federation-completed-zh")

    # A reload lists it from the server, newest first, in words.
    phone.page.reload()
    first = phone.el("fed-transfer").first
    expect(first).to_have_attribute("data-uuid", tid)
    expect(first).to_contain_text("已完成")
    expect(first).to_contain_text("付给 hub/taoyuan/bo")

    # One hour more than she has left (2 h of overdraft, 1 h 30 min used): the other node validates it, our ledger
    # refuses to hold it, the transfer is erased on both nodes; the list says so, and why, by itself.
    phone.fill("fed-payee", "hub/taoyuan/bo")
    phone.fill("fed-hours", "1")
    phone.tap("fed-next")
    phone.tap("fed-send")
    expect(phone.el("notice-ok")).to_be_visible()
    row = phone.el("fed-transfer").first
    second = row.get_attribute("data-uuid")
    assert second != tid
    expect(row).to_have_attribute("data-state", "erased", timeout=120_000)
    expect(row.locator('[data-test="fed-state"]')).to_have_text("已撤销，余额未变")
    expect(row.locator('[data-test="fed-reason"]')).to_have_text("原因：余额不够。")
    assert hub.transfer(second)["state"] == "erased"
    assert site.balances(resident)["HOUR"]["posted"] == before[0] - 90 and hub.balance("bo", "HOUR") == before[1] + 90

    # Received: bo pays her 45 minutes from the hub; her list shows it with a plus, from bo's address.
    paid = hub.pay("bo", "HOUR", shown, 45, "回赠")  # the very address her card shows
    assert paid.status_code == 202, paid.json
    assert hub.settle(paid.json["uuid"])["state"] == "completed"
    wait_until(lambda: site.balances(resident)["HOUR"]["posted"] == before[0] - 45, timeout=120,
               message="her ledger credited")
    phone.page.reload()
    received = phone.page.locator(f'[data-test="fed-transfer"][data-uuid="{paid.json["uuid"]}"]')
    expect(received).to_have_attribute("data-state", "completed")
    expect(received.locator('[data-test="fed-amount"]')).to_have_text("+45 分钟")
    expect(received).to_contain_text("来自 hub/taoyuan/bo")
    expect(received).to_contain_text("回赠")
    assert phone.el("fed-transfer").first.get_attribute("data-uuid") == paid.json["uuid"]  # newest first
    phone.accessible("resident-federation-list-zh")
