"""Hostile inputs, case 10: impossible or unbounded parameters and a malformed dataset.yaml.

``horizon_days`` <= 0, ``k=0`` and ``confidence_level=2`` were caught only inside their
stage (some with unclear errors) and huge bootstrap counts or horizons cost minutes; a
malformed dataset.yaml exited 1 from stage 00. Every numeric parameter is now checked
against its range before anything runs, with the parameter file, name, value and allowed
range in the message, and dataset.yaml is read up front: exit 2 naming its line.
"""

from __future__ import annotations

import ast

import pytest

from _builders import ROOT, build_dataset
from channelops.run.cli import main
from channelops.run.kernel import notebook_param_specs, notebooks_dir
from channelops.run.params import (
    PARAM_RANGES,
    ParameterError,
    load_param_file,
    range_problems,
    validate_params,
)


@pytest.fixture(scope="module")
def specs():
    return notebook_param_specs(sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb")))


def _problems(tmp_path, specs, text: str) -> str:
    f = tmp_path / "mine.yaml"
    f.write_text(f"run_name: t\ndataset: {build_dataset(tmp_path / 'ds')}\n{text}")
    with pytest.raises(ParameterError) as info:
        validate_params(load_param_file(f), specs, source=str(f))
    return str(info.value)


def test_impossible_values_name_file_key_value_and_range(tmp_path, specs):
    msg = _problems(tmp_path, specs, "horizon_days: 0\nk: 0\nconfidence_level: 2\n")
    assert msg.splitlines() == [
        f"{tmp_path / 'mine.yaml'}: 3 problem(s):",
        "  - parameter 'horizon_days' = 0 is outside its allowed range 1 .. 365 days "
        "(declared in 04_forecasting.ipynb)",
        "  - parameter 'k' = 0 is outside its allowed range 1 .. 1,000 recommendations "
        "(declared in 07_recommendation.ipynb)",
        "  - parameter 'confidence_level' = 2 is outside its allowed range 0 < x < 1 "
        "(declared in 06_evaluation.ipynb)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n_boot: 1000000\n", "'n_boot' = 1000000 is outside its allowed range 1 .. 10,000 draws"),
        ("horizon_days: 100000\n", "'horizon_days' = 100000 is outside"),
        ("experiment_boot: -5\n", "'experiment_boot' = -5 is outside"),
        ("interval_level: .nan\n", "'interval_level' = nan is outside"),
        ("als_factors: [8, 0]\n", "'als_factors' = [8, 0] (element 0) is outside"),
        ("explore_tolerance: 1\n", "'explore_tolerance' = 1 is outside"),
        ("explore_weights: [2, 0]\n", "'explore_weights' = [2, 0] (element 0) is outside"),
        ("k_min: 6\nk_max: 3\n", "'k_min' = 6 is larger than 'k_max' = 3"),
        ("feature_size: 50\n", "'feature_size' = 50 is larger than 'list_size' = 30"),
    ],
)
def test_unbounded_or_inconsistent_values_are_refused(tmp_path, specs, text, expected):
    assert expected in _problems(tmp_path, specs, text)


def test_shipped_files_and_notebook_defaults_are_inside_the_ranges(specs):
    assert set(PARAM_RANGES) <= set(specs), "every range belongs to a declared parameter"
    for path in sorted((ROOT / "parameters").glob("*.yaml")):
        assert range_problems(load_param_file(path), specs) == [], path.name
    for name, spec in specs.items():
        if name in PARAM_RANGES:
            assert range_problems({name: ast.literal_eval(spec.default)}, specs) == [], name


def test_malformed_dataset_yaml_exits_2_naming_file_and_line(tmp_path, capsys):
    ds = build_dataset(
        tmp_path / "ds", dataset_yaml="name: t\nchannels:\n  - id: web\n   orders: x\n"
    )
    code = main(["run", "--params", str(ROOT / "parameters" / "ci.yaml"), "--dataset", str(ds),
                 "-p", "calibration_end=", "--output", str(tmp_path / "never")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"  - dataset {ds}: dataset.yaml, line 4: malformed YAML" in err
    assert "Traceback" not in err and not (tmp_path / "never").exists()
