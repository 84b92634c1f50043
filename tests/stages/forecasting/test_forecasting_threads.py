"""04's second thread changes no number: gbm's bags fitted two at a time add up to the
forecast fitted one by one, and the backtest and future forecast with gbm in a thread of its
own equal the same work done in one thread, model after model (the loops as they were)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_series_data import START, history, series_frame

from channelops.stages.forecasting import demand as fc_demand
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


def _priced_lines(n: int = 600, seed: int = 5) -> pd.DataFrame:
    """Order lines of 3 channels x 7 SKUs over 90 days with prices, discounts, guests,
    reversals, undone sales, non-merchandise lines, a line without a sku and one sold on
    a day before the first priced line (a non-merchandise line)."""
    rng = np.random.default_rng(seed)
    qty = rng.integers(-1, 5, n)
    status = rng.choice(["paid", "shipped", "cancelled", "returned"], n, p=[0.6, 0.3, 0.05, 0.05])
    merch = rng.random(n) > 0.05
    lines = pd.DataFrame(
        {
            "channel_id": rng.choice(["web", "tm", "b2b"], n),
            "sku": rng.choice([f"S{i}" for i in range(7)], n).astype(object),
            "order_ts_local": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"),
            "unit_price_base": rng.uniform(1, 50, n).round(2),
            "discount_base": rng.uniform(0, 5, n).round(2) * (rng.random(n) < 0.3),
            "quantity": qty,
            "status": status,
            "is_guest": rng.random(n) < 0.2,
            "is_merchandise": merch,
        }
    )
    lines["demand_units"] = np.where(
        merch & (qty > 0) & ~np.isin(status, ["cancelled", "returned"]), qty, 0
    )
    lines.loc[3, "sku"] = None
    return lines


def test_demand_tables_in_two_threads_equal_the_three_calls_one_after_the_other():
    lines = _priced_lines()
    acc, series, features = fc_demand.demand_tables(lines)
    pd.testing.assert_series_equal(acc, fc_demand.demand_accounting(lines), check_exact=True)
    serial = fm.daily_demand(lines)
    pd.testing.assert_frame_equal(series, serial, check_exact=True)
    pd.testing.assert_frame_equal(features, fm.demand_features(lines, serial), check_exact=True)
    assert features["price"].notna().any() and features["promo"].any()
    # without prices: the same as demand_features without them
    bare = lines.drop(columns="unit_price_base")
    _, s, f = fc_demand.demand_tables(bare)
    pd.testing.assert_frame_equal(f, fm.demand_features(bare, s), check_exact=True)


def test_line_lookups_by_binary_search_equal_a_merge():
    # a series day before the lines' first day, and one after their last, find no line
    lines = _priced_lines(n=300, seed=8)
    series = fm.daily_demand(lines)
    early = series.iloc[[0]].assign(date=pd.Timestamp("2023-12-01"))
    late = series.iloc[[0]].assign(date=pd.Timestamp("2024-06-01"))
    series = pd.concat([early, series, late], ignore_index=True)
    f = fm.demand_features(lines, series)
    sale = lines[(lines["quantity"] > 0) & lines["is_merchandise"] & lines["sku"].notna()]
    day = sale["order_ts_local"].dt.normalize()
    g = sale.assign(date=day, gross=sale["quantity"] * sale["unit_price_base"])
    by = g.groupby(["channel_id", "sku", "date"])[["gross", "discount_base", "quantity"]].sum()
    price = ((by["gross"] - by["discount_base"]) / by["quantity"]).rename("p").reset_index()
    want = series.merge(price, on=["channel_id", "sku", "date"], how="left")
    want["p"] = want.groupby(["channel_id", "sku"], sort=False)["p"].ffill()
    assert np.array_equal(f["price"].to_numpy(), want["p"].to_numpy(), equal_nan=True)
    assert np.isnan(f["price"].iloc[0]) and f["discount_rate"].iloc[0] == 0.0


def test_interval_coverage_equals_masks_per_model_and_window():
    rng = np.random.default_rng(2)
    n = 3000
    bt = pd.DataFrame(
        {
            "model": rng.choice(["a", "b", "c"], n),
            "window": rng.choice([1, 2, 3], n),
            "forecast": rng.uniform(0, 5, n),
            "actual": rng.poisson(2.0, n).astype(float),
            "scale_mae": rng.uniform(0, 2, n),
        }
    )
    bt.loc[bt["window"] == 3, "model"] = bt["model"].where(bt["model"] != "c", "a")
    got = fm.interval_coverage(bt, (0.8, 0.95))
    # the reference: a mask over every row per level, window and model
    scale = fm._score_scale(bt)
    score = (bt["actual"] - bt["forecast"]).to_numpy() / scale
    rows = []
    for lv in (0.8, 0.95):
        a = (1 - lv) / 2
        parts = []
        for w in (1, 2, 3):
            cal, test = bt["window"] != w, (bt["window"] == w).to_numpy()
            lo, hi = {}, {}
            for m in sorted(bt.loc[cal, "model"].unique()):
                s = score[(cal & (bt["model"] == m)).to_numpy()]
                lo[m] = np.quantile(s, a, method="lower")
                hi[m] = np.quantile(s, 1 - a, method="higher")
            t = bt[test]
            f = t["forecast"].to_numpy()
            low = np.clip(f + t["model"].map(lo).fillna(0.0).to_numpy() * scale[test], 0, None)
            up = np.clip(f + t["model"].map(hi).fillna(0.0).to_numpy() * scale[test], 0, None)
            act = t["actual"].to_numpy()
            hit = (act >= low - 1e-9) & (act <= up + 1e-9)
            parts.append(pd.DataFrame({"model": t["model"].to_numpy(), "hit": hit, "w": up - low}))
        d = pd.concat(parts, ignore_index=True)
        res = d.groupby("model").agg(coverage=("hit", "mean"), mean_width=("w", "mean"))
        rows.append(res.assign(nominal=lv).reset_index())
    want = pd.concat(rows, ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
