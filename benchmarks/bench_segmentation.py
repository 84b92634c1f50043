"""Benchmark: customer features + K-means for N customers and M order lines.

    .venv/bin/python benchmarks/bench_segmentation.py --customers 1000000 --lines 10000000
    .venv/bin/python benchmarks/bench_segmentation.py --truth data/demo --seeds 42 7 1

With ``--truth DATASET`` it measures accuracy instead: the notebook's pipeline (CRM
channels, guest lines left out, features with category mix, k chosen over 4..8 by stability,
segment share and silhouette) on a simulated dataset, and
the adjusted Rand index of the segments against truth/customers.parquet, per K-means seed.

Builds synthetic canonical order lines in memory (not timed): customers with a
segment-like spread of order counts, 1-4 lines per order, two CRM channels, 2,000 SKUs in 8
categories, discounts on some lines, timestamps over two years. Then times, in one process,
each step the notebook runs on the hot path: customer_orders, customer_features (with the
category mix), rfm_scores, fit_segments with a fixed k and with k chosen by silhouette over
2..8, and predict. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from channelops.stages import segmentation as seg

STRING = pd.StringDtype("pyarrow")


def synthetic_lines(
    n_customers: int, n_lines: int, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical lines (the columns segmentation reads) and a product master."""
    rng = np.random.default_rng(seed)
    weight = rng.gamma(0.6, 1.0, n_customers)
    cust = rng.choice(n_customers, size=n_lines, p=weight / weight.sum())
    cust[:n_customers] = np.arange(n_customers)  # every customer buys at least once
    lines_per_order = 2.5
    order = np.sort(cust) * 1000 + (
        rng.random(n_lines) * rng.gamma(2.0, 4.0) / lines_per_order
    ).astype(np.int64)
    order_codes, order_ids = pd.factorize(order)
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    ts_per_order = start + rng.integers(0, 2 * 365 * 86400, len(order_ids))
    skus = np.array([f"SKU{i:05d}" for i in range(2000)], dtype=object)
    sku = skus[rng.integers(0, 2000, n_lines)]
    revenue = rng.gamma(3.0, 60.0, n_lines)
    discount = np.where(rng.random(n_lines) < 0.2, 0.1 * revenue, 0.0)
    lines = pd.DataFrame(
        {
            "buyer_ref": pd.array(np.char.add("C", np.sort(cust).astype("U8")), dtype=STRING),
            "order_id": pd.array(np.char.add("O", order.astype("U14")), dtype=STRING),
            "channel_id": pd.array(
                np.where(order % 3 == 0, "offline_pos", "own_store"), dtype=STRING
            ),
            "order_ts_local": pd.to_datetime(ts_per_order[order_codes], unit="s"),
            "sku": pd.array(sku, dtype=STRING),
            "revenue_base": revenue - discount,
            "discount_base": discount,
            "status": pd.array(
                np.where(rng.random(n_lines) < 0.05, "cancelled", "delivered"), dtype=STRING
            ),
        }
    )
    cats = np.array(
        ["electronics", "home", "beauty", "apparel", "food", "baby", "tea", "accessories"]
    )
    products = pd.DataFrame({"sku": skus, "category": cats[np.arange(2000) % 8]})
    return lines, products


def truth_ari(root: str, seeds: list[int]) -> None:
    """Print k, ARI and the share of customers given their true segment's name, per seed."""
    from sklearn.metrics import adjusted_rand_score

    from channelops.ingest.canonical import canonicalise
    from channelops.ingest.dataset import load_dataset, read_all_exports

    ds = load_dataset(root)
    lines, _ = canonicalise(read_all_exports(ds, channels=ds.crm_channel_ids).lines, ds)
    lines, _ = seg.identified_lines(lines)  # guest checkouts are no customer
    orders = seg.customer_orders(lines, money=seg.money_column(lines))
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    feats = seg.customer_features(orders, as_of, lines, ds.table("products"))
    truth = pd.read_parquet(f"{root}/truth/customers.parquet").set_index("customer_id")
    print(f"{ds.name}: {len(feats):,} customers")
    print("| seed | k | ARI | same name as truth | seconds |\n|---:|---:|---:|---:|---:|")
    for seed in seeds:
        t0 = time.perf_counter()
        model = seg.fit_segments(feats, k=0, seed=seed, k_range=(4, 8))  # 01's defaults
        found = model.predict(feats)
        true = truth.loc[found.index, "segment"]
        print(
            f"| {seed} | {model.k} | {adjusted_rand_score(true, found):.3f} | "
            f"{(true == found).mean():.3f} | {time.perf_counter() - t0:.1f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--truth", help="a simulated dataset: measure ARI against its truth")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 1])
    args = ap.parse_args()
    if args.truth:
        truth_ari(args.truth, args.seeds)
        return

    t = time.perf_counter()
    lines, products = synthetic_lines(args.customers, args.lines)
    print(f"built {len(lines):,} lines in {time.perf_counter() - t:.1f} s (not timed)")

    steps: list[tuple[str, float]] = []

    def timed(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        steps.append((name, time.perf_counter() - t0))
        print(f"  {name}: {steps[-1][1]:.1f} s", flush=True)
        return out

    orders = timed("customer_orders", seg.customer_orders, lines)
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    feats = timed(
        "customer_features (with category mix)",
        seg.customer_features,
        orders,
        as_of,
        lines,
        products,
    )
    timed("rfm_scores", seg.rfm_scores, feats)
    model = timed("fit_segments k=4", seg.fit_segments, feats, k=4, seed=args.seed)
    timed("predict", model.predict, feats)
    auto = timed(
        "fit_segments k=0 (silhouette over 2..8)", seg.fit_segments, feats, k=0, seed=args.seed
    )
    hot = sum(s for n, s in steps if n != "fit_segments k=0 (silhouette over 2..8)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print()
    print(
        f"{feats.shape[0]:,} customers, {len(orders):,} orders, {len(lines):,} lines; "
        f"chosen k = {auto.k}; peak RSS {peak:.1f} GB"
    )
    print("| step | seconds |\n|---|---:|")
    for name, sec in steps:
        print(f"| {name} | {sec:.1f} |")
    print(f"| **features + K-means (k=4) + predict** | **{hot:.1f}** |")
    print(f"| **everything, including the k search** | **{sum(s for _, s in steps):.1f}** |")


if __name__ == "__main__":
    main()
