"""Tests for channelops.stages.logistics.source (05's joins in DuckDB over Parquet files),
the simulated window's orders, the order-count and route sentences, and shipment_delays
with the order columns looked up in DuckDB.

Hand-made orders, lines and shipments written to Parquet in tmp_path; each figure checked
by hand and against the pandas path the DuckDB path replaces."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import (
    logistics_orders,
    order_counts_sentence,
    orders_for_logistics,
    orders_in_window,
    route_plans_sentence,
    shipment_delays,
    shipment_order_columns,
    simulation_orders,
    simulation_window,
    start_shipment_order_columns,
)

T = pd.Timestamp("2024-05-01 10:00", tz="UTC")
H = pd.Timedelta(hours=1)
WAREHOUSES = pd.DataFrame(
    {
        "warehouse_id": ["N", "S"],
        "city": ["Beijing", "Guangzhou"],
        "lat": [39.9, 23.13],
        "lon": [116.41, 113.26],
        "daily_capacity_orders": [10, 30],
    }
)
LOCATIONS = pd.DataFrame(
    {
        "city": ["Beijing", "Tianjin", "Guangzhou"],
        "lat": [39.9, 39.34, 23.13],
        "lon": [116.41, 117.36, 113.26],
    }
)
S = "string[pyarrow]"
ORDERS = pd.DataFrame(
    {
        "channel_id": pd.array(["web", "web", "app", "web", "app"], dtype=S),
        "order_id": pd.array(["1", "2", "1", "4", "5"], dtype=S),
        "customer_id": pd.array(["c1", None, "c1", "c2", None], dtype=S),
        "order_ts": [T, T + H, T + 2 * H, T + 3 * H, T + 4 * H],
        "order_ts_local": pd.Series([T, T + H, T + 2 * H, T + 3 * H, T + 4 * H]).dt.tz_localize(
            None
        )
        + 8 * H,
        "status": pd.array(["paid"] * 5, dtype=S),
        "units": [3, 1, 2, 1, 1],
        "revenue_base": [30.0, 10.0, 20.0, 5.0, 7.5],
        "city": pd.array(["BEIJING", "Tianjin", None, "Guangzhou", "Tianjin"], dtype=S),
    }
)
# web/1: A x2 (0.5 kg), B x1 (3 kg), a return line (-1: weighs nothing), postage (not
# merchandise): 4.0 kg; app/1: an unknown SKU (1 kg default) x2: 2.0 kg; web/4: no lines
LINES = pd.DataFrame(
    {
        "channel_id": pd.array(["web", "web", "app", "web", "web", "web", "app"], dtype=S),
        "order_id": pd.array(["1", "1", "1", "1", "1", "2", "5"], dtype=S),
        "sku": pd.array(["A", "B", "Z", "A", "POST", "A", "B"], dtype=S),
        "quantity": [2, 1, 2, -1, 1, 1, 1],
        "is_merchandise": [True, True, True, True, False, True, True],
    }
)
PRODUCTS = pd.DataFrame({"sku": ["A", "B", "POST"], "weight_kg": [0.5, 3.0, 9.0]})
# web/1 is shipped twice (its first shipment, from N, counts); app/1 and web/4 once;
# web/9 is a shipment of an order 03 does not have
SHIPMENTS = pd.DataFrame(
    {
        "order_id": pd.array(["4", "1", "1", "1", "9"], dtype=S),
        "channel_id": pd.array(["web", "web", "app", "web", "web"], dtype=S),
        "warehouse_id": pd.array(["S", "N", "S", "S", "N"], dtype=S),
        "promised_ts": T + 48 * H,
        "shipped_ts": [T + 5 * H, T + 6 * H, T + 7 * H, T + 8 * H, T + 9 * H],
        "delivered_ts": [T + 30 * H, T + 50 * H, pd.NaT, T + 40 * H, T + 20 * H],
        "carrier": pd.array(["Fast", "Slow", "Fast", "Fast", "Slow"], dtype=S),
    }
)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run05")
    ORDERS.to_parquet(folder / "orders.parquet", index=False)
    LINES.to_parquet(folder / "order_lines.parquet", index=False)
    return folder / "orders.parquet", folder / "order_lines.parquet"


def test_logistics_orders_joins_shipments_and_weighs_orders_by_hand(parquet):
    got = logistics_orders(*parquet, WAREHOUSES, SHIPMENTS, LOCATIONS, None, PRODUCTS)
    f = got.fulfilled
    assert (got.n_orders, got.n_guests) == (5, 2)
    # orders with a shipment, in the orders' order: web/1, app/1, web/4
    assert list(zip(f["channel_id"], f["order_id"], strict=True)) == [
        ("web", "1"),
        ("app", "1"),
        ("web", "4"),
    ]
    assert f["warehouse_id"].tolist() == ["N", "S", "S"]  # web/1: its first shipment's
    assert f["shipped_ts"].tolist() == [T + 6 * H, T + 7 * H, T + 5 * H]
    assert f["weight_kg"].tolist() == [4.0, 2.0, 1.0]
    assert f["region"].tolist() == ["Beijing", "unknown", "Guangzhou"]


def test_logistics_orders_equals_the_pandas_path(parquet):
    got = logistics_orders(*parquet, WAREHOUSES, SHIPMENTS, LOCATIONS, None, PRODUCTS).fulfilled
    old, _, _ = orders_for_logistics(
        ORDERS, LINES, WAREHOUSES, SHIPMENTS, LOCATIONS, None, PRODUCTS
    )
    pd.testing.assert_frame_equal(got, old[got.columns].reset_index(drop=True))


def test_logistics_orders_without_shipments_takes_the_pandas_path(parquet):
    got = logistics_orders(*parquet, WAREHOUSES, None, LOCATIONS, None, PRODUCTS).fulfilled
    # every paid order, each from its nearest warehouse; app/5 weighs 3 kg, web/4 1 kg
    assert got["order_id"].tolist() == ["1", "2", "1", "4", "5"]
    # app/1 has no city: the largest warehouse (S)
    assert got["warehouse_id"].tolist() == ["N", "N", "S", "S", "N"]
    assert got["weight_kg"].tolist() == [4.0, 0.5, 2.0, 1.0, 3.0]


def test_logistics_orders_needs_order_times(tmp_path):
    ORDERS.drop(columns="order_ts").to_parquet(tmp_path / "o.parquet", index=False)
    LINES.to_parquet(tmp_path / "l.parquet", index=False)
    with pytest.raises(ValueError, match=r"o\.parquet.*order_ts"):
        logistics_orders(tmp_path / "o.parquet", tmp_path / "l.parquet", WAREHOUSES, SHIPMENTS)


def test_shipment_order_columns_by_hand_and_delays_as_with_orders(parquet):
    oc = shipment_order_columns(parquet[0], SHIPMENTS)
    assert oc["srow"].tolist() == [0, 1, 2, 3, 4]
    assert oc["order_ts"].tolist()[:4] == [T + 3 * H, T, T + 2 * H, T]
    assert pd.isna(oc["order_ts"].iloc[4]) and pd.isna(oc["city"].iloc[4])  # web/9: no order
    new = shipment_delays(SHIPMENTS, None, WAREHOUSES, LOCATIONS, order_columns=oc)
    old = shipment_delays(SHIPMENTS, ORDERS, WAREHOUSES, LOCATIONS)
    pd.testing.assert_frame_equal(new, old)
    assert new["handling_h"].tolist()[:4] == [2.0, 6.0, 5.0, 8.0]


def test_order_columns_in_a_background_thread_are_the_same_frame(parquet):
    # one or two DuckDB threads in a background thread, two in this one: the same rows
    here = shipment_order_columns(parquet[0], SHIPMENTS)
    for threads in (1, 2):
        job = start_shipment_order_columns(parquet[0], SHIPMENTS, threads=threads)
        pd.testing.assert_frame_equal(job.result(), here, check_exact=True)
    with pytest.raises(OSError, match="No such file"):  # the error comes out of .result()
        start_shipment_order_columns(parquet[0].parent / "missing.parquet", SHIPMENTS).result()


def test_shipment_delays_takes_orders_or_order_columns_not_both(parquet):
    oc = shipment_order_columns(parquet[0], SHIPMENTS)
    with pytest.raises(ValueError, match="not both"):
        shipment_delays(SHIPMENTS, ORDERS, order_columns=oc)
    with pytest.raises(ValueError, match="srow"):
        shipment_delays(SHIPMENTS, order_columns=oc.drop(columns="srow"))


def test_simulation_window_equals_the_window_of_all_orders(parquet):
    f = logistics_orders(*parquet, WAREHOUSES, SHIPMENTS, LOCATIONS, None, PRODUCTS).fulfilled
    sla = pd.Series({"web": 24.0})
    start, end = pd.Timestamp("2024-05-01 19:00"), pd.Timestamp("2024-05-02")
    got = simulation_window(f, sla, 48.0, start, end)
    want = orders_in_window(simulation_orders(f, sla, 48.0), start, end)
    pd.testing.assert_frame_equal(got, want)
    # app/1 and web/4 in the window; the scores rank all three fulfilled orders: web/4's
    # value 5.0 is the lowest of 30, 20, 5 -> 1/3
    assert got["order_id"].tolist() == ["1", "4"]
    assert got["value_score"].tolist() == [2 / 3, 1 / 3]
    # app has no ship-by hours (48 h default), web 24 h, from the local order times
    assert got["deadline_ts"].tolist() == [
        pd.Timestamp("2024-05-03 20:00"),
        pd.Timestamp("2024-05-02 21:00"),
    ]
    with pytest.raises(ValueError, match="must end after"):
        simulation_window(f, sla, 48.0, end, start)


def test_order_counts_sentence():
    assert order_counts_sentence(1000, 120, 900) == (
        "1,000 orders, 120 of them guest orders (12.0%), served like any other; "
        "900 went through a warehouse."
    )
    assert "0 of them guest orders, " in order_counts_sentence(0, 0, 0)
    with pytest.raises(ValueError, match="do not fit"):
        order_counts_sentence(10, 11, 5)


def test_route_plans_sentence_says_which_way():
    summary = pd.DataFrame(
        {"vehicles": [1, 2], "distance_km": [1200.0, 1000.0]},
        index=pd.Index(["pyvrp", "nearest_neighbour"], name="solver"),
    )
    assert route_plans_sentence(summary, 0.2).endswith(
        "with 1 vehicle vs nearest neighbour 1,000 km with 2: 20.0% cheaper"
    )
    assert route_plans_sentence(summary, -0.05).endswith("5.0% dearer")
    assert route_plans_sentence(summary, 0.0).endswith("the same cost")
    with pytest.raises(ValueError, match="nearest_neighbour"):
        route_plans_sentence(summary.drop(index="nearest_neighbour"), 0.1)
