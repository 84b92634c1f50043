"""Hostile inputs, case 5b: no stage stays ``running`` in the manifest once its run is over.

With ``--jobs 2`` a stage failing while the first failure was being handled was never
recorded (``failure = failure or fail(...)`` skipped it), so it stayed ``running``; so did a
stage whose worker was hit by an interrupt, and the whole run when an error came from
outside the notebooks. The runner is driven here with stand-in notebooks
(``execute_stage_notebook`` replaced), so no kernel starts.
"""

from __future__ import annotations

import json
import threading

import pytest

from channelops.run import runner
from channelops.run.params import RunParams
from channelops.run.registry import Stage
from channelops.run.runner import RunFailed, run_stages, settle_stages

A = Stage("01", "segmentation", "a.ipynb", "a", outputs=())
B = Stage("02", "channel_selection", "b.ipynb", "b", outputs=())


def _run(tmp_path, fake, monkeypatch, jobs=2):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "dataset.yaml").write_text("name: t\n")
    monkeypatch.setattr(runner, "execute_stage_notebook", fake)
    params = RunParams(run_name="t", dataset=data, seed=0)
    out = tmp_path / "run"
    try:
        return run_stages(params, [A, B], out, notebook_folder=tmp_path, progress=False,
                          report=False, echo=lambda *_: None, jobs=jobs)  # fmt: skip
    finally:
        manifest = json.loads((out / "manifest.json").read_text())
        statuses = {k: e["status"] for k, e in manifest["stages"].items()}
        assert "running" not in statuses.values(), statuses
        assert manifest["status"] != "running"


def test_two_stages_failing_side_by_side_are_both_recorded(tmp_path, monkeypatch):
    both = threading.Barrier(2, timeout=10)

    def fake(source, target, values, kernel, cwd, key, kernels, bar):
        both.wait()  # both stages are running when either fails
        raise ValueError(f"stage {key} broke")

    with pytest.raises(RunFailed, match="broke"):
        _run(tmp_path, fake, monkeypatch)
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert {k: e["status"] for k, e in m["stages"].items()} == {"01": "failed", "02": "failed"}
    assert {m["stages"][k]["error"]["message"] for k in ("01", "02")} == {
        "stage 01 broke",
        "stage 02 broke",
    }


def test_an_interrupt_in_a_stage_leaves_it_interrupted_not_running(tmp_path, monkeypatch):
    def fake(source, target, values, kernel, cwd, key, kernels, bar):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, fake, monkeypatch, jobs=1)
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["stages"]["01"]["status"] == "interrupted"
    assert m["stages"]["02"]["status"] == "pending", "never started"


def test_an_error_outside_the_notebooks_ends_the_run_as_failed(tmp_path, monkeypatch):
    """The runner's own bookkeeping raising (here: describing the failed notebook) used to
    escape with the manifest still 'running'."""

    def fake(source, target, values, kernel, cwd, key, kernels, bar):
        raise ValueError("notebook error")

    def broken(*args):
        raise TypeError("bookkeeping broke")

    monkeypatch.setattr(runner, "notebook_error", broken)
    with pytest.raises(RunFailed, match="outside the notebooks: TypeError: bookkeeping broke"):
        _run(tmp_path, fake, monkeypatch, jobs=1)
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"]["error"] == "TypeError"
    assert m["stages"]["01"]["status"] == "failed"
    assert m["stages"]["01"]["error"]["error"] == "RunEnded"


def test_settle_marks_only_running_stages_of_this_run():
    m = {
        "status": "failed",
        "stages": {
            "01": {"status": "running"},
            "02": {"status": "ok"},
            "03": {"status": "running"},
        },
    }
    settle_stages(m, ["01", "02"])
    assert [m["stages"][k]["status"] for k in ("01", "02", "03")] == ["failed", "ok", "running"]
    m["status"] = "interrupted"
    settle_stages(m, ["03"])
    assert m["stages"]["03"]["status"] == "interrupted"
