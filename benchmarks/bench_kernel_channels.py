"""Kernel-channel tracebacks on the run's console: full tiny runs, counted.

One run in five printed ``ERROR:tornado.general ... ValueError: DELIM not in msg_list``
tracebacks (issue 24). This runs the tiny run N times (``--jobs 2``, one run at a time)
with the library of a given checkout and counts, per run, the console lines naming DELIM
and the tracebacks; with ``--lib`` pointing at an older checkout's ``lib`` folder the
notebooks and the kernels use that code (PYTHONPATH comes before the editable install).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_kernel_channels.py \\
        --runs 4 --out /tmp/kc [--lib /tmp/wt/lib] --label after
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(out: Path, lib: Path | None) -> tuple[int, int, int, float]:
    """Run the tiny run into ``out``; return (exit code, DELIM lines, tracebacks, seconds)."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "JUPYTER_PATH": str(ROOT / ".venv" / "share" / "jupyter")}
    if lib is not None:
        env["PYTHONPATH"] = str(lib)
    cmd = [sys.executable, "-m", "channelops.run.cli", "run", "--params",
           "parameters/ci.yaml", "--output", str(out), "--no-progress", "--no-report",
           "--jobs", "2"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    console = proc.stdout + proc.stderr
    delim = sum("DELIM not in msg_list" in line for line in console.splitlines())
    tracebacks = console.count("Traceback (most recent call last)")
    return proc.returncode, delim, tracebacks, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("/tmp/kernel_channels"))
    ap.add_argument("--lib", type=Path, default=None, help="a checkout's lib folder")
    ap.add_argument("--label", default="this checkout")
    args = ap.parse_args()
    for i in range(args.runs):
        code, delim, tb, seconds = one_run(args.out / f"run{i}", args.lib)
        print(f"| {args.label} | {i + 1} | {code} | {delim} | {tb} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
