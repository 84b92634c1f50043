"""Runs that can be trusted: reproducible, safe when they fail, independent of each other.

* The manifest records a content hash of every table; two runs of the same data,
  parameters and seed give the same hashes (test_trust_rerun.py: a second full tiny run,
  one stage at a time and single-threaded, against ``tiny_run``).
* A different seed changes only what depends on randomness: stage 01's K-means starts,
  stage 02's curve fits and NSGA-II, stage 03's random pair sample (the match probabilities
  of ``customer_links``) - never which buyer is which customer, nor any other table of 03.
* A run killed in the middle of a stage and re-run into the same folder gives the same
  tables as an uninterrupted run, also while a second run (single-threaded BLAS) writes to
  another folder at the same time.
* No stage reads a table that a failed stage left behind, including tables it writes
  beyond its declared outputs; a re-run first removes what the stage wrote last time.
* Stages side by side (``--jobs 2``, the default) give the same tables as one after the
  other (``tiny_run`` runs with 2, test_trust_rerun.py's second full run with 1); a stage starts only after
  the stages whose tables it reads; each kernel knows its own stage; a failure lets the
  stage running alongside finish and starts nothing new.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from _builders import (
    ROOT,
    run_table_hashes,
    stage_notebook,
)
from channelops.run.cli import main
from channelops.run.folder import RunFolderError, read_table, write_table
from channelops.run.hashing import table_content_hash
from channelops.run.kernel import notebooks_dir
from channelops.run.params import RunParams
from channelops.run.registry import STAGES, Stage, select_stages, stage_by_key
from channelops.run.runner import RunFailed, run_stages
from channelops.run.schedule import default_jobs, exports_bytes, stage_dependencies

CI = str(ROOT / "parameters" / "ci.yaml")
STAGE_00, STAGE_03 = stage_by_key("00"), stage_by_key("03")


def _cli(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "channelops.run.cli", "run", "--params", CI, "--dataset",
            str(dataset), "--output", str(out), "--no-progress", "--no-report", *extra]  # fmt: skip


# ---- content hashes -------------------------------------------------------------------


def test_content_hash_is_of_the_values_not_the_file(tmp_path):
    df = pd.DataFrame(
        {"customer_id": ["a", "b", None], "x": [1.5, 2.0, float("nan")], "n": [1, 2, 3]}
    )
    df["when"] = pd.to_datetime(["2024-01-01", "2024-02-01", None], utc=True)
    df["items"] = [["s1"], ["s2", "s3"], []]
    df.to_parquet(tmp_path / "a.parquet", compression="snappy")
    df.to_parquet(tmp_path / "b.parquet", compression="zstd", row_group_size=1)
    assert (tmp_path / "a.parquet").read_bytes() != (tmp_path / "b.parquet").read_bytes()
    h = table_content_hash(tmp_path / "a.parquet")
    assert len(h) == 64 and h == table_content_hash(tmp_path / "b.parquet")
    changed = {
        "value": df.assign(x=[1.5, 2.0, 0.0]),
        "order": df.iloc[::-1].reset_index(drop=True),
        "name": df.rename(columns={"n": "m"}),
        "type": df.assign(n=df["n"].astype("float64")),
        "list": df.assign(items=[["s1"], ["s2"], []]),
    }
    for what, frame in changed.items():
        frame.to_parquet(tmp_path / f"{what}.parquet")
        assert table_content_hash(tmp_path / f"{what}.parquet") != h, f"a change of {what}"


def test_content_hash_ignores_how_strings_are_held_and_where_row_groups_end(tmp_path):
    """Object strings and pandas string[pyarrow] hold the same values; so do one row group
    and many. Nulls count, in place: moving a null changes the hash."""
    df = pd.DataFrame({"s": ["ab", None, "", "c" * 40, "é"], "v": [1.0, None, 3.0, 4.0, 5.0]})
    df.to_parquet(tmp_path / "object.parquet")
    df.astype({"s": "string[pyarrow]"}).to_parquet(tmp_path / "arrow.parquet", row_group_size=2)
    df.astype({"s": "category"}).to_parquet(tmp_path / "dict.parquet")
    h = table_content_hash(tmp_path / "object.parquet")
    assert h == table_content_hash(tmp_path / "arrow.parquet")
    assert h == table_content_hash(tmp_path / "dict.parquet")
    moved = df.assign(s=["ab", "", None, "c" * 40, "é"])  # the null and the empty string swap
    moved.to_parquet(tmp_path / "moved.parquet")
    assert table_content_hash(tmp_path / "moved.parquet") != h
    split = df.assign(s=["a", "b", None, "c" * 40, "é"])  # as moved: same bytes, same nulls
    split.to_parquet(tmp_path / "split.parquet")
    assert table_content_hash(tmp_path / "split.parquet") != table_content_hash(
        tmp_path / "moved.parquet"
    )


def test_manifest_hash_matches_each_table(tiny_run):
    hashes = run_table_hashes(tiny_run)
    files = sorted(p.stem for p in (tiny_run / "tables").glob("*.parquet"))
    assert sorted(hashes) == files
    for name in ("order_lines", "segments", "forecasts", "dq_revenue"):
        assert hashes[name] == table_content_hash(tiny_run / "tables" / f"{name}.parquet")
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert all(entry["stage"] for entry in manifest["tables"].values()), (
        "every table is attributed to the stage that wrote it, declared or not"
    )


def test_manifest_records_each_stages_peak_memory(tiny_run):
    """Each stage's kernel peak RSS is recorded: a kernel with pandas loaded holds well over
    50 MB, and the tiny data keeps every stage far below 4 GB."""
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    peaks = {key: entry.get("peak_rss_gb") for key, entry in manifest["stages"].items()}
    assert all(peak is not None and 0.05 < peak < 4 for peak in peaks.values()), peaks


def test_every_table_a_run_writes_is_declared_by_the_stage_that_wrote_it(tiny_run):
    """A table no stage declares is attributed by time window; with two stages side by side
    both would claim it. Every stage's tables are declared in run/registry.py, and the
    manifest names that stage."""
    declared = {table: stage.key for stage in STAGES for table in stage.outputs}
    files = {p.stem for p in (tiny_run / "tables").glob("*.parquet")}
    assert files - set(declared) == set(), "tables no stage declares in run/registry.py"
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    wrong = {t: e["stage"] for t, e in manifest["tables"].items() if e["stage"] != declared[t]}
    assert wrong == {}, f"tables attributed to another stage than the declaring one: {wrong}"
    for key, entry in manifest["stages"].items():
        claimed = [t for t in entry.get("tables") or [] if declared.get(t) != key]
        assert claimed == [], f"stage {key} lists tables another stage declares: {claimed}"


# ---- reproducible ---------------------------------------------------------------------


# ---- safe failure and concurrent runs -------------------------------------------------


# ---- no stage builds on a failed stage's leftovers ------------------------------------


def test_tables_a_failed_stage_wrote_are_refused_and_removed_on_rerun(tiny_dataset, tmp_path):
    """A stage writes a declared and an undeclared table, then fails. Neither may be read by
    a later stage; a re-run removes both before the stage runs again."""
    nbs, out = tmp_path / "nbs", tmp_path / "run"
    nbs.mkdir()
    write = "from channelops.run.folder import write_table\nimport pandas as pd\n"
    stage_notebook(nbs / "a.ipynb", write + "write_table(pd.DataFrame({'x': [1]}), 'orders', "
              "output_dir)\nwrite_table(pd.DataFrame({'x': [1]}), 'trust_extra', output_dir)\n"
              "raise ValueError('half-way')")  # fmt: skip
    stage_notebook(nbs / "b.ipynb", "from channelops.run.folder import read_table\n"
              "read_table('trust_extra', output_dir)")  # fmt: skip
    stage_notebook(nbs / "a_fixed.ipynb", write + "write_table(pd.DataFrame({'x': [2]}), 'orders', "
              "output_dir)")  # fmt: skip
    params = RunParams(run_name="t", dataset=tiny_dataset, seed=0)
    stage_a = Stage("03", "integration", "a.ipynb", "a", outputs=("orders",))
    stage_b = Stage("04", "forecasting", "b.ipynb", "b", outputs=())

    def run(*stages: Stage) -> None:
        run_stages(params, list(stages), out, notebook_folder=nbs, progress=False,
                   report=False, echo=lambda *_: None)  # fmt: skip

    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"report": "/elsewhere/report.html"}))
    with pytest.raises(RunFailed, match="ValueError"):
        run(stage_a)
    m = json.loads((out / "manifest.json").read_text())
    assert "report" not in m, "a run without a report does not point at an old one"
    assert m["stages"]["03"]["tables"] == ["orders", "trust_extra"]
    assert m["tables"]["trust_extra"]["stage"] == "03"
    for name in ("orders", "trust_extra"):
        with pytest.raises(RunFolderError, match=r"stage 03 .*marked 'failed'.*--only 03"):
            read_table(name, out)
    with pytest.raises(RunFailed, match="RunFolderError"):
        run(stage_b)
    assert "trust_extra" in json.loads((out / "manifest.json").read_text())["stages"]["04"][
        "error"]["message"]  # fmt: skip
    # the fixed stage writes only `orders`: the failed run's extra table must be gone
    run(Stage("03", "integration", "a_fixed.ipynb", "a", outputs=("orders",)))
    assert not (out / "tables" / "trust_extra.parquet").exists()
    assert read_table("orders", out)["x"].tolist() == [2]
    write_table(pd.DataFrame({"x": [3]}), "trust_extra", out)  # not in the manifest: no owner
    assert len(read_table("trust_extra", out)) == 1


def test_stage_dependencies_follow_the_tables_each_stage_reads():
    deps = stage_dependencies(select_stages(None))
    assert deps["00"] == set()  # the intake reads only the dataset
    assert deps["01"] == {"00"} and deps["03"] == {"00"}  # intake_lines (and buyers)
    assert deps["02"] == {"00", "01"}  # intake_lines; segments, segment_profiles
    assert deps["04"] == {"00"} and deps["05"] == {"03"}  # intake_lines; orders, order lines
    assert deps["07"] == {"01", "03"}
    assert deps["06"] == {"01", "02", "03", "04", "05"}  # 05's fulfilment_sim when present
    # a stage whose producer is not part of this run does not wait for it (--only 04)
    assert stage_dependencies(select_stages("04")) == {"04": set()}


def test_every_table_a_notebook_reads_is_declared():
    """The runner orders stages by their declared inputs; a table a notebook reads (even
    only when it exists) but does not declare could be read while its stage still runs."""
    reads = re.compile(r'(?:read_table|table_file|table_exists|optional)\(\s*"([a-z_]+)"')
    # a run folder's table file handed to DuckDB or Arrow: paths.table("x"),
    # run_paths(output_dir).table("x"); ds.table("x") is the dataset's, not a stage's
    files = re.compile(r'(\w+|\))\.table\(\s*"([a-z_]+)"')
    for stage in STAGES:
        nb = json.loads((notebooks_dir() / stage.notebook).read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        read = set(reads.findall(code))
        read |= {name for owner, name in files.findall(code) if owner != "ds"}
        if stage.inputs:  # 01 and 03 read only the dataset's exports
            assert read, f"{stage.notebook}: no table reads found; has the reading idiom changed?"
        undeclared = read - set(stage.inputs) - set(stage.outputs)
        assert not undeclared, f"{stage.notebook} reads {sorted(undeclared)} without declaring them"


def _timed(body: str) -> str:
    """Notebook code that records when it ran and which stage its kernel says it is."""
    return (
        "import os, time\nimport pandas as pd\nfrom channelops.run.folder import read_table, "
        "write_table\nt0 = time.time()\n" + body + "\nopen(os.path.join(output_dir, "
        "os.environ['CHANNELOPS_STAGE'] + '.times'), 'w').write(f'{t0} {time.time()}')"
    )


def _signal_and_wait(mine: str, *others: str) -> str:
    """Notebook code: create the flag ``mine``, then wait up to 60 s for each of ``others``.

    Two stages that wait for each other's flag can only both finish if they run at the same
    time: run one after the other, the first times out. No clock comparison involved.
    """
    return (
        f"open(os.path.join(output_dir, '{mine}.flag'), 'w').close()\n"
        f"for other in {list(others)!r}:\n"
        "    deadline = time.time() + 60\n"
        "    while not os.path.exists(os.path.join(output_dir, other + '.flag')):\n"
        "        if time.time() > deadline:\n"
        "            raise TimeoutError(f'{other} never ran alongside this stage')\n"
        "        time.sleep(0.05)\n"
    )


def test_parallel_stages_wait_for_their_inputs_and_know_their_stage(tiny_dataset, tmp_path):
    """jobs=2: 01 and 03 run at the same time (each waits for the other's flag); 04 reads
    03's table, so it starts after 03 has finished, while 01 is still running (01 waits for
    04's flag). Each kernel sees its own stage key (CHANNELOPS_STAGE)."""
    nbs, out = tmp_path / "nbs", tmp_path / "run"
    nbs.mkdir()
    key = "pd.DataFrame({'k': [os.environ['CHANNELOPS_STAGE']]})"
    stage_notebook(nbs / "a.ipynb", _timed(_signal_and_wait("a", "b", "c")
              + f"write_table({key}, 'segments', output_dir)"))  # fmt: skip
    stage_notebook(nbs / "b.ipynb", _timed(_signal_and_wait("b", "a")
              + f"write_table({key}, 'orders', output_dir)"))  # fmt: skip
    stage_notebook(nbs / "c.ipynb", _timed(_signal_and_wait("c") + "seen = read_table('orders', "
              "output_dir)['k'].tolist()\nwrite_table(pd.DataFrame({'k': seen}), 'forecasts', "
              "output_dir)"))  # fmt: skip
    stages = [
        Stage("01", "segmentation", "a.ipynb", "a", outputs=("segments",)),
        Stage("03", "integration", "b.ipynb", "b", outputs=("orders",)),
        Stage("04", "forecasting", "c.ipynb", "c", outputs=("forecasts",), inputs=("orders",)),
    ]
    params = RunParams(run_name="t", dataset=tiny_dataset, seed=0)
    m = run_stages(params, stages, out, notebook_folder=nbs, progress=False, report=False,
                   echo=lambda *_: None, jobs=2)  # fmt: skip
    assert m["status"] == "ok"
    t = {k: tuple(map(float, (out / f"{k}.times").read_text().split())) for k in ("03", "04")}
    assert t["04"][0] >= t["03"][1], "04 started before 03, whose table it reads, finished"
    assert read_table("segments", out)["k"].tolist() == ["01"]
    assert read_table("forecasts", out)["k"].tolist() == ["03"]
    assert set(m["stages"]["01"]["tables"]) == {"segments"}  # not 03's table written meanwhile


def test_parallel_failure_finishes_the_running_stage_and_starts_nothing_new(tiny_dataset, tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "run"
    nbs.mkdir()
    # 01 finishes only after 03 has started (and so, moments later, failed)
    stage_notebook(nbs / "slow.ipynb", _timed(_signal_and_wait("a", "b") + "time.sleep(2)\n"
              "write_table(pd.DataFrame({'x': [1]}), 'segments', output_dir)"))  # fmt: skip
    stage_notebook(
        nbs / "bad.ipynb", _timed(_signal_and_wait("b") + "raise ValueError('broken export')")
    )
    stage_notebook(nbs / "after.ipynb", _timed("pass"))
    stages = [
        Stage("01", "segmentation", "slow.ipynb", "s", outputs=("segments",)),
        Stage("03", "integration", "bad.ipynb", "b", outputs=("orders",)),
        Stage("04", "forecasting", "after.ipynb", "c", outputs=(), inputs=("orders",)),
    ]
    params = RunParams(run_name="t", dataset=tiny_dataset, seed=0)
    with pytest.raises(
        RunFailed,
        match=r"stage 03 \(integration\) failed in cell \d+ of .*bad.ipynb: ValueError: broken",
    ):
        run_stages(params, stages, out, notebook_folder=nbs, progress=False, report=False,
                   echo=lambda *_: None, jobs=2)  # fmt: skip
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert {k: v["status"] for k, v in m["stages"].items()} == {
        "01": "ok",
        "03": "failed",
        "04": "pending",
    }
    assert read_table("segments", out)["x"].tolist() == [1]
    assert not (out / "04.times").exists()


def test_default_jobs_is_two_or_one_on_one_core_and_exports_are_measured(tmp_path):
    # big exports no longer force one stage at a time: the memory limit decides
    assert default_jobs(cpus=2) == 2 and default_jobs(cpus=8) == 2 and default_jobs(cpus=1) == 1
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "shop.csv").write_bytes(b"x" * 2000)
    (tmp_path / "orders" / "web.csv").write_bytes(b"x" * 9000)
    assert exports_bytes(tmp_path) == 11_000
    assert exports_bytes(tmp_path / "missing") == 0


def test_nbval_copies_keep_their_names_in_run_order(tmp_path, tiny_dataset):
    """pytest runs the prepared notebooks in name order, which must be the run order: the
    copies keep the notebooks' own names, and those sort 00, 01, 02, ..."""
    into = tmp_path / "nbval"
    code = main(
        [
            "nbval-prepare",
            "--params",
            str(ROOT / "parameters" / "ci.yaml"),
            "--dataset",
            str(tiny_dataset),
            "--into",
            str(into),
            "--output",
            str(tmp_path / "run"),
        ]
    )
    assert code == 0
    names = sorted(p.name for p in into.glob("*.ipynb"))
    assert names == [s.notebook for s in select_stages(None)]
    assert names[0] == "00_data.ipynb"


def test_manifest_names_every_parameter_a_stage_ran_with(tiny_run):
    """Defaults the parameter file does not set are recorded too (06's CUPED pre-period is
    a rule fixed before the outcome: the manifest must show which one a run used)."""
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    used = manifest["stages"]["06"]["parameters"]
    assert used["cuped_pre_days"] == 0 and used["multiple_testing"] == "holm"
    assert used["seed"] == manifest["parameters"]["seed"]  # what was set wins over defaults
