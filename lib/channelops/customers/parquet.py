"""Customer features and channel sets straight from a Parquet file of order lines, in DuckDB.

The same figures as :func:`channelops.customers.customer_orders` followed by
:func:`channelops.customers.customer_features` (without the category mix), but the
group-bys run in DuckDB over the file with a memory limit and a spill folder
(:func:`channelops.engine.duckdb_connection`), so no line-level copy of the lines is made in
pandas: only one row per customer comes back. The per-customer finishing formulas are the
local path's own (:func:`channelops.customers.sums.features_from_sums`), as on Spark; the
money sums equal the local ones to float rounding (DuckDB adds them in its own order).

Inputs are canonical order lines as a Parquet file (03's ``order_lines``: ``customer_id``,
``order_id``, ``channel_id``, ``order_ts_local``, ``status``, ``net_revenue_base`` or
``revenue_base``, optionally ``discount_base``; money in the base currency, times local and
naive). Lines without a customer (guests) are left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.customers.sums import PURCHASE_STATUSES, features_from_sums, long_shares
from channelops.engine import duckdb_connection

__all__ = ["customer_features_parquet", "customer_channel_pairs"]

_NEEDED = ("order_id", "channel_id", "order_ts_local", "status")


def _columns(con, path: Path) -> list[str]:
    return [
        r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    ]


def _check(path: str | os.PathLike[str], names: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in names]
    if missing:
        raise ValueError(f"order lines file {path} lacks column(s) {missing}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def customer_features_parquet(
    path: str | os.PathLike[str],
    as_of: pd.Timestamp | str | None = None,
    customer: str = "customer_id",
    con=None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Behavioural features per customer from a Parquet file of order lines.

    Equal to ``customer_features(customer_orders(lines), as_of)`` on the file's non-guest
    lines (same customers, rows and columns; money sums to float rounding): an order is
    a (customer, order_id) pair with a sold line (status placed, paid, shipped or delivered),
    its channel that of its first sold line in file order, its time the earliest, its
    revenue the sum of ``net_revenue_base`` (``revenue_base`` when absent) and its discount
    the sum of ``discount_base`` (missing as 0).

    Args:
        path: the Parquet file of order lines.
        as_of: observation instant (local, naive); None: the day after the last order
            (midnight), as 06 measures every customer.
        customer: the customer column (lines where it is missing are guests, left out).
        con: a DuckDB connection to use (default :func:`channelops.engine.duckdb_connection`,
            closed afterwards).

    Returns:
        (features indexed by customer_id, sorted: recency_days, frequency, monetary,
        tenure_days, aov, mean_interval_days, discount_share, weekend_share,
        evening_share, first_order, last_order, then ``channel_<id>`` order shares; the
        ``as_of`` used).

    Raises:
        ValueError: a needed column is missing, or there is no purchase up to ``as_of``.
    """
    own = con is None
    con = duckdb_connection() if own else con
    try:
        return _features(con, Path(path), as_of, customer)
    finally:
        if own:
            con.close()


def _features(
    con, path: Path, as_of: pd.Timestamp | str | None, customer: str
) -> tuple[pd.DataFrame, pd.Timestamp]:
    names = _columns(con, path)
    money = "net_revenue_base" if "net_revenue_base" in names else "revenue_base"
    _check(path, names, [customer, *_NEEDED, money])
    disc = "coalesce(discount_base, 0.0)" if "discount_base" in names else "0.0"
    statuses = ", ".join(f"'{s}'" for s in PURCHASE_STATUSES)
    cust = _quoted(customer)
    # one row per (customer, order) with a sold line; a missing money value makes the
    # order's revenue NaN and a missing time leaves the order out, as the local path does
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cust_orders AS
        SELECT customer_id, order_id,
               arg_min_null(channel_id, pos) AS channel_id,
               CASE WHEN count(ts) = count(*) THEN min(ts) END AS ts,
               sum(coalesce(money, 'NaN'::DOUBLE)) AS revenue,
               sum(disc) AS discount
        FROM (
            SELECT CAST({cust} AS VARCHAR) AS customer_id, order_id, channel_id,
                   order_ts_local AS ts, {money} AS money, {disc} AS disc,
                   file_row_number AS pos
            FROM read_parquet(?, file_row_number = true)
            WHERE {cust} IS NOT NULL AND status IN ({statuses})
        )
        GROUP BY customer_id, order_id
        """,
        [str(path)],
    )
    if as_of is None:
        last = con.execute("SELECT max(ts) FROM cust_orders").fetchone()[0]
        if last is None:
            raise ValueError(f"no purchases in {path} to build customer features from")
        as_of = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    as_of = pd.Timestamp(as_of)
    cutoff = [as_of.to_pydatetime()]
    sums = con.execute(
        """
        SELECT customer_id, count(*)::DOUBLE AS freq, sum(revenue) AS monetary,
               sum(revenue + discount) AS gross, sum(discount) AS disc,
               epoch_ns(min(ts)) AS first, epoch_ns(max(ts)) AS last,
               sum(CASE WHEN isodow(ts) >= 6 THEN 1.0 ELSE 0.0 END) AS weekend,
               sum(CASE WHEN hour(ts) >= 18 THEN 1.0 ELSE 0.0 END) AS evening
        FROM cust_orders WHERE ts <= ?::TIMESTAMP_NS
        GROUP BY customer_id ORDER BY customer_id
        """,
        cutoff,
    ).df()
    if sums.empty:
        raise ValueError(f"no purchases up to {as_of} in {path} to build customer features from")
    by_channel = con.execute(
        """
        SELECT customer_id, CAST(channel_id AS VARCHAR) AS g, count(*)::DOUBLE AS w
        FROM cust_orders WHERE ts <= ?::TIMESTAMP_NS GROUP BY ALL
        """,
        cutoff,
    ).df()
    con.execute("DROP TABLE cust_orders")
    ids = pd.Index(sums["customer_id"].astype(object).to_numpy(), name="customer_id")
    feats = features_from_sums(
        ids,
        as_of,
        *(sums[c].to_numpy(float) for c in ("freq", "monetary", "gross", "disc")),
        sums["first"].to_numpy(np.int64),
        sums["last"].to_numpy(np.int64),
        sums["weekend"].to_numpy(float),
        sums["evening"].to_numpy(float),
    )
    shares = pd.DataFrame(long_shares(by_channel, ids, "channel_"), index=feats.index)
    return pd.concat([feats, shares], axis=1), as_of


def customer_channel_pairs(
    path: str | os.PathLike[str], customer: str = "customer_id", con=None
) -> pd.DataFrame:
    """The distinct (customer, channel) pairs of a Parquet file of order lines, any status.

    Args:
        path: the Parquet file (``customer`` and ``channel_id`` columns).
        customer: the customer column; lines where it is missing (guests) are left out.
        con: a DuckDB connection (default :func:`channelops.engine.duckdb_connection`).

    Returns:
        customer_id (text) and channel_id (text, missing as <NA>), one row per pair, sorted.

    Raises:
        ValueError: a column is missing.
    """
    own = con is None
    con = duckdb_connection() if own else con
    try:
        _check(path, _columns(con, Path(path)), [customer, "channel_id"])
        cust = _quoted(customer)
        out = con.execute(
            f"""
            SELECT DISTINCT CAST({cust} AS VARCHAR) AS customer_id,
                   CAST(channel_id AS VARCHAR) AS channel_id
            FROM read_parquet(?) WHERE {cust} IS NOT NULL ORDER BY ALL
            """,
            [str(path)],
        ).df()
    finally:
        if own:
            con.close()
    return out.astype({"customer_id": object, "channel_id": object})
