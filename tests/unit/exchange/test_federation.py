"""Grafting and the cc-node / last-hash authentication (pure)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import Unprocessable
from services.exchange.federation import (NOT_GRAFTED, CcUnauthorized, TrunkwardNode, authenticate, check_rate,
                                          response_trace)

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def node(**kw) -> TrunkwardNode:
    args = {"unit": "HOUR", "peer_node_path": "trunk", "our_node_path": "trunk/lianhua",
            "url": "http://127.0.0.1:9/cc/HOUR", "rate": "1", "last_hash": "trunk", **kw}
    return TrunkwardNode.graft(at=T0, **args)


def test_a_graft_is_normalised():
    n = node(peer_node_path="/district/", our_node_path="district/lianhua/", rate="0.10")
    assert (n.peer_node_path, n.our_node_path, n.name, n.peer_name) == ("district", "district/lianhua", "lianhua",
                                                                         "district")
    assert n.url == "http://127.0.0.1:9/cc/HOUR/" and n.rate == "0.1"
    assert n.outgoing_headers() == {"cc-node": "lianhua", "last-hash": "trunk", "Content-Type": "application/json"}
    assert node(peer_node_path="trunk/district", our_node_path="trunk/district/lianhua").peer_name == "district"


@pytest.mark.parametrize("kw, code", [
    ({"unit": "EUR"}, "unknown_unit"),
    ({"our_node_path": "elsewhere/lianhua"}, "bad_node_path"),
    ({"our_node_path": "trunk"}, "bad_node_path"),
    ({"our_node_path": "trunk/lian hua"}, "bad_node_path"),
    ({"peer_node_path": ""}, "bad_node_path"),
    ({"url": "ftp://hub/cc/"}, "bad_url"),
    ({"url": "http:///cc"}, "bad_url"),
    ({"rate": "0"}, "bad_rate"),
    ({"rate": "-1"}, "bad_rate"),
    ({"rate": "abc"}, "bad_rate"),
    ({"rate": "NaN"}, "bad_rate"),
    ({"rate": "0.0000000001"}, "bad_rate"),
    ({"last_hash": ""}, "bad_last_hash"),
    ({"last_hash": "a\nb"}, "bad_last_hash"),
])
def test_bad_grafts_are_refused(kw, code):
    with pytest.raises(Unprocessable) as err:
        node(**kw)
    assert err.value.code == code


def test_rates_keep_their_exact_text():
    assert check_rate("1") == "1" and check_rate("0.016666667") == "0.016666667" and check_rate("2.50") == "2.5"


@pytest.mark.parametrize("headers, grafted, message", [
    ({}, True, "cc-node header is required."),
    ({"last-hash": "trunk"}, True, "cc-node header is required."),
    ({"cc-node": "trunk"}, True, "last-hash header is required."),
    ({"cc-node": "trunk", "last-hash": ""}, True, "last-hash header is required."),
    ({"cc-node": "trunk", "last-hash": "trunk"}, False, NOT_GRAFTED),
    ({"cc-node": "branch", "last-hash": "trunk"}, True, 'cc-node "branch" is not our trunkward node.'),
    ({"cc-node": "trunk", "last-hash": "asdf"}, True, 'value of last-hash header "asdf" does not match our records.'),
])
def test_authentication_refusals_in_komunitin_order(headers, grafted, message):
    with pytest.raises(CcUnauthorized) as err:
        authenticate(headers, node() if grafted else None)
    assert err.value.message == message and err.value.status == 401


def test_the_trunkward_node_by_path_or_name():
    below_root = node(peer_node_path="trunk/district", our_node_path="trunk/district/lianhua")
    assert authenticate({"cc-node": "trunk/district", "last-hash": "trunk"}, below_root) is below_root
    assert authenticate({"cc-node": "district", "last-hash": "trunk"}, below_root) is below_root
    assert response_trace("twig>branch>", below_root) == "twig>branch><lianhua"
    assert response_trace(None, below_root) == "<lianhua"
