"""What the web app does, through the gateway, against the real services on real Kafka and MongoDB: a
resident's help request from posting to payment as the notification centre tells it, with names from the
member directory and what the bill is for from the ledger (the contract of the screens)."""
from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.config import Config
from shared.testing import serve, wait_until
from services.gateway.app import create_app

SERVICES = ("community", "requests", "matching", "ledger", "notifications")
ALL_WEEK = [{"day": d, "start": "00:00", "end": "23:59"} for d in range(7)]
PHONES = {"admin": "13800003001", "alice": "13900003002", "bob": "13900003003"}


@pytest.fixture(scope="module")
def gateway(module_deployment):
    harnesses = {name: module_deployment.service(name) for name in SERVICES}
    with ExitStack() as stack:
        env = {f"GATEWAY_{name.upper()}_URL": stack.enter_context(serve(h.app)) for name, h in harnesses.items()}
        app = create_app(Config.from_env("gateway", env=env))
        stack.callback(app.extensions["upstreams"].close)
        yield stack.enter_context(serve(app)) + "/api"


class Client:
    """A person using the app: their bearer token on every call through the gateway."""

    def __init__(self, api: str, code: str, phone: str):
        self.api = api
        login = requests.post(f"{api}/community/v1/auth/login",
                              json={"community_code": code, "phone": phone, "password": "246810"})
        assert login.status_code == 200, login.text
        self.member_id = login.json()["member_id"]
        self.headers = {"Authorization": f"Bearer {login.json()['token']}"}

    def get(self, path: str, **params):
        r = requests.get(f"{self.api}{path}", params=params, headers=self.headers)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def post(self, path: str, body=None):
        r = requests.post(f"{self.api}{path}", json=body or {}, headers={
            **self.headers, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code in (200, 201), (path, r.status_code, r.text)
        return r.json()

    def notice(self, kind: str, ref_id: str) -> dict:
        """My notification of `kind` about `ref_id` (or whose data refers to it), once the events have made it."""
        def about(n: dict) -> bool:
            return ref_id in (n["ref"]["id"], (n["data"].get("reference") or {}).get("id"))

        def find():
            items = self.get("/notifications/v1/notifications", limit=50)["items"]
            return next((n for n in items if n["kind"] == kind and about(n)), None)
        return wait_until(find, timeout=30, message=f"{kind} for {ref_id}")


@pytest.fixture(scope="module")
def people(gateway):
    code = f"gw-{uuid.uuid4().hex[:6]}"
    made = requests.post(f"{gateway}/community/v1/communities", headers={"X-Operator-Key": "dev-operator-key"},
                         json={"code": code, "name": "莲花社区", "admin": {
                             "display_name": "王主任", "phone": PHONES["admin"], "password": "246810"}})
    assert made.status_code == 201, made.text
    cid = made.json()["community"]["community_id"]
    admin = Client(gateway, code, PHONES["admin"])
    grid = admin.post(f"/community/v1/communities/{cid}/grids", {"name": "三网格"})
    admin.post(f"/community/v1/communities/{cid}/members", {
        "display_name": "高阿姨", "phone": PHONES["alice"], "password": "246810", "grid_id": grid["grid_id"]})
    admin.post(f"/community/v1/communities/{cid}/members", {
        "display_name": "何霞", "phone": PHONES["bob"], "password": "246810", "grid_id": grid["grid_id"],
        "skills": ["errands"], "availability": ALL_WEEK})
    alice, bob = Client(gateway, code, PHONES["alice"]), Client(gateway, code, PHONES["bob"])
    wait_until(lambda: len(alice.get("/ledger/v1/balances")) == 2 and len(bob.get("/ledger/v1/balances")) == 2)
    # Alice has no hours yet: the admin grants her an overdraft (a time-bank "loan").
    account = next(a["account_id"] for a in alice.get("/ledger/v1/balances") if a["unit"] == "HOUR")
    admin.post(f"/ledger/v1/admin/accounts/{account}/credit-limit", {"credit_limit": 120})
    return {"alice": alice, "bob": bob, "grid": grid}


def test_a_help_request_as_the_notification_centre_tells_it(people):
    alice, bob = people["alice"], people["bob"]
    now = datetime.now(timezone.utc)
    rid = alice.post("/requests/v1/requests", {
        "category": "errands", "title": "帮忙取药", "estimated_minutes": 30, "grid_id": people["grid"]["grid_id"],
        "window_start": now.isoformat(), "window_end": (now + timedelta(hours=4)).isoformat()})["request_id"]

    # Matching suggests Bob: his centre says so, with an unread mark.
    suggested = bob.notice("request.suggested", rid)
    assert suggested["read"] is False and suggested["data"] == {"request_id": rid}
    bob.post(f"/requests/v1/requests/{rid}/accept")
    accepted = alice.notice("request.accepted", rid)
    # People, not ids: the screen turns the helper's id into a name and grid through the directory.
    [helper] = alice.get("/community/v1/directory", ids=accepted["data"]["helper_id"])["members"]
    assert (helper["display_name"], helper["grid_name"]) == ("何霞", "三网格")
    assert alice.get("/community/v1/directory", q="何")["members"] == [helper]

    code = alice.post(f"/requests/v1/requests/{rid}/codes")["code"]
    bob.post(f"/requests/v1/requests/{rid}/check-in", {"code": code})
    alice.post(f"/requests/v1/requests/{rid}/agree-claim", {"minutes": 30})
    code = alice.post(f"/requests/v1/requests/{rid}/codes")["code"]
    bob.post(f"/requests/v1/requests/{rid}/check-out", {"code": code})
    bob.post(f"/requests/v1/requests/{rid}/claim", {"minutes": 30})

    # What awaits Alice: the bill, what it is for, who asks and how much.
    data = alice.notice("transfer.awaiting_confirmation", rid)["data"]
    assert (data["workflow"], data["unit"], data["amount"], data["direction"]) == ("bill", "HOUR", 30, "out")
    assert data["reference"] == {"kind": "request", "id": rid} and data["counterparty_id"] == bob.member_id
    bill = alice.get(f"/ledger/v1/transfers/{data['transfer_id']}")
    assert (bill["memo"], bill["payee_id"], bill["state"]) == ("帮忙取药", bob.member_id, "pending")

    alice.post(f"/ledger/v1/transfers/{data['transfer_id']}/confirm")
    posted = bob.notice("transfer.posted", data["transfer_id"])
    assert (posted["data"]["direction"], posted["data"]["amount"], posted["data"]["counterparty_id"]) == (
        "in", 30, alice.member_id)
    assert bob.notice("request.completed", rid)["data"]["counterparty_id"] == alice.member_id
    alice.notice("request.completed", rid)

    # Read marks: one, then all; newest first throughout; no phone number or name anywhere.
    page = alice.get("/notifications/v1/notifications")
    assert page["unread"] == len(page["items"]) >= 4
    stamps = [n["created_at"] for n in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    raw = json.dumps(page, ensure_ascii=False) + json.dumps(bob.get("/notifications/v1/notifications"),
                                                            ensure_ascii=False)
    assert not any(p in raw for p in PHONES.values()) and "何霞" not in raw and "高阿姨" not in raw
    left = alice.post("/notifications/v1/notifications/read", {"ids": [page["items"][-1]["notification_id"]]})
    assert left == {"unread": page["unread"] - 1}
    assert alice.post("/notifications/v1/notifications/read", {"all": True}) == {"unread": 0}
    assert bob.get("/notifications/v1/notifications")["unread"] > 0
