"""Evaluation: the channel scorecard and the run's comparisons.

Every figure is defined where it is computed, in base currency unless stated.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["SCORECARD_DEFINITIONS", "channel_scorecard"]

SCORECARD_DEFINITIONS = {
    "revenue": "sum of accepted line revenue (quantity x unit price - discount), excluding cancelled and returned lines",
    "orders": "distinct orders with at least one such line",
    "customers": "distinct resolved customers with at least one such line",
    "aov": "revenue / orders",
    "cogs": "sum of quantity x unit_cost from the product master",
    "commission": "revenue x the channel's commission_rate",
    "gross_margin": "revenue - cogs - commission",
    "gross_margin_rate": "gross_margin / revenue",
}


def channel_scorecard(lines: pd.DataFrame, products: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Revenue, orders, customers, AOV and gross margin after commission per channel.

    Args:
        lines: unified order lines (channel_id, order_id, customer_id, sku, quantity,
            revenue_base, status).
        products: product master with sku, unit_cost.
        channels: channel table with channel_id and commission_rate (missing -> 0).

    Returns:
        One row per channel, ranked by gross margin, with the columns of
        :data:`SCORECARD_DEFINITIONS`.
    """
    sold = lines.loc[~lines["status"].isin(["cancelled", "returned"])]
    cost = products.set_index("sku")["unit_cost"]
    sold = sold.assign(cogs=sold["quantity"] * sold["sku"].map(cost).fillna(0.0))
    card = sold.groupby("channel_id").agg(
        revenue=("revenue_base", "sum"),
        orders=("order_id", "nunique"),
        customers=("customer_id", "nunique"),
        cogs=("cogs", "sum"),
    )
    rate = (
        channels.set_index("channel_id")["commission_rate"]
        if "commission_rate" in channels
        else pd.Series(dtype=float)
    )
    card["aov"] = card["revenue"] / card["orders"]
    card["commission"] = card["revenue"] * rate.reindex(card.index).fillna(0.0)
    card["gross_margin"] = card["revenue"] - card["cogs"] - card["commission"]
    card["gross_margin_rate"] = card["gross_margin"] / card["revenue"]
    card = card.sort_values("gross_margin", ascending=False)
    card["rank"] = range(1, len(card) + 1)
    return card.reset_index()
