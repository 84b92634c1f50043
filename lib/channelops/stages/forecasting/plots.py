"""Stage 04's plots: a series' forecast and its backtest (units per day), and the stock a
fill rate costs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from channelops.frames import require_columns

__all__ = [
    "plot_forecast",
    "plot_backtest_series",
    "plot_service_level_vs_stock",
    "plot_calibration",
    "plot_level_accuracy",
]


def plot_forecast(
    series: pd.DataFrame,
    forecasts: pd.DataFrame,
    channel_id: str,
    sku: str,
    history_days: int = 91,
    ax: Axes | None = None,
) -> Axes:
    """History and forecast of one series with its interval band; returns the axes."""
    ax = ax or plt.subplots()[1]
    h = series[(series["channel_id"] == channel_id) & (series["sku"] == sku)].tail(history_days)
    f = forecasts[(forecasts["channel_id"] == channel_id) & (forecasts["sku"] == sku)]
    ax.plot(h["date"], h["units"], color="0.4", lw=1, label="actual")
    ax.plot(
        f["date"],
        f["forecast"],
        color="C0",
        lw=2,
        label=f"forecast ({f['model'].iloc[0]})" if len(f) else "forecast",
    )
    ax.fill_between(f["date"], f["lower"], f["upper"], color="C0", alpha=0.25, label="interval")
    ax.set_title(f"{sku} on {channel_id}")
    ax.set_ylabel("units per day")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def plot_backtest_series(
    bt_chosen: pd.DataFrame, channel_id: str, sku: str, ax: Axes | None = None
) -> Axes:
    """Actual vs chosen-model backtest forecast with intervals (lower/upper columns)."""
    ax = ax or plt.subplots()[1]
    d = bt_chosen[(bt_chosen["channel_id"] == channel_id) & (bt_chosen["sku"] == sku)].sort_values(
        "date"
    )
    ax.plot(d["date"], d["actual"], color="0.3", lw=1, marker=".", label="actual")
    ax.plot(d["date"], d["forecast"], color="C0", lw=2, label="forecast")
    ax.fill_between(d["date"], d["lower"], d["upper"], color="C0", alpha=0.25, label="interval")
    ax.set_title(f"{sku} on {channel_id}")
    ax.set_ylabel("units per day")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def plot_service_level_vs_stock(curve: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Average stock value against simulated fill rate, one line per stock layout and policy.

    Args:
        curve: :func:`~channelops.stages.forecasting.inventory.layout_tradeoff_curves`
            (stock, policy, fill_rate, average_stock_value in base currency).
        ax: axes to draw on; a new figure is made when None.

    Returns:
        The axes (stock value in thousands of base currency).

    Raises:
        ValueError: ``curve`` lacks a column.
    """
    require_columns(curve, ["stock", "policy", "fill_rate", "average_stock_value"], "curve")
    ax = ax or plt.subplots()[1]
    for (stock, policy), d in curve.groupby(["stock", "policy"]):
        ax.plot(
            d["fill_rate"], d["average_stock_value"] / 1e3, marker="o", label=f"{policy}, {stock}"
        )
    ax.set_xlabel("simulated fill rate")
    ax.set_ylabel("average stock value, thousands")
    ax.set_title("Service level vs stock")
    ax.legend(fontsize=7)
    return ax


def plot_calibration(vcov: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Out-of-sample coverage per velocity class against the nominal level, for intervals
    pooled over all series and per velocity class; the dotted lines are the nominal levels.

    Args:
        vcov: :func:`~.models.velocity_coverage` (method, level, velocity_class, coverage).
    """
    require_columns(vcov, ["method", "level", "velocity_class", "coverage"], "velocity coverage")
    ax = ax or plt.subplots()[1]
    for i, ((method, level), g) in enumerate(vcov.groupby(["method", "level"], sort=True)):
        g = g.sort_values("velocity_class")
        style = "-o" if method == "per_class" else "--s"
        ax.plot(
            g["velocity_class"], g["coverage"], style, color=f"C{i}", label=f"{method}, {level:.0%}"
        )
        ax.axhline(level, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("velocity class (1 = slowest)")
    ax.set_ylabel("share of days inside the interval")
    ax.set_title("Interval coverage by velocity class (out of sample)")
    ax.legend(fontsize=7)
    return ax


def plot_level_accuracy(acc: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Mean RMSSE of each way of forecasting (bars) at the SKU x channel and the SKU level,
    from :func:`.coherence.level_accuracy`; returns the axes."""
    require_columns(acc, ["level", "method", "mean_rmsse"], "level accuracy")
    ax = ax or plt.subplots(figsize=(7, 3.6))[1]
    wide = acc.pivot(index="level", columns="method", values="mean_rmsse")
    wide.plot.bar(ax=ax, rot=0)
    ax.set_ylabel("mean RMSSE (lower is better)")
    ax.set_xlabel("level")
    ax.set_title("Backtest error by level and way of forecasting")
    ax.legend(fontsize=7)
    return ax
