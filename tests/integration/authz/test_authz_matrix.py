"""The authorization matrix (docs/authz-matrix.md) is executable: every cell is one call with real ids and a
valid body against the real services, its answer must be the cell's, and a refused call writes nothing in
any service's database (per-collection content hashes and counts, the outbox included, are unchanged)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

MATRIX = Path(__file__).resolve().parents[3] / "docs" / "authz-matrix.md"
SERVICES = ("community", "requests", "matching", "ledger", "settlement")
_ROW = re.compile(r"^\|\s*(\w+)\s*\|\s*`(GET|POST|PUT|PATCH|DELETE) (/\S*)`\s*\|(.*)\|\s*$")


def parse_matrix(text: str) -> tuple[list[str], dict[tuple[str, str, str], dict[str, str]]]:
    """The identity columns and {(service, METHOD, path): {identity: expected}} of the matrix's table."""
    header = next(line for line in text.splitlines() if line.startswith("| service | operation |"))
    columns = [c.strip() for c in header.strip("|").split("|")][2:-1]
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        service, method, path, rest = match.groups()
        cells = [c.strip() for c in rest.split("|")][:-1]
        assert len(cells) == len(columns), f"{method} {path}: {len(cells)} cells for {len(columns)} identities"
        assert all(re.fullmatch(r"2xx|[1-5][0-9][0-9]", c) for c in cells), f"{method} {path}: {cells}"
        key = (service, method, path)
        assert key not in rows, f"{key} listed twice"
        rows[key] = dict(zip(columns, cells))
    return columns, rows


COLUMNS, EXPECTED = parse_matrix(MATRIX.read_text(encoding="utf-8"))
CELLS = [(op, identity) for op in EXPECTED for identity in COLUMNS]


def test_the_matrix_lists_every_operation_of_every_service_and_nothing_else(world, scenarios, identities):
    assert COLUMNS == list(identities)
    served = set()
    for service in SERVICES:
        spec = world.svc[service].http.get("/openapi.json").get_json()
        served |= {(service, method.upper(), path) for path, ops in spec["paths"].items()
                   for method in ops if method in ("get", "post", "put", "patch", "delete")}
    assert sorted(served - set(EXPECTED)) == [], "operations the matrix does not list"
    assert sorted(set(EXPECTED) - served) == [], "matrix rows no service serves"
    assert sorted(served - set(scenarios)) == [], "operations without a scenario in conftest.py"


def _allowed(expected: str, status: int) -> bool:
    return 200 <= status < 300 if expected == "2xx" else status == int(expected)


@pytest.mark.parametrize("op,identity", CELLS, ids=[f"{s}:{m} {p}:{i}" for (s, m, p), i in CELLS])
def test_cell(world, scenarios, op, identity):
    service, method, _ = op
    expected = EXPECTED[op][identity]
    call = world.targets.get(op)
    if call is None:
        call = world.targets[op] = scenarios[op](world)
    body = call.json(identity) if callable(call.json) else call.json
    refused = expected != "2xx"
    if refused:
        world.quiesce()
        before = world.snapshot()
    resp = getattr(world.svc[service].http, method.lower())(
        call.path, json=body, query_string=call.query, headers={**call.headers, **world.headers(identity, call)})
    if method != "GET" and 200 <= resp.status_code < 300:
        world.targets.pop(op, None)  # it changed: the next allowed cell gets a fresh target
        world.dirty = True
    assert _allowed(expected, resp.status_code), (
        f"{identity} {method} {call.path}: expected {expected}, got {resp.status_code} {resp.get_data(as_text=True)[:300]}")
    if refused:
        assert resp.mimetype == "application/problem+json", resp.mimetype
        after = world.snapshot()
        changed = {c: (before.get(c), after.get(c)) for c in before.keys() | after.keys() if before.get(c) != after.get(c)}
        assert not changed, f"{identity} {method} {call.path} was refused but wrote: {changed}"
