"""Customer features as of a date, from canonical order lines: stage-neutral, so that 01
(which fits segments on them) and 06 and 07 (which place customers into 01's segments as of
their own cut-off dates) compute them with the same code.

Inputs are canonical, accepted order lines (``buyer_ref`` is the customer id, ``revenue_base``
in the base currency, ``order_ts_local`` in the reporting timezone). Every step is vectorised
over customers (groupby / bincount).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelops.customers.sums import (
    PURCHASE_STATUSES,
    features_from_sums,
    group_shares,
    shares_of_matrix,
)
from channelops.engine import is_spark, spark_session
from channelops.frames import require_columns as _require


def customer_orders(
    lines: pd.DataFrame, engine: str = "local", money: str = "revenue_base"
) -> pd.DataFrame:
    """Purchases per customer and order: one row per (customer_id, order_id).

    Args:
        lines: canonical lines with buyer_ref (= customer id), order_id, channel_id,
            order_ts_local, the ``money`` column, status and, optionally, discount_base.
            Guest lines (no buyer_ref) must be left out first
            (:func:`channelops.customers.guests.identified_lines`).
        engine: ``local``, or ``spark`` / a Spark master URL to aggregate on Spark
            (:mod:`channelops.engine`; same rows, sums equal to float rounding).
        money: the line value summed into the order's revenue (base currency):
            ``revenue_base``, or ``net_revenue_base`` (after refunds and reversals).

    Returns:
        customer_id, order_id, channel_id, order_ts (local, naive), revenue (base currency,
        after discounts) and discount (base currency, 0 when the lines carry none).

    Raises:
        ValueError: a required column is missing.
    """
    _require(
        lines, ["buyer_ref", "order_id", "channel_id", "order_ts_local", money, "status"], "lines"
    )
    if lines["buyer_ref"].isna().any():
        raise ValueError(
            f"{int(lines['buyer_ref'].isna().sum())} lines have no buyer_ref (guest lines): "
            "leave them out first with channelops.customers.identified_lines"
        )
    if money != "revenue_base":  # a view with the money column under the name summed below
        lines = pd.DataFrame(
            {**{c: lines[c] for c in lines.columns if c != "revenue_base"}},
            copy=False,
        ).assign(revenue_base=lines[money])
    if is_spark(engine):
        from channelops.customers.spark import customer_orders_spark  # lazy: pyspark

        return customer_orders_spark(lines, spark_session(engine))
    # copy only the columns used, not the whole (possibly wide and long) frame
    bought = lines["status"].isin(PURCHASE_STATUSES).to_numpy(dtype=bool, na_value=False)
    used = [
        c
        for c in (
            "buyer_ref",
            "order_id",
            "channel_id",
            "order_ts_local",
            "revenue_base",
            "discount_base",
        )
        if c in lines.columns
    ]
    buys = lines.loc[bought, used]
    # group on integer codes: hashing the string pairs twice is slow on many lines
    cust, cust_ids = pd.factorize(buys["buyer_ref"], sort=True)
    order, order_ids = pd.factorize(buys["order_id"])
    key, first, inverse = np.unique(
        cust.astype(np.int64) * max(len(order_ids), 1) + order,
        return_index=True,
        return_inverse=True,
    )
    n = len(key)
    ts = buys["order_ts_local"].to_numpy("datetime64[ns]").astype(np.int64)
    first_ts = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_ts, inverse, ts)
    disc = (
        buys["discount_base"].fillna(0.0).to_numpy(float)
        if "discount_base" in buys
        else np.zeros(len(buys))
    )
    return pd.DataFrame(
        {
            "customer_id": np.asarray(cust_ids, dtype=object)[cust[first]],
            "order_id": np.asarray(order_ids, dtype=object)[order[first]],
            "channel_id": buys["channel_id"].iloc[first].to_numpy(dtype=object),
            "order_ts": first_ts.astype("datetime64[ns]"),
            "revenue": np.bincount(inverse, buys["revenue_base"].to_numpy(float), minlength=n),
            "discount": np.bincount(inverse, disc, minlength=n),
        }
    )


def customer_features(
    orders: pd.DataFrame,
    as_of: pd.Timestamp | str,
    lines: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    engine: str = "local",
) -> pd.DataFrame:
    """Behavioural features per customer, measured at ``as_of`` (orders after it are ignored).

    Args:
        orders: from :func:`customer_orders`.
        as_of: the observation instant (local time, naive).
        lines: canonical lines; with ``products`` adds the category mix.
        products: product master with sku and category.
        engine: ``local``, or ``spark`` / a Spark master URL: the per-customer sums are
            aggregated on Spark and finished here by the same formulas (same customers and
            columns; sums equal to float rounding).

    Returns:
        Indexed by customer_id (sorted): recency_days, frequency (orders), monetary (revenue,
        base currency), tenure_days, aov (monetary / frequency), mean_interval_days (mean
        days between orders; NaN for one order), discount_share (discount / gross value),
        weekend_share and evening_share (of orders placed on Sat/Sun and 18:00-23:59),
        first_order, last_order, then ``channel_<id>`` order shares and, when products are
        given, ``cat_<category>`` revenue shares.

    Raises:
        ValueError: no purchases up to ``as_of`` or a missing column.
    """
    _require(orders, ["customer_id", "order_id", "channel_id", "order_ts", "revenue"], "orders")
    as_of = pd.Timestamp(as_of)
    if is_spark(engine):
        from channelops.customers.spark import customer_features_spark  # lazy: pyspark

        return customer_features_spark(
            orders, as_of, spark_session(engine), lines=lines, products=products
        )
    orders = orders.loc[orders["order_ts"] <= as_of]
    if orders.empty:
        raise ValueError(f"no purchases up to {as_of} to build customer features from")
    codes, ids = pd.factorize(orders["customer_id"], sort=True)
    n = len(ids)
    ts = orders["order_ts"].to_numpy("datetime64[ns]").astype("int64")
    revenue = orders["revenue"].to_numpy(float)
    discount = orders["discount"].to_numpy(float) if "discount" in orders else np.zeros(len(orders))
    freq = np.bincount(codes, minlength=n).astype(float)
    monetary = np.bincount(codes, revenue, minlength=n)
    gross = np.bincount(codes, revenue + discount, minlength=n)
    disc = np.bincount(codes, discount, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ts)
    np.maximum.at(last, codes, ts)
    stamp = pd.DatetimeIndex(orders["order_ts"])
    weekend = np.bincount(codes, (stamp.dayofweek >= 5).astype(float), minlength=n)
    evening = np.bincount(codes, (stamp.hour >= 18).astype(float), minlength=n)
    feats = features_from_sums(
        pd.Index(ids, name="customer_id"),
        as_of,
        freq,
        monetary,
        gross,
        disc,
        first,
        last,
        weekend,
        evening,
    )
    mix = [
        group_shares(
            codes, n, orders["channel_id"].astype(str).to_numpy(), np.ones(len(orders)), "channel_"
        )
    ]
    if lines is not None and products is not None:
        mix.append(_category_mix(lines, products, ids, as_of))
    return pd.concat([feats, *[pd.DataFrame(m, index=feats.index) for m in mix]], axis=1)


def _category_mix(
    lines: pd.DataFrame, products: pd.DataFrame, ids: pd.Index, as_of: pd.Timestamp
) -> dict[str, np.ndarray]:
    """Revenue share of each product category per customer (lines of unknown sku are left out).

    Args:
        lines: canonical lines (buyer_ref = customer id, sku, revenue_base in base currency,
            status, order_ts_local; is_merchandise when present); merchandise purchases up
            to ``as_of`` with revenue > 0 count.
        products: product master with sku and category.
        ids: the customers, in feature-row order.
        as_of: the observation instant (local, naive).

    Returns:
        ``cat_<category>`` -> float array aligned with ``ids``, one per category bought,
        in sorted category order. Lookups are Arrow hash joins on the line columns, with
        no copy of the lines frame.
    """
    _require(products, ["sku", "category"], "products")
    _require(lines, ["buyer_ref", "sku", "revenue_base", "status", "order_ts_local"], "lines")
    revenue = lines["revenue_base"].to_numpy(float)
    ok = (
        lines["status"].isin(PURCHASE_STATUSES).to_numpy(dtype=bool, na_value=False)
        & (lines["order_ts_local"] <= as_of).to_numpy(dtype=bool)
        & (revenue > 0)
    )
    if "is_merchandise" in lines.columns:  # postage, fees, gift cards: no product category
        ok &= lines["is_merchandise"].to_numpy(dtype=bool, na_value=True)
    product = _positions(lines["sku"], products["sku"])
    customer = _positions(lines["buyer_ref"], ids.to_series())
    ok &= (product >= 0) & (customer >= 0)
    category = products["category"]
    known = category.notna().to_numpy()
    cat_codes, cat_names = pd.factorize(category.astype(str), sort=True)
    ok[ok] &= known[product[ok]]
    line_cat = cat_codes[product[ok]]
    present = np.unique(line_cat)  # the categories bought, sorted like their names
    gcodes = np.searchsorted(present, line_cat)
    m = len(present)
    n = len(ids)
    mat = np.bincount(customer[ok] * m + gcodes, revenue[ok], minlength=n * m).reshape(n, m)
    return shares_of_matrix(mat, np.asarray(cat_names)[present], "cat_")


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each of ``values`` in ``keys`` (compared as text), -1 where absent or
    missing. An Arrow hash lookup: no Python objects for the (long) ``values``."""

    def text(s: pd.Series) -> pa.Array | pa.ChunkedArray:
        a = (
            pa.array(s, from_pandas=True)
            if not hasattr(s.array, "__arrow_array__")
            else s.array.__arrow_array__()
        )
        return a if a.type == pa.string() else a.cast(pa.string())

    key_text = text(keys.astype(str))
    key_text = key_text.combine_chunks() if isinstance(key_text, pa.ChunkedArray) else key_text
    pos = pc.index_in(text(values), value_set=key_text)
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def is_share(name: str) -> bool:
    return name.endswith("_share") or name.startswith(("cat_", "channel_"))


def design_matrix(features: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Signed log1p of money/count/day columns, shares as they are; NaN -> 0."""
    _require(features, list(columns), "features")
    x = features[list(columns)].to_numpy(float)
    logged = np.array([not is_share(c) for c in columns])
    x[:, logged] = np.sign(x[:, logged]) * np.log1p(np.abs(x[:, logged]))
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
