"""User-base growth: where new customers come from, of which segment, and who is shared.

A customer is *new on a channel* when their first order line (any channel, any status) is
there (:func:`channelops.stages.evaluation.first_seen`). Customers are placed into 01's
segments with 01's ``segment_model`` table; the segment mix of each channel's newcomers is
compared with the mix of all newcomers, and the channel overlap counts customers who buy on
two channels.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from channelops.customers import customer_features, customer_orders, money_column
from channelops.customers import place_in_segments as _nearest_segment
from channelops.customers.parquet import customer_channel_pairs, customer_features_parquet
from channelops.engine import release_unused_memory
from channelops.frames import as_str_keys, require_columns

from .text import escape_data

__all__ = [
    "place_in_segments",
    "place_from_parquet",
    "overlap_from_parquet",
    "user_base_growth",
    "monthly_new_customers",
    "segment_mix",
    "segment_lean",
    "segment_lean_text",
    "overlap_summary",
    "channel_overlap",
    "overlap_table",
]

#: Name of the row of :func:`segment_mix` that holds the mix of all new customers.
ALL_CHANNELS = "all channels"


def place_in_segments(
    lines: pd.DataFrame, model: pd.DataFrame, as_of: pd.Timestamp | str | None = None
) -> pd.Series:
    """Place every resolved customer into 01's segments with 01's ``segment_model`` table.

    Features are 01's (:func:`channelops.stages.segmentation.customer_features`) computed from all
    of the customer's sold lines on every channel (03's customer_id), measured the day after
    the last order; they are scaled as 01 scaled them and each customer goes to the nearest centre
    (:func:`channelops.customers.place_in_segments`).

    Args:
        lines: unified order lines (customer_id, order_id, channel_id, order_ts_local,
            net_revenue_base or revenue_base, status); guest lines (customer_id <NA>) are
            left out.
        model: 01's ``segment_model`` table (standardisation and centres).
        as_of: observation instant (local, naive); default the day after the last order.

    Returns:
        segment per customer_id; customers with no sold line are absent.
    """
    cols = [
        c
        for c in (
            "order_id",
            "channel_id",
            "order_ts_local",
            "revenue_base",
            "net_revenue_base",
            "status",
            "discount_base",
        )
        if c in lines.columns
    ]
    lines = lines.loc[lines["customer_id"].notna().to_numpy()]  # guests are no customer
    # a frame over the lines' own columns, not a copy of them (customer_orders copies the
    # sold lines once itself)
    view = pd.DataFrame(
        {**{c: lines[c] for c in cols}, "buyer_ref": as_str_keys(lines["customer_id"])}, copy=False
    )
    orders = customer_orders(view, money=money_column(lines))
    if as_of is None:
        as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    return _nearest_segment(customer_features(orders, as_of), model)


def place_from_parquet(
    path: str | os.PathLike[str], model: pd.DataFrame, as_of: pd.Timestamp | str | None = None
) -> pd.Series:
    """:func:`place_in_segments` from the order lines' Parquet file (03's ``order_lines``).

    The per-order and per-customer sums run in DuckDB over the file, with the engine's
    memory limit and spill folder (:func:`channelops.customers.parquet.customer_features_parquet`),
    so only one row per customer comes into pandas; the same customers get the same
    features (money sums to float rounding) and the same nearest centre.

    Args:
        path: Parquet file of unified order lines (customer_id, order_id, channel_id,
            order_ts_local, status, net_revenue_base or revenue_base, discount_base);
            guest lines (customer_id missing) are left out.
        model: 01's ``segment_model`` table.
        as_of: observation instant (local, naive); default the day after the last order.

    Returns:
        segment per customer_id; customers with no sold line are absent.
    """
    release_unused_memory()  # what freed frames left behind, before DuckDB allocates
    features, _ = customer_features_parquet(path, as_of)
    return _nearest_segment(features, model)


def user_base_growth(
    seen: pd.DataFrame, segments: pd.Series | None = None, freq: str = "M"
) -> pd.DataFrame:
    """New customers per first channel and month, split by segment.

    Args:
        seen: from :func:`first_seen`.
        segments: segment per customer_id (e.g. 01's model applied to every resolved
            customer); None puts every customer in ``"all"``.
        freq: period of the time axis (``"M"`` months).

    Returns:
        month (period start), channel_id, segment, new_customers, cumulative_customers
        (running total per channel and segment).
    """
    s = seen.copy()
    s["segment"] = (
        s["customer_id"].map(segments).fillna("unplaced") if segments is not None else "all"
    )
    s["month"] = pd.to_datetime(s["first_seen"]).dt.to_period(freq).dt.start_time
    g = (
        s.groupby(["month", "first_channel", "segment"])
        .size()
        .rename("new_customers")
        .reset_index()
        .rename(columns={"first_channel": "channel_id"})
    )
    g = g.sort_values(["channel_id", "segment", "month"]).reset_index(drop=True)
    g["cumulative_customers"] = g.groupby(["channel_id", "segment"])["new_customers"].cumsum()
    return g.sort_values(["month", "channel_id", "segment"]).reset_index(drop=True)


def segment_mix(growth: pd.DataFrame) -> pd.DataFrame:
    """Share of each segment among the new customers of each channel (rows sum to 1).

    An extra row ``all channels`` gives the mix of the whole base, so a channel whose row
    leans away from it changes the mix.
    """
    t = growth.pivot_table(
        index="channel_id", columns="segment", values="new_customers", aggfunc="sum", fill_value=0
    )
    t.loc[ALL_CHANNELS] = t.sum()
    return t.div(t.sum(axis=1), axis=0)


def overlap_summary(lines: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Pairwise channel overlap (customers buying on both) and the share on 2+ channels.

    Returns:
        (square matrix of shared customers, diagonal = the channel's customers; share of
        customers who bought on two or more channels).
    """
    return channel_overlap(lines)


def overlap_from_parquet(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, float]:
    """:func:`overlap_summary` from the order lines' Parquet file (any status, guests left
    out): DuckDB reduces the lines to distinct (customer, channel) pairs first, so the same
    matrix and share come from one row per pair instead of one per line.

    Args:
        path: Parquet file with customer_id and channel_id.
    """
    release_unused_memory()
    return channel_overlap(customer_channel_pairs(path))


def channel_overlap(lines: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """:func:`overlap_summary` from each customer's set of channels as a bit mask.

    Equal to ``channelops.stages.integration.channel_overlap_matrix`` (a customer x channel
    crosstab, then its Gram matrix) but counts the few distinct channel sets instead of
    building a customers x channels table.

    Args:
        lines: customer_id, channel_id (any status).

    Returns:
        (channels x channels int64 matrix of customers bought on both, index and columns
        the sorted channel ids as ``str``, both named channel_id; share of customers, NA
        ids left out, on two or more channels).
    """
    # missing ids get a code (and a name, "nan") of their own, as astype(str) gave them
    ch, ch_names = pd.factorize(lines["channel_id"], use_na_sentinel=False)
    cust, cust_names = pd.factorize(lines["customer_id"], use_na_sentinel=False)
    names = [str(c) for c in ch_names]
    if len(names) > 62:
        raise ValueError(f"{len(names)} channels: channel_overlap handles at most 62")
    mask = np.zeros(len(cust_names), dtype=np.int64)
    np.bitwise_or.at(mask, cust, np.left_shift(np.int64(1), ch.astype(np.int64)))
    sets, n_cust = np.unique(mask, return_counts=True)
    has = (sets[:, None] >> np.arange(len(names))[None, :]) & 1
    m = pd.DataFrame(
        (has * n_cust[:, None]).T @ has,
        index=pd.Index(names, name="channel_id"),
        columns=pd.Index(names, name="channel_id"),
    ).astype(np.int64)
    m = m.loc[sorted(names), sorted(names)]
    known = ~pd.isna(pd.Series(cust_names, dtype=object)).to_numpy()
    n_channels = np.bitwise_count(mask[known])
    share = float((n_channels >= 2).mean()) if known.any() else float("nan")
    return m, share


def monthly_new_customers(growth: pd.DataFrame) -> pd.DataFrame:
    """New customers per month (rows, every month from the first to the last) and channel.

    Args:
        growth: from :func:`user_base_growth` (month, channel_id, new_customers).

    Returns:
        Month-start index with no gaps, one column per channel, new customers summed over
        segments (0 in a month without any).

    Raises:
        ValueError: a column is missing or ``growth`` is empty.
    """
    require_columns(growth, ["month", "channel_id", "new_customers"], "user_base_growth")
    if growth.empty:
        raise ValueError("user_base_growth is empty: no customer was seen")
    monthly = growth.pivot_table(
        index="month", columns="channel_id", values="new_customers", aggfunc="sum", fill_value=0
    )
    months = pd.date_range(monthly.index.min(), monthly.index.max(), freq="MS")
    return monthly.reindex(months, fill_value=0)


def segment_lean(mix: pd.DataFrame) -> pd.Series:
    """How far each channel's segment mix leans from the mix of all new customers.

    Args:
        mix: from :func:`segment_mix` (channels x segments shares, with the
            ``all channels`` row).

    Returns:
        Share of the segment among the channel's newcomers minus its share among all
        newcomers (a difference of shares), indexed by (channel_id, segment), largest first.

    Raises:
        ValueError: ``mix`` has no ``all channels`` row.
    """
    if ALL_CHANNELS not in mix.index:
        raise ValueError(f"the segment mix has no {ALL_CHANNELS!r} row to compare with")
    base = mix.loc[ALL_CHANNELS]
    return (mix.drop(index=ALL_CHANNELS) - base).stack().sort_values(ascending=False)


def segment_lean_text(mix: pd.DataFrame) -> str:
    """One Markdown sentence: which channel shifts the customer base towards which segment.

    Args:
        mix: from :func:`segment_mix`.

    Returns:
        The channel and segment with the largest positive :func:`segment_lean`, with both
        shares in percent; a sentence saying no channel shifts the mix when there is a
        single segment or no channel leans away from the base. Names are escaped.

    Raises:
        ValueError: ``mix`` has no ``all channels`` row.
    """
    lean = segment_lean(mix)
    if mix.shape[1] <= 1:
        return "There is a single segment, so every channel brings the same mix of customers."
    if not len(lean) or not lean.iloc[0] > 0:
        return (
            "Every channel's new customers have the segment mix of all new customers: no "
            "channel shifts the customer base towards a segment."
        )
    (channel, segment), base = lean.index[0], mix.loc[ALL_CHANNELS]
    return (
        f"Against the mix of all new customers (bottom row), **{escape_data(channel)}** brings "
        f"the most extra **{escape_data(segment)}** customers ({mix.loc[channel, segment]:.0%} "
        f"of its newcomers against {base[segment]:.0%} overall): that channel changes the "
        "customer base most in that direction."
    )


def overlap_table(overlap: pd.DataFrame) -> pd.DataFrame:
    """The overlap matrix of :func:`channel_overlap` as a table to save.

    Args:
        overlap: square channels x channels matrix of shared customers.

    Returns:
        channel_id, then one column per channel (customers who bought on both).

    Raises:
        ValueError: the matrix is not square with the same channels on both axes.
    """
    if list(overlap.index) != list(overlap.columns):
        raise ValueError("the overlap matrix needs the same channels as rows and columns")
    return overlap.rename_axis(index="channel_id", columns=None).reset_index()
