"""Settlement batches, sponsor budget, statements, reconciliation, reports and the scheduler, on real
Kafka and MongoDB (ledger outcomes published as the ledger would)."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import requests

from services.gateway.app import create_app as gateway_app
from services.settlement.bootstrap import bootstrap
from services.settlement.scheduler import settle_due
from shared.config import Config
from shared.testing import serve, wait_until


def completed(world, shop, member_id, member, points, bill_fen=100_000):
    """A till redemption the stand-in ledger posts; returns it once completed."""
    svc, up = world["svc"], world["up"]
    r = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/redemptions", headers=shop["staff"],
                      json={"member_id": member_id, "points": points, "bill_fen": bill_fen})
    assert r.status_code == 201, r.json
    up.redeem("TransferPosted", r.json)
    return up.redemption_state(member, r.json["redemption_id"], "completed")


def period():
    now = datetime.now(timezone.utc)
    return {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}


def test_batch_lifecycle_exactly_once_and_budget(world, new_merchant, new_resident):
    svc, up, admin = world["svc"], world["up"], world["admin"]
    shop = new_merchant(settlement_rate_fen_per_point=10)
    mid = shop["merchant_id"]
    member_id, member = new_resident(5000)
    first = [completed(world, shop, member_id, member, p) for p in (100, 250)]
    declined = svc.http.post(f"/v1/merchants/{mid}/redemptions", headers=shop["staff"],
                             json={"member_id": member_id, "points": 70, "bill_fen": 100_000}).json
    up.redeem("TransferRejected", declined)
    up.redemption_state(member, declined["redemption_id"], "declined")

    budget = svc.http.post("/v1/sponsor-budget/top-ups", headers=admin,
                           json={"amount_fen": 5000, "reference": "赞助-01"})
    assert budget.status_code == 201 and budget.json["remaining_fen"] >= 5000
    remaining = budget.json["remaining_fen"]

    draft = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={})
    assert draft.status_code == 201, draft.json
    batch = draft.json
    assert (batch["state"], batch["points"], batch["fen"], batch["redemption_count"]) == ("open", 350, 3500, 2)
    second = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={})
    assert (second.status_code, second.json["code"]) == (409, "open_batch_exists")
    unpaid = svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin, json={"payment_reference": "x"})
    assert (unpaid.status_code, unpaid.json["code"]) == (409, "batch_not_closed")
    assert svc.http.post(f"/v1/batches/{batch['batch_id']}/close", headers=shop["staff"]).status_code == 403

    closed = svc.http.post(f"/v1/batches/{batch['batch_id']}/close", headers=admin)
    assert closed.status_code == 200 and closed.json["state"] == "closed" and closed.json["payable"]
    twice = svc.http.post(f"/v1/batches/{batch['batch_id']}/close", headers=admin)
    assert (twice.status_code, twice.json["code"]) == (409, "batch_not_open")
    assert svc.http.get("/v1/sponsor-budget", headers=admin).json["remaining_fen"] == remaining - 3500
    event = up.wait_event("SettlementBatchClosed", batch["batch_id"])["payload"]
    assert (event["points"], event["fen"], event["redemption_count"], event["over_budget"]) == (350, 3500, 2, False)

    # Completed after the batch: the next batch, never this one again.
    late = completed(world, shop, member_id, member, 120)
    nothing_twice = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True}).json
    assert nothing_twice["redemption_count"] == 1 and nothing_twice["points"] == 120
    empty = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True})
    assert (empty.status_code, empty.json["code"]) == (422, "nothing_to_settle")
    lines = {line["redemption_id"] for b in (batch, nothing_twice)
             for line in svc.http.get(f"/v1/batches/{b['batch_id']}/statement", headers=admin).json["lines"]}
    assert lines == {r["redemption_id"] for r in first} | {late["redemption_id"]}
    assert svc.http.get(f"/v1/redemptions/{first[0]['redemption_id']}", headers=member).json["batch_id"] == \
        batch["batch_id"]

    paid = svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin,
                         json={"payment_reference": "ICBC-20250312-001"})
    assert paid.status_code == 200 and paid.json["state"] == "paid"
    again = svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin, json={"payment_reference": "y"})
    assert (again.status_code, again.json["code"]) == (409, "batch_already_paid")
    assert up.wait_event("SettlementBatchPaid", batch["batch_id"])["payload"]["payment_reference"] == \
        "ICBC-20250312-001"
    bad = svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin, json={"payment_reference": ""})
    assert bad.status_code == 422


def test_over_budget_batch_is_flagged_and_not_paid_until_acknowledged(world, new_merchant, new_resident):
    svc, admin = world["svc"], world["admin"]
    shop = new_merchant(kind="property", name="物业服务中心")
    assert shop["max_discount_share_bp"] == 10_000 and shop["settlement_rate_fen_per_point"] == 10
    member_id, member = new_resident(100_000)
    remaining = svc.http.get("/v1/sponsor-budget", headers=admin).json["remaining_fen"]
    points = remaining // 10 + 100  # worth more than the whole remaining budget
    # Property-fee deduction: the whole fee may be paid in points (100 PT = 10 yuan).
    completed(world, shop, member_id, member, points, bill_fen=points * 10)
    batch = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/batches", headers=admin, json={"close": True}).json
    assert batch["over_budget"] and not batch["payable"] and batch["fen"] == points * 10
    refused = svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin, json={"payment_reference": "p"})
    assert (refused.status_code, refused.json["code"]) == (409, "over_budget")
    assert svc.http.get(f"/v1/batches/{batch['batch_id']}", headers=admin).json["state"] == "closed"
    acked = svc.http.post(f"/v1/batches/{batch['batch_id']}/acknowledge-over-budget", headers=admin)
    assert acked.status_code == 200 and acked.json["payable"]
    assert svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin,
                         json={"payment_reference": "p"}).json["state"] == "paid"
    assert svc.http.get("/v1/sponsor-budget", headers=admin).json["remaining_fen"] == remaining - points * 10


def test_statements_json_csv_html_and_access(world, new_merchant, new_resident):
    svc = world["svc"]
    shop, other = new_merchant(name="老王烧饼"), new_merchant()
    member_id, member = new_resident(1000)
    r = completed(world, shop, member_id, member, 150)
    batch = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/batches", headers=world["admin"],
                          json={"close": True}).json
    url = f"/v1/batches/{batch['batch_id']}/statement"
    as_json = svc.http.get(url, headers=shop["staff"])
    assert as_json.status_code == 200
    assert [line["redemption_id"] for line in as_json.json["lines"]] == [r["redemption_id"]]
    assert as_json.json["merchant"]["name"] == "老王烧饼" and as_json.json["batch"]["fen"] == 1500
    as_csv = svc.http.get(url + "?format=csv", headers=shop["staff"])
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[3][0] == r["redemption_id"] and rows[-1][4] == "150" and rows[-1][6] == "1500"
    html = svc.http.get(url + "?format=html", headers=world["admin"])
    assert html.mimetype == "text/html" and "老王烧饼" in html.get_data(as_text=True)
    assert svc.http.get(url, headers=other["staff"]).status_code == 403
    assert svc.http.get(url, headers=member).status_code == 403
    assert svc.http.get(url + "?format=pdf", headers=world["admin"]).status_code == 422
    listed = svc.http.get(f"/v1/merchants/{shop['merchant_id']}/batches", headers=shop["staff"]).json
    assert [b["batch_id"] for b in listed["items"]] == [batch["batch_id"]]
    assert svc.http.get(f"/v1/merchants/{shop['merchant_id']}/batches", headers=other["staff"]).status_code == 403


def test_reconciliation_finds_injected_mismatches(world, new_merchant, new_resident):
    svc, up, admin = world["svc"], world["up"], world["admin"]
    shop = new_merchant()
    mid = shop["merchant_id"]
    member_id, member = new_resident(5000)
    reds = [completed(world, shop, member_id, member, p) for p in (100, 200, 300)]
    batch = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True}).json
    awaiting = completed(world, shop, member_id, member, 90)
    url = f"/v1/merchants/{mid}/reconciliation"
    clean = svc.http.get(url, headers=admin, query_string=period()).json
    assert clean["balanced"] and clean["ledger"]["points"] == 690 and clean["batches"]["points"] == 600
    assert clean["awaiting_batch"]["items"][0]["transfer_id"] == awaiting["transfer_id"]

    # Injected: a batch line altered behind the ledger's back, and a posting no batch ever saw.
    svc.db.batch_lines.update_one({"_id": reds[1]["redemption_id"]}, {"$set": {"points": 150}})
    stray = "t_stray_" + uuid.uuid4().hex[:8]
    up.transfer("TransferPosted", transfer_id=stray, amount=40, debit=f"member:{world['cid']}:{member_id}:PT",
                credit=f"merchant:{world['cid']}:{mid}:PT", workflow="redeem", payer_id=member_id, payee_id=mid,
                reference={"kind": "redemption", "id": "red_unknown"})
    up.wait_read_model("ledger_transfers", {"_id": stray})
    found = svc.http.get(url, headers=shop["staff"], query_string=period()).json
    assert not found["balanced"]
    kinds = {(d["kind"], d["transfer_id"]) for d in found["differences"]}
    assert kinds == {("amount_mismatch", reds[1]["transfer_id"]), ("missing_from_batches", stray)}
    assert found["difference_points"] == 50 + 40
    assert svc.http.get(url, headers=member, query_string=period()).status_code == 403
    bad = svc.http.get(url, headers=admin, query_string={"since": "yesterday", "until": "now"})
    assert bad.status_code == 422
    assert batch["redemption_count"] == 3


def test_reports_per_day_points_fen_and_top_items(world, new_merchant, new_resident):
    svc, up, admin = world["svc"], world["up"], world["admin"]
    shop = new_merchant(name="报表店")
    member_id, member = new_resident(5000)
    completed(world, shop, member_id, member, 100)
    item = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/items", headers=admin,
                         json={"name": "洗衣液", "price_points": 200, "stock": 5}).json
    for _ in range(2):
        order = svc.http.post(f"/v1/items/{item['item_id']}/orders", headers=member, json={}).json
        up.redeem("TransferPosted", order)
        up.redemption_state(member, order["redemption_id"], "completed")
    report = svc.http.get(f"/v1/merchants/{shop['merchant_id']}/report", headers=shop["staff"],
                          query_string=period()).json
    assert report["totals"] == {"redemptions": 3, "points": 500, "fen": 5000}
    assert sum(d["redemptions"] for d in report["per_day"]) == 3 and report["timezone"] == "Asia/Shanghai"
    assert report["top_items"] == [{"item_id": item["item_id"], "name": "洗衣液", "redemptions": 2, "points": 400}]
    community = svc.http.get("/v1/reports/community", headers=admin, query_string=period()).json
    mine = [m for m in community["per_merchant"] if m["merchant_id"] == shop["merchant_id"]]
    assert mine == [{"merchant_id": shop["merchant_id"], "name": "报表店", "redemptions": 3, "points": 500,
                     "fen": 5000}]
    assert svc.http.get("/v1/reports/community", headers=shop["staff"], query_string=period()).status_code == 403


def test_scheduler_closes_due_batches(world, new_merchant, new_resident):
    svc = world["svc"]
    shop = new_merchant(schedule="weekly")
    member_id, member = new_resident(1000)
    r = completed(world, shop, member_id, member, 100)
    bus = bootstrap(svc.runtime)
    assert not [b for b in settle_due(svc.runtime, bus) if b["merchant_id"] == shop["merchant_id"]]  # registered now
    next_week = datetime.now(timezone.utc) + timedelta(days=8)
    closed = [b for b in settle_due(svc.runtime, bus, now=next_week) if b["merchant_id"] == shop["merchant_id"]]
    assert len(closed) == 1 and closed[0]["state"] == "closed" and closed[0]["points"] == 100
    assert svc.http.get(f"/v1/redemptions/{r['redemption_id']}", headers=member).json["batch_id"] == \
        closed[0]["batch_id"]
    assert not [b for b in settle_due(svc.runtime, bus, now=next_week) if b["merchant_id"] == shop["merchant_id"]]
    wait_until(lambda: world["up"].settlement_events("SettlementBatchClosed", closed[0]["batch_id"]))


def test_the_printable_statement_and_its_assets_pass_through_the_gateway_under_its_csp(world, new_merchant,
                                                                                       new_resident):
    """The Print button's script is a static file served with the page (the gateway forbids inline handlers)."""
    svc = world["svc"]
    shop = new_merchant()
    member_id, member = new_resident(1000)
    completed(world, shop, member_id, member, 80)
    batch = svc.http.post(f"/v1/merchants/{shop['merchant_id']}/batches", headers=world["admin"],
                          json={"close": True}).json
    with serve(svc.app) as settlement_url:
        gateway = gateway_app(Config.from_env("gateway", env={"GATEWAY_SETTLEMENT_URL": settlement_url}))
        try:
            with serve(gateway) as site:
                page_url = f"{site}/api/settlement/v1/batches/{batch['batch_id']}/statement?format=html"
                page = requests.get(page_url, headers=world["admin"], timeout=10)
                assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
                csp = page.headers["Content-Security-Policy"]
                directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
                scripts = directives.get("script-src", directives["default-src"])
                assert scripts == "'self'"  # scripts: same origin only, no inline handler can run
                html = page.text
                assert "onclick" not in html and 'id="print"' in html
                for asset, kind in (("../../assets/statement.js", "javascript"),
                                    ("../../assets/statement.css", "text/css")):
                    assert f'"{asset}"' in html
                    got = requests.get(urljoin(page_url, asset), timeout=10)  # no token needed: a static file
                    assert got.status_code == 200 and kind in got.headers["Content-Type"], (asset, got.status_code)
                    assert got.url.startswith(f"{site}/api/settlement/v1/assets/")
        finally:
            gateway.extensions["upstreams"].close()


def test_reversals_out_of_order_on_an_unpaid_batch_and_charged_back_into_the_next_unpaid_one(world, new_merchant,
                                                                                             new_resident):
    svc, up, admin = world["svc"], world["up"], world["admin"]
    shop = new_merchant(settlement_rate_fen_per_point=10)
    mid = shop["merchant_id"]
    member_id, member = new_resident(5000)
    assert svc.http.post("/v1/sponsor-budget/top-ups", headers=admin,
                         json={"amount_fen": 100_000, "reference": "赞助"}).status_code == 201

    # A reversal that reaches settlement before the completion it reverses (another partition): applied after it.
    early = svc.http.post(f"/v1/merchants/{mid}/redemptions", headers=shop["staff"],
                          json={"member_id": member_id, "points": 70, "bill_fen": 100_000}).json
    _, reversal_event = up.reverse(early)
    up.wait_processed(reversal_event)
    assert svc.http.get(f"/v1/redemptions/{early['redemption_id']}", headers=member).json["state"] == "requested"
    up.redeem("TransferPosted", early)
    up.redemption_state(member, early["redemption_id"], "reversed")
    up.wait_event("RedemptionReversed", early["redemption_id"])

    # Reversed while its batch is closed but unpaid: the line leaves the batch and its cash the budget.
    kept, dropped = (completed(world, shop, member_id, member, p) for p in (100, 250))
    remaining = svc.http.get("/v1/sponsor-budget", headers=admin).json["remaining_fen"]
    batch = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True}).json
    assert (batch["points"], batch["redemption_count"]) == (350, 2)  # the early one never entered it
    _, twice = up.reverse(dropped)
    up.reverse(dropped, event_id=twice)  # redelivered
    gone = up.redemption_state(member, dropped["redemption_id"], "reversed")
    assert gone["batch_id"] is None and gone["removed_from_batch"] == batch["batch_id"]
    now = svc.http.get(f"/v1/batches/{batch['batch_id']}", headers=admin).json
    assert (now["points"], now["fen"], now["redemption_count"]) == (100, 1000, 1)
    assert svc.http.get("/v1/sponsor-budget", headers=admin).json["remaining_fen"] == remaining - 1000
    lines = svc.http.get(f"/v1/batches/{batch['batch_id']}/statement", headers=admin).json["lines"]
    assert [line["redemption_id"] for line in lines] == [kept["redemption_id"]]
    assert svc.http.post(f"/v1/batches/{batch['batch_id']}/pay", headers=admin,
                         json={"payment_reference": "B-1"}).json["points"] == 100

    # Paid, then reversed while the next batch is closed but unpaid: charged back against that batch.
    later = completed(world, shop, member_id, member, 300)
    second = svc.http.post(f"/v1/merchants/{mid}/batches", headers=admin, json={"close": True}).json
    up.reverse(kept)
    up.redemption_state(member, kept["redemption_id"], "reversed")
    charged = wait_until(lambda: (lambda b: b if b["chargeback_count"] == 1 else None)(
        svc.http.get(f"/v1/batches/{second['batch_id']}", headers=admin).json), message="the chargeback")
    assert (charged["points"], charged["fen"], charged["chargeback_points"]) == (200, 2000, 100)
    statement = svc.http.get(f"/v1/batches/{second['batch_id']}/statement", headers=admin).json
    assert [line["redemption_id"] for line in statement["lines"]] == [later["redemption_id"]]
    assert [c["redemption_id"] for c in statement["chargebacks"]] == [kept["redemption_id"]]
    report = svc.http.get(f"/v1/merchants/{mid}/reconciliation", headers=admin, query_string=period()).json
    assert report["balanced"], report["differences"]
    # ledger: +70 −70 (early), +100 +250 −250 −100 +300 (the stand-in ledger posted each): 300
    assert (report["ledger"]["points"], report["batches"]["points"]) == (300, 300)
