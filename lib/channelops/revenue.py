"""Weekly revenue per channel from canonical order lines, the target of the response curves."""

from __future__ import annotations

import pandas as pd

#: Statuses that earn revenue in the week the order is placed (cancelled orders never do).
REVENUE_STATUSES = ("placed", "paid", "shipped", "delivered", "returned")


def weekly_channel_revenue(lines: pd.DataFrame) -> pd.DataFrame:
    """Revenue per channel and ISO week (weeks start on Monday, reporting timezone).

    Returned lines count in the week they were ordered: marketing bought the order, the
    return is a later, separate event.

    Args:
        lines: canonical lines with channel_id, order_ts_local, revenue_base, status.

    Returns:
        week_start (Monday, midnight), channel_id, revenue (base currency), sorted.
    """
    sold = lines.loc[lines["status"].isin(REVENUE_STATUSES)]
    local = sold["order_ts_local"]
    week = (local - pd.to_timedelta(local.dt.weekday, unit="D")).dt.normalize()
    out = (
        sold.groupby([week.rename("week_start"), "channel_id"], observed=True)["revenue_base"]
        .sum()
        .rename("revenue")
        .reset_index()
    )
    return out.sort_values(["channel_id", "week_start"]).reset_index(drop=True)
