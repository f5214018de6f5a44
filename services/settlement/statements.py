"""Settlement statements: CSV for spreadsheets and a printable HTML page (zh-CN first, with English)."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.settlement.model import zone

CSV_HEADER = ["兑换编号 Redemption", "完成时间 Completed", "会员 Member", "商品 Item", "积分 Points",
              "费率(分/分) Rate (fen/pt)", "金额(分) Amount (fen)", "账本流水 Ledger transfer"]
STATE_LABELS = {"open": "草稿 Open", "closed": "待付款 Closed", "paid": "已付款 Paid"}
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))


def _cell(value) -> str | int:
    # Spreadsheets execute cells starting with these characters as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _local(value: datetime | None, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def yuan(fen: int) -> str:
    """Fen as a yuan amount with two decimals (exact integer arithmetic)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def to_csv(batch: dict, merchant: dict, lines: list[dict], item_names: dict, tz_name: str,
           chargebacks: list[dict] = ()) -> str:
    """The statement as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese headers)."""
    tz = zone(tz_name)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["结算单 Statement", batch["_id"], _cell(merchant["name"]), merchant["_id"]])
    writer.writerow(["结算期间 Period", _local(batch.get("period_start"), tz), _local(batch["period_end"], tz),
                     STATE_LABELS.get(batch["state"], batch["state"])])
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow([line["redemption_id"], _local(line.get("completed_at"), tz), line["member_id"],
                         _cell(item_names.get(line.get("item_id"), "")), line["points"], line["rate_fen_per_point"],
                         line["fen"], line.get("transfer_id") or ""])
    for cb in chargebacks:
        writer.writerow([cb["redemption_id"], _local(cb.get("reversed_at"), tz), cb["member_id"],
                         f"退回扣减 Charged back (batch {cb['original_batch_id']})", -cb["points"],
                         cb["rate_fen_per_point"], -cb["fen"], cb["transfer_id"]])
    writer.writerow(["合计 Total", "", "", "", batch["points"], "", batch["fen"], ""])
    return out.getvalue()


def to_html(batch: dict, merchant: dict, lines: list[dict], item_names: dict, tz_name: str,
            chargebacks: list[dict] = ()) -> str:
    """The printable statement page (chargebacks as negative rows after the redemptions)."""
    tz = zone(tz_name)
    rows = [{**line, "completed": _local(line.get("completed_at"), tz),
             "item": item_names.get(line.get("item_id"), ""), "yuan": yuan(line["fen"])} for line in lines]
    rows += [{"redemption_id": cb["redemption_id"], "completed": _local(cb.get("reversed_at"), tz),
              "item": f"退回扣减 Charged back ({cb['original_batch_id']})", "points": -cb["points"],
              "rate_fen_per_point": cb["rate_fen_per_point"], "yuan": yuan(-cb["fen"]),
              "transfer_id": cb["transfer_id"], "minus": True} for cb in chargebacks]
    return _env.get_template("statement.html").render(
        batch=batch, merchant=merchant, rows=rows, state=STATE_LABELS.get(batch["state"], batch["state"]),
        period_start=_local(batch.get("period_start"), tz), period_end=_local(batch["period_end"], tz),
        closed_at=_local(batch.get("closed_at"), tz), paid_at=_local(batch.get("paid_at"), tz),
        total_yuan=yuan(batch["fen"]), timezone=tz_name)
