"""公示栏, the public honour board (issue 15): no sign-in, this month's board with pseudonyms and the names members
chose to show, Chinese then English, refreshed every minute (the page's clock is driven, nothing waits a minute),
axe-core clean."""
from __future__ import annotations

from shared.testing import wait_until

HALL_SCREEN = {"width": 1280, "height": 800}


def test_the_honour_board_shows_the_month_without_personal_data_and_refreshes(site, phones):
    shown, hidden = site.member("李晓梅"), site.member("王大伟", grid="2号楼")
    opted = site.call("patch", "/community/v1/members/me", token=shown["token"], json={"show_name_on_boards": True})
    assert opted.status_code == 200 and opted.json()["show_name_on_boards"] is True
    ledger = site.dep.services["ledger"].db
    wait_until(lambda: (ledger.member_economy.find_one({"member_id": shown["member_id"]}) or {}).get("board_name")
               == "李晓梅", timeout=120, message="the ledger to learn the opt-in")
    shown_points, hidden_points = site.give_points(shown), site.give_points(hidden)

    screen = phones(None, login=False)
    screen.page.set_viewport_size(HALL_SCREEN)
    screen.page.clock.install()
    screen.open(f"/board/{site.cid}")
    screen.el("honour-board-row").nth(1).wait_for()
    rows = [screen.el("honour-board-row").nth(i).inner_text() for i in range(2)]
    assert any("李晓梅" in r and str(shown_points) in r for r in rows), rows
    assert any("志愿者 " in r and "Volunteer " in r and str(hidden_points) in r for r in rows), rows
    page = screen.page.content()
    for private in ("王大伟", hidden["member_id"], shown["member_id"], hidden["phone"], shown["phone"]):
        assert private not in page
    updated = screen.text("honour-board-updated")
    assert "更新于" in updated and "updated at" in updated
    assert screen.text("honour-board-issued").startswith(str(shown_points + hidden_points))
    title = screen.text("honour-board-title")
    assert title.startswith("公示栏") and title.endswith("Honour board")  # Chinese first, then English
    screen.accessible("honour-board")

    # A third volunteer earns points; a minute later the screen shows them without anyone touching it.
    third = site.member("陈志强")
    site.give_points(third)
    screen.page.clock.fast_forward("01:05")
    screen.until(lambda: screen.el("honour-board-row").count() == 3, refresh=False, timeout=60,
                 message="the board to refresh itself")
    assert "陈志强" not in screen.page.content()
    screen.accessible("honour-board-refreshed")
