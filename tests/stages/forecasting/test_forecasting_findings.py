"""04's "What we found": every sentence from the numbers, flipping with them; no stock
sentence when no stock policy could be set."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import forecasting as fc

SUMMARY = pd.DataFrame({"model": ["chosen", "seasonal_naive"], "weighted_mase": [0.9, 1.2]})
COVERAGE = pd.DataFrame(
    {"model": ["chosen", "chosen", "naive"], "nominal": [0.95, 0.8, 0.8],
     "coverage": [0.951, 0.796, 0.85]}
)  # fmt: skip
STOCK = pd.DataFrame(
    {
        "stock": ["pooled", "pooled", "per_channel", "per_channel"],
        "policy": ["forecast_fill_rate", "naive_days_of_cover"] * 2,
        "target_fill_rate": 0.95,
        "fill_rate": [0.926, 0.927, 0.892, 0.914],
        "average_stock_value": [1000.0, 1100.0, 2000.0, 2300.0],
    }
)


def test_accuracy_sentence_says_which_way():
    assert fc.accuracy_finding(SUMMARY) == (
        "In the rolling-origin backtest the chosen models are more accurate than the seasonal "
        "naive: weighted MASE 0.900 against 1.200 (25% lower)."
    )
    worse = SUMMARY.assign(weighted_mase=[1.5, 1.2])
    assert "are less accurate than the seasonal naive" in fc.accuracy_finding(worse)
    assert fc.accuracy_finding(worse).endswith("(25% higher).")
    with pytest.raises(KeyError):
        fc.accuracy_finding(SUMMARY.iloc[:1])


def test_interval_sentence_in_nominal_order():
    assert fc.interval_finding(COVERAGE) == (
        "Out of sample, the chosen models' 80% intervals cover 79.6% and 95% intervals cover "
        "95.1% of the actual daily units."
    )
    with pytest.raises(ValueError, match="gbm"):
        fc.interval_finding(COVERAGE, "gbm")


def test_stock_sentences_and_none_without_a_policy():
    assert fc.stock_findings(STOCK, "CNY") == [
        "One pooled stock with a 95% fill-rate target served 92.6% of the backtest demand in "
        "simulation, holding 1,000 CNY on average; the naive days-of-cover rule tuned to the "
        "same fill rate (92.7%) holds 1,100 CNY.",
        "A separate stock per channel holds 2,000 CNY at a fill rate of 89.2%; pooled stock is "
        "50% lower.",
    ]
    assert fc.stock_findings(STOCK.iloc[0:0], "CNY") == []
    found = fc.forecast_findings(SUMMARY, COVERAGE, STOCK.iloc[0:0], "CNY")
    assert len(found) == 3 and not any("stock" in s for s in found)


def test_selection_sentence_names_the_best_single_model_and_flips():
    summary = pd.DataFrame(
        {"model": ["chosen", "seasonal_naive", "combo"], "weighted_mase": [0.9, 1.2, 1.0]}
    )
    assert fc.selection_finding(summary) == (
        "Against the best single model, combo (weighted MASE 1.000), the chosen models score "
        "0.900 (10% lower): choosing per series pays."
    )
    worse = summary.assign(weighted_mase=[1.1, 1.2, 1.0])
    assert fc.selection_finding(worse).endswith(
        "(10% higher): choosing per series does not pay; combo alone would have done better."
    )
    with pytest.raises(ValueError, match="single model"):
        fc.selection_finding(summary.iloc[:1])
