"""The honest stock comparison: same rule and target with the chosen and a baseline
forecast, and the trade-off sentence that flips with the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages.forecasting import comparison as cmp


def _backtests() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sku A sells exactly 2 units a day over two 28-day windows; the chosen model forecasts
    it without error, the baseline ``ma`` forecasts half of it."""
    dates = pd.date_range("2024-01-01", periods=56, freq="D")
    one = pd.DataFrame(
        {"channel_id": "web", "sku": "A", "window": np.repeat([1, 2], 28), "date": dates,
         "actual": 2.0}
    )  # fmt: skip
    chosen = one.assign(forecast=2.0, model="chosen", chosen_model="x")
    bt = pd.concat([one.assign(forecast=2.0, model="x"), one.assign(forecast=1.0, model="ma")])
    return chosen, bt


def test_same_rule_with_a_worse_forecast_loses_units_and_the_sentence_says_so():
    chosen, bt = _backtests()
    table = cmp.stock_comparison(
        chosen, bt, pd.Series({"A": 1.0}), 3, 0.95, 0.1, 0.73, baseline="ma"
    )
    assert table.columns.tolist() == list(cmp.STOCK_COMPARISON_COLUMNS)
    assert table["forecast"].tolist() == ["chosen", "ma", "none"]
    c, b = table.iloc[0], table.iloc[1]
    assert c["fill_rate"] == 1.0 and c["lost_units"] == 0 and c["stockout_days"] == 0
    assert b["fill_rate"] < 1.0 and b["lost_units"] > 0
    # lost units are the unserved share of the 112 units demanded
    assert b["lost_units"] == pytest.approx(112 * (1 - b["fill_rate"]))
    text = cmp.stock_tradeoff_finding(table, "EUR")
    assert "serve 100.0% of demand" in text[0] and "lose 0 units" in text[0]
    assert "100% less" in text[0] and "out of stock" in text[1]
    # flip: the baseline is the better one
    swapped = table.assign(forecast=["ma", "chosen", "none"])
    assert "more" in cmp.stock_tradeoff_finding(swapped, "EUR")[0].split("lose")[1]
    assert cmp.stock_tradeoff_finding(table.iloc[0:0], "EUR") == []


def test_a_baseline_missing_from_the_backtest_is_named():
    chosen, bt = _backtests()
    with pytest.raises(ValueError, match="'theta'"):
        cmp.stock_comparison(
            chosen, bt, pd.Series({"A": 1.0}), 3, 0.95, 0.1, 0.73, baseline="theta"
        )
