"""Tests for the notebook-facing steps of channelops.stages.logistics.prepare: the orders
each section reads, the orders' span in days, and the transportation problem's inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import allocation_inputs, order_span_days, orders_for_logistics

T = pd.Timestamp("2024-05-01 10:00", tz="UTC")
H = pd.Timedelta(hours=1)
WAREHOUSES = pd.DataFrame(
    {
        "warehouse_id": ["N", "S"],
        "city": ["Beijing", "Guangzhou"],
        "lat": [39.9, 23.13],
        "lon": [116.41, 113.26],
        "daily_capacity_orders": [10, 30],
        "handling_cost_per_order": [1.0, 2.0],
    }
)
LOCATIONS = pd.DataFrame(
    {
        "city": ["Beijing", "Tianjin", "Guangzhou"],
        "lat": [39.9, 39.34, 23.13],
        "lon": [116.41, 117.36, 113.26],
    }
)
ORDERS = pd.DataFrame(
    {
        "channel_id": ["web", "web", "web"],
        "order_id": ["1", "2", "3"],
        "customer_id": ["c1", "c2", "c3"],
        "order_ts": [T, T + H, T + 2 * H],
        "status": "paid",
        "city": ["BEIJING", "Tianjin", "Guangzhou"],
    }
)
LINES = pd.DataFrame(
    {
        "channel_id": "web",
        "order_id": ["1", "1", "2"],
        "sku": ["A", "B", "A"],
        "quantity": [2, 1, 1],
    }
)
PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "weight_kg": [0.5, 3.0]})
SHIPMENTS = pd.DataFrame(
    {
        "channel_id": "web",
        "order_id": ["3", "1"],
        "warehouse_id": ["S", "N"],
        "promised_ts": T + 48 * H,
        "shipped_ts": T + 5 * H,
        "delivered_ts": T + 30 * H,
        "carrier": "Fast",
    }
)


def test_orders_for_logistics_with_shipments_by_hand():
    fulfilled, delay_orders, n = orders_for_logistics(
        ORDERS, LINES, WAREHOUSES, SHIPMENTS, LOCATIONS, None, PRODUCTS
    )
    assert n == 3
    # orders 1 and 3 have a shipment; 1 weighs 2 x 0.5 + 3.0 kg, 3 has no lines (1 kg)
    got = fulfilled.set_index("order_id")
    assert got.index.tolist() == ["1", "3"]
    assert got["warehouse_id"].tolist() == ["N", "S"]
    assert got["weight_kg"].tolist() == [4.0, 1.0]
    assert got.loc["1", "region"] == "Beijing"
    assert list(delay_orders.columns) == ["channel_id", "order_id", "order_ts", "city"]
    assert delay_orders["order_id"].tolist() == ["1", "3"]


def test_orders_for_logistics_without_warehouses_keeps_every_order_for_delays():
    fulfilled, delay_orders, n = orders_for_logistics(ORDERS.drop(columns="city"), LINES, None)
    assert fulfilled.empty and {"warehouse_id", "region", "weight_kg"} <= set(fulfilled.columns)
    assert n == 3 and delay_orders["order_id"].tolist() == ["1", "2", "3"]
    assert list(delay_orders.columns) == ["channel_id", "order_id", "order_ts"]


def test_orders_for_logistics_needs_order_times():
    with pytest.raises(ValueError, match="order_ts"):
        orders_for_logistics(ORDERS.drop(columns="order_ts"), LINES, WAREHOUSES, SHIPMENTS)


def test_order_span_days():
    assert order_span_days(pd.Series([T, T + 36 * H])) == 1.5
    assert order_span_days(pd.Series([T, T + 2 * H])) == 1.0  # at least a day
    with pytest.raises(ValueError, match="no order timestamps"):
        order_span_days(pd.Series([], dtype="datetime64[ns, UTC]"))


def test_allocation_inputs_by_hand():
    fulfilled = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "channel_id": ["web", "web", "web", "jd"],
            "order_ts": [T, T + 24 * H, T + 48 * H, T],
            "region": ["Beijing", "Beijing", "Tianjin", "Atlantis"],
            "weight_kg": [1.0, 3.0, 2.0, 1.0],
        }
    )
    supply, demand, cost = allocation_inputs(fulfilled, WAREHOUSES, LOCATIONS, 0.01, 5.0)
    assert supply.to_dict() == {"N": 10.0, "S": 30.0} and supply.dtype == float
    # two days of orders; Atlantis has no coordinates and is left out
    assert demand.index.names == ["region", "channel"]
    assert demand.to_dict() == {("Beijing", "web"): 1.0, ("Tianjin", "web"): 0.5}
    # from Beijing's warehouse to Beijing: 0 km, so the base cost plus its handling
    assert cost.loc["N", ("Beijing", "web")] == pytest.approx(5.0 + 1.0)
    assert cost.shape == (2, 2)
    with pytest.raises(ValueError, match="no order timestamps"):
        allocation_inputs(fulfilled.iloc[0:0], WAREHOUSES, LOCATIONS, 0.01, 5.0)
