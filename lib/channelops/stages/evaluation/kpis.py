"""One run's key figures as a long table, so two runs can be compared figure by figure."""

from __future__ import annotations

import pandas as pd

__all__ = ["scorecard_kpis"]

#: Scorecard columns that are also reported summed over all channels.
_SUMMED = (
    "revenue",
    "gross_margin",
    "fulfilment_cost",
    "marketing_spend",
    "contribution",
    "orders",
    "new_customers",
)


def scorecard_kpis(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long KPI table (kpi, scope, value) from one run's tables.

    Args:
        tables: table name -> DataFrame; ``scorecard`` is required, ``experiment_results``,
            ``plan_vs_actual``, ``policy_comparison``, ``dq_report``, ``recommender_metrics``
            add their KPIs when present.

    Returns:
        kpi (figure name), scope (channel, experiment, model or "all channels"), value
        (float, in the figure's own unit).

    Raises:
        KeyError: there is no scorecard.
    """
    if "scorecard" not in tables:
        raise KeyError("the scorecard table is required to compare runs")
    rows = _scorecard_rows(tables["scorecard"])
    for name, rows_of in (
        ("experiment_results", _experiment_rows),
        ("plan_vs_actual", _plan_rows),
        ("policy_comparison", _policy_rows),
        ("dq_report", _dq_rows),
        ("recommender_metrics", _recommender_rows),
    ):
        table = tables.get(name)
        if table is not None:
            rows += rows_of(table)
    return pd.DataFrame(rows)


def _row(kpi: str, scope: object, value: object) -> dict:
    return {"kpi": kpi, "scope": str(scope), "value": float(value)}


def _scorecard_rows(sc: pd.DataFrame) -> list[dict]:
    """Every numeric figure per channel, the summed ones and the gross-margin rate overall."""
    numeric = [
        c
        for c in sc.columns
        if c not in ("channel_id", "rank") and pd.api.types.is_numeric_dtype(sc[c])
    ]
    rows = []
    for _, r in sc.iterrows():
        rows += [_row(c, r["channel_id"], r[c]) for c in numeric]
    rows += [_row(c, "all channels", sc[c].sum(min_count=1)) for c in _SUMMED if c in sc]
    if "revenue" in sc and "gross_margin" in sc:
        rows.append(
            _row(
                "gross_margin_rate", "all channels", sc["gross_margin"].sum() / sc["revenue"].sum()
            )
        )
    return rows


def _experiment_rows(ex: pd.DataFrame) -> list[dict]:
    cols = [c for c in ("diff", "lift", "cuped_lift", "p_value") if c in ex]
    return [_row(f"experiment_{c}", r["name"], r[c]) for _, r in ex.iterrows() for c in cols]


def _plan_rows(pva: pd.DataFrame) -> list[dict]:
    cols = ("planned_profit", "actual_profit", "planned_budget", "actual_spend")
    return [_row(c, "all channels", pva[c].sum()) for c in cols if c in pva]


def _policy_rows(pol: pd.DataFrame) -> list[dict]:
    return [
        _row(f"{r['comparison']}_{r['metric']}_after", r["scope"], r["after"])
        for _, r in pol.iterrows()
    ]


def _dq_rows(dq: pd.DataFrame) -> list[dict]:
    return [_row("accepted_rows", "all channels", dq["accepted"].sum())] if "accepted" in dq else []


def _recommender_rows(rm: pd.DataFrame) -> list[dict]:
    """Stage 07 scores every model on a validation and a test split, overall and by segment,
    channel and cohort: only the overall test-period figures are compared."""
    if "split" in rm:
        rm = rm[rm["split"] == "test"]
    if "group_by" in rm:
        rm = rm[rm["group_by"] == "all"]
    cols = [c for c in ("precision_at_k", "recall_at_k", "ndcg_at_k") if c in rm]
    return [_row(c, r.get("model", ""), r[c]) for _, r in rm.iterrows() for c in cols]
