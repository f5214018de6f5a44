"""A resident's own address (GET /v1/federation/address) on two deployments on loopback (real Kafka and MongoDB):
nothing before this deployment is grafted, `<node path>/<community code>/<handle>` per grafted unit after, 422
cc_member_unknown while the exchange has not heard a member's handle, and the address shown is one the other
deployment's resident can pay."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # loopback.py beside this file
from loopback import Node, graft_pair  # noqa: E402
from shared.testing import serve, wait_until


@pytest.fixture(scope="module")
def pair(infra):
    leaf = Node(infra, "leaf", "lianhua", 10)
    hub = Node(infra, "hub", "taoyuan", 5)
    try:
        yield leaf, hub
    finally:
        leaf.dep.close()
        hub.dep.close()


def address(node: Node, member: str):
    return node.exchange.http.get("/v1/federation/address", headers=node.h(member))


def test_no_address_before_grafting_then_one_per_unit_that_the_other_side_pays(pair):
    leaf, hub = pair
    r = address(leaf, "leaf-ann")
    assert r.status_code == 200 and r.json == []  # not federated: nothing to show (not an error)

    with serve(leaf.exchange.app) as leaf_url, serve(hub.exchange.app) as hub_url:
        graft_pair(leaf, hub, hub_url, leaf_url, units=(("HOUR", "1"),))
        r = address(leaf, "leaf-ann")
        assert r.status_code == 200, r.json
        assert r.json == [{"unit": "HOUR", "address": "hub/leaf/lianhua/ann", "node_path": "hub/leaf",
                           "community_code": "lianhua", "handle": "ann"}]
        r = address(hub, "hub-bo")  # the hub's own residents sit at its own path (it has only a leafward graft)
        assert r.status_code == 200 and [a["address"] for a in r.json] == ["hub/taoyuan/bo"]

        # The address shown is the one the other deployment pays: bo on the hub pays ann on the leaf by it.
        before = leaf.balance("ann", "HOUR")
        r = hub.pay("bo", "HOUR", address(leaf, "leaf-ann").json[0]["address"], 30, "谢谢 thanks")
        assert r.status_code == 202, r.json
        assert r.json["payee"] == "hub/leaf/lianhua/ann" and r.json["payer"] == "hub/taoyuan/bo"
        assert hub.settle(r.json["uuid"])["state"] == "completed"
        wait_until(lambda: leaf.balance("ann", "HOUR") == before + 30, timeout=60, message="ann credited")

        # A second graft for PT adds the PT address, in the order of the units.
        graft_pair(leaf, hub, hub_url, leaf_url, units=(("PT", "2"),))
        assert [(a["unit"], a["address"]) for a in address(leaf, "leaf-ann").json] == [
            ("HOUR", "hub/leaf/lianhua/ann"), ("PT", "hub/leaf/lianhua/ann")]


def test_a_member_whose_handle_is_not_known_yet_gets_a_clear_422(pair):
    leaf, _ = pair
    if not leaf.node("HOUR"):  # run alone: graft the leaf only (its address needs no live peer)
        graft_pair(leaf, pair[1], "http://127.0.0.1:9", "http://127.0.0.1:9", units=(("HOUR", "1"),))
    r = address(leaf, "leaf-nobody")  # a token for a member the exchange never heard of
    assert r.status_code == 422, r.json
    assert r.json["code"] == "cc_member_unknown" and r.mimetype == "application/problem+json"
    assert "请稍后再试" in r.json["detail"] and "try again" in r.json["detail"]
    assert leaf.exchange.db.cc_members.count_documents({"member_id": "leaf-nobody"}) == 0  # a read changes nothing
