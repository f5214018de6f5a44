"""Two deployments on loopback, for the federation tests and the federation bench: each one a community with two
residents and its own ledger and exchange in-process (own databases, own topic prefix) on shared Kafka and
MongoDB; the hub's exchange web role can also run as a real gunicorn process (killable with SIGKILL)."""
from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path

import requests

from shared.devstack.ports import free_port
from shared.devstack.process import ChildProcess, process_tree
from shared.testing import Deployment, bearer, wait_until
from services.exchange import ccflow
from services.exchange.cc_client import Client

ROOT = Path(__file__).resolve().parents[3]
OPERATOR = {"X-Operator-Key": "dev-operator-key"}
SECRET = "loopback-node-secret-0123456789"
SEED = "trunk"
UNLIMITED = {"LEDGER_MONEY_RATE_LIMIT": "100000/minute"}
FAST = Client(timeout=(0.5, 5.0), attempts=2)


class Node:
    """One deployment: a community with two residents, its ledger and exchange (in-process)."""

    def __init__(self, infra, name: str, code: str, fen: int):
        self.name, self.code = name, code
        self.dep = Deployment(infra.kafka_bootstrap, infra.mongo_url, name=f"{name}{uuid.uuid4().hex[:6]}")
        self.ledger = self.dep.service("ledger", settings=UNLIMITED)
        self.exchange = self.dep.service("exchange")
        self.cid = f"c_{name}"
        self.dep.publish("community.events", "CommunityCreated", {
            "community_id": self.cid, "code": code, "name": f"{code}社区", "point_value_fen": fen,
            "settings": {}}, self.cid)
        for member in ("ann", "bo"):
            self.dep.publish("community.events", "MemberJoined", {
                "community_id": self.cid, "member_id": f"{name}-{member}", "handle": member, "grid_id": None,
                "roles": ["resident"], "skills": [], "availability": [], "vulnerable": False, "merchant_id": None,
                "status": "active", "joined_at": "2026-01-01T00:00:00+00:00"}, f"{name}-{member}")
        ids = [f"m:{self.cid}:{name}-{m}:{u}" for m in ("ann", "bo") for u in ("HOUR", "PT")]
        wait_until(lambda: self.ledger.db.accounts.count_documents({"_id": {"$in": ids}}) == 4, timeout=90,
                   message=f"{name}: member accounts")
        wait_until(lambda: self.exchange.db.cc_members.count_documents({"community_id": self.cid}) == 2
                   and self.exchange.db.communities.find_one({"code": code}), timeout=90,
                   message=f"{name}: handles in the exchange")
        for member in ("ann", "bo"):  # a credit limit in both units, so residents can pay first
            for unit in ("HOUR", "PT"):
                r = self.ledger.http.post(f"/v1/admin/accounts/m:{self.cid}:{name}-{member}:{unit}/credit-limit",
                                          json={"credit_limit": 1000}, headers=self.h("root", "admin"))
                assert r.status_code == 200, r.json

    def h(self, member: str, *roles: str) -> dict:
        return bearer(self.dep.token(member, self.cid, *(roles or ("resident",))))

    def balance(self, member: str, unit: str) -> int:
        r = self.ledger.http.get("/v1/balances", headers=self.h(f"{self.name}-{member}"))
        assert r.status_code == 200, r.json
        return next(b for b in r.json if b["unit"] == unit)["posted"]

    def pay(self, member: str, unit: str, payee: str, amount: int, memo: str = "互助"):
        return self.exchange.http.post("/v1/federation/transfers", headers=self.h(f"{self.name}-{member}"),
                                       json={"unit": unit, "payee": payee, "amount": amount, "memo": memo})

    def transfer(self, transfer_id: str) -> dict | None:
        return self.exchange.db.cc_transfers.find_one({"_id": transfer_id})

    def node(self, unit: str) -> dict:
        return self.exchange.db.cc_nodes.find_one({"unit": unit})

    def recover(self) -> int:
        return ccflow.recover(self.exchange.runtime, FAST)

    def settle(self, transfer_id: str, final=("completed", "refused", "erased", "timedout")) -> dict:
        """Run this node's recovery (the scheduler's job) until the transfer it started is final."""
        def done():
            self.recover()
            t = self.transfer(transfer_id)
            return t if t and t["state"] in final else None
        return wait_until(done, timeout=60, interval=0.1, message=f"{self.name}: transfer {transfer_id} final")

    def ledger_state(self, transfer_id: str, incoming: bool = False) -> str | None:
        from services.ledger.ids import source_transfer_id
        doc = self.ledger.db.transfers.find_one({"_id": source_transfer_id(f"cc{'-in' if incoming else ''}:"
                                                                            f"{transfer_id}")})
        return doc and doc["state"]

    def audit(self) -> dict:
        r = self.ledger.http.get("/v1/admin/audit", headers=self.h("root", "admin"))
        assert r.status_code == 200, r.json
        return r.json


class HubWeb:
    """The hub's exchange web role as a real gunicorn process on a free loopback port (killable with SIGKILL)."""

    def __init__(self, node: Node, log_dir: Path):
        self.port = free_port()
        config = node.exchange.config
        env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
               "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix,
               "RATE_LIMIT_STORAGE": "memory://", "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "1",
               "PYTHONPATH": str(ROOT)}
        self.env = env
        self.process = ChildProcess("hub-exchange-web", [sys.executable, "-m", "gunicorn", "-c",
                                                         str(ROOT / "shared/gunicorn_conf.py"),
                                                         "services.exchange.app:create_app()"],
                                    log_dir / "hub-exchange-web.log")
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        saved = dict(os.environ)
        os.environ.update(self.env)  # ChildProcess inherits this process's environment
        try:
            self.process.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        wait_until(self._up, timeout=60, message="the hub's exchange web process")

    def _up(self) -> bool:
        self.process.check_alive()
        try:
            return requests.get(self.url + "/openapi.json", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still building the app
            return False

    def kill9(self) -> None:
        """SIGKILL the master and its workers at once (a crash: nothing is cleaned up)."""
        for pid in reversed(process_tree(self.process.pid)):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.stop(timeout=10)


def graft_pair(leaf: Node, hub: Node, hub_url: str, leaf_url: str, hub_net_limit: int = 600,
               units=(("HOUR", "1"), ("PT", "2"))) -> None:
    """leaf grafts onto hub for HOUR (rate 1) and PT (rate 2: a leaf point of 10 fen is two hub points of 5 fen),
    or for the `units` given as (unit, rate) pairs; hub records leaf as its leafward neighbour: the same seed hash,
    the same secret on both sides."""
    for unit, rate in units:
        r = leaf.exchange.http.post("/v1/federation/nodes", headers=OPERATOR, json={
            "unit": unit, "peer_node_path": "hub", "our_node_path": "hub/leaf", "rate": rate,
            "url": f"{hub_url}/cc/{unit}/", "last_hash": SEED, "secret": SECRET, "net_limit": 100_000})
        assert r.status_code == 201, r.json
        r = hub.exchange.http.post("/v1/federation/nodes", headers=OPERATOR, json={
            "unit": unit, "relation": "leafward", "peer_node_path": "hub/leaf", "our_node_path": "hub",
            "rate": "1", "url": f"{leaf_url}/cc/{unit}/", "last_hash": SEED, "secret": SECRET,
            "net_limit": hub_net_limit})
        assert r.status_code == 201, r.json
