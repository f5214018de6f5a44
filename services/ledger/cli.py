"""Operator CLI of the ledger: `python -m services.ledger.cli import-points FILE.csv --community c_… [--dry-run]`
imports a community's past points records (services/ledger/history.py), in time order, CHUNK records per
transaction. The CSV has the columns source_id, member_id, kind (award | deduction), points, at (ISO 8601 with a
time zone), memo. Prints one JSON line per record that was not imported as asked, then a summary."""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections import Counter

from shared.config import Config
from shared.runtime import build_runtime
from services.ledger import commands, history
from services.ledger.bootstrap import bootstrap


def run_import(bus, community_id: str, records: list, *, by: str, batch: str | None = None,
               dry_run: bool = False, size: int = history.CHUNK) -> dict:
    """Send the records chunk by chunk through the ledger's bus; {counts by status, results not imported}. A dry
    run checks every record in one transaction (nothing is written, so a later record sees the earlier ones)."""
    size = max(len(records), 1) if dry_run else size
    batch = batch or "imp_" + uuid.uuid4().hex[:12]
    counts: Counter = Counter()
    problems = []
    for chunk in history.chunks(records, size):
        answer = bus.handle(commands.ImportPastPoints(community_id, chunk, by, batch, dry_run))
        for result in answer["results"]:
            counts[result["status"]] += 1
            if result["status"] == "refused":
                problems.append(result)
    return {"batch": batch, "counts": dict(counts), "refused": problems}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-points", help="import a community's past points records from a CSV file")
    imp.add_argument("file")
    imp.add_argument("--community", required=True, help="the community's id (c_…)")
    imp.add_argument("--by", default="operator", help="who runs the import (kept on every transfer)")
    imp.add_argument("--batch", help="a name for this import (default: a new id)")
    imp.add_argument("--dry-run", action="store_true", help="check every record, write nothing")
    args = parser.parse_args(argv)
    records, errors = history.read_csv(args.file)
    for error in errors:
        print(json.dumps(error, ensure_ascii=False))
    if errors:
        print(f"error: {len(errors)} row(s) cannot be read; nothing was imported", file=sys.stderr)
        return 1
    runtime = build_runtime(Config.from_env("ledger"))
    try:
        outcome = run_import(bootstrap(runtime), args.community, records, by=args.by, batch=args.batch,
                             dry_run=args.dry_run)
    finally:
        runtime.close()
    for problem in outcome["refused"]:
        print(json.dumps(problem, ensure_ascii=False))
    print(json.dumps({"batch": outcome["batch"], "dry_run": args.dry_run, **outcome["counts"]}))
    return 1 if outcome["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
