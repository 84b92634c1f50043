"""Channel coherence: SKU totals bottom-up, direct, top-down and MinT (diagonal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import forecasting as fc
from channelops.stages.forecasting.coherence import ALL_CHANNELS, _cross_mse

DAYS = 140


def _series() -> pd.DataFrame:
    """Two SKUs on two channels, Poisson with a weekday pattern (seeded)."""
    rng = np.random.default_rng(4)
    dates = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    rows = []
    for sku, base in (("A", 3.0), ("B", 1.0)):
        for ch, mult in (("web", 1.0), ("shop", 2.0)):
            mean = base * mult * (1 + 0.5 * (dates.dayofweek >= 5))
            rows.append(
                pd.DataFrame(
                    {"channel_id": ch, "sku": sku, "date": dates, "units": rng.poisson(mean)}
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def levels():
    series = _series()
    bt = fc.backtest(series, ["moving_average", "weekday_average"], 14, 3)
    chosen = fc.chosen_backtest(bt, nested=True)
    return fc.level_backtest(series, chosen, 14, 3, models=("moving_average", "naive"))


def test_every_reconciled_way_adds_up_and_mint_lies_between(levels):
    low = levels[levels["channel_id"] != ALL_CHANNELS]
    top = levels[levels["channel_id"] == ALL_CHANNELS].set_index(["sku", "window", "date"])
    sums = low.groupby(["sku", "window", "date"])[["bottom_up", "top_down", "mint_diag"]].sum()
    assert np.allclose(sums["bottom_up"], top.loc[sums.index, "bottom_up"])
    assert np.allclose(sums["top_down"], top.loc[sums.index, "direct"])
    assert np.allclose(sums["mint_diag"], top.loc[sums.index, "mint_diag"])
    lo = np.minimum(top["bottom_up"], top["direct"]) - 1e-9
    hi = np.maximum(top["bottom_up"], top["direct"]) + 1e-9
    assert ((top["mint_diag"] >= lo) & (top["mint_diag"] <= hi)).all()
    # the SKU total's actual is the channels' sum
    assert np.allclose(
        low.groupby(["sku", "window", "date"])["actual"].sum(), top.loc[sums.index, "actual"]
    )
    # scored on the nested windows only (window 1 chooses)
    assert sorted(levels["window"].unique()) == [2, 3]


def test_level_accuracy_by_hand():
    d = pd.DataFrame(
        {
            "channel_id": [ALL_CHANNELS] * 2 + ["web"] * 2,
            "sku": ["A"] * 4,
            "window": [1] * 4,
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
            "actual": [4.0, 2.0, 1.0, 1.0],
            "scale_rmse": [2.0, 2.0, 1.0, 1.0],
            "bottom_up": [3.0, 3.0, 1.0, 1.0],
            "direct": [4.0, 0.0, np.nan, np.nan],
            "top_down": [np.nan, np.nan, 2.0, 0.0],
            "mint_diag": [3.5, 1.5, 1.5, 0.5],
        }
    )
    acc = fc.level_accuracy(d).set_index(["level", "method"])
    # SKU bottom-up: errors -1, +1 -> RMSE 1, / scale 2 = 0.5; direct: 0, -2 -> sqrt(2)/2
    assert acc.loc[("sku", "bottom_up"), "mean_rmsse"] == pytest.approx(0.5)
    assert acc.loc[("sku", "direct"), "mean_rmsse"] == pytest.approx(np.sqrt(2) / 2)
    assert acc.loc[("sku", "bottom_up"), "wape"] == pytest.approx(2 / 6)
    assert acc.loc[("sku x channel", "top_down"), "mean_rmsse"] == pytest.approx(1.0)
    assert acc.loc[("sku x channel", "bottom_up"), "mean_rmsse"] == pytest.approx(0.0)


def test_cross_mse_uses_the_other_windows():
    d = pd.DataFrame(
        {
            "sku": ["A"] * 4 + ["B"],
            "window": [1, 1, 2, 2, 1],
            "forecast": [1.0, 1.0, 3.0, 3.0, 2.0],
            "actual": [0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    v = _cross_mse(d, ["sku"])
    assert v[("A", 1)] == pytest.approx(9.0)  # window 2's errors
    assert v[("A", 2)] == pytest.approx(1.0)
    assert v[("B", 1)] == pytest.approx(4.0)  # no other window: its own


def _acc(bu: float, direct: float, mint: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": ["sku"] * 3,
            "method": ["bottom_up", "direct", "mint_diag"],
            "mean_rmsse": [bu, direct, mint],
            "wape": [0.5] * 3,
            "series_windows": [10] * 3,
        }
    )


def test_coherence_finding_flips_with_the_numbers():
    s = fc.coherence_finding(_acc(0.70, 0.75, 0.72))
    assert "bottom-up" in s and "0.700" in s and "0.720" in s and "below" not in s
    s = fc.coherence_finding(_acc(0.80, 0.75, 0.72))
    assert "MinT" in s and "10.0% below bottom-up (0.800)" in s
    s = fc.coherence_finding(_acc(0.80, 0.70, 0.72))
    assert "directly" in s and "12.5% below bottom-up (0.800)" in s and "gets 0.720" in s
    s = fc.coherence_finding(_acc(0.80, 0.70, 0.80))
    assert "does not beat bottom-up (0.800)" in s
    s = fc.coherence_finding(_acc(0.5362, 0.75, 0.5360))
    assert "does not pay" in s and "below" not in s
    with pytest.raises(ValueError, match="no SKU-level"):
        fc.coherence_finding(_acc(0.7, 0.7, 0.7).assign(level="sku x channel"))
