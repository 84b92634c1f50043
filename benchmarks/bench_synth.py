"""Benchmark of the simulator: wall time and peak memory of generating a dataset.

Usage:
    .venv/bin/python benchmarks/bench_synth.py                 # demo, multi_category
    .venv/bin/python benchmarks/bench_synth.py --large         # also the large size
    .venv/bin/python benchmarks/bench_synth.py --scenario social --out /tmp/bench

Each size runs in a fresh subprocess so peak memory (ru_maxrss of that child) is its own.
Prints one line per run: scenario, size, seconds, peak RSS in MB, order lines, files' rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, sys, time
from channelops.synth import generate_dataset
t = time.perf_counter()
counts = generate_dataset(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                          progress=True)
print(json.dumps({"seconds": time.perf_counter() - t, "counts": counts}))
"""


def run(out: Path, scenario: str, size: str, seed: int) -> dict:
    """Generate one dataset in a child process; return seconds, peak MB and counts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), scenario, size, str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_with_startup"] = wall
    res["peak_mb"] = max(peak_kb, before) / 1024  # ru_maxrss is in KiB on Linux
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="multi_category")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--large", action="store_true", help="also run the large size")
    ap.add_argument("--out", default=None, help="folder for the datasets (default: temp)")
    args = ap.parse_args()
    sizes = ["demo", "large"] if args.large else ["demo"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        for size in sizes:
            r = run(root / f"{args.scenario}_{size}", args.scenario, size, args.seed)
            lines = sum(v for k, v in r["counts"].items() if k.startswith("orders/"))
            print(
                f"{args.scenario:15s} {size:6s} generate {r['seconds']:7.1f} s "
                f"(process {r['wall_with_startup']:.1f} s)  peak RSS {r['peak_mb']:7.0f} MB  "
                f"order lines {lines:,}"
            )
            for k, v in r["counts"].items():
                print(f"    {k:35s} {v:>12,}")


if __name__ == "__main__":
    main()
