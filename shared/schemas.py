"""Schemas and fields every service's HTTP API shares: pages, page cursors, date-times, problems."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone

from marshmallow import INCLUDE, Schema, fields, validate

from shared import jsonlimits
from shared.errors import BadRequest


class PageArgsSchema(Schema):
    """`?limit=&offset=` of a paginated list; answers carry items, total, limit and offset."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with an offset, loaded as the same instant in UTC.

    Every date-time a service reads goes through this field, so none can hold an instant that Python or
    BSON cannot represent once converted (`9999-12-31T23:59:59-23:59` is past year 9999 in UTC) or that is
    no time of a time bank. Naive date-times take `default_timezone` (refused when it is None, the default)."""

    EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
    LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)
    default_error_messages = {
        "out_of_range": "时间超出范围：须在 1970-01-01 与 3000-01-01（UTC）之间。 "
                        "The time must lie between 1970-01-01 and 3000-01-01 UTC.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        aware = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = aware.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise self.make_error("out_of_range") from None
        if not self.EARLIEST <= utc < self.LATEST:
            raise self.make_error("out_of_range")
        return utc


# A page cursor's parts: the sort value (epoch milliseconds, or any non-negative 8-byte integer) and the id.
_CURSOR_INT = (0, jsonlimits.INT_MAX)
_CURSOR_ID_MAX = 128


def encode_cursor(position: int, item_id: str) -> str:
    """The opaque cursor of a page that ends at (position, item_id)."""
    raw = json.dumps([position, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class PageCursor(fields.String):
    """`?cursor=` of a keyset-paginated list, loaded as the (position, item_id) it was made of.

    A cursor comes back from a client, so it is checked like any input: base64url of a JSON [int, str] with
    the int a non-negative 8-byte integer (a MongoDB long) and the id at most 128 characters. Anything else is
    400 `bad_cursor`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=1, max=200))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[int, str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = jsonlimits.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, binascii.Error):
            parts = None
        if (isinstance(parts, list) and len(parts) == 2 and type(parts[0]) is int and isinstance(parts[1], str)
                and _CURSOR_INT[0] <= parts[0] <= _CURSOR_INT[1] and 0 < len(parts[1]) <= _CURSOR_ID_MAX):
            return parts[0], parts[1]
        raise BadRequest("翻页游标无效。 The page cursor is not valid.", code="bad_cursor")


class ProblemSchema(Schema):
    """An error answer (RFC 9457 application/problem+json); other members may carry more detail."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "A URI naming the kind of problem."})
    title = fields.String(required=True, metadata={"description": "A short summary of the kind of problem."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    detail = fields.String(metadata={"description": "What went wrong with this request."})
    code = fields.String(metadata={"description": "A stable machine-readable code, e.g. `validation_failed`."})
    errors = fields.Raw(metadata={"description": "Validation messages per field (validation_failed)."})
    instance = fields.String(metadata={"description": "A URI naming this occurrence."})
    correlation_id = fields.String(metadata={"description": "The request's correlation id (server errors)."})


def problem_responses(blp, described: dict):
    """Document an operation's own problem+json answers with what they mean *there* (`{409: "this unit is
    already grafted"}`); `shared.web.ProblemResponses` already gives every operation the generic ones."""
    from shared.web import PROBLEM_JSON

    def decorate(fn):
        for status, description in described.items():
            fn = blp.alt_response(int(status), schema=ProblemSchema, content_type=PROBLEM_JSON,
                                  description=description)(fn)
        return fn
    return decorate

