"""Reconciliation and statement rendering without infrastructure."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

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
