"""The ``channelops`` command line.

    channelops synth --scenario multi_category --size demo --seed 42 --out data/demo
    channelops run [--params FILE] [--dataset DIR] [--only 01,03] [--output DIR] [-p k=v ...]
    channelops check DATASET              # the run's intake without the run; exit 2 if it would fail
    channelops init FOLDER                # recognise platform exports, write dataset.yaml + mappings
    channelops nbval-prepare --params parameters/ci.yaml --into build/nbval
    channelops compare output/demo output/social   # KPI deltas between two runs -> CSV

Exit codes: 0 success, 1 a stage failed, 2 bad parameters or bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from channelops import __version__
from channelops.ingest.dataset import DatasetError, DatasetWarning, load_dataset
from channelops.ingest.platforms.scaffold import plan_dataset, printable, write_plan
from channelops.run.checkreport import check_dataset, report_lines, write_quarantine_csv
from channelops.run.csv_safe import neutralise_formulas
from channelops.run.folder import RunFolderError
from channelops.run.params import (
    ParameterError,
    load_param_file,
    parse_overrides,
    validate_params,
)
from channelops.run.registry import select_stages
from channelops.synth import generate_dataset

__all__ = ["main"]


def _resolve_run(args: argparse.Namespace) -> tuple[Any, list, Path, dict[str, set[str]]]:
    """Merge the parameter file, --dataset and -p overrides; validate; pick stages."""
    from channelops.run import kernel  # lazy: papermill and Jupyter load slowly

    values: dict[str, Any] = {}
    source = "parameters"
    if args.params:
        values.update(load_param_file(args.params))
        source = str(args.params)
    values.update(parse_overrides(args.param))
    if getattr(args, "dataset", None):
        values["dataset"] = args.dataset
    stages = select_stages(getattr(args, "only", None))
    folder = kernel.notebooks_dir()
    notebooks = [folder / s.notebook for s in select_stages(None)]
    specs = kernel.notebook_param_specs(notebooks)
    params = validate_params(values, specs, source=source)
    declared: dict[str, set[str]] = {nb.name: set() for nb in notebooks}
    for spec in specs.values():
        for nb in spec.notebooks:
            declared[nb].add(spec.name)
    output = (
        Path(args.output) if getattr(args, "output", None) else Path("output") / params.run_name
    )
    return params, stages, output, declared


def _cmd_run(args: argparse.Namespace) -> int:
    from channelops.run import runner  # lazy: papermill and Jupyter load slowly

    if args.jobs is not None and args.jobs < 1:
        print(f"--jobs must be 1 or more (stages at a time), got {args.jobs}", file=sys.stderr)
        return 2
    params, stages, output, declared = _resolve_run(args)
    jobs = args.jobs if args.jobs is not None else runner.default_jobs(params.dataset)
    print(f"channelops run '{params.run_name}': {len(stages)} notebook(s) -> {output}")
    if jobs > 1 and len(stages) > 1:
        print(f"  up to {jobs} independent stages side by side (--jobs 1: one at a time)")
    print(f"  dataset {params.dataset}, seed {params.seed}")
    try:
        manifest = runner.run_stages(
            params,
            stages,
            output.resolve(),
            declared=declared,
            progress=not args.no_progress,
            report=not args.no_report,
            jobs=jobs,
        )
    except runner.RunFailed as exc:
        print(f"\nRUN FAILED: {exc}", file=sys.stderr)
        print(f"manifest: {output / 'manifest.json'} (status failed)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted; the manifest says so and a re-run will redo the stage", file=sys.stderr
        )
        return 130
    _print_summary(manifest, output)
    return 0


def _print_summary(manifest: dict[str, Any], output: Path) -> None:
    print("\nsummary")
    print(f"  {'stage':<24}{'status':<10}{'seconds':>8}{'peak GB':>9}")
    for key, entry in manifest["stages"].items():
        name = f"{key} {entry['name']}"
        peak = entry.get("peak_rss_gb")
        peak_text = f"{peak:>9.1f}" if peak is not None else f"{'-':>9}"
        print(
            f"  {name:<24}{entry.get('status', '?'):<10}{entry.get('seconds', 0):>8.1f}{peak_text}"
        )
    print(f"  {'total':<24}{manifest['status']:<10}{manifest.get('seconds', 0):>8.1f}")
    tables = manifest.get("tables", {})
    if tables:
        listing = ", ".join(f"{k} {v['rows']:,}" for k, v in tables.items())
        print(
            textwrap.fill(
                f"tables (rows): {listing}",
                width=100,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    if manifest.get("report"):
        print(f"  report: {manifest['report']}")
    if manifest.get("report_error"):
        print(f"  report could not be built: {manifest['report_error']}")


def _cmd_synth(args: argparse.Namespace) -> int:
    out = Path(args.out or f"data/{args.size}")
    start = time.perf_counter()
    counts = generate_dataset(
        out, scenario=args.scenario, size=args.size, seed=args.seed, progress=True
    )
    print(
        f"wrote {args.scenario}/{args.size} (seed {args.seed}) to {out} in {time.perf_counter() - start:.1f} s"
    )
    for name, n in counts.items():
        print(f"  {name:<32}{n:>12,}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """The run's intake without the run: accounting, quarantine CSV, stage limits, verdict."""
    with warnings.catch_warnings():  # the report lists the dataset's warnings itself
        warnings.simplefilter("ignore", DatasetWarning)
        ds = load_dataset(args.dataset)
    result = check_dataset(ds)
    # the dataset's name is the user's text: it names a folder under output/, nothing more
    safe_name = re.sub(r"[^A-Za-z0-9_-]+", "_", ds.name).strip("_") or "dataset"
    out = Path(args.quarantine_csv or f"output/check_{safe_name}/quarantine.csv")
    written = write_quarantine_csv(result.listing, out)
    for line in report_lines(result, written):
        print(line, file=sys.stderr if line.startswith("THE RUN WOULD FAIL") else sys.stdout)
    return result.exit_code


def _cmd_init(args: argparse.Namespace) -> int:
    """Recognise each export of a folder and write dataset.yaml and the mappings."""
    plan = plan_dataset(args.folder)
    for c in plan.channels:
        p = c.preset
        print(f"{printable(c.export.rel)}: {p.title} [{p.name}] -> channel {c.channel_id!r}")
        for note in (*p.notes, *c.guesses):
            print(f"    {printable(note)}")
    for message in plan.skipped:
        print(f"not used: {message}", file=sys.stderr)
    if not plan.channels:
        print("channelops init: no export could be used; nothing written", file=sys.stderr)
        return 2
    try:
        written = write_plan(plan, force=args.force)
    except FileExistsError as exc:
        print(f"channelops init: {exc}", file=sys.stderr)
        return 2
    for g in plan.guesses:
        print(f"guessed: {g}")
    for path in written:
        print(f"wrote {path}")
    print(
        f"edit dataset.yaml (name, base_currency, timezone) and mappings/<channel>.yaml where "
        f"your exports differ, then run `channelops check {args.folder}`"
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    """KPI deltas between two run folders: print them and write a CSV."""
    from channelops.run import compare  # lazy: stage 06's code and libraries

    run_a, run_b = Path(args.run_a), Path(args.run_b)
    try:
        table, notes = compare.compare_runs(run_a, run_b)
    except FileNotFoundError as exc:
        print(f"channelops compare: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or f"output/compare_{run_a.name}_vs_{run_b.name}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    # text from the data (experiment, channel, model names) must not run as a formula
    neutralise_formulas(table).to_csv(out, index=False)
    with pd.option_context(
        "display.max_rows",
        args.max_rows,
        "display.width",
        160,
        "display.float_format",
        lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}",
    ):
        print(f"KPI deltas, {run_b.name} - {run_a.name} (relative to |{run_a.name}|):")
        print(table.to_string(index=False, max_rows=args.max_rows))
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {len(table):,} KPI rows to {out}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from channelops.run import kernel  # lazy: papermill and Jupyter load slowly

    params, stages, output, declared = _resolve_run(args)
    out = kernel.prepare_notebooks(params, stages, Path(args.into), output.resolve(), declared)
    print(f"prepared {len(out)} notebook(s) in {args.into} writing to {output}")
    return 0


def _add_run_options(p: argparse.ArgumentParser, default_params: str | None) -> None:
    p.add_argument("--params", default=default_params, help="parameter file (YAML)")
    p.add_argument("--dataset", help="dataset folder (overrides the parameter file)")
    p.add_argument("--only", help="comma-separated stages to run, e.g. 01,03 or 4")
    p.add_argument("--output", help="run folder (default output/<run_name>)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="channelops", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"channelops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="run the notebooks as one parameterised report")
    _add_run_options(p_run, "parameters/default.yaml")
    p_run.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    p_run.add_argument("--no-report", action="store_true", help="skip report.html")
    p_run.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="stages run side by side when independent (default: 2; 1 on one core or when "
        "the order exports exceed 500 MB); 1 runs them one after the other; peak memory is "
        "up to the sum of the stages running together",
    )
    p_run.set_defaults(func=_cmd_run)

    p_syn = sub.add_parser("synth", help="generate a simulated dataset with its ground truth")
    p_syn.add_argument(
        "--scenario", default="multi_category", help="multi_category, social or cross_border"
    )
    p_syn.add_argument("--size", default="demo", help="tiny, demo or large")
    p_syn.add_argument("--seed", type=int, default=42)
    p_syn.add_argument("--out", help="output folder (default data/<size>)")
    p_syn.set_defaults(func=_cmd_synth)

    p_chk = sub.add_parser(
        "check", help="read a dataset's exports and report what would be accepted"
    )
    p_chk.add_argument("dataset")
    p_chk.add_argument(
        "--quarantine-csv",
        help="where to list every quarantined row (default output/check_<dataset name>/"
        "quarantine.csv)",
    )
    p_chk.set_defaults(func=_cmd_check)

    p_init = sub.add_parser(
        "init",
        help="recognise each platform export in a folder and write dataset.yaml and mappings",
    )
    p_init.add_argument("folder", help="folder holding the exports (or an orders/ folder of them)")
    p_init.add_argument("--force", action="store_true", help="overwrite existing YAML files")
    p_init.set_defaults(func=_cmd_init)

    p_prep = sub.add_parser("nbval-prepare", help="parameterise notebooks for pytest --nbval-lax")
    _add_run_options(p_prep, "parameters/ci.yaml")
    p_prep.add_argument("--into", default="build/nbval")
    p_prep.set_defaults(func=_cmd_prepare)

    p_cmp = sub.add_parser("compare", help="KPI delta table between two run folders")
    p_cmp.add_argument("run_a", help="first run folder, e.g. output/demo (the baseline)")
    p_cmp.add_argument("run_b", help="second run folder; deltas are run_b - run_a")
    p_cmp.add_argument("--out", help="CSV to write (default output/compare_<a>_vs_<b>.csv)")
    p_cmp.add_argument("--max-rows", type=int, default=60, help="rows to print (all go to the CSV)")
    p_cmp.set_defaults(func=_cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``channelops`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ParameterError, RunFolderError, KeyError) as exc:
        print(f"channelops: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except DatasetError as exc:
        print(f"channelops: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
