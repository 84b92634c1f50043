"""The Spark engine gives the local path's tables on the tiny dataset (``local[2]``).

Tolerance: floating-point sums added in another order (Spark partitions, then merges)
differ from numpy's in the last bits; relative 1e-9 is far above that (observed <= 1e-15)
and far below any difference a real change of method would make.
"""

from __future__ import annotations

import pandas as pd
import pytest

from channelops import segmentation as seg

pytestmark = [pytest.mark.spark, pytest.mark.slow]
ENGINE = "local[2]"
RTOL = 1e-9


@pytest.fixture(scope="module")
def crm_lines(tiny_dataset):
    """Stage 01's input: canonical lines of the CRM channels, and the product master."""
    from channelops.canonical import canonicalise
    from channelops.dataset import load_dataset, read_all_exports

    ds = load_dataset(tiny_dataset)
    raw = read_all_exports(ds, channels=list(ds.crm_channel_ids) or None)
    lines, _ = canonicalise(raw.lines, ds)
    return lines, ds.table("products")


def test_customer_orders_on_spark_equal_local(spark, crm_lines):
    lines, _ = crm_lines
    local = seg.customer_orders(lines)
    on_spark = seg.customer_orders(lines, engine=ENGINE)
    assert len(local) > 1000  # a real history, not an empty comparison
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)


def test_customer_features_on_spark_equal_local(spark, crm_lines):
    lines, products = crm_lines
    orders = seg.customer_orders(lines)
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    for when in (as_of, as_of - pd.DateOffset(months=6)):  # today and 01's migration date
        local = seg.customer_features(orders, when, lines=lines, products=products)
        on_spark = seg.customer_features(orders, when, lines=lines, products=products,
                                         engine=ENGINE)
        assert any(c.startswith("cat_") for c in local) and any(c.startswith("channel_") for c in local)
        pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)
    # and the segments the saved model gives are the same
    model = seg.fit_segments(local, k=4, seed=7)
    pd.testing.assert_series_equal(model.predict(on_spark), model.predict(local))


def test_backtest_and_forecasts_on_spark_equal_local(spark, tiny_run):
    """04's per-series models in Spark tasks (gbm, a model of all series, on the driver)."""
    from channelops import forecasting as fc

    lines = pd.read_parquet(tiny_run / "tables" / "order_lines.parquet")
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    models = [*fc.DEFAULT_MODELS, "gbm"]
    local = fc.backtest(series, models, 28, 3, features=features, seed=7)
    on_spark = fc.backtest(series, models, 28, 3, features=features, seed=7, engine=ENGINE)
    assert set(local["model"]) == set(models) and len(local) > 10_000
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)

    choice = fc.choose_models(fc.series_metrics(local))
    choice.loc[choice.index[:3], "model"] = "gbm"  # some series forecast by the driver's model
    expected = fc.forecast_future(series, choice, local, 28, 0.8, features=features, seed=7)
    got = fc.forecast_future(series, choice, local, 28, 0.8, features=features, seed=7,
                             engine=ENGINE)
    assert choice["model"].nunique() >= 4
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)
