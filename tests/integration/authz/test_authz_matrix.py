"""The authorization matrix (docs/authz-matrix.md) is executable: every cell is one call with real ids and a
valid body against the real services, its answer must be the cell's, and a refused call writes nothing in
any service's database (per-collection content hashes and counts, the outbox included, are unchanged)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.testing import wait_until

MATRIX = Path(__file__).resolve().parents[3] / "docs" / "authz-matrix.md"
# | service | `METHOD /path` (optional case) | cells… | self is |
_ROW = re.compile(r"^\|\s*(\w+)\s*\|\s*`(GET|POST|PUT|PATCH|DELETE) (/\S*)`\s*(?:\(([^)]*)\))?\s*\|(.*)\|\s*$")


def parse_matrix(text: str) -> tuple[list[str], dict[tuple[str, str, str, str], dict[str, str]]]:
    """The identity columns and {(service, METHOD, path, case): {identity: expected}} of the matrix's table
    (case is "" for an operation's main row, or what the extra row is about, e.g. "a till redemption")."""
    header = next(line for line in text.splitlines() if line.startswith("| service | operation |"))
    columns = [c.strip() for c in header.strip("|").split("|")][2:-1]
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        service, method, path, case, rest = match.groups()
        cells = [c.strip() for c in rest.split("|")][:-1]
        assert len(cells) == len(columns), f"{method} {path}: {len(cells)} cells for {len(columns)} identities"
        assert all(re.fullmatch(r"2xx|[1-5][0-9][0-9]", c) for c in cells), f"{method} {path}: {cells}"
        key = (service, method, path, (case or "").strip())
        assert key not in rows, f"{key} listed twice"
        rows[key] = dict(zip(columns, cells))
    return columns, rows


COLUMNS, EXPECTED = parse_matrix(MATRIX.read_text(encoding="utf-8"))
CELLS = [(op, identity) for op in EXPECTED for identity in COLUMNS]


def test_the_matrix_lists_every_operation_of_every_service_and_nothing_else(world, scenarios, identities):
    assert COLUMNS == list(identities)
    served = set()
    for service in world.svc:  # every service the world runs
        spec = world.svc[service].http.get("/openapi.json").get_json()
        served |= {(service, method.upper(), path) for path, ops in spec["paths"].items()
                   for method in ops if method in ("get", "post", "put", "patch", "delete")}
    main_rows = {(service, method, path) for service, method, path, case in EXPECTED if not case}
    assert sorted(served - main_rows) == [], "operations the matrix does not list"
    assert sorted({key[:3] for key in EXPECTED} - served) == [], "matrix rows no service serves"
    assert sorted(set(EXPECTED) - set(scenarios)) == [], "rows without a scenario in conftest.py"


def _allowed(expected: str, status: int) -> bool:
    return 200 <= status < 300 if expected == "2xx" else status == int(expected)


@pytest.mark.parametrize("op,identity", CELLS,
                         ids=[f"{s}:{m} {p}{f' ({c})' if c else ''}:{i}" for (s, m, p, c), i in CELLS])
def test_cell(world, scenarios, op, identity):
    service, method = op[:2]
    expected = EXPECTED[op][identity]
    call = world.targets.get(op)
    if call is None:
        call = world.targets[op] = scenarios[op](world)
    body = call.json(identity) if callable(call.json) else call.json
    refused = expected != "2xx"
    if refused:
        world.quiesce()
        before = world.snapshot()
    sent = {"data": call.form(), "content_type": "multipart/form-data"} if call.form else {"json": body}
    resp = getattr(world.svc[service].http, method.lower())(
        call.path, **sent, query_string=call.query, headers=world.headers(identity, call))
    if method != "GET" and 200 <= resp.status_code < 300:
        world.targets.pop(op, None)  # it changed: the next allowed cell gets a fresh target
        world.dirty = True
    assert _allowed(expected, resp.status_code), (
        f"{identity} {method} {call.path}: expected {expected}, got {resp.status_code} {resp.get_data(as_text=True)[:300]}")
    if refused:
        assert resp.mimetype == call.refusal, resp.mimetype
        after = world.snapshot()
        changed = {c: (before.get(c), after.get(c)) for c in before.keys() | after.keys() if before.get(c) != after.get(c)}
        assert not changed, f"{identity} {method} {call.path} was refused but wrote: {changed}"


def test_staff_who_left_the_shop_keep_no_power_over_it(world):
    """An admin takes the merchant role away (the shop stays recorded on the member): their next token must
    not let them see or cancel the shop's redemptions anywhere, the ledger included."""
    leaver = world.join("ex-staff", "merchant", merchant_id=world.m1)
    old_token = {"Authorization": f"Bearer {world.token(leaver)}"}  # signed while they were staff
    world.ok("community", "patch", f"/v1/communities/{world.A}/members/{leaver}", world.admin_a,
             {"roles": ["resident"]})
    login = world.call("community", "post", "/v1/auth/login", None, {
        "community_code": world.codes[world.A], "phone": world.phones[leaver], "password": "pass-word-123"})
    assert login.status_code == 200 and login.get_json()["roles"] == ["resident"], login.get_json()
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    transfer = world.redemption_transfer()
    world.quiesce()
    before = world.snapshot()
    seen = world.svc["ledger"].http.get(f"/v1/transfers/{transfer}", headers=headers)
    cancelled = world.svc["ledger"].http.post(f"/v1/transfers/{transfer}/cancel", json={"reason": "x"},
                                              headers=headers)
    listed = world.svc["settlement"].http.get(f"/v1/merchants/{world.m1}/redemptions", headers=headers)
    assert (seen.status_code, cancelled.status_code, listed.status_code) == (404, 403, 403), (
        seen.get_json(), cancelled.get_json(), listed.get_json())
    assert world.snapshot() == before
    still = world.call("ledger", "get", f"/v1/transfers/{transfer}", world.alice).get_json()
    assert still["state"] == "pending"
    # The token signed while they were staff: settlement, once it has heard of the change, refuses it too.
    wait_until(lambda: world.svc["settlement"].db.members.find_one({"_id": leaver, "roles": ["resident"]}),
               message="settlement hears the merchant role was taken away")
    redemption = world.redemption()
    assert [world.svc["settlement"].http.get(path, headers=old_token).status_code for path in (
        f"/v1/merchants/{world.m1}/redemptions", f"/v1/redemptions/{redemption}")] == [403, 403]


def test_a_role_taken_away_or_a_membership_ended_counts_at_once_in_the_community_service(world):
    """Tokens live for hours; the community service, which holds members' roles and status, must not let a
    demoted admin keep managing members (or promote themself back), nor a deactivated member act."""
    deputy = world.join("deputy", "admin")
    old_token = {"Authorization": f"Bearer {world.token(deputy)}"}
    http = world.svc["community"].http
    assert http.get(f"/v1/communities/{world.A}/members", headers=old_token).status_code == 200
    world.ok("community", "patch", f"/v1/communities/{world.A}/members/{deputy}", world.admin_a,
             {"roles": ["resident"]})
    world.quiesce()
    before = world.snapshot()
    refused = [
        http.get(f"/v1/communities/{world.A}/members", headers=old_token),
        http.patch(f"/v1/communities/{world.A}/members/{deputy}", json={"roles": ["admin"]}, headers=old_token),
        http.post(f"/v1/communities/{world.A}/members", headers=old_token,
                  json={"display_name": "x", "phone": "13700000000", "password": "pass-word-123"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403], [r.get_json() for r in refused]
    assert world.snapshot() == before
    assert world.call("community", "get", f"/v1/communities/{world.A}/members/{deputy}",
                      world.admin_a).get_json()["roles"] == ["resident"]

    leaver = world.join("leaver")
    leaver_token = {"Authorization": f"Bearer {world.token(leaver)}"}
    world.ok("community", "post", f"/v1/communities/{world.A}/members/{leaver}/deactivate", world.admin_a)
    world.quiesce()
    before = world.snapshot()
    gone = [http.get("/v1/members/me", headers=leaver_token),
            http.patch("/v1/members/me", json={"display_name": "还在"}, headers=leaver_token)]
    assert [(r.status_code, r.get_json()["code"]) for r in gone] == [(401, "member_inactive")] * 2
    assert world.snapshot() == before
    # Settlement refuses them as soon as it has heard of the deactivation.
    wait_until(lambda: world.svc["settlement"].db.members.find_one({"_id": leaver, "status": "inactive"}),
               message="settlement hears of the deactivation")
    mine = world.svc["settlement"].http.get("/v1/members/me/redemptions", headers=leaver_token)
    assert (mine.status_code, mine.get_json()["code"]) == (401, "member_inactive")


def test_members_see_and_mark_only_their_own_notifications(world):
    """Every member gets an answer from the notification centre, and it is about them alone: bob sees none of
    alice's notifications, and naming her ids to mark them read as bob changes nothing."""
    transfer = world.bill(world.carol, world.alice)  # awaits alice's confirmation: a notification for her
    fresh = wait_until(lambda: world.svc["notifications"].db.notifications.find_one(
        {"member_id": world.alice, "read": False, "ref.id": transfer}), message="alice is told of the bill")
    mine = world.call("notifications", "get", "/v1/notifications", world.alice, query={"limit": 100}).get_json()
    assert fresh["_id"] in {n["notification_id"] for n in mine["items"]}
    assert {n["member_id"] for n in mine["items"]} == {world.alice}
    ids = [n["notification_id"] for n in mine["items"]]
    theirs = world.call("notifications", "get", "/v1/notifications", world.bob, query={"limit": 100}).get_json()
    assert not set(ids) & {n["notification_id"] for n in theirs["items"]}
    assert {n["member_id"] for n in theirs["items"]} <= {world.bob}
    world.quiesce()
    before = world.snapshot()
    marked = world.call("notifications", "post", "/v1/notifications/read", world.bob, {"ids": ids})
    assert marked.status_code == 200 and marked.get_json() == {"unread": theirs["unread"]}, marked.get_json()
    assert world.snapshot() == before
    assert world.svc["notifications"].db.notifications.find_one({"_id": fresh["_id"]})["read"] is False
