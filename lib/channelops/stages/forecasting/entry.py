"""The entry points 04's notebook calls where a Spark variant exists: each runs the local
methods (:mod:`.models`) or, with ``engine`` set to ``spark`` or a master URL, their Spark
variant (:mod:`.spark`, imported only then, so the local path never touches pyspark).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from channelops.engine import is_spark, spark_session

from . import models as local
from .models import (
    DEFAULT_MODELS,
    add_intervals,
    chosen_backtest,
    conformal_quantiles,
    future_points,
    velocity_class,
    velocity_edges,
)

__all__ = ["backtest", "forecast_future"]


def backtest(
    series: pd.DataFrame,
    models: Sequence[str] = DEFAULT_MODELS,
    horizon: int = 28,
    n_windows: int = 3,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    engine: str = "local",
    dates: pd.DatetimeIndex | None = None,
    **model_kw,
) -> pd.DataFrame:
    """:func:`.models.backtest` here, or in Spark tasks with ``engine`` set.

    Args:
        engine: ``local``, or ``spark`` / a Spark master URL: the per-series models run in
            Spark tasks, series spread over them (:func:`.spark.backtest_spark`; the same
            rows, forecasts equal to float rounding). ``gbm``, one model over all series,
            runs here.
        Others: as :func:`.models.backtest`.
    """
    if horizon < 1 or n_windows < 1:
        raise ValueError("horizon and n_windows must be >= 1")
    if is_spark(engine):
        from .spark import backtest_spark  # lazy: pyspark only when asked for

        return backtest_spark(
            series,
            models,
            horizon,
            n_windows,
            spark_session(engine),
            features=features,
            season=season,
            seed=seed,
            **model_kw,
        )
    return local.backtest(
        series,
        models,
        horizon,
        n_windows,
        features=features,
        season=season,
        seed=seed,
        dates=dates,
        **model_kw,
    )


def forecast_future(
    series: pd.DataFrame,
    choice: pd.DataFrame,
    bt: pd.DataFrame,
    horizon: int = 28,
    level: float = 0.8,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    engine: str = "local",
    chosen: pd.DataFrame | None = None,
    velocity_classes: int = 1,
    **model_kw,
) -> pd.DataFrame:
    """Forecast the ``horizon`` days after the data with each series' chosen model.

    Intervals are conformal with the scores of the whole backtest: one quantile pair per
    chosen model, or, with ``velocity_classes`` above 1, one per velocity class (classes of
    the mean daily forecast, :func:`.models.velocity_edges`), so fast sellers get intervals
    calibrated on fast sellers. Future promotions are unknown, so ``gbm`` assumes none.

    Args:
        engine: ``local``, or ``spark`` / a Spark master URL to forecast the series in Spark
            tasks (as in :func:`backtest`); the intervals are computed here.
        chosen: :func:`chosen_backtest` of ``bt`` when the caller has it already (None:
            computed here).
        velocity_classes: 1 = intervals per chosen model; k > 1 = per velocity class.

    Returns:
        channel_id, sku, date, forecast, lower, upper, model.
    """
    if series.empty:
        return pd.DataFrame(
            columns=["channel_id", "sku", "date", "forecast", "lower", "upper", "model"]
        )
    if is_spark(engine):
        from .spark import future_points_spark  # lazy: pyspark only when asked for

        fc = future_points_spark(
            series,
            choice,
            horizon,
            spark_session(engine),
            features=features,
            season=season,
            seed=seed,
            **model_kw,
        )
    else:
        fc = future_points(
            series, choice, horizon, features=features, season=season, seed=seed, **model_kw
        )
    if velocity_classes < 1:
        raise ValueError(f"velocity_classes must be at least 1, got {velocity_classes}")
    if chosen is None:
        chosen = chosen_backtest(bt)
    cal = chosen[["channel_id", "sku", "window", "chosen_model", "actual", "forecast", "scale_mae"]]
    cal = cal.rename(columns={"chosen_model": "model"})
    if velocity_classes > 1:
        edges = velocity_edges(cal, velocity_classes)
        q = conformal_quantiles(cal.assign(_vc=velocity_class(cal, edges)), [level], by="_vc")
        fc = add_intervals(fc.assign(_vc=velocity_class(fc, edges)), q, level, by="_vc")
    else:
        fc = add_intervals(fc, conformal_quantiles(cal, [level]), level)
    return fc[["channel_id", "sku", "date", "forecast", "lower", "upper", "model"]]
