"""Run parameters: read a parameter file, apply ``-p key=value`` overrides, validate.

Everything is checked before any notebook starts, so a typo costs a second, not a run:
unknown names (with the closest known name suggested), wrong types, a dataset folder that
does not exist, a run name that would escape ``output/``, and date parameters that are not
dates or fall outside the period the dataset's orders cover (:func:`date_params`,
:func:`data_period`).

A parameter file is flat YAML. Three names belong to the run itself; every other name
must be a parameter of at least one notebook's ``parameters`` cell::

    run_name: demo        # the run folder is output/<run_name>
    dataset: data/demo    # dataset folder (relative to the working directory)
    seed: 42              # passed to every notebook
    horizon_days: 28      # a notebook parameter (04)
    engine: local[2]      # where 01, 03 and 04 do their heavy work (channelops.engine)
    memory_limit: 6GB     # the run's memory cap (the runner's; --memory-limit overrides)

``engine`` is checked here too (:func:`channelops.engine.engine_problem`): ``local``,
``spark`` or a Spark master URL, and for Spark that pyspark and Java are there.

Numeric parameters are checked against their allowed ranges (:data:`PARAM_RANGES`) before
anything runs: impossible values (a horizon of 0 days, k=0, a confidence level of 2) and
values whose cost has no bound (a million bootstrap draws, a ten-year horizon) stop the
run with the file, the name, the value and the range. The ceilings are there to bound a
run's time, not to judge the analysis: each is far above what the shipped parameter files
use. The dataset's ``dataset.yaml`` is read too, so a malformed one is reported (file and
line) before anything runs.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from channelops.engine import engine_problem
from channelops.ingest import dataset as D
from channelops.run.schedule import parse_memory

__all__ = [
    "ParameterError",
    "ParamSpec",
    "RunParams",
    "RUN_KEYS",
    "MEMORY_LIMIT_KEY",
    "load_param_file",
    "parse_overrides",
    "validate_params",
    "date_params",
    "data_period",
    "Range",
    "PARAM_RANGES",
    "range_problems",
]

#: Names the runner itself reads (``seed`` is also passed to every notebook).
RUN_KEYS = ("run_name", "dataset", "seed")
#: The run's memory cap (``6GB``): the runner's own, like ``--memory-limit``; no notebook
#: sees it (:func:`channelops.run.schedule.run_when_ready`).
MEMORY_LIMIT_KEY = "memory_limit"
#: Parameters every notebook declares; the runner fills ``dataset`` and ``output_dir``.
COMMON_NOTEBOOK_PARAMS = ("dataset", "output_dir", "seed")
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: A notebook parameter is a date when its name has one of these words (``calibration_end``,
#: ``test_start``, ``cutoff_date``) or its comment says ``YYYY-MM-DD``.
_DATE_NAME = re.compile(r"(?:^|_)(?:date|day|start|end|cutoff|from|until|since)(?:$|_)")


class ParameterError(ValueError):
    """A parameter file or override is wrong; the message says which and why."""


@dataclass(frozen=True)
class Range:
    """The values a numeric parameter may take: ``lo`` .. ``hi`` (None: no bound), each end
    included unless ``*_open``; ``unit`` is said in messages."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in the range (never for NaN)."""
        if value != value:  # NaN
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        if self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi):
            return False
        return True

    def text(self) -> str:
        """``1 .. 365 days``, ``> 0``, ``0 < x < 1``."""
        unit = f" {self.unit}" if self.unit else ""
        lo, hi = _num(self.lo), _num(self.hi)
        if self.lo is not None and self.hi is not None:
            if not self.lo_open and not self.hi_open:
                return f"{lo} .. {hi}{unit}"
            left = "<" if self.lo_open else "<="
            right = "<" if self.hi_open else "<="
            return f"{lo} {left} x {right} {hi}{unit}"
        if self.lo is not None:
            return f"{'>' if self.lo_open else '>='} {lo}{unit}"
        return f"{'<' if self.hi_open else '<='} {hi}{unit}"


def _num(value: float | None) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


_SHARE = Range(0, 1)  # a share, 0 and 1 included
_OPEN_SHARE = Range(0, 1, lo_open=True, hi_open=True)  # a probability or coverage
_MONEY = Range(0, 1e9)  # an amount in the base currency

#: Allowed values of the numeric notebook parameters (a list parameter: each element).
#: Upper bounds marked "cost" bound a run's time or memory; they are documented in
#: docs/design-notes.md ("Parameter ranges").
PARAM_RANGES: dict[str, Range] = {
    # 01 segmentation
    "n_segments": Range(0, 50, unit="segments"),
    "k_min": Range(2, 50),
    "k_max": Range(2, 50),
    "rfm_bins": Range(2, 20),
    "migration_months": Range(1, 120, unit="months"),
    "clv_horizon": Range(1, 520, unit="clv_time_unit periods"),  # cost
    "annual_discount_rate": Range(0, 1),
    "holdout_weeks": Range(1, 260, unit="weeks"),
    "min_segment_share": Range(0, 0.5),
    "min_stability": Range(0, 1),
    # 02 channel selection
    "weekly_budget": _MONEY,
    "min_weeks": Range(1, 520, unit="weeks"),
    "curve_holdout_weeks": Range(0, 260, unit="weeks"),  # 0 turns 02's out-of-sample check off
    "max_hill_slope": Range(0, 4, lo_open=True),  # 02: largest fitted Hill slope, 1 = concave
    "cross_channel_sd": Range(0, 2),  # 02: prior sd of a channel's unmodelled halo share
    "target_return": Range(0, 10, lo_open=True),  # 02: last unit margin per unit
    "n_boot": Range(1, 10_000, unit="draws"),  # cost
    "min_channels": Range(1, 100),
    "max_channels": Range(0, 100),
    "pop_size": Range(4, 2_000),  # cost
    "n_gen": Range(1, 10_000),  # cost
    "gross_margin": Range(0, 1),  # 0: each channel's own margin (channelops.margins)
    "min_profit_share": _SHARE,
    "current_weeks": Range(1, 520, unit="weeks"),
    # 03 integration
    "match_threshold": _SHARE,
    "min_pair_probability": _SHARE,
    "review_sample": Range(0, 1_000, unit="pairs"),
    "price_tolerance": Range(0, 10),
    # 04 forecasting
    "horizon_days": Range(1, 365, unit="days"),  # cost
    "n_windows": Range(1, 52, unit="windows"),  # cost
    "interval_level": _OPEN_SHARE,
    "target_fill_rate": _OPEN_SHARE,
    "lead_time_days": Range(0, 365, unit="days"),
    "order_cost": _MONEY,
    "holding_rate": Range(0, 10, unit="per year"),
    "choice_shrink": _SHARE,
    "interval_classes": Range(1, 100, unit="classes"),
    # 05 order logistics
    "sim_days": Range(1, 366, unit="days"),  # cost
    "check_minutes": Range(0, 1_440, unit="minutes"),
    "stockout_prob": _SHARE,
    "restock_hours": Range(0, 8_760, unit="hours"),
    "pack_minutes": Range(0, 1_440, lo_open=True, unit="minutes"),
    "pack_minutes_per_unit": Range(0, 1_440, unit="minutes"),
    "capacity_scale": Range(0, 1_000, lo_open=True),
    "default_dispatch_sla_hours": Range(0, 8_760, lo_open=True, unit="hours"),
    "min_dispatch_sla_hours": Range(0, 8_760, unit="hours"),
    "value_weight_hours": Range(0, 8_760, unit="hours"),
    "customer_weight_hours": Range(0, 8_760, unit="hours"),
    "cost_per_km_kg": _MONEY,
    "base_ship_cost": _MONEY,
    "unmet_penalty": _MONEY,
    "vehicle_capacity": Range(1, 100_000, unit="parcels"),
    "max_route_km": Range(0, 40_075, lo_open=True, unit="km"),
    "vrp_time_limit": Range(0, 600, lo_open=True, unit="seconds"),  # cost
    "vrp_max_iterations": Range(1, 1_000_000),  # cost
    "vehicle_cost_per_km": _MONEY,
    "vehicle_fixed_cost": _MONEY,
    "target_wait_s": Range(1, 3_600, unit="seconds"),
    "target_service_level": _OPEN_SHARE,
    "agent_cost_per_hour": _MONEY,
    "shrinkage": Range(0, 1, hi_open=True),
    "staffing_history_weeks": Range(1, 104, unit="weeks"),
    "staffing_horizon_days": Range(1, 366, unit="days"),
    # 06 evaluation
    "cuped_pre_days": Range(0, 3_650, unit="days"),
    "confidence_level": _OPEN_SHARE,
    "experiment_boot": Range(1, 100_000, unit="resamples"),  # cost
    "srm_alpha": _OPEN_SHARE,
    "calibration_reps": Range(0, 10_000, unit="simulated experiments"),  # cost
    "plan_weeks": Range(1, 104, unit="weeks"),
    # 07 recommendation
    "k": Range(1, 1_000, unit="recommendations"),
    "test_weeks": Range(1, 104, unit="weeks"),
    "validation_weeks": Range(1, 104, unit="weeks"),
    "eval_max_customers": Range(0, 10_000_000, unit="customers"),  # cost
    "half_life_days": Range(0, 36_500, lo_open=True, unit="days"),
    "als_factors": Range(1, 1_024, unit="factors"),  # cost
    "als_regularization": Range(0, 1e6),
    "als_alpha": Range(0, 1e6),
    "als_iterations": Range(1, 1_000, unit="sweeps"),  # cost
    "popularity_window_weeks": Range(0, 520, lo_open=True, unit="weeks"),
    "explore_places": Range(0, 1_000, unit="places"),
    "explore_weights": Range(0, 1e6, lo_open=True),
    "explore_tolerance": Range(0, 1, hi_open=True),
    "tifu_neighbours": Range(1, 100_000, unit="customers"),  # cost
    "list_size": Range(1, 10_000, unit="products"),
    "feature_size": Range(0, 10_000, unit="products"),
    "horizon_weeks": Range(1, 520, unit="weeks"),
    "revenue_window_weeks": Range(1, 520, unit="weeks"),
}
#: (smaller, larger): the first may not exceed the second (``max_channels`` 0 = no limit).
_ORDERED = (("k_min", "k_max"), ("feature_size", "list_size"), ("min_channels", "max_channels"))


@dataclass(frozen=True)
class ParamSpec:
    """One notebook parameter as declared in its ``parameters`` cell."""

    name: str
    type_name: str | None
    default: str
    help: str
    notebooks: tuple[str, ...]


@dataclass
class RunParams:
    """Validated parameters of one run."""

    run_name: str
    dataset: Path
    seed: int
    notebook_params: dict[str, Any] = field(default_factory=dict)
    #: bytes the stages running together may need at most (None: the runner's default)
    memory_limit: int | None = None

    def for_notebook(self, declared: set[str], output_dir: Path) -> dict[str, Any]:
        """The parameters to inject into one notebook: only those it declares."""
        values = {"dataset": str(self.dataset), "output_dir": str(output_dir), "seed": self.seed}
        values.update(self.notebook_params)
        return {k: v for k, v in values.items() if k in declared}


def _plain(value: Any) -> Any:
    """YAML turns 2024-06-30 into a date; notebooks take dates as ISO strings."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def load_param_file(path: str | Path) -> dict[str, Any]:
    """Read a flat YAML parameter file into a dict.

    Raises:
        ParameterError: the file is missing, is not YAML, or is not a mapping of names.
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"parameter file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # one line: the parser's problem, not its multi-line excerpt of the file
        what = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
        raise ParameterError(f"parameter file {path} is not valid YAML{where}: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"parameter file {path} must be a mapping of name: value, found {type(data).__name__}"
        )
    return {str(k): _plain(v) for k, v in data.items()}


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Parse ``-p key=value`` overrides; values are read as YAML (``28`` is an int)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"override {item!r} must look like name=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key] = _plain(value)
    return out


def _type_ok(value: Any, type_name: str | None) -> bool:
    if not type_name or type_name == "None":
        return True
    base = type_name.replace(" ", "").lower()
    if base.startswith("list") or base.startswith("tuple"):
        return isinstance(value, list)
    if base.startswith("dict"):
        return isinstance(value, dict)
    if base in ("int",):
        return isinstance(value, int) and not isinstance(value, bool)
    if base in ("float",):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base in ("bool",):
        return isinstance(value, bool)
    if base in ("str",):
        return isinstance(value, str)
    if "|" in base:
        return any(_type_ok(value, part) for part in base.split("|"))
    if base.startswith("optional["):
        return value is None or _type_ok(value, base[len("optional[") : -1])
    return True


def date_params(specs: dict[str, ParamSpec]) -> list[str]:
    """Names of the notebook parameters that hold a date (as ``YYYY-MM-DD`` text).

    A parameter is a date when it is declared ``str`` and its name contains one of the words
    date, day, start, end, cutoff, from, until, since (``calibration_end``), or its comment
    says ``YYYY-MM-DD``.
    """
    out = []
    for name, spec in specs.items():
        if name in RUN_KEYS or name in COMMON_NOTEBOOK_PARAMS:
            continue
        if (spec.type_name or "").replace(" ", "") not in ("str", "str|None", "Optional[str]"):
            continue
        if _DATE_NAME.search(name) or "YYYY-MM-DD" in spec.help:
            out.append(name)
    return sorted(out)


def data_period(dataset_dir: str | Path) -> tuple[dt.date, dt.date] | None:
    """First and last order date of a dataset, in its reporting timezone.

    Reads only the order timestamp column of every channel export (through its mapping,
    exactly as the loader parses it); rows whose timestamp does not parse are ignored, as
    the loader quarantines them.

    Returns:
        ``(first, last)`` dates, or ``None`` when no export has a readable timestamp.

    Raises:
        channelops.ingest.dataset.DatasetError: the dataset cannot be read.
    """
    ds = D.load_dataset(dataset_dir)
    catalog = ds.table("channels") if ds.has("channels") else None
    lo = hi = None
    for ch in ds.channels:
        m = ch.mapping
        header = D._read_header(ch.orders, m.read, ch.source_file, m.file)
        column = m.resolve(list(header)).get("order_ts")
        if column is None:
            continue
        cols, _, _, _ = D._read_strings(ch.orders, m.read, header, [column], ch.source_file, m.file)
        tz = m.timestamp_timezone
        if tz is None and catalog is not None:
            row = catalog.loc[catalog["channel_id"] == ch.id, "timezone"]
            tz = str(row.iloc[0]) if len(row) and isinstance(row.iloc[0], str) else None
        ts, _ = D._parse_order_ts(D._clean_text(cols[column]), m, tz or ds.timezone)
        ts = ts.dropna()
        if ts.empty:
            continue
        first, last = ts.min(), ts.max()
        lo = first if lo is None or first < lo else lo
        hi = last if hi is None or last > hi else hi
    if lo is None:
        return None
    return lo.tz_convert(ds.timezone).date(), hi.tz_convert(ds.timezone).date()


def _check_dates(
    values: dict[str, Any], specs: dict[str, ParamSpec], dataset_path: Path | None
) -> list[str]:
    """Problems with the date parameters set in ``values`` (empty strings mean 'not set').

    Every set date must parse; the range is checked against ``dataset_path`` only when it
    is given (the caller passes ``None`` when other problems already stop the run).
    """
    problems: list[str] = []
    dates: dict[str, dt.date] = {}
    for name in date_params(specs):
        value = values.get(name)
        if value is None or value == "" or not isinstance(value, str):
            continue  # unset, or a wrong type (reported by the type check)
        try:
            dates[name] = dt.date.fromisoformat(value.strip())
        except ValueError:
            problems.append(
                f"parameter {name!r} = {value!r} is not a date: expected YYYY-MM-DD "
                f"(declared in {', '.join(specs[name].notebooks)})"
            )
    if not dates or dataset_path is None:
        return problems
    try:
        period = data_period(dataset_path)
    except Exception:  # noqa: BLE001 - an unreadable dataset stops its stages with the
        return problems  # loader's own message (file, line, what to fix); nothing to add here
    if period is None:
        return problems
    first, last = period
    for name, day in sorted(dates.items()):
        if not first <= day <= last:
            problems.append(
                f"parameter {name!r} = {day.isoformat()} is outside the data's date range "
                f"{first.isoformat()} .. {last.isoformat()} (order dates in {dataset_path})"
            )
    return problems


def validate_params(
    values: dict[str, Any], specs: dict[str, ParamSpec], source: str = "parameters"
) -> RunParams:
    """Check names, types, the dataset path, the run name and dates; return :class:`RunParams`.

    Date parameters (:func:`date_params`) that are set must be ``YYYY-MM-DD`` and fall
    within the first and last order date of the dataset (:func:`data_period`); they are
    checked last, only when everything else is sound (it reads the orders).

    Args:
        values: merged parameter file and overrides.
        specs: from :func:`channelops.run.kernel.notebook_param_specs`.
        source: where the values came from, for messages (e.g. the file name).

    Raises:
        ParameterError: listing every problem found.
    """
    problems = _name_problems(values, specs) + _run_key_problems(values)
    problems += _notebook_param_problems(values, specs)
    if not problems:  # types are right: check the ranges
        problems += range_problems(values, specs)
    dataset = values.get("dataset")
    dataset_path = Path(str(dataset)) if dataset else None
    # dates are checked against the data (reading every export's order times) only when
    # the rest is sound
    problems += _check_dates(values, specs, None if problems else dataset_path)
    if problems:
        raise ParameterError(
            f"{source}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return RunParams(
        run_name=str(values.get("run_name", "run")),
        dataset=dataset_path.resolve(),  # type: ignore[union-attr]
        seed=int(values.get("seed", 0)),
        notebook_params={k: v for k, v in values.items() if k not in RUN_KEYS and k in specs},
        memory_limit=(
            parse_memory(values[MEMORY_LIMIT_KEY]) if MEMORY_LIMIT_KEY in values else None
        ),
    )


def _name_problems(values: dict[str, Any], specs: dict[str, ParamSpec]) -> list[str]:
    """Names no notebook declares (with the closest known name), and ``output_dir``."""
    problems = []
    known = set(specs) | set(RUN_KEYS) | {MEMORY_LIMIT_KEY}
    for name in values:
        if name in known or name == "output_dir":
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"unknown parameter {name!r}{hint}")
    if "output_dir" in values:
        problems.append("'output_dir' is set by the runner: use --output DIR or run_name")
    return problems


def _run_key_problems(values: dict[str, Any]) -> list[str]:
    """Problems with the runner's own keys: the run name, the seed, the dataset folder."""
    problems = []
    run_name = values.get("run_name", "run")
    if not isinstance(run_name, str) or not _RUN_NAME.match(run_name) or ".." in run_name:
        problems.append(
            f"run_name {run_name!r} must be 1-100 characters of letters, digits, '_', '-', '.' "
            "(no '/' or '..': the run folder must stay inside output/)"
        )
    seed = values.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed must be a non-negative integer, got {seed!r}")
    if MEMORY_LIMIT_KEY in values:
        try:
            parse_memory(values[MEMORY_LIMIT_KEY])
        except ValueError as err:
            problems.append(f"{MEMORY_LIMIT_KEY}: {err}")
    dataset = values.get("dataset")
    if not dataset:
        problems.append(
            "no dataset given: set 'dataset' in the parameter file or use --dataset DIR"
        )
    elif not (Path(str(dataset)) / "dataset.yaml").exists():
        path = Path(str(dataset))
        if not path.exists():
            problems.append(f"dataset folder {path} does not exist")
        else:
            problems.append(f"dataset folder {path} has no dataset.yaml")
    else:  # read dataset.yaml (and its mappings) now, not in stage 00
        try:
            D.load_dataset(Path(str(dataset)))
        except (D.DatasetError, OSError) as exc:
            problems.append(f"dataset {dataset}: {exc}")
    return problems


def _notebook_param_problems(values: dict[str, Any], specs: dict[str, ParamSpec]) -> list[str]:
    """Notebook parameters of the wrong type, and an ``engine`` that cannot be used."""
    problems = []
    for name, value in values.items():
        spec = specs.get(name)
        if name in RUN_KEYS or spec is None:
            continue
        if not _type_ok(value, spec.type_name):
            problems.append(
                f"parameter {name!r} must be {spec.type_name} (declared in "
                f"{', '.join(spec.notebooks)}), got {value!r} ({type(value).__name__})"
            )
    if "engine" in specs and isinstance(values.get("engine"), str):
        problem = engine_problem(values["engine"])
        if problem:
            problems.append(f"parameter 'engine': {problem}")
    return problems


def _numbers(value: Any) -> list[float] | None:
    """The numbers in a parameter value (a list: each), or None when it holds no numbers."""
    items = value if isinstance(value, list) else [value]
    nums = [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
    return nums if nums and len(nums) == len(items) else None


def _default(spec: ParamSpec | None) -> Any:
    """A notebook parameter's default value, or None when it is not a plain literal."""
    if spec is None:
        return None
    try:
        return ast.literal_eval(spec.default)
    except (ValueError, SyntaxError):
        return None


def range_problems(values: dict[str, Any], specs: dict[str, ParamSpec]) -> list[str]:
    """Numeric parameters outside their :data:`PARAM_RANGES`, and ordered pairs the wrong
    way round (``k_min`` > ``k_max``; values not set are taken at their defaults).

    Each problem names the parameter, its value, the allowed range and the notebooks that
    declare it (the caller names the parameter file).
    """
    problems = []
    for name, value in values.items():
        limits = PARAM_RANGES.get(name)
        nums = _numbers(value)
        if limits is None or nums is None:
            continue
        bad = [v for v in nums if not limits.contains(v)]
        if bad:
            shown = value if not isinstance(value, list) else f"{value} (element {bad[0]})"
            where = ", ".join(specs[name].notebooks) if name in specs else "?"
            problems.append(
                f"parameter {name!r} = {shown} is outside its allowed range "
                f"{limits.text()} (declared in {where})"
            )
    for small, large in _ORDERED:
        if small not in values and large not in values:
            continue
        a = values.get(small, _default(specs.get(small)))
        b = values.get(large, _default(specs.get(large)))
        if _numbers(a) is None or _numbers(b) is None or isinstance(a, list):
            continue
        if large == "max_channels" and b == 0:  # 0 means no limit
            continue
        if a > b:
            problems.append(
                f"parameter {small!r} = {a} is larger than {large!r} = {b}: it may be at most "
                f"{large}"
            )
    return problems
