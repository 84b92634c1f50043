"""Guest lines: orders without a buyer identity. They are real orders (revenue, demand,
stock and the scorecard count them) but no customer: per-customer figures leave them out
and say how much they left out.

A line is a guest line when its ``is_guest`` flag is set (the intake's, stage 00), or,
for tables without the flag, when its customer column is missing (03's ``order_lines``:
``customer_id`` is <NA> on guest lines). Money is ``net_revenue_base`` when the lines
carry it (revenue after cancellations, returns and refunds, base currency), else
``revenue_base``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GuestsLeftOut", "guest_mask", "identified_lines", "left_out_text", "money_column"]


@dataclass(frozen=True)
class GuestsLeftOut:
    """What per-customer figures leave out: guest lines, their orders and net revenue.

    Attributes:
        lines, orders: guest lines and distinct (channel_id, order_id) orders among them.
        revenue: their net revenue, base currency.
        total_lines, total_orders, total_revenue: the same over every line given.
    """

    lines: int
    orders: int
    revenue: float
    total_lines: int
    total_orders: int
    total_revenue: float


def money_column(lines: pd.DataFrame) -> str:
    """``net_revenue_base`` when ``lines`` carry it, else ``revenue_base``."""
    return "net_revenue_base" if "net_revenue_base" in lines.columns else "revenue_base"


def guest_mask(lines: pd.DataFrame, customer: str = "buyer_ref") -> np.ndarray:
    """Boolean array, True on guest lines: ``is_guest`` when present, else a missing
    ``customer`` value.

    Raises:
        ValueError: ``lines`` has neither ``is_guest`` nor ``customer``.
    """
    if "is_guest" in lines.columns:
        return lines["is_guest"].to_numpy(dtype=bool, na_value=False)
    if customer not in lines.columns:
        raise ValueError(f"lines have neither is_guest nor {customer!r}: guests cannot be told")
    return lines[customer].isna().to_numpy()


def _orders(lines: pd.DataFrame) -> int:
    if lines.empty:
        return 0
    keys = ["channel_id", "order_id"] if "channel_id" in lines.columns else ["order_id"]
    return int(len(lines[keys].drop_duplicates()))


def identified_lines(
    lines: pd.DataFrame, customer: str = "buyer_ref"
) -> tuple[pd.DataFrame, GuestsLeftOut]:
    """The lines of identified buyers, and what leaving the guest lines out left out.

    Args:
        lines: order lines with order_id (and channel_id), is_guest or ``customer``, and
            net_revenue_base or revenue_base (base currency).
        customer: the customer column telling guests when there is no is_guest flag
            (``buyer_ref`` in 00's intake_lines, ``customer_id`` in 03's order_lines).

    Returns:
        (the non-guest lines, same columns and index; :class:`GuestsLeftOut`).
    """
    guest = guest_mask(lines, customer)
    money = money_column(lines)
    if money not in lines.columns:
        raise ValueError("lines have neither net_revenue_base nor revenue_base")
    value = lines[money].to_numpy(dtype=float, na_value=np.nan)
    left = GuestsLeftOut(
        lines=int(guest.sum()),
        orders=_orders(lines.loc[guest]),
        revenue=float(np.nansum(value[guest])),
        total_lines=len(lines),
        total_orders=_orders(lines),
        total_revenue=float(np.nansum(value)),
    )
    return lines.loc[~guest], left


def left_out_text(left: GuestsLeftOut, currency: str, what: str = "customer figures") -> str:
    """One sentence on the guest lines ``what`` leaves out, with their shares.

    Args:
        left: from :func:`identified_lines`.
        currency: base currency code.
        what: the figures that leave the guests out (start of the sentence).

    Returns:
        e.g. "The customer figures leave out 120 guest lines (4.0%) in 80 orders (3.1%)
        worth 9,850 CNY of net revenue (2.7%): real orders without a buyer identity, still
        counted in revenue and demand.", or that there are no guest lines.
    """

    def share(part: float, whole: float) -> str:
        return f"{part / whole:.1%}" if whole else "n/a"

    if left.lines == 0:
        return f"The {what} leave nothing out: every line has a buyer identity."
    return (
        f"The {what} leave out {left.lines:,} guest lines "
        f"({share(left.lines, left.total_lines)}) in {left.orders:,} orders "
        f"({share(left.orders, left.total_orders)}) worth {left.revenue:,.0f} {currency} of "
        f"net revenue ({share(left.revenue, left.total_revenue)}): real orders without a buyer "
        "identity, still counted in revenue and demand."
    )
