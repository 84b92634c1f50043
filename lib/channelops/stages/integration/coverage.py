"""What stage 03 could and could not do with the data it was given.

* :func:`identified_buyers` leaves guest buyers (no ``buyer_ref``) out of identity
  resolution; :func:`guest_summary` counts the guest lines, orders and revenue that stay in
  ``order_lines`` and ``orders`` without a customer.
* :func:`customer_lines` keeps the lines that have a customer (for per-customer views).
* :func:`crm_match_note` says what a ``customers.csv`` of ids alone means for identity
  resolution (the missing optional files are said by ``channelops.run.needs``).
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CRM_MATCH_FIELDS",
    "GUEST_COLUMNS",
    "identified_buyers",
    "is_guest_line",
    "guest_summary",
    "customer_lines",
    "crm_match_note",
]

#: Columns of the order lines that :func:`guest_summary` reads (the optional ones where
#: the lines carry them).
GUEST_COLUMNS = ("channel_id", "order_id", "buyer_ref", "is_guest", "net_revenue_base",
                 "revenue_base")  # fmt: skip

#: customers.csv columns identity resolution compares with the channels' buyers.
CRM_MATCH_FIELDS = ("name", "email", "phone", "address", "postcode", "city")


def identified_buyers(buyers: pd.DataFrame) -> pd.DataFrame:
    """The buyer records that have a buyer identity (channel_id and buyer_ref present).

    Guest checkouts carry no ``buyer_ref``; they are never linked to a customer.

    Args:
        buyers: 00's ``buyers`` table.

    Returns:
        The rows of ``buyers`` with both keys, fresh RangeIndex; ``attrs['guests']`` = the
        number of rows left out.
    """
    keep = (buyers["channel_id"].notna() & buyers["buyer_ref"].notna()).to_numpy(bool)
    out = buyers.loc[keep].reset_index(drop=True)
    out.attrs["guests"] = int((~keep).sum())
    return out


def is_guest_line(lines: pd.DataFrame) -> pd.Series:
    """Per line, True for a guest line: ``is_guest`` where the intake wrote it, else (and
    also) a missing ``buyer_ref``. Boolean Series with the index of ``lines``."""
    guest = lines["buyer_ref"].isna()
    if "is_guest" in lines.columns:
        guest = guest | lines["is_guest"].fillna(False).astype(bool)
    return guest.astype(bool)


def _money(lines: pd.DataFrame) -> pd.Series:
    """Net revenue per line (base currency): ``net_revenue_base`` when the intake wrote it,
    else ``revenue_base``."""
    col = "net_revenue_base" if "net_revenue_base" in lines.columns else "revenue_base"
    return lines[col].astype(float)


def guest_summary(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Guest lines per channel: kept in orders and revenue, without a customer.

    Args:
        order_lines: lines with channel_id, order_id, buyer_ref, revenue_base (and
            ``is_guest`` / ``net_revenue_base`` when the intake wrote them).

    Returns:
        One row per channel_id (sorted), columns lines, guest_lines, guest_orders,
        guest_revenue_base (net, base currency, rounded to cents), guest_line_share (0-1).
    """
    guest = is_guest_line(order_lines).to_numpy()
    # keys stay in Arrow memory (no Python str per line); a missing one reads "<NA>" as
    # str() would write it
    frame = pd.DataFrame(
        {
            "channel_id": _text(order_lines["channel_id"]),
            "order_id": _text(order_lines["order_id"]),
            "guest": guest,
            "money": _money(order_lines).to_numpy() * guest,
        }
    )
    g = frame.groupby("channel_id", sort=True)
    out = pd.DataFrame(
        {
            "lines": g.size(),
            "guest_lines": g["guest"].sum().astype("int64"),
            "guest_orders": frame.loc[guest].groupby("channel_id")["order_id"].nunique(),
            "guest_revenue_base": g["money"].sum().round(2),
        }
    )
    out["guest_orders"] = out["guest_orders"].fillna(0).astype("int64")
    out["guest_line_share"] = out["guest_lines"] / out["lines"]
    out.index = out.index.astype(object)
    return out.reset_index()


def _text(s: pd.Series) -> pd.Series:
    """``s`` as Arrow-backed strings with a missing value as ``"<NA>"``: the groups of
    ``s.astype(str)`` without a Python ``str`` object per value."""
    return s.astype(pd.StringDtype("pyarrow")).fillna("<NA>").reset_index(drop=True)


def customer_lines(order_lines: pd.DataFrame) -> pd.DataFrame:
    """The lines that belong to a customer (``customer_id`` present): guests and unlinked
    lines left out, for per-customer views such as the channel overlap."""
    return order_lines.loc[order_lines["customer_id"].notna().to_numpy(bool)]


def crm_match_note(crm: pd.DataFrame | None, crm_channels: list[str]) -> str | None:
    """A sentence when ``customers.csv`` exists but carries none of the fields identity
    resolution compares (:data:`CRM_MATCH_FIELDS`), else None.

    The missing optional files themselves are said by ``channelops.run.needs`` (the same
    sentence ``channelops check`` prints); this adds what a customers.csv of ids alone
    means for 03.

    Args:
        crm: ``customers.csv`` or None when absent.
        crm_channels: channels whose buyer_ref is a CRM id (dataset.yaml ``crm_ids``).
    """
    if crm is None:
        return None
    if any(f in crm.columns and crm[f].notna().any() for f in CRM_MATCH_FIELDS):
        return None
    via = (
        f"only on {', '.join(crm_channels)}, whose buyer ids are CRM ids"
        if crm_channels
        else "on no channel, since none carries CRM ids"
    )
    return (
        "Stage 03: customers.csv has none of "
        + ", ".join(CRM_MATCH_FIELDS)
        + f", so CRM customers are recognised {via}."
    )
