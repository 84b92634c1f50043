"""The per-customer formulas both paths of :mod:`channelops.customers` share: the local
(pandas) path and the Spark path aggregate differently and finish here, so their results agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Statuses that count as a purchase (cancelled and returned lines do not).
PURCHASE_STATUSES = ("placed", "paid", "shipped", "delivered")


BASE_COLUMNS = [
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "aov",
    "mean_interval_days",
    "discount_share",
    "weekend_share",
    "evening_share",
    "first_order",
    "last_order",
]


def features_from_sums(
    ids: pd.Index,
    as_of: pd.Timestamp,
    freq: np.ndarray,
    monetary: np.ndarray,
    gross: np.ndarray,
    disc: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    weekend: np.ndarray,
    evening: np.ndarray,
) -> pd.DataFrame:
    """The base feature columns from per-customer sums (shared by the local and Spark paths).

    ``freq`` and the sums are float arrays aligned with ``ids``; ``first``/``last`` are
    int64 nanoseconds of the first and last order (local time).
    """
    day_ns = 86_400e9
    as_of_ns = as_of.to_datetime64().astype("datetime64[ns]").astype("int64")
    span = (last - first) / day_ns
    with np.errstate(divide="ignore", invalid="ignore"):
        feats = pd.DataFrame(
            {
                "recency_days": (as_of_ns - last) / day_ns,
                "frequency": freq.astype("int64"),
                "monetary": monetary,
                "tenure_days": (as_of_ns - first) / day_ns,
                "aov": monetary / freq,
                "mean_interval_days": np.where(freq > 1, span / np.maximum(freq - 1, 1), np.nan),
                "discount_share": np.where(
                    gross > 0, np.clip(disc / np.where(gross > 0, gross, 1), 0, 1), 0.0
                ),
                "weekend_share": weekend / freq,
                "evening_share": evening / freq,
                "first_order": pd.to_datetime(first),
                "last_order": pd.to_datetime(last),
            },
            index=ids,
        )
    return feats


def group_shares(
    codes: np.ndarray, n: int, groups: np.ndarray, weights: np.ndarray, prefix: str
) -> dict[str, np.ndarray]:
    """Per-customer shares of ``weights`` over ``groups`` (one column per group)."""
    gcodes, gnames = pd.factorize(groups, sort=True)
    m = len(gnames)
    mat = np.bincount(codes * m + gcodes, weights, minlength=n * m).reshape(n, m)
    return shares_of_matrix(mat, gnames, prefix)


def shares_of_matrix(mat: np.ndarray, gnames, prefix: str) -> dict[str, np.ndarray]:
    """Row shares of a (customers x groups) matrix of sums, one column per group name."""
    total = mat.sum(axis=1, keepdims=True)
    mat = np.divide(mat, total, out=np.zeros_like(mat), where=total > 0)
    return {f"{prefix}{g}": mat[:, j] for j, g in enumerate(gnames)}


def long_shares(long: pd.DataFrame, ids: pd.Index, prefix: str) -> dict[str, np.ndarray]:
    """Per-customer shares from a long table of sums (the Spark and DuckDB paths).

    Args:
        long: customer_id, g (group name, text), w (the sum of the customer in the group).
        ids: the customers, in feature-row order (every customer_id of ``long`` among them).
        prefix: column name prefix (``channel_``, ``cat_``).

    Returns:
        ``<prefix><g>`` -> share array aligned with ``ids``, groups in sorted order
        (:func:`shares_of_matrix`).
    """
    names = np.sort(long["g"].astype(str).unique()) if len(long) else np.array([], dtype=object)
    mat = np.zeros((len(ids), len(names)))
    rows = ids.get_indexer(long["customer_id"].astype(str))
    cols = np.searchsorted(names, long["g"].astype(str).to_numpy())
    mat[rows, cols] = long["w"].to_numpy(float)
    return shares_of_matrix(mat, list(names), prefix)
