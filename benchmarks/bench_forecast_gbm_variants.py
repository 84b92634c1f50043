"""Variants of 04's global model on Online Retail II origins before the scored ones.

Run from the repository root:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_forecast_gbm_variants.py \\
        --dataset /tmp/or_ds --origins 2010-06-25,2010-07-23,2010-08-20 \\
        --variants gbm_b1_r150,gbm_b3_r50,gbm_b1_r450

How gbm's settings are chosen without looking at the scored windows of
``bench_forecast_real.py`` (origins 2010-09-17 / 10-15 / 11-12): each variant forecasts the
top ``--top`` uk_web SKUs (units over the 26 weeks before the origin) 28 days from each
given origin, fitted on the days before it, and is scored by RMSSE (M5 scale: the one-step
naive RMSE of the series' history), relative to the moving average. A variant is
``gbm_b<fits>_r<thousand rows per fit>[_s<seed>]``; any other name is a 04 model
(``moving_average``, ``weekday_profile``, ``combo``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from bench_forecast_real import UK_BANK_HOLIDAYS, intake

from channelops.stages import forecasting as fc
from channelops.stages.forecasting import gbm as G
from channelops.stages.forecasting import models as m

HORIZON = 28


def variant_forecast(name: str, hist: np.ndarray, dates: pd.DatetimeIndex, price) -> np.ndarray:
    """Forecast of every row of ``hist`` by the variant ``name`` (see the module docstring)."""
    if not name.startswith("gbm"):
        return m.forecast_matrix(name, hist, HORIZON)
    opts = {"b": 1, "r": 150, "s": 0}
    for part in name.split("_")[1:]:
        opts[part[0]] = int(part[1:])
    f = G.gbm_forecast(
        hist,
        HORIZON,
        dates,
        m._base_for_gbm(7, 28),
        price=price[:, : hist.shape[1]],
        holidays=pd.DatetimeIndex(UK_BANK_HOLIDAYS),
        seed=opts["s"],
        bags=opts["b"],
        bag_rows=opts["r"] * 1000,
    )
    return np.clip(np.nan_to_num(f), 0, None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="folder for the converted dataset")
    p.add_argument("--origins", default="2010-06-25,2010-07-23,2010-08-20")
    p.add_argument("--variants", default="gbm_b1_r150,gbm_b3_r50")
    p.add_argument("--top", default="50,200", help="SKUs scored per origin, comma separated")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lines = intake(Path(args.dataset or Path(tmp) / "online_retail")).lines
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    del lines
    keys, dates, y = m.series_matrix(series)
    price = m._price_matrix(features, dates)
    uk = (keys["channel_id"] == "uk_web").to_numpy()
    tops = [int(t) for t in args.top.split(",")]
    names = ["moving_average", *[v for v in args.variants.split(",") if v != "moving_average"]]
    scores: dict[tuple[int, str], list[np.ndarray]] = {}
    for day in args.origins.split(","):
        o = dates.get_loc(pd.Timestamp(day))
        hist = y[:, :o]
        order = np.argsort(-np.nansum(hist[:, -182:], axis=1) * uk, kind="stable")
        scale = np.sqrt(np.nanmean(np.diff(hist, axis=1) ** 2, axis=1))
        for name in names:
            f = variant_forecast(name, hist, dates[:o], price)
            err = np.sqrt(np.mean((f - y[:, o : o + HORIZON]) ** 2, axis=1)) / scale
            for n in tops:
                scores.setdefault((n, name), []).append(err[order[:n]])
    print("| variant | " + " | ".join(f"top {n}: mean RMSSE / moving average" for n in tops) + " |")
    print("|---|" + "---:|" * len(tops))
    for name in names:
        cells = []
        for n in tops:
            v = np.mean(np.concatenate(scores[(n, name)]))
            ma = np.mean(np.concatenate(scores[(n, "moving_average")]))
            cells.append(f"{v:.4f} / {v / ma:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
