"""``channelops compare``: KPI deltas between two run folders."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from channelops.stages.evaluation import scorecard_kpis

__all__ = ["COMPARE_TABLES", "compare_runs"]


COMPARE_TABLES = (
    "scorecard",
    "experiment_results",
    "plan_vs_actual",
    "policy_comparison",
    "dq_report",
    "recommender_metrics",
)


def compare_runs(
    run_a: str | os.PathLike[str], run_b: str | os.PathLike[str]
) -> tuple[pd.DataFrame, list[str]]:
    """KPI deltas between two run folders.

    Args:
        run_a, run_b: run folders (``output/<run-name>``); both need ``tables/scorecard.parquet``.

    Returns:
        (kpi, scope, run_a, run_b, delta = b - a, relative_delta = delta / |a|; notes about
        tables present in only one run).

    Raises:
        FileNotFoundError: a run folder or its scorecard is missing (with what to run).
    """
    notes: list[str] = []
    loaded = []
    for run in (Path(run_a), Path(run_b)):
        if not run.is_dir():
            raise FileNotFoundError(f"run folder {run} does not exist")
        if not (run / "tables" / "scorecard.parquet").exists():
            raise FileNotFoundError(
                f"{run} has no tables/scorecard.parquet: run stage 06 first "
                f"(channelops run --only 06 --output {run})"
            )
        loaded.append(
            {
                t: pd.read_parquet(run / "tables" / f"{t}.parquet")
                for t in COMPARE_TABLES
                if (run / "tables" / f"{t}.parquet").exists()
            }
        )
    for t in COMPARE_TABLES:
        if (t in loaded[0]) != (t in loaded[1]):
            notes.append(f"table {t} is in only one run: its KPIs are left out")
            loaded[0].pop(t, None)
            loaded[1].pop(t, None)
    a, b = scorecard_kpis(loaded[0]), scorecard_kpis(loaded[1])
    order = pd.concat([a, b])[["kpi", "scope"]].drop_duplicates().reset_index(drop=True)
    m = order.merge(a, on=["kpi", "scope"], how="left").merge(
        b, on=["kpi", "scope"], how="left", suffixes=("_a", "_b")
    )
    m = m.rename(columns={"value_a": "run_a", "value_b": "run_b"})
    m["delta"] = m["run_b"] - m["run_a"]
    m["relative_delta"] = m["delta"] / m["run_a"].abs().where(m["run_a"] != 0)
    return m, notes
