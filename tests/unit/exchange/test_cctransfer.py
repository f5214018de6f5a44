"""Transfers between deployments, pure: conversion on the wire, the node secret, the states and the chain steps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.errors import Conflict, Unprocessable
from services.exchange import cctransfer, hashchain
from services.exchange.ccflow import local_part
from services.exchange.cctransfer import CcTransfer, Step, from_doc, relay_body, to_doc
from services.exchange.federation import CcUnauthorized, TrunkwardNode, authenticate

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
SECRET = "a-secret-both-operators-set"


def node(**kw) -> TrunkwardNode:
    args = {"unit": "PT", "peer_node_path": "hub", "our_node_path": "hub/leaf", "url": "http://127.0.0.1:9/cc/PT",
            "rate": "2", "last_hash": "trunk", "secret": SECRET, "net_limit": 600, **kw}
    return TrunkwardNode.graft(at=T0, **args)


def transfer(**kw) -> CcTransfer:
    body = relay_body("3d8ebb9f-6a29-42cb-9d39-9ee0a6bf7f1c", "hub/leaf/lianhua/ann", "hub/taoyuan/bo",
                      Decimal("0.01"), "test long distance for 3 from leaf")
    values = {"uuid": body["uuid"], "direction": "out", "unit": "HOUR", "neighbour_id": "trunkward:HOUR",
              "community_id": "c1", "member_id": "m1", "amount": 1, "body": body, "state": "new", "created_at": T0,
              "step": Step("V")}
    return CcTransfer(**{**values, **kw})


def test_quantities_convert_exactly_and_round_against_the_payee():
    leaf = node()
    assert leaf.to_wire(7) == Decimal(14)  # 7 points of 10 fen = 14 points of 5 fen on the wire
    assert leaf.from_wire(15) == 7  # 15 hub points reach the leaf as 7 (7.5 rounded down)
    assert leaf.from_wire(0.5) == 0
    assert node(rate="0.1").to_wire(3) == Decimal("0.3")
    hub = node(relation="leafward", peer_node_path="hub/leaf", our_node_path="hub", rate="1")
    assert hub.to_wire(15) == 15 and hub.from_wire(14) == 14 and hub.from_wire(14.9) == 14
    assert (hub.node_id, leaf.node_id) == ("leafward:PT:leaf", "trunkward:PT")


def test_the_relay_body_prints_numbers_as_the_protocol_hashes_them():
    t = transfer()
    assert t.body["entries"][0]["quant"] == 0.01 and "version" not in t.body
    # The published vector comes out of the body we send.
    assert t.chain_hash("trunk", "V") == "196bf56fdf9c2b747a20b8604b7b1f61"
    assert relay_body(t.uuid, "a/b/c", "d/e/f", Decimal(14), "x")["entries"][0]["quant"] == 14
    assert isinstance(relay_body(t.uuid, "a/b/c", "d/e/f", Decimal(14), "x")["entries"][0]["quant"], int)


def test_state_changes_hash_the_letter_and_the_next_version():
    t = transfer(state="validated", step=None)
    assert t.chain_hash("h0", "P") == hashchain.next_hash("h0", t.uuid, "P", t.entries, 1)
    moved = t.moved("pending", T0)
    assert moved.version == 1 and moved.chain_hash("h1", "C") == hashchain.next_hash("h1", t.uuid, "C", t.entries, 2)


def test_the_initiator_walks_validated_held_pending_completed():
    t = transfer(step=Step("V", "trunk"))
    v = t.acknowledged(T0)
    assert (v.state, v.version, v.step) == ("validated", 0, None)
    held = v.next_after_hold(T0 + timedelta(seconds=1))
    assert (held.state, held.step) == ("held", Step("P"))
    p = held.__class__(**{**held.__dict__, "step": Step("P", "h1")}).acknowledged(T0).after_pending()
    assert (p.state, p.version, p.step) == ("pending", 1, Step("C"))
    c = p.__class__(**{**p.__dict__, "step": Step("C", "h2")}).acknowledged(T0)
    assert (c.state, c.version, c.step) == ("completed", 2, None)


def test_a_hold_past_the_deadline_times_out_and_a_refused_hold_erases():
    v = transfer(state="validated", step=None)
    assert v.next_after_hold(T0 + cctransfer.DEADLINE).step == Step("T")
    refused = v.refused_locally("insufficient_funds", T0)
    assert (refused.state, refused.step, refused.reason) == ("refusing", Step("E"), "insufficient_funds")
    assert transfer(state="completed", step=None).refused_locally("x", T0).state == "completed"


def test_the_neighbour_allows_only_forward_moves_and_repeats():
    v = transfer(direction="in", state="validated", step=None)
    assert v.check_move("P") and v.check_move("E") and v.check_move("T")
    assert not v.check_move("V")  # a repeat
    with pytest.raises(Conflict):
        v.check_move("C")  # not before pending
    with pytest.raises(Conflict):
        transfer(direction="in", state="completed", step=None).check_move("E")
    with pytest.raises(Unprocessable):
        cctransfer.letter("Q")
    assert cctransfer.letter("completed") == "C"


def test_documents_round_trip():
    t = transfer(step=Step("P", "h"), history=({"state": "new", "at": T0},))
    assert from_doc(to_doc(t)) == t


def test_the_node_secret_signs_method_path_head_and_body():
    n = node()
    good = {"cc-node": "hub", "last-hash": "trunk"}
    good["cc-signature"] = n.signature("POST", "transaction/relay", "trunk", b'{"a":1}')
    n.check_signature(good, "POST", "transaction/relay", b'{"a":1}')
    for method, path, body in (("POST", "transaction/relay", b'{"a":2}'), ("PATCH", "transaction/relay", b'{"a":1}'),
                               ("POST", "transaction/x", b'{"a":1}')):
        with pytest.raises(CcUnauthorized, match="cc-signature"):
            n.check_signature(good, method, path, body)
    other = TrunkwardNode(**{**n.__dict__, "secret": "another-secret-of-16+"})
    with pytest.raises(CcUnauthorized):
        other.check_signature(good, "POST", "transaction/relay", b'{"a":1}')
    with pytest.raises(Unprocessable):
        node(secret="short")


def test_a_neighbour_is_found_by_name_and_a_repeat_may_come_at_the_previous_head():
    hub_side = [node(relation="leafward", peer_node_path="hub/leaf", our_node_path="hub", rate="1", last_hash="h2")]
    headers = {"cc-node": "leaf", "last-hash": "h1"}
    with pytest.raises(CcUnauthorized, match="does not match"):
        authenticate(headers, hub_side)
    assert authenticate(headers, hub_side, replay_of="h1").peer_name == "leaf"
    with pytest.raises(CcUnauthorized, match="not our trunkward node"):
        authenticate({"cc-node": "other", "last-hash": "h2"}, hub_side)


def test_headroom_counts_transfers_under_way():
    n = node(net_limit=600)
    assert n.headroom("out") == 600 and n.headroom("in") == 600
    busy = TrunkwardNode(**{**n.__dict__, "net": 100, "pending_out": 50, "pending_in": 30})
    assert busy.headroom("out") == 450 and busy.headroom("in") == 670


def test_local_addresses_are_exactly_two_segments_below_the_node():
    assert local_part("hub/taoyuan/bo", "hub") == ["taoyuan", "bo"]
    assert local_part("hub/leaf/lianhua/ann", "hub") is None  # a leafward node's resident
    assert local_part("other/taoyuan/bo", "hub") is None
    assert local_part("hub/taoyuan/", "hub") is None
