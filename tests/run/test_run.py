"""The run end to end on the tiny dataset: tables, manifest, report, failure and bad parameters."""

import json
import re

import pandas as pd

from channelops.run.cli import main
from channelops.run.folder import write_table
from channelops.run.registry import STAGES, select_stages


def test_tiny_run_writes_every_declared_table(tiny_run):
    for stage in STAGES:
        for table in stage.outputs:
            path = tiny_run / "tables" / f"{table}.parquet"
            assert path.exists(), f"stage {stage.key} did not write {table}"
    assert (tiny_run / "warehouse.duckdb").exists()
    assert len(list((tiny_run / "figures").glob("*.png"))) >= 5


def test_manifest_is_complete(tiny_run, tiny_dataset):
    m = json.loads((tiny_run / "manifest.json").read_text())
    assert m["status"] == "ok"
    # in run order: 03 before 02, whose weekly revenue comes from 03's order_lines
    assert [k for k in m["stages"]] == [s.key for s in select_stages(None)]
    assert all(e["status"] == "ok" and e["seconds"] > 0 for e in m["stages"].values())
    assert m["parameters"]["seed"] == 7
    assert "orders/" + "" in "".join(m["dataset"]["files"])  # every export hashed
    assert all(len(h) == 64 for h in m["dataset"]["files"].values())
    assert not any(f.startswith("truth/") for f in m["dataset"]["files"]), "truth is not an input"
    for name in ("pandas", "numpy", "papermill", "python"):
        assert m["packages"][name]
    rows = {k: v["rows"] for k, v in m["tables"].items()}
    assert rows["order_lines"] == len(pd.read_parquet(tiny_run / "tables" / "order_lines.parquet"))


def test_report_is_self_contained(tiny_run):
    html = (tiny_run / "report.html").read_text(encoding="utf-8")
    assert "channelops run: ci" in html
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert not external, "the report must not load anything from the network"
    images = re.findall(r"<img[^>]+src=[\"']([^\"']+)", html)
    assert images and all(
        src.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")) for src in images
    )
    assert 'class="math"' in html, "formulas are drawn, not left as raw LaTeX"
    for stage in STAGES:
        assert f'id="stage-{stage.key}"' in html


def test_failed_stage_leaves_failed_manifest(tiny_dataset, tmp_path):
    # stage 04 on an intake table without its columns (written by hand, so the run starts):
    # the notebook fails in a cell and the manifest says where
    out = tmp_path / "broken"
    write_table(pd.DataFrame({"x": [1]}), "intake_lines", out)
    code = main(
        [
            "run",
            "--params",
            "parameters/ci.yaml",
            "--dataset",
            str(tiny_dataset),
            "--only",
            "04",
            "--output",
            str(out),
            "--no-progress",
            "--no-report",
        ]
    )
    assert code == 1
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed"
    err = m["stages"]["04"]["error"]
    assert isinstance(err["cell"], int) and err["error"]
    assert (out / "notebooks" / "04_forecasting.ipynb").exists(), (
        "the failed notebook is kept for inspection"
    )


def test_bad_parameters_stop_before_anything_runs(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "never"
    code = main(
        [
            "run",
            "--params",
            "parameters/ci.yaml",
            "--dataset",
            str(tiny_dataset),
            "-p",
            "horizon_dayz=3",
            "-p",
            "n_windows=many",
            "--output",
            str(out),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'horizon_dayz'; did you mean 'horizon_days'?" in err
    assert "parameter 'n_windows' must be int" in err
    assert not out.exists()
