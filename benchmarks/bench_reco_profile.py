"""Stage 07's steps one by one on a run folder: seconds (wall and CPU) and memory of each.

Replays notebook 07's cells with its default parameters (read the purchases, the full
matrix, the offline evaluation with every candidate, the refit, the lists for everyone
with the assortment's shares from the same scores, the assortment) and prints, per step,
wall and CPU seconds, the resident memory after it and the process's peak so far; inside
the evaluation, the seconds of each candidate's fit and lists. Optionally writes the three
tables to compare them with a run's (``--out``).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_reco_profile.py \\
        --run output/demo --dataset data/demo

On a run folder made from data/large, hold the large-data lock (flock /tmp/coord/large.lock).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from channelops.ingest.dataset import load_dataset
from channelops.run.folder import read_table, table_file
from channelops.stages import recommendation as rec
from channelops.stages.recommendation import evaluate as ev


def _memory() -> dict[str, float]:
    """VmRSS and VmHWM of this process, GB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1]) / 2**20
    return out


class Clock:
    """Prints each step's wall and CPU seconds and the memory after it."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def mark(self, what: str) -> None:
        wall, cpu, mem = time.perf_counter(), time.process_time(), _memory()
        print(
            f"{what:48s} wall {wall - self.wall:7.1f} s  cpu {cpu - self.cpu:7.1f} s  "
            f"rss {mem['VmRSS']:.2f} GB  peak {mem['VmHWM']:.2f} GB",
            flush=True,
        )
        self.wall, self.cpu = wall, cpu


def _timed(stats: dict, key, fn):
    """``fn`` that adds its wall and CPU seconds to ``stats[key(args)]``."""

    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        name = key(args) if callable(key) else key
        entry = stats.setdefault(name, [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - wall
        entry[2] += time.process_time() - cpu
        return out

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run folder with 01's and 03's tables")
    ap.add_argument("--dataset", type=Path, required=True, help="its dataset folder")
    ap.add_argument("--sample", type=int, default=100_000, help="eval_max_customers (0: all)")
    ap.add_argument("--out", type=Path, help="write the three tables here")
    args = ap.parse_args()
    seed, k, half_life = 42, 10, 180.0
    stats: dict = {}
    make = ev.make_model

    def make_timed(name, **options):
        model = make(name, **options)
        model.fit = _timed(stats, f"fit {name}", model.fit)
        return model

    ev.make_model = make_timed
    ev.recommend = _timed(stats, lambda a: f"lists {a[0].name}", ev.recommend)
    ev.training_inputs = _timed(stats, "training inputs", ev.training_inputs)
    ev.summarise_metrics = _timed(stats, "summarise_metrics", ev.summarise_metrics)

    clock = Clock()
    ds = load_dataset(args.dataset)
    acc, lines, codes = rec.read_purchases(table_file("order_lines", args.run), allow_empty=True)
    products = rec.catalogue(read_table("products", args.run), codes)
    channels = read_table("channels", args.run)
    segments = read_table("segments", args.run, columns=["segment"])["segment"]
    profiles = read_table("segment_profiles", args.run)
    clock.mark(f"read: {len(lines):,} purchase lines")
    print(rec.left_out_sentence(acc, ds.base_currency))
    full = rec.build_interactions(lines, half_life_days=half_life, skus=products["sku"])
    clock.mark(f"matrix {full.shape[0]:,} x {full.shape[1]:,}")
    candidates = rec.candidate_names([8, 16], [2, 3], [2])
    options = rec.model_options(products.set_index("sku")["category"], 10.0, 1.0, 15, 4.0, 300, 8)
    result = rec.offline_evaluation(
        lines, candidates, k=k, segments=segments, half_life_days=half_life, skus=products["sku"],
        seed=seed, model_options=options, progress=False, max_customers=args.sample or None,
        explore_tolerance=0.08,
    )  # fmt: skip
    clock.mark(f"offline evaluation (chosen {result.chosen})")
    for name, (n, wall, cpu) in sorted(stats.items(), key=lambda kv: -kv[1][2]):
        print(f"    {name:44s} x{n}  wall {wall:7.1f} s  cpu {cpu:7.1f} s")
    model = rec.make_model(result.chosen, seed=seed, **options).fit(full, segments)
    clock.mark(f"refit {result.chosen} on everyone")
    everyone = pd.Index(lines["customer_id"].unique()).union(segments.index.astype(str))
    sums = rec.share_sums(model, lines, channels, profiles, segments, half_life_days=half_life)
    recs = rec.recommend(model, everyone, k=k, segments=segments, on_scores=sums)
    clock.mark(f"lists for {len(everyone):,} customers")
    affinity, status, weekly, _ = rec.channel_affinities(
        model, lines, channels, profiles, segments, half_life_days=half_life, sums=sums
    )
    prices = rec.unit_prices(lines, products)
    sold = lines[["channel_id", "sku"]].drop_duplicates()
    assortment = rec.build_assortment(
        affinity, weekly, prices, status=status, sold=sold, products=products
    )
    clock.mark("channel affinities and assortment")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        recs.to_parquet(args.out / "recommendations.parquet")
        result.metrics.to_parquet(args.out / "recommender_metrics.parquet")
        assortment.to_parquet(args.out / "channel_assortment.parquet")


if __name__ == "__main__":
    main()
