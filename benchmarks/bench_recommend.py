"""Benchmark stage 07: accuracy on a simulated run against truth, and training speed at scale.

    # accuracy: needs a run folder where 01 and 03 have run on a simulated dataset
    .venv/bin/channelops run --params parameters/default.yaml -p run_name=h07_demo --only 01,03
    .venv/bin/python benchmarks/bench_recommend.py --run output/h07_demo --dataset data/demo

    # speed: 1,000,000 customers x 2,000 SKUs, ~7 purchases per customer (synthetic)
    .venv/bin/python benchmarks/bench_recommend.py --scale --customers 1000000 --skus 2000
    # the next-basket models, top-10 lists for every customer
    .venv/bin/python benchmarks/bench_recommend.py --scale --models tifu_knn next_basket \
        --all-lists [--tifu-pool 2000]

    # the notebook's cells on a run folder (e.g. a copy of the large run), time and memory
    flock /tmp/large.lock .venv/bin/python benchmarks/bench_recommend.py --cells \
        --run output/large_copy --dataset data/large [-p eval_max_customers=100_000]

Accuracy mode runs the notebook's protocol (validation window chooses, the last 8 weeks are
the test) with the notebook's defaults and prints, per model, the test precision/recall/
NDCG@10, coverage, novelty and the category-preference recovery against truth/. It also
prints the *oracle*: the Bayes-optimal ranking computed from the simulator's true generative
parameters (each customer's channel and category preferences and mean spend, the true SKU
popularity within channel x category, the simulator's price-fit choice rule integrated by
Monte Carlo), which bounds what any recommender can reach on this data.

Scale mode builds a sparse customer x SKU matrix in memory (not timed): customers in 20
taste clusters, 1 + Poisson(6) purchases each, 70% from their cluster's SKUs and 30% from
the whole catalogue, both Zipf-popular, quantities 1-3 with a recency weight. Then times
each model's fit once (and top-10 lists for 100,000 customers, or everyone with
--all-lists). Every purchase is its own basket (the basket events the next-basket models read).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from channelops.stages import recommendation as rec
from channelops.synth.scoring import recommendation as truth_scoring

MODELS = [
    "popularity",
    "segment_popularity",
    "item_item",
    "als_f8",
    "als_f16",
    "als_f32",
    "buy_again",
]


# ---------------------------------------------------------------------------- accuracy


def oracle_scores(
    dataset: str,
    customers: np.ndarray,
    skus: pd.Index,
    draws: int = 4000,
    budget_draws: int = 30,
    seed: int = 0,
    favourites: pd.DataFrame | None = None,
) -> np.ndarray:
    """Expected purchase share of each SKU per true customer under the simulator's own rule.

    The simulator picks a channel by the customer's channel preference, a category by their
    category preference, then four candidate SKUs by popularity among the channel's listed
    SKUs of that category and keeps the best price fit, -0.5 (log(price / budget) / 0.55)^2
    plus Gumbel noise (lib/channelops/synth/simulate.py, build_lines); the budget of a line
    is Gamma(5, mean_spend / 5) over 1 + min(Poisson(0.22), 3) lines. Since generator 1.1
    a line is, with the segment's habit_probability (truth/world.yaml), one of the customer's
    favourites of the category (truth/favourites.parquet) listed on the channel, uniformly;
    the rule above applies otherwise and when none of them is listed there.

    ``favourites`` replaces truth/favourites.parquet (e.g. only the favourites a customer
    has already bought: the "seen-favourites oracle").
    """
    rng = np.random.default_rng(seed)
    truth = pd.read_parquet(f"{dataset}/truth/customers.parquet").set_index("customer_id")
    demand = pd.read_parquet(f"{dataset}/truth/demand_sku.parquet")
    products = pd.read_csv(f"{dataset}/products.csv").set_index("sku")
    cats = [c[len("pref_cat_") :] for c in truth.columns if c.startswith("pref_cat_")]
    chans = [c[len("pref_channel_") :] for c in truth.columns if c.startswith("pref_channel_")]
    pop = (
        demand.assign(w=demand["popularity"] * demand["listed"])
        .pivot(index="channel_id", columns="sku", values="w")
        .reindex(index=chans, columns=skus)
        .fillna(0.0)
        .to_numpy()
    )
    cat_of = pd.Index(cats).get_indexer(products["category"].reindex(skus))
    price = products["list_price"].reindex(skus).to_numpy(float)
    grid = np.exp(np.linspace(np.log(5), np.log(20_000), 60))
    choice = np.zeros((len(chans), len(cats), len(grid), len(skus)))
    for c in range(len(chans)):
        for k in range(len(cats)):
            sel = np.flatnonzero((cat_of == k) & (pop[c] > 0))
            if len(sel) == 0:
                continue
            cand = rng.choice(sel, size=(draws, 4), p=pop[c, sel] / pop[c, sel].sum())
            noise = rng.gumbel(0, 1, (draws, 4))
            for j, budget in enumerate(grid):
                fit = -0.5 * (np.log(price[cand] / budget) / 0.55) ** 2 + noise
                pick = cand[np.arange(draws), fit.argmax(axis=1)]
                choice[c, k, j] = np.bincount(pick, minlength=len(skus)) / draws
    t = truth.loc[customers]
    chp = t[[f"pref_channel_{c}" for c in chans]].to_numpy()
    catp = t[[f"pref_cat_{c}" for c in cats]].to_numpy()
    nu = t["mean_spend"].to_numpy()
    habit_w, fav_scores = _habit_terms(
        dataset, t, chans, cats, skus, pop > 0, chp, catp, favourites
    )
    scores = np.zeros((len(customers), len(skus)))
    for _ in range(budget_draws):
        budget = rng.gamma(5.0, nu / 5.0) / (1 + np.minimum(rng.poisson(0.22, len(nu)), 3))
        j = np.clip(np.searchsorted(grid, budget), 0, len(grid) - 1)
        w = chp[:, :, None] * catp[:, None, :] * (1 - habit_w)
        scores += np.einsum("uck,ucki->ui", w, choice[:, :, j, :].transpose(2, 0, 1, 3))
    return scores / budget_draws + fav_scores


def _habit_terms(dataset, t, chans, cats, skus, listed, chp, catp, favourites=None):
    """The habitual part of the choice rule for customers ``t`` (truth rows).

    Returns (w, s): w[u, c, k] = probability that a line of customer u on channel c in
    category k is habitual (habit x [some favourite listed on c]); s[u, i] = expected share
    of SKU i from habitual lines. Zeros when the dataset has no favourites (generator 1.0).
    """
    n, C, K = len(t), len(chans), len(cats)
    w = np.zeros((n, C, K))
    s = np.zeros((n, len(skus)))
    path = f"{dataset}/truth/favourites.parquet"
    if favourites is None and not os.path.exists(path):
        return w, s
    with open(f"{dataset}/truth/world.yaml", encoding="utf-8") as fh:
        world = yaml.safe_load(fh)
    habit = t["segment"].map({g["name"]: g["habit_probability"] for g in world["segments"]})
    habit = habit.to_numpy(float)
    rows = pd.DataFrame({"customer_id": np.asarray(t.index), "u": np.arange(n)})
    fav = rows.merge(
        pd.read_parquet(path) if favourites is None else favourites, on="customer_id"
    )  # a true id may repeat in t
    u = fav["u"].to_numpy()
    k = pd.Index(cats).get_indexer(fav["category"])
    i = skus.get_indexer(fav["sku"].astype(str))
    for c in range(C):
        ok = listed[c, i]
        n_ok = np.zeros((n, K))
        np.add.at(n_ok, (u[ok], k[ok]), 1)
        has = n_ok > 0
        w[:, c, :] = habit[:, None] * has
        share = chp[u, c] * catp[u, k] * habit[u] / np.maximum(n_ok[u, k], 1)
        np.add.at(s, (u[ok], i[ok]), share[ok])
    return w, s


def accuracy(
    run: str, dataset: str, k: int = 10, seed: int = 42, exclude_seen: bool = False
) -> None:
    tables = f"{run}/tables"
    lines = rec.purchase_lines(pd.read_parquet(f"{tables}/order_lines.parquet"))
    products = pd.read_parquet(f"{tables}/products.parquet")
    segments = pd.read_parquet(f"{tables}/segments.parquet")["segment"]
    links = pd.read_parquet(f"{tables}/customer_links.parquet")
    t0 = time.perf_counter()
    result = rec.offline_evaluation(
        lines,
        MODELS,
        k=k,
        segments=segments,
        skus=products["sku"],
        seed=seed,
        exclude_seen=exclude_seen,
        progress=False,
        model_options={"categories": products.set_index("sku")["category"]},
    )
    elapsed = time.perf_counter() - t0
    truth = truth_scoring.load_truth(dataset)
    id_map = truth_scoring.true_customer_ids(links, truth["buyer_identity"])
    test = result.overall("test")
    val = result.overall("validation")
    print(f"run {run}, dataset {dataset}, k={k}, exclude_seen={exclude_seen}, seed={seed}")
    print(
        f"validation {result.validation_start.date()} .. {result.cutoff.date()}, test from "
        f"{result.cutoff.date()}; {int(test['customers'].iloc[0]):,} test customers; "
        f"evaluation {elapsed:.1f} s; chosen on validation: {result.chosen}\n"
    )
    print(
        "| model | val NDCG@k | precision@k | recall@k | NDCG@k | x popularity | coverage | "
        "novelty | lift Spearman | mean segment Spearman |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = test.loc["popularity", "ndcg_at_k"]
    for m in MODELS:
        _, s = truth_scoring.category_preference_recovery(
            result.test_recs[m], products, truth["customers"], id_map
        )
        r = test.loc[m]
        star = " (chosen)" if m == result.chosen else ""
        print(
            f"| {m}{star} | {val.loc[m, 'ndcg_at_k']:.3f} | {r['precision_at_k']:.3f} | "
            f"{r['recall_at_k']:.3f} | {r['ndcg_at_k']:.3f} | {r['ndcg_at_k'] / base:.2f} | "
            f"{r['coverage']:.3f} | {r['novelty']:.2f} | {s['lift_spearman']:.3f} | "
            f"{s['mean_segment_spearman']:.3f} |"
        )
    # the oracle, on the same test customers and the same relevance sets
    train, test_lines, _ = rec.time_split(lines, result.cutoff)
    tc = pd.Index(test_lines["customer_id"].unique())
    true_ids = tc.map(id_map)
    keep = ~pd.isna(true_ids)
    skus = pd.Index(products["sku"].astype(str))
    # the seen-favourites oracle knows every true parameter but only the favourites the
    # customer (by true id) bought in training: what a model that learns favourites from
    # purchase history could at best know
    fav = pd.read_parquet(f"{dataset}/truth/favourites.parquet")
    bought = train.assign(customer_id=train["customer_id"].map(id_map))[["customer_id", "sku"]]
    seen_fav = fav.merge(bought.dropna().astype(str).drop_duplicates(), on=["customer_id", "sku"])
    pop_per = rec.customer_metrics(result.test_recs["popularity"], test_lines, k)
    chosen_per = rec.customer_metrics(result.test_recs[result.chosen], test_lines, k)
    seen = rec.build_interactions(train, skus=skus) if exclude_seen else None
    print(
        f"\n{len(seen_fav):,} of {len(fav):,} true favourites were bought in training by the "
        "customer"
    )
    for label, favourites in (("oracle", None), ("seen-favourites oracle", seen_fav)):
        scores = oracle_scores(
            dataset, np.asarray(true_ids[keep]), skus, seed=seed, favourites=favourites
        )
        if seen is not None:
            rows = seen.rows(tc[keep])
            mask = np.zeros_like(scores, dtype=bool)
            ok = rows >= 0
            mask[ok] = seen.matrix[rows[ok]].toarray() > 0
            scores[mask] = -np.inf
        idx, val_ = rec.top_k(scores, k)
        oracle = pd.DataFrame(
            {
                "customer_id": np.repeat(tc[keep].to_numpy(), idx.shape[1]),
                "rank": np.tile(np.arange(1, idx.shape[1] + 1), int(keep.sum())),
                "sku": skus.to_numpy()[idx.ravel()],
            }
        )
        oracle = oracle[np.isfinite(val_.ravel())]
        per = rec.customer_metrics(oracle, test_lines, k)
        same = per.index
        warm = same.isin(train["customer_id"].unique())
        o, p, c = (x.loc[same, "ndcg_at_k"].mean() for x in (per, pop_per, chosen_per))
        print(
            f"{label} (true generative parameters), {len(same):,} test customers with a true "
            f"id: NDCG@{k} {o:.3f} (warm {per.loc[warm, 'ndcg_at_k'].mean():.3f}, cold "
            f"{per.loc[~warm, 'ndcg_at_k'].mean():.3f}); popularity {p:.3f}; {result.chosen} "
            f"{c:.3f}"
        )
        print(
            f"  {label} / popularity = {o / p:.2f}; {result.chosen} / popularity = {c / p:.2f}; "
            f"share of the {label}'s gain over popularity reached: {(c - p) / (o - p):.0%}"
        )
    cohort = pd.Series(
        np.where(chosen_per.index.isin(train["customer_id"].unique()), "warm", "cold"),
        index=chosen_per.index,
    )
    by = pd.DataFrame(
        {result.chosen: chosen_per["ndcg_at_k"], "popularity": pop_per["ndcg_at_k"]}
    ).groupby(cohort)
    print(f"\nby cohort (NDCG@{k}, customers):\n{by.mean().round(3).join(by.size().rename('n'))}")


# ---------------------------------------------------------------------------- speed


def synthetic_matrix(n_customers: int, n_skus: int, seed: int = 1) -> rec.Interactions:
    """Customers in 20 taste clusters, 1 + Poisson(6) purchases each (see module doc)."""
    rng = np.random.default_rng(seed)
    n_clusters = 20
    per = 1 + rng.poisson(6.0, n_customers)
    cust = np.repeat(np.arange(n_customers), per)
    cluster = rng.integers(0, n_clusters, n_customers)[cust]
    zipf = 1.0 / np.arange(1, n_skus + 1) ** 1.0
    zipf /= zipf.sum()
    global_pick = rng.choice(n_skus, len(cust), p=zipf)
    own = n_skus // n_clusters
    local_rank = rng.choice(own, len(cust), p=zipf[:own] / zipf[:own].sum())
    local_pick = cluster * own + local_rank
    item = np.where(rng.random(len(cust)) < 0.7, local_pick, global_pick)
    age = rng.uniform(0, 730, len(cust))
    weight = (1 + rng.poisson(0.4, len(cust))) * 0.5 ** (age / 180)
    matrix = sp.csr_matrix((weight.astype(np.float32), (cust, item)), shape=(n_customers, n_skus))
    matrix.sum_duplicates()
    counts = sp.csr_matrix(
        (np.ones(len(cust), np.float32), (cust, item)), shape=(n_customers, n_skus)
    )
    counts.sum_duplicates()
    customers = pd.Index(np.char.add("C", np.arange(n_customers).astype("U8")), name="customer_id")
    skus = pd.Index([f"SKU{i:05d}" for i in range(n_skus)], name="sku")
    # basket events: every purchase its own basket, numbered from the customer's latest
    order = np.lexsort((age, cust))  # cust is sorted already; by age within each customer
    start = np.searchsorted(cust[order], np.arange(n_customers))
    basket = np.arange(len(cust)) - start[cust[order]]
    events = pd.DataFrame(
        {"row": cust[order], "col": item[order], "age_days": age[order], "basket": basket}
    )
    return rec.Interactions(
        matrix, customers, skus, pd.Timestamp("2025-01-01", tz="UTC"), counts, events=events
    )


def speed(
    n_customers: int,
    n_skus: int,
    factors: list[int],
    iterations: int,
    models: list[str] | None = None,
    all_lists: bool = False,
    tifu_pool: int | None = None,
) -> None:
    t0 = time.perf_counter()
    data = synthetic_matrix(n_customers, n_skus)
    built = time.perf_counter() - t0
    nnz = data.matrix.nnz
    print(
        f"matrix {n_customers:,} x {n_skus:,}, {nnz:,} non-zero ({nnz / n_customers:.1f} distinct "
        f"SKUs per customer, density {nnz / n_customers / n_skus:.3%}); built in {built:.1f} s "
        f"(not timed); load average before: {os.getloadavg()[0]:.2f}\n"
    )
    sample = data.customers[:: max(1, n_customers // 100_000)][:100_000]
    if all_lists:
        sample = data.customers
    print(
        f"| model | fit seconds (wall) | fit CPU seconds | top-10 for {len(sample):,} customers, "
        "seconds (wall) | top-10 CPU seconds |"
    )
    print("|---|---:|---:|---:|---:|")
    names = models or ["popularity", "item_item", "buy_again", *[f"als_f{f}" for f in factors]]
    tifu = {} if tifu_pool is None else {"neighbour_pool": tifu_pool}
    for name in names:
        model = rec.make_model(name, iterations=iterations, tifu_options=tifu)
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(data)
        fit, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        rec.recommend(model, sample, k=10)
        top, top_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"| {name} | {fit:.1f} | {cpu:.1f} | {top:.1f} | {top_cpu:.1f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\npeak RSS {peak:.1f} GB; load average after: {os.getloadavg()[0]:.2f}")


def notebook_cells(run: str, dataset: str, params: list[str]) -> None:
    """Run 07's code cells in this process on a run folder; wall seconds and peak RSS per cell.

    The parameters cell is followed by ``dataset``/``output_dir`` and ``params`` (NAME=VALUE,
    Python literals); tables and figures are written into ``run`` like the stage does.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    nb = nbformat.read(os.path.join(root, "notebooks", "07_recommendation.ipynb"), 4)
    extra = "".join(f"\n{p}" for p in params)
    ns: dict = {"display": lambda *a, **k: None}
    start = time.perf_counter()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        src = cell.source
        if "parameters" in (cell.metadata.get("tags") or []):
            src += (
                f"\ndataset = {os.path.abspath(dataset)!r}\noutput_dir = {os.path.abspath(run)!r}"
            )
            src += extra
        t0, c0 = time.perf_counter(), time.process_time()
        exec(compile(src, f"cell {i}", "exec"), ns)
        plt.close("all")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            f"cell {i:2d}: {time.perf_counter() - t0:7.1f} s wall, "
            f"{time.process_time() - c0:7.1f} s CPU, peak RSS {peak:5.2f} GB",
            flush=True,
        )
    print(f"total {time.perf_counter() - start:.1f} s; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="run folder with 01 and 03 tables (accuracy mode)")
    ap.add_argument("--dataset", help="the simulated dataset of that run, with truth/")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--exclude-seen", action="store_true", help="never recommend bought products")
    ap.add_argument("--scale", action="store_true", help="speed mode on a synthetic matrix")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--skus", type=int, default=2_000)
    ap.add_argument("--factors", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--models", nargs="+", help="speed mode: only these models (default: all)")
    ap.add_argument("--all-lists", action="store_true", help="speed mode: lists for everyone")
    ap.add_argument("--tifu-pool", type=int, help="speed mode: tifu_knn's neighbour_pool")
    ap.add_argument(
        "--cells", action="store_true", help="time the notebook's cells on --run / --dataset"
    )
    ap.add_argument("-p", "--param", action="append", default=[], help="cells mode: NAME=VALUE")
    args = ap.parse_args()
    if args.cells and args.run and args.dataset:
        notebook_cells(args.run, args.dataset, args.param)
    elif args.scale:
        speed(
            args.customers,
            args.skus,
            args.factors,
            args.iterations,
            args.models,
            args.all_lists,
            args.tifu_pool,
        )
    elif args.run and args.dataset:
        accuracy(args.run, args.dataset, k=args.k, seed=args.seed, exclude_seen=args.exclude_seen)
    else:
        ap.error("give --run and --dataset (accuracy) or --scale (speed)")


if __name__ == "__main__":
    main()
