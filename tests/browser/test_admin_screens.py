"""The admin's console screens in a real Chromium on the real stack (issue 15): a member list imported from a
spreadsheet file (CSV as Excel/WPS save it) with two bad rows reports them and imports the rest; an admin changes a
rule, sees the diff, runs the simulator (a job of the community service with a progress bar) with the figures side
by side, adopts the rule with an effective date, and the next award follows it. axe-core on every screen."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.local_time import LOCAL_IN

from shared.testing import wait_until
from services.community import scheduler


def _admin(site) -> dict:
    return {"phone": "13800000001", "password": "admin-pass-1", "token": site.admin}


@pytest.fixture(scope="module")
def simulations_worker(site):
    """The community service's scheduler role (it runs simulation jobs), in a thread for this module."""
    stop = threading.Event()
    db = site.dep.services["community"].db

    def loop():
        while not stop.is_set():
            scheduler.run_pending(db, "browser-test")
            stop.wait(0.3)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def test_a_member_import_with_two_bad_rows_reports_them_and_imports_the_rest(site, phones, tmp_path):
    sheet = ("姓名,手机号,初始密码,网格,角色\r\n"
             "冯大爷,13700000011,123456,1号楼,居民\r\n"
             "陈阿姨,13700,123456,2号楼,居民\r\n"            # a phone of 5 digits: too short
             "\"褚 老师\",13700000013,pass-word-9,2号楼,居民;组织者\r\n"
             "卫师傅,13700000014,123456,9号楼,居民\r\n"     # no such grid
             "=老管理员,13800000001,123456,1号楼,居民\r\n")  # the admin's own phone: already a member
    path = tmp_path / "members.csv"
    path.write_bytes("\ufeff".encode() + sheet.encode("utf-8"))
    admin = phones(_admin(site))
    admin.tap("face-switch")
    admin.page.wait_for_url("**/admin")
    admin.tap("console-members")
    admin.page.wait_for_url("**/admin/members")
    expect(admin.el("member")).not_to_have_count(0)
    admin.accessible("admin-members-zh")
    admin.el("import-file").set_input_files(str(path))
    expect(admin.el("import-summary")).to_have_text("3 行可以导入，2 行有错")
    rows = admin.el("import-row")
    expect(rows).to_have_count(5)
    line = lambda n: admin.page.locator(f'[data-test="import-row"][data-line="{n}"]')  # noqa: E731
    expect(line(3)).to_contain_text("手机号格式不对")
    expect(line(5)).to_contain_text("没有这个网格")
    expect(line(4)).to_contain_text("可以导入")
    admin.accessible("admin-import-preview-zh")
    admin.tap("import-submit")
    # One call to the service for the three good rows; its answer, row by row, is what the staff sees.
    expect(admin.el("notice-ok")).to_contain_text("导入完成：新增 2 行，已是成员 1 行，失败 0 行。")
    expect(admin.el("progress-bar")).to_have_attribute("data-percent", "100")
    expect(line(2)).to_contain_text("已导入")
    expect(line(4)).to_contain_text("已导入")
    expect(line(6)).to_contain_text("已是成员，未重复添加")
    expect(line(3)).to_contain_text("手机号格式不对")
    admin.accessible("admin-import-done-zh")

    # The outcomes as a CSV file: UTF-8 with a BOM for Excel, one line per row of the sheet, a formula defused.
    with admin.page.expect_download() as download:
        admin.tap("import-download")
    assert download.value.suggested_filename == "成员导入结果.csv"
    body = Path(download.value.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines == ["行号,姓名,手机号,结果", "2,冯大爷,13700000011,已导入", "3,陈阿姨,13700,手机号格式不对",
                     "4,褚 老师,13700000013,已导入", "5,卫师傅,13700000014,没有这个网格",
                     "6,'=老管理员,13800000001,已是成员，未重复添加"]

    # The same file again adds nobody: the three phones are members now.
    admin.page.reload()
    admin.el("import-file").set_input_files(str(path))
    admin.tap("import-submit")
    expect(admin.el("notice-ok")).to_contain_text("导入完成：新增 0 行，已是成员 3 行，失败 0 行。")
    expect(line(2)).to_contain_text("已是成员，未重复添加")

    members = site.dep.services["community"].db.members
    feng = members.find_one({"community_id": site.cid, "phone": "13700000011"})
    chu = members.find_one({"community_id": site.cid, "phone": "13700000013"})
    assert feng["display_name"] == "冯大爷" and feng["grid_id"] == site.grids["1号楼"] and feng["roles"] == ["resident"]
    assert chu["display_name"] == "褚 老师" and chu["grid_id"] == site.grids["2号楼"]
    assert set(chu["roles"]) == {"resident", "organizer"}
    assert members.count_documents({"community_id": site.cid, "phone": {"$in": ["13700", "13700000014"]}}) == 0
    assert members.count_documents({"community_id": site.cid, "phone": "13800000001"}) == 1
    assert members.count_documents({"community_id": site.cid, "phone": {"$in": ["13700000011", "13700000013"]}}) == 2
    assert site.login("13700000013", "pass-word-9")  # an imported member signs in with the sheet's password

    # Edit: 冯大爷 becomes a grid worker of 2号楼, then is deactivated (asked twice).
    admin.page.reload()
    row = admin.page.locator('[data-test="member"][data-phone="13700000011"]')
    row.locator('[data-test="member-edit"]').click()
    row.locator('[data-test="edit-grid"]').select_option(label="2号楼")
    row.locator('[data-test="edit-role-grid_worker"]').check()
    row.locator('[data-test="edit-save"]').click()
    expect(admin.el("notice-ok")).to_contain_text("已保存：冯大爷")
    expect(row).to_contain_text("2号楼")
    expect(row).to_contain_text("网格员")
    doc = members.find_one({"_id": feng["_id"]})
    assert doc["grid_id"] == site.grids["2号楼"] and set(doc["roles"]) == {"resident", "grid_worker"}
    row.locator('[data-test="member-edit"]').click()
    row.locator('[data-test="edit-deactivate"]').click()
    expect(row.locator('[data-test="edit-deactivate"]')).to_contain_text("再点一次确认停用")
    row.locator('[data-test="edit-deactivate"]').click()
    expect(row).to_have_attribute("data-status", "inactive")
    assert members.find_one({"_id": feng["_id"]})["status"] != "active"


def test_an_admin_changes_a_rule_simulates_adopts_it_and_the_next_award_follows(site, phones, simulations_worker):
    admin = phones(_admin(site))
    admin.tap("face-switch")
    admin.tap("console-rules")
    admin.page.wait_for_url("**/admin/rules")
    admin.tap("rule-open-activity_points")
    field = admin.el("rule-activity_points.environment_cleanup")
    expect(field.locator("input")).to_have_value("20")
    admin.accessible("admin-rules-zh")
    field.locator("input").fill("40")
    change = admin.page.locator('[data-test="rule-change"][data-path="activity_points.environment_cleanup"]')
    expect(change).to_contain_text("环境清洁")
    expect(change).to_contain_text("2040")
    expect(admin.el("rule-open-activity_points")).to_contain_text("改了 1 项")

    # The simulator: the draft against the rules in effect, as a job with progress, figures side by side.
    admin.fill("sim-households", "200")
    admin.tap("sim-run")
    expect(admin.el("progress-bar")).to_be_visible()
    expect(admin.el("progress-bar")).to_have_attribute("data-percent", "100", timeout=120_000)
    issued = admin.page.locator('[data-test="sim-row"][data-figure="issued"]')
    expect(issued).to_be_visible()
    now, draft = (int(issued.locator(f'[data-test="sim-{side}"]').inner_text()) for side in ("current", "proposed"))
    assert draft > now > 0
    job = site.dep.services["community"].db.simulations.find_one({"community_id": site.cid}, sort=[("requested_at", -1)])
    assert job["status"] == "done" and job["result"]["proposed"]["totals"]["issued"] == draft
    assert job["result"]["current"]["totals"]["issued"] == now and job["params"]["households"] == 200
    admin.accessible("admin-simulator-zh")

    # Adopt, in effect a few seconds from now; the versions list shows it pending.
    admin.el("rule-effective").fill(admin.page.evaluate(LOCAL_IN, 5))
    admin.tap("rule-adopt")
    expect(admin.el("notice-ok")).to_contain_text("第 1 版已发布")
    expect(admin.page.locator('[data-test="rule-version"][data-version="1"]')).to_be_visible()
    stored = site.dep.services["community"].db.points_rules.find_one({"community_id": site.cid, "version": 1}) or \
        site.call("get", f"/community/v1/communities/{site.cid}/points-rules/1", token=site.admin).json()
    assert stored["rules"]["activity_points"]["environment_cleanup"] == 40

    # The next award, once the version is in effect and the ledger has it, is computed under version 1.
    ledger = site.dep.services["ledger"].db
    wait_until(lambda: ledger.points_rules.find_one({"community_id": site.cid, "version": 1}), timeout=120,
               message="the ledger to learn version 1")
    time.sleep(6)  # until the version's effective time has passed
    volunteer = site.member("蒋同学")
    made = site.call("post", "/ledger/v1/transfers", token=volunteer["token"], json={
        "workflow": "award", "unit": "PT", "minutes": 60, "activity_type": "environment_cleanup"})
    assert made.status_code == 201, made.text
    award = made.json()["award"]
    assert award["rule_version"] == 1
    assert award["items"][0]["points"] == 40


def test_money_credit_and_audit_screens(site, phones):
    """The sponsor budget topped up, a merchant registered and reconciled, a points loan granted, the audit run —
    each shown on screen and held by the services; the console and a screen in English too."""
    borrower = site.member("韩奶奶")
    admin = phones(_admin(site))
    admin.open("/admin")
    admin.accessible("admin-console-all-zh")
    admin.tap("console-money")
    admin.page.wait_for_url("**/admin/money")
    admin.fill("topup-yuan", "500.50")
    admin.fill("topup-ref", "赞助-2026-11")
    admin.tap("topup-submit")
    expect(admin.el("notice-ok")).to_contain_text("已充值 ¥500.50")
    expect(admin.el("budget-remaining")).to_have_text("¥500.50")
    budget = site.call("get", "/settlement/v1/sponsor-budget", token=site.admin).json()
    assert budget["topped_up_fen"] == 50050 and budget["remaining_fen"] == 50050
    admin.fill("merchant-name", "街角理发店")
    admin.fill("merchant-rate", "8")
    admin.tap("merchant-register")
    expect(admin.page.locator('[data-test="notice-ok"]').last).to_contain_text("已登记：街角理发店")
    shop = admin.page.locator('[data-test="merchant"][data-name="街角理发店"]')
    expect(shop).to_contain_text("每分 8 分钱")
    stored = site.dep.services["settlement"].db.merchants.find_one({"community_id": site.cid, "name": "街角理发店"})
    assert stored["settlement_rate_fen_per_point"] == 8 and stored["kind"] == "shop"
    shop.locator('[data-test="merchant-open"]').click()
    admin.tap("reconcile")
    expect(admin.el("reconciliation")).to_have_attribute("data-balanced", "true")
    expect(admin.el("reconciliation-verdict")).to_have_text("账实相符")
    admin.accessible("admin-money-zh")

    admin.open("/admin/credit")
    admin.fill("picker-q", "韩奶奶")
    admin.tap("picker-find")
    admin.page.locator(f'[data-test="picker-pick"][data-member="{borrower["member_id"]}"]').click()
    points = admin.el("credit-PT")
    points.locator('[data-test="credit-input"] input').fill("30")
    points.locator('[data-test="credit-submit"]').click()
    expect(admin.el("notice-ok")).to_contain_text("额度已设为 30 分")
    expect(points.locator('[data-test="credit-limit"]')).to_have_text("30 分")
    assert site.balances(borrower)["PT"]["credit_limit"] == 30
    admin.accessible("admin-credit-zh")

    admin.open("/admin/audit")
    admin.tap("audit-run")
    expect(admin.el("audit-report")).to_have_attribute("data-ok", "true", timeout=60_000)
    expect(admin.el("notice-ok")).to_contain_text("审计通过")
    admin.accessible("admin-audit-zh")

    admin.tap("lang-switch")
    expect(admin.el("audit-run")).to_contain_text("Run the audit")
    admin.accessible("admin-audit-en")
    admin.open("/admin/rules")
    expect(admin.el("rule-group-caps")).to_contain_text("Per member per year", timeout=30_000)
    admin.accessible("admin-rules-en")
