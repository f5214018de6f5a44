"""The exchange consumer on its own, fed contract-shaped events in an awkward order and twice: an agreement
accepted before the exchange has heard of the communities, redelivered events, a community's later change."""
from __future__ import annotations

import uuid

from shared import topics
from shared.testing import wait_until


def _community(dep, cid: str, fen: int, type_: str = "CommunityCreated") -> str:
    return dep.publish(topics.COMMUNITY, type_, {
        "community_id": cid, "code": cid[-6:], "name": "社区", "point_value_fen": fen,
        "settings": {"timezone": "Asia/Shanghai"}}, cid).id


def _agreement(dep, type_: str, aid: str, a: str, b: str, state: str, event_id: str | None = None) -> str:
    return dep.publish(topics.COMMUNITY, type_, {
        "agreement_id": aid, "community_id": b, "action": "accept", "proposer_id": a, "partner_id": b,
        "units": [{"unit": "PT", "net_limit": 900, "rate_basis": "point_value_fen", "limit_measure": "fen"}],
        "clearing_period": "daily", "state": state, "suspended_by": None, "at": None}, aid, event_id).id


def test_rates_follow_whenever_the_point_values_arrive(deployment):
    exchange = deployment.service("exchange")
    a, b, aid = "c_" + uuid.uuid4().hex[:8], "c_" + uuid.uuid4().hex[:8], "pa_" + uuid.uuid4().hex[:8]
    tl = f"tl:{aid}:PT"
    accepted = _agreement(deployment, "PartnerAgreementAccepted", aid, a, b, "active")
    _agreement(deployment, "PartnerAgreementAccepted", aid, a, b, "active", event_id=accepted)  # redelivered
    line = wait_until(lambda: exchange.db.trust_lines.find_one({"_id": tl}), message="line opened")
    assert line["status"] == "open" and line["rate_version"] == 0  # no point values yet: no rate
    _community(deployment, a, 10)
    _community(deployment, b, 4)
    line = wait_until(lambda: exchange.db.trust_lines.find_one({"_id": tl, "rate_version": 1}), message="rate")
    assert (line["a_point_value_fen"], line["b_point_value_fen"]) == (10, 4)
    _community(deployment, b, 4, "CommunityUpdated")  # same value: no new rate
    last = _community(deployment, b, 5, "CommunityUpdated")
    wait_until(lambda: exchange.db.processed_events.find_one({"_id": last}), message="update applied")
    assert exchange.db.trust_lines.find_one({"_id": tl})["rate_version"] == 2
    opened = deployment.events(topics.EXCHANGE, "TrustLineOpened", key=tl)
    rates = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(
        deployment.events(topics.EXCHANGE, "RateChanged", key=tl)), message="two rates")
    assert len(opened) == 1
    assert [(r["payload"]["rate_version"], r["payload"]["b_point_value_fen"]) for r in rates] == [(1, 4), (2, 5)]
