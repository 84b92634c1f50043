"""Scaling benchmark: the heavy steps of 01, 03 and 04 on one engine, timed.

Run from the repository root, one process per engine (a process holds one SparkContext):

    .venv/bin/python benchmarks/bench_scaling.py --dataset data/demo --engine local
    .venv/bin/python benchmarks/bench_scaling.py --dataset data/demo --engine "local[1]"
    .venv/bin/python benchmarks/bench_scaling.py --dataset data/demo --engine "local[2]"

Inputs are prepared with the local code and not timed: canonical, de-duplicated order lines
(all channels; the CRM channels' for 01), buyer records (03) and daily demand series (04).
Then each step is timed as the notebooks call it:

* ``features``: ``customer_orders`` + ``customer_features`` (01);
* ``identity``: ``probabilistic_pairs`` (03: splink on DuckDB or on Spark);
* ``backtest``: ``backtest`` of the default models, 28-day horizon, 3 windows (04);
* ``future``: ``forecast_future`` with the per-series choice (04).

``session`` is the SparkSession start (JVM and jar loading), paid once per run. Prints one
JSON line with the seconds, the row counts, a content hash of each result (so the engines'
outputs can be compared) and the load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import pandas as pd

from channelops.ingest import buyers as byr
from channelops.ingest import intake


def _hash(frame: pd.DataFrame, round_to: int = 9) -> str:
    d = frame.reset_index(drop=not frame.index.name)
    d = d.round(round_to) if round_to is not None else d
    return hashlib.sha256(
        pd.util.hash_pandas_object(d.astype(str), index=False).values
    ).hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="data/demo")
    ap.add_argument("--engine", default="local")
    ap.add_argument("--steps", default="features,identity,backtest,future")
    args = ap.parse_args()
    steps = args.steps.split(",")

    from channelops.engine import is_spark, spark_session
    from channelops.ingest.canonical import canonicalise
    from channelops.ingest.dataset import load_dataset, read_export
    from channelops.stages import forecasting as fc
    from channelops.stages import integration as integ
    from channelops.stages import segmentation as seg

    load_before = os.getloadavg()
    ds = load_dataset(args.dataset)
    raw = pd.concat([read_export(ds, ch.id).lines for ch in ds.channels], ignore_index=True)
    canon, _ = canonicalise(raw, ds)
    lines, _ = intake.remove_duplicate_rows(canon, intake.line_no_numbered(ds))
    crm_lines = lines.loc[lines["channel_id"].isin(list(ds.crm_channel_ids))]
    products = ds.table("products")
    crm, crm_channels = ds.table("customers"), list(ds.crm_channel_ids)
    buyers = byr.buyer_records(lines)
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    out: dict = {
        "engine": args.engine,
        "dataset": args.dataset,
        "rows": {
            "order_lines": len(lines),
            "crm_lines": len(crm_lines),
            "buyers": len(buyers),
            "series": int(series.groupby(["channel_id", "sku"]).ngroups),
        },
        "seconds": {},
        "hash": {},
    }
    engine = args.engine
    if is_spark(engine):
        t = time.perf_counter()
        spark_session(engine).range(1).count()
        out["seconds"]["session"] = round(time.perf_counter() - t, 1)

    if "features" in steps:
        t = time.perf_counter()
        orders = seg.customer_orders(crm_lines, engine=engine)
        as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
        feats = seg.customer_features(
            orders, as_of, lines=crm_lines, products=products, engine=engine
        )
        out["seconds"]["features"] = round(time.perf_counter() - t, 1)
        out["hash"]["features"] = _hash(feats)
    if "identity" in steps:
        t = time.perf_counter()
        pairs = integ.probabilistic_pairs(buyers, crm, crm_channels, seed=42, engine=engine)
        links = integ.link_buyers(buyers, crm, crm_channels, pairs=pairs, threshold=0.9)
        out["seconds"]["identity"] = round(time.perf_counter() - t, 1)
        out["hash"]["identity_customer_ids"] = _hash(
            links[["channel_id", "buyer_ref", "customer_id"]]
        )
        out["pairs"] = len(pairs)
    if "backtest" in steps or "future" in steps:
        t = time.perf_counter()
        bt = fc.backtest(
            series, fc.DEFAULT_MODELS, 28, 3, features=features, seed=42, engine=engine
        )
        out["seconds"]["backtest"] = round(time.perf_counter() - t, 1)
        out["hash"]["backtest"] = _hash(bt)
        if "future" in steps:
            choice = fc.choose_models(fc.series_metrics(bt))
            t = time.perf_counter()
            fut = fc.forecast_future(
                series, choice, bt, 28, 0.8, features=features, seed=42, engine=engine
            )
            out["seconds"]["future"] = round(time.perf_counter() - t, 1)
            out["hash"]["future"] = _hash(fut)
    out["seconds"]["total_steps"] = round(
        sum(v for k, v in out["seconds"].items() if k != "session"), 1
    )
    out["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
