"""What stage 04 counts as demand, and what it leaves out, in numbers and in one sentence.

Demand is the intake's ``demand_units`` (the data contract): the units of a merchandise
line with a positive quantity whose status is neither cancelled nor returned. Guest lines
(no buyer identity) are real orders and count. A reversal (negative quantity: the units
of an earlier sale coming back), a cancelled or returned sale and a non-merchandise line
(postage, fees, discounts, gift cards, ...) are never demand.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from .gbm import release_freed_memory
from .models import _calendar_features, add_line_features, daily_demand, line_features

__all__ = ["DEMAND_LINE_COLUMNS", "demand_accounting", "demand_sentence", "demand_tables"]

#: Columns of the intake's lines that :func:`demand_accounting` reads.
DEMAND_LINE_COLUMNS = ("quantity", "status", "is_guest", "is_merchandise", "demand_units")

_UNDONE = ("cancelled", "returned")


def demand_accounting(lines: pd.DataFrame) -> pd.Series:
    """Lines and units that are demand, and the lines that are not, by reason.

    Args:
        lines: the intake's lines with :data:`DEMAND_LINE_COLUMNS` (quantity signed, units;
            demand_units units).

    Returns:
        Series (int): lines; demand_lines and demand_units (lines with demand_units > 0 and
        their units); guest_demand_lines and guest_demand_units (those of guest lines);
        then the lines that are no demand, each counted once, in this order:
        non_merchandise_lines (is_merchandise False), reversal_lines (merchandise,
        quantity < 0), undone_lines (merchandise, quantity > 0, status cancelled or
        returned).

    Raises:
        KeyError: a column is missing (named).
    """
    missing = [c for c in DEMAND_LINE_COLUMNS if c not in lines]
    if missing:
        raise KeyError(f"lines lack column(s) {missing}; demand needs {list(DEMAND_LINE_COLUMNS)}")
    units = lines["demand_units"].fillna(0).to_numpy(dtype=float)
    qty = lines["quantity"].fillna(0).to_numpy(dtype=float)
    merch = lines["is_merchandise"].fillna(True).to_numpy(dtype=bool)
    guest = lines["is_guest"].fillna(False).to_numpy(dtype=bool)
    undone = lines["status"].isin(_UNDONE).to_numpy(dtype=bool)
    demand = units > 0
    return pd.Series(
        {
            "lines": len(lines),
            "demand_lines": int(demand.sum()),
            "demand_units": int(round(units[demand].sum())),
            "guest_demand_lines": int((demand & guest).sum()),
            "guest_demand_units": int(round(units[demand & guest].sum())),
            "non_merchandise_lines": int((~merch).sum()),
            "reversal_lines": int((merch & (qty < 0)).sum()),
            "undone_lines": int((merch & (qty > 0) & undone).sum()),
        },
        dtype=int,
    )


def demand_sentence(acc: pd.Series) -> str:
    """One sentence on what counts as demand, from :func:`demand_accounting`.

    Returns:
        e.g. "Demand is 1,234 units on 1,000 lines, 300 units (24.3%) of them on guest
        lines; not demand: 12 reversal lines (negative quantity), 30 cancelled or returned
        sales and 5 non-merchandise lines (postage, fees and the like)."
    """
    units = int(acc["demand_units"])
    guest = int(acc["guest_demand_units"])
    share = f" ({guest / units:.1%})" if units else ""
    left = [
        (int(acc["reversal_lines"]), "reversal line", "reversal lines", " (negative quantity)"),
        (int(acc["undone_lines"]), "cancelled or returned sale", "cancelled or returned sales", ""),
        (
            int(acc["non_merchandise_lines"]),
            "non-merchandise line",
            "non-merchandise lines",
            " (postage, fees and the like)",
        ),
    ]
    parts = [f"{n:,} {one if n == 1 else many}{note}" for n, one, many, note in left if n]
    tail = (
        "; not demand: "
        + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
        if parts
        else "; every line is demand"
    )
    return (
        f"Demand is {units:,} units on {int(acc['demand_lines']):,} lines, {guest:,} units"
        f"{share} of them on guest lines{tail}."
    )


def demand_tables(
    order_lines: pd.DataFrame, promo_threshold: float = 0.05
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """:func:`demand_accounting`, :func:`.models.daily_demand` and
    :func:`.models.demand_features` of ``order_lines``, on two cores.

    A second thread sums the lines' prices and discounts per day
    (:func:`.models.line_features`, which needs no series) while this one does the
    accounting and the series; then the series get their features. Each part computes what it computes alone (no
    shared state, every sum in file order), so the tables are those of the three calls one
    after the other.

    Args:
        order_lines: the intake's lines with :data:`DEMAND_LINE_COLUMNS`, channel_id, sku,
            order_ts_local and, for price and promotion, unit_price_base and discount_base.
        promo_threshold: as :func:`.models.demand_features`.

    Returns:
        (accounting, series, features).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the worker keeps only small per-day sums; the series, kept for the whole
        # notebook, are made in this thread (a worker's malloc arena holding them would
        # keep its freed temporaries' pages from the later frames)
        job = pool.submit(line_features, order_lines, promo_threshold)
        acc = demand_accounting(order_lines)
        series = daily_demand(order_lines)
        part = job.result()
    release_freed_memory()  # the worker's freed temporaries, back to the system
    return acc, series, add_line_features(_calendar_features(series), part)
