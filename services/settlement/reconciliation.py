"""Reconciliation: the ledger's postings for a merchant's redemptions (posted `redeem` transfers, and posted
reversals of them, from its events) against settlement (batch lines, chargebacks, reversals before payment)."""
from __future__ import annotations


def reconcile(ledger: list[dict], lines: list[dict], unbatched: list[dict], offsets: list[dict] = ()) -> dict:
    """Compare ledger postings with settlement transfer by transfer; report every difference. Amounts are
    signed: what reached the merchant is positive, what a reversal took back from it negative.

    ledger: posted transfers to (+) or reversals from (−) the merchant {transfer_id, amount, redemption_id}.
    lines: settled in a batch {redemption_id, transfer_id, points, batch_id}: lines (+), chargebacks (−, keyed
        by the reversal's transfer id).
    unbatched: waiting for the next batch {redemption_id, transfer_id, points}: completed redemptions (+),
        chargebacks no batch took yet (−).
    offsets: redemptions reversed before they were paid {redemption_id, transfer_id, points}: their posting (+)
        and their reversal (−), which cancel out and are never paid.
    """
    by_transfer = {t["transfer_id"]: t for t in ledger}
    settled: dict[str, list[dict]] = {}
    for line in [*lines, *({**o, "batch_id": None} for o in offsets)]:
        settled.setdefault(line.get("transfer_id") or f"(none:{line['redemption_id']})", []).append(line)
    waiting = {r["transfer_id"]: r for r in unbatched if r.get("transfer_id")}

    differences, awaiting = [], []
    for transfer_id, transfer in sorted(by_transfer.items()):
        matched = settled.get(transfer_id, [])
        if not matched:
            if transfer_id in waiting:
                awaiting.append({"transfer_id": transfer_id, "redemption_id": waiting[transfer_id]["redemption_id"],
                                 "points": transfer["amount"]})
            else:
                differences.append({"kind": "missing_from_batches", "transfer_id": transfer_id,
                                    "redemption_id": transfer.get("redemption_id"),
                                    "ledger_points": transfer["amount"], "batch_points": 0})
            continue
        if len(matched) > 1:
            differences.append({"kind": "settled_more_than_once", "transfer_id": transfer_id,
                                "batch_ids": sorted(str(m["batch_id"]) for m in matched),
                                "ledger_points": transfer["amount"],
                                "batch_points": sum(m["points"] for m in matched)})
        elif matched[0]["points"] != transfer["amount"]:
            differences.append({"kind": "amount_mismatch", "transfer_id": transfer_id,
                                "redemption_id": matched[0]["redemption_id"], "batch_id": matched[0]["batch_id"],
                                "ledger_points": transfer["amount"], "batch_points": matched[0]["points"]})
    for transfer_id, matched in sorted(settled.items()):
        if transfer_id not in by_transfer:
            for m in matched:
                differences.append({"kind": "not_in_ledger", "transfer_id": m.get("transfer_id"),
                                    "redemption_id": m["redemption_id"], "batch_id": m["batch_id"],
                                    "ledger_points": 0, "batch_points": m["points"]})
    ledger_points = sum(t["amount"] for t in ledger)
    batch_points = sum(line["points"] for line in lines)
    awaiting_points = sum(a["points"] for a in awaiting)
    offset_points = sum(o["points"] for o in offsets)
    return {
        "ledger": {"transfers": len(ledger), "points": ledger_points},
        "batches": {"lines": len(lines), "points": batch_points, "fen": sum(line.get("fen", 0) for line in lines)},
        "awaiting_batch": {"transfers": len(awaiting), "points": awaiting_points, "items": awaiting},
        "reversed_before_payment": {"transfers": len(offsets), "points": offset_points},
        "difference_points": ledger_points - batch_points - awaiting_points - offset_points,
        "differences": differences,
        "balanced": not differences,
    }
