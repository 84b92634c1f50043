"""The ``channelops`` command line.

    channelops synth --scenario multi_category --size demo --seed 42 --out data/demo
    channelops run [--params FILE] [--dataset DIR] [--only 01,03] [--output DIR] [-p k=v ...]
    channelops check DATASET              # the run's intake without the run; exit 2 if it would fail
    channelops init FOLDER                # recognise platform exports, write dataset.yaml + mappings
    channelops nbval-prepare --params parameters/ci.yaml --into build/nbval
    channelops compare output/demo output/social   # KPI deltas between two runs -> CSV
    channelops params [STAGE]             # every parameter: type, default, range, help

Exit codes: 0 success, 1 a stage failed, 2 bad parameters or bad input.
"""

from __future__ import annotations

import argparse
import difflib
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
from channelops.run.cliargs import check_dataset_flag, values_source
from channelops.run.csv_safe import neutralise_formulas
from channelops.run.folder import RunFolderError, run_paths
from channelops.run.manifest import load_manifest
from channelops.run.paramdocs import format_param_docs, read_param_docs
from channelops.run.params import (
    ParameterError,
    load_param_file,
    parse_overrides,
    validate_params,
)
from channelops.run.registry import select_stages, stage_by_key
from channelops.run.schedule import default_memory_limit, parse_memory
from channelops.run.staleness import run_prerequisites
from channelops.run.summary import console_summary
from channelops.synth import SCENARIOS, SIZES, generate_dataset

__all__ = ["main"]


def _resolve_run(args: argparse.Namespace) -> tuple[Any, list, Path, dict[str, set[str]]]:
    """Merge the parameter file, --dataset and -p overrides; validate; pick stages."""
    from channelops.run import kernel  # lazy: papermill and Jupyter load slowly

    check_dataset_flag(getattr(args, "dataset", None))  # a typo in a flag is the flag's
    values: dict[str, Any] = {}
    source = values_source(args.params, args.param, getattr(args, "dataset", None))
    if args.params:
        values.update(load_param_file(args.params))
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
        print(
            f"channelops run: --jobs must be 1 or more (stages at a time), got {args.jobs}",
            file=sys.stderr,
        )
        return 2
    params, stages, output, declared = _resolve_run(args)
    memory = _memory_options(args, params)
    _check_prerequisites(stages, output, args.force)
    jobs = args.jobs if args.jobs is not None else runner.default_jobs()
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
            force=args.force,
            **memory,
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


def _memory_options(args: argparse.Namespace, params: Any) -> dict[str, Any]:
    """``run_stages``' memory options from --memory-limit (else the parameter file's
    ``memory_limit``, else 80% of the memory available now), --stage-memory and
    --memory-from.

    Raises:
        ParameterError: a size that is not one, a stage that is not known, or a
            --memory-from folder without a readable manifest.
    """
    try:
        if args.memory_limit is not None:
            limit = parse_memory(args.memory_limit)
        else:
            limit = params.memory_limit or default_memory_limit()
        budgets = {}
        for item in filter(None, (args.stage_memory or "").split(",")):
            key, sep, size = item.partition("=")
            if not sep:
                raise ValueError(f"--stage-memory item {item!r} must look like 03=6GB")
            budgets[stage_by_key(key.strip()).key] = parse_memory(size)
    except (ValueError, KeyError) as err:
        raise ParameterError(f"memory: {err.args[0] if err.args else err}") from None
    memory_from = None
    if args.memory_from:
        path = Path(args.memory_from)
        path = path / "manifest.json" if path.is_dir() else path
        manifest = load_manifest(path) if path.is_file() else {}
        if not manifest.get("stages"):
            raise ParameterError(
                f"--memory-from {args.memory_from}: no run manifest with stages at {path}"
            )
        memory_from = (str(args.memory_from), manifest)
    return {"memory_limit": limit, "stage_budgets": budgets, "memory_from": memory_from}


def _check_prerequisites(stages: list, output: Path, force: bool) -> None:
    """Refuse, before anything is printed or created, a run whose stages need tables the
    folder lacks or holds from a stale stage (the runner checks again under its lock).

    Raises:
        RunFolderError: with the stages to run first, named with the folder as typed.
    """
    paths = run_paths(output)
    needs = run_prerequisites(
        stages, load_manifest(paths.manifest), lambda t: paths.table(t).exists()
    )
    problem = needs.problem([s.key for s in stages], str(output), force)
    if problem:
        raise RunFolderError(problem)


def _print_summary(manifest: dict[str, Any], output: Path) -> None:
    """The end of a run on the console: stages, key findings, stale stages, the report."""
    for line in console_summary(manifest, output):
        print(line)


def _choice_problem(flag: str, value: str, valid: Any) -> str | None:
    """A one-line message when ``value`` is not one of ``valid`` (closest name suggested)."""
    names = sorted(valid)
    if value in names:
        return None
    close = difflib.get_close_matches(value, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{flag} {value!r} is not known: choose one of {', '.join(names)}{hint}"


def _cmd_synth(args: argparse.Namespace) -> int:
    for flag, value, valid in (
        ("--scenario", args.scenario, SCENARIOS),
        ("--size", args.size, SIZES),
    ):
        problem = _choice_problem(flag, value, valid)
        if problem:
            print(f"channelops synth: {problem}", file=sys.stderr)
            return 2
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
    """KPI deltas between two run folders: totals first, then channels in both runs."""
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
    print(f"KPI deltas, {run_b.name} - {run_a.name} (relative to |{run_a.name}|)")
    shown = table.dropna(subset=["delta"])
    sections = (
        ("total", "All channels"),
        ("channel", "Channels in both runs"),
        ("other", "Experiments, plan, policies, data quality, recommender models"),
    )
    budget = args.max_rows
    for group, title in sections:
        rows = shown[shown["group"] == group]
        if rows.empty:
            continue
        limit = len(rows) if group == "total" else max(budget, 0)
        print(f"\n{title}")
        if limit:
            print(_delta_text(rows.head(limit)))
        if len(rows) > limit:
            print(f"  ... {len(rows) - limit:,} more rows in the CSV")
        budget -= min(limit, len(rows)) if group != "total" else 0
    without = len(table) - len(shown)
    if without:
        print(
            f"\n{without:,} KPI rows have no delta (a figure missing in a run); they are in the CSV"
        )
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {len(table):,} KPI rows to {out}")
    return 0


def _delta_text(rows: pd.DataFrame) -> str:
    """KPI rows for a terminal: large figures with thousands separators, shares as %."""

    def number(v: float) -> str:
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"

    shown = pd.DataFrame(
        {
            "kpi": rows["kpi"],
            "scope": rows["scope"],
            "run_a": rows["run_a"].map(number),
            "run_b": rows["run_b"].map(number),
            "delta": rows["delta"].map(lambda v: ("+" if v > 0 else "") + number(v)),
            "relative": rows["relative_delta"].map(lambda v: "" if pd.isna(v) else f"{v:+.1%}"),
        }
    )
    return shown.to_string(index=False)


def _cmd_params(args: argparse.Namespace) -> int:
    """Every parameter of the run (or of one stage): type, default, allowed range, help."""
    stages = select_stages(args.stage) if args.stage else select_stages(None)
    values = load_param_file(args.params) if args.params else {}
    docs = read_param_docs(stages)
    print(format_param_docs(docs, stages, values, str(args.params or "")))
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from channelops.run import kernel  # lazy: papermill and Jupyter load slowly

    params, stages, output, declared = _resolve_run(args)
    out = kernel.prepare_notebooks(params, stages, Path(args.into), output.resolve(), declared)
    print(f"prepared {len(out)} notebook(s) in {args.into} writing to {output}")
    return 0


def _add_run_options(p: argparse.ArgumentParser, default_params: str | None) -> None:
    p.add_argument(
        "--params",
        default=default_params,
        metavar="FILE",
        help=f"parameter file, flat YAML of name: value (default {default_params})",
    )
    p.add_argument(
        "--dataset",
        metavar="DIR",
        help="dataset folder holding dataset.yaml (overrides the parameter file's dataset)",
    )
    p.add_argument(
        "--only",
        metavar="STAGES",
        help="comma-separated stages to run into an existing run folder, e.g. 01,03 or 4 or "
        "forecasting (default: every stage)",
    )
    p.add_argument("--output", metavar="DIR", help="run folder (default output/<run_name>)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one parameter, value read as YAML (repeatable); `channelops params` lists them",
    )


_MAIN_EPILOG = """\
the everyday path:
  channelops synth --scenario multi_category --size demo --seed 42 --out data/demo
  channelops run --params parameters/default.yaml      # report: output/demo/report.html
  channelops params 04                                 # what stage 04 lets you change
  channelops run -p horizon_days=14 --output output/h14
  channelops compare output/demo output/h14

your own exports:
  channelops init exports/          # recognise the platform files, write dataset.yaml
  channelops check exports/         # what would be accepted, before a run
  channelops run --dataset exports/ --output output/mine

`channelops COMMAND --help` explains each command with examples.
exit codes: 0 success, 1 a stage failed, 2 bad parameters or bad input."""

_RUN_EPILOG = """\
examples:
  channelops run                                         # parameters/default.yaml -> output/demo
  channelops run --params parameters/ci.yaml --output /tmp/ci --no-progress
  channelops run --dataset data/mine --output output/mine
  channelops run -p horizon_days=14 -p target_fill_rate=0.98 --output output/h14
  channelops run --only 04 --output output/demo          # re-run one stage of a finished run
  channelops run --only 04,06 -p horizon_days=14 --output output/demo   # and what reads it

The run folder gets tables/ (Parquet), notebooks/ (executed copies), manifest.json and
report.html. `channelops params` lists every NAME you can set with -p.

--only into an existing run: the stages that read what was re-run (directly or through
another stage) are marked stale in manifest.json and report.html until they run again;
a stage whose input tables are missing, or come from a stale stage, is refused before
anything starts, with the stages to add to --only."""

_SYNTH_EPILOG = """\
examples:
  channelops synth --size tiny --seed 7 --out data/tiny            # seconds; for tests
  channelops synth --scenario social --size demo --out data/social
  channelops synth --scenario cross_border --size large --out /tmp/large

The folder also holds truth/: what the simulator drew, for checking the analyses."""

_CHECK_EPILOG = """\
examples:
  channelops check data/demo
  channelops check exports/ --quarantine-csv /tmp/rejected.csv

Prints, per channel, the rows read, accepted, repeated and quarantined (with reasons) and
whether the run would stop; exit 2 when it would."""

_INIT_EPILOG = """\
examples:
  channelops init exports/            # Shopify, Amazon, WooCommerce, Taobao, JD, Douyin files
  channelops init exports/ --force    # overwrite dataset.yaml and mappings/ written before

Then edit dataset.yaml (name, base_currency, timezone) and run `channelops check exports/`."""

_PARAMS_EPILOG = """\
examples:
  channelops params                    # every stage
  channelops params 04                 # one stage, by number or name (forecasting)
  channelops params 01,07 --params parameters/default.yaml   # with the file's values

Set a parameter in a parameter file (name: value) or with `channelops run -p NAME=VALUE`."""

_COMPARE_EPILOG = """\
examples:
  channelops compare output/demo output/social
  channelops compare output/demo output/h14 --out /tmp/h14.csv --max-rows 200

Leads with the all-channel totals, then each channel present in both runs, then
experiments, plan, policies and recommender models. A channel in only one run has no
delta: a note names it. Every row goes to the CSV."""

_PREPARE_EPILOG = """\
example (what `make test` does):
  channelops nbval-prepare --params parameters/ci.yaml --dataset data/tiny \\
      --into build/nbval --output build/nbval-run"""


def _fill(text: str) -> str:
    """A help description wrapped for a terminal (the raw formatter keeps the examples' lines)."""
    return textwrap.fill(text, width=88)


def _scenario_lines() -> str:
    """The scenarios with their one-line descriptions, wrapped for --help."""
    lines = ["\n\nscenarios:"]
    for name, scenario in SCENARIOS.items():
        lines += textwrap.wrap(
            f"{name}: {scenario.description}", width=88, initial_indent="  ",
            subsequent_indent="    ",
        )  # fmt: skip
    lines.append(f"sizes: {', '.join(SIZES)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="channelops",
        description=_fill(
            "Multi-channel e-commerce analytics: simulate or read order exports, run "
            "the eight stage notebooks as one parameterised report."
        ),
        epilog=_MAIN_EPILOG,
        formatter_class=raw,
    )
    parser.add_argument("--version", action="version", version=f"channelops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_run = sub.add_parser(
        "run",
        help="run the stage notebooks into one run folder and report.html",
        description=_fill(
            "Run the stage notebooks (00 data ... 07 recommendation) with one set of "
            "parameters; every parameter is checked before anything starts."
        ),
        epilog=_RUN_EPILOG,
        formatter_class=raw,
    )
    _add_run_options(p_run, "parameters/default.yaml")
    p_run.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    p_run.add_argument("--no-report", action="store_true", help="do not build report.html")
    p_run.add_argument(
        "--force",
        action="store_true",
        help="with --only: run even when the stages read tables of a stale stage (one whose "
        "inputs changed after it ran); what runs is then marked stale too",
    )
    p_run.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="stages run side by side when independent and their memory fits under "
        "--memory-limit (default: 2; 1 on one core); 1 runs them one after the other",
    )
    p_run.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory the stages running together may need at most, e.g. 6GB (default: the "
        "parameter file's memory_limit, else 80%% of the memory available at the start). A "
        "stage waits until its memory fits: its peak measured in the run folder's manifest "
        "(or --memory-from's), its --stage-memory budget, else 1 GB on small data and the "
        "whole limit (alone) on large data (order exports above 500 MB); stages' DuckDB "
        "gets a share of it",
    )
    p_run.add_argument(
        "--stage-memory",
        metavar="KEY=SIZE,...",
        help="memory budgets of stages, e.g. 03=6GB,07=4GB (before any measured peak)",
    )
    p_run.add_argument(
        "--memory-from",
        metavar="RUN",
        help="a run folder (or its manifest.json) of similar data whose measured stage peaks "
        "to use where this run folder has none",
    )
    p_run.set_defaults(func=_cmd_run)

    p_syn = sub.add_parser(
        "synth",
        help="generate a simulated dataset with its ground truth",
        description=_fill(
            "Write a simulated multi-channel dataset (platform-style exports, product "
            "master, marketing, shipments) and the truth it was drawn from."
        ),
        epilog=_SYNTH_EPILOG + _scenario_lines(),
        formatter_class=raw,
    )
    p_syn.add_argument(
        "--scenario",
        default="multi_category",
        help=f"one of {', '.join(sorted(SCENARIOS))} (default multi_category)",
    )
    p_syn.add_argument("--size", default="demo", help=f"one of {', '.join(SIZES)} (default demo)")
    p_syn.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p_syn.add_argument("--out", metavar="DIR", help="output folder (default data/<size>)")
    p_syn.set_defaults(func=_cmd_synth)

    p_chk = sub.add_parser(
        "check",
        help="read a dataset's exports and report what would be accepted",
        description=_fill(
            "The run's intake without the run: every export read through its "
            "mapping, rows accounted for, quarantined rows listed in a CSV."
        ),
        epilog=_CHECK_EPILOG,
        formatter_class=raw,
    )
    p_chk.add_argument("dataset", help="dataset folder holding dataset.yaml")
    p_chk.add_argument(
        "--quarantine-csv",
        metavar="FILE",
        help="where to list every quarantined row (default output/check_<dataset name>/"
        "quarantine.csv)",
    )
    p_chk.set_defaults(func=_cmd_check)

    p_init = sub.add_parser(
        "init",
        help="recognise the platform exports in a folder and write dataset.yaml and mappings",
        description=_fill(
            "Recognise each platform export in a folder by its header and write "
            "dataset.yaml and one mappings/<channel>.yaml per channel."
        ),
        epilog=_INIT_EPILOG,
        formatter_class=raw,
    )
    p_init.add_argument("folder", help="folder holding the exports (or an orders/ folder of them)")
    p_init.add_argument("--force", action="store_true", help="overwrite existing YAML files")
    p_init.set_defaults(func=_cmd_init)

    p_par = sub.add_parser(
        "params",
        help="list every parameter: type, default, allowed range and help",
        description=_fill(
            "List the parameters a run takes, read from the stage notebooks' "
            "parameters cells, with the range the run checks."
        ),
        epilog=_PARAMS_EPILOG,
        formatter_class=raw,
    )
    p_par.add_argument(
        "stage", nargs="?", help="stage(s) by number or name, e.g. 04, 4, forecasting, 01,07"
    )
    p_par.add_argument(
        "--params", metavar="FILE", help="also show the values this parameter file sets"
    )
    p_par.set_defaults(func=_cmd_params)

    p_cmp = sub.add_parser(
        "compare",
        help="KPI deltas between two run folders, totals first",
        description=_fill(
            "KPI deltas between two run folders (run_b - run_a), printed and written to a CSV."
        ),
        epilog=_COMPARE_EPILOG,
        formatter_class=raw,
    )
    p_cmp.add_argument("run_a", help="baseline run folder, e.g. output/demo")
    p_cmp.add_argument("run_b", help="run folder compared with it; deltas are run_b - run_a")
    p_cmp.add_argument(
        "--out", metavar="FILE", help="CSV to write (default output/compare_<a>_vs_<b>.csv)"
    )
    p_cmp.add_argument(
        "--max-rows",
        type=int,
        default=60,
        metavar="N",
        help="rows to print after the totals (default 60; all go to the CSV)",
    )
    p_cmp.set_defaults(func=_cmd_compare)

    p_prep = sub.add_parser(
        "nbval-prepare",
        help="parameterise the notebooks for pytest --nbval-lax (used by make test)",
        description=_fill("Write parameterised copies of the stage notebooks for nbval."),
        epilog=_PREPARE_EPILOG,
        formatter_class=raw,
    )
    _add_run_options(p_prep, "parameters/ci.yaml")
    p_prep.add_argument(
        "--into", default="build/nbval", metavar="DIR", help="folder for the copies"
    )
    p_prep.set_defaults(func=_cmd_prepare)
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
    except OSError as exc:  # a folder that cannot be written or read: the user's to fix
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"channelops {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nchannelops {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
