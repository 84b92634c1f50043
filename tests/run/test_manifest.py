"""The manifest's start and end of a run, on a hand-made run folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from channelops.run.folder import run_paths, write_table
from channelops.run.hashing import HASH_SCHEME, file_sha256, table_content_hash
from channelops.run.manifest import finish_manifest, start_manifest
from channelops.run.params import RunParams
from channelops.run.registry import Stage

STAGE = Stage("04", "forecasting", "04.ipynb", "f", outputs=("forecasts",))


def _dataset(tmp_path):
    data = tmp_path / "data"
    (data / "orders").mkdir(parents=True)
    (data / "truth").mkdir()
    (data / "orders" / "shop.csv").write_text("order_id\n1\n")
    (data / "truth" / "secret.json").write_text("{}")
    return data


def test_start_keeps_other_stages_drops_the_old_report_and_lists_last_tables(tmp_path):
    paths = run_paths(tmp_path / "run")
    paths.root.mkdir()
    old = {
        "report": "/elsewhere/report.html",
        "report_error": "boom",
        "error": {"error": "OSError", "message": "an earlier run's own error"},
        "temp_files_removed": ["tables/.x.1.parquet.tmp"],
        "stages": {
            "01": {"name": "segmentation", "status": "ok", "tables": ["segments"]},
            "04": {"name": "forecasting", "status": "failed", "tables": ["forecasts", "extra"]},
        },
    }
    paths.manifest.write_text(json.dumps(old))
    params = RunParams(run_name="t", dataset=_dataset(tmp_path), seed=3, notebook_params={"h": 2})
    m = start_manifest(params, [STAGE], paths)
    assert json.loads(paths.manifest.read_text()) == m, "written as returned"
    assert not {"report", "report_error", "error", "temp_files_removed"} & set(m)
    assert m["status"] == "running" and m["finished_at"] is None
    assert m["parameters"] == {"run_name": "t", "dataset": str(params.dataset), "seed": 3, "h": 2}
    assert list(m["dataset"]["files"]) == ["orders/shop.csv"], "truth/ is not an input"
    assert m["stages"]["01"] == old["stages"]["01"], "a stage not in this run is kept"
    assert m["stages"]["04"] == {"name": "forecasting", "notebook": "04.ipynb",
                                 "status": "pending", "tables": ["forecasts", "extra"]}  # fmt: skip


def test_start_needs_the_run_folder(tmp_path):
    params = RunParams(run_name="t", dataset=_dataset(tmp_path), seed=0)
    with pytest.raises(FileNotFoundError):
        start_manifest(params, [STAGE], run_paths(tmp_path / "no" / "folder"))


def test_finish_stamps_the_end_and_hashes_each_table_once(tmp_path, monkeypatch):
    paths = run_paths(tmp_path)
    write_table(pd.DataFrame({"x": [1, 2, 3]}), "forecasts", tmp_path)
    write_table(pd.DataFrame({"y": ["a"]}), "extra", tmp_path)
    m = {"stages": {"04": {"status": "ok", "tables": ["forecasts", "extra"]}}}
    finish_manifest(m, paths, 12.345)
    assert m["seconds"] == 12.35 and m["finished_at"].endswith("+00:00")
    assert m["tables"]["forecasts"]["rows"] == 3 and m["tables"]["extra"]["stage"] == "04"
    assert m["tables"]["forecasts"]["content_hash"] == table_content_hash(paths.table("forecasts"))
    assert m["tables"]["forecasts"]["hash_scheme"] == HASH_SCHEME
    # an unchanged file keeps its recorded hash: nothing is hashed again
    monkeypatch.setattr("channelops.run.manifest.table_content_hash", lambda p: 1 / 0)
    finish_manifest(m, paths, 1.0)
    assert m["tables"]["extra"]["content_hash"] == table_content_hash(paths.table("extra"))


def test_finish_records_a_table_that_is_not_parquet_without_stopping(tmp_path):
    """A damaged file gets an entry naming the problem (and no hash), not a traceback that
    would leave the manifest at 'running'; reading it is refused (tests/hostile)."""
    paths = run_paths(tmp_path)
    write_table(pd.DataFrame({"x": [1]}), "good", tmp_path)
    paths.table("broken").write_bytes(b"not parquet")
    m: dict = {}
    finish_manifest(m, paths, 0.0)
    assert "not readable Parquet" in m["tables"]["broken"]["error"]
    assert "content_hash" not in m["tables"]["broken"]
    assert m["tables"]["good"]["rows"] == 1


def test_file_hash_is_recorded_and_tables_of_stages_not_run_keep_their_entry(tmp_path):
    """Each table's file SHA-256 is recorded. A refresh after a run of stage 04 only keeps
    the entry of a table of another stage even when its file changed meanwhile, so a file
    changed behind the run's back is never recorded as if its stage wrote it."""
    paths = run_paths(tmp_path)
    write_table(pd.DataFrame({"x": [1, 2]}), "forecasts", tmp_path)
    write_table(pd.DataFrame({"s": [1]}), "segments", tmp_path)  # stage 01's
    m = {"stages": {"04": {"status": "ok"}, "01": {"status": "ok"}}}
    finish_manifest(m, paths, 0.0)
    assert m["tables"]["segments"]["file_sha256"] == file_sha256(paths.table("segments"))
    before = dict(m["tables"]["segments"])
    write_table(pd.DataFrame({"s": [999]}), "segments", tmp_path)
    write_table(pd.DataFrame({"x": [3]}), "forecasts", tmp_path)
    finish_manifest(m, paths, 0.0, rewritten={"04"})
    assert m["tables"]["segments"] == before, "not rewritten by this run: entry kept"
    assert m["tables"]["forecasts"]["rows"] == 1, "04 ran: its table is hashed again"
    finish_manifest(m, paths, 0.0)  # no restriction: every changed table is hashed again
    assert m["tables"]["segments"]["file_sha256"] == file_sha256(paths.table("segments"))


def test_content_hash_is_the_documented_digest_whatever_the_number_of_workers(tmp_path):
    """Hand-computed: the row count, then per column its name:type line and the digests of
    its null mask, lengths and values (nulls zeroed / empty), in column order."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    table = pa.table({"n": pa.array([3, None, 5], pa.int64()), "s": pa.array(["ab", None, "c"])})
    pq.write_table(table, path)

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    want = hashlib.sha256(b"3 rows\n")
    want.update(b"n:int64\n")
    want.update(sha(np.array([0, 1, 0], np.bool_).tobytes()) + sha(b""))
    want.update(sha(np.array([3, 0, 5], np.int64).tobytes()))
    want.update(b"s:string\n")
    want.update(sha(np.array([0, 1, 0], np.bool_).tobytes()))
    want.update(sha(np.array([2, 0, 1], np.int64).tobytes()) + sha(b"abc"))
    for workers in (1, 2, 3):
        assert table_content_hash(path, workers=workers) == want.hexdigest()


def test_content_hash_of_columns_without_nulls_is_the_documented_digest(tmp_path):
    """Hand-computed, for chunks fed without copies (no nulls, two row groups, a bool and
    a string column): an all-zero mask, the int64 lengths, the value bytes."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    table = pa.table(
        {
            "x": pa.array([1.5, -2.0, 0.25], pa.float64()),
            "b": pa.array([True, False, True]),
            "s": pa.array(["ab", "", "cde"], pa.large_string()),
        }
    )
    pq.write_table(table, path, row_group_size=2)  # chunks of 2 and 1 rows

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    zeros = sha(bytes(3))
    want = hashlib.sha256(b"3 rows\n")
    want.update(b"x:double\n")
    want.update(zeros + sha(b"") + sha(np.array([1.5, -2.0, 0.25]).tobytes()))
    want.update(b"b:bool\n")
    want.update(zeros + sha(b"") + sha(np.array([True, False, True]).tobytes()))
    want.update(b"s:string\n")
    want.update(zeros + sha(np.array([2, 0, 3], np.int64).tobytes()) + sha(b"abcde"))
    for workers in (1, 2):
        assert table_content_hash(path, workers=workers) == want.hexdigest()


def test_input_hashes_are_each_files_sha256_whatever_the_number_of_workers(tmp_path):
    """Every dataset file's SHA-256 by its relative path; truth/ and hidden files left out."""
    import hashlib

    from channelops.run.hashing import hash_inputs

    (tmp_path / "orders").mkdir()
    (tmp_path / "truth").mkdir()
    files = {"dataset.yaml": b"name: x\n", "orders/a.csv": b"id\n1\n", "products.csv": b""}
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "truth" / "t.csv").write_bytes(b"secret")
    (tmp_path / ".hidden").write_bytes(b"x")
    want = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}
    for workers in (1, 2):
        assert hash_inputs(tmp_path, workers=workers) == want
