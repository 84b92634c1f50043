"""Stage 04 on Spark: the per-series backtest and forecasts, series spread over Spark tasks.

Every model but ``gbm`` and ``combo_gbm`` forecasts each series from that series' history alone, so the
series can be split into groups and each group handled by the local code
(:func:`channelops.stages.forecasting.backtest`, :func:`channelops.stages.forecasting.future_points`) in a
Spark task with ``groupBy(bucket).applyInPandas``. Each group is laid on the whole data's
days (not only its own), so windows fall on the same dates as in the local run. Rows come
back in the local order. ``gbm`` is one model over all series; it (and ``combo_gbm``) runs on the driver.

Groups: ``bucket = hash(channel_id, sku) mod B``, B = 4 x Spark's default parallelism (at
least 1 group per task slot, small enough that a slow group does not hold up the stage).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from channelops.engine import to_spark
from channelops.stages.forecasting import models as fc

__all__ = ["backtest_spark", "future_points_spark", "buckets_for"]

_BACKTEST_SCHEMA = (
    "channel_id string, sku string, window long, date timestamp, h long, actual double, "
    "scale_mae double, scale_rmse double, model string, forecast double"
)
_POINTS_SCHEMA = (
    "channel_id string, sku string, date timestamp, forecast double, scale_mae double, model string"
)


def buckets_for(spark: SparkSession) -> int:
    """Number of series groups: 4 per default-parallelism slot."""
    return max(4 * int(spark.sparkContext.defaultParallelism), 1)


def _bucketed(series: pd.DataFrame, spark: SparkSession, extra: pd.DataFrame | None = None):
    sdf = to_spark(series[["channel_id", "sku", "date", "units"]], spark)
    if extra is not None:
        sdf = sdf.join(to_spark(extra, spark), on=["channel_id", "sku"], how="left")
    return sdf.withColumn("_bucket", F.pmod(F.hash("channel_id", "sku"), F.lit(buckets_for(spark))))


def _plain(series: pd.DataFrame) -> pd.DataFrame:
    out = series.copy()
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    return out


def backtest_spark(
    series: pd.DataFrame,
    models,
    horizon: int,
    n_windows: int,
    spark: SparkSession,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    **model_kw,
) -> pd.DataFrame:
    """:func:`channelops.stages.forecasting.backtest` with the per-series models in Spark tasks."""
    models = list(models)
    local_models = [m for m in models if m in fc.GLOBAL_MODELS]
    spread = [m for m in models if m not in fc.GLOBAL_MODELS]
    series = _plain(series)
    dates = pd.date_range(series["date"].min(), series["date"].max(), freq="D")
    parts = []
    if spread and len(series):

        def one_group(pdf: pd.DataFrame) -> pd.DataFrame:
            pdf = pdf.assign(date=pdf["date"].astype("datetime64[ns]"))
            out = fc.backtest(
                pdf.drop(columns="_bucket"),
                spread,
                horizon,
                n_windows,
                season=season,
                seed=seed,
                dates=dates,
                **model_kw,
            )
            return out[[f.split()[0] for f in _BACKTEST_SCHEMA.split(", ")]]

        parts.append(
            _bucketed(series, spark)
            .groupBy("_bucket")
            .applyInPandas(one_group, _BACKTEST_SCHEMA)
            .toPandas()
        )
    if local_models:
        parts.append(
            fc.backtest(
                series,
                local_models,
                horizon,
                n_windows,
                features=features,
                season=season,
                seed=seed,
                **model_kw,
            )
        )
    if not parts:
        return fc.backtest(series, models, horizon, n_windows, season=season, seed=seed)
    out = pd.concat(parts, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    for name in ("window", "h"):
        out[name] = out[name].astype("int64")
    # the local order: window, then model in the order asked, then series, then day
    rank = out["model"].map({m: i for i, m in enumerate(models)})
    out = (
        out.assign(_rank=rank)
        .sort_values(["window", "_rank", "channel_id", "sku", "date"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
    cols = [
        "channel_id",
        "sku",
        "window",
        "date",
        "h",
        "actual",
        "scale_mae",
        "scale_rmse",
        "model",
        "forecast",
    ]
    return out[cols]


def future_points_spark(
    series: pd.DataFrame,
    choice: pd.DataFrame,
    horizon: int,
    spark: SparkSession,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    **model_kw,
) -> pd.DataFrame:
    """:func:`channelops.stages.forecasting.future_points` with the per-series models in Spark tasks."""
    series = _plain(series)
    dates = pd.date_range(series["date"].min(), series["date"].max(), freq="D")
    keys = series[fc.KEYS].drop_duplicates()
    pick = keys.merge(choice, on=fc.KEYS, how="left")
    pick["model"] = pick["model"].fillna("weekday_average")
    on_driver = pick["model"].isin(fc.GLOBAL_MODELS)

    def one_group(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.assign(date=pdf["date"].astype("datetime64[ns]"))
        mine = pdf[["channel_id", "sku", "model"]].drop_duplicates()
        out = fc.future_points(
            pdf.drop(columns=["_bucket", "model"]),
            mine,
            horizon,
            season=season,
            seed=seed,
            dates=dates,
            **model_kw,
        )
        return out[[f.split()[0] for f in _POINTS_SCHEMA.split(", ")]]

    parts = []
    spread_keys = pick.loc[~on_driver]
    if len(spread_keys):
        spread = series.merge(spread_keys[fc.KEYS], on=fc.KEYS)
        parts.append(
            _bucketed(spread, spark, extra=spread_keys)
            .groupBy("_bucket")
            .applyInPandas(one_group, _POINTS_SCHEMA)
            .toPandas()
        )
    for name in sorted(set(pick.loc[on_driver, "model"])):
        # gbm learns from every series at once: the whole matrix, here (combo_gbm holds it)
        every = fc.future_points(
            series,
            pick.assign(model=name),
            horizon,
            features=features,
            season=season,
            seed=seed,
            **model_kw,
        )
        parts.append(every.merge(pick.loc[pick["model"] == name, fc.KEYS], on=fc.KEYS))
    out = pd.concat(parts, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    out = out.sort_values(["channel_id", "sku", "date"], kind="stable").reset_index(drop=True)
    out["model"] = out["model"].astype(object)
    return out[["channel_id", "sku", "date", "forecast", "scale_mae", "model"]]
