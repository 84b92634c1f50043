"""Time the CLV fits on the CDNOW sample (target: BG/NBD fit under 0.1 s; lifetimes ~0.06 s).

Run from the repository root:

    .venv/bin/python benchmarks/bench_clv.py [--repeats 50]

Prints a Markdown table (median and minimum wall time of each step over the repeats) and the
fitted parameters. The summary is built once; each fit is timed separately, from arrays to
fitted model. Timing is reported, never asserted: the unit tests check the numbers only.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from channelops.stages.segmentation import clv

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "cdnow_sample_transactions.csv"


def _time(func: Callable[[], object], repeats: int) -> tuple[float, float]:
    func()  # warm-up: imports, first-call caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per step")
    args = parser.parse_args()

    transactions = pd.read_csv(DATA)
    summary = clv.rfm_summary(
        transactions,
        "customer_id",
        "date",
        "amount",
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
    )
    x = summary["frequency"].to_numpy(float)
    tx = summary["recency"].to_numpy(float)
    big_t = summary["T"].to_numpy(float)
    m = summary["monetary_value"].to_numpy(float)
    bgnbd = clv.fit_bgnbd(x, tx, big_t)
    gg = clv.fit_gamma_gamma(x, m)

    steps: dict[str, Callable[[], object]] = {
        "rfm_summary (6,919 lines, calibration + holdout)": lambda: clv.rfm_summary(
            transactions,
            "customer_id",
            "date",
            "amount",
            observation_end="1998-06-30",
            calibration_end="1997-09-30",
        ),
        "fit_bgnbd (2,357 customers)": lambda: clv.fit_bgnbd(x, tx, big_t),
        "fit_gamma_gamma (946 repeat buyers)": lambda: clv.fit_gamma_gamma(x, m),
        "customer_lifetime_value (52 weekly steps)": lambda: clv.customer_lifetime_value(
            bgnbd, gg, summary, horizon=52, discount_rate_per_period=0.002, step=1
        ),
    }
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
        f" pandas {pd.__version__}, {os.cpu_count()} CPUs, {args.repeats} repeats\n"
    )
    print("| step | median (ms) | min (ms) |")
    print("|---|---:|---:|")
    for name, func in steps.items():
        median, fastest = _time(func, args.repeats)
        print(f"| {name} | {1000 * median:.1f} | {1000 * fastest:.1f} |")
    print()
    print(
        f"BG/NBD: r={bgnbd.r:.4f} alpha={bgnbd.alpha:.4f} a={bgnbd.a:.4f} b={bgnbd.b:.4f} "
        f"LL={bgnbd.log_likelihood:.2f}"
    )
    print(f"Gamma-Gamma: p={gg.p:.4f} q={gg.q:.4f} gamma={gg.gamma:.4f} (n={gg.n_customers})")


if __name__ == "__main__":
    main()
