"""On Spark: customer orders and per-customer features (RFM and the mixes).

The group-bys over order lines and orders (the part that grows with the data) run as Spark
SQL; the per-customer finishing formulas are the local path's own
(:func:`channelops.customers.formulas.features_from_sums`), applied to the collected sums. The
result equals :func:`channelops.customers.customer_features` except for the order in
which floating-point sums are added (relative differences of order 1e-15).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from channelops.customers import sums as formulas
from channelops.engine import to_spark
from channelops.frames import require_columns

__all__ = ["customer_orders_spark", "customer_features_spark"]


def customer_orders_spark(
    lines: pd.DataFrame | SparkDataFrame, spark: SparkSession
) -> pd.DataFrame:
    """:func:`channelops.customers.customer_orders` on Spark (same rows, same order).

    Args:
        lines: canonical lines (pandas, or a Spark frame with the same columns plus
            ``_pos``, the line's position, which decides the order's channel and row order).
        spark: the session.
    """
    if isinstance(lines, pd.DataFrame):
        cols = [
            "buyer_ref",
            "order_id",
            "channel_id",
            "order_ts_local",
            "revenue_base",
            "status",
        ] + (["discount_base"] if "discount_base" in lines else [])
        lines = to_spark(lines[cols].assign(_pos=np.arange(len(lines), dtype=np.int64)), spark)
    buys = lines.where(F.col("status").isin(list(formulas.PURCHASE_STATUSES)))
    discount = (
        F.coalesce(F.col("discount_base"), F.lit(0.0))
        if "discount_base" in lines.columns
        else F.lit(0.0)
    )
    # the local path numbers orders by first appearance among the purchases
    buys = buys.withColumn("_order_first", F.min("_pos").over(Window.partitionBy("order_id")))
    out = (
        buys.groupBy("buyer_ref", "order_id")
        .agg(
            F.min_by("channel_id", "_pos").alias("channel_id"),
            F.min("order_ts_local").alias("order_ts"),
            F.sum("revenue_base").alias("revenue"),
            F.sum(discount).alias("discount"),
            F.min("_order_first").alias("_order_first"),
        )
        .orderBy("buyer_ref", "_order_first")
        .select(
            F.col("buyer_ref").alias("customer_id"),
            "order_id",
            "channel_id",
            "order_ts",
            "revenue",
            "discount",
        )
    )
    pdf = out.toPandas()
    pdf["order_ts"] = pdf["order_ts"].astype("datetime64[ns]")
    for name in ("customer_id", "order_id", "channel_id"):
        pdf[name] = pdf[name].astype(object)
    return pdf


def customer_features_spark(
    orders: pd.DataFrame | SparkDataFrame,
    as_of: pd.Timestamp | str,
    spark: SparkSession,
    lines: pd.DataFrame | SparkDataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`channelops.customers.customer_features` with the group-bys on Spark."""
    as_of = pd.Timestamp(as_of)
    if isinstance(orders, pd.DataFrame):
        require_columns(
            orders, ["customer_id", "order_id", "channel_id", "order_ts", "revenue"], "orders"
        )
        keep = ["customer_id", "channel_id", "order_ts", "revenue"]
        keep += ["discount"] if "discount" in orders else []
        orders = to_spark(orders[keep], spark)
    cutoff = F.lit(as_of.to_pydatetime()).cast("timestamp")
    o = orders.where(F.col("order_ts") <= cutoff)
    discount = F.col("discount") if "discount" in o.columns else F.lit(0.0)
    o = o.withColumn("_discount", discount)
    sums = (
        o.groupBy("customer_id")
        .agg(
            F.count(F.lit(1)).cast("double").alias("freq"),
            F.sum("revenue").alias("monetary"),
            F.sum(F.col("revenue") + F.col("_discount")).alias("gross"),
            F.sum("_discount").alias("disc"),
            F.min("order_ts").alias("first"),
            F.max("order_ts").alias("last"),
            # Spark's dayofweek: 1 = Sunday ... 7 = Saturday
            F.sum(F.dayofweek("order_ts").isin(1, 7).cast("double")).alias("weekend"),
            F.sum((F.hour("order_ts") >= 18).cast("double")).alias("evening"),
        )
        .orderBy("customer_id")
        .toPandas()
    )
    if sums.empty:
        raise ValueError(f"no purchases up to {as_of} to build customer features from")
    ids = pd.Index(sums["customer_id"].astype(object).to_numpy(), name="customer_id")
    ns = {c: sums[c].astype("datetime64[ns]").to_numpy().astype("int64") for c in ("first", "last")}
    feats = formulas.features_from_sums(
        ids,
        as_of,
        *(sums[c].to_numpy(float) for c in ("freq", "monetary", "gross", "disc")),
        ns["first"],
        ns["last"],
        sums["weekend"].to_numpy(float),
        sums["evening"].to_numpy(float),
    )
    by_channel = (
        o.groupBy("customer_id", F.col("channel_id").cast("string").alias("g"))
        .agg(F.count(F.lit(1)).cast("double").alias("w"))
        .toPandas()
    )
    mix = [_long_shares(by_channel, ids, "channel_")]
    if lines is not None and products is not None:
        require_columns(products, ["sku", "category"], "products")
        if isinstance(lines, pd.DataFrame):
            require_columns(
                lines, ["buyer_ref", "sku", "revenue_base", "status", "order_ts_local"], "lines"
            )
            lines = to_spark(
                lines[["buyer_ref", "sku", "revenue_base", "status", "order_ts_local"]], spark
            )
        cats = to_spark(products[["sku", "category"]].dropna(subset=["category"]), spark)
        customers = spark.createDataFrame(pd.DataFrame({"buyer_ref": ids.astype(str)}))
        by_cat = (
            lines.where(
                F.col("status").isin(list(formulas.PURCHASE_STATUSES))
                & (F.col("order_ts_local") <= cutoff)
                & (F.col("revenue_base") > 0)
            )
            .join(cats, "sku")
            .join(customers, "buyer_ref", "left_semi")
            .groupBy(
                F.col("buyer_ref").alias("customer_id"), F.col("category").cast("string").alias("g")
            )
            .agg(F.sum("revenue_base").alias("w"))
            .toPandas()
        )
        mix.append(_long_shares(by_cat, ids, "cat_"))
    return pd.concat([feats, *[pd.DataFrame(m, index=feats.index) for m in mix]], axis=1)


def _long_shares(long: pd.DataFrame, ids: pd.Index, prefix: str) -> dict[str, np.ndarray]:
    """Shares per customer from a long (customer_id, g, w) table of sums."""
    return formulas.long_shares(long, ids, prefix)
