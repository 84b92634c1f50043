"""Stage 06 without any optional input: notes, NaN figures and a summary, never a crash."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from _builders import ROOT, copy_without
from channelops.run.cli import main
from channelops.stages import evaluation as ev


def test_stage_06_runs_on_bare_data(tiny_dataset, tiny_run, tmp_path):
    """Only 03's tables and a dataset without marketing, shipments, contacts or experiments:
    no 01 model or CLV, no 02 plan, no 04 policy, no 05 simulation."""
    data = copy_without(
        tiny_dataset, tmp_path / "data", "marketing_spend", "shipments", "service_contacts",
        "experiments",
    )  # fmt: skip
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    for table in ("order_lines", "orders", "products", "channels"):
        shutil.copy(tiny_run / "tables" / f"{table}.parquet", run / "tables")
    args = [
        "run",
        "--params",
        str(ROOT / "parameters" / "ci.yaml"),
        "--dataset",
        str(data),
        "--output",
        str(run),
        "--only",
        "06",
        "--no-progress",
        "--no-report",
    ]
    assert main(args) == 0, f"stage 06 failed on bare data; see {run / 'notebooks'}"
    sc = pd.read_parquet(run / "tables" / "scorecard.parquet")
    assert sc[["contribution", "cac", "ltv", "fill_rate", "on_time_rate"]].isna().all().all()
    assert sc["revenue"].notna().all()
    assert len(pd.read_parquet(run / "tables" / "experiment_results.parquet")) == 0
    nb = json.loads((run / "notebooks" / "06_evaluation.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    for note in (
        "no shipments.csv",
        "no marketing_spend.csv",
        "experiments.csv in this dataset",
        "table channel_plan is not in this run",
        "no segment model from 01",
    ):
        assert note in text, note
    stderr = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not stderr, "no warnings in the notebook"
    summary = (run / "summary.html").read_text(encoding="utf-8")
    assert "ranked by gross margin" in summary and "nan" not in summary.lower()


def test_summary_without_costs_still_says_five_things():
    sc = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "rank": [1, 2],
            "revenue": [300.0, 100.0],
            "gross_margin": [120.0, 30.0],
            "contribution": [float("nan")] * 2,
            "aov": [150.0, 50.0],
            "ltv_cac": [float("nan")] * 2,
        }
    )
    growth = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01"]),
            "channel_id": ["b"],
            "segment": ["all"],
            "new_customers": [3],
            "cumulative_customers": [3],
        }
    )
    sentences, _ = ev.executive_summary(sc, None, growth, None, None, "EUR")
    assert len(sentences) == 5
    # 300 + 100 = 400 revenue, 150 margin = 37.5%; a first on gross margin 120
    assert sentences[0] == (
        "Over the whole data, the 2 channels sold 400 EUR of net revenue and kept 150 EUR of "
        "gross margin after product cost and commission (37.5%)."
    )
    assert sentences[1].startswith("a ranks first with 120 EUR of gross margin")
    assert sentences[3] == "An average order is worth 50 EUR on b and 150 EUR on a."
    assert "not in the data" in sentences[4]
    assert ev.ranking_text(sc, "EUR").startswith("Without fulfilment and marketing costs")
