"""Stage 02 when optional files are missing: which channels it can speak of, whether a plan
can be computed at all, and its four tables written empty with their usual columns.

Without ``channels.csv`` the plan has no commission, fixed cost, audience or prior curve
per channel; without ``marketing_spend.csv`` no curve can be fitted and there is no recent
budget. The notebook then writes ``response_curves`` (one row per channel saying why it
has no curve), and ``pareto_front``, ``channel_plan``, ``plan_sensitivity`` with no rows.
Money is in the base currency per week.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from channelops.margins import MARGIN_COLUMNS

from .curves import RESPONSE_CURVE_COLUMNS

__all__ = [
    "RESPONSE_CURVE_COLUMNS",
    "CHANNEL_PLAN_COLUMNS",
    "curve_catalog",
    "plan_blocker",
    "empty_pareto_front",
    "empty_channel_plan",
    "empty_plan_sensitivity",
    "empty_channel_margins",
    "empty_plan_vs_current",
    "empty_channel_returns",
]

#: Columns of ``channel_plan`` before the per-segment ``reach_<segment>`` columns.
CHANNEL_PLAN_COLUMNS = (
    "channel_id",
    "selected",
    "budget",
    "source",
    "revenue",
    "revenue_lo",
    "revenue_hi",
    "profit",
    "profit_lo",
    "profit_hi",
)

_PLAN_COSTS = ("commission_rate", "fixed_cost_per_month")


def curve_catalog(catalog: pd.DataFrame | None, channel_ids: Sequence[str]) -> pd.DataFrame:
    """The channels whose response curves 02 fits: channels.csv, or without it the
    dataset's channel ids alone (no priors, so such a channel without spend history gets
    no curve).

    Args:
        catalog: channels.csv as read (None when absent).
        channel_ids: the dataset's channels (dataset.yaml order).

    Returns:
        ``catalog`` unchanged, else a frame with the single column channel_id.
    """
    if catalog is not None:
        return catalog
    return pd.DataFrame({"channel_id": pd.Series(list(channel_ids), dtype="string")})


def plan_blocker(
    catalog: pd.DataFrame | None, curves: pd.DataFrame, budget: float, min_channels: int
) -> str:
    """Why no channel plan can be computed, or ``""`` when one can.

    Args:
        catalog: channels.csv (None when absent).
        curves: the response-curve table (channel_id, source; 'unavailable' = no curve).
        budget: weekly budget to plan, base currency (NaN or <= 0: none).
        min_channels: the plan's minimum number of running channels.

    Returns:
        One clause naming what is missing (no full stop), or ``""``.
    """
    if catalog is None:
        return "there is no channels.csv (commission and fixed cost per channel)"
    blank = [c for c in _PLAN_COSTS if c not in catalog or catalog[c].isna().any()]
    if blank:
        return f"channels.csv has no {' or '.join(blank)} for some channels"
    usable = int((curves["source"] != "unavailable").sum()) if len(curves) else 0
    if usable < max(min_channels, 1):
        return (
            f"only {usable} channel(s) have a response curve (fitted or prior), fewer than "
            f"min_channels={min_channels}"
        )
    if not (np.isfinite(budget) and budget > 0):
        return "there is no weekly budget (no marketing_spend.csv and weekly_budget is 0)"
    return ""


def _plan_layout(channel_ids: Sequence[str]) -> dict[str, str]:
    cols = {
        "profit": "float64",
        "reach": "float64",
        "risk": "float64",
        "revenue": "float64",
        "spend": "float64",
        "n_channels": "int64",
        "channels": "string",
    }
    cols |= {f"budget_{c}": "float64" for c in channel_ids}
    return cols


def empty_pareto_front(channel_ids: Sequence[str]) -> pd.DataFrame:
    """``pareto_front`` with no plans: plan, profit, reach, risk, revenue, spend,
    n_channels, channels, then budget_<channel> and selected_<channel> per channel."""
    cols = {"plan": "int64", **_plan_layout(channel_ids)}
    cols |= {f"selected_{c}": "bool" for c in channel_ids}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def empty_channel_plan(segments: Sequence[str] = ()) -> pd.DataFrame:
    """``channel_plan`` with no channels: :data:`CHANNEL_PLAN_COLUMNS` then
    reach_<segment> per target segment."""
    types = {"channel_id": "string", "selected": "bool", "source": "string"}
    cols = [*CHANNEL_PLAN_COLUMNS, *(f"reach_{s}" for s in segments)]
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, "float64")) for c in cols})


def empty_plan_sensitivity(channel_ids: Sequence[str]) -> pd.DataFrame:
    """``plan_sensitivity`` with no scenarios: scenario, total_budget, note, the plan
    figures and budgets as in the front, base_plan_profit, budget_moved, added, removed."""
    cols = {"scenario": "string", "total_budget": "float64", "note": "string"}
    cols |= {k: v for k, v in _plan_layout(channel_ids).items() if k != "revenue"}
    cols |= {
        "base_plan_profit": "float64",
        "budget_moved": "float64",
        "added": "string",
        "removed": "string",
    }
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def empty_channel_margins() -> pd.DataFrame:
    """``channel_margins`` with no channels (no products.csv: no product cost to value):
    the columns of :func:`channelops.margins.channel_margin_rates`."""
    text = {"channel_id", "costs_included"}
    return pd.DataFrame(
        {c: pd.Series(dtype="string" if c in text else "float64") for c in MARGIN_COLUMNS}
    )


def empty_plan_vs_current() -> pd.DataFrame:
    """``plan_vs_current`` when there is no plan: allocation (now, plan, gain), profit,
    profit_mean, profit_lo, profit_hi, spend, prob_positive (base currency per week)."""
    cols = ["profit", "profit_mean", "profit_lo", "profit_hi", "spend", "prob_positive"]
    return pd.DataFrame(
        {"allocation": pd.Series(dtype="string")} | {c: pd.Series(dtype="float64") for c in cols}
    )


def empty_channel_returns() -> pd.DataFrame:
    """``channel_returns`` when there is no plan: the columns of
    :func:`.uncertainty.channel_returns` (spend and revenue per week, returns as ratios)."""
    money = ["spend", "incremental_revenue", "incremental_revenue_lo", "incremental_revenue_hi"]
    ratios = ["roas", "roas_lo", "roas_hi", "mroas", "mroas_lo", "mroas_hi", "margin_rate"]
    return pd.DataFrame(
        {"channel_id": pd.Series(dtype="string")}
        | {c: pd.Series(dtype="float64") for c in [*money, *ratios, "margin_return"]}
        | {"pays": pd.Series(dtype="bool")}
    )
