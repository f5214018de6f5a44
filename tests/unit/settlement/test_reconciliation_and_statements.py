"""Reconciliation and statement rendering without infrastructure."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

from services.settlement import statements
from services.settlement.reconciliation import reconcile
from services.settlement.statements import to_csv, to_html, yuan

AT = datetime(2025, 3, 11, 2, 0, tzinfo=timezone.utc)


def test_balanced_when_every_posting_is_on_exactly_one_line_or_awaiting_the_next_batch():
    ledger = [{"transfer_id": "t1", "amount": 100, "redemption_id": "r1"},
              {"transfer_id": "t2", "amount": 60, "redemption_id": "r2"}]
    lines = [{"redemption_id": "r1", "transfer_id": "t1", "points": 100, "batch_id": "b1", "fen": 1000}]
    report = reconcile(ledger, lines, [{"redemption_id": "r2", "transfer_id": "t2", "points": 60}])
    assert report["balanced"] and report["difference_points"] == 0
    assert report["awaiting_batch"]["points"] == 60 and report["batches"]["fen"] == 1000


def test_every_kind_of_difference_is_reported_with_its_transfers():
    ledger = [{"transfer_id": "t1", "amount": 100, "redemption_id": "r1"},
              {"transfer_id": "t2", "amount": 60, "redemption_id": "r2"},
              {"transfer_id": "t3", "amount": 70, "redemption_id": "r3"}]
    lines = [{"redemption_id": "r1", "transfer_id": "t1", "points": 90, "batch_id": "b1"},
             {"redemption_id": "r3", "transfer_id": "t3", "points": 70, "batch_id": "b1"},
             {"redemption_id": "r3b", "transfer_id": "t3", "points": 70, "batch_id": "b2"},
             {"redemption_id": "r4", "transfer_id": "t4", "points": 50, "batch_id": "b2"}]
    report = reconcile(ledger, lines, [])
    kinds = {(d["kind"], d["transfer_id"]) for d in report["differences"]}
    assert kinds == {("amount_mismatch", "t1"), ("missing_from_batches", "t2"), ("settled_more_than_once", "t3"),
                     ("not_in_ledger", "t4")}
    assert not report["balanced"]
    assert report["difference_points"] == 230 - 280


def test_statement_csv_and_html():
    batch = {"_id": "bat_1", "state": "closed", "period_start": None, "period_end": AT, "points": 150, "fen": 1505,
             "redemption_count": 2, "over_budget": True, "closed_at": AT, "paid_at": None,
             "payment_reference": None}
    merchant = {"_id": "mer_1", "name": "=HYPERLINK(\"x\") <b>老王</b>", "address": "一号楼"}
    lines = [{"redemption_id": "r1", "transfer_id": "t1", "member_id": "m1", "points": 100,
              "rate_fen_per_point": 10, "fen": 1000, "item_id": "i1", "completed_at": AT},
             {"redemption_id": "r2", "transfer_id": "t2", "member_id": "m2", "points": 50,
              "rate_fen_per_point": 10, "fen": 505, "item_id": None, "completed_at": AT}]
    text = to_csv(batch, merchant, lines, {"i1": "-cmd"}, "Asia/Shanghai")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][2].startswith("'=")                     # no formula injection
    assert rows[3][1] == "2025-03-11 10:00" and rows[3][3] == "'-cmd"
    assert rows[-1][0].startswith("合计") and rows[-1][4] == "150" and rows[-1][6] == "1505"
    html = to_html(batch, merchant, lines, {"i1": "大米"}, "Asia/Shanghai")
    assert '<html lang="zh-CN">' in html and "&lt;b&gt;老王&lt;/b&gt;" in html and "<b>老王" not in html
    assert "15.05" in html and "超出赞助预算" in html and "大米" in html
    assert yuan(5) == "0.05" and yuan(-123) == "-1.23"


class _Page(HTMLParser):
    """What a Content-Security-Policy without 'unsafe-inline' scripts cares about, and the table's cells."""

    def __init__(self):
        super().__init__()
        self.handlers, self.inline_scripts, self.scripts, self.styles, self.inline_styles = [], 0, [], [], 0
        self.rows: dict[str, list[list[str]]] = {}
        self._section = self._tag = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        self.inline_styles += "style" in attrs
        if tag == "script":
            self.scripts.append(attrs.get("src"))
            self.inline_scripts += "src" not in attrs
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.styles.append(attrs["href"])
        if tag == "style":
            self.inline_styles += 1
        if tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        if tag == "tr":
            self.rows.setdefault(self._section, []).append([])
        if tag in ("td", "th"):
            assert "colspan" not in attrs, "a spanning cell misaligns the columns once narrow ones are hidden"
            self.rows[self._section][-1].append(attrs.get("class") or "")
        if "href" in attrs or "src" in attrs:
            assert not (attrs.get("href") or attrs.get("src") or "").startswith("javascript:")


def test_the_printable_statement_works_under_a_strict_csp_and_keeps_its_columns_at_phone_width():
    batch = {"_id": "bat_1", "state": "paid", "period_start": AT, "period_end": AT, "points": 100, "fen": 1000,
             "redemption_count": 1, "over_budget": False, "closed_at": AT, "paid_at": AT,
             "payment_reference": "BANK-1"}
    lines = [{"redemption_id": "red_0123456789abcdef", "transfer_id": "t_" + "f" * 32, "member_id": "m1",
              "points": 100, "rate_fen_per_point": 10, "fen": 1000, "item_id": None, "completed_at": AT}]
    page = _Page()
    page.feed(to_html(batch, {"_id": "mer_1", "name": "老王"}, lines, {}, "Asia/Shanghai"))
    assert page.handlers == [] and page.inline_scripts == 0 and page.inline_styles == 0
    # Relative to the page (/v1/batches/<id>/statement, or /api/settlement/v1/… through the gateway).
    assert page.scripts == ["../../assets/statement.js"] and page.styles == ["../../assets/statement.css"]
    head, body, foot = page.rows["thead"][0], page.rows["tbody"][0], page.rows["tfoot"][0]
    hidden = lambda row: ["wide" in c.split() for c in row]  # noqa: E731 - the columns hidden below 600 px
    assert len(head) == len(body) == len(foot) == 7 and hidden(head) == hidden(body) == hidden(foot)
    assets = Path(statements.__file__).parent / "static"
    script = (assets / "statement.js").read_text()
    assert "window.print()" in script and 'getElementById("print")' in script
    css = (assets / "statement.css").read_text()
    assert "@media (max-width: 600px)" in css and ".wide { display: none; }" in css


def test_reversals_reconcile_against_chargebacks_and_reversals_before_payment():
    ledger = [{"transfer_id": "t1", "amount": 100, "redemption_id": "r1"},   # paid in batch b1, then reversed
              {"transfer_id": "t1x", "amount": -100, "redemption_id": None},
              {"transfer_id": "t2", "amount": 150, "redemption_id": "r2"},   # paid in b2, which charges r1 back
              {"transfer_id": "t3", "amount": 40, "redemption_id": "r3"},    # reversed before any batch
              {"transfer_id": "t3x", "amount": -40, "redemption_id": None}]
    lines = [{"redemption_id": "r1", "transfer_id": "t1", "points": 100, "batch_id": "b1", "fen": 1000},
             {"redemption_id": "r2", "transfer_id": "t2", "points": 150, "batch_id": "b2", "fen": 1500},
             {"redemption_id": "r1", "transfer_id": "t1x", "points": -100, "batch_id": "b2", "fen": -1000}]
    offsets = [{"redemption_id": "r3", "transfer_id": "t3", "points": 40},
               {"redemption_id": "r3", "transfer_id": "t3x", "points": -40}]
    report = reconcile(ledger, lines, [], offsets)
    assert report["balanced"], report["differences"]
    assert (report["ledger"]["points"], report["batches"]["points"], report["batches"]["fen"]) == (150, 150, 1500)
    assert report["reversed_before_payment"] == {"transfers": 2, "points": 0} and report["difference_points"] == 0
    # A reversal the settlement never heard of (paid in cash for points the shop gave back) is a difference.
    report = reconcile(ledger, lines[:2], [], offsets)
    assert not report["balanced"] and report["difference_points"] == -100
    assert [d["kind"] for d in report["differences"]] == ["missing_from_batches"]
    # A chargeback no batch took yet is awaiting, not a difference.
    report = reconcile(ledger, lines[:2], [{"redemption_id": "r1", "transfer_id": "t1x", "points": -100}], offsets)
    assert report["balanced"] and report["awaiting_batch"]["points"] == -100


def test_statements_show_chargebacks_as_negative_rows_and_the_net_total():
    batch = {"_id": "bat_2", "state": "closed", "period_start": AT, "period_end": AT, "points": 50, "fen": 500,
             "redemption_count": 1, "chargeback_count": 1, "chargeback_points": 100, "chargeback_fen": 1000,
             "over_budget": False, "closed_at": AT, "paid_at": None, "payment_reference": None}
    lines = [{"redemption_id": "r2", "transfer_id": "t2", "member_id": "m1", "points": 150, "rate_fen_per_point": 10,
              "fen": 1500, "item_id": None, "completed_at": AT}]
    charged = [{"redemption_id": "r1", "transfer_id": "t1x", "member_id": "m1", "points": 100, "rate_fen_per_point": 10,
                "fen": 1000, "original_batch_id": "bat_1", "reversed_at": AT}]
    rows = list(csv.reader(io.StringIO(to_csv(batch, {"_id": "mer_1", "name": "店"}, lines, {}, "Asia/Shanghai",
                                              charged).lstrip("\ufeff"))))
    assert rows[4][0] == "r1" and rows[4][4] == "-100" and rows[4][6] == "-1000" and "bat_1" in rows[4][3]
    assert rows[-1][4] == "50" and rows[-1][6] == "500"
    html = to_html(batch, {"_id": "mer_1", "name": "店"}, lines, {}, "Asia/Shanghai", charged)
    assert '<tr class="minus"><td class="id">r1</td>' in html and "-10.00" in html and "−100 积分" in html
