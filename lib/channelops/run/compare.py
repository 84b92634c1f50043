"""``channelops compare``: KPI deltas between two run folders.

The table leads with the all-channel totals, then the channels present in both runs, then
the figures of experiments, plans, policies, data quality and recommender models. A
channel (or an experiment, a model) present in only one run has no delta: its rows are
left out and a note names it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from channelops.run.manifest import load_manifest
from channelops.run.registry import producer_of
from channelops.stages.evaluation import scorecard_kpis

__all__ = ["COMPARE_TABLES", "TOTAL", "compare_runs"]

#: The scope of the all-channel totals.
TOTAL = "all channels"


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
        (group: total, channel or other; kpi; scope; run_a; run_b; delta = b - a;
        relative_delta = delta / |a|), totals first, then each channel present in both runs,
        then the other figures; and notes about what is in only one run (tables, channels,
        experiments or models), which is left out, and about stale stages whose tables
        are compared (:mod:`channelops.run.staleness`).

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
        notes += _stale_notes(run)
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
    channels = [_channels(t["scorecard"]) for t in loaded]
    for run, mine, other in ((run_a, channels[0], channels[1]), (run_b, channels[1], channels[0])):
        only = [c for c in mine if c not in other]
        if only:
            notes.append(
                f"channel(s) {', '.join(only)} only in {Path(run).name}: their KPIs are left out"
            )
    m = a.merge(b, on=["kpi", "scope"], how="outer", suffixes=("_a", "_b"), indicator=True)
    one_sided = m[m["_merge"] != "both"]
    shared_channels = set(channels[0]) & set(channels[1])
    other_scopes = sorted(set(one_sided["scope"]) - set(channels[0]) - set(channels[1]) - {TOTAL})
    if other_scopes:
        notes.append(
            f"{len(other_scopes)} scope(s) only in one run, left out: "
            + ", ".join(other_scopes[:8])
            + (", ..." if len(other_scopes) > 8 else "")
        )
    m = m[m["_merge"] == "both"].drop(columns="_merge")
    m["group"] = [
        "total" if s == TOTAL else "channel" if s in shared_channels else "other"
        for s in m["scope"]
    ]
    # the order the KPIs come in within a run, totals first, then channels as run_a ranks them
    kpi_order = {k: i for i, k in enumerate(dict.fromkeys(pd.concat([a, b])["kpi"]))}
    channel_order = {c: i for i, c in enumerate(channels[0])}
    m["_g"] = m["group"].map({"total": 0, "channel": 1, "other": 2})
    m["_c"] = m["scope"].map(channel_order).fillna(-1)
    m["_k"] = m["kpi"].map(kpi_order)
    m = m.sort_values(["_g", "_c", "_k"], kind="stable").drop(columns=["_g", "_c", "_k"])
    m = m.rename(columns={"value_a": "run_a", "value_b": "run_b"})
    m["delta"] = m["run_b"] - m["run_a"]
    m["relative_delta"] = m["delta"] / m["run_a"].abs().where(m["run_a"] != 0)
    cols = ["group", "kpi", "scope", "run_a", "run_b", "delta", "relative_delta"]
    return m[cols].reset_index(drop=True), notes


def _channels(scorecard: pd.DataFrame) -> list[str]:
    """The channel ids of a scorecard, in its (rank) order."""
    if "channel_id" not in scorecard:
        return []
    return [str(c) for c in scorecard["channel_id"]]


def _stale_notes(run: Path) -> list[str]:
    """A note for each stage of ``run`` marked stale whose tables the comparison reads."""
    stages = load_manifest(run / "manifest.json").get("stages", {})
    readers = {p.key for t in COMPARE_TABLES if (p := producer_of(t)) is not None}
    return [
        f"{run.name}: stage {key} ({entry.get('name', '?')}) is stale, so its figures may not "
        f"match the rest of that run: {entry.get('stale_because', '')}"
        for key, entry in stages.items()
        if entry.get("status") == "stale" and key in readers
    ]
