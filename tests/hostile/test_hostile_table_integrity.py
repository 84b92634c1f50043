"""Hostile inputs, case 5: a table changed or cut off behind the run's back.

64 zeroed bytes inside ``order_lines.parquet`` changed 37 timestamps and ``--only 04`` ran
on them, exit 0: the manifest's hashes were never checked. A truncated table crashed the
runner itself. The manifest now records each table file's SHA-256; reading a table whose
file no longer matches is refused naming the table and the stage to re-run, before a run
starts as well as inside a stage; a file that is not readable Parquet is refused the
same way, never with a raw reader error, and a stage that writes one fails.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from channelops.run import runner
from channelops.run.folder import RunFolderError, read_table, run_paths, table_file, write_table
from channelops.run.manifest import finish_manifest, write_json
from channelops.run.params import RunParams
from channelops.run.registry import Stage
from channelops.run.runner import RunFailed, run_stages

READS_LINES = Stage("04", "forecasting", "04.ipynb", "f", inputs=("order_lines",), outputs=())


def _run_folder(tmp_path):
    """A finished run folder holding stage 03's order_lines (5,000 rows), as a run leaves it."""
    out = tmp_path / "run"
    rng = np.random.default_rng(0)
    lines = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(5000)],
            "order_ts": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10**7, 5000), unit="s"),
            "revenue_base": rng.normal(100, 10, 5000),
        }
    )
    write_table(lines, "order_lines", out)
    manifest = {"status": "ok", "stages": {"03": {"name": "integration", "status": "ok"}}}
    finish_manifest(manifest, run_paths(out), 1.0)
    write_json(run_paths(out).manifest, manifest)
    return out, lines


def _zero_64_bytes(path):
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 64] = bytes(64)
    path.write_bytes(bytes(raw))


def test_zeroed_bytes_are_refused_naming_the_table_and_the_stage_to_rerun(tmp_path):
    out, lines = _run_folder(tmp_path)
    assert read_table("order_lines", out)["revenue_base"].tolist() == lines["revenue_base"].tolist()
    _zero_64_bytes(out / "tables" / "order_lines.parquet")
    with pytest.raises(RunFolderError) as info:
        read_table("order_lines", out)
    msg = str(info.value)
    assert msg.startswith(f"table 'order_lines' ({out / 'tables' / 'order_lines.parquet'}) "
                          "was changed after its stage wrote it")  # fmt: skip
    assert f"Re-run stage 03 to write it again: channelops run --only 03 --output {out}" in msg


def test_a_table_file_handed_to_duckdb_is_checked_like_a_read(tmp_path):
    # 03, 05 and 06 give order_lines' file to DuckDB or Arrow rather than read_table: the
    # path they get must pass the same hash check, and a missing table says who writes it.
    out, _ = _run_folder(tmp_path)
    assert table_file("order_lines", out) == out / "tables" / "order_lines.parquet"
    _zero_64_bytes(out / "tables" / "order_lines.parquet")
    with pytest.raises(RunFolderError, match=r"table 'order_lines' .*was changed .*--only 03"):
        table_file("order_lines", out)
    with pytest.raises(RunFolderError, match=r"table 'orders' not found .*stage 03"):
        table_file("orders", out)


def test_a_truncated_table_is_refused_not_a_reader_traceback(tmp_path):
    out, _ = _run_folder(tmp_path)
    path = out / "tables" / "order_lines.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(RunFolderError, match=r"table 'order_lines' .*was changed .*--only 03"):
        read_table("order_lines", out)
    # with no hash recorded (an older manifest) the damage is still named, not a raw error
    m = json.loads((out / "manifest.json").read_text())
    del m["tables"]["order_lines"]["file_sha256"]
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(RunFolderError, match=r"cannot be read as Parquet .* --only 03"):
        read_table("order_lines", out)


def test_a_run_reading_a_changed_table_is_refused_before_anything_runs(tmp_path, monkeypatch):
    out, _ = _run_folder(tmp_path)
    _zero_64_bytes(out / "tables" / "order_lines.parquet")
    before = (out / "manifest.json").read_text()

    def never(*args):
        raise AssertionError("no stage may start")

    monkeypatch.setattr(runner, "execute_stage_notebook", never)
    params = RunParams(run_name="t", dataset=tmp_path, seed=0)
    with pytest.raises(RunFolderError) as info:
        run_stages(params, [READS_LINES], out, report=False, progress=False)
    assert str(info.value).splitlines()[0] == (
        "1 table(s) this run reads from earlier runs changed since they were written; "
        "nothing was run:"
    )
    assert "table 'order_lines'" in str(info.value) and "--only 03" in str(info.value)
    assert (out / "manifest.json").read_text() == before, "the manifest is left as it was"


def test_a_stage_that_leaves_a_cut_off_table_fails_and_the_run_ends_cleanly(tmp_path, monkeypatch):
    """A stage writing a file that is not readable Parquet fails (the runner used to crash
    hashing it, leaving the manifest at 'running'); the damaged file's entry says why."""
    out, _ = _run_folder(tmp_path)

    def stage(source, target, values, kernel, cwd, key, kernels, bar):
        (out / "tables" / "forecast_extra.parquet").write_bytes(b"PAR1 cut off")

    monkeypatch.setattr(runner, "execute_stage_notebook", stage)
    params = RunParams(run_name="t", dataset=tmp_path, seed=0)
    with pytest.raises(RunFailed, match=r"\['forecast_extra'\] that are not readable Parquet"):
        run_stages(params, [READS_LINES], out, report=False, progress=False, echo=lambda *_: None)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["stages"]["04"]["status"] == "failed"
    assert "not readable Parquet" in m["tables"]["forecast_extra"]["error"]
    with pytest.raises(RunFolderError, match="marked 'failed'"):
        read_table("forecast_extra", out)


def test_a_changed_table_of_a_stage_not_run_keeps_its_recorded_hash(tmp_path, monkeypatch):
    """A run of 04 must not record the new hash of 03's file changed behind its back (that
    would make the changed file look right to every later reader)."""
    out, _ = _run_folder(tmp_path)
    recorded = json.loads((out / "manifest.json").read_text())["tables"]["order_lines"]
    monkeypatch.setattr(runner, "execute_stage_notebook", lambda *a: None)
    params = RunParams(run_name="t", dataset=tmp_path, seed=0)
    other = Stage("04", "forecasting", "04.ipynb", "f", inputs=(), outputs=())
    _zero_64_bytes(out / "tables" / "order_lines.parquet")
    run_stages(params, [other], out, report=False, progress=False, echo=lambda *_: None)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "ok" and m["tables"]["order_lines"] == recorded
    with pytest.raises(RunFolderError, match="was changed after its stage wrote it"):
        read_table("order_lines", out)
