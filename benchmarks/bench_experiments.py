"""Benchmark: calibration of the experiment intervals, false positives across experiments,
and the demo experiment against truth.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_experiments.py --reps 2000 --seed 2026
    .venv/bin/python benchmarks/bench_experiments.py --reps 0 --run output/demo --dataset data/demo

Calibration: ``reps`` simulated experiments with a known relative lift (12%, the
simulator's) and ``reps`` with none, per group size, in one vectorised pass
(:func:`channelops.stages.evaluation.experiments.calibration`); revenue per unit is zero-inflated and skewed
like the real metric. For each interval and each ``--levels`` coverage: coverage of the true
effect (target for 95%: 93-97%), false positive rate at zero lift (target 4-6% before any
correction), power and mean width. The percentile bootstrap loops over replications, so it
runs on the first ``--boot-reps`` of them.

Multiplicity: ``reps`` families of ``--family`` experiments where nothing works
(:func:`channelops.stages.evaluation.experiments.multiplicity_calibration`): the
per-comparison false-positive rate, and the family-wise rate (at least one false positive
in a family) before and after the ``--correction`` (target after: at most 5%).

Truth: with ``--run`` and ``--dataset``, the stage-06 analysis of the dataset's
experiments.csv on the run's order lines, next to the true relative lift
(truth/experiment.yaml) and the realised extra revenue per treatment unit
(truth/weekly_revenue.parquet, experiment_revenue on the experiment channel in the window).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from channelops.stages.evaluation import experiments as xp


def calibration_table(
    reps: int, sizes: list[int], levels: list[float], seed: int, n_boot: int, boot_reps: int
) -> None:
    print(
        "| level | units per group | method | replications | coverage | false-positive rate | power | mean width | seconds |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for level in levels:
        for n in sizes:
            start = time.perf_counter()
            t = xp.calibration(
                n_reps=reps,
                n_per_group=n,
                lift=0.12,
                level=level,
                seed=seed,
                n_boot=n_boot,
                n_boot_reps=boot_reps,
            )
            secs = time.perf_counter() - start
            for _, r in t.iterrows():
                print(
                    f"| {level:.0%} | {n:,} | {r['method']} | {int(r['replications']):,} | "
                    f"{r['coverage']:.3f} | {r['fpr']:.3f} | {r['power']:.3f} | "
                    f"{r['mean_width']:.3g} | {secs:.1f} |"
                )


def multiplicity_table(
    reps: int, sizes: list[int], family: list[int], seed: int, correction: str
) -> None:
    print(
        f"\n| units per group | experiments per family | method | families | per-comparison FPR "
        f"| family-wise, uncorrected | family-wise, {correction} | seconds |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        for k in family:
            start = time.perf_counter()
            t = xp.multiplicity_calibration(
                n_reps=reps, n_experiments=k, n_per_group=n, seed=seed, correction=correction
            )
            secs = time.perf_counter() - start
            for _, r in t.iterrows():
                print(
                    f"| {n:,} | {k} | {r['method']} | {reps:,} | {r['per_comparison_fpr']:.3f} | "
                    f"{r['familywise_uncorrected']:.3f} | {r['familywise_corrected']:.3f} | "
                    f"{secs:.1f} |"
                )


def truth_table(run: Path, dataset: Path, pre_days: list[int], seed: int) -> None:
    from channelops.ingest.dataset import load_dataset

    truth = yaml.safe_load((dataset / "truth" / "experiment.yaml").read_text())
    ds = load_dataset(dataset)
    lines = pd.read_parquet(run / "tables" / "order_lines.parquet")
    weekly = pd.read_parquet(dataset / "truth" / "weekly_revenue.parquet")
    week = pd.to_datetime(weekly["week_start"])
    inside = (
        (weekly["channel_id"] == truth["channel_id"])
        & (week >= truth["start_date"])
        & (week <= truth["end_date"])
    )
    n_t = int((ds.table("experiments")["group"] == "treatment").sum())
    realised = weekly.loc[inside, "experiment_revenue"].sum() / n_t
    print(
        f"\n{truth['name']} on {truth['channel_id']}, {truth['start_date']} to {truth['end_date']}: "
        f"true relative lift {truth['true_relative_lift']:.1%}, realised extra revenue "
        f"{realised:,.1f} per treatment unit ({n_t:,} treatment units)\n"
    )
    print(
        "| estimate | CUPED pre-period, days | diff (95% CI) | relative lift (95% CI) | variance reduction |"
    )
    print("|---|---:|---|---|---:|")
    for days in pre_days:
        units = xp.unit_metrics(
            ds.table("experiments"), lines, channel_id=truth["channel_id"], pre_days=days
        )
        r = xp.analyse_experiments(units, n_boot=2000, rng=np.random.default_rng(seed)).iloc[0]
        if days == pre_days[0]:
            print(
                f"| Welch | - | {r['diff']:+.1f} ({r['welch_lo']:+.1f} to {r['welch_hi']:+.1f}) | "
                f"{r['lift']:+.1%} ({r['lift_lo']:+.1%} to {r['lift_hi']:+.1%}) | - |"
            )
            print(
                f"| bootstrap | - | {r['diff']:+.1f} ({r['boot_lo']:+.1f} to {r['boot_hi']:+.1f}) | - | - |"
            )
        print(
            f"| CUPED | {days or f'window length ({int(r.cuped_pre_days)})'} | {r['cuped_diff']:+.1f} ({r['cuped_lo']:+.1f} to "
            f"{r['cuped_hi']:+.1f}) | {r['cuped_lift']:+.1%} ({r['cuped_lift_lo']:+.1%} to "
            f"{r['cuped_lift_hi']:+.1%}) | {r['variance_reduction']:.1%} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=2000, help="replications per condition, 0 skips")
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[200, 1000, 2000], help="units per group"
    )
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--boot", type=int, default=1000, help="bootstrap resamples, 0 skips the bootstrap"
    )
    ap.add_argument("--boot-reps", type=int, default=400, help="replications that get a bootstrap")
    ap.add_argument("--run", type=Path, help="run folder with order_lines (for the truth table)")
    ap.add_argument("--dataset", type=Path, help="dataset with truth/ (for the truth table)")
    ap.add_argument("--pre-days", type=int, nargs="+", default=[0], help="CUPED pre-periods")
    ap.add_argument("--levels", type=float, nargs="+", default=[0.90, 0.95])
    ap.add_argument("--family", type=int, nargs="+", default=[3, 5], help="experiments per family")
    ap.add_argument("--family-sizes", type=int, nargs="+", default=[1000], help="units per group")
    ap.add_argument("--correction", default="holm", choices=["holm", "bh"])
    args = ap.parse_args()
    if args.reps:
        calibration_table(args.reps, args.sizes, args.levels, args.seed, args.boot, args.boot_reps)
        multiplicity_table(args.reps, args.family_sizes, args.family, args.seed, args.correction)
    if args.run and args.dataset:
        truth_table(args.run, args.dataset, args.pre_days, args.seed)


if __name__ == "__main__":
    main()
