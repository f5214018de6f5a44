"""Two deployments on loopback in one test session, each with its own databases and topic prefix, its own ledger and
exchange: `leaf` (lianhua, 10 fen a point) is grafted onto `hub` (taoyuan, 5 fen a point) for HOUR (rate 1) and PT
(rate 2: a lianhua point is two taoyuan points). The hub's exchange web process is a real gunicorn process, so it
can be killed with SIGKILL mid-protocol; everything else runs in-process on the real Kafka and MongoDB.

What a person sees (balances in the ledger's API, the transfer in the exchange's API) and what the data holds (the
protocol state on both nodes, the shared hash chain) are asserted; nothing is timed."""
from __future__ import annotations

import json
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))  # loopback.py beside this file (shared with bench/federation_bench.py)
from loopback import FAST, SEED, HubWeb, Node, graft_pair  # noqa: E402
from shared.testing import serve, wait_until
from services.exchange import hashchain
from services.exchange.cctransfer import Step, from_doc
from services.exchange.repository import node_from_doc


@pytest.fixture(scope="module")
def world(infra, tmp_path_factory):
    leaf = Node(infra, "leaf", "lianhua", 10)
    hub = Node(infra, "hub", "taoyuan", 5)
    web = HubWeb(hub, tmp_path_factory.mktemp("hubweb"))
    web.start()
    try:
        with serve(leaf.exchange.app) as leaf_url:
            graft_pair(leaf, hub, web.url, leaf_url)
            yield {"leaf": leaf, "hub": hub, "web": web}
    finally:
        web.stop()
        leaf.dep.close()
        hub.dep.close()


def heads(world, unit: str) -> tuple[str, str]:
    return world["leaf"].node(unit)["last_hash"], world["hub"].node(unit)["last_hash"]


def test_the_published_hash_vector():
    body = {"uuid": "3d8ebb9f-6a29-42cb-9d39-9ee0a6bf7f1c", "state": "V",
            "entries": [{"quant": 0.01, "description": "test long distance for 3 from leaf"}]}
    assert hashchain.relay_hash("trunk", body) == "196bf56fdf9c2b747a20b8604b7b1f61"


def test_hours_cross_both_ways_completed_on_both_nodes(world):
    leaf, hub = world["leaf"], world["hub"]
    before = (leaf.balance("ann", "HOUR"), hub.balance("bo", "HOUR"))
    r = leaf.pay("ann", "HOUR", "hub/taoyuan/bo", 90, "修水管 plumbing")
    assert r.status_code == 202, r.json
    assert r.json["state"] == "validated" and r.json["payee"] == "hub/taoyuan/bo"
    assert r.json["payer"] == "hub/leaf/lianhua/ann" and r.json["quant"] == 90
    tid = r.json["uuid"]
    assert hub.transfer(tid)["state"] == "validated"  # validated remotely; the hub's ledger has nothing yet
    assert hub.ledger_state(tid, incoming=True) is None
    done = leaf.settle(tid)
    assert done["state"] == "completed" and hub.transfer(tid)["state"] == "completed"
    wait_until(lambda: leaf.ledger_state(tid) == "posted" and hub.ledger_state(tid, True) == "posted",
               message="both ledgers posted")
    assert (leaf.balance("ann", "HOUR"), hub.balance("bo", "HOUR")) == (before[0] - 90, before[1] + 90)
    # The resident sees it where it stands.
    seen = leaf.exchange.http.get(f"/v1/federation/transfers/{tid}", headers=leaf.h("leaf-ann"))
    assert seen.status_code == 200 and seen.json["state"] == "completed" and seen.json["amount"] == 90
    # Both nodes advanced the shared chain by the same steps (V, P, C).
    lh, hh = heads(world, "HOUR")
    assert lh == hh != SEED
    # Back the other way: hub's bo pays leaf's ann 45 minutes (the hub relays leafward; rate 1).
    r = hub.pay("bo", "HOUR", "hub/leaf/lianhua/ann", 45)
    assert r.status_code == 202, r.json
    back = hub.settle(r.json["uuid"])
    assert back["state"] == "completed" and leaf.transfer(back["_id"])["state"] == "completed"
    wait_until(lambda: leaf.ledger_state(back["_id"], True) == "posted" and hub.ledger_state(back["_id"]) == "posted",
               message="both ledgers posted the way back")
    assert (leaf.balance("ann", "HOUR"), hub.balance("bo", "HOUR")) == (before[0] - 45, before[1] + 45)
    assert heads(world, "HOUR")[0] == heads(world, "HOUR")[1]
    # Positions: leaf's members paid out 90 and received 45.
    assert (leaf.node("HOUR")["net"], hub.node("HOUR")["net"]) == (45, -45)
    for node in (leaf, hub):
        audit = node.audit()
        assert audit["ok"] is True, audit


def test_points_cross_both_ways_with_exact_conversion(world):
    leaf, hub = world["leaf"], world["hub"]
    before = (leaf.balance("bo", "PT"), hub.balance("ann", "PT"))
    # 7 lianhua points (70 fen) = 14 taoyuan points on the wire and at the hub.
    r = leaf.pay("bo", "PT", "hub/taoyuan/ann", 7)
    assert r.status_code == 202 and r.json["quant"] == 14, r.json
    leaf.settle(r.json["uuid"])
    assert hub.transfer(r.json["uuid"])["amount"] == 14
    # 15 taoyuan points (75 fen) reach lianhua as 7 points (7.5 rounded down, against the payee).
    r2 = hub.pay("ann", "PT", "hub/leaf/lianhua/bo", 15)
    assert r2.status_code == 202 and r2.json["quant"] == 15, r2.json
    hub.settle(r2.json["uuid"])
    assert leaf.transfer(r2.json["uuid"])["amount"] == 7
    wait_until(lambda: hub.ledger_state(r2.json["uuid"]) == "posted" and leaf.ledger_state(r2.json["uuid"], True)
               == "posted" and leaf.ledger_state(r.json["uuid"]) == "posted", message="PT posted on both")
    assert (leaf.balance("bo", "PT"), hub.balance("ann", "PT")) == (before[0] - 7 + 7, before[1] + 14 - 15)
    assert heads(world, "PT")[0] == heads(world, "PT")[1]


def test_the_remote_limit_refuses_and_nothing_moves_here(world):
    leaf, hub = world["leaf"], world["hub"]
    before = (leaf.balance("ann", "HOUR"), leaf.node("HOUR"), hub.node("HOUR"))
    ledger_transfers = leaf.ledger.db.transfers.count_documents({})
    # The hub lets leaf's members bring in at most 600 minutes net: 700 is refused there.
    r = leaf.pay("ann", "HOUR", "hub/taoyuan/bo", 700)
    assert r.status_code == 422 and r.json["code"] == "cc_refused", r.json
    assert "net limit" in r.json["detail"]
    t = leaf.transfer(r.json["uuid"])
    assert t["state"] == "refused" and hub.transfer(r.json["uuid"]) is None
    assert leaf.balance("ann", "HOUR") == before[0]
    assert leaf.ledger.db.transfers.count_documents({}) == ledger_transfers  # nothing reached the ledger
    after = (leaf.node("HOUR"), hub.node("HOUR"))
    for was, now in zip(before[1:], after):
        assert (now["last_hash"], now["net"], now["pending_out"], now["pending_in"]) == \
            (was["last_hash"], was["net"], was["pending_out"], was["pending_in"])


def test_a_wrong_last_hash_or_secret_is_refused_without_side_effects(world):
    leaf, hub, web = world["leaf"], world["hub"], world["web"]
    node = hub.exchange.db.cc_nodes.find_one({"unit": "HOUR"})
    mine = node_from_doc(leaf.node("HOUR"))
    body = {"uuid": str(uuid.uuid4()), "state": "V", "workflow": "_C-", "entries": [
        {"payer": "hub/leaf/lianhua/ann", "payee": "hub/taoyuan/bo", "quant": 5, "description": "x", "metadata": {}}]}
    raw = json.dumps(body).encode()

    def post(last_hash: str, secret_node) -> requests.Response:
        headers = {**mine.outgoing_headers(last_hash),
                   "cc-signature": secret_node.signature("POST", "transaction/relay", last_hash, raw)}
        return requests.post(f"{web.url}/cc/HOUR/transaction/relay", data=raw, headers=headers, timeout=5)

    snapshot = lambda: (sorted(map(str, hub.exchange.db.cc_transfers.find())), str(hub.node("HOUR")))  # noqa: E731
    before = snapshot()
    wrong_hash = post("0" * 32, mine)
    assert wrong_hash.status_code == 401 and wrong_hash.headers["Content-Type"] == "application/json"
    assert wrong_hash.json()["errors"] == [f'value of last-hash header "{"0" * 32}" does not match our records.']
    wrong_secret = post(node["last_hash"], replace(mine, secret="another-secret-0123456789"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["errors"] == ["cc-signature 请求头与节点密钥不符。 "
                                        "cc-signature header does not match the node secret."]
    assert snapshot() == before
    # With the right head and secret the same request is taken (and then erased by its sender's rules: here we
    # only check it was accepted, so erase it to leave the chain in step for the next tests).
    ok = post(node["last_hash"], mine)
    assert ok.status_code == 200, ok.text
    # Keep the leaf's head in step: it is the same step the hub made.
    leaf.exchange.db.cc_nodes.update_one({"_id": mine.node_id}, {"$set": {
        "last_hash": hashchain.relay_hash(node["last_hash"], body)}})
    assert heads(world, "HOUR")[0] == heads(world, "HOUR")[1]


def test_hub_killed_between_validate_and_complete_ends_completed_on_both(world):
    leaf, hub, web = world["leaf"], world["hub"], world["web"]
    before = (leaf.balance("bo", "HOUR"), hub.balance("ann", "HOUR"))
    r = leaf.pay("bo", "HOUR", "hub/taoyuan/ann", 30)
    assert r.status_code == 202 and r.json["state"] == "validated", r.json
    tid = r.json["uuid"]
    # The leaf's ledger holds bo's 30 minutes; the next step (pending at the hub) is due.
    wait_until(lambda: leaf.transfer(tid)["state"] == "held", message="the leaf's ledger held the funds")
    web.kill9()
    leaf.recover()  # the hub is down: the step stays, stored with the head it is sent at
    t = leaf.transfer(tid)
    assert t["state"] == "held" and t["step"]["state"] == "P" and t["step"]["prev"] is not None
    assert hub.transfer(tid)["state"] == "validated" and leaf.ledger_state(tid) == "pending"
    web.start()  # restarted on the same database
    done = leaf.settle(tid)
    assert done["state"] == "completed" and hub.transfer(tid)["state"] == "completed"
    wait_until(lambda: leaf.ledger_state(tid) == "posted" and hub.ledger_state(tid, True) == "posted",
               message="both ledgers posted after the restart")
    assert (leaf.balance("bo", "HOUR"), hub.balance("ann", "HOUR")) == (before[0] - 30, before[1] + 30)
    assert heads(world, "HOUR")[0] == heads(world, "HOUR")[1]


def test_a_lost_answer_is_replayed_and_credits_once(world):
    """The hub applied C but the leaf never heard (its answer lost): the leaf repeats C at the old head, the hub
    answers the same without crediting again."""
    leaf, hub = world["leaf"], world["hub"]
    before = hub.balance("bo", "HOUR")
    r = leaf.pay("ann", "HOUR", "hub/taoyuan/bo", 20)
    tid = r.json["uuid"]
    wait_until(lambda: leaf.transfer(tid)["state"] == "held", message="held")
    leaf.recover()  # P
    assert leaf.transfer(tid)["state"] == "pending" and leaf.transfer(tid)["step"]["state"] == "C"
    # Send C ourselves at the leaf's head and drop the answer (the leaf does not record it).
    t = from_doc(leaf.transfer(tid))
    node = node_from_doc(leaf.node("HOUR"))
    lost = FAST.send(node, replace(t, step=Step("C", node.last_hash)))
    assert lost.ok and hub.transfer(tid)["state"] == "completed"
    done = leaf.settle(tid)  # the recovery repeats C at the old head: answered as a replay
    assert done["state"] == "completed"
    wait_until(lambda: hub.ledger_state(tid, True) == "posted" and leaf.ledger_state(tid) == "posted",
               message="posted once on both")
    assert hub.balance("bo", "HOUR") == before + 20
    assert hub.ledger.db.transfers.count_documents({"reference.id": tid}) == 1
    assert heads(world, "HOUR")[0] == heads(world, "HOUR")[1]


def test_both_nodes_starting_at_once_keep_one_chain(world):
    """A leaf resident and a hub resident pay each other at the same moment: each node refuses (503, retried) the
    other's step while its own is in flight, so the chain moves one step at a time and ends the same on both."""
    import threading
    leaf, hub = world["leaf"], world["hub"]
    before = (leaf.balance("ann", "HOUR"), hub.balance("ann", "HOUR"))
    answers = {}
    go = threading.Barrier(2)

    def pay(name, node, address):
        go.wait()
        answers[name] = node.pay("ann", "HOUR", address, 10)

    threads = [threading.Thread(target=pay, args=("leaf", leaf, "hub/taoyuan/ann")),
               threading.Thread(target=pay, args=("hub", hub, "hub/leaf/lianhua/ann"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status_code == 202 for a in answers.values()), {k: a.json for k, a in answers.items()}
    mine, theirs = answers["leaf"].json["uuid"], answers["hub"].json["uuid"]

    def both_done():
        leaf.recover()
        hub.recover()
        return all((n.transfer(u) or {}).get("state") == "completed" for n in (leaf, hub) for u in (mine, theirs))
    wait_until(both_done, timeout=90, interval=0.1, message="both transfers completed on both nodes")
    wait_until(lambda: leaf.ledger_state(mine) == "posted" and hub.ledger_state(mine, True) == "posted"
               and hub.ledger_state(theirs) == "posted" and leaf.ledger_state(theirs, True) == "posted",
               message="all four ledger moves posted")
    assert (leaf.balance("ann", "HOUR"), hub.balance("ann", "HOUR")) == before  # 10 each way
    assert heads(world, "HOUR")[0] == heads(world, "HOUR")[1]
