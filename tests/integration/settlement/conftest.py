"""Fixtures for settlement integration tests: the service on real Kafka/MongoDB, and a stand-in for the
ledger and community services that publishes their events (contract-shaped) into Kafka."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared import topics
from shared.testing import bearer, wait_until


class Upstream:
    """Publishes community.events and ledger.events as the community and ledger services would."""

    def __init__(self, dep, settlement):
        self.dep = dep
        self.svc = settlement
        self.cid = "c_" + uuid.uuid4().hex[:8]

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, topic: str, type_: str, payload: dict, key: str, event_id: str | None = None) -> str:
        return self.dep.publish(topic, type_, payload, key, event_id).id

    def community(self, point_value_fen: int = 10) -> None:
        self.publish(topics.COMMUNITY, "CommunityCreated", {
            "community_id": self.cid, "code": "c" + self.cid[-6:], "name": "阳光社区",
            "point_value_fen": point_value_fen,
            "settings": {"pending_ttl_days": 14, "bill_auto_confirm": False, "timezone": "Asia/Shanghai"}}, self.cid)

    def member(self, member_id: str, status: str = "active", roles=("resident",), merchant_id=None,
               type_: str = "MemberJoined") -> None:
        self.publish(topics.COMMUNITY, type_, {
            "community_id": self.cid, "member_id": member_id, "grid_id": None, "roles": list(roles), "skills": [],
            "availability": [], "vulnerable": False, "merchant_id": merchant_id, "status": status,
            "joined_at": datetime.now(timezone.utc).isoformat()}, member_id)

    def account(self, owner_id: str, kind: str = "member", credit_limit: int = 0) -> str:
        account_id = f"{kind}:{self.cid}:{owner_id}:PT"
        self.publish(topics.LEDGER, "AccountOpened", {
            "account_id": account_id, "community_id": self.cid, "owner_kind": kind, "owner_id": owner_id,
            "unit": "PT", "credit_limit": credit_limit}, account_id)
        return account_id

    def transfer(self, type_: str, *, transfer_id: str, amount: int, debit: str, credit: str, workflow: str,
                 reference: dict | None = None, payer_id=None, payee_id=None, reason=None,
                 event_id: str | None = None, at: datetime | None = None) -> str:
        state = {"TransferPending": "pending", "TransferPosted": "posted", "TransferRejected": "rejected",
                 "TransferCancelled": "cancelled", "TransferExpired": "expired"}[type_]
        return self.publish(topics.LEDGER, type_, {
            "transfer_id": transfer_id, "community_id": self.cid, "workflow": workflow, "unit": "PT",
            "amount": amount, "debit_account": debit, "credit_account": credit, "payer_id": payer_id,
            "payee_id": payee_id, "initiator_id": "x", "state": state, "reason": reason, "reference": reference,
            "occurred_at": (at or datetime.now(timezone.utc)).isoformat()}, transfer_id, event_id)

    def award(self, member_id: str, points: int) -> None:
        """Points earned by a member (issuance → member), posted."""
        self.transfer("TransferPosted", transfer_id="t_" + uuid.uuid4().hex[:12], amount=points,
                      debit=f"system:{self.cid}:issuance:PT", credit=f"member:{self.cid}:{member_id}:PT",
                      workflow="award", payee_id=member_id)

    @staticmethod
    def tid(redemption: dict) -> str:
        """The transfer id the stand-in ledger uses for a redemption."""
        return "t_" + hashlib.sha256(redemption["redemption_id"].encode()).hexdigest()[:16]

    def redeem(self, type_: str, redemption: dict, **kw) -> str:
        """The ledger's transfer event for a redemption (member → merchant account); returns the event id."""
        return self.transfer(type_, transfer_id=self.tid(redemption), amount=redemption["points"],
                             debit=f"member:{self.cid}:{redemption['member_id']}:PT",
                             credit=f"merchant:{self.cid}:{redemption['merchant_id']}:PT", workflow="redeem",
                             payer_id=redemption["member_id"], payee_id=redemption["merchant_id"],
                             reference={"kind": "redemption", "id": redemption["redemption_id"]}, **kw)

    def reverse(self, redemption: dict, event_id: str | None = None) -> tuple[str, str]:
        """The ledger's posted reversal of a redemption's transfer (merchant → member); (its transfer id, event id)."""
        original, account = self.tid(redemption), f"merchant:{self.cid}:{redemption['merchant_id']}:PT"
        reversal_id = "t_rev_" + original
        event = self.publish(topics.LEDGER, "TransferPosted", {
            "transfer_id": reversal_id, "community_id": self.cid, "workflow": "system", "unit": "PT",
            "amount": redemption["points"], "debit_account": account,
            "credit_account": f"member:{self.cid}:{redemption['member_id']}:PT",
            "payer_id": redemption["merchant_id"], "payee_id": redemption["member_id"], "initiator_id": "admin",
            "state": "posted", "reason": None, "reference": {"kind": "reversal", "id": original},
            "reverses": {"transfer_id": original, "workflow": "redeem",
                         "reference": {"kind": "redemption", "id": redemption["redemption_id"]}},
            "occurred_at": datetime.now(timezone.utc).isoformat()}, reversal_id, event_id)
        return reversal_id, event

    def wait_processed(self, *event_ids: str) -> None:
        """Until the settlement consumer has applied these events."""
        wait_until(lambda: self.svc.db.processed_events.count_documents({"_id": {"$in": list(event_ids)}})
                   == len(event_ids), message=f"events {event_ids} processed")

    def pay_code(self, member_id: str, code: str, max_points: int = 500, ttl=timedelta(minutes=3)) -> str:
        code_id = "pc_" + uuid.uuid4().hex[:10]
        self.publish(topics.LEDGER, "PayCodeIssued", {
            "code_id": code_id, "community_id": self.cid, "member_id": member_id,
            "code_sha256": hashlib.sha256(code.upper().encode()).hexdigest(), "max_points": max_points,
            "expires_at": (datetime.now(timezone.utc) + ttl).isoformat()}, code_id)
        return code_id

    # -- observing settlement ------------------------------------------------------------------
    def settlement_events(self, type_: str | None = None, key: str | None = None) -> list[dict]:
        """Every settlement event published so far (optionally of one type / key)."""
        return self.dep.events(topics.SETTLEMENT, type_, key)

    def wait_event(self, type_: str, key: str) -> dict:
        return wait_until(lambda: self.settlement_events(type_, key), message=f"{type_} for {key}")[0]

    def wait_read_model(self, collection: str, query: dict) -> dict:
        return wait_until(lambda: self.svc.db[collection].find_one(query), message=f"{collection} {query}")

    def redemption_state(self, headers, redemption_id: str, state: str) -> dict:
        def check():
            r = self.svc.http.get(f"/v1/redemptions/{redemption_id}", headers=headers)
            return r.json if r.json.get("state") == state else None
        return wait_until(check, message=f"redemption {redemption_id} {state}")


@pytest.fixture(scope="module")
def world(module_deployment):
    """The settlement service, a community with an admin, a merchant with staff and members with points."""
    dep = module_deployment
    svc = dep.service("settlement")
    up = Upstream(dep, svc)
    up.community()
    admin_id = "adm_" + uuid.uuid4().hex[:6]
    up.member(admin_id, roles=("admin",))
    admin = bearer(dep.token(admin_id, up.cid, "admin"))
    up.wait_read_model("communities", {"_id": up.cid})
    return {"dep": dep, "svc": svc, "up": up, "cid": up.cid, "admin": admin, "admin_id": admin_id}


@pytest.fixture(scope="module")
def new_merchant(world):
    """A factory: a merchant registered through the API, with one staff member and a staff token."""
    return lambda **fields: _register(world, **fields)


@pytest.fixture(scope="module")
def new_resident(world):
    """A factory: a member with a PT account holding `points`, visible to settlement; returns (id, headers)."""
    return lambda points=1000, status="active": _resident(world, points, status)


def _register(world, **fields) -> dict:
    body = {"name": "好邻居便利店", "address": "3号楼底商", **fields}
    r = world["svc"].http.post("/v1/merchants", headers=world["admin"], json=body)
    assert r.status_code == 201, r.json
    merchant = r.json
    staff_id = "stf_" + uuid.uuid4().hex[:6]
    world["up"].member(staff_id, roles=("merchant",), merchant_id=merchant["merchant_id"])
    merchant["staff"] = bearer(world["dep"].token(staff_id, world["cid"], "merchant",
                                                  merchant_id=merchant["merchant_id"]))
    merchant["staff_id"] = staff_id
    return merchant


def _resident(world, points: int, status: str) -> tuple[str, dict]:
    up = world["up"]
    member_id = "mem_" + uuid.uuid4().hex[:8]
    up.member(member_id, status=status)
    up.account(member_id)
    if points:
        up.award(member_id, points)
    up.wait_read_model("members", {"_id": member_id})
    if points:
        up.wait_read_model("ledger_accounts", {"owner_id": member_id, "posted": points, "owner_kind": "member"})
    return member_id, bearer(world["dep"].token(member_id, world["cid"], "resident"))
