"""The clearing CSV: record, lines signed from community A's side, totals equal to the net."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from services.exchange.export import clearing_csv

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def test_csv_lists_each_transfer_and_the_total_is_the_net():
    record = {"clearing_id": "cl_1", "unit": "PT", "measure": "fen", "community_a": "cA", "community_b": "cB",
              "a_balance": 3, "b_balance": -6, "net": 30, "debtor_id": "cA", "creditor_id": "cB", "amount_due": 30,
              "transfers": 2, "period_start": T0, "period_end": T0}
    entries = [{"transfer_id": "t1", "posted_at": T0, "payer_community": "cA", "payee_community": "cB",
                "debit_amount": 7, "credit_amount": 14, "payer_point_value_fen": 10, "payee_point_value_fen": 5,
                "measure": 70},
               {"transfer_id": "t2", "posted_at": T0, "payer_community": "cB", "payee_community": "cA",
                "debit_amount": 8, "credit_amount": 4, "payer_point_value_fen": 5, "payee_point_value_fen": 10,
                "measure": 40}]
    text = clearing_csv(record, entries, {"cA": "莲花社区", "cB": "=HYPERLINK(1)"})
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[4][:2] == ["应付方 Owes", "莲花社区"] and rows[4][-1] == "30"
    assert rows[3][1] == "'=HYPERLINK(1)"  # no formula injection
    lines = rows[6:8]
    assert [r[0] for r in lines] == ["t1", "t2"] and [r[-1] for r in lines] == ["70", "-40"]
    assert sum(int(r[-1]) for r in lines) == int(rows[8][-1]) == 30
