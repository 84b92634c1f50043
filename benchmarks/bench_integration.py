"""Benchmark of the integration merge on a simulated dataset (issue 5's speed targets).

    .venv/bin/channelops synth --size large --seed 42 --out /tmp/int_large   # ~2 min, once
    .venv/bin/python benchmarks/bench_integration.py --dataset /tmp/int_large --step dedup
    .venv/bin/python benchmarks/bench_integration.py --dataset /tmp/int_large --step identity

``dedup``: ``intake.ingest_lines`` (read + validate + canonicalise + remove repeated rows,
channel by channel, the accepted lines of all channels concatenated at the end); checks rows read = accepted + duplicates +
quarantined and, when ``truth/`` exists, the duplicates against the simulator's.

``identity``: ``ingest_lines`` and ``buyer_records`` (not in the identity total), then the
deterministic rules, the splink pairs and the final links; times the identity part only
and scores the links pairwise against ``truth/buyer_identity.parquet``.

Each step runs in a fresh child process so that the peak RSS (``ru_maxrss``) is its own.
Prints one JSON line per step.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from channelops.ingest import buyers as byr
from channelops.ingest import intake
from channelops.synth.scoring.integration import pairwise_link_scores


def _say(msg: str) -> None:
    print(
        f"[{time.strftime('%H:%M:%S')}] {msg} (peak {_peak_mib():,.0f} MiB)",
        file=sys.stderr,
        flush=True,
    )


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dedup(dataset: Path) -> dict:
    import pandas as pd

    from channelops.ingest.dataset import load_dataset

    t0 = time.perf_counter()
    ds = load_dataset(dataset)
    res = intake.ingest_lines(ds)
    total = time.perf_counter() - t0
    all_lines, duplicates = res.lines, res.duplicates
    n_read, n_quar = sum(res.rows_read.values()), len(res.quarantine)
    out = {
        "step": "dedup",
        "rows_read": n_read,
        "accepted": len(all_lines),
        "duplicates": len(duplicates),
        "quarantined": n_quar,
        "balanced": n_read == len(all_lines) + len(duplicates) + n_quar,
        "total_s": round(total, 1),
        "peak_rss_mib": round(_peak_mib()),
    }
    truth = dataset / "truth" / "duplicate_rows.parquet"
    if truth.exists():
        td = pd.read_parquet(truth, columns=["source_file", "row"])
        both = (
            duplicates[["source_file", "row"]]
            .astype({"row": "int64"})
            .merge(td.astype({"row": "int64"}), on=["source_file", "row"])
        )
        out["truth_duplicates"] = len(td)
        out["duplicates_matching_truth"] = len(both)
    return out


def _identity(dataset: Path, threshold: float) -> dict:
    import pandas as pd

    from channelops.ingest.dataset import load_dataset
    from channelops.stages import integration as integ

    ds = load_dataset(dataset)
    t = time.perf_counter()
    lines = intake.ingest_lines(ds).lines
    buyers = byr.buyer_records(lines)
    del lines
    gc.collect()
    t_prepare = time.perf_counter() - t
    _say(f"{len(buyers):,} buyer records")
    crm = ds.table("customers")
    crm_channels = list(ds.crm_channel_ids)
    t0 = time.perf_counter()
    rule_links = integ.link_buyers(buyers, crm, crm_channels)
    t_rules = time.perf_counter() - t0
    _say("rules done")
    t = time.perf_counter()
    pairs = integ.probabilistic_pairs(buyers, crm, crm_channels, min_probability=0.5, seed=42)
    t_pairs = time.perf_counter() - t
    _say(f"splink pairs done: {pairs.attrs.get('note', '')}")
    t = time.perf_counter()
    links = integ.link_buyers(buyers, crm, crm_channels, pairs=pairs, threshold=threshold)
    t_link = time.perf_counter() - t
    out = {
        "step": "identity",
        "buyers": len(buyers),
        "crm_customers": 0 if crm is None else len(crm),
        "prepare_s": round(t_prepare, 1),
        "rules_s": round(t_rules, 1),
        "splink_pairs_s": round(t_pairs, 1),
        "link_s": round(t_link, 1),
        "identity_total_s": round(time.perf_counter() - t0, 1),
        "pairs": len(pairs),
        "note": pairs.attrs.get("note", ""),
        "threshold": threshold,
        "peak_rss_mib": round(_peak_mib()),
    }
    truth = dataset / "truth" / "buyer_identity.parquet"
    if truth.exists():
        tb = pd.read_parquet(truth)
        for name, lk in (("rules", rule_links), ("splink", links)):
            s = pairwise_link_scores(lk, tb)
            out[f"{name}_precision"] = round(s["precision"], 5)
            out[f"{name}_recall"] = round(s["recall"], 5)
            out[f"{name}_f1"] = round(s["f1"], 5)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--step", choices=["dedup", "identity", "all"], default="all")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.step == "dedup":
            result = _dedup(args.dataset)
        else:
            result = _identity(args.dataset, args.threshold)
        print(json.dumps(result, ensure_ascii=False))
        return
    steps = ["dedup", "identity"] if args.step == "all" else [args.step]
    for step in steps:
        cmd = [sys.executable, __file__, "--child", "--dataset", str(args.dataset)]
        cmd += ["--step", step, "--threshold", str(args.threshold)]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(done.returncode)
        print(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
