"""Bulk member import from a staff spreadsheet (SPEC §9): the pure row logic.

Every row of a call is checked first, as the single create checks its body (`MemberCreateSchema`, loaded by the
caller's `load`) and then by the model's own rules (roles, PIN/password strength) and the community's grids; a phone
repeated in the file is refused on its later rows (`phone_repeated`, naming the first). A row whose phone is already
registered is `existing`: found, never duplicated, so a re-run of the same file creates nothing new. The rows left
are made into members here (their secrets hashed as the single create hashes them, outside any transaction) and
stored by the handler `import_members`, `CHUNK` rows per transaction."""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from marshmallow import ValidationError

from shared.errors import Problem
from services.community.model import Member, check_roles, check_secret_strength, new_member, unknown_grid

# Rows per call. Each new member's PIN/password is hashed with scrypt as the single create does (about 0.1 s of
# CPU each), so a call of MAX_ROWS answers within the gateway's 30 s read timeout; the web console sends a large
# sheet in several calls (WEB_CHUNK rows each) with a progress bar.
MAX_ROWS = 200
MAX_BYTES = 1024 * 1024  # the body of one call (200 rows of up to 5 KB each: skills and availability included)
CHUNK = 50            # rows per MongoDB transaction
MAX_ROW_NUMBER = 10_000_000
SAFE_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # field names and list indices
CREATED, EXISTING, REFUSED = "created", "existing", "refused"


@dataclass(frozen=True)
class Outcome:
    """What became of one row: `created` / `existing` (with the member's id), or `refused` with a problem code, a
    Chinese-first message and, for a row the create schema refused, its messages per field."""

    row: int
    outcome: str
    member_id: str | None = None
    code: str | None = None
    message: str | None = None
    errors: dict | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Plan:
    """What a call will do once its rows are checked: the rows to create and the outcomes already known; or, for a
    repeated Idempotency-Key, the first answer (`replay`)."""

    to_create: list = field(default_factory=list)
    known: list = field(default_factory=list)
    replay: dict | None = None


@dataclass(frozen=True)
class Row:
    """A row that passed every check: its number and its fields as the create schema loaded them."""

    row: int
    fields: dict = field(hash=False)


def _refused(row: int, code: str, message: str, errors: dict | None = None) -> Outcome:
    return Outcome(row, REFUSED, code=code, message=message, errors=errors)


def load_row(number: int, item, load: Callable[[dict], dict]) -> Row | Outcome:
    """One row loaded by the create schema's `load` (the API's edge): a `Row`, or its refusal."""
    if not isinstance(item, dict):
        return _refused(number, "validation_failed", "这一行不是一条成员记录。 This row is not a member record.")
    try:
        return Row(number, load({k: v for k, v in item.items() if k != "row"}))
    except ValidationError as exc:
        errors = _safe_errors(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
        names = "、".join(sorted(errors))
        return _refused(number, "validation_failed", f"这一行的内容有误：{names}。 This row is not valid: {names}.",
                        errors)


def _safe_errors(messages):
    """A refused row's messages per field, as JSON and MongoDB can keep them (the answer is stored under its
    Idempotency-Key): list items' indices as text; a key a client made up that is no field name (NUL bytes, `$`,
    dots…) is never echoed, only counted under `_unknown`."""
    if not isinstance(messages, dict):
        return messages
    kept, odd = {}, 0
    for key, value in messages.items():
        if SAFE_KEY.match(str(key)):
            kept[str(key)] = _safe_errors(value)
        else:
            odd += 1
    if odd:
        kept["_unknown"] = [f"{odd} 个无法识别的字段。 {odd} unknown field name(s)."]
    return kept


def row_number(index: int, item) -> int:
    """The row's own number (the spreadsheet's line, sent as `row`) when it gives a sensible one, else its place
    in the call counted from 1."""
    given = item.get("row") if isinstance(item, dict) else None
    return given if type(given) is int and 1 <= given <= MAX_ROW_NUMBER else index + 1


def load_rows(items: list, load: Callable[[dict], dict]) -> list[Row | Outcome]:
    """Every row of a call loaded by the create schema, in order."""
    return [load_row(row_number(index, item), item, load) for index, item in enumerate(items)]


def check_row(row: Row, grid_ids: set[str]) -> Row | Outcome:
    """The model's rules the single create applies to a loaded body: roles, the secret's strength, the grid."""
    fields = row.fields
    try:
        check_roles(fields.get("roles") or ["resident"], fields.get("merchant_id"))
        check_secret_strength(fields["password"])
    except Problem as problem:
        return _refused(row.row, problem.code, problem.detail)
    if fields.get("grid_id") is not None and fields["grid_id"] not in grid_ids:
        problem = unknown_grid(fields["grid_id"])
        return _refused(row.row, problem.code, problem.detail)
    return row


def check_rows(loaded: list[Row | Outcome], grid_ids: set[str]) -> list[Row | Outcome]:
    """Every loaded row checked, in order; a phone seen on an earlier row of the call refuses the later ones."""
    checked: list[Row | Outcome] = []
    first_row: dict[str, int] = {}
    for item in loaded:
        result = check_row(item, grid_ids) if isinstance(item, Row) else item
        if isinstance(result, Row):
            phone = result.fields["phone"]
            if phone in first_row:
                result = _refused(result.row, "phone_repeated",
                                  f"手机号与第 {first_row[phone]} 行重复。 Same phone number as row {first_row[phone]}.")
            else:
                first_row[phone] = result.row
        checked.append(result)
    return checked


def phones(rows: list[Row | Outcome]) -> list[str]:
    """The phone numbers of the rows that passed their checks."""
    return [r.fields["phone"] for r in rows if isinstance(r, Row)]


def found(row: int, member_id: str) -> Outcome:
    """A row whose phone is already a member's."""
    return Outcome(row, EXISTING, member_id=member_id, code="already_member",
                   message="已是本社区成员，未重复添加。 Already a member; not added again.")


def created(row: int, member_id: str) -> Outcome:
    return Outcome(row, CREATED, member_id=member_id)


def split(checked: list[Row | Outcome], existing: dict[str, str]) -> tuple[list[Row], list[Outcome]]:
    """The rows still to create, and the outcomes known already (refused, or the phone a member's: `existing`
    maps phone -> member id)."""
    to_create, known = [], []
    for item in checked:
        if isinstance(item, Outcome):
            known.append(item)
        elif item.fields["phone"] in existing:
            known.append(found(item.row, existing[item.fields["phone"]]))
        else:
            to_create.append(item)
    return to_create, known


def make_members(community_id: str, rows: list[Row], joined_at: datetime,
                 workers: int | None = None) -> list[tuple[int, Member]]:
    """The members the rows describe, made as the single create makes them (`model.new_member`: scrypt of each
    secret). scrypt runs outside the interpreter lock, so the hashes are computed on every core."""
    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        members = list(pool.map(lambda r: new_member(community_id, r.fields, joined_at), rows))
    return [(r.row, m) for r, m in zip(rows, members)]


def chunks(items: list, size: int = CHUNK) -> list[list]:
    """`items` in runs of at most `size`."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def summary(outcomes: list[Outcome]) -> dict:
    """The call's answer: every row's outcome in row order, and the counts."""
    ordered = sorted(outcomes, key=lambda o: o.row)
    counts = {kind: sum(o.outcome == kind for o in ordered) for kind in (CREATED, EXISTING, REFUSED)}
    return {"rows": [o.as_dict() for o in ordered], **counts}
