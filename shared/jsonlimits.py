"""Parsing JSON that a stranger sent: bounded nesting depth and bounded integers, refused before parsing.

Python's json module recurses once per nesting level (a 2 KB body nested 1,000 deep raises RecursionError)
and turns any integer literal into an int (more than 4,300 digits raises ValueError deep inside, and
anything past 8 bytes cannot be stored in MongoDB anyway). Every JSON body a service reads goes through
`loads` here (Flask's JSON provider in `shared.web`, so Flask-Limiter key functions and webargs too), and so
do page cursors (`shared.schemas.PageCursor`)."""
from __future__ import annotations

import json
import re

MAX_DEPTH = 64
# BSON's 8-byte integers: every number a service keeps fits; a longer literal is refused before int() runs.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1
_MAX_INT_DIGITS = 19

# A JSON string (skipped whole, brackets inside it do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JSONLimitError(ValueError):
    """The document is beyond what a service reads; `code` says which limit (a problem's code)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def too_deep(text: str) -> bool:
    """Whether a JSON text nests arrays and objects more than MAX_DEPTH levels (brackets in strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # too few brackets to be that deep: no scan
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()[0]  # a bracket, or the opening quote of a string
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _bounded_int(literal: str) -> int:
    digits = literal[1:] if literal.startswith("-") else literal
    if len(digits) <= _MAX_INT_DIGITS:
        value = int(literal)
        if INT_MIN <= value <= INT_MAX:
            return value
    raise JSONLimitError("number_out_of_range",
                         f"数字超出范围（须为 8 字节整数）。 A number is out of range: integers must lie between "
                         f"{INT_MIN} and {INT_MAX}.")


def loads(text: str | bytes) -> object:
    """json.loads with the limits: JSONLimitError (a ValueError) when a document is too deep or a number too big;
    json.JSONDecodeError / UnicodeDecodeError (ValueErrors too) when it is not JSON."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if too_deep(text):
        raise JSONLimitError("json_too_deep", f"JSON 嵌套过深（最多 {MAX_DEPTH} 层）。 "
                                              f"The JSON document is nested more than {MAX_DEPTH} levels deep.")
    return json.loads(text, parse_int=_bounded_int)
