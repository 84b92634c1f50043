"""Weekly revenue per channel from canonical order lines, the target of the response curves."""

from __future__ import annotations

import pandas as pd

#: Statuses that earn revenue in the week the order is placed (cancelled orders never do).
REVENUE_STATUSES = ("placed", "paid", "shipped", "delivered", "returned")


def weekly_channel_revenue(lines: pd.DataFrame) -> pd.DataFrame:
    """Revenue per channel and ISO week (weeks start on Monday, reporting timezone).

    Returned lines count in the week they were ordered: marketing bought the order, the
    return is a later, separate event. A cancelled sale earns nothing: a positive cancelled
    line is left out, and a cancellation written as its own reversal line (negative
    quantity, status cancelled, as in exports where a ``C`` invoice reverses an earlier
    one) subtracts its (negative) revenue in the week of the cancellation; a return written
    as a reversal line (negative quantity, status returned) is left out like the later
    event it is. Other negative lines (a bad-debt adjustment, a discount line) count as the
    money they are. Guest lines count like any other.

    Args:
        lines: canonical lines with channel_id, order_ts_local, revenue_base, status, and
            optionally quantity (without it, a cancelled or returned line with negative
            revenue_base is taken for a reversal line).

    Returns:
        week_start (Monday, midnight), channel_id, revenue (base currency), sorted.
    """
    reversal = lines["quantity"] < 0 if "quantity" in lines.columns else lines["revenue_base"] < 0
    status = lines["status"]
    earns = (status.isin(REVENUE_STATUSES) & ~(reversal & status.eq("returned"))) | (
        status.eq("cancelled") & reversal
    )
    sold = lines.loc[earns.fillna(False).astype(bool)]
    local = sold["order_ts_local"]
    week = (local - pd.to_timedelta(local.dt.weekday, unit="D")).dt.normalize()
    out = (
        sold.groupby([week.rename("week_start"), "channel_id"], observed=True)["revenue_base"]
        .sum()
        .rename("revenue")
        .reset_index()
    )
    return out.sort_values(["channel_id", "week_start"]).reset_index(drop=True)
