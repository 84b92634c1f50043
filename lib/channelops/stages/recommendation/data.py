"""Purchases as implicit feedback: clean lines, time split, the weighted customer x SKU matrix.

Implicit feedback: we never see a rating, only that a customer bought a product (and how
many, and when). A purchase is read as evidence of preference, its strength the quantity
bought, discounted by age with a half-life:

    r[u, i] = sum over u's lines of i of  quantity * 0.5 ** (age_days / half_life_days)

where ``age_days`` is measured back from the training period's end. Zero means "no
evidence", not "dislike". Alongside it, :class:`Interactions` keeps the plain counts the
repeat-purchase model needs: purchase lines per customer and SKU (no weights) and, when the
lines carry a ``channel_id``, lines per customer and channel and per channel and SKU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "REQUIRED_COLUMNS",
    "Interactions",
    "purchase_lines",
    "time_split",
    "resolve_cutoff",
    "sample_customers",
    "build_interactions",
]

#: Columns of 03's ``order_lines`` every function here needs.
REQUIRED_COLUMNS = ("customer_id", "sku", "order_ts", "quantity")
#: Statuses that are not kept purchases and so are not evidence of preference.
IGNORED_STATUSES = ("cancelled", "returned")


def _require(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; expected at least {list(columns)}"
        )


def purchase_lines(
    lines: pd.DataFrame, ignore_status: tuple[str, ...] = IGNORED_STATUSES
) -> pd.DataFrame:
    """Order lines that count as purchases, with clean keys.

    Args:
        lines: 03's ``order_lines`` (customer_id, sku, order_ts, quantity; optional
            channel_id, status, revenue_base).
        ignore_status: statuses dropped (a cancelled or returned line is no evidence of taste).

    Returns:
        The kept lines with customer_id and sku as plain strings, order_ts as UTC timestamps,
        quantity > 0; rows with a missing customer or SKU are dropped.

    Raises:
        ValueError: a required column is missing, or no purchase is left.
    """
    _require(lines, REQUIRED_COLUMNS, "order_lines")
    keep = [c for c in (*REQUIRED_COLUMNS, "channel_id", "status", "revenue_base") if c in lines]
    # one boolean mask and one copy of the kept rows
    mask = lines[["customer_id", "sku", "order_ts", "quantity"]].notna().all(axis=1).to_numpy()
    if "status" in lines and ignore_status:
        mask &= ~lines["status"].isin(list(ignore_status)).to_numpy(dtype=bool)
    mask &= (lines["quantity"] > 0).to_numpy(dtype=bool)
    if not mask.any():
        raise ValueError(
            "order_lines holds no purchase (after dropping missing customers/SKUs, "
            f"quantities <= 0 and statuses {list(ignore_status)})"
        )
    out = lines.loc[mask, keep].reset_index(drop=True)
    out["customer_id"] = _plain_strings(out["customer_id"])
    out["sku"] = _plain_strings(out["sku"])
    out["order_ts"] = pd.to_datetime(out["order_ts"], utc=True)
    out["quantity"] = out["quantity"].astype(float)
    if "channel_id" in out:
        out["channel_id"] = _plain_strings(out["channel_id"])
    return out


def str_index(values) -> pd.Index:
    """``values`` as an Index of Python strings (object dtype), converting only when needed.

    Arrow strings are converted in C; an index already of Python strings is returned as is
    (``Index.astype(str)`` would copy it element by element).
    """
    index = pd.Index(values)
    if index.dtype == object and pd.api.types.infer_dtype(index, skipna=False) == "string":
        return index
    if isinstance(index.dtype, pd.StringDtype) and not index.hasnans:
        return pd.Index(index.to_numpy(dtype=object), name=index.name)
    return index.astype(str)


def _plain_strings(values: pd.Series) -> pd.Series:
    """The values as Python ``str`` objects (object dtype); Arrow strings are converted in C.

    Arrow strings without missing values become one ``str`` object per distinct value,
    shared by its rows (one object per customer, not one per line).
    """
    if isinstance(values.dtype, pd.StringDtype):
        if values.hasnans:
            plain = values.to_numpy(dtype=object)
        else:
            codes, uniques = pd.factorize(values)
            plain = np.asarray(uniques, dtype=object)[codes]
        return pd.Series(plain, index=values.index, name=values.name)
    return values.astype(str)


def resolve_cutoff(
    order_ts: pd.Series, cutoff: str | pd.Timestamp | None = None, test_weeks: float = 8
) -> pd.Timestamp:
    """First instant of the test period as a UTC timestamp (see :func:`time_split`).

    Args:
        order_ts: purchase timestamps (UTC).
        cutoff: a date or instant (a date is read as 00:00 UTC); ``None`` or empty: the last
            timestamp minus ``test_weeks`` weeks.
    """
    if cutoff is None or cutoff == "":
        if test_weeks <= 0:
            raise ValueError(f"test_weeks must be > 0, got {test_weeks}")
        return order_ts.max() - pd.Timedelta(weeks=test_weeks)
    cut = pd.Timestamp(cutoff)
    return cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")


def time_split(
    lines: pd.DataFrame, cutoff: str | pd.Timestamp | None = None, test_weeks: float = 8
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Split purchases in time: train before the cut-off, test from it on.

    Args:
        lines: purchases (:func:`purchase_lines`).
        cutoff: first instant of the test period (a date is read as 00:00 UTC); ``None`` or
            empty holds out the last ``test_weeks`` weeks.
        test_weeks: length of the held-out period when no cutoff is given, in weeks.

    Returns:
        (train, test, cutoff as a UTC timestamp).

    Raises:
        ValueError: either side of the split is empty (with the data's period).
    """
    ts = lines["order_ts"]
    cut = resolve_cutoff(ts, cutoff, test_weeks)
    train, test = lines[ts < cut], lines[ts >= cut]
    if train.empty or test.empty:
        raise ValueError(
            f"the cut-off {cut} leaves {len(train)} training and {len(test)} test lines; the "
            f"purchases run from {ts.min()} to {ts.max()}: choose a cut-off inside that period"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True), cut


def sample_customers(
    lines: pd.DataFrame, max_customers: int | None, seed: int = 0
) -> tuple[pd.DataFrame, int]:
    """All purchases of a seeded random sample of at most ``max_customers`` customers.

    Args:
        lines: purchases with customer_id (strings).
        max_customers: sample size; None (or at least the number of customers) keeps every
            line, unchanged.
        seed: the sample's seed (customers are drawn from the sorted ids, so the sample does
            not depend on the order of the lines).

    Returns:
        (the sampled customers' lines, the number of customers in ``lines``).
    """
    ids = pd.unique(lines["customer_id"])
    if max_customers is None or len(ids) <= max_customers:
        return lines, len(ids)
    if max_customers < 1:
        raise ValueError(f"max_customers must be >= 1 (or None for all), got {max_customers}")
    chosen = np.random.default_rng(seed).choice(np.sort(ids), size=max_customers, replace=False)
    return lines[lines["customer_id"].isin(chosen)].reset_index(drop=True), len(ids)


@dataclass
class Interactions:
    """The customer x SKU matrix of recency- and quantity-weighted purchases.

    Attributes:
        matrix: CSR float32, one row per customer, one column per SKU.
        customers: customer_id of each row.
        skus: sku of each column (the catalogue, including SKUs nobody bought in training).
        as_of: the instant ages are measured from (end of the training period).
        line_counts: CSR float32 like ``matrix``: the number of purchase lines per customer
            and SKU, unweighted (None when built by hand without it).
        channels: channel_id of each column of the two channel matrices (None without
            channel_id in the lines).
        customer_channel: CSR (customers x channels), purchase lines per customer and channel.
        channel_sku: CSR (channels x skus), purchase lines per channel and SKU.
    """

    matrix: sp.csr_matrix
    customers: pd.Index
    skus: pd.Index
    as_of: pd.Timestamp
    line_counts: sp.csr_matrix | None = None
    channels: pd.Index | None = None
    customer_channel: sp.csr_matrix | None = None
    channel_sku: sp.csr_matrix | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def rows(self, customer_ids) -> np.ndarray:
        """Row number of each customer id, -1 for customers unseen in training."""
        return self.customers.get_indexer(str_index(customer_ids))


def build_interactions(
    lines: pd.DataFrame, as_of: pd.Timestamp | None = None, half_life_days: float = 180.0, skus=None
) -> Interactions:
    """Weighted customer x SKU matrix from purchases.

    Args:
        lines: purchases (:func:`purchase_lines`), all before ``as_of``.
        as_of: end of the training period; ``None`` takes the last purchase.
        half_life_days: a purchase this many days old counts half as much as one today
            (``inf`` switches recency weighting off).
        skus: the catalogue (columns); ``None`` uses the SKUs in ``lines``. SKUs in lines
            but not in the catalogue are added.

    Returns:
        :class:`Interactions` with r[u, i] = sum of quantity * 0.5 ** (age_days / half_life).
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0 (days), got {half_life_days}")
    as_of = lines["order_ts"].max() if as_of is None else pd.Timestamp(as_of)
    cust_codes, customers = pd.factorize(lines["customer_id"].astype(str), sort=True)
    catalogue = pd.Index(
        sorted(
            set(lines["sku"].astype(str)).union([] if skus is None else pd.Index(skus).astype(str))
        )
    )
    item_codes = catalogue.get_indexer(lines["sku"].astype(str))
    age = ((as_of - lines["order_ts"]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
    weight = lines["quantity"].to_numpy(float) * np.power(0.5, age / half_life_days)
    matrix = sp.csr_matrix(
        (weight.astype(np.float32), (cust_codes, item_codes)),
        shape=(len(customers), len(catalogue)),
    )
    matrix.sum_duplicates()
    shape = (len(customers), len(catalogue))
    ones = np.ones(len(lines), np.float32)
    counts = sp.csr_matrix((ones, (cust_codes, item_codes)), shape=shape)
    counts.sum_duplicates()
    channels = customer_channel = channel_sku = None
    if "channel_id" in lines:
        chan_codes, channels = pd.factorize(lines["channel_id"].astype(str), sort=True)
        channels = pd.Index(channels, name="channel_id")
        customer_channel = sp.csr_matrix(
            (ones, (cust_codes, chan_codes)), shape=(len(customers), len(channels))
        )
        channel_sku = sp.csr_matrix(
            (ones, (chan_codes, item_codes)), shape=(len(channels), len(catalogue))
        )
        customer_channel.sum_duplicates()
        channel_sku.sum_duplicates()
    return Interactions(
        matrix,
        pd.Index(customers, name="customer_id"),
        pd.Index(catalogue, name="sku"),
        as_of,
        counts,
        channels,
        customer_channel,
        channel_sku,
    )
