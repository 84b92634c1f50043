"""Measure every truth-scored benchmark figure on two checkouts (old and new simulator).

    git worktree add /tmp/h8/old d18fc80   # old simulator, new layout
    git worktree add /tmp/h8/new 2efd93c   # simulator 2
    .venv/bin/python benchmarks/bench_sim2_remeasure.py --old /tmp/h8/old --new /tmp/h8/new \
        --seeds 42 3 7 --out /tmp/h8/logs

For each seed and each checkout (``PYTHONPATH=<checkout>/lib``, the checkout's own
benchmark scripts and notebooks), in this order, one step at a time under ``nice -n 19``:

* ``synth``: ``channelops synth --scenario multi_category --size demo --seed N``;
* ``run``: ``channelops run --only 00,01,03`` (the tables the benchmarks below read);
* ``seg``: ``bench_segmentation.py --truth DATASET --seeds 42`` (01: ARI against truth;
  guest lines left out first as notebook 01 does, see ``SEG_SHIM``);
* ``identity``: ``bench_integration.py --step identity`` (03: pairwise P/R/F1 vs truth);
* ``dedup``: ``bench_integration.py --step dedup`` (03: export duplicates vs truth);
* ``exp``: ``bench_experiments.py --reps 0`` (06: interval vs true lift and realised effect);
* ``rec``: ``bench_recommend.py`` (07: NDCG@10 vs popularity, category recovery vs truth);
* ``fc``: ``bench_forecasting.py demo`` (04: MASE ratio, interval coverage, fill rate);
* ``ch``: ``bench_channels_truth.py`` (02: curve error vs true curves, plan's true gap;
  at d18fc80 with ``ingest_lines`` found where it lives, see ``CH_SHIM``).

Each step's stdout/stderr goes to ``OUT/<world>_<seed>_<step>.log``; a step whose log ends
with ``# done`` is skipped on a re-run, so the script resumes. Figures are read from the
logs by hand into benchmarks/results/simulator2_remeasure.md.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# bench_segmentation.py --truth at 2efd93c feeds guest lines (no buyer_ref) to
# customer_orders, which refuses them; this runs that script with what notebook 01 does
# first (identified_lines, money_column) when the checkout has them (the old one has not).
SEG_SHIM = """
import runpy, sys
import channelops.stages.segmentation as seg
if hasattr(seg, "identified_lines"):
    _orders = seg.customer_orders
    def customer_orders(lines, *a, **k):
        lines, _ = seg.identified_lines(lines)
        return _orders(lines, *a, money=seg.money_column(lines), **k)
    seg.customer_orders = customer_orders
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

# bench_channels_truth.py at d18fc80 imports ingest_lines from its pre-layout home
# (channelops.stages.integration); the function lives in channelops.ingest.intake there.
CH_SHIM = """
import runpy, sys
import channelops.stages.integration as integration
if not hasattr(integration, "ingest_lines"):
    from channelops.ingest.intake import ingest_lines
    integration.ingest_lines = ingest_lines
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

STEPS = ("synth", "run", "seg", "identity", "dedup", "exp", "rec", "fc", "ch")


def step_command(step: str, tree: Path, data: Path, run: Path, seed: int) -> list[str]:
    """The command of one step, run from the checkout ``tree``."""
    py = [sys.executable]
    cli = [*py, "-m", "channelops.run.cli"]
    bench = tree / "benchmarks"
    return {
        "synth": [*cli, "synth", "--scenario", "multi_category", "--size", "demo"]
        + ["--seed", str(seed), "--out", str(data)],
        "run": [*cli, "run", "--dataset", str(data), "--output", str(run), "--no-progress"]
        + ["--no-report", "--jobs", "1", "--only", "00,01,03", "-p", f"seed={seed}"],
        "seg": [
            *py,
            "-c",
            SEG_SHIM,
            str(bench / "bench_segmentation.py"),
            "--truth",
            str(data),
            "--seeds",
            "42",
        ],
        "identity": [*py, str(bench / "bench_integration.py"), "--dataset", str(data)]
        + ["--step", "identity"],
        "dedup": [*py, str(bench / "bench_integration.py"), "--dataset", str(data)]
        + ["--step", "dedup"],
        "exp": [*py, str(bench / "bench_experiments.py"), "--reps", "0", "--run", str(run)]
        + ["--dataset", str(data)],
        "rec": [*py, str(bench / "bench_recommend.py"), "--run", str(run), "--dataset", str(data)]
        + ["--seed", str(seed)],
        "fc": [*py, str(bench / "bench_forecasting.py"), "demo", "--run", str(run)]
        + ["--dataset", str(data)],
        "ch": [*py, "-c", CH_SHIM, str(bench / "bench_channels_truth.py"), "--seeds", str(seed)],
    }[step]


def run_step(world: str, tree: Path, seed: int, step: str, out: Path) -> None:
    """Run one step unless its log says it finished; append ``# done`` and the seconds."""
    log = out / f"{world}_{seed}_{step}.log"
    if log.exists() and log.read_text(encoding="utf-8").rstrip().endswith("# done"):
        return
    data, run = out / f"{world}_demo{seed}", out / f"{world}_run{seed}"
    cmd = ["nice", "-n", "19", *step_command(step, tree, data, run, seed)]
    env = dict(os.environ, PYTHONPATH=str(tree / "lib"), OMP_NUM_THREADS="1")
    env.setdefault("JUPYTER_PATH", str(Path(sys.executable).parents[1] / "share" / "jupyter"))
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        rc = subprocess.run(cmd, cwd=tree, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
        secs = time.perf_counter() - t0
        fh.write(f"\n# exit {rc}, {secs:.0f} s wall\n" + ("# done\n" if rc == 0 else ""))
    print(f"{world} seed {seed} {step}: exit {rc}, {secs:.0f} s", flush=True)


def _num(pattern: str, text: str, group: int = 1) -> float:
    m = re.search(pattern, text, re.MULTILINE)
    return float(m.group(group)) if m else float("nan")


def figures(log: Path, step: str) -> dict[str, str]:
    """The figures of one finished step's log, as printed (empty when the step did not end)."""
    if not log.exists():
        return {}
    text = log.read_text(encoding="utf-8")
    if not text.rstrip().endswith("# done"):
        return {}
    out: dict[str, str] = {}
    if step == "seg":
        m = re.search(r"^\| 42 \| (\d+) \| ([0-9.]+) \| ([0-9.]+) \|", text, re.MULTILINE)
        if m:
            out["01 segments: ARI vs true segments (k)"] = f"{m.group(2)} (k {m.group(1)})"
    elif step == "identity":
        js = json.loads(next(line for line in text.splitlines() if line.startswith("{")))
        out["03 identity: splink P / R / F1 (threshold 0.9)"] = (
            f"{js['splink_precision']:.4f} / {js['splink_recall']:.4f} / {js['splink_f1']:.4f}"
        )
        out["03 identity: exact rules recall"] = f"{js['rules_recall']:.4f}"
    elif step == "dedup":
        js = json.loads(next(line for line in text.splitlines() if line.startswith("{")))
        out["03 duplicates: found / matching truth / true"] = (
            f"{js['duplicates']:,} / {js.get('duplicates_matching_truth', 0):,} / "
            f"{js.get('truth_duplicates', 0):,}"
        )
    elif step == "exp":
        true = _num(r"true relative lift ([0-9.]+)%", text)
        real = _num(r"realised extra revenue ([0-9.]+) per", text)
        for label, pre in (("365", "365"), ("window-length", "window length")):
            m = re.search(
                rf"^\| CUPED \| {pre} \| ([+-][0-9.]+) \(([+-][0-9.]+) to ([+-][0-9.]+)\) \| "
                r"([+-][0-9.]+)% \(([+-][0-9.]+)% to ([+-][0-9.]+)%\)",
                text,
                re.MULTILINE,
            )
            if not m:
                continue
            d, dlo, dhi, lift, llo, lhi = map(float, m.groups())
            out[f"06 experiment: CUPED-{label} lift (95% CI) vs true lift"] = (
                f"{lift:+.1f}% ({llo:+.1f} to {lhi:+.1f}) vs {true:.1f}%: "
                + ("covers" if llo < true < lhi else "**misses**")
            )
            out[f"06 experiment: CUPED-{label} diff (95% CI) vs realised per unit"] = (
                f"{d:+.1f} ({dlo:+.1f} to {dhi:+.1f}) vs {real:.1f}: "
                + ("covers" if dlo < real < dhi else "**misses**")
            )
    elif step == "rec":
        chosen = re.search(r"chosen on validation: (\w+)", text)
        m = re.search(
            r"^\| \w+ \(chosen\) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| ([0-9.]+) \| "
            r"([0-9.]+) \| ([0-9.]+) \| [0-9.]+ \| ([0-9.-]+) \|",
            text,
            re.MULTILINE,
        )
        if chosen and m:
            out["07 recommend: chosen NDCG@10 x popularity"] = f"{m.group(2)} ({chosen.group(1)})"
            out["07 recommend: chosen category-lift Spearman vs truth"] = m.group(4)
        oracle = _num(r"oracle / popularity = ([0-9.]+)", text)
        share = _num(r"share of the oracle's gain over popularity reached: ([0-9]+)%", text)
        out["07 recommend: oracle x popularity; share of its gain reached"] = (
            f"{oracle:.2f}; {share:.0f}%"
        )
    elif step == "fc":
        out["04 forecast: chosen / seasonal naive wMASE"] = (
            f"{_num(r'seasonal naive weighted MASE: ([0-9.]+)', text):.3f}"
        )
        c80 = _num(r"^\s*chosen\s+([0-9.]+)\s+[0-9.]+\s+0\.80$", text)
        c95 = _num(r"^\s*chosen\s+([0-9.]+)\s+[0-9.]+\s+0\.95$", text)
        out["04 forecast: interval coverage 80% / 95%"] = f"{c80:.3f} / {c95:.3f}"
        fill = _num(
            r"stock per sku, cost allocation.*\n(?:.*\n){0,3}?\s*forecast_fill_rate\s+[0-9.]+\s+([0-9.]+)",
            text,
        )
        out["04 stock: fill rate at target 0.95 (per SKU, cost)"] = f"{fill:.3f}"
    elif step == "ch":
        out.update(_channel_figures(text))
    return out


def _channel_figures(text: str) -> dict[str, str]:
    """02's figures from bench_channels_truth.py: worst fit error (order lines, calendar
    base) at 1x and over 0.5x/1x/2x the median spend, and the default rule's plan (100 x 200)
    gap on the true curves and, with simulator 2's truth, the share of the best true gain."""
    out: dict[str, str] = {}
    m = re.search(r"^\| lines \| calendar \| ([0-9.]+) \| ([0-9.]+) \|", text, re.MULTILINE)
    if m:
        out["02 curves: max abs(fit / true - 1) at 1x median spend"] = m.group(1)
        out["02 curves: max abs(fit / true - 1) at 0.5x, 1x, 2x"] = m.group(2)
    head: list[str] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| nsga2 |"):
            head = cells
        elif head and line.startswith("| 100x200 |") and "(default)" in line:
            row = dict(zip(head, cells, strict=True))
            out["02 plan: default rule's true profit gap (100x200)"] = row["gap"]
            out["02 plan: share of best true gain captured (sim 2 scoring)"] = row.get(
                "sim2_capture", "n/a (no such truth)"
            )
    return out


# target of each figure, as the results files and tests state it ("-": none stated)
TARGETS = {
    "01 segments: ARI vs true segments (k)": ">= 0.8 (demo); test >= 0.85 (tiny)",
    "02 curves: max abs(fit / true - 1) at 1x median spend": "<= 0.10 (demo)",
    "02 curves: max abs(fit / true - 1) at 0.5x, 1x, 2x": "test < 0.30 (tiny)",
    "02 plan: default rule's true profit gap (100x200)": "<= 0.05 (demo); test < 0.12 (tiny)",
    "02 plan: share of best true gain captured (sim 2 scoring)": "-",
    "03 duplicates: found / matching truth / true": "all found, no other",
    "03 identity: exact rules recall": "- (test: every pair sharing phone/e-mail)",
    "03 identity: splink P / R / F1 (threshold 0.9)": "P and R >= 0.99 (tiny test)",
    "04 forecast: chosen / seasonal naive wMASE": "<= 0.85",
    "04 forecast: interval coverage 80% / 95%": "within 3 points",
    "04 stock: fill rate at target 0.95 (per SKU, cost)": "0.95 within 1.5 points",
    "06 experiment: CUPED-365 lift (95% CI) vs true lift": "covers",
    "06 experiment: CUPED-365 diff (95% CI) vs realised per unit": "covers",
    "06 experiment: CUPED-window-length lift (95% CI) vs true lift": "covers",
    "06 experiment: CUPED-window-length diff (95% CI) vs realised per unit": "covers",
    "07 recommend: chosen NDCG@10 x popularity": ">= 1.5 (issue); test > 1.2 (tiny)",
    "07 recommend: chosen category-lift Spearman vs truth": "test > 0.4 (tiny)",
    "07 recommend: oracle x popularity; share of its gain reached": "-",
}


def table(out: Path, seeds: list[int]) -> str:
    """Markdown: one row per figure (target, step), old seeds then new seeds."""
    cols = [(w, s) for w in ("old", "new") for s in seeds]
    rows: dict[str, dict[tuple[str, int], str]] = {}
    steps: dict[str, str] = {}
    for w, s in cols:
        for step in STEPS[2:]:
            for name, value in figures(out / f"{w}_{s}_{step}.log", step).items():
                rows.setdefault(name, {})[(w, s)] = value
                steps[name] = step
    head = "| figure | target | step | " + " | ".join(f"{w} {s}" for w, s in cols) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(cols)]
    for name in sorted(rows):
        cells = " | ".join(rows[name].get(c, "not run") for c in cols)
        lines.append(f"| {name} | {TARGETS.get(name, '-')} | {steps[name]} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="checkout of the old simulator")
    ap.add_argument("--new", type=Path, required=True, help="checkout of simulator 2")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 3, 7])
    ap.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    ap.add_argument("--out", type=Path, required=True, help="datasets, runs and logs")
    ap.add_argument("--table", action="store_true", help="only print the figures of the logs")
    args = ap.parse_args()
    if args.table:
        print(table(args.out, args.seeds))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for step in args.steps:
            for world, tree in (("old", args.old), ("new", args.new)):
                run_step(world, tree.resolve(), seed, step, args.out.resolve())


if __name__ == "__main__":
    main()
