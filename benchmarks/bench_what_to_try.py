"""Run every "What to try" suggestion of the stage notebooks as written, on the tiny data.

    .venv/bin/python benchmarks/bench_what_to_try.py --base /tmp/me/ci
    .venv/bin/python benchmarks/bench_what_to_try.py            # makes the base run first

Outside ``make test`` (it re-runs stages for a quarter of an hour on two cores). The base
is a finished run of parameters/ci.yaml (data/tiny); it is copied to a work folder and each
suggestion runs there as a reader would do it:

- a parameter change: ``channelops run --only NN -p NAME=VALUE`` with the value the
  sentence asks for (``Set x to 0`` -> 0; ``Lower``/``Shorten``/``Tighten`` -> a smaller
  value than the default; ``Raise``/``Lengthen`` -> a larger one; ``Change`` -> double);
  the figures the sentence says to watch are read from the stage's tables;
- a command (``channelops check DIR``) or a query of ``warehouse.duckdb``: run as such;
- an edit of a data file (a mapping, warehouses.csv): made on a copy of data/tiny, then
  ``channelops check`` or the stage run on that copy;
- a suggestion with nothing runnable in it (code with ``...`` placeholders, a parameter no
  notebook declares): recorded as not runnable as written.

Each suggestion's outcome (ok / failed / not runnable as written, seconds, the last line
the command printed) is appended to ``--results`` as a Markdown row as soon as it is known.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CHANNELOPS = str(Path(sys.executable).with_name("channelops"))
TINY = ROOT / "data" / "tiny"


def suggestions() -> list[tuple[str, str]]:
    """(stage key, suggestion text) of every bullet under "## What to try" in the notebooks."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and "## What to try" in text:
                part = text.split("## What to try", 1)[1]
                for item in re.split(r"\n- ", "\n" + part.strip()):
                    item = " ".join(item.split())
                    if item:
                        out.append((path.name[:2], item))
    return out


class Ctx:
    """The base run and the work copy the tries run in."""

    def __init__(self, base: Path, work: Path) -> None:
        self.base, self.work = base, work
        self.data = work.parent / "tiny_copy"

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.work / "tables" / f"{name}.parquet")

    def run(self, stage: str, *overrides: str, dataset: Path | None = None) -> tuple[int, str]:
        cmd = [CHANNELOPS, "run", "--params", "parameters/ci.yaml", "--only", stage]
        cmd += ["--output", str(self.work), "--no-progress", "--no-report"]
        if dataset is not None:
            cmd += ["--dataset", str(dataset)]
        for o in overrides:
            cmd += ["-p", o]
        return _call(cmd)

    def fresh_data(self) -> Path:
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.copytree(TINY, self.data)
        return self.data


def _call(cmd: list[str]) -> tuple[int, str]:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    # the line that says most: the error when it failed, the stage's "done in" when it ran
    pick = [x for x in lines if re.search(r"RUN FAILED|Error|error:|problem", x)]
    if done.returncode == 0:
        pick = [x for x in lines if re.search(r"^\d\d done in|can go ahead", x)] or pick
    return done.returncode, (pick or lines or [""])[-1]


def _end_of_data() -> dt.date:
    from channelops.run.params import data_period  # lazy: reads the exports

    period = data_period(TINY)
    assert period is not None
    return period[1]


Try = Callable[[Ctx], tuple[int, str, str]]


def _params(stage: str, *overrides: str, watch: Callable[[Ctx], str] | None = None) -> Try:
    def run(ctx: Ctx) -> tuple[int, str, str]:
        rc, last = ctx.run(stage, *overrides)
        if rc == 0 and watch is not None:
            last = watch(ctx)
        return rc, f"--only {stage} " + " ".join(f"-p {o}" for o in overrides), last

    return run


def _not_runnable(why: str) -> Try:
    return lambda ctx: (-1, "-", why)


def _check_quarantine(ctx: Ctx) -> tuple[int, str, str]:
    rc, last = _call([CHANNELOPS, "check", str(TINY), "--quarantine-csv", str(ctx.work / "q.csv")])
    return rc, f"channelops check {TINY.relative_to(ROOT)}", last


def _duckdb(ctx: Ctx) -> tuple[int, str, str]:
    import duckdb  # lazy: only this try

    con = duckdb.connect(str(ctx.work / "warehouse.duckdb"), read_only=True)
    tables = [r[0] for r in con.execute("show tables").fetchall()]
    n = con.execute(f"select count(*) from {tables[0]}").fetchone()[0] if tables else 0
    con.close()
    return (
        0,
        "duckdb: show tables; select count(*)",
        f"{len(tables)} tables, {tables[:1]} {n:,} rows",
    )


def _mapping_edit(key: str, value: object, field: str) -> Try:
    """Add ``value`` under ``key`` of the first channel's mapping, then channelops check."""

    def run(ctx: Ctx) -> tuple[int, str, str]:
        import yaml  # lazy: only these tries

        data = ctx.fresh_data()
        mapping = sorted((data / "mappings").glob("*.yaml"))[0]
        doc = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        if field == "status_word":
            doc.setdefault("values", {}).setdefault("status", {})[str(value)] = "cancelled"
        else:
            doc.setdefault(key, []).append(value)
        mapping.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        rc, last = _call([CHANNELOPS, "check", str(data), "--quarantine-csv", str(data / "q.csv")])
        return rc, f"edit {mapping.name} ({key}), channelops check", last

    return run


def _warehouse_capacity(ctx: Ctx) -> tuple[int, str, str]:
    data = ctx.fresh_data()
    wh = pd.read_csv(data / "warehouses.csv")
    wh.loc[0, "daily_capacity_orders"] = max(1, int(wh.loc[0, "daily_capacity_orders"]) // 2)
    wh.to_csv(data / "warehouses.csv", index=False)
    rc, last = ctx.run("05", dataset=data)
    return rc, "halve the first warehouse's daily_capacity_orders; --only 05 --dataset copy", last


def _k_plus_one(ctx: Ctx) -> tuple[int, str, str]:
    k = len(ctx.table("segment_profiles"))
    return _params("01", f"n_segments={k + 1}")(ctx)


def _half_year_back(ctx: Ctx) -> tuple[int, str, str]:
    end = _end_of_data() - dt.timedelta(days=182)
    return _params("01", f"calibration_end={end.isoformat()}")(ctx)


def _force_last(ctx: Ctx) -> tuple[int, str, str]:
    channel = str(ctx.table("scorecard")["channel_id"].iloc[-1])
    return _params("02", f"force_in=[{channel}]")(ctx)


def _one_segment(ctx: Ctx) -> tuple[int, str, str]:
    segment = str(ctx.table("segment_profiles").iloc[0].get("segment_name", "loyal_high_value"))
    return _params("02", f"target_segments=[{segment}]")(ctx)


def _budget_both_ways(ctx: Ctx) -> tuple[int, str, str]:
    actual = float(ctx.table("plan_vs_actual")["actual_spend"].sum()) or 1000.0
    rc1, _, last1 = _params("02", f"weekly_budget={actual * 1.2:.0f}")(ctx)
    rc2, _, last2 = _params("02", f"weekly_budget={actual * 0.8:.0f}")(ctx)
    return max(rc1, rc2), f"--only 02 -p weekly_budget=+/-20% of {actual:,.0f}", last2 or last1


#: (stage, a phrase of the suggestion) -> how to run it as written
TRIES: dict[tuple[str, str], Try] = {
    ("00", "Open the `quarantine` table"): _check_quarantine,
    ("00", "Add a status word"): _mapping_edit("values", "held_for_review", "status_word"),
    ("00", "postage or fee codes"): _mapping_edit("non_merchandise", "POST*", "list"),
    ("01", "Fix `n_segments`"): _k_plus_one,
    ("01", "Set `calibration_end`"): _half_year_back,
    ("01", "Move `calibration_end`"): _half_year_back,
    ("01", "Lower `min_stability`"): _params("01", "min_stability=0.5", "min_segment_share=0.03"),
    ("01", "Shorten `clv_horizon`"): _params("01", "clv_horizon=6"),
    ("01", "Change `rfm_bins` to 3"): _params("01", "rfm_bins=3"),
    ("02", "Force a candidate channel"): _force_last,
    ("02", "Set `target_segments`"): _one_segment,
    ("02", "Change `weekly_budget`"): _budget_both_ways,
    ("02", "Set `min_profit_share` to 0"): _params("02", "min_profit_share=0", "plan_rule=reach"),
    ("03", "Open `warehouse.duckdb`"): _duckdb,
    ("03", "Lower `match_threshold`"): _params("03", "match_threshold=0.7"),
    ("03", "Tighten `price_tolerance`"): _params("03", "price_tolerance=0.05"),
    ("04", "Drop `gbm,combo_gbm`"): _params(
        "04",
        "forecast_models=naive,seasonal_naive,moving_average,weekday_average,weekday_profile,"
        "croston_sba,tsb,adida,combo,combo_median,theta",
    ),  # fmt: skip
    ("04", "Raise `target_fill_rate`"): _params("04", "target_fill_rate=0.98"),
    ("04", "Change `lead_time_days`"): _params("04", "lead_time_days=14"),
    ("05", "Lower `capacity_scale`"): _params(
        "05", "capacity_scale=0.5", "value_weight_hours=0", "customer_weight_hours=0"
    ),
    ("05", "Lower one warehouse's capacity"): _warehouse_capacity,
    ("05", "Raise `vrp_time_limit`"): _params("05", "vrp_time_limit=6", "vehicle_capacity=50"),
    ("05", "Tighten `target_service_level`"): _params("05", "target_service_level=0.9"),
    ("06", "Set `multiple_testing` to `none`"): _params("06", "multiple_testing=none"),
    ("06", "Set `cuped_pre_days` to 365"): _params("06", "cuped_pre_days=365"),
    ("06", "Raise `calibration_reps` to 2000"): _params("06", "calibration_reps=2000"),
    ("06", "Change `plan_weeks`"): _params("06", "plan_weeks=26"),
    ("07", "Set `exclude_seen` to True"): _params("07", "exclude_seen=true"),
    ("07", "Shorten `half_life_days`"): _params("07", "half_life_days=60"),
    ("07", "Change `als_factors`"): _params(
        "07", "als_factors=[16, 32]", "als_regularization=0.1", "als_alpha=20"
    ),
    ("07", "Set `explore_places`"): _params("07", "explore_places=[0, 2, 4, 6]"),
    ("07", "With `exclude_seen` True"): _params("07", "exclude_seen=true"),
    ("07", "Change `tifu_neighbours`"): _params(
        "07", "tifu_neighbours=50", "popularity_window_weeks=4"
    ),
    ("07", "Move `cutoff_date`"): _params("07", "cutoff_date=2023-11-01"),
    ("07", "Change `list_size` and `feature_size`"): _params(
        "07", "list_size=10", "feature_size=3"
    ),
    ("07", "set `eval_max_customers` to 0"): _params("07", "eval_max_customers=0"),
}


def _try_for(stage: str, text: str) -> Try | None:
    for (key, phrase), action in TRIES.items():
        if key == stage and phrase in text:
            return action
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="a finished run of parameters/ci.yaml (default: make one)")
    ap.add_argument("--work", default="/tmp/what_to_try", help="scratch folder")
    ap.add_argument("--results", default=str(ROOT / "benchmarks/results/what_to_try.md"))
    ap.add_argument("--stages", help="only these stage keys, e.g. 01,04")
    args = ap.parse_args(argv)
    scratch = Path(args.work)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    base = Path(args.base) if args.base else scratch / "base"
    if not args.base:
        _call([CHANNELOPS, "run", "--params", "parameters/ci.yaml", "--output", str(base),
               "--no-progress", "--no-report"])  # fmt: skip
    work = scratch / "run"
    shutil.copytree(base, work, ignore=shutil.ignore_patterns("report.html", "*.lock"))
    ctx = Ctx(base, work)
    wanted = set(args.stages.split(",")) if args.stages else None
    results = Path(args.results)
    with results.open("a", encoding="utf-8") as out:
        out.write(
            f"\n## Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
            "| stage | suggestion | run as | outcome | s | last line / figure |\n"
            "|---|---|---|---|---:|---|\n"
        )
        for stage, text in suggestions():
            if wanted and stage not in wanted:
                continue
            action = _try_for(stage, text)
            start = time.perf_counter()
            if action is None:
                rc, how, last = -1, "-", "no way to run it is known to this script"
            else:
                try:
                    rc, how, last = action(ctx)
                except Exception as exc:  # a try that breaks is a finding, not a stop
                    rc, how, last = 1, "-", f"{type(exc).__name__}: {exc}"
            outcome = {0: "ok", -1: "not runnable as written"}.get(rc, f"failed (exit {rc})")
            row = (
                f"| {stage} | {text[:90]}{'...' if len(text) > 90 else ''} | `{how}` | {outcome} "
                f"| {time.perf_counter() - start:.0f} | {last[:160].replace('|', '/')} |\n"
            )
            out.write(row)
            out.flush()
            print(row, end="", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
