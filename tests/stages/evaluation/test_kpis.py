"""One run's figures as a long table: every figure a row, sums over all channels by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import evaluation as ev


def test_scorecard_kpis_by_hand():
    tables = {
        "scorecard": pd.DataFrame(
            {
                "channel_id": ["a", "b"],
                "rank": [1, 2],
                "revenue": [300.0, 100.0],
                "gross_margin": [120.0, 30.0],
            }
        ),
        "experiment_results": pd.DataFrame({"name": ["e"], "diff": [2.0], "lift": [0.1]}),
        "plan_vs_actual": pd.DataFrame({"planned_profit": [5.0, 7.0], "actual_spend": [1.0, 2.0]}),
        "policy_comparison": pd.DataFrame(
            {
                "comparison": ["inventory"],
                "metric": ["fill_rate"],
                "scope": ["pooled"],
                "after": [0.9],
            }
        ),
        "dq_report": pd.DataFrame({"accepted": [10, 5]}),
        "recommender_metrics": pd.DataFrame(
            {
                "model": ["als", "als"],
                "split": ["test", "validation"],
                "group_by": ["all", "all"],
                "ndcg_at_k": [0.3, 0.9],
            }
        ),
    }
    k = ev.scorecard_kpis(tables)
    got = {(r.kpi, r.scope): r.value for r in k.itertuples()}
    assert got[("revenue", "a")] == 300.0 and got[("gross_margin", "b")] == 30.0
    assert got[("revenue", "all channels")] == 400.0
    assert got[("gross_margin_rate", "all channels")] == pytest.approx(150 / 400)
    assert got[("experiment_diff", "e")] == 2.0 and got[("experiment_lift", "e")] == 0.1
    assert got[("planned_profit", "all channels")] == 12.0
    assert got[("actual_spend", "all channels")] == 3.0
    assert got[("inventory_fill_rate_after", "pooled")] == 0.9
    assert got[("accepted_rows", "all channels")] == 15.0
    assert got[("ndcg_at_k", "als")] == 0.3  # the test split only
    assert len(k) == 4 + 3 + 2 + 2 + 1 + 1 + 1
    with pytest.raises(KeyError, match="scorecard"):
        ev.scorecard_kpis({"experiment_results": tables["experiment_results"]})
