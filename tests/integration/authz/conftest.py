"""The world the authorization matrix runs in: every service on the real Kafka and MongoDB, two communities,
residents, staff and two shops, built once per module through the services' own APIs; plus, for each
operation, a factory that gives it real path parameters and a valid body."""
from __future__ import annotations

import dataclasses
import importlib
import io
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from services.ledger.model import member_account_id
from shared import topics
from shared.auth import Principal, issue_token
from shared.testing import bearer, tiny_png, wait_until as _wait_until


def wait_until(predicate, message: str = ""):
    """Events cross Kafka between services; consumers' first group join, on a busy machine, can be slow."""
    return _wait_until(predicate, timeout=120, message=message)


SERVICES = ("community", "requests", "matching", "ledger", "settlement", "notifications", "exchange")
IDENTITIES = ("anonymous", "self", "resident", "organizer", "grid_worker", "admin", "other_admin", "staff",
              "other_staff", "expired", "forged")
OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"
# Partner terms: an hour-only agreement for the ones the matrix acts on; the standing A–B one honours both units.
HOUR_TERMS = [{"unit": "HOUR", "net_limit": 600}]
BOTH_TERMS = HOUR_TERMS + [{"unit": "PT", "net_limit": 5000}]
# Exchange is grafted for HOUR onto a trunkward node "trunk" with this agreed initial hash.
GRAFT = {"unit": "HOUR", "peer_node_path": "trunk", "our_node_path": "trunk/authz", "url": "http://127.0.0.1:9/cc/HOUR",
         "rate": "1", "last_hash": "authz-agreed-hash", "secret": "authz-agreed-node-secret", "net_limit": 100_000}
PASSWORD = "pass-word-123"
ALICE_HOURS = 6000  # minutes of credit
# Written by the services' own machinery on a timer, not by a request: the relay's lease heartbeat.
NOT_REQUEST_STATE = {"relay_lease"}
# The matrix makes many money calls with one token; the per-token limits are tested elsewhere.
UNLIMITED = {"community": {"COMMUNITY_REPORT_RATE_LIMIT": "100000/minute",
                           "COMMUNITY_LOOKUP_RATE_LIMIT": "100000/minute"},
             "ledger": {"LEDGER_MONEY_RATE_LIMIT": "100000/minute"},
             "settlement": {"SETTLEMENT_MONEY_RATE_LIMIT": "100000/minute"}}


@dataclasses.dataclass
class Call:
    """One operation made concrete: the path with real ids, its body and query, and whose data it is."""

    path: str
    json: dict | Callable[[str], dict] | None = None
    query: dict | None = None
    self_id: str | None = None      # "self" is this member (default: alice)
    headers: dict | None = None     # sent by every identity besides its Authorization (e.g. cc-node)
    refusal: str = PROBLEM          # the media type of a refusal (the Credit Commons routes answer JSON)
    form: Callable[[], dict] | None = None  # a multipart form (fresh file objects per call) instead of `json`


class World:
    """Two communities (A with everybody, B with only its admin), built through the real APIs."""

    def __init__(self, dep):
        self.dep = dep
        for name in SERVICES:
            dep.service(name, settings=UNLIMITED.get(name, {}))
        self.svc = dep.services
        try:
            wait_until(self._consumers_assigned, message="every consumer has all its partitions")
        except AssertionError as exc:  # say which consumer, and in what state (CI shows only this line)
            raise AssertionError(f"{exc}: " + "; ".join(self.svc[n].consumer_state() for n in SERVICES)) from None
        self.phones: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.roles: dict[str, tuple[str, ...]] = {}
        self.community_of: dict[str, str] = {}
        self.merchant_of: dict[str, str] = {}
        self.admin_of: dict[str, str] = {}
        self.A, self.admin_a = self._community("A")
        self.B, self.admin_b = self._community("B")
        self.C, self.admin_c = self._community("C")  # B's other partner: A's admin has no business with it
        self.grid = self.ok("community", "post", f"/v1/communities/{self.A}/grids", self.admin_a,
                            {"name": "一网格"})["grid_id"]
        # No yearly cap in A: the matrix claims many awards for the same members (caps: the ledger's own tests).
        self.ok("community", "post", f"/v1/communities/{self.A}/points-rules", self.admin_a,
                {"rules": {"caps": {"per_year": None}, "points_loan_limit": 1000}})
        wait_until(lambda: self.svc["ledger"].db.points_rules.find_one({"community_id": self.A}),
                   message="the ledger has A's points rules")
        wait_until(lambda: self.svc["settlement"].db.communities.find_one({"_id": self.B}),
                   message="settlement knows the communities")
        self.m1 = self.ok("settlement", "post", "/v1/merchants", self.admin_a,
                          {"name": "好邻居便利店", "min_points": 1})["merchant_id"]
        self.m2 = self.ok("settlement", "post", "/v1/merchants", self.admin_a, {"name": "阳光超市"})["merchant_id"]
        self.alice = self.join("alice")
        self.bob = self.join("bob")
        self.carol = self.join("carol")
        self.olga = self.join("olga", "organizer")
        self.gwen = self.join("gwen", "grid_worker")
        self.stan = self.join("stan", "merchant", merchant_id=self.m1)
        self.sam = self.join("sam", "merchant", merchant_id=self.m2)
        # Alice pays for help on mutual credit (an hours overdraft her admin grants).
        self.ok("ledger", "post", f"/v1/admin/accounts/{member_account_id(self.A, self.alice, 'HOUR')}/credit-limit",
                self.admin_a, {"credit_limit": ALICE_HOURS})
        for member in (self.alice, self.bob, self.carol, self.gwen, self.admin_a, self.stan, self.sam):
            self.earn(member, self.olga)
        self.earn(self.olga, self.gwen)
        for member in (self.alice, self.bob, self.carol, self.olga, self.gwen, self.admin_a, self.stan, self.sam):
            wait_until(lambda m=member: self.svc["settlement"].db.ledger_accounts.find_one(
                {"owner_kind": "member", "owner_id": m, "unit": "PT", "posted": {"$gte": 720}}),
                message=f"settlement sees {member}'s points")
        self.request = self.post_request()
        self.offer = self.ok("requests", "post", "/v1/offers", self.alice,
                             {"category": "errands", "title": "帮忙取快递", **self.window()})["offer_id"]
        self.item = self.ok("settlement", "post", f"/v1/merchants/{self.m1}/items", self.stan,
                            {"name": "食用油 5L", "price_points": 10, "stock": 100_000})["item_id"]
        # Exchange: A and B are partners (A proposed, B accepted), and so are B and C; HOUR is grafted.
        self.agreement = self.partnership(self.A, self.B, BOTH_TERMS)
        self.bc_agreement = self.partnership(self.B, self.C)
        self.line, self.bc_line = f"tl:{self.agreement}:HOUR", f"tl:{self.bc_agreement}:HOUR"
        self.clearing = self.clearing_of(self.line, self.A)
        self.bc_clearing = self.clearing_of(self.bc_line, self.B)
        self.ok("exchange", "post", "/v1/federation/nodes", None, GRAFT, **OPERATOR)
        # Notifications: alice has some of her own (bills awaiting her confirmation).
        wait_until(lambda: self.svc["notifications"].db.notifications.find_one({"member_id": self.alice}),
                   message="alice has notifications")
        self._kafka = KafkaAdminClient(bootstrap_servers=dep.kafka_bootstrap)
        self._offsets = KafkaConsumer(bootstrap_servers=dep.kafka_bootstrap, enable_auto_commit=False)
        self.dirty = True
        self.targets: dict = {}  # the current concrete call of each operation

    def _consumers_assigned(self) -> bool:
        """Whether every service's consumer holds all the partitions of its topics. One that joined its group
        while the broker had no partition metadata for a topic yet (a loaded machine) would wait for
        kafka-python's five-minute metadata refresh before rejoining: ask for the refresh now instead."""
        complete = True
        for name in SERVICES:
            if not self.svc[name].partitions_missing:
                continue
            complete = False
            runner = self.svc[name].consumer
            if runner._consumer is not None:
                runner._consumer._client.cluster.request_update()
        return complete

    # -- people and tokens ------------------------------------------------------------------------
    def _community(self, name: str) -> tuple[str, str]:
        self.dirty = True  # every service hears of a new community
        made = self.svc["community"].http.post("/v1/communities", headers=OPERATOR, json={
            "code": f"authz-{name.lower()}-{uuid.uuid4().hex[:6]}", "name": f"社区{name}", "point_value_fen": 10,
            "admin": {"display_name": f"主任{name}", "phone": self.phone(f"admin_{name}"), "password": PASSWORD}})
        assert made.status_code == 201, made.get_json()
        body = made.get_json()
        community, admin = body["community"]["community_id"], body["admin_member_id"]
        self.phones[admin] = self.phones.pop(f"admin_{name}")
        self.codes[community] = body["community"]["code"]
        self.roles[admin], self.community_of[admin] = ("admin",), community
        self.admin_of[community] = admin
        return community, admin

    def community(self) -> str:
        """A fresh community with its admin (a new partner for every agreement the matrix changes)."""
        return self._community(f"X{uuid.uuid4().hex[:6]}")[0]

    def phone(self, key: str) -> str:
        self.phones[key] = f"139{uuid.uuid4().int % 10**8:08d}"
        return self.phones[key]

    def join(self, name: str, *roles: str, merchant_id: str | None = None, community: str | None = None) -> str:
        """An admin registers a member; every service that needs to know them has heard of them."""
        body = {"display_name": name, "phone": self.phone(name), "password": PASSWORD,
                "roles": list(roles or ("resident",)), "grid_id": self.grid, "merchant_id": merchant_id}
        member = self.ok("community", "post", f"/v1/communities/{self.A}/members", self.admin_a, body)["member_id"]
        self.phones[member] = self.phones.pop(name)
        self.roles[member], self.community_of[member] = tuple(body["roles"]), self.A
        if merchant_id:
            self.merchant_of[member] = merchant_id
        ids = [member_account_id(self.A, member, u) for u in ("HOUR", "PT")]
        wait_until(lambda: self.svc["ledger"].db.accounts.count_documents({"_id": {"$in": ids}}) == 2,
                   message=f"ledger accounts of {name}")
        wait_until(lambda: self.svc["settlement"].db.members.find_one({"_id": member}),
                   message=f"settlement knows {name}")
        return member

    def handle_of(self, member: str) -> str:
        """A member's public handle as it stands (the matrix's `PATCH /v1/members/me` rows change the callers')."""
        return self.svc["community"].db.members.find_one({"_id": member})["handle"]

    def token(self, member: str, community: str | None = None, roles=None, merchant_id=None, **kw) -> str:
        community = community or self.community_of.get(member, self.A)
        roles = roles or self.roles.get(member, ("resident",))
        merchant_id = merchant_id or self.merchant_of.get(member)
        config = self.dep.config("community")
        if kw.get("secret"):
            config = dataclasses.replace(config, jwt_secret=kw["secret"])
        return issue_token(config, Principal(member, community, tuple(roles), merchant_id),
                           ttl_seconds=kw.get("ttl"))

    def headers(self, identity: str, call: Call) -> dict:
        """The Authorization header of one identity column for one call."""
        people = {"self": call.self_id or self.alice, "resident": self.bob, "organizer": self.olga,
                  "grid_worker": self.gwen, "admin": self.admin_a, "other_admin": self.admin_b,
                  "staff": self.stan, "other_staff": self.sam}
        if identity == "anonymous":
            return dict(call.headers or {})
        if identity == "expired":
            return {**bearer(self.token(self.alice, ttl=-120)), **(call.headers or {})}
        if identity == "forged":  # an admin token of community A signed with a key that is not the deployment's
            return {**bearer(self.token(self.admin_a, secret="forged-" + uuid.uuid4().hex)), **(call.headers or {})}
        return {**bearer(self.token(people[identity])), **(call.headers or {})}

    # -- calling ----------------------------------------------------------------------------------
    def call(self, service: str, method: str, path: str, who: str | None, body=None, query=None, **headers):
        if who is not None:
            headers = {**bearer(self.token(who)), **headers}
        return getattr(self.svc[service].http, method)(path, json=body, query_string=query, headers=headers)

    def ok(self, service: str, method: str, path: str, who: str | None, body=None, query=None, **headers) -> dict:
        """A setup call that must succeed (marks the world dirty: events may be in flight)."""
        self.dirty = True
        resp = self.call(service, method, path, who, body, query, **headers)
        assert 200 <= resp.status_code < 300, (method, path, resp.status_code, resp.get_json())
        return resp.get_json()

    def window(self, start=timedelta(0), hours=4) -> dict:
        now = datetime.now(timezone.utc)
        return {"window_start": (now + start).isoformat(), "window_end": (now + start + timedelta(hours=hours)).isoformat()}

    # -- money -------------------------------------------------------------------------------------
    def earn(self, member: str, verifier: str) -> None:
        """720 points from an award claim (a high-risk day) that a verifier confirms."""
        claim = self.ok("ledger", "post", "/v1/transfers", member,
                        {"workflow": "award", "unit": "PT", "minutes": 1440, "service_class": "high_risk"})
        self.ok("ledger", "post", f"/v1/transfers/{claim['transfer_id']}/confirm", verifier)

    def bill(self, payee: str, payer: str, amount: int = 5) -> str:
        """A pending HOUR bill: the payee claims time from the payer (who confirms, on mutual credit)."""
        made = self.ok("ledger", "post", "/v1/transfers", payee,
                       {"workflow": "bill", "unit": "HOUR", "counterparty_id": payer, "amount": amount})
        assert made["state"] == "pending", made
        return made["transfer_id"]

    def cross_credit(self, minutes: int = 5) -> str:
        """A pending cross-community gift: B's admin pays alice (of A) `minutes` through the A–B HOUR trust line
        (the ledger has learnt it from exchange.events); alice, in A, confirms."""
        line = f"tl:{self.agreement}:HOUR"
        wait_until(lambda: self.svc["ledger"].db.trust_lines.find_one({"_id": line, "status": "open",
                                                                        "rate_version": {"$gte": 1}}),
                   message=f"the ledger learns {line}")
        made = self.ok("ledger", "post", "/v1/transfers", self.admin_b, {
            "workflow": "credit", "unit": "HOUR", "counterparty_id": self.alice, "counterparty_community": self.A,
            "amount": minutes})
        assert made["state"] == "pending" and made["cross"]["payee_community"] == self.A, made
        return made["transfer_id"]

    def posted_bill(self) -> str:
        """A posted bill from carol to alice."""
        tid = self.bill(self.carol, self.alice)
        self.ok("ledger", "post", f"/v1/transfers/{tid}/confirm", self.alice)
        return tid

    # -- help requests -----------------------------------------------------------------------------
    def post_request(self, requester: str | None = None) -> str:
        return self.ok("requests", "post", "/v1/requests", requester or self.alice,
                       {"category": "errands", "title": "搬东西上楼", "estimated_minutes": 60,
                        **self.window()})["request_id"]

    def request_in(self, state: str, helper: str | None = None) -> tuple[str, str]:
        """A request by alice in `state` (open, accepted, checked_in, checked_out, claimed, completed) and its
        helper (a fresh member id: the commitment limit of three would stop one helper doing them all)."""
        helper = helper or f"helper-{uuid.uuid4().hex[:8]}"
        rid = self.post_request()
        if state == "open":
            return rid, helper
        self.ok("requests", "post", f"/v1/requests/{rid}/accept", helper)
        if state == "accepted":
            return rid, helper
        code = self.ok("requests", "post", f"/v1/requests/{rid}/codes", self.alice)["code"]
        self.ok("requests", "post", f"/v1/requests/{rid}/check-in", helper, {"code": code})
        if state == "checked_in":
            return rid, helper
        code = self.ok("requests", "post", f"/v1/requests/{rid}/codes", self.alice)["code"]
        self.ok("requests", "post", f"/v1/requests/{rid}/check-out", helper, {"code": code})
        if state == "checked_out":
            return rid, helper
        self.ok("requests", "post", f"/v1/requests/{rid}/claim", helper, {"minutes": 1})
        if state == "claimed":
            return rid, helper
        transfer = wait_until(lambda: self.call("requests", "get", f"/v1/requests/{rid}", self.alice)
                              .get_json().get("transfer_id"), message="the claim's transfer")
        self.ok("ledger", "post", f"/v1/transfers/{transfer}/confirm", self.alice)
        wait_until(lambda: self.call("requests", "get", f"/v1/requests/{rid}", self.alice)
                   .get_json()["status"] == "completed", message="the request completed")
        return rid, helper

    def activity(self, start: timedelta) -> str:
        now = datetime.now(timezone.utc)
        return self.ok("requests", "post", "/v1/activities", self.olga, {
            "activity_type": "environment_cleanup", "title": "楼道清洁", "place": "3号楼", "capacity": 50,
            "starts_at": (now + start).isoformat(), "ends_at": (now + start + timedelta(hours=3)).isoformat()}
        )["activity_id"]

    # -- settlement --------------------------------------------------------------------------------
    def redemption(self, complete: bool = False, points: int = 10) -> str:
        """A till redemption at shop 1 for alice, left pending or approved by her in the ledger."""
        rid = self.ok("settlement", "post", f"/v1/merchants/{self.m1}/redemptions", self.stan,
                      {"member_id": self.alice, "points": points, "bill_fen": 100_000})["redemption_id"]
        if complete:
            tid = self.transfer_of(rid)
            self.ok("ledger", "post", f"/v1/transfers/{tid}/confirm", self.alice)
            wait_until(lambda: self.call("settlement", "get", f"/v1/redemptions/{rid}", self.alice)
                       .get_json()["state"] == "completed", message="the redemption completed")
        return rid

    def charge(self, member_id: str | None = None) -> str:
        """A fresh open charge of shop 1: its 收款码 for anyone, or a bill addressed to `member_id`."""
        return self.ok("settlement", "post", f"/v1/merchants/{self.m1}/charges", self.stan,
                       {"bill_fen": 100_000, "memo": "物业费", "member_id": member_id})["charge_id"]

    def ready_to_settle(self) -> None:
        """Shop 1 has a completed redemption waiting and no open batch (one it had is closed)."""
        for open_batch in self.svc["settlement"].db.batches.find({"merchant_id": self.m1, "state": "open"}):
            self.ok("settlement", "post", f"/v1/batches/{open_batch['_id']}/close", self.admin_a)
        self.redemption(complete=True)

    def redemption_transfer(self) -> str:
        """The ledger's pending `redeem` transfer of a fresh till redemption at shop 1 for alice."""
        return self.transfer_of(self.redemption())

    def transfer_of(self, redemption_id: str) -> str:
        """The ledger transfer of a redemption, once settlement has heard of it."""
        return wait_until(lambda: self.call("settlement", "get", f"/v1/redemptions/{redemption_id}", self.alice)
                          .get_json().get("transfer_id"), message="the redemption's transfer")

    def penalty(self) -> str:
        """A fresh noise penalty on alice, issued by her grid worker (what a repair restores)."""
        return self.ok("ledger", "post", "/v1/admin/penalties", self.gwen,
                       {"member_id": self.alice, "reason": "noise"})["penalty_id"]

    def appeal(self) -> str:
        """Alice's open appeal of a fresh penalty her grid worker issued (so the grid worker is its decider)."""
        return self.ok("ledger", "post", "/v1/appeals", self.alice, {"kind": "penalty", "subject_id": self.penalty(),
                                                                     "reason": "那晚我不在家"})["appeal_id"]

    def award_claim(self) -> str:
        """Alice's pending claim of an award (an organizer or grid worker of her community confirms)."""
        return self.ok("ledger", "post", "/v1/transfers", self.alice,
                       {"workflow": "award", "unit": "PT", "minutes": 60})["transfer_id"]

    def batch(self, close: bool = False, acknowledge: bool = False) -> str:
        """A batch of shop 1 holding one completed redemption (the sponsor budget is kept near zero, so a
        closed batch is over budget)."""
        self.ready_to_settle()
        batch = self.ok("settlement", "post", f"/v1/merchants/{self.m1}/batches", self.admin_a, {"close": close})
        if acknowledge:
            assert batch["over_budget"], batch
            self.ok("settlement", "post", f"/v1/batches/{batch['batch_id']}/acknowledge-over-budget", self.admin_a)
        return batch["batch_id"]

    def period(self) -> dict:
        now = datetime.now(timezone.utc)
        return {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}

    # -- partner communities and exchange ---------------------------------------------------------------
    def propose(self, proposer: str, partner: str, units=HOUR_TERMS) -> str:
        """A partner agreement `proposer`'s admin proposes to `partner` (left proposed)."""
        return self.ok("community", "post", "/v1/partners", self.admin_of[proposer], {
            "partner_code": self.codes[partner], "clearing_period": "weekly", "units": units})["agreement_id"]

    def partnership(self, proposer: str, partner: str, units=HOUR_TERMS, *then: tuple[str, str]) -> str:
        """An agreement `partner` accepted, then each (action, community) of `then` (e.g. suspended by one)."""
        agreement = self.propose(proposer, partner, units)
        for action, by in (("accept", partner), *then):
            self.ok("community", "post", f"/v1/partners/{agreement}/{action}", self.admin_of[by])
        return agreement

    def cross_transfer(self, line: str, payer_community: str, payee_community: str, minutes: int = 30) -> None:
        """A cross transfer of `minutes` posted on an HOUR trust line: CrossTransferPosted on ledger.events, as
        the ledger publishes it (the contract in services/exchange/README.md), counted by the exchange."""
        tid = "t_" + uuid.uuid4().hex[:12]
        payer, payee = self.admin_of[payer_community], self.admin_of[payee_community]
        self.dep.publish(topics.LEDGER, "CrossTransferPosted", {
            "transfer_id": tid, "community_id": payer_community, "trust_line_id": line,
            "agreement_id": line.split(":")[1], "unit": "HOUR", "workflow": "credit",
            "payer_community": payer_community, "payee_community": payee_community,
            "payer_id": payer, "payee_id": payee, "debit_amount": minutes, "credit_amount": minutes,
            "payer_point_value_fen": None, "payee_point_value_fen": None, "measure": minutes, "rate_version": 1,
            "debit_account": member_account_id(payer_community, payer, "HOUR"),
            "payer_clearing_account": f"p:{payer_community}:{payee_community}:HOUR",
            "payee_clearing_account": f"p:{payee_community}:{payer_community}:HOUR",
            "credit_account": member_account_id(payee_community, payee, "HOUR"),
            "posted_at": datetime.now(timezone.utc).isoformat()}, tid)
        self.dirty = True
        wait_until(lambda: self.svc["exchange"].db.position_entries.find_one({"_id": tid}), message="the exchange counts the cross transfer")

    # -- federation: requests as the trunkward node makes them (its cc-node, our current head, its signature) --
    def cc_headers(self, method: str, path: str, body: dict | None = None, secret: str | None = None) -> dict:
        """The trunkward node's headers for one /cc/HOUR/ request, at the chain's current head, signed with the
        node secret (or `secret`) over the bytes the test client will send."""
        from services.exchange.federation import TrunkwardNode
        head = self.svc["exchange"].db.cc_nodes.find_one({"_id": "trunkward:HOUR"})["last_hash"]
        signer = TrunkwardNode.graft(at=None, **{**GRAFT, "secret": secret or GRAFT["secret"]})
        raw = b"" if body is None else self.svc["exchange"].app.json.dumps(body).encode()
        return {"cc-node": "trunk", "last-hash": head,
                "cc-signature": signer.signature(method, path.split("/cc/HOUR/", 1)[1], head, raw)}

    def cc_relay_body(self) -> dict:
        """A new transaction from the trunk paying alice (her address: our node path, her community, her handle)."""
        db = self.svc["exchange"].db
        handle = wait_until(lambda: (db.cc_members.find_one({"member_id": self.alice}) or {}).get("handle"),
                            message="alice's handle in the exchange")
        code = db.communities.find_one({"_id": self.A})["code"]
        return {"uuid": str(uuid.uuid4()), "state": "V", "workflow": "_C-", "entries": [
            {"payer": "trunk/elsewhere/x/someone", "payee": f"trunk/authz/{code}/{handle}", "quant": 5,
             "description": "联网转账 authz", "metadata": {}}]}

    def cc_call(self, method: str, path: str, body: dict | None = None, secret: str | None = None) -> Call:
        return Call(path, json=body, headers=self.cc_headers(method, path, body, secret), refusal="application/json")

    def cc_relayed(self) -> str:
        """A transaction relayed by the trunk and validated here (its uuid)."""
        body = self.cc_relay_body()
        path = "/cc/HOUR/transaction/relay"
        resp = self.svc["exchange"].http.post(path, json=body, headers=self.cc_headers("POST", path, body))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return body["uuid"]

    def cc_transfer_of_alice(self) -> str:
        """A transfer alice started to another node (the trunk is unreachable here: it stays new)."""
        return self.ok("exchange", "post", "/v1/federation/transfers", self.alice, {
            "unit": "HOUR", "payee": "trunk/elsewhere/x/someone", "amount": 5})["uuid"]

    def clearing_of(self, line: str, by: str) -> str:
        """A clearing of `line` (one cross transfer from `by`'s community) that `by`'s admin triggered."""
        wait_until(lambda: self.svc["exchange"].db.trust_lines.find_one({"_id": line, "status": "open"}),
                   message=f"the exchange opens {line}")
        doc = self.svc["exchange"].db.trust_lines.find_one({"_id": line})
        self.cross_transfer(line, by, doc["community_b"] if doc["community_a"] == by else doc["community_a"])
        return self.ok("exchange", "post", f"/v1/trust-lines/{line}/clearings", self.admin_of[by])["clearing_id"]

    # -- quiet before a snapshot ----------------------------------------------------------------------
    def quiesce(self) -> None:
        """Wait until every outbox is published and every consumer has applied all it was sent, so the only
        writer left is the call under test."""
        if not self.dirty:
            return
        groups = []
        for name in SERVICES:
            try:
                module = importlib.import_module(f"services.{name}.consumers")
            except ModuleNotFoundError:
                continue
            config = self.svc[name].config
            groups.append((config.topic(module.GROUP), [config.topic(t) for t in module.TOPICS]))

        def drained() -> bool:
            return all(self.svc[n].db.outbox.count_documents({"sent": False}) == 0 for n in SERVICES)
        # Outboxes, then consumers, then outboxes again: an event applied last may have written a new row.
        wait_until(lambda: drained() and all(self._caught_up(*g) for g in groups) and drained(),
                   message="outboxes published and consumers caught up")
        self.dirty = False

    def _caught_up(self, group: str, topic_names: list[str]) -> bool:
        committed = self._kafka.list_group_offsets(group).get(group, {})
        parts = [TopicPartition(t, p) for t in topic_names for p in self._offsets.partitions_for_topic(t) or ()]
        ends = self._offsets.end_offsets(parts)
        return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in parts)

    def snapshot(self) -> dict:
        """Every service database's collections: {"service.collection": content hash} (MongoDB's dbHash: an
        md5 over every document, so any insert, update or delete changes it)."""
        out = {}
        for name in SERVICES:
            for collection, digest in self.svc[name].db.command("dbHash")["collections"].items():
                if collection not in NOT_REQUEST_STATE:
                    out[f"{name}.{collection}"] = digest
        return out

    def close(self) -> None:
        self._kafka.close()
        self._offsets.close()


@pytest.fixture(scope="module")
def world(module_deployment):
    w = World(module_deployment)
    yield w
    w.close()


# -- one factory per operation: real path parameters and a valid body ------------------------------------
def _login(w: World) -> Call:
    people = [w.alice, w.bob, w.carol, w.olga, w.gwen, w.admin_a, w.stan, w.sam]
    # A different account per cell: the per-account login limit (10/minute) is not what this checks.
    return Call("/v1/auth/login", json=lambda identity: {
        "community_code": w.codes[w.A], "phone": w.phones[people[IDENTITIES.index(identity) % len(people)]],
        "password": PASSWORD})


def _new_member_body(w: World) -> Callable[[str], dict]:
    return lambda identity: {"display_name": "新居民", "phone": f"137{uuid.uuid4().int % 10**8:08d}",
                             "password": PASSWORD}


def _import_body(w: World) -> Callable[[str], dict]:
    one = _new_member_body(w)
    return lambda identity: {"rows": [one(identity)]}


def _deactivate(w: World) -> Call:
    victim = w.join(f"leaver-{uuid.uuid4().hex[:4]}")
    return Call(f"/v1/communities/{w.A}/members/{victim}/deactivate", self_id=victim)


def _request(w: World, state: str, verb: str, body=None, helper_acts: bool = False, real_helper=False) -> Call:
    helper = w.join(f"helper-{uuid.uuid4().hex[:4]}") if real_helper else None
    rid, helper = w.request_in(state, helper)
    return Call(f"/v1/requests/{rid}/{verb}", json=body, self_id=helper if helper_acts else None)


def _code_for(w: World, state: str, verb: str) -> Call:
    rid, helper = w.request_in(state)
    code = w.ok("requests", "post", f"/v1/requests/{rid}/codes", w.alice)["code"]
    return Call(f"/v1/requests/{rid}/{verb}", json={"code": code}, self_id=helper)


def _withdraw_offer(w: World) -> Call:
    offer = w.ok("requests", "post", "/v1/offers", w.alice, {"category": "errands", "title": "修自行车", **w.window()})
    return Call(f"/v1/offers/{offer['offer_id']}/withdraw")


def _activity_call(w: World, verb: str, start: timedelta, signed_up: bool = False, body=None) -> Call:
    aid = w.activity(start)
    if signed_up:
        w.ok("requests", "post", f"/v1/activities/{aid}/signup", w.alice)
    return Call(f"/v1/activities/{aid}" + (f"/{verb}" if verb else ""), json=body)


def _resume(w: World, by_partner: bool) -> Call:
    """An active agreement between a fresh community and A, then suspended by A (or by the fresh partner)."""
    partner = w.community()
    agreement = w.partnership(partner, w.A, HOUR_TERMS, ("suspend", partner if by_partner else w.A))
    return Call(f"/v1/partners/{agreement}/resume")


_RULES_DAYS = iter(range(1, 100_000))  # each points-rules version the matrix publishes takes effect a day later


def _future_rules_date() -> str:
    return (datetime(2100, 1, 1, tzinfo=timezone.utc) + timedelta(days=next(_RULES_DAYS))).isoformat()


def _pending_rules(w: World) -> Call:
    """A version of A's points rules that takes effect in the future, so it can still be replaced."""
    when = _future_rules_date()
    version = w.ok("community", "post", f"/v1/communities/{w.A}/points-rules", w.admin_a,
                   {"effective_from": when, "rules": {"hourly_rate": 11}})["version"]
    return Call(f"/v1/communities/{w.A}/points-rules/{version}", json={"effective_from": when,
                                                                       "rules": {"hourly_rate": 13}})


SIMULATION = {"seed": 1, "proposed_rules": {"caps": {"per_day": 100}}, "community": {"households": 100}}


def _simulation(w: World) -> Call:
    """A rules simulation job of A (queued: no scheduler runs in the matrix's world)."""
    job = w.ok("community", "post", f"/v1/communities/{w.A}/points-rules/simulations", w.admin_a, SIMULATION)
    return Call(f"/v1/communities/{w.A}/points-rules/simulations/{job['job_id']}")


def _suggestions(w: World) -> Call:
    path = f"/v1/requests/{w.request}/suggestions"
    wait_until(lambda: w.call("matching", "get", path, w.alice).status_code == 200, message="matching knows it")
    return Call(path)


def _suggested_requests(w: World) -> Call:
    path = f"/v1/members/{w.alice}/suggested-requests"
    wait_until(lambda: w.call("matching", "get", path, w.alice).status_code == 200, message="matching knows alice")
    return Call(path)


def _report_form(grid_id: str) -> dict:
    """A report of a hazard in A's grid (named: the admin and the staff may have none of their own)."""
    return {"report_type": "hazard_report", "text": "井盖松动", "place": "1 栋门口", "grid_id": grid_id,
            "photo": (io.BytesIO(tiny_png()), "p.png", "image/png")}


def _open_report(w: World) -> str:
    w.dirty = True
    resp = w.svc["community"].http.post(f"/v1/communities/{w.A}/reports", data=_report_form(w.grid),
                                        content_type="multipart/form-data", headers=bearer(w.token(w.alice)))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["report_id"]


def _duty(w: World) -> str:
    """Alice's doorstep duty (门前三包), assigned by A's admin; a fresh one each time (another duty name)."""
    duty = w.ok("community", "post", f"/v1/communities/{w.A}/duties", w.admin_a,
                {"member_id": w.alice, "duty": "doorstep_duty"})
    return duty["assignment_id"]
def _request_stats(w: World) -> Call:
    """This month's requests statistics; the grid worker's grid is known to the requests service by then."""
    wait_until(lambda: w.svc["requests"].db.stat_members.find_one({"_id": f"{w.A}:{w.gwen}", "grid_id": w.grid}),
               message="the requests service knows gwen's grid")
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    return Call("/v1/admin/requests/stats", query={"from": month, "to": month})


SCENARIOS: dict[tuple[str, str, str, str], Callable[[World], Call]] = {
    # community
    ("community", "POST", "/v1/communities", ""): lambda w: Call("/v1/communities", json=lambda i: {
        "code": f"x-{uuid.uuid4().hex[:8]}", "name": "新社区", "point_value_fen": 10,
        "admin": {"display_name": "主任", "phone": f"136{uuid.uuid4().int % 10**8:08d}", "password": PASSWORD}}),
    ("community", "GET", "/v1/communities/{community_id}", ""): lambda w: Call(f"/v1/communities/{w.A}"),
    ("community", "PATCH", "/v1/communities/{community_id}", ""): lambda w: Call(f"/v1/communities/{w.A}",
                                                                              json={"name": "社区A"}),
    ("community", "POST", "/v1/communities/{community_id}/grids", ""): lambda w: Call(
        f"/v1/communities/{w.A}/grids", json=lambda i: {"name": f"网格-{uuid.uuid4().hex[:4]}"}),
    ("community", "GET", "/v1/communities/{community_id}/grids", ""): lambda w: Call(f"/v1/communities/{w.A}/grids"),
    ("community", "GET", "/v1/communities/{community_id}/points-rules", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules"),
    ("community", "POST", "/v1/communities/{community_id}/points-rules", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules", json={"effective_from": _future_rules_date(),
                                                      "rules": {"caps": {"per_day": 200}}}),
    ("community", "GET", "/v1/communities/{community_id}/points-rules/current", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules/current"),
    ("community", "GET", "/v1/communities/{community_id}/points-rules/diff", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules/diff", query={"from": 0, "to": 0}),
    ("community", "GET", "/v1/communities/{community_id}/points-rules/{version}", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules/0"),
    ("community", "PUT", "/v1/communities/{community_id}/points-rules/{version}", ""): _pending_rules,
    ("community", "POST", "/v1/communities/{community_id}/points-rules/simulations", ""): lambda w: Call(
        f"/v1/communities/{w.A}/points-rules/simulations", json=SIMULATION),
    ("community", "GET", "/v1/communities/{community_id}/points-rules/simulations/{job_id}", ""): _simulation,
    ("community", "POST", "/v1/communities/{community_id}/members", ""): lambda w: Call(
        f"/v1/communities/{w.A}/members", json=_new_member_body(w)),
    ("community", "POST", "/v1/communities/{community_id}/members/import", ""): lambda w: Call(
        f"/v1/communities/{w.A}/members/import", json=_import_body(w)),
    ("community", "GET", "/v1/communities/{community_id}/members", ""): lambda w: Call(f"/v1/communities/{w.A}/members"),
    ("community", "GET", "/v1/communities/{community_id}/members/{member_id}", ""): lambda w: Call(
        f"/v1/communities/{w.A}/members/{w.alice}"),
    ("community", "PATCH", "/v1/communities/{community_id}/members/{member_id}", ""): lambda w: Call(
        f"/v1/communities/{w.A}/members/{w.alice}", json={"display_name": "alice"}),
    ("community", "POST", "/v1/communities/{community_id}/members/{member_id}/deactivate", ""): _deactivate,
    ("community", "GET", "/v1/members/me", ""): lambda w: Call("/v1/members/me"),
    ("community", "PATCH", "/v1/members/me", ""): lambda w: Call("/v1/members/me", json={"display_name": "邻居"}),
    ("community", "POST", "/v1/auth/login", ""): _login,
    # requests
    ("requests", "POST", "/v1/requests", ""): lambda w: Call("/v1/requests", json=lambda i: {
        "category": "errands", "title": "帮忙买菜", "estimated_minutes": 30, **w.window()}),
    ("requests", "GET", "/v1/requests", ""): lambda w: Call("/v1/requests"),
    ("requests", "GET", "/v1/requests/mine", ""): lambda w: Call("/v1/requests/mine"),
    ("requests", "GET", "/v1/requests/commitments", ""): lambda w: Call("/v1/requests/commitments"),
    ("requests", "GET", "/v1/requests/{request_id}", ""): lambda w: Call(f"/v1/requests/{w.request}"),
    ("requests", "POST", "/v1/requests/{request_id}/accept", ""): lambda w: _request(w, "open", "accept"),
    ("requests", "POST", "/v1/requests/{request_id}/release", ""): lambda w: _request(w, "accepted", "release"),
    ("requests", "POST", "/v1/requests/{request_id}/cancel", ""): lambda w: _request(w, "open", "cancel"),
    ("requests", "POST", "/v1/requests/{request_id}/codes", ""): lambda w: _request(w, "accepted", "codes"),
    ("requests", "POST", "/v1/requests/{request_id}/check-in", ""): lambda w: _code_for(w, "accepted", "check-in"),
    ("requests", "POST", "/v1/requests/{request_id}/check-out", ""): lambda w: _code_for(w, "checked_in", "check-out"),
    ("requests", "POST", "/v1/requests/{request_id}/agree-claim", ""): lambda w: _request(
        w, "checked_in", "agree-claim", {"minutes": 30}),
    ("requests", "POST", "/v1/requests/{request_id}/claim", ""): lambda w: _request(
        w, "checked_out", "claim", {"minutes": 1}, helper_acts=True, real_helper=True),
    ("requests", "POST", "/v1/requests/{request_id}/rating", ""): lambda w: _request(
        w, "completed", "rating", {"stars": 5, "comment": "谢谢"}, real_helper=True),
    ("requests", "GET", "/v1/ratings/received", ""): lambda w: Call("/v1/ratings/received"),
    ("requests", "POST", "/v1/offers", ""): lambda w: Call("/v1/offers", json=lambda i: {
        "category": "errands", "title": "可以帮忙取快递", **w.window()}),
    ("requests", "GET", "/v1/offers", ""): lambda w: Call("/v1/offers"),
    ("requests", "GET", "/v1/offers/{offer_id}", ""): lambda w: Call(f"/v1/offers/{w.offer}"),
    ("requests", "POST", "/v1/offers/{offer_id}/withdraw", ""): _withdraw_offer,
    ("requests", "POST", "/v1/activities", ""): lambda w: Call("/v1/activities", json=lambda i: {
        "activity_type": "environment_cleanup", "title": "捡垃圾", "place": "小广场", "capacity": 10,
        **{k.replace("window_start", "starts_at").replace("window_end", "ends_at"): v
           for k, v in w.window(timedelta(days=1), 2).items()}}),
    ("requests", "GET", "/v1/activities", ""): lambda w: Call("/v1/activities"),
    ("requests", "GET", "/v1/activities/{activity_id}", ""): lambda w: _activity_call(w, "", timedelta(days=1)),
    ("requests", "POST", "/v1/activities/{activity_id}/signup", ""): lambda w: _activity_call(
        w, "signup", timedelta(days=1)),
    ("requests", "POST", "/v1/activities/{activity_id}/withdraw", ""): lambda w: _activity_call(
        w, "withdraw", timedelta(days=1), signed_up=True),
    ("requests", "GET", "/v1/activities/{activity_id}/participants", ""): lambda w: _activity_call(
        w, "participants", timedelta(days=1), signed_up=True),
    ("requests", "POST", "/v1/activities/{activity_id}/attendance", ""): lambda w: _activity_call(
        w, "attendance", -timedelta(hours=1), signed_up=True, body={"member_id": w.alice, "minutes": 60}),
    ("requests", "GET", "/v1/admin/requests/stats", ""): lambda w: _request_stats(w),
    # matching
    ("matching", "GET", "/v1/requests/{request_id}/suggestions", ""): _suggestions,
    ("matching", "GET", "/v1/members/{member_id}/suggested-requests", ""): _suggested_requests,
    # ledger
    ("ledger", "GET", "/v1/balances", ""): lambda w: Call("/v1/balances"),
    ("ledger", "GET", "/v1/entries", ""): lambda w: Call("/v1/entries"),
    ("ledger", "POST", "/v1/transfers", ""): lambda w: Call("/v1/transfers", json={
        "workflow": "bill", "unit": "HOUR", "counterparty_id": w.carol, "amount": 1}),
    ("ledger", "GET", "/v1/transfers/awaiting", ""): lambda w: Call("/v1/transfers/awaiting"),
    ("ledger", "GET", "/v1/transfers/{transfer_id}", ""): lambda w: Call(f"/v1/transfers/{w.bill(w.carol, w.alice)}"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/confirm", ""): lambda w: Call(
        f"/v1/transfers/{w.bill(w.carol, w.alice)}/confirm"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/reject", ""): lambda w: Call(
        f"/v1/transfers/{w.bill(w.carol, w.alice)}/reject", json={"reason": "不认识"}),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/cancel", ""): lambda w: Call(
        f"/v1/transfers/{w.bill(w.alice, w.carol)}/cancel", json={"reason": "转错了"}),
    ("ledger", "POST", "/v1/pay-codes", ""): lambda w: Call("/v1/pay-codes", json={"max_points": 50, "ttl_seconds": 60}),
    ("ledger", "GET", "/v1/admin/accounts/{account_id}/statement", ""): lambda w: Call(
        f"/v1/admin/accounts/{member_account_id(w.A, w.alice, 'PT')}/statement"),
    ("ledger", "GET", "/v1/preferences", ""): lambda w: Call("/v1/preferences"),
    ("ledger", "PUT", "/v1/preferences", ""): lambda w: Call("/v1/preferences", json={"auto_accept_credits": False}),
    ("ledger", "POST", "/v1/admin/accounts/{account_id}/credit-limit", ""): lambda w: Call(
        f"/v1/admin/accounts/{member_account_id(w.A, w.alice, 'HOUR')}/credit-limit", json={"credit_limit": ALICE_HOURS}),
    ("ledger", "POST", "/v1/admin/transfers/{transfer_id}/reverse", ""): lambda w: Call(
        f"/v1/admin/transfers/{w.posted_bill()}/reverse", json={"reason": "录错了"}),
    ("ledger", "GET", "/v1/admin/audit", ""): lambda w: Call("/v1/admin/audit"),
    ("ledger", "GET", "/v1/points", ""): lambda w: Call("/v1/points"),
    ("ledger", "GET", "/v1/admin/members/{member_id}/points", ""): lambda w: Call(
        f"/v1/admin/members/{w.alice}/points"),
    ("ledger", "GET", "/v1/admin/economy/stats", ""): lambda w: Call(
        "/v1/admin/economy/stats?from=2026-01&to=2026-12"),
    ("ledger", "GET", "/v1/admin/economy/stats", "another grid than the grid worker's"): lambda w: Call(
        "/v1/admin/economy/stats?from=2026-01&to=2026-12&grid_id=g_elsewhere"),
    ("ledger", "GET", "/v1/boards", ""): lambda w: Call("/v1/boards?period=month&at=2026-11"),
    ("ledger", "GET", "/v1/public/communities/{community_id}/honour-board", ""): lambda w: Call(
        f"/v1/public/communities/{w.A}/honour-board"),
    ("ledger", "POST", "/v1/admin/penalties", ""): lambda w: Call("/v1/admin/penalties", json={
        "member_id": w.alice, "reason": "noise", "memo": "深夜噪音"}),
    ("ledger", "POST", "/v1/admin/penalties/{penalty_id}/repair", ""): lambda w: Call(
        f"/v1/admin/penalties/{w.penalty()}/repair", json={"points": 1, "memo": "清理楼道"}),
    ("ledger", "POST", "/v1/appeals", ""): lambda w: Call("/v1/appeals", json={
        "kind": "penalty", "subject_id": w.penalty(), "reason": "那晚我不在家"}),
    ("ledger", "GET", "/v1/appeals/mine", ""): lambda w: Call("/v1/appeals/mine"),
    ("ledger", "GET", "/v1/appeals/{appeal_id}", ""): lambda w: Call(f"/v1/appeals/{w.appeal()}"),
    ("ledger", "GET", "/v1/admin/appeals", ""): lambda w: Call("/v1/admin/appeals?status=open"),
    ("ledger", "POST", "/v1/admin/appeals/{appeal_id}/uphold", ""): lambda w: Call(
        f"/v1/admin/appeals/{w.appeal()}/uphold", json={"amount": 1}),
    ("ledger", "POST", "/v1/admin/appeals/{appeal_id}/dismiss", ""): lambda w: Call(
        f"/v1/admin/appeals/{w.appeal()}/dismiss", json={"reason": "巡查记录显示确有噪音"}),
    # settlement
    ("settlement", "POST", "/v1/merchants", ""): lambda w: Call("/v1/merchants", json={"name": "新商家"}),
    ("settlement", "GET", "/v1/merchants", ""): lambda w: Call("/v1/merchants"),
    ("settlement", "GET", "/v1/merchants/{merchant_id}", ""): lambda w: Call(f"/v1/merchants/{w.m1}"),
    ("settlement", "PATCH", "/v1/merchants/{merchant_id}", ""): lambda w: Call(f"/v1/merchants/{w.m1}",
                                                                            json={"address": "3号楼底商"}),
    ("settlement", "POST", "/v1/merchants/{merchant_id}/items", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/items", json={"name": "酱油", "price_points": 10, "stock": 5}),
    ("settlement", "GET", "/v1/merchants/{merchant_id}/items", ""): lambda w: Call(f"/v1/merchants/{w.m1}/items"),
    ("settlement", "GET", "/v1/items/{item_id}", ""): lambda w: Call(f"/v1/items/{w.item}"),
    ("settlement", "PATCH", "/v1/items/{item_id}", ""): lambda w: Call(f"/v1/items/{w.item}", json={"name": "食用油 5L"}),
    ("settlement", "POST", "/v1/items/{item_id}/orders", ""): lambda w: Call(f"/v1/items/{w.item}/orders", json={}),
    ("settlement", "POST", "/v1/merchants/{merchant_id}/redemptions", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/redemptions", json={"member_id": w.alice, "points": 10, "bill_fen": 100_000}),
    ("settlement", "GET", "/v1/merchants/{merchant_id}/redemptions", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/redemptions"),
    ("settlement", "GET", "/v1/members/me/redemptions", ""): lambda w: Call("/v1/members/me/redemptions"),
    ("settlement", "POST", "/v1/merchants/{merchant_id}/charges", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/charges", json={"bill_fen": 100_000, "memo": "鸡蛋 10 枚"}),
    ("settlement", "GET", "/v1/members/me/charges", ""): lambda w: Call("/v1/members/me/charges"),
    ("settlement", "GET", "/v1/charges/{charge_id}", ""): lambda w: Call(f"/v1/charges/{w.charge()}"),
    ("settlement", "POST", "/v1/charges/{charge_id}/pay", ""): lambda w: Call(
        f"/v1/charges/{w.charge()}/pay", json={"points": 10}),
    ("settlement", "GET", "/v1/redemptions/{redemption_id}", ""): lambda w: Call(f"/v1/redemptions/{w.redemption()}"),
    ("settlement", "POST", "/v1/merchants/{merchant_id}/batches", ""): lambda w: (
        w.ready_to_settle() or Call(f"/v1/merchants/{w.m1}/batches", json={"close": True})),
    ("settlement", "GET", "/v1/merchants/{merchant_id}/batches", ""): lambda w: Call(f"/v1/merchants/{w.m1}/batches"),
    ("settlement", "GET", "/v1/batches/{batch_id}", ""): lambda w: Call(f"/v1/batches/{w.batch(close=True)}"),
    ("settlement", "POST", "/v1/batches/{batch_id}/close", ""): lambda w: Call(f"/v1/batches/{w.batch()}/close"),
    ("settlement", "POST", "/v1/batches/{batch_id}/acknowledge-over-budget", ""): lambda w: Call(
        f"/v1/batches/{w.batch(close=True)}/acknowledge-over-budget"),
    ("settlement", "POST", "/v1/batches/{batch_id}/pay", ""): lambda w: Call(
        f"/v1/batches/{w.batch(close=True, acknowledge=True)}/pay", json={"payment_reference": "BANK-1"}),
    ("settlement", "GET", "/v1/batches/{batch_id}/statement", ""): lambda w: Call(
        f"/v1/batches/{w.batch(close=True)}/statement"),
    ("settlement", "GET", "/v1/sponsor-budget", ""): lambda w: Call("/v1/sponsor-budget"),
    ("settlement", "POST", "/v1/sponsor-budget/top-ups", ""): lambda w: Call("/v1/sponsor-budget/top-ups", json={
        "amount_fen": 1, "reference": "街道赞助"}),
    ("settlement", "GET", "/v1/merchants/{merchant_id}/reconciliation", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/reconciliation", query=w.period()),
    ("settlement", "GET", "/v1/merchants/{merchant_id}/report", ""): lambda w: Call(
        f"/v1/merchants/{w.m1}/report", query=w.period()),
    ("settlement", "GET", "/v1/reports/community", ""): lambda w: Call("/v1/reports/community", query=w.period()),
    ("community", "GET", "/v1/directory", ""): lambda w: Call("/v1/directory", query={"ids": f"{w.alice},{w.bob}"}),
    ("community", "GET", "/v1/partners", ""): lambda w: Call("/v1/partners"),
    ("community", "POST", "/v1/partners", ""): lambda w: Call("/v1/partners", json={
        "partner_code": w.codes[w.community()], "clearing_period": "weekly", "units": HOUR_TERMS}),
    ("community", "GET", "/v1/partners/{agreement_id}", ""): lambda w: Call(f"/v1/partners/{w.agreement}"),
    ("community", "POST", "/v1/partners/{agreement_id}/accept", ""): lambda w: Call(
        f"/v1/partners/{w.propose(w.community(), w.A)}/accept"),
    ("community", "POST", "/v1/partners/{agreement_id}/decline", ""): lambda w: Call(
        f"/v1/partners/{w.propose(w.community(), w.A)}/decline"),
    ("community", "POST", "/v1/partners/{agreement_id}/suspend", ""): lambda w: Call(
        f"/v1/partners/{w.partnership(w.community(), w.A)}/suspend"),
    ("community", "POST", "/v1/partners/{agreement_id}/resume", ""): lambda w: _resume(w, by_partner=False),
    ("community", "POST", "/v1/partners/{agreement_id}/end", ""): lambda w: Call(
        f"/v1/partners/{w.partnership(w.community(), w.A)}/end"),
    ("community", "GET", "/v1/partner-members/{partner_code}/{handle}", ""): lambda w: Call(
        f"/v1/partner-members/{w.codes[w.B]}/{w.handle_of(w.admin_b)}"),
    # notifications
    ("notifications", "GET", "/v1/notifications", ""): lambda w: Call("/v1/notifications"),
    ("notifications", "POST", "/v1/notifications/read", ""): lambda w: Call("/v1/notifications/read",
                                                                             json={"all": True}),
    # exchange
    ("exchange", "GET", "/v1/trust-lines", ""): lambda w: Call("/v1/trust-lines"),
    ("exchange", "GET", "/v1/trust-lines/{trust_line_id}", ""): lambda w: Call(f"/v1/trust-lines/{w.line}"),
    ("exchange", "GET", "/v1/trust-lines/{trust_line_id}/quote", ""): lambda w: Call(
        f"/v1/trust-lines/{w.line}/quote", query={"payer_community": w.A, "amount": 60, "stated_by": "payer"}),
    ("exchange", "POST", "/v1/trust-lines/{trust_line_id}/clearings", ""): lambda w: (
        w.cross_transfer(w.line, w.A, w.B) or Call(f"/v1/trust-lines/{w.line}/clearings")),
    ("exchange", "GET", "/v1/clearings", ""): lambda w: Call("/v1/clearings"),
    ("exchange", "GET", "/v1/clearings/{clearing_id}", ""): lambda w: Call(f"/v1/clearings/{w.clearing}"),
    ("exchange", "GET", "/v1/clearings/{clearing_id}/export.csv", ""): lambda w: Call(
        f"/v1/clearings/{w.clearing}/export.csv"),
    ("exchange", "POST", "/v1/federation/nodes", ""): lambda w: Call("/v1/federation/nodes",
                                                                      json={**GRAFT, "unit": "PT"}),
    ("exchange", "GET", "/v1/federation/nodes", ""): lambda w: Call("/v1/federation/nodes"),
    ("exchange", "GET", "/cc/{unit}/", ""): lambda w: Call("/cc/HOUR/", refusal="application/json"),
    ("exchange", "POST", "/v1/federation/transfers", ""): lambda w: Call("/v1/federation/transfers", json={
        "unit": "HOUR", "payee": "trunk/elsewhere/x/someone", "amount": 5}),
    ("exchange", "GET", "/v1/federation/transfers", ""): lambda w: Call("/v1/federation/transfers"),
    ("exchange", "GET", "/v1/federation/transfers/{transfer_id}", ""): lambda w: Call(
        f"/v1/federation/transfers/{w.cc_transfer_of_alice()}"),
    ("exchange", "GET", "/v1/federation/address", ""): lambda w: Call("/v1/federation/address"),
    ("exchange", "POST", "/cc/{unit}/transaction/relay", ""): lambda w: Call(
        "/cc/HOUR/transaction/relay", json=w.cc_relay_body(), refusal="application/json"),
    ("exchange", "PATCH", "/cc/{unit}/transaction/{transfer_id}/{state}", ""): lambda w: Call(
        f"/cc/HOUR/transaction/{w.cc_relayed()}/P", refusal="application/json"),
    ("exchange", "GET", "/cc/{unit}/transaction/{transfer_id}", ""): lambda w: Call(
        f"/cc/HOUR/transaction/{w.cc_relayed()}", refusal="application/json"),
    # extra rows: the same operations on the things where the rules are most precise
    ("community", "GET", "/v1/communities/{community_id}/members/{member_id}", "a member of another community"):
        lambda w: Call(f"/v1/communities/{w.A}/members/{w.admin_b}"),
    ("community", "PATCH", "/v1/communities/{community_id}/members/{member_id}", "a member of another community"):
        lambda w: Call(f"/v1/communities/{w.A}/members/{w.admin_b}", json={"display_name": "改名"}),
    ("community", "POST", "/v1/communities/{community_id}/members/{member_id}/deactivate",
     "a member of another community"): lambda w: Call(f"/v1/communities/{w.A}/members/{w.admin_b}/deactivate"),
    ("ledger", "GET", "/v1/transfers/{transfer_id}", "a till redemption"): lambda w: Call(
        f"/v1/transfers/{w.redemption_transfer()}"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/confirm", "a till redemption"): lambda w: Call(
        f"/v1/transfers/{w.redemption_transfer()}/confirm"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/cancel", "a till redemption"): lambda w: Call(
        f"/v1/transfers/{w.redemption_transfer()}/cancel", json={"reason": "顾客不要了"}),
    ("ledger", "GET", "/v1/transfers/{transfer_id}", "a cross-community transfer"): lambda w: Call(
        f"/v1/transfers/{w.cross_credit()}"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/confirm", "a cross-community transfer"): lambda w: Call(
        f"/v1/transfers/{w.cross_credit()}/confirm"),
    ("ledger", "GET", "/v1/transfers/{transfer_id}", "an award claim"): lambda w: Call(
        f"/v1/transfers/{w.award_claim()}"),
    ("ledger", "POST", "/v1/transfers/{transfer_id}/confirm", "an award claim"): lambda w: Call(
        f"/v1/transfers/{w.award_claim()}/confirm"),
    ("ledger", "POST", "/v1/admin/accounts/{account_id}/credit-limit", "an account of another community"):
        lambda w: Call(f"/v1/admin/accounts/{member_account_id(w.B, w.admin_b, 'HOUR')}/credit-limit",
                       json={"credit_limit": 60}),
    ("settlement", "POST", "/v1/merchants/{merchant_id}/redemptions", "a member of another community"):
        lambda w: Call(f"/v1/merchants/{w.m1}/redemptions",
                       json={"member_id": w.admin_b, "points": 10, "bill_fen": 100_000}),
    ("settlement", "GET", "/v1/charges/{charge_id}", "a bill addressed to alice"): lambda w: Call(
        f"/v1/charges/{w.charge(w.alice)}"),
    ("settlement", "POST", "/v1/charges/{charge_id}/pay", "a bill addressed to alice"): lambda w: Call(
        f"/v1/charges/{w.charge(w.alice)}/pay", json={"points": 10}),
    ("community", "GET", "/v1/directory", "a search by name or handle"): lambda w: Call(
        "/v1/directory", query={"q": "alice"}),
    ("community", "PATCH", "/v1/members/me", "a new handle"): lambda w: Call(
        "/v1/members/me", json=lambda i: {"handle": f"hd_{uuid.uuid4().hex[:8]}"}),
    ("community", "GET", "/v1/partners/{agreement_id}", "an agreement between two other communities"):
        lambda w: Call(f"/v1/partners/{w.bc_agreement}"),
    ("community", "POST", "/v1/partners/{agreement_id}/accept", "my community's own proposal"): lambda w: Call(
        f"/v1/partners/{w.propose(w.A, w.community())}/accept"),
    ("community", "POST", "/v1/partners/{agreement_id}/decline", "my community's own proposal"): lambda w: Call(
        f"/v1/partners/{w.propose(w.A, w.community())}/decline"),
    ("community", "POST", "/v1/partners/{agreement_id}/resume", "suspended by the partner"): lambda w: _resume(
        w, by_partner=True),
    ("community", "POST", "/v1/partners/{agreement_id}/end", "my community's own proposal"): lambda w: Call(
        f"/v1/partners/{w.propose(w.A, w.community())}/end"),
    ("community", "POST", "/v1/partners/{agreement_id}/end", "a proposal to my community"): lambda w: Call(
        f"/v1/partners/{w.propose(w.community(), w.A)}/end"),
    ("community", "GET", "/v1/partner-members/{partner_code}/{handle}", "a community with no active agreement"):
        lambda w: Call(f"/v1/partner-members/{w.codes[w.C]}/{w.handle_of(w.admin_c)}"),
    ("exchange", "GET", "/v1/trust-lines/{trust_line_id}", "a line between two other communities"): lambda w: Call(
        f"/v1/trust-lines/{w.bc_line}"),
    ("exchange", "GET", "/v1/trust-lines/{trust_line_id}/quote", "a line between two other communities"):
        lambda w: Call(f"/v1/trust-lines/{w.bc_line}/quote",
                       query={"payer_community": w.B, "amount": 60, "stated_by": "payer"}),
    ("exchange", "POST", "/v1/trust-lines/{trust_line_id}/clearings", "a line between two other communities"):
        lambda w: w.cross_transfer(w.bc_line, w.B, w.C) or Call(f"/v1/trust-lines/{w.bc_line}/clearings"),
    ("exchange", "GET", "/v1/clearings/{clearing_id}", "a clearing between two other communities"): lambda w: Call(
        f"/v1/clearings/{w.bc_clearing}"),
    ("exchange", "GET", "/v1/clearings/{clearing_id}/export.csv", "a clearing between two other communities"):
        lambda w: Call(f"/v1/clearings/{w.bc_clearing}/export.csv"),
    ("exchange", "GET", "/cc/{unit}/", "the trunkward node's cc-node, last-hash and signature"): lambda w: w.cc_call(
        "GET", "/cc/HOUR/"),
    ("exchange", "GET", "/cc/{unit}/", "the trunkward node's cc-node and a wrong last-hash"): lambda w: Call(
        "/cc/HOUR/", headers={"cc-node": "trunk", "last-hash": "not-our-head"}, refusal="application/json"),
    # grid work: 随手拍 reports (alice reports in A's grid, gwen is its grid worker) and standing duties
    ("community", "POST", "/v1/communities/{community_id}/reports", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports", form=lambda: _report_form(w.grid)),
    ("community", "GET", "/v1/communities/{community_id}/reports/mine", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/mine"),
    ("community", "GET", "/v1/communities/{community_id}/reports/queue", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/queue"),
    ("community", "GET", "/v1/communities/{community_id}/reports/{report_id}", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/{_open_report(w)}"),
    ("community", "GET", "/v1/communities/{community_id}/reports/{report_id}/photo", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/{_open_report(w)}/photo"),
    ("community", "POST", "/v1/communities/{community_id}/reports/{report_id}/verify", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/{_open_report(w)}/verify", json={"major_hazard": False}),
    ("community", "POST", "/v1/communities/{community_id}/reports/{report_id}/dismiss", ""): lambda w: Call(
        f"/v1/communities/{w.A}/reports/{_open_report(w)}/dismiss", json={"reason": "重复上报"}),
    ("community", "POST", "/v1/communities/{community_id}/duties", ""): lambda w: Call(
        f"/v1/communities/{w.A}/duties", json={"member_id": w.alice, "duty": "waste_sorting_watch"}),
    ("community", "GET", "/v1/communities/{community_id}/duties/due", ""): lambda w: Call(
        f"/v1/communities/{w.A}/duties/due"),
    ("community", "POST", "/v1/communities/{community_id}/duties/{assignment_id}/verify", ""): lambda w: Call(
        f"/v1/communities/{w.A}/duties/{_duty(w)}/verify", json={}),
    ("exchange", "POST", "/cc/{unit}/transaction/relay", "the trunkward node's cc-node, last-hash and signature"):
        lambda w: w.cc_call("POST", "/cc/HOUR/transaction/relay", w.cc_relay_body()),
    ("exchange", "POST", "/cc/{unit}/transaction/relay", "the trunkward node's cc-node and last-hash, another secret"):
        lambda w: w.cc_call("POST", "/cc/HOUR/transaction/relay", w.cc_relay_body(), secret="not-the-agreed-secret"),
    ("exchange", "PATCH", "/cc/{unit}/transaction/{transfer_id}/{state}",
     "the trunkward node's cc-node, last-hash and signature"): lambda w: w.cc_call(
        "PATCH", f"/cc/HOUR/transaction/{w.cc_relayed()}/P"),
    ("exchange", "GET", "/cc/{unit}/transaction/{transfer_id}", "the trunkward node's cc-node, last-hash and signature"):
        lambda w: w.cc_call("GET", f"/cc/HOUR/transaction/{w.cc_relayed()}"),
    # points loans: carol borrows a point, 1 % of her later awards repaying it
    ("ledger", "POST", "/v1/admin/loans", ""): lambda w: Call(
        "/v1/admin/loans", json={"member_id": w.carol, "points": 1, "repay_percent": 1}, self_id=w.carol),
    ("ledger", "GET", "/v1/admin/loans", ""): lambda w: Call("/v1/admin/loans"),
    ("ledger", "GET", "/v1/loans/mine", ""): lambda w: Call("/v1/loans/mine"),
}


@pytest.fixture(scope="module")
def scenarios():
    """(service, METHOD, path template, case) → a factory of a concrete call in the world."""
    return SCENARIOS


@pytest.fixture(scope="module")
def identities():
    """The identity columns, in the matrix's order."""
    return IDENTITIES
