"""The rules simulator (shared.economy.simulator) on a year of a large community: target ≤ 30 s for 12,000
households on this machine (issue 15). Pure CPU, no MongoDB or Kafka — what the community service's scheduler
role spends on one job.

    python bench/simulator_bench.py [--households 12000] [--seed 1] [--compare]

Runs one synthetic year under the SPEC default rules (and, with --compare, also under a proposed rule set with
tighter caps and a 6-month expiry, as a job does), printing progress, the time, the headline figures, peak
memory, the CPU time this process got and the machine's load average — the machine is shared with other work, so the load is part of the
result."""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.economy import DEFAULT_RULES, from_document  # noqa: E402
from shared.economy.simulator import Params, compare, replay, synthesize  # noqa: E402

TARGET_SECONDS = 30.0
PROPOSED = {"caps": {"per_activity": None, "per_day": 100, "per_year": 600},
            "expiry": {"mode": "rolling", "months": 6}}


def _progress(label: str):
    shown = [-10]

    def report(percent: int) -> None:
        if percent >= shown[0] + 10 or percent == 100:
            shown[0] = percent
            print(f"  {label}: {percent:3d} %", flush=True)
    return report


def _headline(name: str, figures: dict) -> None:
    totals, cov, conc = figures["totals"], figures["coverage"], figures["concentration"]
    print(f"  {name}: rule version {figures['rule_version']}, {figures['awards']['count']:,} awards; issued "
          f"{totals['issued']:,}, redeemed {totals['redeemed']:,}, expired {totals['expired']:,}, outstanding "
          f"{totals['outstanding']:,} points (= {cov['liability_fen'] / 100:,.2f} yuan, coverage "
          f"{cov['ratio_percent']} %{' WARNING' if cov['warning'] else ''}); top 10 % hold "
          f"{conc['top10_share_percent']} %, Gini {conc['gini']}; expiring 30/90 d {figures['expiring']['30']:,}"
          f"/{figures['expiring']['90']:,}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="also the proposed rules, side by side")
    args = parser.parse_args(argv)
    params = Params(seed=args.seed, households=args.households)
    print(f"simulator bench: {params.households:,} households, {params.members:,} members, {params.grid_count} "
          f"grids, {params.months} months, seed {params.seed}; load average before "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (shared machine)")
    start, cpu = time.perf_counter(), time.process_time()
    if args.compare:
        result = compare(params, DEFAULT_RULES, from_document(PROPOSED, 1), _progress("compare"))
        elapsed = time.perf_counter() - start
        _headline("current ", result["current"])
        _headline("proposed", result["proposed"])
        runs = 2
    else:
        community = synthesize(params, _progress("synthesize"))
        drawn = time.perf_counter() - start
        figures = replay(community, DEFAULT_RULES, _progress("replay"))
        elapsed = time.perf_counter() - start
        print(f"  drawing the year took {drawn:.2f} s")
        _headline("current ", figures)
        runs = 1
    cpu = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "within" if elapsed <= TARGET_SECONDS else "OVER"
    print(f"RESULT: a year of {params.households:,} households under {runs} rule set(s) in {elapsed:.2f} s "
          f"({verdict} the {TARGET_SECONDS:.0f} s target; {cpu:.2f} s of CPU); peak RSS {peak_mb:.0f} MiB; load average after "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (shared machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
