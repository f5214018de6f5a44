"""The staff console in a real Chromium on the real stack (issue 15): an organizer publishes an activity and
verifies attendance with one tap, after which the volunteer's points are in the ledger and on their phone; a grid
worker's queue of award claims holds only their grid's; a grid worker penalises and repairs. Every screen is checked
with axe-core in Chinese (and some in English)."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.local_time import LOCAL_IN


def test_an_organizer_publishes_and_verifies_attendance_and_the_volunteers_points_appear(site, phones):
    volunteer = site.member("钱阿姨")
    organizer = phones(site.organizer)
    expect(organizer.el("staff-switch")).to_be_visible()
    organizer.tap("staff-switch")
    organizer.page.wait_for_url("**/staff")
    organizer.accessible("staff-home-zh")
    organizer.tap("staff-activities-link")
    organizer.page.wait_for_url("**/staff/activities")
    organizer.el("activity-type").select_option("safety_patrol")
    organizer.fill("activity-title", "夜间治安巡逻")
    organizer.fill("activity-place", "东门岗亭")
    organizer.fill("activity-capacity", "5")
    starts = organizer.page.evaluate(LOCAL_IN, 6)
    organizer.el("activity-starts").fill(starts)
    organizer.el("activity-ends").fill(organizer.page.evaluate(LOCAL_IN, 3600 + 6))
    organizer.el("activity-grid").select_option(label="1号楼")
    organizer.tap("activity-publish")
    expect(organizer.el("notice-ok")).to_contain_text("已发布：夜间治安巡逻")
    card = organizer.page.locator('[data-test="staff-activity"][data-title="夜间治安巡逻"]')
    expect(card).to_be_visible()
    activity = site.dep.services["requests"].db.activities.find_one({"title": "夜间治安巡逻"})
    assert activity["grid_id"] == site.grids["1号楼"] and activity["capacity"] == 5
    assert activity["activity_type"] == "safety_patrol" and activity["organizer_id"] == site.organizer["member_id"]
    organizer.accessible("staff-activities-zh")

    # The volunteer signs up on their phone's activity list.
    resident = phones(volunteer)
    resident.open("/r/activities")
    resident.page.locator(f'[data-test="activity-{activity["_id"]}"] [data-test="signup"]').click()
    expect(resident.el("signed-up")).to_be_visible()

    # Once the activity has started: the sign-up list, one tap, the points are posted.
    time.sleep(7)  # the activity starts six seconds after it was published
    organizer.page.reload()
    organizer.tap(f"participants-{activity['_id']}")
    row = organizer.page.locator(f'[data-test="attendee"][data-member="{volunteer["member_id"]}"]')
    expect(row).to_contain_text("钱阿姨")
    expect(row).to_contain_text("已报名")
    organizer.accessible("staff-attendance-zh")
    row.locator('[data-test="attend"]').click()
    expect(organizer.el("notice-ok")).to_contain_text("钱阿姨 获得", timeout=60_000)
    awarded = int(organizer.text("notice-ok").split("获得 ")[1].split(" 分")[0])
    assert awarded > 0
    expect(row).to_contain_text(f"已发放 {awarded} 分")

    # What the services hold: the sign-up attended, the award posted for the volunteer, the balance.
    signup = site.dep.services["requests"].db.signups.find_one(
        {"activity_id": activity["_id"], "member_id": volunteer["member_id"]})
    assert signup["status"] == "attended" and signup["verified_by"] == site.organizer["member_id"]
    transfer = site.dep.services["ledger"].db.transfers.find_one({"_id": signup["transfer_id"]})
    assert transfer["state"] == "posted" and transfer["amount"] == awarded and transfer["workflow"] == "award"
    assert site.balances(volunteer)["PT"]["posted"] == awarded
    resident.open("/r")
    expect(resident.el("balance-PT").locator('[data-test="balance-posted"]')).to_contain_text(str(awarded))


def test_a_grid_workers_queue_holds_only_their_grids_awards(site, phones):
    worker = site.member("周网格员", roles=("resident", "grid_worker"), grid="1号楼")
    east = site.member("吴大哥", grid="1号楼")
    west = site.member("郑大姐", grid="2号楼")
    claims = {}
    for person in (east, west):
        made = site.call("post", "/ledger/v1/transfers", token=person["token"], json={
            "workflow": "award", "unit": "PT", "minutes": 60, "activity_type": "environment_cleanup"})
        assert made.status_code == 201, made.text
        claims[person["member_id"]] = made.json()
    phone = phones(worker)
    phone.tap("staff-switch")
    phone.page.wait_for_url("**/staff")
    expect(phone.el("staff-awards-count")).to_contain_text("1 笔待确认")
    phone.tap("staff-awards-link")
    phone.page.wait_for_url("**/staff/awards")
    expect(phone.el("awards-scope")).to_contain_text("只显示您所在网格成员的奖励")
    expect(phone.el("award-claim")).to_have_count(1)
    claim = phone.el("award-claim").first
    expect(claim).to_have_attribute("data-payee", east["member_id"])
    expect(claim).to_contain_text("吴大哥")
    phone.accessible("staff-awards-zh")
    claim.locator('[data-test="confirm"]').click()
    expect(claim.locator('[data-test="transfer-state"]')).to_contain_text("已")
    amount = claims[east["member_id"]]["amount"]
    assert site.balances(east)["PT"]["posted"] == amount
    ledger = site.dep.services["ledger"].db.transfers
    assert ledger.find_one({"_id": claims[west["member_id"]]["transfer_id"]})["state"] == "pending"
    # The organizer (the whole community's queue) still sees the other grid's claim.
    organizer = site.call("get", "/ledger/v1/transfers/awaiting", token=site.organizer["token"]).json()
    assert claims[west["member_id"]]["transfer_id"] in [t["transfer_id"] for t in organizer]

    # Penalties: the grid worker finds a member of their grid, penalises (a rule's reason) and repairs.
    phone.open("/staff/penalties")
    phone.fill("picker-q", "吴大哥")
    phone.tap("picker-find")
    phone.page.locator(f'[data-test="picker-pick"][data-member="{east["member_id"]}"]').click()
    expect(phone.el("penalty-balance")).to_have_text(str(amount))
    phone.el("penalty-reason").select_option("littering")
    phone.fill("penalty-memo", "楼道堆放垃圾")
    phone.tap("penalty-issue")
    expect(phone.el("notice-ok")).to_contain_text("已扣 10 分")
    expect(phone.el("penalty-balance")).to_have_text(str(amount - 10))
    penalty = phone.page.locator('[data-test="penalty"][data-reason="littering"]')
    expect(penalty).to_contain_text("乱扔垃圾 · −10")
    expect(penalty).to_contain_text("楼道堆放垃圾")
    phone.accessible("staff-penalties-zh")
    penalty.locator('[data-test="repair-points"] input').fill("4")
    penalty.locator('[data-test="repair-submit"]').click()
    expect(penalty).to_contain_text("已修复 4")
    assert site.balances(east)["PT"]["posted"] == amount - 6
    # Not of their grid: the ledger refuses, said in Chinese.
    phone.fill("picker-q", "郑大姐")
    phone.tap("picker-find")
    phone.page.locator(f'[data-test="picker-pick"][data-member="{west["member_id"]}"]').click()
    expect(phone.el("penalty-balance")).to_have_text("0")
    phone.tap("penalty-issue")
    expect(phone.el("notice-error")).to_contain_text("网格")
    assert site.dep.services["ledger"].db.penalties.count_documents({"member_id": west["member_id"]}) == 0
