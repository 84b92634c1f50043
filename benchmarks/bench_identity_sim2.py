"""Stage 03's identity resolution on Simulator 2 datasets, scored against the true identities.

    .venv/bin/channelops synth --scenario multi_category --size demo --seed 3 --out /tmp/h7/demo3
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_identity_sim2.py \
        --dataset data/demo /tmp/h7/demo3 /tmp/h7/demo7

For each dataset, the calls of notebook 03 with its default parameters (seed 42, pairs at
or above 0.5, threshold 0.9, no reviewer's file): the intake's lines and buyer records
(what 00 writes), ``identified_buyers``, ``probabilistic_pairs``, ``link_buyers``. Scored
against ``truth/buyer_identity.parquet`` (benchmarks only; no stage reads truth):

* pairwise precision / recall / F1 over pairs of channel buyers
  (``channelops.synth.scoring.integration.pairwise_link_scores``), for the deterministic
  rules alone and with the model;
* cluster precision / recall / F1: a predicted customer is right when its buyers are
  exactly the buyers of one true customer (precision over predicted customers, recall
  over true customers);
* the buyers wrongly split off and wrongly merged, with the best model probability of a
  split buyer towards its true customer (no personal values printed).

Prints one JSON line per dataset.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

from channelops.ingest import buyers as byr
from channelops.ingest import intake
from channelops.ingest.dataset import load_dataset
from channelops.stages import integration as integ
from channelops.synth.scoring.integration import pairwise_link_scores

KEY = ["channel_id", "buyer_ref"]


def cluster_scores(links: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Exact-cluster precision, recall and F1 of ``links`` against ``truth``.

    Both: channel_id, buyer_ref, customer_id; only buyers in both are scored. A cluster is
    the set of buyers of one customer_id; a predicted cluster is correct when the same set
    is a true cluster.
    """
    m = (
        links[[*KEY, "customer_id"]]
        .astype("string")
        .merge(truth[[*KEY, "customer_id"]].astype("string"), on=KEY, suffixes=("_p", "_t"))
    )
    m["b"] = m["channel_id"] + ":" + m["buyer_ref"]
    pred = m.groupby("customer_id_p")["b"].agg(frozenset)
    true = m.groupby("customer_id_t")["b"].agg(frozenset)
    correct = len(set(pred) & set(true))
    p = correct / len(pred) if len(pred) else 1.0
    r = correct / len(true) if len(true) else 1.0
    return {
        "cluster_precision": p,
        "cluster_recall": r,
        "cluster_f1": 2 * p * r / (p + r) if p + r else 0.0,
        "predicted_clusters": len(pred),
        "true_clusters": len(true),
    }


def errors(links: pd.DataFrame, truth: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    """Buyers split from their true customer's main cluster, buyers merged into a cluster
    that is mostly another true customer, and the split buyers' best pair probability to a
    record of their true customer (``None`` when never scored)."""
    m = (
        links[[*KEY, "customer_id", "rule"]]
        .astype({"channel_id": "string", "buyer_ref": "string", "customer_id": "string"})
        .merge(truth[[*KEY, "customer_id"]].astype("string"), on=KEY, suffixes=("_p", "_t"))
    )
    # the predicted cluster holding most of a true customer's buyers is "its" cluster
    main = m.groupby(["customer_id_t", "customer_id_p"]).size().rename("n").reset_index()
    main = main.sort_values("n", ascending=False).drop_duplicates("customer_id_t")
    own = main.set_index("customer_id_t")["customer_id_p"]
    split = m.loc[m["customer_id_p"] != m["customer_id_t"].map(own)]
    major = main.sort_values("n", ascending=False).drop_duplicates("customer_id_p")
    owner = major.set_index("customer_id_p")["customer_id_t"]
    merged = m.loc[m["customer_id_t"] != m["customer_id_p"].map(owner)]
    node = "b:" + m["channel_id"] + ":" + m["buyer_ref"]
    true_of = dict(zip(node, m["customer_id_t"], strict=True))
    best: list[float | None] = []
    for _, row in split.iterrows():
        me = f"b:{row['channel_id']}:{row['buyer_ref']}"
        hit = pairs.loc[(pairs["node_l"] == me) | (pairs["node_r"] == me)]
        other = hit["node_r"].where(hit["node_l"] == me, hit["node_l"])
        mine = other.map(lambda n: true_of.get(n, n[2:] if n.startswith("c:") else None))
        probs = hit.loc[(mine == row["customer_id_t"]).to_numpy(), "match_probability"]
        best.append(round(float(probs.max()), 4) if len(probs) else None)
    return {
        "split_buyers": len(split),
        "split_rules": split["rule"].value_counts().to_dict(),
        "split_best_probability": sorted(best, key=lambda x: -1 if x is None else x),
        "merged_buyers": len(merged),
    }


def run(dataset: Path, seed: int, threshold: float, min_probability: float) -> dict:
    """One dataset through 03's identity calls, scored; see the module docstring."""
    ds = load_dataset(dataset)
    buyers = integ.identified_buyers(byr.buyer_records(intake.ingest_lines(ds).lines))
    crm, crm_channels = ds.table("customers"), list(ds.crm_channel_ids)
    t0 = time.perf_counter()
    rules = integ.link_buyers(buyers, crm, crm_channels)
    pairs = integ.probabilistic_pairs(
        buyers, crm, crm_channels, min_probability=min_probability, seed=seed
    )
    links = integ.link_buyers(buyers, crm, crm_channels, pairs=pairs, threshold=threshold)
    seconds = time.perf_counter() - t0
    truth = pd.read_parquet(dataset / "truth" / "buyer_identity.parquet")
    out: dict = {"dataset": str(dataset), "buyers": len(buyers), "pairs": len(pairs)}
    for name, lk in (("rules", rules), ("model", links)):
        s = pairwise_link_scores(lk, truth)
        out |= {f"{name}_{k}": round(s[k], 5) for k in ("precision", "recall", "f1")}
    out["true_pairs"] = pairwise_link_scores(links, truth)["true_pairs"]
    out |= {k: round(v, 5) for k, v in cluster_scores(links, truth).items()}
    out |= errors(links, truth, pairs)
    out["links_by_rule"] = links["rule"].value_counts().to_dict()
    out["identity_s"] = round(seconds, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, nargs="+", required=True)
    ap.add_argument("--seed", type=int, default=42, help="03's seed (u sampling)")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--min-probability", type=float, default=0.5)
    args = ap.parse_args(argv)
    for d in args.dataset:
        res = run(d, args.seed, args.threshold, args.min_probability)
        print(json.dumps(res, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
