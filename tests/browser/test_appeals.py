"""Appeals (积分异议申诉) in the browser: a resident appeals the cap cut of an award from a line of her points history,
the admin upholds it in the console's appeal queue, and she sees the compensation in her history with the appeal's
number, every step of her appeal, and the notice. axe-core on every screen."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

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


def test_a_helper_appeals_a_claim_the_requester_refused_and_the_request_completes_when_it_is_upheld(site, phones):
    """周阿姨 asks for help, 吴师傅 helps (check-in and check-out with her codes, through the API) and claims 10
    minutes; she refuses the bill: the request is disputed. He appeals from the request's screen; the admin upholds
    it; the 10 minutes reach him and the request completes."""
    requester, helper = site.member("周阿姨"), site.member("吴师傅")
    now = datetime.now(timezone.utc)

    def api(who, method, path, **body):
        answer = site.call(method, path, token=who["token"], json=body or None)
        assert answer.status_code < 300, answer.text
        return answer.json()
    rid = api(requester, "post", "/requests/v1/requests", category="errands", title="取快递", estimated_minutes=30,
              grid_id=site.grids["1号楼"], window_start=now.isoformat(),
              window_end=(now + timedelta(hours=4)).isoformat())["request_id"]
    api(helper, "post", f"/requests/v1/requests/{rid}/accept")
    code = api(requester, "post", f"/requests/v1/requests/{rid}/codes")
    api(helper, "post", f"/requests/v1/requests/{rid}/check-in", qr_payload=code["qr_payload"])
    code = api(requester, "post", f"/requests/v1/requests/{rid}/codes")
    api(helper, "post", f"/requests/v1/requests/{rid}/check-out", code=code["code"])
    api(helper, "post", f"/requests/v1/requests/{rid}/claim", minutes=10)
    bill = wait_until(lambda: next((t for t in api(requester, "get", "/ledger/v1/transfers/awaiting")
                                    if t["reference"] == {"kind": "request", "id": rid}), None), timeout=120)
    api(requester, "post", f"/ledger/v1/transfers/{bill['transfer_id']}/reject", reason="没等到人")

    h = phones(helper)
    h.open(f"/r/requests/{rid}")
    h.until(lambda: h.el("appeal-claim").count(), message="the request disputed")
    h.accessible("resident-request-disputed-zh")
    h.tap("appeal-claim")
    h.el("appeal-claim-amount").wait_for()
    assert "10 分钟" in h.text("appeal-claim-amount")
    h.fill("appeal-reason", "快递已经送到门口，有照片")
    wait_until(lambda: site.dep.services["ledger"].db.disputed_claims.find_one({"_id": bill["transfer_id"]}),
               timeout=120, message="the ledger to hear the claim is disputed")
    h.tap("appeal-submit")
    h.page.wait_for_url("**/r/appeals/ap_*")
    appeal_id = h.el("appeal").first.get_attribute("data-appeal")

    admin = phones(ADMIN)
    admin.open("/admin/appeals")
    card = admin.page.locator(f'[data-appeal="{appeal_id}"]')
    card.wait_for()
    assert card.locator('[data-test="uphold-by-community"]').count() == 1  # a bill: the admin may have us pay
    card.locator('[data-test="uphold"]').click()
    admin.page.get_by_text("已支持申诉，补偿已入账。").wait_for()

    h.open(f"/r/requests/{rid}")
    h.until(lambda: "已完成" in h.page.inner_text("main"), message="the request completed")
    assert site.balances(helper)["HOUR"]["posted"] == 10 and site.balances(requester)["HOUR"]["posted"] == -10


def test_a_grid_worker_upholds_a_penalty_appeal_of_their_grid_from_the_staff_face(site, phones):
    """The admin fines 冯大爷 (1号楼) and 韩阿姨 (2号楼) for noise through the API; both appeal. The grid worker of 1号楼
    (not the one who decided) is told of 冯大爷's appeal, follows the notice to /staff/appeals, finds only his there,
    upholds it in full, and he sees the compensation in his points history; 韩阿姨's stays open for her own grid's
    reviewer or the admin."""
    worker = site.member("卫网格员", roles=("resident", "grid_worker"), grid="1号楼")
    east, west = site.member("冯大爷", grid="1号楼"), site.member("韩阿姨", grid="2号楼")
    earned = site.give_points(east)
    appeals = {}
    for person in (east, west):
        fined = site.call("post", "/ledger/v1/admin/penalties", token=site.admin,
                          json={"member_id": person["member_id"], "reason": "noise", "memo": "夜间装修"})
        assert fined.status_code == 201, fined.text
        filed = site.call("post", "/ledger/v1/appeals", token=person["token"], json={
            "kind": "penalty", "subject_id": fined.json()["penalty_id"], "reason": "那晚我不在家"})
        assert filed.status_code == 201, filed.text
        appeals[person["member_id"]] = (filed.json()["appeal_id"], fined.json()["amount"])
    appeal_id, fine = appeals[east["member_id"]]
    assert site.balances(east)["PT"]["posted"] == earned - fine

    w = phones(worker)
    w.open("/staff")
    w.el("staff-appeals-link").wait_for()  # the staff home's line to the queue
    # Told of the appeal (appeal.filed), the grid worker goes from the notice to their queue.
    notices = site.dep.services["notifications"].db.notifications
    wait_until(lambda: notices.find_one({"member_id": worker["member_id"], "kind": "appeal.filed"}), timeout=120)
    w.open("/r/notifications")
    w.el("notifications-list").locator("li", has_text="有一条积分申诉等你审核").locator("a").click()
    w.page.wait_for_url("**/staff/appeals")
    card = w.page.locator(f'[data-appeal="{appeal_id}"]')
    card.wait_for()
    assert "那晚我不在家" in card.inner_text() and f"{fine} 分" in card.inner_text()
    assert w.el("appeal-queue").locator("[data-appeal]").count() == 1  # not 2号楼's
    w.accessible("staff-appeal-queue-zh")
    card.locator('[data-test="uphold"]').click()
    w.page.get_by_text("已支持申诉，补偿已入账。").wait_for()
    w.el("appeal-status-filter").select_option("upheld")
    w.page.locator(f'[data-appeal="{appeal_id}"][data-status="upheld"]').wait_for()
    w.accessible("staff-appeal-upheld-zh")
    ledger = site.dep.services["ledger"].db.appeals
    assert ledger.find_one({"_id": appeals[west["member_id"]][0]})["status"] == "open"

    p = phones(east)
    p.open("/r/history")
    line = p.el("history-list").locator("li", has_text=f"积分申诉补偿 · {appeal_id}")
    line.wait_for()
    assert f"收入 {fine} 分" in line.inner_text()
    assert site.balances(east)["PT"]["posted"] == earned
