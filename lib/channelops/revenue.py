"""Weekly revenue per channel from canonical order lines, the target of the response curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.margins import ranked_codes

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
            revenue_base is taken for a reversal line); with a channel code column
            (``channel_id`` + :data:`channelops.margins.CODE_SUFFIX`, as 06 reads the
            lines) and naive nanosecond times, the lines are grouped on integers (the same
            groups, order and sums as on the names).

    Returns:
        week_start (Monday, midnight), channel_id, revenue (base currency), sorted.
    """
    coded = _weekly_by_codes(lines)
    if coded is not None:
        return coded
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


_DAY_NS = 86_400_000_000_000


def _weekly_by_codes(lines: pd.DataFrame) -> pd.DataFrame | None:
    """:func:`weekly_channel_revenue` grouped on the channels' given codes ranked in sorted
    order and on each line's week as a day number: the groups, their order and the sums
    (pandas' own, in row order) of the group-by on the names and the week timestamps,
    without copying the sold lines or hashing a string per line. None when the lines have
    no channel codes, a missing channel, or times that are not naive nanoseconds (the
    group-by on the names handles those)."""
    ranked = ranked_codes(lines, "channel_id")
    local = lines["order_ts_local"]
    qty = lines["quantity"] if "quantity" in lines.columns else lines["revenue_base"]
    if (
        ranked is None
        or local.dtype != np.dtype("datetime64[ns]")
        or not isinstance(qty.dtype, np.dtype)  # a nullable comparison has three values
    ):
        return None
    ch, names = ranked
    # each distinct status once: earns revenue, is a return, is a cancellation
    status, kinds = pd.factorize(lines["status"])

    def flag(test: list[bool]) -> np.ndarray:  # per row, False where the status is missing
        return np.array([*test, False], dtype=bool)[status]

    revenue_status = flag([k in REVENUE_STATUSES for k in kinds])
    returned = flag([k == "returned" for k in kinds])
    cancelled = flag([k == "cancelled" for k in kinds])
    reversal = (qty < 0).to_numpy(dtype=bool)
    earns = (revenue_status & ~(reversal & returned)) | (cancelled & reversal)
    ns = local.to_numpy().view(np.int64)
    earns &= ~local.isna().to_numpy()  # a line without a time has no week (left out)
    rows = np.flatnonzero(earns)
    day = ns[rows] // _DAY_NS
    monday = day - (day + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    n = max(len(names), 1)
    sums = pd.Series(lines["revenue_base"].to_numpy()[rows]).groupby(monday * n + ch[rows]).sum()
    key = sums.index.to_numpy()
    week, channel = key // n, key % n
    order = np.lexsort((week, channel))  # by channel, then week: the names' sort
    return pd.DataFrame(
        {
            "week_start": (week[order] * _DAY_NS).view("datetime64[ns]"),
            "channel_id": np.array(names, dtype=object)[channel[order]],
            "revenue": sums.to_numpy()[order],
        }
    )
