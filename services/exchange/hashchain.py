"""The Credit Commons per-neighbour hash chain, byte-exact (pure; /work/shared/protocols/credit-commons.md §7).

Two nodes that trade keep one chain between them. After each transaction both compute

    md5( previous | uuid | state | quant₁ | description₁ | … | quantₙ | descriptionₙ | version )

(`|`-joined, UTF-8, lowercase hex) and the next request between them carries the result in its `last-hash`
header. No names and no timestamps are hashed: account names differ on the two ledgers.

The two dialects fill the same string differently, so the caller chooses the values:

* **0.9** (Komunitin; what we speak): the state as received in the relay body (`V`), the version from the
  body — usually absent, so the string ends with `|` — and **all** entries of the body.
* **0.8** (reference PHP node): the state as just written (`pending`, `completed`…), the saved version number,
  only the entries shared with that neighbour, each with its trunkward quantity when the neighbour is trunkward.

Quantities are rendered as JavaScript prints a number (`14`, not `14.0`; `0.01`; `1e-7`), which is what the
PHP and TypeScript nodes hash."""
from __future__ import annotations

import hashlib
import math
from decimal import Decimal
from typing import Iterable, Mapping


def js_number(value) -> str:
    """`value` as JavaScript's Number#toString prints it (ECMAScript Number::toString, radix 10)."""
    if isinstance(value, bool):
        raise TypeError("a quantity is a number, not a boolean")
    x = float(value) if not isinstance(value, float) else value
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"  # JS prints -0 as 0 too
    if x < 0:
        return "-" + js_number(-x)
    # The shortest digits that round-trip (Python's repr and JS agree on them), as digits × 10^(n − k).
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    s = "".join(map(str, digits))
    k = len(s)
    n = exponent + k  # the position of the decimal point relative to the digits
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    mantissa = s[0] + ("." + s[1:] if k > 1 else "")
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def chain_input(previous: str, uuid: str, state: str, entries: Iterable[Mapping], version=None) -> str:
    """The exact string hashed: previous hash, uuid, state, each entry's quant and description, version."""
    parts = [previous, uuid, state]
    for entry in entries:
        parts += [js_number(entry["quant"]), str(entry.get("description") or "")]
    parts.append("" if version is None else js_number(version))
    return "|".join(parts)


def next_hash(previous: str, uuid: str, state: str, entries: Iterable[Mapping], version=None) -> str:
    """The new head of the chain (md5, lowercase hex)."""
    return hashlib.md5(chain_input(previous, uuid, state, entries, version).encode("utf-8")).hexdigest()


def relay_hash(previous: str, body: Mapping) -> str:
    """The 0.9 dialect after a relayed transaction body: its uuid, state and version as received, all entries."""
    return next_hash(previous, str(body["uuid"]), str(body.get("state") or ""), body.get("entries") or [],
                     body.get("version"))
