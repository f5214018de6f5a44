"""The economy dashboards in the web app, on the real stack, with demo-like data: six months of help requests in
two grids played through the requests service's own commands at their past times (the demo's history,
services.demo.history), points awarded and a sponsor budget topped up today. The admin's dashboards and a grid
worker's dashboard render every chart; each chart's table is the CSV it exports, cell for cell (downloaded
through the browser); axe-core finds no serious or critical violation."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.testing import wait_until
from services.demo.history import History, Plan

ADMIN_PANELS = ("participation", "flows", "coverage", "concentration", "expiring", "requestsByCategory",
                "timeToAccept", "heatmap")
STAFF_PANELS = tuple(p for p in ADMIN_PANELS if p != "coverage")  # the sponsor budget is the admins'


@pytest.fixture(scope="module")
def community(site):
    """Residents in two grids, a grid worker of 1号楼, six months of requests, points, a sponsor budget."""
    people = {key: site.member(name, grid=grid) for key, name, grid in (
        ("a", "陈阿姨", "1号楼"), ("b", "李师傅", "1号楼"), ("c", "王同学", "2号楼"), ("d", "张大爷", "2号楼"))}
    gwen = site.member("吴网格员", roles=("grid_worker",), grid="1号楼")
    now = datetime.now(timezone.utc)
    plans = []
    for back in range(6, 0, -1):
        month = now - timedelta(days=30 * back)
        for n, (grid, requester, helper, category) in enumerate((("1号楼", "a", "b", "errands"),
                                                                  ("2号楼", "c", "d", "tutoring"),
                                                                  ("1号楼", "b", "a", "repairs"))):
            plans.append(Plan(f"web/{back}/{n}", grid, requester, helper, category, month + timedelta(hours=n),
                              10 * (n + 1) + back, 60, "expired" if (back + n) % 5 == 0 else "helped"))
    history = History(site.dep.config("requests"))
    try:
        for plan in plans:
            history.play(site.cid, people, site.grids, plan)
    finally:
        history.close()
    site.give_points(people["a"], days=1)
    site.give_points(people["c"], days=1)
    topped = site.call("post", "/settlement/v1/sponsor-budget/top-ups", token=site.admin,
                       json={"amount_fen": 50_000, "reference": "街道拨款 2026"})
    assert topped.status_code == 201, topped.text
    requests_db = site.dep.services["requests"].db
    wait_until(lambda: requests_db.stat_requests.count_documents({}) >= len(plans), timeout=180,
               message="the requests statistics to count the history")
    return {"people": people, "gwen": gwen}


def read_table(phone, panel: str) -> list[list[str]]:
    box = phone.el(f"panel-{panel}")
    box.locator('[data-test="toggle-table"]').click()
    table = box.locator('[data-test="table"]')
    table.wait_for(state="visible")
    headers = table.locator("thead th").all_inner_texts()
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    return [headers, *rows]


def download_csv(phone, panel: str) -> tuple[bytes, str]:
    with phone.page.expect_download() as download:
        phone.el(f"panel-{panel}").locator('[data-test="csv"]').click()
    return Path(download.value.path()).read_bytes(), download.value.suggested_filename


def check_panels(phone, panels) -> dict[str, list[list[str]]]:
    """Every panel draws its chart; its table and its CSV are the same cells."""
    tables = {}
    for panel in panels:
        box = phone.el(f"panel-{panel}")
        phone.until(lambda: box.locator('[data-test="chart"] svg').count() >= 1, refresh=False,
                    message=f"the {panel} chart")
        table = read_table(phone, panel)
        body, filename = download_csv(phone, panel)
        assert body.startswith(b"\xef\xbb\xbf") and filename.startswith(f"{panel}-") and filename.endswith(".csv")
        assert list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))) == table, panel
        tables[panel] = table
    assert [p for p in phone.page.locator('[data-test^="panel-"]').evaluate_all(
        "els => els.map(e => e.dataset.test.slice(6))")] == list(panels)
    return tables


def test_the_admin_and_a_grid_worker_see_their_dashboards_each_chart_with_its_table_and_csv(site, community, phones):
    admin = phones({"phone": "13800000001", "password": "admin-pass-1"})
    admin.open("/admin/dashboards")
    tables = check_panels(admin, ADMIN_PANELS)
    header, *categories = tables["requestsByCategory"]
    assert header[:4] == ["类别 Category", "发布 Posted", "被接 Accepted", "完成 Completed"]
    by_category = {row[0]: row for row in categories}
    assert set(by_category) == {"跑腿代办 Errands", "辅导功课 Tutoring", "维修 Repairs"}
    assert sum(int(row[1]) for row in categories) == 18  # six months of three requests
    months = [row[0] for row in tables["timeToAccept"][1:] if row[1] != "0"]
    assert len(months) >= 5  # the history spreads over the months (the last may share today's month)
    coverage = tables["coverage"]
    assert coverage[0][-1] == "覆盖率（%） Coverage (%)" and coverage[-1][3] == "500.00"
    # Two residents hold today's points (10 fen each): the ¥500 budget covers them above the 100 % default, and
    # falls short once the admin raises the warning threshold past the ratio.
    ratio = coverage[-1][4]
    notice = admin.el("panel-coverage").locator('[data-test^="notice-"]')
    assert notice.get_attribute("data-test") == "notice-ok" and f"{ratio}%" in notice.inner_text()
    admin.fill("threshold", str(int(float(ratio)) + 1))
    warning = admin.el("panel-coverage").locator('[data-test="notice-error"]')
    warning.wait_for(state="visible")
    assert f"低于警戒线 {int(float(ratio)) + 1}%" in warning.inner_text()
    admin.accessible("dashboards-admin")

    worker = phones({"phone": community["gwen"]["phone"], "password": community["gwen"]["password"]})
    worker.open("/staff")  # the staff desk links to the grid's dashboard
    worker.tap("staff-dashboard-link")
    worker.page.wait_for_url(lambda url: url.endswith("/staff/dashboard"))
    mine = check_panels(worker, STAFF_PANELS)
    assert {row[0] for row in mine["requestsByCategory"][1:]} == {"跑腿代办 Errands", "维修 Repairs"}  # 1号楼 only
    worker.accessible("dashboards-grid-worker")
