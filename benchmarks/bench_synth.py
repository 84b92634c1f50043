"""Benchmark of the simulator: wall time and peak memory of generating a dataset.

Usage:
    .venv/bin/python benchmarks/bench_synth.py                 # demo, multi_category
    .venv/bin/python benchmarks/bench_synth.py --facts --seeds 42 3 7   # simulator 2's facts
    .venv/bin/python benchmarks/bench_synth.py --large         # also the large size
    .venv/bin/python benchmarks/bench_synth.py --scenario social --out /tmp/bench

Each size runs in a fresh subprocess so peak memory (ru_maxrss of that child) is its own.
Prints one line per run: scenario, size, seconds, peak RSS in MB, order lines, files' rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.synth.scoring.profit import true_weekly_profit

_CHILD = """
import json, sys, time
from channelops.synth import generate_dataset
t = time.perf_counter()
counts = generate_dataset(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                          progress=True)
print(json.dumps({"seconds": time.perf_counter() - t, "counts": counts}))
"""


def run(out: Path, scenario: str, size: str, seed: int) -> dict:
    """Generate one dataset in a child process; return seconds, peak MB and counts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), scenario, size, str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_with_startup"] = wall
    res["peak_mb"] = max(peak_kb, before) / 1024  # ru_maxrss is in KiB on Linux
    return res


def world_facts(folder: Path) -> dict[str, float]:
    """Simulator 2's stylised facts on a generated dataset (docs/design-notes.md):
    min over channels of the spend variance explained by month of year; share of acquired
    customers acquired by ads; halo revenue as a share of all revenue; channels whose
    spend at typical level loses true profit; share of demanded units lost to stock-outs;
    lift tests whose 95% interval holds the true effect."""
    spend = pd.read_csv(folder / "marketing_spend.csv")
    spend["month"] = pd.to_datetime(spend["week_start"]).dt.month
    r2 = []
    for _, g in spend.groupby("channel_id"):
        fit = g.groupby("month")["spend"].transform("mean")
        r2.append(
            1 - ((g["spend"] - fit) ** 2).sum() / ((g["spend"] - g["spend"].mean()) ** 2).sum()
        )
    t = folder / "truth"
    people = pd.read_parquet(t / "customers.parquet", columns=["acquired_by"])
    weekly = pd.read_parquet(t / "weekly_revenue.parquet")
    curves = pd.read_parquet(t / "response_curves.parquet")
    typical = dict(zip(curves["channel_id"], curves["typical_spend"], strict=True))
    base = true_weekly_profit(folder, typical)
    below = [c for c in typical if true_weekly_profit(folder, {**typical, c: 0.0}) > base]
    dem = pd.read_parquet(t / "demand.parquet")
    lt = pd.read_parquet(t / "lift_tests.parquet")
    cover = (lt["ci_low"] <= lt["true_incremental_revenue"]) & (
        lt["true_incremental_revenue"] <= lt["ci_high"]
    )
    return {
        "month_r2_min": float(np.min(r2)),
        "paid_acquired_share": float((people["acquired_by"] == "paid").mean()),
        "halo_revenue_share": float(weekly["halo_revenue"].sum() / weekly["total_revenue"].sum()),
        "below_break_even": ", ".join(below),
        "units_lost_to_stockouts": float(
            1 - dem["realised_units"].sum() / dem["demand_units"].sum()
        ),
        "lift_tests_covered": f"{int(cover.sum())}/{len(lt)}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="multi_category")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--large", action="store_true", help="also run the large size")
    ap.add_argument("--out", default=None, help="folder for the datasets (default: temp)")
    ap.add_argument("--facts", action="store_true", help="simulator 2's facts per seed (demo)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 3, 7])
    args = ap.parse_args()
    if args.facts:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                folder = Path(args.out or tmp) / f"{args.scenario}_demo_{seed}"
                r = run(folder, args.scenario, "demo", seed)
                lines = sum(v for k, v in r["counts"].items() if k.startswith("orders/"))
                facts = world_facts(folder)
                print(f"seed {seed}: {r['seconds']:.1f} s, {lines:,} order lines, {facts}")
        return
    sizes = ["demo", "large"] if args.large else ["demo"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        for size in sizes:
            r = run(root / f"{args.scenario}_{size}", args.scenario, size, args.seed)
            lines = sum(v for k, v in r["counts"].items() if k.startswith("orders/"))
            print(
                f"{args.scenario:15s} {size:6s} generate {r['seconds']:7.1f} s "
                f"(process {r['wall_with_startup']:.1f} s)  peak RSS {r['peak_mb']:7.0f} MB  "
                f"order lines {lines:,}"
            )
            for k, v in r["counts"].items():
                print(f"    {k:35s} {v:>12,}")


if __name__ == "__main__":
    main()
