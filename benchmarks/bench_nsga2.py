"""Time and score the stage-02 channel plan (target: NSGA-II, population 100, 200 generations,
10 channels, under 5 s).

Run from the repository root:

    .venv/bin/python benchmarks/bench_nsga2.py [--repeats 3] [--instances 3]

Uses ``channelops.synth.scoring.channel_example`` instances (known Hill/adstock curves, 104 weeks of
simulated history per channel at 5% noise). For each instance seed it prints:

* fit error: |fitted / true - 1| of steady-state weekly revenue at the median observed spend;
* NSGA-II time: wall time of ``optimise_channel_plan`` on 10 channels with fitted curves
  (bootstrap draws, so all three objectives are live), median and minimum over repeats;
* profit gap: the profit-weighted recommendation (``{"profit": 1}``) from the fitted-curve
  run, scored on the true curves, against ``exact_best_plan`` on the true curves;
* knee gap: the same for the plain knee rule (it trades profit for reach and risk, so it
  is not expected to be near 0), and for the knee among plans within 3% of the front's best
  profit (``min_profit_share=0.97``);
* HV ratio: 5 channels, profit vs reach, NSGA-II front over ``exact_front`` (epsilon
  constraint over all subsets, 40 levels each), reference point = exact front's worst
  values moved out by 10% of its range; also NSGA-II over the union of both fronts.

Timing is reported, never asserted; the unit tests check the quality figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
import pymoo

from channelops.stages import channel_selection as ch
from channelops.synth.scoring import channel_example
from channelops.synth.scoring.channel_example import example_instance, simulate_history

CONS10 = ch.PlanConstraints(
    total_budget=60_000, min_channels=2, max_channels=6, default_max_budget=25_000
)
CONS5 = ch.PlanConstraints(
    total_budget=30_000, min_channels=1, max_channels=3, default_max_budget=20_000
)


def _fit(inst: channel_example.ExampleInstance, seed: int) -> tuple[pd.DataFrame, float]:
    spend, revenue, errors = [], [], []
    for i, (cid, curve) in enumerate(inst.curves.items()):
        hist = simulate_history(curve, n_weeks=104, noise=0.05, seed=seed * 100 + i)
        spend.append(hist[["week_start", "spend"]].assign(channel_id=cid))
        revenue.append(hist[["week_start", "revenue"]].assign(channel_id=cid))
    table = ch.fit_response_curves(
        pd.concat(spend), pd.concat(revenue), inst.channels, n_boot=100, seed=seed
    )
    for cid, curve in zip(table["channel_id"], table["curve"], strict=True):
        s = float(pd.concat(spend).query("channel_id == @cid")["spend"].median())
        errors.append(abs(float(curve.revenue(s)) / float(inst.curves[cid].revenue(s)) - 1))
    return table, float(np.max(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--instances", type=int, default=3)
    args = parser.parse_args()
    print(
        f"Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, pymoo {pymoo.__version__}\n"
    )
    print(
        "| instance | max fit error | NSGA-II 10 ch median (min) s | front size | "
        "profit gap (profit rule) | profit gap (knee) | profit gap (knee, >= 97% profit) | "
        "exact best s | HV ratio 5 ch (vs exact / vs union) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed in range(args.instances):
        inst = example_instance(10, seed=seed)
        reach = ch.segment_channel_reach(inst.segment_profiles, inst.channels)
        fitted, fit_err = _fit(inst, seed)
        times, res = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            res = ch.optimise_channel_plan(
                fitted,
                inst.channels,
                reach,
                CONS10,
                inst.target_segments,
                pop_size=100,
                n_gen=200,
                seed=seed,
            )
            times.append(time.perf_counter() - start)
        assert res is not None
        truth = ch.build_plan_model(inst.curves, inst.channels, reach, CONS10, inst.target_segments)
        start = time.perf_counter()
        best = ch.exact_best_plan(inst.curves, inst.channels, CONS10)
        t_exact = time.perf_counter() - start
        gaps = []
        for rule, share in (({"profit": 1.0}, None), ("knee", None), ("knee", 0.97)):
            plan = ch.recommend_plan(res, rule, min_profit_share=share)
            true_profit = float(ch.evaluate_plans(plan, truth)["profit"].iloc[0])
            gaps.append(1 - true_profit / float(best["profit"]))
        small = example_instance(5, seed=seed)
        reach5 = ch.segment_channel_reach(small.segment_profiles, small.channels)
        exact = ch.exact_front(
            small.curves, small.channels, reach5, CONS5, small.target_segments, n_eps=40
        )
        res5 = ch.optimise_channel_plan(
            small.curves,
            small.channels,
            reach5,
            CONS5,
            small.target_segments,
            objectives=("profit", "reach"),
            seed=0,
        )
        hv = ch.hypervolume_ratio(res5.front, exact)
        print(
            f"| {seed} | {fit_err:.2%} | {np.median(times):.2f} ({np.min(times):.2f}) | "
            f"{len(res.front)} | {gaps[0]:.2%} | {gaps[1]:.2%} | {gaps[2]:.2%} | {t_exact:.1f} | "
            f"{hv['ratio']:.4f} / {hv['ratio_union']:.4f} |"
        )


if __name__ == "__main__":
    main()
