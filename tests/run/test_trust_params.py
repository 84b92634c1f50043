"""Parameters that cannot mislead: checked against the notebooks and the data before anything runs.

Through the command line, on the tiny dataset and the real notebooks: each problem stops
the run with exit code 2, a message naming the parameter, the value and what was expected,
and no run folder. Dates are checked against the first and last order date of the data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from _builders import ROOT
from channelops.ingest.dataset import load_dataset, read_export
from channelops.run.cli import main
from channelops.run.kernel import notebook_param_specs, notebooks_dir
from channelops.run.params import ParamSpec, data_period, date_params, validate_params

CI = str(ROOT / "parameters" / "ci.yaml")


@pytest.fixture(scope="module")
def tiny_period(tiny_dataset) -> tuple[dt.date, dt.date]:
    """First and last order date of the tiny data, from the full loader (the reference)."""
    ds = load_dataset(tiny_dataset)
    ts = pd.concat([read_export(ds, ch.id).lines["order_ts"] for ch in ds.channels])
    local = ts.dt.tz_convert(ds.timezone)
    return local.min().date(), local.max().date()


def _run(tiny_dataset, tmp_path, capsys, *overrides: str) -> tuple[int, str, Path]:
    out = tmp_path / "never"
    args = ["run", "--params", CI, "--dataset", str(tiny_dataset), "--output", str(out)]
    for item in overrides:
        args += ["-p", item]
    code = main(args)
    return code, capsys.readouterr().err, out


def test_data_period_reads_only_timestamps_and_agrees_with_the_loader(tiny_dataset, tiny_period):
    assert data_period(tiny_dataset) == tiny_period
    assert tiny_period == (dt.date(2023, 1, 2), dt.date(2024, 6, 30))  # the simulator's calendar


def test_date_parameters_are_found_by_name_or_comment():
    def spec(name, type_name="str", help=""):
        return ParamSpec(name, type_name, "''", help, ("x.ipynb",))

    specs = {
        s.name: s
        for s in [
            spec("calibration_end"),
            spec("test_start"),
            spec("cutoff_date"),
            spec("as_of", help="report date as YYYY-MM-DD"),
            spec("horizon_days", "int"),  # a number of days, not a date
            spec("plan_rule"),
            spec("dataset"),
            spec("trend", help="a word"),
        ]
    }
    assert date_params(specs) == ["as_of", "calibration_end", "cutoff_date", "test_start"]


@pytest.mark.parametrize("when", ["2030-01-01", "2022-12-31"])
def test_date_outside_the_data_stops_the_run(tiny_dataset, tiny_period, tmp_path, capsys, when):
    code, err, out = _run(tiny_dataset, tmp_path, capsys, f"calibration_end={when}")
    first, last = tiny_period
    assert code == 2 and not out.exists()
    assert (
        f"parameter 'calibration_end' = {when} is outside the data's date range "
        f"{first} .. {last}" in err
    )


def test_date_that_is_not_a_date_stops_the_run(tiny_dataset, tmp_path, capsys):
    code, err, out = _run(tiny_dataset, tmp_path, capsys, "calibration_end=31/03/2024")
    assert code == 2 and not out.exists()
    assert "parameter 'calibration_end' = '31/03/2024' is not a date: expected YYYY-MM-DD" in err
    assert "01_segmentation.ipynb" in err


def test_dates_inside_the_data_and_empty_dates_pass(tiny_dataset, tiny_period):
    specs = notebook_param_specs(sorted(notebooks_dir().glob("0*.ipynb")))
    assert "calibration_end" in date_params(specs)
    for value in ("", str(tiny_period[0]), str(tiny_period[1]), "2024-03-31"):
        params = validate_params({"dataset": str(tiny_dataset), "calibration_end": value}, specs)
        assert params.notebook_params["calibration_end"] == value


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("horizon_dayz=3", "unknown parameter 'horizon_dayz'; did you mean 'horizon_days'?"),
        ("n_windows=many", "parameter 'n_windows' must be int (declared in 04_forecasting.ipynb), "
         "got 'many' (str)"),
        ("drop_pii=yes please", "parameter 'drop_pii' must be bool"),
        ("run_name=../../etc", "run_name '../../etc' must be 1-100 characters"),
        ("dataset=/nowhere/at/all", "dataset folder /nowhere/at/all does not exist"),
        ("seed=-3", "seed must be a non-negative integer, got -3"),
        ("output_dir=/tmp/x", "'output_dir' is set by the runner"),
    ],
)  # fmt: skip
def test_each_problem_has_a_message_that_says_what_to_fix(
    tiny_dataset, tmp_path, capsys, override, message
):
    out = tmp_path / "never"
    args = ["run", "--params", CI, "--output", str(out), "-p", override]
    if not override.startswith("dataset="):
        args += ["--dataset", str(tiny_dataset)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert message in err, err
