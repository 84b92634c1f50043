"""The honest stock comparison: the same allocation rule and fill-rate target driven by the
chosen forecasts and by a simple baseline forecast, beside the naive days-of-cover rule,
in one table (stock value and units, fill rate, stock-out days, lost units), and the
sentence that states the trade-off from it.

Demand here is sales: a day the item was out of stock in the history shows as low or zero
demand (censored). The data carry no stock history, so the sales are not uncensored; the
sentence says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .inventory import policy_simulation

__all__ = ["STOCK_COMPARISON_COLUMNS", "stock_comparison", "stock_tradeoff_finding"]

#: Columns of the ``stock_comparison`` table.
STOCK_COMPARISON_COLUMNS = (
    "policy",
    "forecast",
    "allocation",
    "target_fill_rate",
    "fill_rate",
    "stockout_days",
    "lost_units",
    "demand_units",
    "average_stock_units",
    "average_stock_value",
)


def stock_comparison(
    chosen: pd.DataFrame,
    bt: pd.DataFrame,
    unit_cost: pd.Series | None,
    lead_time_days: int,
    fill_rate: float,
    order_cost: float,
    holding_rate: float,
    *,
    baseline: str | None = None,
    by: Sequence[str] = ("sku",),
    allocation: str = "cost",
) -> pd.DataFrame:
    """Simulate the same stock policy with the chosen forecasts and with ``baseline``'s.

    Both forecast rows use the same rule (:func:`.inventory.policy_simulation` with
    ``allocation``), the same target and the same backtest days (the windows of
    ``chosen``); the third row is the naive days-of-cover rule tuned to the chosen policy's
    fill rate (cover days the same for every item).

    Args:
        chosen: :func:`~.models.chosen_backtest` rows.
        bt: :func:`~.models.backtest` rows including ``baseline``'s.
        unit_cost: per sku (index sku, base currency); None (no unit costs): no policy can
            be set, and the table is empty.
        baseline: the model whose forecasts drive the comparison policy; None: the first of
            moving_average, seasonal_naive, naive in ``bt``, else its first model.
        by: stock keys (``("sku",)``: one pooled stock per SKU).

    Returns:
        :data:`STOCK_COMPARISON_COLUMNS`, rows forecast policy (chosen), forecast policy
        (``baseline``), naive days of cover. Units are units over the simulated days;
        stock value in base currency; stock-out days are item-days.

    Raises:
        ValueError: ``bt`` has no rows of ``baseline`` in ``chosen``'s windows.
    """
    if unit_cost is None or chosen.empty:
        return pd.DataFrame(columns=list(STOCK_COMPARISON_COLUMNS))
    if baseline is None:
        present = list(dict.fromkeys(bt["model"]))
        simple = [m for m in ("moving_average", "seasonal_naive", "naive") if m in present]
        baseline = simple[0] if simple else present[0]
    windows = chosen["window"].unique()
    base = bt[(bt["model"] == baseline) & bt["window"].isin(windows)]
    if base.empty:
        raise ValueError(
            f"the backtest has no rows of baseline model {baseline!r} in windows "
            f"{sorted(windows.tolist())}; models present: {sorted(bt['model'].unique())}"
        )
    rows = []
    for name, frame in (("chosen", chosen), (baseline, base)):
        _, sim = policy_simulation(
            frame,
            unit_cost,
            lead_time_days,
            fill_rate,
            order_cost,
            holding_rate,
            by=list(by),
            allocation=allocation,
        )
        demand = float(frame["actual"].sum())
        for r in sim.to_dict("records"):
            if r["policy"] == "naive_days_of_cover" and name != "chosen":
                continue
            forecast_policy = r["policy"] == "forecast_fill_rate"
            rows.append(
                {
                    "policy": "forecast_fill_rate" if forecast_policy else "naive_days_of_cover",
                    "forecast": name if forecast_policy else "none",
                    "allocation": allocation if forecast_policy else "same cover days",
                    "target_fill_rate": fill_rate,
                    "fill_rate": r["fill_rate"],
                    "stockout_days": r["stockout_days"],
                    "lost_units": demand * (1 - r["fill_rate"]),
                    "demand_units": demand,
                    "average_stock_units": r["average_stock_units"],
                    "average_stock_value": r["average_stock_value"],
                }
            )
    out = pd.DataFrame(rows, columns=list(STOCK_COMPARISON_COLUMNS))
    order = {"chosen": 0, baseline: 1, "none": 2}
    return out.sort_values("forecast", key=lambda s: s.map(order)).reset_index(drop=True)


def _change(new: float, old: float) -> str:
    """``"12% less"`` / ``"5% more"`` / ``"about the same"`` of ``new`` against ``old``."""
    if old == 0:
        return "about the same" if new == 0 else ("more" if new > 0 else "less")
    if round(abs(new / old - 1), 2) == 0:
        return "about the same"
    return f"{abs(new / old - 1):.0%} {'less' if new < old else 'more'}"


def stock_tradeoff_finding(comparison: pd.DataFrame, currency: str) -> list[str]:
    """The trade-off of the chosen forecasts' stock policy against the baseline's, from
    :func:`stock_comparison`: stock value, fill rate, stock-out days and lost units, and the
    censored-demand caveat. No sentence for an empty table.

    Raises:
        ValueError: the table lacks the chosen or the baseline forecast row.
    """
    if comparison.empty:
        return []
    fp = comparison[comparison["policy"] == "forecast_fill_rate"].set_index("forecast")
    others = [f for f in fp.index if f != "chosen"]
    if "chosen" not in fp.index or not others:
        raise ValueError("the stock comparison needs a chosen and a baseline forecast row")
    c, b, name = fp.loc["chosen"], fp.loc[others[0]], others[0]
    value = _change(c["average_stock_value"], b["average_stock_value"])
    out_days = _change(c["stockout_days"], b["stockout_days"])
    lost = _change(c["lost_units"], b["lost_units"])
    return [
        f"With the same stock rule and a {c['target_fill_rate']:.0%} fill-rate target, the "
        f"chosen forecasts hold {c['average_stock_value']:,.0f} {currency} of stock "
        f"({value} than the {name} forecasts' {b['average_stock_value']:,.0f} {currency}) "
        f"and serve {c['fill_rate']:.1%} of demand against {b['fill_rate']:.1%}; they have "
        f"{c['stockout_days']:,.0f} stock-out item-days against {b['stockout_days']:,.0f} "
        f"({out_days}) and lose {c['lost_units']:,.0f} units against "
        f"{b['lost_units']:,.0f} ({lost}).",
        "Demand is measured as sales: days an item was out of stock in the history count as "
        "low demand, and the data hold no stock history to correct them, so every policy "
        "here may be sized for too little demand.",
    ]
