"""Tests for channelops.stages.forecasting.plots: what each plot draws, on hand-made frames
(tests/conftest.py selects the Agg backend)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from channelops.stages import forecasting as fc

DATES = pd.date_range("2024-01-01", periods=4, freq="D")


def test_plot_forecast_draws_the_series_history_and_its_forecast():
    series = pd.DataFrame(
        {
            "channel_id": ["web"] * 4 + ["tm"] * 4,
            "sku": "A",
            "date": list(DATES) * 2,
            "units": [1.0, 2.0, 3.0, 4.0] + [9.0] * 4,
        }
    )
    future = pd.date_range("2024-01-05", periods=2, freq="D")
    forecasts = pd.DataFrame(
        {
            "channel_id": "web",
            "sku": "A",
            "date": future,
            "forecast": [3.5, 3.5],
            "lower": [2.0, 2.0],
            "upper": [5.0, 5.0],
            "model": "naive",
        }
    )
    ax = fc.plot_forecast(series, forecasts, "web", "A", history_days=3)
    actual, forecast = ax.get_lines()
    assert actual.get_ydata().tolist() == [2.0, 3.0, 4.0]  # the last 3 days of web only
    assert forecast.get_ydata().tolist() == [3.5, 3.5]
    assert forecast.get_label() == "forecast (naive)"
    assert ax.get_title() == "A on web" and ax.get_ylabel() == "units per day"
    plt.close(ax.figure)


def test_plot_backtest_series_sorts_by_date():
    bt = pd.DataFrame(
        {
            "channel_id": "web",
            "sku": "A",
            "date": DATES[::-1],
            "actual": [4.0, 3.0, 2.0, 1.0],
            "forecast": 2.5,
            "lower": 1.0,
            "upper": 4.0,
        }
    )
    ax = fc.plot_backtest_series(bt, "web", "A")
    assert ax.get_lines()[0].get_ydata().tolist() == [1.0, 2.0, 3.0, 4.0]
    plt.close(ax.figure)


def test_plot_service_level_vs_stock_one_line_per_stock_and_policy():
    curve = pd.DataFrame(
        {
            "stock": ["pooled"] * 2 + ["per_channel"] * 2,
            "policy": "forecast_fill_rate",
            "fill_rate": [0.9, 0.95, 0.9, 0.95],
            "average_stock_value": [1_000.0, 2_000.0, 1_500.0, 3_000.0],
        }
    )
    ax = fc.plot_service_level_vs_stock(curve)
    lines = {line.get_label(): line.get_ydata().tolist() for line in ax.get_lines()}
    assert lines == {
        "forecast_fill_rate, per_channel": [1.5, 3.0],
        "forecast_fill_rate, pooled": [1.0, 2.0],
    }  # thousands
    assert np.allclose(ax.get_lines()[0].get_xdata(), [0.9, 0.95])
    plt.close(ax.figure)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['policy'\]"):
        fc.plot_service_level_vs_stock(curve.drop(columns="policy"))
