"""04's speed-ups give the same numbers as the work they skip: the seasonal naive scales
computed once for many origins, gbm's training rows shared by a backtest's windows, the
series no gbm forecast needs, and per-series models fitted on the rows that chose them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_series_data import START, history, series_frame

from channelops.stages.forecasting import gbm
from channelops.stages.forecasting.models import (
    _base_for_gbm,
    _matrices,
    backtest,
    chosen_backtest,
    future_points,
    scored_metrics,
    series_metrics,
    window_origins,
)


def test_naive_scales_equal_the_per_origin_scale_bit_for_bit():
    y = history()
    y[3, 150] = np.nan  # a gap inside a history
    scales = gbm._NaiveScales(y, 7)
    for origin in (5, 7, 8, 30, 151, 200):
        expected = gbm._naive_scale(y[:, :origin], 7)
        assert np.array_equal(scales.at(origin), expected, equal_nan=True), origin
    # by hand: series [0, 0, ..., 0, 2] (season 2): one difference of 2 among four -> sqrt(1)
    hand = gbm._NaiveScales(np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 2.0]]), 2)
    assert hand.at(6)[0] == pytest.approx(1.0)
    assert np.isnan(hand.at(2)[0])  # no difference yet


def test_gbm_rows_cache_gives_the_same_forecasts_and_drops_passed_origins():
    y = history(days=240)
    dates = pd.date_range(START, periods=y.shape[1], freq="D")
    base = _base_for_gbm(7, 28)
    kw = {"n_origins": 4, "origin_step": 14, "seed": 2}
    cache: dict = {}
    for origin in (184, 212, 240):  # three backtest windows of 28 days
        hist = y[:, :origin]
        plain = gbm.gbm_forecast(hist, 28, dates[:origin], base, **kw)
        shared = gbm.gbm_forecast(hist, 28, dates[:origin], base, rows_cache=cache, **kw)
        assert np.array_equal(plain, shared)
        # the cache holds this window's training origins only: 28 days back, every 14
        assert sorted(k[0] for k in cache) == [origin - 28 - 14 * k for k in (3, 2, 1, 0)]
    assert (shared[0] == 0).all()  # no units over the level days: 0, not predicted


def test_backtest_and_future_equal_without_the_reuse(monkeypatch):
    y = history(n=8, days=150)
    series = series_frame(y)
    models = ["weekday_profile", "seasonal_naive", "gbm"]
    kw = {"gbm_origins": 3, "seed": 1}
    shared = backtest(series, models, 28, 2, **kw)
    # the same backtest with gbm building every window's rows itself
    real = gbm.gbm_forecast
    monkeypatch.setattr(
        "channelops.stages.forecasting.models.gbm_forecast",
        lambda *a, rows_cache=None, **k: real(*a, **k),
    )
    alone = backtest(series, models, 28, 2, **kw)
    assert len(window_origins(150, 28, 2)) == 2 and shared.equals(alone)
    keys = series[["channel_id", "sku"]].drop_duplicates().reset_index(drop=True)
    choice = keys.assign(model=np.array(models)[np.arange(len(keys)) % len(models)])
    fut = future_points(series, choice, 14, **kw)
    # each series' forecast is what its model gives when fitted over every series
    for name in models:
        every = future_points(series, keys.assign(model=name), 14, **kw)
        mine = fut["model"] == name
        assert mine.any()
        assert np.array_equal(fut.loc[mine, "forecast"], every.loc[mine, "forecast"]), name


def test_gbm_rows_cache_rejects_bad_bags_as_before():
    y = history(days=240)
    dates = pd.date_range(START, periods=240, freq="D")
    with pytest.raises(ValueError, match="bags and bag_rows must be at least 1"):
        gbm.gbm_forecast(y, 28, dates, _base_for_gbm(7, 28), bags=0, rows_cache={})


def test_matrices_from_aligned_features_equal_the_separate_ones():
    dates = pd.date_range(START, periods=5, freq="D")
    series = pd.DataFrame(
        {
            "channel_id": ["web", "web", "web", "shop", "shop"],
            "sku": ["B", "B", "B", "A", "A"],
            "date": dates[[2, 3, 4, 3, 4]],
            "units": [1.0, 0.0, 3.0, 2.0, 5.0],
        }
    )
    feats = series.assign(promo=[False, True, False, True, True], price=[2.0, np.nan, 2.5, 9, 9])
    keys, d, y, promo, price = _matrices(series, feats, None)
    # rows in key order (shop A, web B), NaN before each series starts; promo 0 there
    assert keys.to_dict("list") == {"channel_id": ["shop", "web"], "sku": ["A", "B"]}
    assert np.array_equal(y, [[np.nan, 2, 5], [1, 0, 3]], equal_nan=True)
    assert np.array_equal(promo, [[0, 1, 1], [0, 1, 0]])
    assert np.array_equal(price, [[np.nan, 9, 9], [2, np.nan, 2.5]], equal_nan=True)
    # features in another row order take the general path and give the same matrices
    other = _matrices(series, feats.iloc[::-1], None)
    for a, b in zip((y, promo, price), other[2:], strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert _matrices(series, None, None)[3:] == (None, None)


def test_scored_metrics_equal_the_metrics_of_the_scored_rows():
    y = history(n=9, days=150)
    series = series_frame(y)
    # "chosen" sorts before these models: its rows go among each series' rows, not last
    bt = backtest(series, ["naive", "weekday_profile", "moving_average"], 28, 3)
    bt_metrics = series_metrics(bt)
    chosen = chosen_backtest(bt, bt_metrics, nested=True, shrink=0.2)
    scored = pd.concat([bt, chosen.drop(columns="chosen_model")], ignore_index=True)
    expected = series_metrics(scored)
    got = scored_metrics(bt_metrics, chosen)
    assert got.equals(expected) and list(got.dtypes) == list(expected.dtypes)
    assert got.index.equals(pd.RangeIndex(len(expected)))
    assert (got["model"] == "chosen").sum() == len(series_metrics(chosen))
