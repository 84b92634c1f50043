"""The run's memory limit (issue 27): the memory_limit parameter, the --memory-limit,
--stage-memory and --memory-from options, and the plan the runner records (no kernels)."""

from __future__ import annotations

import argparse
import json

import pytest

from _builders import build_dataset
from channelops.engine import DUCKDB_MEMORY_ENV, duckdb_connection
from channelops.run.cli import _memory_options
from channelops.run.params import ParameterError, ParamSpec, RunParams, validate_params
from channelops.run.registry import select_stages
from channelops.run.runner import _Memory, _memory_plan

GIB = 2**30


def _specs():
    return {"seed": ParamSpec("seed", "int", "42", "", ("01.ipynb",))}


@pytest.fixture
def dataset_dir(tmp_path):
    return build_dataset(tmp_path / "ds")


def test_memory_limit_parameter_is_the_runners_not_a_notebooks(dataset_dir, tmp_path):
    params = validate_params({"dataset": str(dataset_dir), "memory_limit": "6GB"}, _specs())
    assert params.memory_limit == 6 * GIB
    assert "memory_limit" not in params.for_notebook({"seed", "memory_limit"}, tmp_path)
    assert validate_params({"dataset": str(dataset_dir)}, _specs()).memory_limit is None
    with pytest.raises(ParameterError, match=r"memory_limit: memory size 'lots' is not a size"):
        validate_params({"dataset": str(dataset_dir), "memory_limit": "lots"}, _specs())


def _args(**kw):
    base = {"memory_limit": None, "stage_memory": None, "memory_from": None}
    return argparse.Namespace(**{**base, **kw})


def test_memory_options_from_the_command_line(tmp_path):
    other = tmp_path / "old_run"
    other.mkdir()
    manifest = {"stages": {"03": {"status": "ok", "peak_rss_gb": 5.0}}}
    (other / "manifest.json").write_text(json.dumps(manifest))
    params = RunParams("r", tmp_path, 0, memory_limit=8 * GIB)
    got = _memory_options(
        _args(memory_limit="4GB", stage_memory="3=6GB, forecasting=2GB", memory_from=str(other)),
        params,
    )
    assert got["memory_limit"] == 4 * GIB  # the option beats the parameter file
    assert got["stage_budgets"] == {"03": 6 * GIB, "04": 2 * GIB}
    assert got["memory_from"] == (str(other), manifest)
    assert _memory_options(_args(), params)["memory_limit"] == 8 * GIB


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"memory_limit": "6 bytes please"}, "is not a size like 6GB"),
        ({"stage_memory": "03:6GB"}, "must look like 03=6GB"),
        ({"stage_memory": "99=6GB"}, "unknown stage '99'"),
        ({"memory_from": "/nowhere/run"}, "no run manifest with stages at /nowhere/run"),
    ],
)
def test_bad_memory_options_are_refused(tmp_path, kw, message):
    with pytest.raises(ParameterError, match=message):
        _memory_options(_args(**kw), RunParams("r", tmp_path, 0))


def test_memory_plan_in_the_manifest_and_on_the_console(dataset_dir):
    (dataset_dir / "orders").mkdir(exist_ok=True)
    stages = select_stages("01,03,04")
    before = {"stages": {"01": {"status": "ok", "peak_rss_gb": 2.0}}}
    manifest, said = {}, []
    memory = _Memory(6 * GIB, {"04": 3 * GIB}, ("output/old", {"stages": {}}))
    need, limit, duckdb = _memory_plan(
        memory, stages, before, RunParams("r", dataset_dir, 0), 2, manifest, said.append
    )
    assert limit == 6 * GIB and duckdb == "1536MiB"
    # 03 has no measurement and no budget; the dataset is small, so 1 GB is taken
    assert need == {"01": 2 * GIB, "03": GIB, "04": 3 * GIB}
    assert manifest["memory"]["limit_gb"] == 6.0
    assert manifest["memory"]["stages"]["01"] == {"gb": 2.0, "from": "measured in this run folder"}
    assert said[0].startswith("  memory limit 6.0 GB")
    assert _memory_plan(_Memory(None, {}, None), stages, {}, None, 2, {}, said.append) == (
        None,
        None,
        None,
    )


def test_duckdb_takes_the_runs_share_unless_given_one(monkeypatch):
    def limit(con):
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    monkeypatch.setenv(DUCKDB_MEMORY_ENV, "700MiB")  # what the runner sets for its kernels
    assert limit(duckdb_connection()) == "700.0 MiB"
    assert limit(duckdb_connection(memory_limit="512MiB")) == "512.0 MiB"
    monkeypatch.delenv(DUCKDB_MEMORY_ENV)
    assert limit(duckdb_connection()) == "3.7 GiB"  # the 4 GB (10**9 bytes) default
