"""Clearing records as CSV for the two communities' staff (zh-CN first, with English; UTF-8 with BOM)."""
from __future__ import annotations

import csv
import io
from datetime import datetime

HEADER = ["流水号 Transfer", "入账时间 Posted (UTC)", "付款社区 Payer community", "收款社区 Payee community",
          "付出 Debit amount", "收到 Credit amount", "付方积分面值(分) Payer fen/pt", "收方积分面值(分) Payee fen/pt",
          "净额变动(A欠B为正) Net change (A owes B > 0)"]
MEASURE_LABEL = {"minutes": "分钟 minutes", "fen": "分 fen"}


def _cell(value):
    # Spreadsheets execute cells starting with these characters as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else (value or "")


def clearing_csv(record: dict, entries: list[dict], names: dict) -> str:
    """The clearing record, then every cross transfer it netted, then the totals."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    a, b = record["community_a"], record["community_b"]
    w.writerow(["清算单 Clearing", record["clearing_id"], "单位 Unit", record["unit"],
                "计量 Measure", MEASURE_LABEL.get(record["measure"], record["measure"])])
    w.writerow(["期间 Period (UTC)", _time(record.get("period_start")), _time(record["period_end"])])
    w.writerow(["社区A Community A", _cell(names.get(a, a)), a, "清算账户余额 Clearing balance", record["a_balance"]])
    w.writerow(["社区B Community B", _cell(names.get(b, b)), b, "清算账户余额 Clearing balance", record["b_balance"]])
    debtor = record.get("debtor_id")
    w.writerow(["应付方 Owes", _cell(names.get(debtor, debtor)) if debtor else "无 nobody",
                "应收方 Is owed", _cell(names.get(record.get("creditor_id"), "")) if debtor else "",
                "净额 Amount due", record["amount_due"]])
    w.writerow(HEADER)
    for e in entries:
        w.writerow([e["transfer_id"], _time(e.get("posted_at")), _cell(names.get(e["payer_community"], "")),
                    _cell(names.get(e["payee_community"], "")), e["debit_amount"], e["credit_amount"],
                    e.get("payer_point_value_fen") or "", e.get("payee_point_value_fen") or "",
                    e["measure"] if e["payer_community"] == a else -e["measure"]])
    w.writerow(["合计 Total", f"{record['transfers']} 笔 transfers", "", "", "", "", "", "", record["net"]])
    return out.getvalue()
