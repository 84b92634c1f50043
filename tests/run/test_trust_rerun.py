"""Trust, continued (split from test_trust_run.py, and the seed test from this file, so that
pytest-xdist's two workers, which take a file each, share the full-run tests): a killed run
re-runs to the same tables as the uninterrupted run; and a second full run of the same data,
parameters and seed - one stage at a time, single-threaded, while the killed run re-runs beside
it - writes the same tables as ``tiny_run`` (stages side by side, default threads)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _builders import ROOT, differing_tables, run_stage_tables, run_table_hashes
from channelops.run.folder import RunFolderError, read_table
from channelops.run.registry import select_stages, stage_by_key

CI = str(ROOT / "parameters" / "ci.yaml")
STAGE_00, STAGE_03 = stage_by_key("00"), stage_by_key("03")


def _cli(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "channelops.run.cli", "run", "--params", CI, "--dataset",
            str(dataset), "--output", str(out), "--no-progress", "--no-report", *extra]  # fmt: skip


def _stage_status(manifest: Path, key: str) -> str | None:
    try:
        return json.loads(manifest.read_text())["stages"][key]["status"]
    except (OSError, ValueError, KeyError):
        return None


def test_killed_rerun_and_a_concurrent_full_run_match_the_uninterrupted_run(
    tiny_dataset, tiny_run, tmp_path
):
    """Stages 00 and 03, killed mid-way through 03, then re-run into the same folder, equal
    the tiny run's 00 and 03 tables. At the same time a full run of every stage writes to
    another folder with ``--jobs 1`` and one BLAS/OpenMP thread: same data, parameters and
    seed, so every table equals the tiny run's (which ran with ``--jobs 2``)."""
    killed, other = tmp_path / "killed", tmp_path / "other"
    proc = subprocess.Popen(_cli(tiny_dataset, killed, "--only", "00,03"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    manifest = killed / "manifest.json"
    deadline = time.time() + 90
    while time.time() < deadline and _stage_status(manifest, "03") != "running":
        time.sleep(0.2)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    m = json.loads(manifest.read_text())
    assert m["status"] == "interrupted" and m["stages"]["03"]["status"] == "interrupted"
    left = {p.stem for p in (killed / "tables").glob("*.parquet")} - set(STAGE_00.outputs)
    for name in left:  # whatever the killed stage wrote is refused to every other stage
        with pytest.raises(RunFolderError, match="marked 'interrupted'"):
            read_table(name, killed)

    one_thread = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1"}  # fmt: skip
    runs = [
        subprocess.Popen(_cli(tiny_dataset, killed, "--only", "00,03"), cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        subprocess.Popen(_cli(tiny_dataset, other, "--jobs", "1"), cwd=ROOT, env=one_thread,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    ]  # fmt: skip
    for run in runs:
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output[-2000:]
    everything = run_table_hashes(tiny_run)
    assert len(everything) >= 30
    ours = run_stage_tables(tiny_run, "00") | run_stage_tables(tiny_run, "03")
    assert set(STAGE_03.outputs) <= ours
    for folder, stages in ((killed, ["00", "03"]), (other, [s.key for s in select_stages(None)])):
        m = json.loads((folder / "manifest.json").read_text())
        assert m["status"] == "ok" and list(m["stages"]) == stages
        got = run_table_hashes(folder)
        want = {t: h for t, h in everything.items() if folder is other or t in ours}
        assert set(got) == set(want), f"{folder.name}: other tables than the tiny run's"
        assert not differing_tables(want, got), (
            f"{folder.name}: tables differ: {differing_tables(want, got)}"
        )
        assert Path(m["stages"]["03"]["notebook"]).name == STAGE_03.notebook
        assert not list(folder.rglob(".*tmp")), "no temporary file is left behind"
    assert (killed / "warehouse.duckdb").exists() and (other / "warehouse.duckdb").exists()
