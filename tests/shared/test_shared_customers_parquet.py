"""channelops.customers.parquet: customer features and channel pairs from a Parquet file of
order lines, in DuckDB, against hand computations and the pandas path.

The lines (03's order_lines columns; c1 buys twice, c2 once, g is a guest):

    customer order channel local time         revenue discount status
    c1       o1    web     2024-01-06 20:00   90      10       paid       Saturday evening
    c1       o1    pos     2024-01-06 21:00   10      0        paid       same order, later line
    c1       o2    pos     2024-01-16 10:00   100     0        delivered
    c1       o3    web     2024-01-20 10:00   500     0        cancelled  not a purchase
    c2       o4    web     2024-01-31 09:00   50      <NA>     shipped    discount missing = 0
    <NA>     o5    web     2024-01-31 12:00   70      0        paid       guest: left out
"""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.customers import customer_features, customer_orders
from channelops.customers.parquet import customer_channel_pairs, customer_features_parquet

TS = pd.Timestamp


def _lines() -> pd.DataFrame:
    rows = [
        ("c1", "o1", "web", "2024-01-06 20:00", 90.0, 10.0, "paid"),
        ("c1", "o1", "pos", "2024-01-06 21:00", 10.0, 0.0, "paid"),
        ("c1", "o2", "pos", "2024-01-16 10:00", 100.0, 0.0, "delivered"),
        ("c1", "o3", "web", "2024-01-20 10:00", 500.0, 0.0, "cancelled"),
        ("c2", "o4", "web", "2024-01-31 09:00", 50.0, None, "shipped"),
        (None, "o5", "web", "2024-01-31 12:00", 70.0, 0.0, "paid"),
    ]
    cols = ["customer_id", "order_id", "channel_id", "order_ts_local", "net_revenue_base"]
    d = pd.DataFrame(rows, columns=[*cols, "discount_base", "status"])
    d["order_ts_local"] = pd.to_datetime(d["order_ts_local"])
    d["customer_id"] = d["customer_id"].astype("string")
    return d


@pytest.fixture
def lines_file(tmp_path):
    path = tmp_path / "order_lines.parquet"
    _lines().to_parquet(path)
    return path


def test_features_by_hand(lines_file):
    f, as_of = customer_features_parquet(lines_file)
    # the day after the last purchase (o4, 2024-01-31 09:00; the guest's o5 is no customer's)
    assert as_of == TS("2024-02-01")
    assert list(f.index) == ["c1", "c2"]
    c1, c2 = f.loc["c1"], f.loc["c2"]
    assert c1["frequency"] == 2 and c2["frequency"] == 1
    assert c1["monetary"] == 200.0 and c1["aov"] == 100.0 and c2["monetary"] == 50.0
    # o1 starts at its earliest line, 2024-01-06 20:00 (a Saturday evening)
    assert c1["tenure_days"] == pytest.approx((as_of - TS("2024-01-06 20:00")) / pd.Timedelta("1D"))
    assert c1["recency_days"] == pytest.approx(
        (as_of - TS("2024-01-16 10:00")) / pd.Timedelta("1D")
    )
    assert c1["mean_interval_days"] == pytest.approx(9 + 14 / 24)
    assert c1["weekend_share"] == 0.5 and c1["evening_share"] == 0.5
    # discount 10 of a gross 210; c2's missing discount counts 0
    assert c1["discount_share"] == pytest.approx(10 / 210) and c2["discount_share"] == 0.0
    # an order's channel is that of its first line in the file: o1 is web, o2 pos
    assert c1["channel_web"] == 0.5 and c1["channel_pos"] == 0.5
    assert c2["channel_web"] == 1.0 and c2["channel_pos"] == 0.0


def test_features_equal_the_pandas_path(lines_file):
    lines = _lines()
    known = lines.loc[lines["customer_id"].notna()].rename(columns={"customer_id": "buyer_ref"})
    for as_of in (None, TS("2024-01-10")):
        got, used = customer_features_parquet(lines_file, as_of)
        want = customer_features(customer_orders(known, money="net_revenue_base"), used)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    # as of 2024-01-10 only c1's o1 counts
    early, _ = customer_features_parquet(lines_file, "2024-01-10")
    assert list(early.index) == ["c1"] and early.loc["c1", "frequency"] == 1


def test_missing_column_and_no_purchase_are_refused(tmp_path, lines_file):
    bad = tmp_path / "no_status.parquet"
    _lines().drop(columns="status").to_parquet(bad)
    with pytest.raises(ValueError, match=r"no_status\.parquet lacks column\(s\) \['status'\]"):
        customer_features_parquet(bad)
    with pytest.raises(ValueError, match="no purchases up to 2023-12-31"):
        customer_features_parquet(lines_file, "2023-12-31")


def test_channel_pairs_any_status_without_guests(lines_file):
    pairs = customer_channel_pairs(lines_file)
    assert pairs.values.tolist() == [["c1", "pos"], ["c1", "web"], ["c2", "web"]]
    with pytest.raises(ValueError, match="lacks column"):
        customer_channel_pairs(lines_file, customer="buyer_ref")
