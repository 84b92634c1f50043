"""Demand forecasting per SKU x channel: series building, baselines, backtests, metrics.

Series are long DataFrames ``(channel_id, sku, date, units)`` with every day present (zeros
filled) from the series' first sale to the end of the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "daily_demand",
    "seasonal_naive",
    "rolling_origin_backtest",
    "forecast_metrics",
]


def daily_demand(
    order_lines: pd.DataFrame,
    statuses: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "returned"),
) -> pd.DataFrame:
    """Daily units per (channel_id, sku), zeros filled from each series' first sale.

    Demand is what customers ordered, so returned lines count (the return is a later,
    separate event) but cancelled ones do not.

    Args:
        order_lines: unified lines with channel_id, sku, order_ts_local, quantity, status.

    Returns:
        channel_id, sku, date (midnight, reporting timezone), units (float).
    """
    buys = order_lines.loc[order_lines["status"].isin(statuses)]
    daily = (
        buys.assign(date=buys["order_ts_local"].dt.normalize())
        .groupby(["channel_id", "sku", "date"], observed=True)["quantity"]
        .sum()
        .astype(float)
    )
    end = daily.index.get_level_values("date").max()
    frames = []
    for (channel, sku), s in daily.groupby(level=["channel_id", "sku"], observed=True):
        s = s.droplevel(["channel_id", "sku"])
        idx = pd.date_range(s.index.min(), end, freq="D")
        frames.append(
            pd.DataFrame(
                {
                    "channel_id": channel,
                    "sku": sku,
                    "date": idx,
                    "units": s.reindex(idx, fill_value=0.0).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 7) -> np.ndarray:
    """Repeat the last full season: forecast[h] = history[-season + (h mod season)].

    Falls back to the last value (or 0 for an empty history) when the history is shorter
    than one season.
    """
    history = np.asarray(history, dtype=float)
    if len(history) == 0:
        return np.zeros(horizon)
    if len(history) < season:
        return np.full(horizon, history[-1])
    last = history[-season:]
    return np.resize(last, horizon)


def forecast_metrics(
    actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = 7
) -> dict[str, float]:
    """MASE, WAPE and bias of one forecast.

    MASE scales the mean absolute error by the in-sample mean absolute error of the seasonal
    naive method (Hyndman & Koehler 2006); WAPE = sum|e| / sum(actual); bias =
    sum(forecast - actual) / sum(actual). Undefined values are NaN.
    """
    actual, forecast, insample = (np.asarray(a, float) for a in (actual, forecast, insample))
    err = forecast - actual
    scale = (
        np.mean(np.abs(insample[season:] - insample[:-season]))
        if len(insample) > season
        else np.nan
    )
    total = actual.sum()
    return {
        "mae": float(np.mean(np.abs(err))),
        "mase": float(np.mean(np.abs(err)) / scale) if scale and scale > 0 else np.nan,
        "wape": float(np.abs(err).sum() / total) if total > 0 else np.nan,
        "bias": float(err.sum() / total) if total > 0 else np.nan,
    }


def rolling_origin_backtest(
    series: pd.DataFrame, models: dict, horizon: int, n_windows: int, season: int = 7
) -> pd.DataFrame:
    """Backtest each model on the last ``n_windows`` windows of ``horizon`` days.

    Args:
        series: from :func:`daily_demand`.
        models: name -> callable(history: ndarray, horizon: int) -> ndarray.
        horizon: days per window.
        n_windows: number of consecutive windows ending at the last date.

    Returns:
        One row per (channel_id, sku, model, window) with actual and forecast sums and the
        metrics of :func:`forecast_metrics`.
    """
    rows = []
    for (channel, sku), s in series.groupby(["channel_id", "sku"], observed=True, sort=True):
        y = s["units"].to_numpy()
        for w in range(n_windows, 0, -1):
            cut = len(y) - w * horizon
            if cut < 1:
                continue
            hist, act = y[:cut], y[cut : cut + horizon]
            for name, model in models.items():
                fc = model(hist, len(act))
                rows.append(
                    {
                        "channel_id": channel,
                        "sku": sku,
                        "model": name,
                        "window": n_windows - w + 1,
                        "actual": act.sum(),
                        "forecast": fc.sum(),
                        **forecast_metrics(act, fc, hist, season),
                    }
                )
    return pd.DataFrame(rows)
