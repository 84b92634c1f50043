"""Kernel-channel tracebacks on the run's console: full tiny runs, counted.

One run in five printed ``ERROR:tornado.general ... ValueError: DELIM not in msg_list``
tracebacks (issue 24). This runs the tiny run N times (``--jobs 2``, one run at a time)
with the library of a given checkout and counts, per run, the console lines naming DELIM
and the tracebacks; with ``--lib`` pointing at an older checkout's ``lib`` folder the
notebooks and the kernels use that code (PYTHONPATH comes before the editable install).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_kernel_channels.py \\
        --runs 4 --out /tmp/kc [--lib /tmp/wt/lib] --label after

``--stray N`` replays the cause instead: a kernel is started the old way (TCP ports, the
kernel's stderr on the console) and the new way (:func:`channelops.run.kernel.
stage_kernel_manager`, stderr to a log file), and a socket that is not a Jupyter client
sends N one-frame ``ping`` messages to its control channel, as a heartbeat still retrying a
port another kernel had would. Printed: tracebacks on the console and in the log.
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


_STRAY = """
import json, sys, tempfile, time, zmq
from pathlib import Path
from jupyter_client.manager import KernelManager
from channelops.run.kernel import ensure_kernel, stage_kernel_manager
new, n = sys.argv[1] == "new", int(sys.argv[2])
ensure_kernel()
log = open(sys.argv[3], "wb")
if new:
    km, folder = stage_kernel_manager("channelops")
    km = KernelManager(kernel_name="channelops", transport="ipc", ip=km.ip)
    km.start_kernel(stdout=log, stderr=log)
else:
    km = KernelManager(kernel_name="channelops")
    km.start_kernel()
kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=60)
info = km.get_connection_info()
sep = ":" if info["transport"] == "tcp" else "-"
sock = zmq.Context().socket(zmq.DEALER)
sock.connect(f"{info['transport']}://{info['ip']}{sep}{info['control_port']}")
for _ in range(n):
    sock.send(b"ping"); time.sleep(0.3)
time.sleep(1.0)
kc.stop_channels(); km.shutdown_kernel(now=True)
if new:
    import shutil; shutil.rmtree(folder, ignore_errors=True)
"""


def stray(n: int) -> None:
    """Replay the cause on a kernel started the old way and the new way; print counts."""
    env = {**os.environ, "JUPYTER_PATH": str(ROOT / ".venv" / "share" / "jupyter")}
    for how in ("old", "new"):
        log = Path(f"/tmp/kernel_channels_{how}.log")
        proc = subprocess.run([sys.executable, "-c", _STRAY, how, str(n), str(log)], cwd=ROOT,
                              env=env, capture_output=True, text=True)  # fmt: skip
        console = (proc.stdout + proc.stderr).count("DELIM not in msg_list")
        logged = log.read_text().count("DELIM not in msg_list") if log.exists() else 0
        print(f"| {how} | {n} | {console} | {logged} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("/tmp/kernel_channels"))
    ap.add_argument("--lib", type=Path, default=None, help="a checkout's lib folder")
    ap.add_argument("--label", default="this checkout")
    ap.add_argument("--stray", type=int, default=0, help="replay N stray pings instead")
    args = ap.parse_args()
    if args.stray:
        stray(args.stray)
        return
    for i in range(args.runs):
        code, delim, tb, seconds = one_run(args.out / f"run{i}", args.lib)
        print(f"| {args.label} | {i + 1} | {code} | {delim} | {tb} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
