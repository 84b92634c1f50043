"""The Spark engine gives the local path's tables on the tiny dataset (``local[2]``).

Tolerance: floating-point sums added in another order (Spark partitions, then merges)
differ from numpy's in the last bits; relative 1e-9 is far above that and far below any
difference a real change of method would make.
"""

from __future__ import annotations

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from channelops.customers.guests import identified_lines
from channelops.ingest import buyers as byr
from channelops.ingest import intake
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import load_dataset, read_all_exports, read_export
from channelops.stages import forecasting as fc
from channelops.stages import integration as integ
from channelops.stages import segmentation as seg

pytestmark = [pytest.mark.spark, pytest.mark.slow]
ENGINE = "local[2]"
RTOL = 1e-9


@pytest.fixture(scope="module")
def crm_lines(tiny_dataset):
    """Stage 01's input: canonical lines of the CRM channels, and the product master."""
    ds = load_dataset(tiny_dataset)
    raw = read_all_exports(ds, channels=list(ds.crm_channel_ids) or None)
    lines, _ = canonicalise(raw.lines, ds)
    lines, _ = identified_lines(lines)  # per-customer views leave guest lines out
    return lines, ds.table("products")


def test_customer_orders_on_spark_equal_local(spark, crm_lines):
    lines, _ = crm_lines
    local = seg.customer_orders(lines)
    on_spark = seg.customer_orders(lines, engine=ENGINE)
    assert len(local) > 1000  # a real history, not an empty comparison
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)


@pytest.mark.heavy  # about 13 s of Spark jobs; make test keeps customer_orders as its parity check
def test_customer_features_on_spark_equal_local(spark, crm_lines):
    lines, products = crm_lines
    orders = seg.customer_orders(lines)
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    for when in (as_of, as_of - pd.DateOffset(months=6)):  # today and 01's migration date
        local = seg.customer_features(orders, when, lines=lines, products=products)
        on_spark = seg.customer_features(
            orders, when, lines=lines, products=products, engine=ENGINE
        )
        assert any(c.startswith("cat_") for c in local) and any(
            c.startswith("channel_") for c in local
        )
        pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)
    # and the segments the saved model gives are the same
    model = seg.fit_segments(local, k=4, seed=7)
    pd.testing.assert_series_equal(model.predict(on_spark), model.predict(local))


@pytest.mark.heavy  # about 21 s of Spark tasks (the suite is near CI's 10 minutes)
def test_backtest_and_forecasts_on_spark_equal_local(spark, tiny_run):
    """04's per-series models in Spark tasks; gbm, a model of all series, on the driver."""
    lines = pd.read_parquet(tiny_run / "tables" / "order_lines.parquet")
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    # gbm's driver path is exercised by the forecasts below (its backtest would be the local
    # code run twice, CI time for nothing the forecasts do not check)
    models = list(fc.DEFAULT_MODELS)
    local = fc.backtest(series, models, 28, 3, features=features, seed=7)
    on_spark = fc.backtest(series, models, 28, 3, features=features, seed=7, engine=ENGINE)
    assert set(local["model"]) == set(models) and len(local) > 10_000
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=RTOL)

    choice = fc.choose_models(fc.series_metrics(local))
    choice.loc[choice.index[:3], "model"] = "gbm"  # some series forecast by the driver's model
    # one OpenMP thread for gbm: its threads spin at barriers, and on a shared 2-core machine
    # (a JVM and Python workers beside it) that turned seconds into minutes
    with threadpool_limits(limits=1):
        expected = fc.forecast_future(series, choice, local, 28, 0.8, features=features, seed=7)
        got = fc.forecast_future(
            series, choice, local, 28, 0.8, features=features, seed=7, engine=ENGINE
        )
    assert choice["model"].nunique() >= 4
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)


@pytest.mark.heavy  # about 110 s: splink's 19 blocking rules and EM sessions as Spark jobs
def test_identity_resolution_on_spark_gives_the_same_customers(spark, tiny_dataset):
    """03's splink model on Spark: the same candidate pairs and the same golden customers.

    The match probabilities need not be bit-equal: on larger data u is estimated from a
    random sample of record pairs, and each backend draws its own (DuckDB's and Spark's
    random functions differ); on the tiny data u comes from every pair, and the backends'
    floating-point sums still differ a little. We allow 0.1 per pair, and 1e-3 on the
    probabilities of the links actually made.
    """
    ds = load_dataset(tiny_dataset)
    raw = pd.concat([read_export(ds, ch.id).lines for ch in ds.channels], ignore_index=True)
    canon, _ = canonicalise(raw, ds)
    lines, _ = intake.remove_duplicate_rows(canon, intake.line_no_numbered(ds))
    crm, crm_channels = ds.table("customers"), list(ds.crm_channel_ids)
    buyers = byr.buyer_records(lines)

    local = integ.probabilistic_pairs(buyers, crm, crm_channels, seed=7, open_only=False)
    on_spark = integ.probabilistic_pairs(
        buyers, crm, crm_channels, seed=7, engine=ENGINE, open_only=False
    )
    assert "skipped" not in on_spark.attrs["note"], on_spark.attrs["note"]
    assert len(local) > 1000
    key = ["node_l", "node_r"]
    pd.testing.assert_frame_equal(on_spark[key], local[key])
    assert (on_spark["match_probability"] - local["match_probability"]).abs().max() < 0.1
    gammas = [c for c in local if c.startswith("gamma_")]
    pd.testing.assert_frame_equal(on_spark[gammas].astype("int64"), local[gammas].astype("int64"))

    links_local = integ.link_buyers(buyers, crm, crm_channels, pairs=local, threshold=0.9)
    links_spark = integ.link_buyers(buyers, crm, crm_channels, pairs=on_spark, threshold=0.9)
    assert (links_local["rule"] == "splink").sum() > 10  # the model decides real links here
    pd.testing.assert_frame_equal(
        links_spark.drop(columns="match_probability"), links_local.drop(columns="match_probability")
    )
    assert (links_spark["match_probability"] - links_local["match_probability"]).abs().max() < 1e-3
    pd.testing.assert_frame_equal(
        integ.golden_customers(buyers, links_spark, crm),
        integ.golden_customers(buyers, links_local, crm),
    )
