"""Parameters are validated before anything runs, with messages that say what to fix."""

import pytest

from _builders import build_dataset
from channelops.run.params import (
    ParameterError,
    ParamSpec,
    load_param_file,
    parse_overrides,
    validate_params,
)


def _specs():
    return {
        "dataset": ParamSpec("dataset", "str", "'../data/demo'", "", ("01.ipynb",)),
        "output_dir": ParamSpec("output_dir", "str", "'../output/demo'", "", ("01.ipynb",)),
        "seed": ParamSpec("seed", "int", "42", "", ("01.ipynb",)),
        "horizon_days": ParamSpec("horizon_days", "int", "28", "", ("04.ipynb",)),
        "service_level": ParamSpec("service_level", "float", "0.95", "", ("04.ipynb",)),
        "calibration_end": ParamSpec("calibration_end", "str", "''", "", ("01.ipynb",)),
        "target_segments": ParamSpec("target_segments", "list[str]", "[]", "", ("02.ipynb",)),
    }


@pytest.fixture
def dataset_dir(tmp_path):
    """A small valid dataset (dataset.yaml is read during validation)."""
    return build_dataset(tmp_path / "ds")


def test_valid_parameters_pass_and_dates_become_strings(tmp_path, dataset_dir):
    f = tmp_path / "p.yaml"
    f.write_text(f"run_name: demo\ndataset: {dataset_dir}\nseed: 3\ncalibration_end: 2024-03-01\n")
    values = load_param_file(f)
    assert values["calibration_end"] == "2024-03-01"
    params = validate_params(values, _specs())
    assert params.seed == 3 and params.dataset == dataset_dir.resolve()
    injected = params.for_notebook({"dataset", "output_dir", "seed", "calibration_end"}, tmp_path)
    assert injected == {
        "dataset": str(dataset_dir.resolve()),
        "output_dir": str(tmp_path),
        "seed": 3,
        "calibration_end": "2024-03-01",
    }


def test_unknown_name_suggests_the_closest(dataset_dir):
    with pytest.raises(
        ParameterError, match=r"unknown parameter 'horizon_day'; did you mean 'horizon_days'"
    ):
        validate_params({"dataset": str(dataset_dir), "horizon_day": 14}, _specs())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("horizon_days", "28", "must be int"),
        ("horizon_days", 2.5, "must be int"),
        ("horizon_days", True, "must be int"),
        ("service_level", "high", "must be float"),
        ("target_segments", "loyal", "must be list"),
    ],
)
def test_wrong_types_are_named(dataset_dir, name, value, expected):
    with pytest.raises(ParameterError, match=f"parameter '{name}' {expected}"):
        validate_params({"dataset": str(dataset_dir), name: value}, _specs())


def test_int_is_accepted_for_float(dataset_dir):
    assert validate_params({"dataset": str(dataset_dir), "service_level": 1}, _specs())


@pytest.mark.parametrize("run_name", ["../evil", "a/b", "..", "", "x" * 101])
def test_run_names_that_escape_output_are_refused(dataset_dir, run_name):
    with pytest.raises(ParameterError, match="run_name"):
        validate_params({"dataset": str(dataset_dir), "run_name": run_name}, _specs())


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(ParameterError, match=r"dataset folder .*nowhere does not exist"):
        validate_params({"dataset": str(tmp_path / "nowhere")}, _specs())


def test_dataset_folder_without_yaml(tmp_path):
    with pytest.raises(ParameterError, match="has no dataset.yaml"):
        validate_params({"dataset": str(tmp_path)}, _specs())


def test_all_problems_are_reported_at_once(dataset_dir):
    with pytest.raises(ParameterError, match=r"3 problem\(s\)"):
        validate_params(
            {"dataset": str(dataset_dir), "nope": 1, "seed": -1, "horizon_days": "x"}, _specs()
        )


def test_overrides_are_typed_by_yaml():
    assert parse_overrides(["horizon_days=14", "name=abc", "flag=true", "when=2024-01-31"]) == {
        "horizon_days": 14,
        "name": "abc",
        "flag": True,
        "when": "2024-01-31",
    }
    with pytest.raises(ParameterError, match="must look like name=value"):
        parse_overrides(["horizon_days"])


def test_malformed_parameter_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("run_name: demo\n  seed: [1,\n")
    with pytest.raises(ParameterError, match=r"bad.yaml is not valid YAML at line"):
        load_param_file(f)
