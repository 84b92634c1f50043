"""Before and after: what the policies of 04 and 05 change in the figures the business quotes.

04's forecast-driven stock policy is compared with the naive days-of-cover policy at each
stock level, 05's priority order flow with FIFO per channel and over all channels; each
comparison is a long table of before, after, delta (after - before) and relative delta.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.frames import require_columns

from .text import escape_data

__all__ = [
    "POLICY_COLUMNS",
    "inventory_policy_deltas",
    "fulfilment_policy_deltas",
    "policy_comparison",
    "policy_text",
]

#: Columns of every policy comparison table.
POLICY_COLUMNS = (
    "comparison",
    "scope",
    "metric",
    "before_policy",
    "after_policy",
    "before",
    "after",
    "delta",
    "relative_delta",
)

#: channel_id values of 05's fulfilment_sim that already mean "all channels".
TOTAL_NAMES = frozenset({"all", "total", "all channels"})


def _delta_rows(
    before: pd.Series,
    after: pd.Series,
    metrics: list[str],
    comparison: str,
    scope: str,
    before_name: str,
    after_name: str,
) -> list[dict]:
    rows = []
    for m in metrics:
        b, a = float(before[m]), float(after[m])
        rows.append(
            {
                "comparison": comparison,
                "scope": scope,
                "metric": m,
                "before_policy": before_name,
                "after_policy": after_name,
                "before": b,
                "after": a,
                "delta": a - b,
                "relative_delta": (a - b) / b if b else np.nan,
            }
        )
    return rows


def inventory_policy_deltas(simulation: pd.DataFrame) -> pd.DataFrame:
    """04's forecast-driven policy against the naive days-of-cover policy, per stock level.

    Args:
        simulation: 04's ``policy_simulation`` (policy, stock, fill_rate,
            average_stock_value, holding_cost, turnover_per_year, stockout_days; rows with
            ``curve`` set are the trade-off curve and are skipped).

    Returns:
        comparison ("inventory"), scope (stock level: pooled, per_channel, per_warehouse),
        metric, before_policy, after_policy, before, after, delta (after - before),
        relative_delta.
    """
    require_columns(simulation, ["policy", "fill_rate", "average_stock_value"], "policy_simulation")
    s = simulation
    if "curve" in s:
        s = s.loc[s["curve"].isna() | (s["curve"] == False)]  # noqa: E712 - object column
    if "stock" not in s:
        s = s.assign(stock="all")
    metrics = [
        m
        for m in (
            "fill_rate",
            "average_stock_value",
            "holding_cost",
            "turnover_per_year",
            "stockout_days",
        )
        if m in s
    ]
    rows = []
    for stock, g in s.groupby("stock", sort=False):
        pol = g.set_index("policy")
        if {"naive_days_of_cover", "forecast_fill_rate"} <= set(pol.index):
            rows += _delta_rows(
                pol.loc["naive_days_of_cover"],
                pol.loc["forecast_fill_rate"],
                metrics,
                "inventory",
                str(stock),
                "naive_days_of_cover",
                "forecast_fill_rate",
            )
    return pd.DataFrame(rows)


def fulfilment_policy_deltas(sim: pd.DataFrame) -> pd.DataFrame:
    """05's priority order flow against FIFO, per channel and over all channels.

    Args:
        sim: 05's ``fulfilment_sim``: policy ('fifo' / 'priority'), channel_id, orders,
            mean_cycle_hours, p95_cycle_hours, sla_breaches, breach_rate.

    Returns:
        Same columns as :func:`inventory_policy_deltas`, comparison "fulfilment", scope =
        channel_id or "all channels" (orders-weighted means, summed breaches; the p95 of
        all channels is the orders-weighted mean of the channels' p95 when no total row).
    """
    require_columns(
        sim,
        [
            "policy",
            "channel_id",
            "orders",
            "mean_cycle_hours",
            "p95_cycle_hours",
            "sla_breaches",
            "breach_rate",
        ],
        "fulfilment_sim",
    )
    metrics = ["mean_cycle_hours", "p95_cycle_hours", "sla_breaches", "breach_rate"]
    if "mean_hours_late" in sim:  # lateness of the late orders, the price of fewer breaches
        metrics.append("mean_hours_late")
    s = sim.assign(channel_id=sim["channel_id"].astype(str))
    if not s["channel_id"].isin(TOTAL_NAMES).any():
        s = pd.concat([s, _all_channel_totals(s)], ignore_index=True)
    rows = []
    for ch, g in s.groupby("channel_id", sort=True):
        pol = g.set_index("policy")
        if {"fifo", "priority"} <= set(pol.index):
            rows += _delta_rows(
                pol.loc["fifo"],
                pol.loc["priority"],
                metrics,
                "fulfilment",
                "all channels" if ch in TOTAL_NAMES else ch,
                "fifo",
                "priority",
            )
    return pd.DataFrame(rows)


def _all_channel_totals(sim: pd.DataFrame) -> pd.DataFrame:
    """One "all channels" row per policy from the channels' rows (:func:`_policy_total`)."""
    tot = pd.DataFrame([_policy_total(g).rename(p) for p, g in sim.groupby("policy")])
    return tot.rename_axis("policy").reset_index().assign(channel_id="all channels")


def _policy_total(g: pd.DataFrame) -> pd.Series:
    """One policy's channels summed: orders and breaches added, orders-weighted mean and p95
    cycle hours, breaches / orders."""
    w = g["orders"].to_numpy(float)
    out = pd.Series(
        {
            "orders": w.sum(),
            "sla_breaches": g["sla_breaches"].sum(),
            "mean_cycle_hours": np.average(g["mean_cycle_hours"], weights=w),
            "p95_cycle_hours": np.average(g["p95_cycle_hours"], weights=w),
            "breach_rate": g["sla_breaches"].sum() / w.sum(),
        }
    )
    if "mean_hours_late" in g:  # hours past the deadline, weighted by the late orders
        late = g["sla_breaches"].to_numpy(float)
        out["mean_hours_late"] = (
            float(np.average(g["mean_hours_late"], weights=late)) if late.sum() > 0 else 0.0
        )
    return out


def policy_comparison(
    simulation: pd.DataFrame | None, fulfilment: pd.DataFrame | None
) -> pd.DataFrame:
    """Both policy comparisons in one table: 04's stock policies, then 05's order flows.

    Args:
        simulation: 04's ``policy_simulation`` (see :func:`inventory_policy_deltas`), or None.
        fulfilment: 05's ``fulfilment_sim`` (see :func:`fulfilment_policy_deltas`), or None.

    Returns:
        The rows of both comparisons (columns :data:`POLICY_COLUMNS`); an empty table with
        those columns when neither stage ran or neither has both policies.

    Raises:
        ValueError: a given table lacks a column its comparison needs.
    """
    parts = []
    if simulation is not None:
        parts.append(inventory_policy_deltas(simulation))
    if fulfilment is not None:
        parts.append(fulfilment_policy_deltas(fulfilment))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(POLICY_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def _more_or_less(delta: float, less: str, more: str, same: str) -> str:
    return less if delta < 0 else more if delta > 0 else same


def policy_text(comparison: pd.DataFrame, currency: str) -> str:
    """The policy findings as a Markdown list, one item per stock level and one for the
    order flow over all channels.

    Args:
        comparison: from :func:`policy_comparison`.
        currency: base currency code (escaped).

    Returns:
        For each inventory scope: the relative and absolute change of the average stock
        value ("less" or "more") at the two policies' fill rates; for the order flow: the
        SLA breach rate before and after ("fewer" or "more" breaches) and the change of the
        mean cycle time in hours. A sentence saying there is nothing to compare when the
        table is empty.

    Raises:
        ValueError: a column of :data:`POLICY_COLUMNS` is missing.
    """
    require_columns(comparison, list(POLICY_COLUMNS), "policy_comparison")
    items = []
    inv = comparison.loc[comparison["comparison"] == "inventory"].set_index(["scope", "metric"])
    for scope in inv.index.get_level_values(0).unique():
        r = inv.loc[scope]
        rel = r.loc["average_stock_value", "relative_delta"]
        items.append(
            f"- stock {escape_data(scope)}: the forecast policy holds {abs(rel):.1%} "
            f"{_more_or_less(rel, 'less', 'more', 'the same')} stock value "
            f"({r.loc['average_stock_value', 'delta']:+,.0f} {escape_data(currency)}) at fill "
            f"rate {r.loc['fill_rate', 'after']:.1%} against {r.loc['fill_rate', 'before']:.1%}."
        )
    ful = comparison.loc[
        (comparison["comparison"] == "fulfilment") & (comparison["scope"] == "all channels")
    ].set_index("metric")
    if len(ful):
        b = ful.loc["breach_rate"]
        items.append(
            f"- order flow: priority instead of FIFO moves the SLA breach rate from "
            f"{b['before']:.1%} to {b['after']:.1%} "
            f"({_more_or_less(b['delta'], 'fewer', 'more', 'as many')} breaches) and the mean "
            f"cycle time by {ful.loc['mean_cycle_hours', 'delta']:+.1f} h."
        )
    return "\n".join(items) if items else "No policy comparison is available in this run."
