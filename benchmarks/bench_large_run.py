"""A whole `channelops run`, timed, with per-stage and whole-run peak memory.

Runs ``channelops run --params PARAMS [--jobs N]`` as a child process and samples the
resident memory of the whole process tree (runner, stage kernels, anything they start)
every ``--interval`` seconds. Per-stage seconds and kernel peaks come from the run's
manifest (the runner records each kernel's ``VmHWM``); the whole-run peak is the largest
sampled sum, which with ``--jobs 2`` includes stages running side by side.

Usage (the issue-27 figure: the large dataset, made by
``channelops synth --size large --seed 42 --out data/large``; on a shared machine hold the
large-data lock)::

    flock /tmp/coord/large.lock nice -n 5 .venv/bin/python benchmarks/bench_large_run.py \
        --dataset data/large --run-name large_after --memory-limit 6GB \
        --memory-from output/large_before
    .venv/bin/python benchmarks/bench_large_run.py --dataset data/demo --run-name demo_bench
    .venv/bin/python benchmarks/bench_large_run.py --table-from output/large_before

Prints a Markdown table (with each stage's start and end, so stages that ran side by side
show); ``--out FILE`` also writes it (with the command, the commit and the machine);
``--table-from RUN`` prints the table of a finished run folder without running.
Targets (issue 27): large whole run <= 600 s with a process-tree peak <= 6 GB; the demo not
slower than before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of ``proc`` and all its descendants (0 for those already gone)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


class Sampler(threading.Thread):
    """Samples the process tree's memory until the process ends; keeps the peak."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.timeline: list[tuple[float, int]] = []  # (unix time, tree RSS bytes)

    def run(self) -> None:
        while True:
            try:
                if self.proc.status() == psutil.STATUS_ZOMBIE:
                    return
                rss = tree_rss(self.proc)
                self.peak = max(self.peak, rss)
                self.timeline.append((time.time(), rss))
                self.samples += 1
            except psutil.NoSuchProcess:
                return
            time.sleep(self.interval)


def git_head() -> str:
    """The commit measured (short hash and subject), with '+ local changes' when the tree
    differs from it."""
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "lib", "notebooks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return head[:100] + (" + local changes in lib/ or notebooks/" if dirty else "")


def run(params: Path, jobs: int | None, interval: float, extra: list[str]) -> dict:
    """Run channelops on ``params``; return wall seconds, tree peak and the manifest."""
    cmd = [str(ROOT / ".venv/bin/channelops"), "run", "--params", str(params), *extra]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT)
    sampler = Sampler(child.pid, interval)
    sampler.start()
    code = child.wait()
    wall = time.perf_counter() - t0
    sampler.join(timeout=5)
    return {
        "command": " ".join(cmd),
        "returncode": code,
        "wall_s": wall,
        "tree_peak_bytes": sampler.peak,
        "samples": sampler.samples,
        "timeline": sampler.timeline,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def markdown(result: dict, manifest: dict) -> str:
    """The per-stage table and the whole-run line."""
    gb = 2**30
    lines = stage_rows(manifest)
    lines.append(
        f"| **whole run** (wall, process-tree peak) | {manifest.get('status', '?')} | | | "
        f"**{result['wall_s']:.1f}** | **{result['tree_peak_bytes'] / gb:.1f}** |"
    )
    mem = psutil.virtual_memory().total / gb
    lb = ", ".join(f"{x:.1f}" for x in result["load_before"])
    la = ", ".join(f"{x:.1f}" for x in result["load_after"])
    lines += [
        "",
        f"Command: `{result['command']}` (exit {result['returncode']}); "
        f"{result['samples']} memory samples; code: {result.get('commit', '?')}.",
        f"Machine: {os.cpu_count()} cores, {mem:.0f} GB; load average before {lb}, after {la}; "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    return "\n".join(lines)


def stage_rows(manifest: dict) -> list[str]:
    """Markdown rows per stage: status, start and end (seconds after the first stage
    started, from the manifest's times), seconds and kernel peak; the memory plan's limit
    when the run had one."""
    stages = manifest.get("stages", {})
    starts = {
        k: dt.datetime.fromisoformat(e["started_at"]).timestamp()
        for k, e in stages.items()
        if e.get("started_at")
    }
    t0 = min(starts.values()) if starts else 0.0
    lines = [
        "| stage | status | start s | end s | seconds | kernel peak GB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, entry in stages.items():
        peak = entry.get("peak_rss_gb")
        seconds = entry.get("seconds", float("nan"))
        start = starts.get(key)
        where = f"{start - t0:.0f} | {start - t0 + seconds:.0f}" if start is not None else "- | -"
        lines.append(
            f"| {key} {entry.get('name', '')} | {entry.get('status', '?')} | {where} | "
            f"{seconds:.1f} | {'-' if peak is None else f'{peak:.1f}'} |"
        )
    plan = manifest.get("memory")
    if plan:
        lines.insert(
            0,
            f"Memory limit {plan.get('limit_gb')} GB, DuckDB {plan.get('duckdb_memory_limit')} "
            "per stage; stage estimates: "
            + ", ".join(f"{k} {v['gb']} GB ({v['from']})" for k, v in plan["stages"].items())
            + "\n",
        )
    return lines


def cell_peaks(run_dir: Path, timeline: list[tuple[float, int]], top: int = 3) -> str:
    """The cells with the highest sampled memory, per executed notebook of the run.

    Each cell's window comes from papermill's ``start_time``/``end_time`` metadata; its
    figure is the largest process-tree sample inside it (so with ``--jobs 2`` it includes
    the stage running alongside).
    """
    import numpy as np

    if not timeline:
        return ""
    t = np.array([x for x, _ in timeline])
    rss = np.array([r for _, r in timeline], dtype=float) / 2**30
    out = ["| stage | cell | seconds | peak GB | first line |", "|---|---:|---:|---:|---|"]
    for nb_path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb_path.read_text())["cells"]
        rows = []
        for i, cell in enumerate(cells):
            meta = cell.get("metadata", {}).get("papermill", {})
            if (
                cell["cell_type"] != "code"
                or not meta.get("start_time")
                or not meta.get("end_time")
            ):
                continue
            start = dt.datetime.fromisoformat(meta["start_time"].replace("Z", "+00:00")).timestamp()
            end = dt.datetime.fromisoformat(meta["end_time"].replace("Z", "+00:00")).timestamp()
            inside = (t >= start) & (t <= end + 0.5)
            if inside.any():
                first = (
                    "".join(cell["source"]).strip().splitlines()[0][:60] if cell["source"] else ""
                )
                rows.append((rss[inside].max(), i, end - start, first))
        for peak, i, seconds, first in sorted(rows, reverse=True)[:top]:
            out.append(f"| {nb_path.stem} | {i} | {seconds:.1f} | {peak:.1f} | `{first}` |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", type=Path, help="dataset folder (instead of --params)")
    ap.add_argument("--run-name", default="bench", help="run folder name under output/")
    ap.add_argument("--params", type=Path, help="a parameters file (instead of --dataset)")
    ap.add_argument(
        "--jobs", type=int, default=None, help="stages at a time (default: the runner's)"
    )
    ap.add_argument("--interval", type=float, default=0.5, help="memory sampling period, s")
    ap.add_argument("--no-report", action="store_true", help="skip report.html")
    ap.add_argument("--memory-limit", metavar="SIZE", help="the run's --memory-limit, e.g. 6GB")
    ap.add_argument(
        "--memory-from", metavar="RUN", help="the run's --memory-from (measured stage peaks)"
    )
    ap.add_argument(
        "--stage-memory", metavar="KEY=SIZE,...", help="the run's --stage-memory (budgets)"
    )
    ap.add_argument(
        "--table-from",
        type=Path,
        metavar="RUN",
        help="do not run: print the per-stage table of this finished run folder",
    )
    ap.add_argument("--out", type=Path, help="also write the table here")
    ap.add_argument(
        "--timeline", type=Path, help="write the sampled memory as CSV (unix_time,rss_bytes)"
    )
    ap.add_argument(
        "--cells-from",
        type=Path,
        metavar="CSV",
        help="do not run: print the top cells by memory of --run-name from a --timeline CSV",
    )
    args = ap.parse_args(argv)
    if args.table_from:
        manifest = json.loads((args.table_from / "manifest.json").read_text())
        print("\n".join(stage_rows(manifest)))
        print(f"\nwhole run (manifest): {manifest.get('seconds', float('nan')):.1f} s")
        return 0
    if (args.params is None) == (args.dataset is None) and not args.cells_from:
        ap.error("give exactly one of --params and --dataset")
    if args.cells_from:
        rows = [line.split(",") for line in args.cells_from.read_text().splitlines()[1:]]
        timeline = [(float(a), int(b)) for a, b in rows]
        print(cell_peaks(ROOT / "output" / args.run_name, timeline))
        return 0
    params = args.params
    if params is None and args.dataset is not None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        tmp.write(f"run_name: {args.run_name}\ndataset: {args.dataset}\nseed: 42\n")
        tmp.close()
        params = Path(tmp.name)
    extra = ["--no-report"] if args.no_report else []
    extra += ["--memory-limit", args.memory_limit] if args.memory_limit else []
    extra += ["--memory-from", args.memory_from] if args.memory_from else []
    extra += ["--stage-memory", args.stage_memory] if args.stage_memory else []
    commit = git_head()
    result = run(params, args.jobs, args.interval, extra)
    result["commit"] = commit
    run_name = args.run_name
    if args.params is not None:
        import yaml

        run_name = yaml.safe_load(args.params.read_text()).get("run_name", run_name)
    manifest_path = ROOT / "output" / run_name / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if args.timeline:
        args.timeline.write_text(
            "unix_time,rss_bytes\n" + "".join(f"{t:.2f},{r}\n" for t, r in result["timeline"])
        )
    table = markdown(result, manifest)
    cells = cell_peaks(ROOT / "output" / run_name, result["timeline"])
    if cells:
        table += "\n\nCells with the most memory (process tree, sampled):\n\n" + cells
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
