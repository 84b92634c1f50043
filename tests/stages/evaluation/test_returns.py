"""Marketing return and cost of acquisition: hand-computed regressions and curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from channelops.response import adstock, hill
from channelops.stages.evaluation import returns

WEEKS = pd.date_range("2024-01-01", periods=10, freq="7D")
SPEND = np.array([0, 100, 200, 300, 400, 0, 100, 200, 300, 400], float)


def _marketing(spend=SPEND, channel="a") -> pd.DataFrame:
    return pd.DataFrame({"week_start": WEEKS, "channel_id": channel, "spend": spend})


def _seen(new_per_week: np.ndarray, channel="a") -> pd.DataFrame:
    rows = []
    for w, n in zip(WEEKS, new_per_week, strict=True):
        rows += [
            (f"{channel}{w:%m%d}_{i}", w + pd.Timedelta(hours=30), channel) for i in range(int(n))
        ]
    return pd.DataFrame(rows, columns=["customer_id", "first_seen", "first_channel"])


def test_cost_of_acquisition_is_one_over_the_slope():
    # new = 2 + 0.01 spend + noise (+1, -1 alternating); the slope by hand: spend mean 200,
    # sxx = 2 x (200^2 + 100^2 + 0 + 100^2 + 200^2) = 200,000; noise is orthogonal enough
    noise = np.array([1, -1, 1, -1, 1, -1, 1, -1, 1, -1], float)
    new = 2 + 0.01 * SPEND + noise
    fit = returns.acquisition_model(_marketing(), _seen(new)).loc["a"]
    sx = SPEND - SPEND.mean()
    b = (sx * (new - new.mean())).sum() / (sx**2).sum()
    assert fit["new_per_spend"] == pytest.approx(b)
    resid = new - (new.mean() - b * SPEND.mean()) - b * SPEND
    se = np.sqrt((resid**2).sum() / 8 / (sx**2).sum())
    t = stats.t.ppf(0.975, 8)
    assert fit["new_per_spend_lo"] == pytest.approx(b - t * se)
    assert fit["cac"] == pytest.approx(1 / b)
    assert (fit["cac_lo"], fit["cac_hi"]) == pytest.approx((1 / (b + t * se), 1 / (b - t * se)))
    assert fit["incremental_new_customers"] == pytest.approx(b * SPEND.sum())
    assert fit["acquisition_note"] == ""


def test_no_cost_of_acquisition_where_spend_explains_nothing():
    flat = returns.acquisition_model(_marketing(), _seen(np.full(10, 3))).loc["a"]
    assert np.isnan(flat["cac"]) and "reaches 0" in flat["acquisition_note"]
    same = returns.acquisition_model(_marketing(np.full(10, 50.0)), _seen(np.full(10, 3)))
    assert "never varies" in same.loc["a", "acquisition_note"]
    short = returns.acquisition_model(_marketing().head(5), _seen(np.full(10, 3)))
    assert "fewer than 8" in short.loc["a", "acquisition_note"]
    with pytest.raises(ValueError, match="level"):
        returns.acquisition_model(_marketing(), _seen(np.full(10, 3)), level=95)
    with pytest.raises(ValueError, match="first_channel"):
        returns.acquisition_model(_marketing(), _seen(np.full(10, 3)).drop(columns="first_channel"))


def test_incremental_revenue_from_the_fitted_curve_only():
    curves = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "source": ["fitted", "prior"],
            "revenue_max": [1000.0, 1000.0],
            "adstock_decay": [0.5, 0.5],
            "hill_half_saturation": [300.0, 300.0],
            "hill_slope": [1.0, 1.0],
        }
    )
    mk = pd.concat([_marketing(), _marketing(channel="b")])
    inc = returns.incremental_revenue(mk, curves)
    expected = (1000 * hill(adstock(SPEND, 0.5), 300.0, 1.0)).sum()
    assert inc.loc["a", "incremental_revenue"] == pytest.approx(expected)
    assert np.isnan(inc.loc["b", "incremental_revenue"])  # a prior is not evidence
    assert inc.loc["a", "marketing_spend"] == SPEND.sum()
    assert returns.incremental_revenue(mk, None)["incremental_revenue"].isna().all()
    with pytest.raises(ValueError, match="spend"):
        returns.incremental_revenue(mk.drop(columns="spend"), curves)
