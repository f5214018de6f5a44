"""Importing a community's past points records (a paper ledger 纸质台账, a previous system): a staff migration step.

Each record says that a member received points (`award`) or lost them (`deduction`) at a past moment `at`. It
posts through the ledger's normal lifecycle with `at` as its time (lifecycle.post_at_once(…, now=at)): the
transfer, its journal entries, its outbox event, the member's lots (earned on the local day of `at`, so expiry
counts from then, under the rules in effect then), honour points and the statistics read model (month of `at`)
all follow as if it had been posted then. The journal's append order is untouched: entries take the next `seq`
of their account's hash chain, whose hash covers `posted_at` = `at`; when the import really happened is kept on
the transfer as `details.import.recorded_at`. See services/ledger/README.md, "Importing past points".

Idempotent per record: the transfer id derives from (community, source id), so a repeated import finds it and
posts nothing. A member's records must come in time order (the statistics count a member's participation per
month from their last earned month): a record dated in a month before the member last earned is refused.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from shared.errors import Problem, Unprocessable
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import commands, lots, model, stats
from services.ledger.ids import source_transfer_id
from services.ledger.lifecycle import known_account, new_transfer, post_at_once, system_account
from services.ledger.repository import LedgerRepository

KINDS = ("award", "deduction")
OLDEST = timedelta(days=5 * 366)  # no record older than five years: rules, lots and boards reach no further back
CHUNK = 200                        # records per transaction
COLUMNS = ("source_id", "member_id", "kind", "points", "at", "memo")


@dataclass(frozen=True)
class PastRecord:
    """One line of a past points record."""

    source_id: str       # the line's id in its source: makes the import idempotent
    member_id: str
    kind: str            # award | deduction
    points: int          # > 0
    at: datetime         # when it happened (timezone-aware)
    memo: str | None = None


# -- the rules of a record (pure) ------------------------------------------------------------------------
def check_record(r: PastRecord, now: datetime) -> None:
    """422 when the record cannot be imported as it stands (nothing is written)."""
    if not r.source_id or len(r.source_id) > 100:
        raise Unprocessable("来源编号不能为空（最长 100 字）。 The source id is required (at most 100 characters).",
                            code="bad_source_id")
    if r.kind not in KINDS:
        raise Unprocessable(f"类型须为 {' / '.join(KINDS)}。 The kind must be one of {', '.join(KINDS)}.",
                            code="bad_kind")
    if not isinstance(r.points, int) or isinstance(r.points, bool) or not 0 < r.points <= 100_000:
        raise Unprocessable("积分须为 1 到 100000 的整数。 Points must be a whole number from 1 to 100000.",
                            code="bad_amount")
    if r.at.tzinfo is None:
        raise Unprocessable("时间须带时区。 The time must carry a time zone.", code="bad_time")
    if r.at > now:
        raise Unprocessable("不能导入未来的记录。 A record in the future cannot be imported.", code="future_record")
    if r.at < now - OLDEST:
        raise Unprocessable("记录早于五年前，不能导入。 Records older than five years cannot be imported.",
                            code="record_too_old")


def parse_rows(rows: Iterable[dict]) -> tuple[list[PastRecord], list[dict]]:
    """CSV rows (the COLUMNS) to records, and per-row errors ({row, error}) for the rows that do not parse."""
    out, errors = [], []
    for number, row in enumerate(rows, 2):  # row 1 is the header
        try:
            at = datetime.fromisoformat((row.get("at") or "").strip())
            out.append(PastRecord(source_id=(row.get("source_id") or "").strip(),
                                  member_id=(row.get("member_id") or "").strip(), kind=(row.get("kind") or "").strip(),
                                  points=int((row.get("points") or "").strip()), at=at,
                                  memo=(row.get("memo") or "").strip() or None))
        except ValueError as exc:
            errors.append({"row": number, "error": f"无法读取 / cannot read: {exc}"})
    return out, errors


def read_csv(path: str) -> tuple[list[PastRecord], list[dict]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return parse_rows(csv.DictReader(f))


def chunks(records: list[PastRecord], size: int = CHUNK) -> list[tuple[PastRecord, ...]]:
    """The records in time order (a member's months are counted in order), `size` at a time."""
    ordered = sorted(records, key=lambda r: (r.at, r.source_id))
    return [tuple(ordered[i:i + size]) for i in range(0, len(ordered), size)]


def import_transfer_id(community_id: str, source_id: str) -> str:
    return source_transfer_id(f"import:{community_id}:{source_id}")


# -- the handler ----------------------------------------------------------------------------------------
def import_past_points(cmd: commands.ImportPastPoints, tx: Tx) -> dict:
    """Post each record of the chunk at its own time (one transaction); a record already imported is skipped, a
    record the rules refuse is reported and the others go on. A dry run writes nothing."""
    repo = LedgerRepository(tx)
    now = utcnow()
    results, start = [], tx.savepoint()
    for r in cmd.records:
        transfer_id = import_transfer_id(cmd.community_id, r.source_id)
        if repo.transfer(transfer_id) is not None:
            results.append({"source_id": r.source_id, "status": "already_imported", "transfer_id": transfer_id})
            continue
        mark = tx.savepoint()
        try:
            t = _post(tx, repo, cmd, r, transfer_id, now)
        except Problem as problem:  # this record changes nothing; the others go on
            tx.rollback(mark)
            results.append({"source_id": r.source_id, "status": "refused", "code": problem.code,
                             "detail": problem.detail})
            continue
        results.append({"source_id": r.source_id, "status": "checked" if cmd.dry_run else "imported",
                        "transfer_id": t.transfer_id, "points": r.points})
    if cmd.dry_run:  # every check ran against the books as they are; nothing of it is written
        tx.rollback(start)
    return {"batch": cmd.batch, "results": results}


def _post(tx: Tx, repo: LedgerRepository, cmd: commands.ImportPastPoints, r: PastRecord, transfer_id: str, now):
    check_record(r, now)
    cid = cmd.community_id
    account = known_account(repo, model.member_account_id(cid, r.member_id, "PT"),
                            "这个社区没有这位成员。 No such member in this community.")
    month = stats.month_at(repo, cid, r.at)
    last = lots.summary(repo, account.account_id).get(stats.EARNED)
    if r.kind == "award" and last and month < last:
        raise Unprocessable(f"该成员 {last} 已有积分记录，不能再导入更早月份的记录。 This member already earned points "
                            f"in {last}; earlier months cannot be imported after it.", code="out_of_order")
    _member_since(repo, cid, account.account_id, month)
    day = lots.local_day(repo, cid, r.at).isoformat()
    details = {"import": {"source_id": r.source_id, "batch": cmd.batch, "recorded_at": now, "by": cmd.by}}
    if r.kind == "award":
        debit, credit = system_account(tx, repo, cid, "issuance", "PT"), account
        details["award"] = {"amount": r.points, "status": "payable", "rule_version": None, "cuts": [],
                            "activity_day": day, "imported": True}
    else:
        debit, credit = account, system_account(tx, repo, cid, "penalty", "PT")
    t = new_transfer(transfer_id=transfer_id, community_id=cid, workflow="award" if r.kind == "award" else "system",
                     unit="PT", amount=r.points, debit=debit, credit=credit,
                     payer_id=r.member_id if r.kind == "deduction" else None,
                     payee_id=r.member_id if r.kind == "award" else None, initiator_id=cmd.by, now=r.at, ttl_days=0,
                     memo=r.memo, source=f"import:{cid}:{r.source_id}",
                     reference={"kind": "import", "id": r.source_id}, details=details)
    return post_at_once(tx, repo, t, r.at)


def _member_since(repo: LedgerRepository, cid: str, account_id: str, month: str) -> None:
    """A record shows the member was in the community in `month`: if the statistics first counted them in their
    grid later (when the ledger heard of them), that count moves back to `month` (so the grid's members, the
    participation rate's denominator, include them from then)."""
    first = lots.summary(repo, account_id).get(stats.FIRST_COUNTED)
    if not first or month >= first["month"]:
        return
    sink = stats.TxSink(repo.tx)
    stats.add_flow(sink, cid, first["month"], first["grid"], {"joined": -1})
    stats.add_flow(sink, cid, month, first["grid"], {"joined": 1})
    lots.save_summary(repo, account_id, **{stats.FIRST_COUNTED: {**first, "month": month}})


HANDLERS = {commands.ImportPastPoints: import_past_points}
