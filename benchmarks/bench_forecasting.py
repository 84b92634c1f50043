"""Stage 04 benchmark: speed on 1,000 series and the acceptance figures on the demo run.

Run from the repository root:

    .venv/bin/python benchmarks/bench_forecasting.py speed [--series 1000 --days 730 --windows 3]
    .venv/bin/python benchmarks/bench_forecasting.py demo --run /tmp/fc_run --dataset /tmp/fc_demo

``speed`` simulates SKU x channel daily demand (negative binomial counts around a weekly
profile, a yearly wave, promotions, prices and late starts), then times notebook 04's
pipeline with its defaults (the candidate models of the notebook's ``forecast_models``
parameter, read from the notebook; promotion, price and holiday features; the nested choice
with shrinkage; intervals per velocity class): rolling-origin backtest, metrics and nested
choice, cross-conformal coverage, the future forecast. Target: under 60 s.

``same --ref COMMIT`` runs the backtest and the future forecast with 04's ``models.py`` and
``gbm.py`` as they were at COMMIT and as they are now, on the same synthetic series (with
promotions, prices and holidays, every model chosen for some series), and says whether the
frames are equal: a speed change must not change the forecasts.

``demo`` reads ``intake_lines`` from a run folder where stage 00 has run and prints the
acceptance figures of issue 6 and of the forecasting issue (chosen against the best single
model, coverage per velocity class): chosen / seasonal-naive weighted MASE (target <= 0.85),
80% and 95% interval coverage (within 3 points), the simulated fill rate against the
target (within 1.5 points) and average stock against the naive policy at the same fill rate.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.stages import forecasting as fc
from channelops.stages.forecasting import inventory as inv

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_forecasting.ipynb"
#: Holidays of the synthetic calendar (Christmas, New Year, Easter Monday of 2023-2024).
HOLIDAYS = pd.DatetimeIndex(
    ["2023-04-10", "2023-12-25", "2023-12-26", "2024-01-01", "2024-04-01", "2024-12-25"]
)


def notebook_default(name: str) -> str:
    """The default of string parameter ``name`` in notebook 04's parameters cell."""
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        m = re.search(rf'^{name}: str = "([^"]*)"', "".join(cell["source"]), re.M)
        if m:
            return m.group(1)
    raise KeyError(f"{NOTEBOOK} has no parameter {name}")


def synthetic_series(n: int, days: int, seed: int) -> pd.DataFrame:
    """Daily SKU x channel counts: level x weekday x yearly wave x promotion, NB noise;
    with the day's promo flag and the SKU's net unit price (a list price, 15% off on
    promotion days) as demand_features would give them."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=days, freq="D")
    level = np.exp(rng.normal(0.0, 1.2, n))
    weekday = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(days) % 7) / 7)
    wave = 1 + 0.2 * np.sin(2 * np.pi * np.arange(days) / 365.25)
    promo = rng.random(days) < 0.08
    mu = level[:, None] * (weekday * wave * np.where(promo, 1.8, 1.0))[None, :]
    y = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    start = np.where(rng.random(n) < 0.15, rng.integers(0, days - 10, n), 0)
    keep = np.arange(days)[None, :] >= start[:, None]
    r, c = np.nonzero(keep)
    list_price = np.round(rng.gamma(4.0, 5.0, n), 2)
    return pd.DataFrame(
        {
            "channel_id": np.array([f"ch{i % 6}" for i in range(n)])[r],
            "sku": np.array([f"SKU{i:05d}" for i in range(n)])[r],
            "date": dates[c],
            "units": y[r, c],
            "promo": promo[c],
            "price": list_price[r] * np.where(promo[c], 0.85, 1.0),
        }
    )


def speed(args: argparse.Namespace) -> None:
    features = synthetic_series(args.series, args.days, args.seed)
    series = features[["channel_id", "sku", "date", "units"]]
    models = fc.model_names(args.models)
    fc.forecast_matrix("croston_sba", np.ones((2, 30)), 3)  # warm-up: numba compilation
    kw = {"features": features, "seed": args.seed, "holidays": HOLIDAYS}
    steps = {}
    t0 = time.perf_counter()
    bt = fc.backtest(series, models, horizon=args.horizon, n_windows=args.windows, **kw)
    steps[f"backtest ({len(models)} models)"] = time.perf_counter() - t0
    t = time.perf_counter()
    metrics = fc.series_metrics(bt)
    chosen = fc.chosen_backtest(bt, metrics, nested=True, shrink=args.shrink)
    scored = pd.concat([bt, chosen.drop(columns="chosen_model")], ignore_index=True)
    summary = fc.model_summary(scored).set_index("model")
    steps["metrics, nested choice, summary"] = time.perf_counter() - t
    t = time.perf_counter()
    cov = fc.interval_coverage(scored, (0.8, 0.95))
    fc.velocity_coverage(chosen, (0.8, 0.95), max(args.interval_classes, 2))
    steps["coverage (per model, per velocity class)"] = time.perf_counter() - t
    t = time.perf_counter()
    choice = fc.choose_models(metrics, shrink=args.shrink)
    fc.forecast_future(
        series,
        choice,
        bt,
        args.horizon,
        0.8,
        chosen=chosen,
        velocity_classes=args.interval_classes,
        **kw,
    )
    steps["future forecast"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    print(
        f"{args.series} series x {args.days} days, {args.windows} windows of {args.horizon} days; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"models {args.models}; nested choice, shrink {args.shrink}, "
        f"{args.interval_classes} velocity classes"
    )
    print("\n| step | seconds |\n|---|---|")
    for k, v in steps.items():
        print(f"| {k} | {v:.1f} |")
    print(f"| **total** | **{total:.1f}** |")
    ratio = summary.loc["chosen", "weighted_mase"] / summary.loc["seasonal_naive", "weighted_mase"]
    print(f"\nchosen / seasonal naive weighted MASE: {ratio:.3f}")
    print(cov[cov["model"] == "chosen"].to_string(index=False))


def _models_at(ref: str):
    """04's models module as it was at git ``ref`` (with that commit's gbm module)."""
    root = Path(__file__).resolve().parents[1]
    pkg = "lib/channelops/stages/forecasting"

    def source(name: str) -> str:
        return subprocess.run(
            ["git", "show", f"{ref}:{pkg}/{name}"], cwd=root, check=True, capture_output=True
        ).stdout.decode()

    gbm_old = type(sys)("gbm_at_ref")
    exec(compile(source("gbm.py"), f"{ref}:gbm.py", "exec"), gbm_old.__dict__)
    old = type(sys)("models_at_ref")
    sys.modules["gbm_at_ref"] = gbm_old
    text = source("models.py").replace("from .gbm import", "from gbm_at_ref import")
    exec(compile(text, f"{ref}:models.py", "exec"), old.__dict__)
    return old


def same(args: argparse.Namespace) -> None:
    old, new = _models_at(args.ref), fc.models
    features = synthetic_series(args.series, args.days, args.seed)
    series = features[["channel_id", "sku", "date", "units"]]
    models = fc.model_names(args.models)
    kw = {"features": features, "seed": args.seed, "holidays": HOLIDAYS}
    times = {}
    frames = {}
    for label, m in (("ref", old), ("now", new)):
        t = time.perf_counter()
        bt = m.backtest(series, models, args.horizon, args.windows, **kw)
        keys = series[["channel_id", "sku"]].drop_duplicates().reset_index(drop=True)
        choice = keys.assign(model=np.array(models)[np.arange(len(keys)) % len(models)])
        fut = m.future_points(series, choice, args.horizon, **kw)
        times[label] = time.perf_counter() - t
        frames[label] = (bt, fut)
    print(
        f"{args.series} series, models {','.join(models)}; {args.ref} {times['ref']:.1f} s, "
        f"now {times['now']:.1f} s"
    )
    print("backtest equal:", frames["ref"][0].equals(frames["now"][0]))
    print("future forecast equal:", frames["ref"][1].equals(frames["now"][1]))


def truth_bound(scored: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A hindsight forecast from the simulator's truth, on the rows of one model of ``scored``.

    Each scored day's forecast is the channel's true expected units that day
    (``truth/demand.parquet``, promotions and shocks included) times the SKU's share of the
    channel's realised units in that same window, rescaled so the channel's window total is
    its realised total. It knows the future mix and level, so no forecaster made before the
    window can beat it in expectation (squared error): what it leaves is the day-to-day
    noise of the counts. ``truth x k`` also picks, in hindsight, the factor k that gives the
    lowest weighted MASE (the median of a sparse count is below its mean, and MASE rewards
    the median).

    Returns:
        rows with :data:`channelops.stages.forecasting.models.BACKTEST_COLUMNS`, model
        ``truth`` and ``truth x k``.
    """
    base = scored[scored["model"] == scored["model"].iloc[0]].copy()
    dem = pd.read_parquet(Path(dataset) / "truth" / "demand.parquet")
    dem["date"] = pd.to_datetime(dem["date"])
    base = base.merge(dem[["channel_id", "date", "expected_units"]], on=["channel_id", "date"])
    g = base.groupby(["channel_id", "window"])
    sku_units = base.groupby(["channel_id", "sku", "window"])["actual"].transform("sum")
    share = sku_units / g["actual"].transform("sum")
    days = base.drop_duplicates(["channel_id", "window", "date"])
    expected = days.groupby(["channel_id", "window"])["expected_units"].sum()
    total = g["actual"].transform("sum")
    level = total / pd.MultiIndex.from_frame(base[["channel_id", "window"]]).map(expected)
    base["forecast"] = base["expected_units"] * level * share
    base = base.drop(columns="expected_units").assign(model="truth")
    best, best_k = None, 1.0
    for k in np.arange(0.3, 1.01, 0.05):
        wm = fc.model_summary(base.assign(forecast=base["forecast"] * k))["weighted_mase"].iloc[0]
        if best is None or wm < best:
            best, best_k = wm, k
    scaled = base.assign(forecast=base["forecast"] * best_k, model=f"truth x {best_k:.2f}")
    return pd.concat([base, scaled], ignore_index=True)


def demo(args: argparse.Namespace) -> None:
    from channelops.ingest.dataset import load_dataset
    from channelops.run.folder import read_table

    t0 = time.perf_counter()
    lines = read_table("intake_lines", args.run)
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    bt = fc.backtest(
        series,
        fc.model_names(args.models),
        horizon=args.horizon,
        n_windows=args.windows,
        features=features,
        seed=args.seed,
    )
    chosen = fc.chosen_backtest(bt, nested=args.nested, shrink=args.shrink)
    # every model scored on the windows the (nested) choice is scored on
    same = bt[bt["window"].isin(chosen["window"].unique())]
    scored = pd.concat([same, chosen.drop(columns="chosen_model")], ignore_index=True)
    cov = fc.interval_coverage(scored, (0.8, 0.95))
    truth = truth_bound(same, args.dataset) if args.truth else None
    summary = fc.model_summary(
        scored if truth is None else pd.concat([scored, truth], ignore_index=True)
    ).set_index("model")
    print(
        f"{series.groupby(['channel_id', 'sku']).ngroups} series; forecasting "
        f"{time.perf_counter() - t0:.1f} s; nested {args.nested}, shrink {args.shrink}\n"
    )
    print(summary.round(3).to_string())
    wm = summary["weighted_mase"]
    ratio = wm["chosen"] / wm["seasonal_naive"]
    print(f"\nchosen / seasonal naive weighted MASE: {ratio:.3f}")
    single = wm.drop(["chosen", *(truth["model"].unique() if truth is not None else [])])
    if truth is not None:
        for m in truth["model"].unique():
            print(
                f"{m} (hindsight, from the simulator's truth) / best single model: "
                f"weighted MASE {wm[m] / single.min():.3f}, mean RMSSE "
                f"{summary.loc[m, 'mean_rmsse'] / summary.loc[single.index, 'mean_rmsse'].min():.3f}"
            )
    simple = single.drop([m for m in fc.models.COMBO_MODELS if m in single.index])
    print(
        f"chosen / best single model ({single.idxmin()}) weighted MASE: "
        f"{wm['chosen'] / single.min():.3f} (target <= 0.95)"
    )
    print(
        f"chosen / best single model without the combinations ({simple.idxmin()}): "
        f"{wm['chosen'] / simple.min():.3f}"
    )
    print(
        "share of the choice:",
        (
            chosen.drop_duplicates(["channel_id", "sku", "window"])["chosen_model"]
            .value_counts(normalize=True)
            .round(3)
            .to_dict()
        ),
    )
    print(cov[cov["model"] == "chosen"].round(3).to_string(index=False))
    vcov = fc.velocity_coverage(chosen, (0.8, 0.95), 5)
    print(vcov.round(3).to_string(index=False))
    if args.quick:
        return
    levels = fc.level_backtest(series, chosen, args.horizon, args.windows, shrink=args.shrink)
    acc = fc.level_accuracy(levels)
    print("\nwhich level forecasts best (chosen backtest windows):\n")
    print(acc.round(3).to_string(index=False))
    print(fc.coherence_finding(acc))
    unit_cost = load_dataset(args.dataset).table("products").set_index("sku")["unit_cost"]
    for by, alloc in (
        (["sku"], "cost"),
        (["channel_id", "sku"], "cost"),
        (["sku"], "item"),
        (["channel_id", "sku"], "item"),
    ):
        _, sim = inv.policy_simulation(
            chosen,
            unit_cost,
            args.lead_time,
            args.fill_rate,
            args.order_cost,
            args.holding_rate,
            by=by,
            allocation=alloc,
        )
        print(
            f"\npolicy simulation, stock per {' x '.join(by)}, {alloc} allocation, target fill rate {args.fill_rate}:\n"
        )
        cols = [
            "policy",
            "knob",
            "fill_rate",
            "stockout_days",
            "average_stock_units",
            "average_stock_value",
            "holding_cost",
            "turnover_per_year",
            "orders",
        ]
        print(sim[cols].round(3).to_string(index=False))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--series", type=int, default=1000)
    s.add_argument("--days", type=int, default=730)
    s.add_argument("--windows", type=int, default=3)
    s.add_argument("--horizon", type=int, default=28)
    s.add_argument("--seed", type=int, default=sum(map(ord, "forecasting")))
    s.add_argument("--shrink", type=float, default=0.2)
    s.add_argument("--interval-classes", type=int, default=5)
    q = sub.add_parser("same")
    q.add_argument("--ref", required=True, help="git commit of the code to compare with")
    q.add_argument("--series", type=int, default=300)
    q.add_argument("--days", type=int, default=500)
    q.add_argument("--windows", type=int, default=3)
    q.add_argument("--horizon", type=int, default=28)
    q.add_argument("--seed", type=int, default=5)
    d = sub.add_parser("demo")
    d.add_argument("--seed", type=int, default=42, help="the model seed (gbm)")
    d.add_argument("--run", required=True)
    d.add_argument("--dataset", required=True)
    d.add_argument("--windows", type=int, default=3)
    d.add_argument("--horizon", type=int, default=28)
    d.add_argument("--lead-time", type=int, default=7)
    d.add_argument("--fill-rate", type=float, default=0.95)
    d.add_argument("--order-cost", type=float, default=200.0)
    d.add_argument("--holding-rate", type=float, default=0.25)
    d.add_argument("--shrink", type=float, default=0.2)
    d.add_argument("--nested", action=argparse.BooleanOptionalAction, default=True)
    d.add_argument(
        "--truth",
        action="store_true",
        help="also score a hindsight forecast from the simulator's truth (truth_bound)",
    )
    d.add_argument(
        "--quick",
        action="store_true",
        help="accuracy, choice and intervals only (no level or stock sections)",
    )
    for sp in (s, q, d):
        sp.add_argument(
            "--models",
            default=notebook_default("forecast_models"),
            help="candidate models, comma separated (default: notebook 04's)",
        )
    args = p.parse_args()
    {"speed": speed, "same": same, "demo": demo}[args.cmd](args)


if __name__ == "__main__":
    main()
