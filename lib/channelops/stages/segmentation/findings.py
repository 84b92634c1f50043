"""The sentences 01 prints as findings, each built from the numbers it describes.

* :func:`buying_pattern_text`: how often customers buy (median orders, share of one-order
  customers) and how concentrated revenue is (the top fifth's share);
* :func:`rfm_cell_text`: whether the most recent and most frequent customers bring the most
  revenue per head;
* :func:`segment_findings`: the segment with the most revenue, the largest segment and the
  segments an analyst should act on first (named RFM segments).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.frames import require_columns

__all__ = ["buying_pattern_text", "rfm_cell_text", "segment_findings"]


def buying_pattern_text(features: pd.DataFrame) -> str:
    """How often customers buy and how skewed revenue is, in two sentences.

    Args:
        features: per customer ``frequency`` (orders) and ``monetary`` (revenue, money).

    Returns:
        "Most customers buy once ..." when more than half bought once, "Most customers
        buy again ..." otherwise, with the median orders; then the share of revenue of
        the top fifth of customers and whether that is concentrated (over 60%) or spread.

    Raises:
        ValueError: a column is missing or there is no customer.
    """
    require_columns(features, ["frequency", "monetary"], "features")
    if features.empty:
        raise ValueError("no customers to describe")
    freq = features["frequency"].to_numpy(float)
    once = float((freq <= 1).mean())
    median = float(np.median(freq))
    if once > 0.5:
        first = (
            f"Most customers buy once: {once:.0%} placed a single order "
            f"(median {median:g} orders per customer)."
        )
    else:
        first = (
            f"Most customers buy again: only {once:.0%} placed a single order, and the "
            f"median customer placed {median:g} orders."
        )
    money = np.sort(np.clip(features["monetary"].to_numpy(float), 0, None))[::-1]
    total = money.sum()
    top = money[: max(1, int(np.ceil(0.2 * len(money))))].sum() / total if total > 0 else 0.0
    shape = "concentrated" if top > 0.6 else "spread out"
    second = f"The top fifth of customers bring {top:.0%} of revenue: revenue is {shape}."
    return f"{first} {second}"


def rfm_cell_text(grid: pd.DataFrame) -> str:
    """Whether the most recent, most frequent RFM cell has the highest revenue per head.

    Args:
        grid: mean revenue per customer, rows r_score and columns f_score (higher is more
            recent / more frequent), as the notebook's heatmap shows it.

    Returns:
        One sentence naming the top cell's mean revenue and the best cell's.
    """
    if grid.empty or grid.isna().all().all():
        return "No RFM cell has customers: nothing to compare."
    stacked = grid.stack().dropna()
    best_r, best_f = stacked.idxmax()
    top = grid.loc[grid.index.max(), grid.columns.max()]
    if (best_r, best_f) == (grid.index.max(), grid.columns.max()):
        return (
            f"The most recent and most frequent customers (R {best_r}, F {best_f}) bring the "
            f"most revenue per head: {stacked.max():,.0f} on average."
        )
    top_text = "has no customer" if pd.isna(top) else f"averages {top:,.0f}"
    return (
        f"The most revenue per head is in cell R {best_r}, F {best_f} ({stacked.max():,.0f}); "
        f"the most recent and most frequent cell {top_text}."
    )


def segment_findings(profiles: pd.DataFrame, rfm_table: pd.DataFrame) -> list[str]:
    """Sentences on the K-means segments and the named RFM segments.

    Args:
        profiles: :func:`~channelops.stages.segmentation.segment_profiles` (segment,
            customer_share, revenue_share).
        rfm_table: :func:`.rfm_segments.rfm_segment_table` (rfm_segment, customer_share,
            revenue_share).

    Returns:
        The K-means segment with the largest revenue share, the largest by customers, and
        the revenue share held by customers who bought often but are slipping (at_risk and
        cannot_lose), or that there are none.
    """
    require_columns(profiles, ["segment", "customer_share", "revenue_share"], "profiles")
    require_columns(rfm_table, ["rfm_segment", "customer_share", "revenue_share"], "rfm_table")
    out = []
    if len(profiles):
        rich = profiles.loc[profiles["revenue_share"].idxmax()]
        big = profiles.loc[profiles["customer_share"].idxmax()]
        out.append(
            f"Segment {rich['segment']} brings the most revenue ({rich['revenue_share']:.0%} "
            f"from {rich['customer_share']:.0%} of customers); the largest segment is "
            f"{big['segment']} ({big['customer_share']:.0%} of customers)."
        )
    slipping = rfm_table[rfm_table["rfm_segment"].isin(["at_risk", "cannot_lose"])]
    if slipping.empty:
        out.append("No customer who bought often has stopped buying (no at-risk segment).")
    else:
        out.append(
            f"Customers who bought often but not lately (at risk, cannot lose) are "
            f"{slipping['customer_share'].sum():.0%} of customers and brought "
            f"{slipping['revenue_share'].sum():.0%} of revenue: the first to win back."
        )
    return out
