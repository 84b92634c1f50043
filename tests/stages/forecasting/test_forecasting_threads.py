"""04's second thread changes no number: gbm's bags fitted two at a time add up to the
forecast fitted one by one, and the backtest and future forecast with gbm in a thread of its
own equal the same work done in one thread, model after model (the loops as they were)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_series_data import START, history, series_frame

from channelops.stages.forecasting import gbm
from channelops.stages.forecasting import models as fm

# combo without statsforecast's models, so the test does not import it
MEMBERS = ("moving_average", "weekday_profile")
MODELS = ["naive", "weekday_profile", "gbm", "combo", "combo_gbm", "moving_average"]


def _gbm_one_by_one(y, dates, base, n_origins, seed, bag_rows, bags=3, horizon=28):
    """gbm's forecast as it was made in one thread: every origin's rows concatenated, the
    bags fitted and predicted one after the other."""
    t = y.shape[1]
    scales = gbm._NaiveScales(y, 7)
    origins = [t - horizon - 14 * k for k in range(n_origins)]
    rows = [
        gbm._training_rows(y, o, horizon, dates, None, None, None, base, scales, scales)
        for o in origins
    ]
    x_all, y_all, w_all = (np.concatenate([r[i] for r in rows]) for i in range(3))
    x_new, level = gbm._features(y, t, horizon, dates, None, None, None, base, scales.at(t))
    live = np.repeat(level > 0, horizon)
    pred = np.zeros(live.sum())
    for b in range(bags):
        pick = np.sort(np.random.default_rng(seed + b).choice(len(y_all), bag_rows, replace=False))
        w = np.minimum(w_all[pick], np.quantile(w_all[pick], 0.99))
        data = gbm.lgb.Dataset(x_all[pick], y_all[pick], weight=w, feature_name=gbm.FEATURE_NAMES)
        booster = gbm.lgb.train({**gbm.GBM_PARAMS, "seed": seed + b}, data, gbm.ROUNDS)
        pred += np.clip(booster.predict(x_new[live], num_threads=1), 0.0, None)
    out = np.zeros(len(live))
    out[live] = pred / bags
    return out.reshape(len(y), horizon) * level[:, None]


def test_gbm_bags_in_two_threads_equal_the_bags_one_by_one(monkeypatch):
    y = history(days=240)
    dates = pd.date_range(START, periods=240, freq="D")
    # 4 origins x 28 days x 11 live series = 1,232 rows > 3 x 300: three subsampled fits
    kw = {"n_origins": 4, "seed": 3, "bags": 3, "bag_rows": 300}
    base = fm._base_for_gbm(7, 28)
    assert gbm.GBM_WORKERS == 2 and gbm.PREDICT_CHUNKS == 2
    threads = gbm.gbm_forecast(y, 28, dates, base, **kw)
    assert np.array_equal(
        threads, _gbm_one_by_one(y, dates, base, n_origins=4, seed=3, bag_rows=300)
    )
    monkeypatch.setattr(gbm, "GBM_WORKERS", 1)
    monkeypatch.setattr(gbm, "PREDICT_CHUNKS", 1)
    serial = gbm.gbm_forecast(y, 28, dates, base, **kw)
    assert np.array_equal(threads, serial)
    # the bags matter (a single fit forecasts otherwise), and the dead series is 0
    assert not np.array_equal(serial, gbm.gbm_forecast(y, 28, dates, base, **{**kw, "bags": 1}))
    assert (threads[0] == 0).all() and (threads[1:] > 0).any()


def _serial_backtest(series, models, horizon, n_windows, **kw):
    """:func:`.models.backtest` as it was: every model of every window in turn, one thread."""
    keys, dates, y, promo, price = fm._matrices(series, None, None)
    frames, rows = [], {}
    for w, origin in fm.window_origins(y.shape[1], horizon, n_windows):
        base, r, c = fm._window_actuals(keys, dates, y, w, origin, horizon, 7)
        cache: dict = {}
        for name in models:
            f = fm.forecast_matrix(
                name, y[:, :origin], horizon, dates=dates[:origin], cache=cache, gbm_rows=rows, **kw
            )
            frames.append(pd.DataFrame({**base, "model": name, "forecast": f[r, c]}))
    return pd.concat(frames, ignore_index=True)


def _serial_future(series, choice, horizon, **kw):
    """:func:`.models.future_points`' forecasts as they were: the models in name order."""
    keys, dates, y, _, _ = fm._matrices(series, None, None)
    pick = keys.merge(choice, on=fm.KEYS, how="left")["model"].to_numpy()
    out = np.zeros((len(keys), horizon))
    cache: dict = {}
    for name in np.unique(pick):
        rows = pick == name
        alone = name not in fm.GLOBAL_MODELS
        f = fm.forecast_matrix(
            name,
            y[rows] if alone else y,
            horizon,
            dates=dates,
            cache=None if alone else cache,
            **kw,
        )
        out[rows] = f if alone else f[rows]
    return out.reshape(-1)


@pytest.mark.parametrize("models", [MODELS, ["combo_gbm", "naive"], ["naive", "moving_average"]])
def test_backtest_with_gbm_in_a_thread_equals_the_serial_loop(monkeypatch, models):
    monkeypatch.setattr(fm, "COMBO_MEMBERS", MEMBERS)
    series = series_frame(history(n=8, days=150))
    kw = {"gbm_origins": 3, "seed": 1}
    threaded = fm.backtest(series, models, 28, 2, **kw)
    serial = _serial_backtest(series, models, 28, 2, **kw)
    assert list(threaded.columns) == fm.BACKTEST_COLUMNS
    assert threaded.equals(serial)
    assert set(threaded["model"]) == set(models) and set(threaded["window"]) == {1, 2}


def test_future_with_gbm_in_a_thread_equals_the_serial_loop(monkeypatch):
    monkeypatch.setattr(fm, "COMBO_MEMBERS", MEMBERS)
    series = series_frame(history(n=10, days=150))
    keys = series[fm.KEYS].drop_duplicates().reset_index(drop=True)
    # every model chosen by some series; combo_gbm sorts before gbm, naive after both
    choice = keys.assign(model=np.array(MODELS)[np.arange(len(keys)) % len(MODELS)])
    kw = {"gbm_origins": 3, "seed": 1}
    fut = fm.future_points(series, choice, 14, **kw)
    assert np.array_equal(fut["forecast"].to_numpy(), _serial_future(series, choice, 14, **kw))
    assert set(fut["model"]) == set(MODELS)


def test_an_error_in_the_gbm_thread_reaches_the_caller(monkeypatch):
    series = series_frame(history(n=8, days=150))
    keys = series[fm.KEYS].drop_duplicates()

    def broken(*args, **kwargs):
        raise RuntimeError("gbm failed")

    monkeypatch.setattr(fm, "gbm_forecast", broken)
    monkeypatch.setattr(fm, "COMBO_MEMBERS", MEMBERS)
    with pytest.raises(RuntimeError, match="gbm failed"):
        fm.backtest(series, ["naive", "gbm"], 28, 2)
    with pytest.raises(RuntimeError, match="gbm failed"):
        fm.future_points(series, keys.assign(model="combo_gbm"), 14)
