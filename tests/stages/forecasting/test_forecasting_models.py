"""Forecasting: series building, models on edge-case series, metrics, intervals, levels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from channelops.stages import forecasting as fc


def _lines(rows):
    """Merchandise order lines from (channel_id, sku, local date, quantity, status) tuples,
    with demand_units as the intake sets it for merchandise: the quantity of a positive
    line neither cancelled nor returned, else 0."""
    df = pd.DataFrame(rows, columns=["channel_id", "sku", "day", "quantity", "status"])
    df["order_ts_local"] = pd.to_datetime(df["day"]) + pd.Timedelta(hours=10)
    sale = (df["quantity"] > 0) & ~df["status"].isin(["cancelled", "returned"])
    df["demand_units"] = df["quantity"].where(sale, 0)
    return df.drop(columns="day")


def _series(values: dict[tuple[str, str], list[float]], end="2024-03-31") -> pd.DataFrame:
    frames = []
    for (ch, sku), v in values.items():
        dates = pd.date_range(end=end, periods=len(v), freq="D")
        frames.append(
            pd.DataFrame(
                {"channel_id": ch, "sku": sku, "date": dates, "units": np.asarray(v, float)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_daily_demand_fills_zeros_from_first_sale_and_drops_cancelled_and_returned():
    lines = _lines(
        [
            ("web", "A", "2024-01-01", 2, "paid"),
            ("web", "A", "2024-01-01", 1, "returned"),
            ("web", "A", "2024-01-04", 5, "cancelled"),
            ("web", "A", "2024-01-05", 1, "delivered"),
            ("tm", "B", "2024-01-03", 4, "shipped"),
        ]
    )
    s = fc.daily_demand(lines)
    a = s[s["sku"] == "A"]
    assert a["units"].tolist() == [2.0, 0.0, 0.0, 0.0, 1.0]
    b = s[s["sku"] == "B"]  # starts late, runs to the common end
    assert b["date"].dt.strftime("%m-%d").tolist() == ["01-03", "01-04", "01-05"]
    assert b["units"].tolist() == [4.0, 0.0, 0.0]


def test_daily_demand_missing_column_is_named():
    with pytest.raises(KeyError, match="demand_units"):
        fc.daily_demand(
            pd.DataFrame({"channel_id": [], "sku": [], "order_ts_local": [], "quantity": []})
        )


def test_metrics_hand_computed():
    insample = np.array([1, 2, 3, 4, 5, 6, 7, 2, 2, 3, 4, 5, 6, 7], float)
    # seasonal-naive in-sample errors: |2-1|, 0, 0, 0, 0, 0, 0 -> MAE 1/7, RMSE sqrt(1/7)
    actual = np.array([2.0, 4.0])
    forecast = np.array([3.0, 2.0])
    m = fc.forecast_metrics(actual, forecast, insample)
    assert m["mae"] == pytest.approx(1.5)
    assert m["mase"] == pytest.approx(1.5 / (1 / 7))
    assert m["rmsse"] == pytest.approx(np.sqrt(2.5) / np.sqrt(1 / 7))
    assert m["wape"] == pytest.approx(3 / 6)
    assert m["bias"] == pytest.approx(-1 / 6)


def test_metrics_zero_actual_and_flat_history_are_nan():
    m = fc.forecast_metrics(np.zeros(3), np.ones(3), np.zeros(20))
    assert np.isnan(m["mase"]) and np.isnan(m["wape"]) and m["mae"] == 1.0


def test_baselines_known_answers():
    y = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]], float)
    assert fc.forecast_matrix("naive", y, 3).tolist() == [[14, 14, 14]]
    assert fc.forecast_matrix("seasonal_naive", y, 8).tolist() == [[8, 9, 10, 11, 12, 13, 14, 8]]
    assert fc.forecast_matrix("moving_average", y, 2, window=4).tolist() == [[12.5, 12.5]]
    # weekday average over two weeks: (1+8)/2, (2+9)/2 ...
    assert fc.forecast_matrix("weekday_average", y, 2, window=14).tolist() == [[4.5, 5.5]]


@pytest.mark.parametrize("model", list(fc.DEFAULT_MODELS) + ["gbm"])
def test_edge_series_forecast_without_error(model):
    """All zeros, one observation, and a series that starts inside the backtest window."""
    rng = np.random.default_rng(sum(map(ord, model)))
    series = _series(
        {
            ("web", "ZERO"): [0.0] * 200,
            ("web", "ONE"): [3.0],
            ("web", "LATE"): list(rng.poisson(2.0, 40)),
            ("tm", "BUSY"): list(rng.poisson(5.0, 200)),
        }
    )
    bt = fc.backtest(series, [model], horizon=28, n_windows=3)
    assert np.isfinite(bt["forecast"]).all() and (bt["forecast"] >= 0).all()
    assert set(bt["sku"]) == {"ZERO", "ONE", "LATE", "BUSY"}
    assert (bt.loc[bt["sku"] == "ZERO", "forecast"] < 0.05).all()  # gbm: near zero
    choice = fc.choose_models(fc.series_metrics(bt))
    out = fc.forecast_future(series, choice, bt, horizon=7)
    assert len(out) == 4 * 7
    assert (out["lower"] <= out["forecast"] + 1e-9).all() and (
        out["forecast"] <= out["upper"] + 1e-9
    ).all()


def test_backtest_windows_and_chosen_is_graded_out_of_choice():
    rng = np.random.default_rng(1)
    series = _series({("web", f"S{i}"): list(rng.poisson(3.0, 150)) for i in range(6)})
    bt = fc.backtest(series, ["naive", "moving_average"], horizon=14, n_windows=3)
    assert sorted(bt["window"].unique()) == [1, 2, 3]
    assert bt.groupby(["sku", "model", "window"]).size().eq(14).all()
    ch = fc.chosen_backtest(bt)
    assert len(ch) == len(bt) // 2
    # the mean is the better forecast of white noise
    assert (ch["chosen_model"] == "moving_average").mean() > 0.5


def test_conformal_intervals_cover_noise_at_nominal_rate():
    rng = np.random.default_rng(3)
    series = _series({("web", f"S{i}"): list(rng.poisson(4.0, 200)) for i in range(60)})
    bt = fc.backtest(series, ["moving_average"], horizon=28, n_windows=3)
    cov = fc.interval_coverage(bt, (0.8, 0.95)).set_index("nominal")["coverage"]
    assert abs(cov[0.8] - 0.8) < 0.05 and abs(cov[0.95] - 0.95) < 0.03


def test_bottom_up_levels_add_up():
    f = pd.DataFrame(
        {
            "channel_id": ["a", "a", "b"],
            "sku": ["X", "Y", "X"],
            "date": pd.to_datetime(["2024-01-01"] * 3),
            "forecast": [1.0, 2.0, 4.0],
        }
    )
    products = pd.DataFrame({"sku": ["X", "Y"], "category": ["c1", "c2"]})
    totals = {
        lv: fc.aggregate_forecasts(f, products, lv)["forecast"].sum()
        for lv in ("channel", "category", "sku", "total")
    }
    assert set(totals.values()) == {7.0}
    assert fc.aggregate_forecasts(f, products, "category").set_index("category")[
        "forecast"
    ].to_dict() == {"c1": 5.0, "c2": 2.0}
    with pytest.raises(ValueError):
        fc.aggregate_forecasts(f, products, "region")


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        fc.forecast_matrix("prophet", np.zeros((1, 10)), 3)


def _arrow_keys(df: pd.DataFrame, cols=("channel_id", "sku", "status")) -> pd.DataFrame:
    """The same frame with string keys as string[pyarrow], as read_table may give them."""
    return df.astype({c: "string[pyarrow]" for c in cols if c in df})


def test_daily_demand_and_features_same_for_object_and_arrow_string_keys():
    lines = _lines(
        [
            ("web", "A", "2024-01-01", 2, "paid"),
            ("web", "A", "2024-01-03", 1, "delivered"),
            ("web", "B", "2024-01-02", 3, "paid"),
            ("tm", "A", "2024-01-02", 4, "shipped"),
            ("tm", "A", "2024-01-03", 9, "cancelled"),  # not demand, but priced and promo
        ]
    )
    lines["unit_price_base"] = [10.0, 10.0, 5.0, 8.0, 8.0]
    lines["discount_base"] = [0.0, 5.0, 0.0, 0.0, 36.0]
    s = fc.daily_demand(lines)
    f = fc.demand_features(lines, s)
    pd.testing.assert_frame_equal(fc.daily_demand(_arrow_keys(lines)), s)
    pd.testing.assert_frame_equal(fc.demand_features(_arrow_keys(lines), s), f)
    assert s["channel_id"].dtype.kind == "O" and s["channel_id"].tolist()[:2] == ["tm", "tm"]
    f = f.set_index(["channel_id", "sku", "date"])
    d1, d2, d3 = (pd.Timestamp(f"2024-01-0{i}") for i in (1, 2, 3))
    # web A: 20 / 2 on day 1, carried to day 2 (no sale), (10 - 5) / 1 on day 3
    assert f.loc[("web", "A"), "price"].tolist() == [10.0, 10.0, 5.0]
    # tm A on day 3: only the cancelled line, (72 - 36) / 9 = 4 and a 50% discount day
    assert f.loc[("tm", "A", d3), "price"] == 4.0
    assert f.loc[("tm", "A", d3), "discount_rate"] == 0.5
    assert f.loc[("tm", "A", d2), "discount_rate"] == 0.0
    # web's day discount shares are 0, 0 and 5 / 10: the median is 0, so day 3 is promo
    assert f.loc[("web", "A"), "promo"].tolist() == [False, False, True]
    assert f.loc[("web", "B", d2), "price"] == 5.0 and not f.loc[("tm", "A", d2), "promo"]
    # a shorter end cuts the series and drops later sales
    short = fc.daily_demand(lines, end=d2)
    assert (
        short.set_index(["channel_id", "sku"])["units"].to_dict()
        == {("tm", "A"): 4.0, ("web", "A"): 0.0, ("web", "B"): 3.0}
        and len(short) == 4
    )


def _two_channel_backtest() -> pd.DataFrame:
    """One SKU's naive backtest on web and tm, two windows (tm has no scale)."""
    return pd.DataFrame(
        {
            "channel_id": ["web", "tm", "web", "tm"],
            "sku": ["A", "A", "A", "A"],
            "model": ["naive"] * 4,
            "window": [1, 1, 0, 0],
            "actual": [2.0, 1.0, 4.0, 0.0],
            "forecast": [1.0, 1.0, 1.0, 2.0],
            "scale_mae": [1.0, 0.0, 1.0, 0.0],
            "scale_rmse": [1.0, 0.0, 1.0, 0.0],
        }
    )


def test_series_metrics_group_codes_keep_key_dtypes_and_sort():
    bt = _two_channel_backtest()
    m = fc.series_metrics(bt)
    assert m[["channel_id", "window"]].values.tolist() == [
        ["tm", 0],
        ["tm", 1],
        ["web", 0],
        ["web", 1],
    ]
    assert m["window"].dtype == np.int64 and m["channel_id"].dtype == object
    assert m["abs_err"].tolist() == [2.0, 0.0, 3.0, 1.0] and np.isnan(m["mase"].iloc[0])
    pd.testing.assert_frame_equal(
        fc.series_metrics(_arrow_keys(bt, ("channel_id", "sku", "model"))).astype(
            {c: object for c in ("channel_id", "sku", "model")}
        ),
        m,
    )


def test_model_summary_by_hand_and_from_given_metrics():
    # naive on web: MASE 3/1 = 3 (window 0, 4 units) and 1/1 = 1 (window 1, 2 units), so
    # weighted MASE (3*4 + 1*2) / 6; tm has no scale, so no MASE, but its errors pool in WAPE:
    # (3 + 1 + 2 + 0) / 7, bias (5 - 7) / 7.
    bt = _two_channel_backtest()
    s = fc.model_summary(bt)
    assert s["weighted_mase"].iloc[0] == pytest.approx(14 / 6)
    assert s["wape"].iloc[0] == pytest.approx(6 / 7) and s["bias"].iloc[0] == pytest.approx(-2 / 7)
    m = fc.series_metrics(bt)
    pd.testing.assert_frame_equal(fc.model_summary(bt, metrics=m), s)
    # the given metrics are what is summarised (not recomputed from bt): web alone, 4 / 6
    web = fc.model_summary(bt, metrics=m[m["channel_id"] == "web"])
    assert web["wape"].iloc[0] == pytest.approx(4 / 6)


def test_demand_features_price_and_promo_by_hand():
    # web's discount share per day: 0/20 = 0, 50/100 = 0.5, 2/10 = 0.2; median 0.2, so only
    # 2 January (0.5 > 0.2 + 0.05) is a promotion day. A's net unit price: 20/2 = 10 on the
    # 1st, carried over the 2nd (no sale), (10 - 2)/1 = 8 on the 3rd; B's 50 from the 2nd.
    lines = _lines(
        [
            ("web", "A", "2024-01-01", 2, "paid"),
            ("web", "B", "2024-01-02", 1, "paid"),
            ("web", "A", "2024-01-03", 1, "paid"),
        ]
    ).assign(unit_price_base=[10.0, 100.0, 10.0], discount_base=[0.0, 50.0, 2.0])
    series = fc.daily_demand(lines)
    f = fc.demand_features(lines, series).set_index(["sku", "date"])
    a = f.loc["A"]
    assert a["units"].tolist() == [2.0, 0.0, 1.0]
    assert a["price"].tolist() == [10.0, 10.0, 8.0]
    assert a["discount_rate"].tolist() == pytest.approx([0.0, 0.5, 0.2])
    assert a["promo"].tolist() == [False, True, False]
    assert a["dow"].tolist() == [0, 1, 2] and a["week_of_year"].tolist() == [1, 1, 1]
    assert f.loc["B", "price"].tolist() == [50.0, 50.0]
    assert f.loc["B", "promo"].tolist() == [True, False]
    # without prices: no price, no discount, no promotion
    bare = fc.demand_features(lines.drop(columns="discount_base"), series)
    assert bare["price"].isna().all() and not bare["promo"].any()
    with pytest.raises(KeyError):
        fc.demand_features(lines.drop(columns="quantity"), series)


def test_window_origins_by_hand():
    # 100 days, 28-day windows: origins 100 - 3 x 28 = 16, 44, 72; with 4 windows the first
    # would start at 100 - 112 < 1 and is left out
    assert fc.window_origins(100, 28, 3) == [(1, 16), (2, 44), (3, 72)]
    assert fc.window_origins(100, 28, 4) == [(2, 16), (3, 44), (4, 72)]
    assert fc.window_origins(10, 28, 2) == []
    with pytest.raises(ValueError, match="horizon and n_windows must be >= 1"):
        fc.window_origins(100, 0, 3)


def test_backtest_empty_has_the_columns():
    bt = fc.backtest(_series({("web", "A"): [1.0, 2.0]}), ["naive"], horizon=28, n_windows=2)
    assert bt.empty and list(bt.columns) == fc.BACKTEST_COLUMNS


def test_model_names_parse_a_comma_list():
    assert fc.model_names(" naive, croston_sba,,gbm ") == ["naive", "croston_sba", "gbm"]
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['prophet'\]"):
        fc.model_names("naive,prophet")
    with pytest.raises(ValueError, match="no model named"):
        fc.model_names(" , ")


def test_series_per_chosen_model_counts_distinct_series():
    # web/A chosen naive in two windows counts once; tm/A naive once; web/B tsb once
    chosen = pd.DataFrame(
        {
            "chosen_model": ["naive", "naive", "naive", "tsb"],
            "channel_id": ["web", "web", "tm", "web"],
            "sku": ["A", "A", "A", "B"],
            "window": [1, 2, 1, 1],
        }
    )
    got = fc.series_per_chosen_model(chosen)
    assert got.to_dict() == {"naive": 2, "tsb": 1} and got.name == "series_windows"
    with pytest.raises(KeyError):
        fc.series_per_chosen_model(chosen.drop(columns="chosen_model"))


def test_baseline_models_do_not_import_pyspark():
    # statsforecast imports pyspark.sql (through utilsforecast and fugue), so it stays lazy:
    # a backtest of the baselines alone must not load it
    code = (
        "import sys; import pandas as pd; from channelops.stages import forecasting as fc;"
        "s = pd.DataFrame({'channel_id': 'web', 'sku': 'A', 'units': [1.0] * 30,"
        " 'date': pd.date_range('2024-01-01', periods=30, freq='D')});"
        "assert len(fc.backtest(s, ['naive', 'weekday_average'], horizon=7, n_windows=2)) == 28;"
        "assert 'pyspark' not in sys.modules, 'pyspark imported by the baselines'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
