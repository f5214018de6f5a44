"""Importing a community's past points records (services/ledger/history.py) on the real Kafka and MongoDB: each
record posts at its own past time, so the statistics' months, the lots' expiry, the journal and the events follow
it; a dry run and a repeated import write nothing; a record the rules refuse leaves the others going; the audit
passes."""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone

from shared.economy.wallet import add_months
from shared.mongo import utcnow
from shared.testing import wait_until
from services.ledger import cli, history, scheduler
from services.ledger.bootstrap import bootstrap

SHANGHAI = timezone(timedelta(hours=8))


def _month_back(today: datetime, back: int, day: int) -> datetime:
    """Noon on `day` of the month `back` months before today's (Shanghai time)."""
    index = today.year * 12 + today.month - 1 - back
    return datetime(index // 12, index % 12 + 1, day, 12, 0, tzinfo=SHANGHAI)


def _setup(kit) -> str:
    c = kit.community()
    kit.publish("community.events", "CommunityCreated",
                {"community_id": c, "code": "x", "name": "x", "point_value_fen": 10,
                 "settings": {"pending_ttl_days": 7, "bill_auto_confirm": False, "timezone": "Asia/Shanghai",
                              "hour_credit_limit_minutes": 600}}, c)
    wait_until(lambda: kit.db.communities.find_one({"_id": c}), message="community")
    kit.rules(c, expiry={"mode": "rolling", "months": 12, "clearing_date": "01-01", "reminder_days": [30, 7]})
    kit.join(c, "ann", "bob", grid_id="g1")
    kit.join(c, "cat", "dan", grid_id="g2")
    return c


def test_past_records_post_at_their_time_and_a_repeat_posts_nothing(kit, tmp_path):
    c = _setup(kit)
    today = datetime.now(SHANGHAI)
    m = {back: today.year * 12 + today.month - 1 - back for back in (13, 4, 3, 2, 1, 0)}
    month = {back: f"{i // 12:04d}-{i % 12 + 1:02d}" for back, i in m.items()}
    rows = [("p-1", "ann", "award", 30, _month_back(today, 4, 10)),
            ("p-2", "ann", "award", 20, _month_back(today, 3, 10)),
            ("p-3", "bob", "award", 40, _month_back(today, 3, 12)),
            ("p-4", "ann", "deduction", 5, _month_back(today, 2, 10)),
            ("p-5", "cat", "award", 10, _month_back(today, 2, 15)),
            ("p-6", "cat", "award", 15, _month_back(today, 1, 5)),
            ("p-7", "dan", "award", 7, _month_back(today, 13, 20)),  # its lot expired a month ago
            ("p-8", "eve", "award", 9, _month_back(today, 2, 1)),    # not a member: refused
            ("p-9", "bob", "award", 9, utcnow() + timedelta(days=2))]  # in the future: refused
    path = tmp_path / "past.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(history.COLUMNS)
        for source_id, member, kind, points, at in rows:
            w.writerow((source_id, member, kind, points, at.isoformat(), "纸质台账 2024"))
    records, errors = history.read_csv(str(path))
    assert errors == [] and len(records) == 9
    bus = bootstrap(kit.ledger.runtime)

    dry = cli.run_import(bus, c, records, by="op", dry_run=True, size=4)
    assert dry["counts"] == {"checked": 7, "refused": 2}
    assert {(p["source_id"], p["code"]) for p in dry["refused"]} == {("p-8", "unknown_account"),
                                                                       ("p-9", "future_record")}
    assert kit.db.transfers.count_documents({"community_id": c, "reference.kind": "import"}) == 0

    done = cli.run_import(bus, c, records, by="op", batch="b1", size=4)
    assert done["counts"] == {"imported": 7, "refused": 2}
    entries = kit.db.entries.count_documents({})
    again = cli.run_import(bus, c, records, by="op", batch="b2", size=4)
    assert again["counts"] == {"already_imported": 7, "refused": 2}
    assert kit.db.entries.count_documents({}) == entries  # nothing posted twice

    # The transfer, its entries and its event carry the record's time; when it was imported is kept aside.
    t = kit.db.transfers.find_one({"_id": history.import_transfer_id(c, "p-1")})
    at = _month_back(today, 4, 10)
    assert t["state"] == "posted" and t["amount"] == 30 and t["details"]["import"]["batch"] == "b1"
    assert t["details"]["import"]["recorded_at"].replace(tzinfo=timezone.utc) > at
    assert {e["posted_at"].replace(tzinfo=timezone.utc) for e in kit.db.entries.find({"transfer_id": t["_id"]})} \
        == {at}
    [event] = kit.log.wait("TransferPosted", transfer_id=t["_id"])
    # The payload says when it happened; the envelope, when the ledger emitted it (the import, now).
    assert datetime.fromisoformat(event["payload"]["occurred_at"]) == at < datetime.fromisoformat(event["occurred_at"])
    # The journal keeps its append order: ann's chain takes p-1, p-2, p-4 in seq order.
    chain = [e["transfer_id"] for e in kit.db.entries.find({"account_id": f"m:{c}:ann:PT"}).sort("seq", 1)]
    assert chain == [history.import_transfer_id(c, s) for s in ("p-1", "p-2", "p-4")]

    # Lots earned on the record's day expire from then; the deduction spent ann's oldest lot first.
    lots = {d["account_id"].split(":")[2] + ":" + d["earned_on"]: d for d in kit.db.point_lots.find(
        {"account_id": {"$regex": f"^m:{c}:"}})}
    ann_first = lots[f"ann:{_month_back(today, 4, 10).date().isoformat()}"]
    assert ann_first["remaining"] == 25
    assert ann_first["expires_on"] == add_months(_month_back(today, 4, 10).date(), 12).isoformat()
    dan = lots[f"dan:{_month_back(today, 13, 20).date().isoformat()}"]
    assert date.fromisoformat(dan["expires_on"]) <= today.date()
    summary = kit.db.member_economy.find_one({"_id": f"m:{c}:ann:PT"})
    assert summary["honour_points"] == 50

    # The expiry sweep clears dan's lot now (this month): 7 expired.
    assert scheduler.expire_lots_due(kit.ledger.runtime, at=utcnow()) >= 7

    s = kit.http.get("/v1/admin/economy/stats", query_string={"from": month[13], "to": month[0]},
                     headers=kit.h("root", c, "admin")).json
    by_month = {r["month"]: r for r in s["months"]}
    figures = {back: {k: by_month[month[back]][k] for k in ("issued", "penalised", "expired", "participants",
                                                             "outstanding")} for back in month}
    assert figures == {
        13: {"issued": 7, "penalised": 0, "expired": 0, "participants": 1, "outstanding": 7},
        4: {"issued": 30, "penalised": 0, "expired": 0, "participants": 1, "outstanding": 37},
        3: {"issued": 60, "penalised": 0, "expired": 0, "participants": 2, "outstanding": 97},
        2: {"issued": 10, "penalised": 5, "expired": 0, "participants": 1, "outstanding": 102},
        1: {"issued": 15, "penalised": 0, "expired": 0, "participants": 1, "outstanding": 117},
        0: {"issued": 0, "penalised": 0, "expired": 7, "participants": 0, "outstanding": 110}}
    # Each member counts in their grid from their first record (the ledger heard of them only this month).
    assert {back: by_month[month[back]]["members"] for back in month} == {13: 1, 4: 2, 3: 3, 2: 4, 1: 4, 0: 4}
    members = {(g["grid_id"], g["month"]): g["members"] for g in s["grids"]}
    assert (members[("g1", month[4])], members[("g1", month[3])], members[("g2", month[2])]) == (1, 2, 2)
    grids = {(g["grid_id"], g["month"]): g["issued"] for g in s["grids"] if g["issued"]}
    assert grids == {("g2", month[13]): 7, ("g1", month[4]): 30, ("g1", month[3]): 60, ("g2", month[2]): 10,
                     ("g2", month[1]): 15}
    assert kit.audit(c)["ok"]


def test_a_member_s_earlier_month_after_a_later_one_is_refused(kit):
    c = _setup(kit)
    today = datetime.now(SHANGHAI)
    bus = bootstrap(kit.ledger.runtime)
    late = history.PastRecord("q-1", "ann", "award", 10, _month_back(today, 2, 3))
    early = history.PastRecord("q-2", "ann", "award", 10, _month_back(today, 5, 3))
    assert cli.run_import(bus, c, [late], by="op")["counts"] == {"imported": 1}
    out = cli.run_import(bus, c, [early], by="op")
    assert out["counts"] == {"refused": 1} and out["refused"][0]["code"] == "out_of_order"
    old = history.PastRecord("q-3", "bob", "award", 10, utcnow() - timedelta(days=6 * 366))
    assert cli.run_import(bus, c, [old], by="op")["refused"][0]["code"] == "record_too_old"
    assert kit.db.transfers.count_documents({"community_id": c, "reference.kind": "import"}) == 1
