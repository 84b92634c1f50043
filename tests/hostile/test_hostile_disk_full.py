"""Hostile inputs, case 6: a full disk and a read-only run folder.

A full disk used to end in chained ``OSError`` tracebacks, the manifest stuck at
``running`` and temporary files left behind; a read-only folder gave a traceback. Now: one
message naming the folder and what to do, the manifest written with the failure, no
temporary file left, and no earlier good table replaced by a cut-off one.

The disk is a real 1 MB tmpfs mounted for the test (root only; skipped otherwise).
"""

from __future__ import annotations

import errno
import json
import subprocess
import uuid

import numpy as np
import pandas as pd
import pytest
from papermill.exceptions import PapermillExecutionError

from _builders import ROOT, build_dataset
from channelops.run import runner
from channelops.run.cli import main
from channelops.run.folder import RunFolderError, read_table, run_paths, write_table
from channelops.run.manifest import finish_manifest, write_json
from channelops.run.params import RunParams
from channelops.run.registry import Stage
from channelops.run.runner import RunFailed, run_stages

STAGE = Stage("04", "forecasting", "04.ipynb", "f", outputs=("forecasts",))


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system at tmp_path/small, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _big() -> pd.DataFrame:
    """About 1.6 MB of Parquet: more than the small disk holds."""
    return pd.DataFrame({"x": np.random.default_rng(0).normal(size=200_000)})


def _temp_files(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*tmp"))


def test_a_full_disk_keeps_the_earlier_table_whole_and_leaves_no_temp_file(small_disk):
    write_table(pd.DataFrame({"x": [1.0, 2.0]}), "forecasts", small_disk)
    with pytest.raises(OSError) as info:
        write_table(_big(), "forecasts", small_disk)
    assert info.value.errno == errno.ENOSPC
    assert read_table("forecasts", small_disk)["x"].tolist() == [1.0, 2.0]
    assert _temp_files(small_disk) == []


def test_a_manifest_that_does_not_fit_leaves_the_previous_one_whole(small_disk):
    paths = run_paths(small_disk)
    write_json(paths.manifest, {"status": "ok"})
    (small_disk / "filler").write_bytes(b"\0" * ((1 << 20) - 4096 * 4))  # nearly full
    with pytest.raises(OSError):
        write_json(paths.manifest, {"status": "running", "pad": "x" * 200_000})
    assert json.loads(paths.manifest.read_text()) == {"status": "ok"}
    assert _temp_files(small_disk) == []


def test_a_stage_hitting_a_full_disk_fails_with_one_clear_message(
    small_disk, tmp_path, monkeypatch
):
    """The stage's table does not fit: the run fails naming the full disk and what to do,
    the manifest says failed (not running), and stage 01's table from before is intact."""
    out = small_disk / "run"
    write_table(pd.DataFrame({"segment": ["a", "b"]}), "segments", out)
    m = {"status": "ok", "stages": {"01": {"name": "segmentation", "status": "ok"}}}
    finish_manifest(m, run_paths(out), 0.0)
    write_json(run_paths(out).manifest, m)

    def stage(source, target, values, kernel, cwd, key, kernels, bar):
        write_table(_big(), "forecasts", out)

    monkeypatch.setattr(runner, "execute_stage_notebook", stage)
    params = RunParams(run_name="t", dataset=tmp_path, seed=0)
    with pytest.raises(RunFailed) as info:
        run_stages(params, [STAGE], out, report=False, progress=False, echo=lambda *_: None)
    msg = str(info.value)
    assert msg.startswith(f"stage 04 (forecasting) failed: the run folder {out} could not be "
                          "written: the disk is full (no space left on device, ")  # fmt: skip
    assert "Free some space or choose another folder (--output DIR)" in msg
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["stages"]["04"]["status"] == "failed"
    assert not (out / "tables" / "forecasts.parquet").exists()
    assert read_table("segments", out)["segment"].tolist() == ["a", "b"]
    assert _temp_files(small_disk) == []


def test_a_notebook_hitting_a_full_disk_gets_the_same_advice(tmp_path, monkeypatch):
    def stage(source, target, values, kernel, cwd, key, kernels, bar):
        raise PapermillExecutionError(3, 3, "", "OSError", "[Errno 28] No space left on "
                                      "device: 'tables/.forecasts.1.parquet.tmp'", [])  # fmt: skip

    monkeypatch.setattr(runner, "execute_stage_notebook", stage)
    params = RunParams(run_name="t", dataset=tmp_path, seed=0)
    with pytest.raises(RunFailed) as info:
        run_stages(params, [STAGE], tmp_path / "run", report=False, progress=False,
                   echo=lambda *_: None)  # fmt: skip
    lines = str(info.value).splitlines()
    assert lines[0].startswith("stage 04 (forecasting) failed in cell 3 of ")
    assert lines[1].strip().startswith(f"the run folder {tmp_path / 'run'} could not be "
                                       "written: the disk is full")  # fmt: skip


def test_a_read_only_run_folder_is_refused_before_anything_runs(small_disk, tmp_path, capsys):
    out = small_disk / "run"
    out.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    params = RunParams(run_name="t", dataset=small_disk, seed=0)
    with pytest.raises(RunFolderError, match=r"cannot be written \(read-only file system\)"):
        run_stages(params, [STAGE], out, report=False, progress=False)
    # the command line: exit 2, one message, no traceback
    name = f"new_{uuid.uuid4().hex[:6]}"
    code = main(["run", "--params", str(ROOT / "parameters" / "ci.yaml"), "--only", "00",
                 "--dataset", str(build_dataset(tmp_path / "ds")), "-p", "calibration_end=", "--output",
                 str(small_disk / name), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"channelops: the run folder {small_disk / name} cannot be written "
                          "(read-only file system). Choose a folder you can write to")  # fmt: skip
    assert "Traceback" not in err
