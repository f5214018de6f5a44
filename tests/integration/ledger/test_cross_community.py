"""Cross-community transfers in one deployment on the real stack: the community service (two communities, a
partner agreement proposed and accepted), the exchange service (trust lines, rates, positions, clearing) and the
ledger (its read of exchange.events, cross transfers, CrossTransferPosted, clearing transfers), all with their
relays and consumers on the real Kafka and MongoDB."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from shared import topics
from shared.mongo import utcnow
from shared.testing import wait_until
from services.ledger.audit import run_audit
from services.ledger.scheduler import expire_due
from tests.integration.exchange.test_exchange import _community
PT_LIMIT = 500  # fen
HOUR_LIMIT = 600  # minutes


@pytest.fixture(scope="module")
def world(kit):
    dep = kit.dep
    community = dep.service("community")
    exchange = dep.service("exchange")
    a = _community(community.http, "lianhua", 10, "13800000301")  # A: 10 fen a point
    b = _community(community.http, "taoyuan", 5, "13800000302")  # B: 5 fen a point
    proposed = community.http.post("/v1/partners", headers=a["admin"], json={
        "partner_code": "taoyuan", "clearing_period": "weekly",
        "units": [{"unit": "HOUR", "net_limit": HOUR_LIMIT}, {"unit": "PT", "net_limit": PT_LIMIT}]})
    assert proposed.status_code == 201, proposed.json
    aid = proposed.json["agreement_id"]
    accepted = community.http.post(f"/v1/partners/{aid}/accept", headers=b["admin"])
    assert accepted.status_code == 200, accepted.json
    A, B = a["cid"], b["cid"]
    kit.join(A, "ann", "amy")
    kit.join(B, "bob", "ben")
    kit.grant(f"m:{A}:ann:PT", A, 200)  # a points loan, so ann can pay
    kit.grant(f"m:{B}:bob:PT", B, 200)
    w = {"kit": kit, "dep": dep, "community": community, "exchange": exchange, "A": A, "B": B, "a": a, "b": b,
         "aid": aid, "pt": f"tl:{aid}:PT", "hour": f"tl:{aid}:HOUR"}
    for tl in (w["pt"], w["hour"]):  # the ledger has learnt both lines and their rates
        wait_until(lambda tl=tl: (d := kit.db.trust_lines.find_one({"_id": tl})) and d.get("rate_version", 0) >= 1
                   and d.get("status") == "open", timeout=60, message=f"ledger's {tl}")
    return w


def pay(w, workflow, unit, amount, who, where, to, there, expect=201):
    r = w["kit"].transfer(who, w[where], workflow=workflow, unit=unit, amount=amount, counterparty_id=to,
                          counterparty_community=w[there])
    assert r.status_code == expect, r.json
    return r.json


def act(w, verb, t, who, where, expect=200, **body):
    r = w["kit"].act(verb, t["transfer_id"], who, w[where], **body)
    assert r.status_code == expect, r.json
    return r.json


def posted(w, member, where, unit) -> int:
    return w["kit"].balance(member, w[where], unit)["posted"]


def ledger_net(w, tl) -> int:
    return w["kit"].db.trust_lines.find_one({"_id": tl})["net"]


def exchange_line(w, tl) -> dict:
    r = w["exchange"].http.get(f"/v1/trust-lines/{tl}", headers=w["a"]["admin"])
    assert r.status_code == 200, r.json
    return r.json


def account_posted(w, account_id) -> int:
    doc = w["kit"].db.accounts.find_one({"_id": account_id})
    return doc["posted"] if doc else 0


def test_points_and_hours_cross_both_ways_with_exact_figures_and_the_exchange_follows(world):
    w, A, B = world, world["A"], world["B"]
    # ann (A, 10 fen) gives bob (B, 5 fen) 7 points: bob receives 14; pending until bob in B confirms.
    gift = pay(w, "credit", "PT", 7, "ann", "A", "bob", "B")
    assert gift["state"] == "pending" and gift["funds_reserved"] and gift["community_id"] == A
    assert {k: gift["cross"][k] for k in ("debit_amount", "credit_amount", "measure", "payee_community",
                                          "payer_point_value_fen", "payee_point_value_fen", "rate_version")} == {
        "debit_amount": 7, "credit_amount": 14, "measure": 70, "payee_community": B,
        "payer_point_value_fen": 10, "payee_point_value_fen": 5, "rate_version": 1}
    assert w["kit"].balance("ann", A, "PT")["pending_out"] == 7
    assert w["kit"].balance("bob", B, "PT")["pending_in"] == 14
    awaiting = w["kit"].http.get("/v1/transfers/awaiting", headers=w["kit"].h("bob", B)).json
    assert [x["transfer_id"] for x in awaiting] == [gift["transfer_id"]] and awaiting[0]["cross"]["credit_amount"] == 14
    assert w["kit"].http.get("/v1/transfers/awaiting", headers=w["kit"].h("bob", A)).json == []
    # Nobody but bob of B may confirm; bob of A (another person) cannot even see it.
    act(w, "confirm", gift, "ann", "A", expect=403)
    act(w, "confirm", gift, "ben", "B", expect=403)
    assert w["kit"].http.get(f"/v1/transfers/{gift['transfer_id']}", headers=w["kit"].h("bob", A)).status_code == 404
    assert w["kit"].http.get(f"/v1/transfers/{gift['transfer_id']}",
                             headers=w["kit"].h("root", B, "admin")).status_code == 200
    assert act(w, "confirm", gift, "bob", "B")["state"] == "posted"
    assert (posted(w, "ann", "A", "PT"), posted(w, "bob", "B", "PT")) == (-7, 14)

    # bob (B) bills ann (A) 15 of B's points: ann pays 8 (7.5 rounded up), confirming in A.
    bill = pay(w, "bill", "PT", 15, "bob", "B", "ann", "A")
    assert (bill["cross"]["debit_amount"], bill["cross"]["credit_amount"], bill["payer_id"]) == (8, 15, "ann")
    assert [x["transfer_id"] for x in w["kit"].http.get("/v1/transfers/awaiting",
                                                        headers=w["kit"].h("ann", A)).json] == [bill["transfer_id"]]
    act(w, "confirm", bill, "bob", "B", expect=403)
    assert act(w, "confirm", bill, "ann", "A")["state"] == "posted"
    # bob (B) gives ann (A) 4 B-points (20 fen): ann receives 2.
    back = pay(w, "credit", "PT", 4, "bob", "B", "ann", "A")
    assert (back["cross"]["debit_amount"], back["cross"]["credit_amount"]) == (4, 2)
    act(w, "confirm", back, "ann", "A")
    assert (posted(w, "ann", "A", "PT"), posted(w, "bob", "B", "PT")) == (-7 - 8 + 2, 14 + 15 - 4)
    assert account_posted(w, f"p:{A}:{B}:PT") == 7 + 8 - 2 and account_posted(w, f"p:{B}:{A}:PT") == -14 - 15 + 4
    assert ledger_net(w, w["pt"]) == 70 + 75 - 20

    # Hours are 1:1 both ways.
    h1 = pay(w, "credit", "HOUR", 90, "ann", "A", "bob", "B")
    act(w, "confirm", h1, "bob", "B")
    h2 = pay(w, "bill", "HOUR", 30, "ann", "A", "bob", "B")  # ann bills bob: bob pays 30
    act(w, "confirm", h2, "bob", "B")
    assert (posted(w, "ann", "A", "HOUR"), posted(w, "bob", "B", "HOUR")) == (-60, 60)
    assert ledger_net(w, w["hour"]) == 90 - 30

    # CrossTransferPosted in the contract's shape, and the exchange's positions follow.
    event = w["kit"].log.wait("CrossTransferPosted", transfer_id=gift["transfer_id"])[0]["payload"]
    assert {k: event[k] for k in ("trust_line_id", "workflow", "payer_community", "payee_community", "debit_amount",
                                  "credit_amount", "measure", "debit_account", "payer_clearing_account",
                                  "payee_clearing_account", "credit_account")} == {
        "trust_line_id": w["pt"], "workflow": "credit", "payer_community": A, "payee_community": B,
        "debit_amount": 7, "credit_amount": 14, "measure": 70, "debit_account": f"m:{A}:ann:PT",
        "payer_clearing_account": f"p:{A}:{B}:PT", "payee_clearing_account": f"p:{B}:{A}:PT",
        "credit_account": f"m:{B}:bob:PT"}
    pt = wait_until(lambda: (j := exchange_line(w, w["pt"]))["position"]["transfers"] == 3 and j, timeout=60,
                    message="exchange PT position")
    assert (pt["position"]["a_balance"], pt["position"]["b_balance"], pt["position"]["net"]) == (13, -25, 125)
    hour = wait_until(lambda: (j := exchange_line(w, w["hour"]))["position"]["transfers"] == 2 and j, timeout=60,
                      message="exchange HOUR position")
    assert hour["position"]["net"] == 60


def test_beyond_the_net_limit_is_refused_at_confirm_and_nothing_moves(world):
    w, A, B = world, world["A"], world["B"]
    net = ledger_net(w, w["pt"])
    before = (posted(w, "amy", "A", "PT"), posted(w, "ben", "B", "PT"), account_posted(w, f"p:{A}:{B}:PT"))
    w["kit"].grant(f"m:{A}:amy:PT", A, 100)
    big = pay(w, "credit", "PT", (PT_LIMIT - net) // 10 + 1, "amy", "A", "ben", "B")  # just over the headroom
    refused = w["kit"].act("confirm", big["transfer_id"], "ben", B)
    assert refused.status_code == 422 and refused.json["code"] == "trust_line_limit"
    assert refused.mimetype == "application/problem+json"
    stored = w["kit"].http.get(f"/v1/transfers/{big['transfer_id']}", headers=w["kit"].h("amy", A)).json
    assert stored["state"] == "pending" and stored["funds_reserved"]
    assert (posted(w, "amy", "A", "PT"), posted(w, "ben", "B", "PT"), account_posted(w, f"p:{A}:{B}:PT")) == before
    assert ledger_net(w, w["pt"]) == net
    assert w["kit"].log.of("CrossTransferPosted", transfer_id=big["transfer_id"]) == []
    # A move back towards zero is always allowed: bob (B) pays amy (A).
    act(w, "confirm", pay(w, "credit", "PT", 10, "bob", "B", "amy", "A"), "amy", "A")
    assert ledger_net(w, w["pt"]) == net - 50
    act(w, "cancel", big, "amy", "A")
    assert w["kit"].balance("amy", A, "PT")["pending_out"] == 0


def test_rejected_and_expired_cross_transfers_move_nothing(world):
    w, A, B = world, world["A"], world["B"]
    before = (posted(w, "ann", "A", "PT"), posted(w, "bob", "B", "PT"), ledger_net(w, w["pt"]))
    no = pay(w, "credit", "PT", 5, "ann", "A", "bob", "B")
    assert act(w, "reject", no, "bob", "B", reason="不用了")["state"] == "rejected"
    late = pay(w, "bill", "PT", 6, "bob", "B", "ann", "A")
    w["kit"].db.transfers.update_one({"_id": late["transfer_id"]},
                                     {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    assert expire_due(w["kit"].ledger.runtime) >= 1
    got = w["kit"].http.get(f"/v1/transfers/{late['transfer_id']}", headers=w["kit"].h("bob", B)).json
    assert got["state"] == "expired"
    assert (posted(w, "ann", "A", "PT"), posted(w, "bob", "B", "PT"), ledger_net(w, w["pt"])) == before
    assert w["kit"].balance("ann", A, "PT")["pending_out"] == 0 and w["kit"].balance("bob", B, "PT")["pending_in"] == 0
    for t in (no, late):
        assert w["kit"].log.of("CrossTransferPosted", transfer_id=t["transfer_id"]) == []


def test_a_suspended_line_refuses_new_and_pending_cross_transfers(world):
    w, A, B = world, world["A"], world["B"]
    waiting = pay(w, "credit", "HOUR", 15, "amy", "A", "ben", "B")
    r = w["community"].http.post(f"/v1/partners/{w['aid']}/suspend", headers=w["a"]["admin"])
    assert r.status_code == 200, r.json
    wait_until(lambda: w["kit"].db.trust_lines.find_one({"_id": w["hour"]})["status"] == "suspended", timeout=60,
               message="line suspended in the ledger")
    refused = w["kit"].transfer("amy", A, workflow="credit", unit="HOUR", amount=10, counterparty_id="ben",
                                counterparty_community=B)
    assert refused.status_code == 422 and refused.json["code"] == "trust_line_closed"
    r = w["kit"].act("confirm", waiting["transfer_id"], "ben", B)
    assert r.status_code == 422 and r.json["code"] == "trust_line_closed"
    assert w["community"].http.post(f"/v1/partners/{w['aid']}/resume", headers=w["a"]["admin"]).status_code == 200
    wait_until(lambda: w["kit"].db.trust_lines.find_one({"_id": w["hour"]})["status"] == "open", timeout=60,
               message="line open again")
    act(w, "confirm", waiting, "ben", "B")
    # A community without an agreement: 422, nothing written.
    lone = w["kit"].community()
    w["kit"].join(lone, "lou")
    r = w["kit"].transfer("amy", A, workflow="credit", unit="HOUR", amount=10, counterparty_id="lou",
                          counterparty_community=lone)
    assert r.status_code == 422 and r.json["code"] == "no_trust_line"


def test_clearing_resets_positions_and_moves_the_clearing_accounts_back_and_the_audit_passes(world):
    w, A, B = world, world["A"], world["B"]
    kit = w["kit"]
    net = ledger_net(w, w["pt"])
    wait_until(lambda: exchange_line(w, w["pt"])["position"]["net"] == net, timeout=60, message="exchange caught up")
    made = w["exchange"].http.post(f"/v1/trust-lines/{w['pt']}/clearings", headers=w["b"]["admin"])
    assert made.status_code == 201, made.json
    record = made.json
    clear_a, clear_b = account_posted(w, f"p:{A}:{B}:PT"), account_posted(w, f"p:{B}:{A}:PT")
    assert (record["a_balance"], record["b_balance"], record["net"]) == (clear_a, clear_b, net)
    wait_until(lambda: ledger_net(w, w["pt"]) == 0, timeout=60, message="ledger applied the clearing")
    assert account_posted(w, f"p:{A}:{B}:PT") == 0 and account_posted(w, f"p:{B}:{A}:PT") == 0
    assert exchange_line(w, w["pt"])["position"]["net"] == 0
    moves = list(kit.db.transfers.find({"reference": {"kind": "clearing", "id": record["clearing_id"]}}))
    assert sorted((m["community_id"], m["amount"], m["state"]) for m in moves) == sorted(
        [(A, abs(clear_a), "posted"), (B, abs(clear_b), "posted")])
    # Re-emitted under a new event id: the consumer applies it and nothing moves twice.
    event = kit.dep.events(topics.EXCHANGE, "ClearingCompleted", key=w["pt"])[-1]
    settled = kit.db.transfers.count_documents({"reference.kind": "clearing"})
    again = kit.publish(topics.EXCHANGE, "ClearingCompleted", event["payload"], w["pt"])
    wait_until(lambda: kit.db.processed_events.find_one({"_id": again["id"]}), timeout=60, message="re-emitted")
    assert kit.db.transfers.count_documents({"reference.kind": "clearing"}) == settled
    assert ledger_net(w, w["pt"]) == 0 and account_posted(w, f"p:{A}:{B}:PT") == 0
    # The audit passes in both communities; each unit sums to zero across the deployment.
    for cid in (A, B):
        report = kit.audit(cid)
        assert report["ok"], report["problems"]
        assert all(v == 0 for v in report["sums"].values()) and report["entries"] > 0
    whole = run_audit(kit.ledger.runtime.client, kit.db)
    assert whole["ok"], whole["problems"]
    per_unit = defaultdict(int)
    for doc in kit.db.accounts.find({}):
        per_unit[doc["unit"]] += doc["posted"]
    for doc in kit.db.account_shards.find({}):
        per_unit[doc["account_id"].rsplit(":", 1)[1]] += doc["posted"]
    assert dict(per_unit) == {"HOUR": 0, "PT": 0}


def test_concurrent_confirms_never_take_the_trust_line_past_its_limit(world):
    from concurrent.futures import ThreadPoolExecutor
    w, A, B = world, world["A"], world["B"]
    net = ledger_net(w, w["hour"])
    fits = (HOUR_LIMIT - net) // 200
    assert fits == 2, net  # the earlier tests left 75 minutes on the line: two gifts of 200 fit, not three
    pending = [pay(w, "credit", "HOUR", 200, payer, "A", payee, "B")
               for payer, payee in (("ann", "bob"), ("ann", "ben"), ("amy", "bob"), ("amy", "ben"))]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda t: w["kit"].act("confirm", t["transfer_id"], t["payee_id"], B), pending))
    codes = sorted((a.status_code, a.json.get("code") or a.json.get("state")) for a in answers)
    assert codes == [(200, "posted")] * fits + [(422, "trust_line_limit")] * (4 - fits), codes
    assert ledger_net(w, w["hour"]) == net + 200 * fits
    states = [w["kit"].db.transfers.find_one({"_id": t["transfer_id"]})["state"] for t in pending]
    assert sorted(states) == ["pending"] * (4 - fits) + ["posted"] * fits
    for cid in (A, B):
        report = w["kit"].audit(cid)
        assert report["ok"], report["problems"]
