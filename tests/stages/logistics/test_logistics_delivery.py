"""Tests for channelops.stages.logistics.delivery: choosing the day and depot, the stops'
distances, the ``routes`` table with its full-load trips, and what each plan costs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from channelops.stages.logistics import (
    CVRPSolution,
    fixed_cost_in_km,
    route_cost_summary,
    route_orders,
    route_saving,
    routes_with_direct_trips,
    stop_distances,
    warehouse_row,
)
from channelops.stages.logistics.allocation import EARTH_RADIUS_KM
from channelops.stages.logistics.prepare import ROUTE_COLUMNS

D1, D2 = pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02")
FULFILLED = pd.DataFrame(
    {
        "order_id": ["1", "2", "3", "4"],
        "order_ts_local": [
            D1 + pd.Timedelta(hours=9),
            D2 + pd.Timedelta(hours=8),
            D2 + pd.Timedelta(hours=12),
            D2 + pd.Timedelta(hours=23),
        ],
        "warehouse_id": ["W1", "W1", "W2", "W2"],
    }
)
WAREHOUSES = pd.DataFrame(
    {
        "warehouse_id": ["N", "S"],
        "city": ["Beijing", "Guangzhou"],
        "lat": [39.9, 23.13],
        "lon": [116.41, 113.26],
    }
)
# depot and two cities: legs 0-1 = 1 km, 1-2 = 99 km, 2-0 = 100 km
STOPS = pd.DataFrame(
    {
        "node": [0, 1, 2],
        "city": ["W1 (Beijing)", "Tianjin", "Langfang"],
        "parcels": [0, 3, 5],
        "x_km": [0.0, 1.0, 0.0],
        "y_km": [0.0, 0.0, 100.0],
    }
)
DIST = np.array([[0, 1, 100], [1, 0, 99], [100, 99, 0]], dtype=float)
DIRECT = pd.DataFrame({"city": ["Tianjin"], "load": [10.0], "distance_km": [240.0]})
PLANS = {
    "pyvrp": CVRPSolution(routes=[[1, 2]], cost=200.0, n_vehicles=1, feasible=True, solver="pyvrp"),
    "nearest_neighbour": CVRPSolution(
        routes=[[1], [2]], cost=202.0, n_vehicles=2, feasible=True, solver="nearest_neighbour"
    ),
}


def test_route_orders_busiest_day_and_warehouse():
    day, wh, orders = route_orders(FULFILLED)
    # 2 March has three orders, two of them from W2
    assert day == D2 and wh == "W2" and orders["order_id"].tolist() == ["3", "4"]
    day, wh, orders = route_orders(FULFILLED, day="2024-03-01")
    assert day == D1 and wh == "W1" and orders["order_id"].tolist() == ["1"]
    day, wh, orders = route_orders(FULFILLED, warehouse="W1")
    assert day == D2 and orders["order_id"].tolist() == ["2"]
    with pytest.raises(ValueError, match="no fulfilled orders"):
        route_orders(FULFILLED.iloc[0:0])


def test_warehouse_row_carries_its_id():
    row = warehouse_row(WAREHOUSES, "S")
    assert row["city"] == "Guangzhou" and row["warehouse_id"] == "S"
    assert "warehouse_id" in warehouse_row(WAREHOUSES, "N").index
    with pytest.raises(KeyError):
        warehouse_row(WAREHOUSES, "X")


def test_stop_distances_one_degree_apart():
    stops = pd.DataFrame({"lat": [0.0, 0.0], "lon": [0.0, 1.0]})
    dist = stop_distances(stops)
    one_degree = 2 * math.pi * EARTH_RADIUS_KM / 360
    assert dist == pytest.approx(np.array([[0.0, one_degree], [one_degree, 0.0]]))
    with pytest.raises(ValueError, match="lat and lon"):
        stop_distances(pd.DataFrame({"lat": [0.0, np.nan], "lon": [0.0, 1.0]}))


def test_fixed_cost_in_km():
    assert fixed_cost_in_km(300.0, 3.0) == 100.0
    assert fixed_cost_in_km(300.0, 0.0) == 0.0  # free driving: vehicles cost no km
    with pytest.raises(ValueError, match="non-negative"):
        fixed_cost_in_km(-1.0, 3.0)


def test_routes_with_direct_trips_by_hand():
    routes = routes_with_direct_trips(PLANS, STOPS, DIST, DIRECT)
    assert list(routes.columns) == ROUTE_COLUMNS
    p = routes[routes["solver"] == "pyvrp"]
    # one round 0-1-2-0 (1 + 99 + 100 km), then the full load as vehicle 2
    assert p["vehicle"].tolist() == [1, 1, 1, 2]
    assert p["cum_km"].tolist() == [1.0, 100.0, 200.0, 240.0]
    assert p["city"].tolist() == ["Tianjin", "Langfang", "W1 (Beijing)", "Tianjin"]
    n = routes[routes["solver"] == "nearest_neighbour"]
    assert n["vehicle"].tolist() == [1, 1, 2, 2, 3]
    assert routes.groupby("solver")["distance_km"].sum().to_dict() == {
        "nearest_neighbour": 442.0,
        "pyvrp": 440.0,
    }
    with pytest.raises(ValueError, match="no route plans"):
        routes_with_direct_trips({}, STOPS, DIST, DIRECT)


def test_route_cost_summary_and_saving_by_hand():
    summary = route_cost_summary(PLANS, DIRECT, fixed_cost=300.0, cost_per_km=3.0)
    # pyvrp: 2 vehicles, 200 + 240 km -> 600 + 1320; nearest: 3 vehicles, 442 km -> 900 + 1326
    assert summary.loc["pyvrp", ["vehicles", "distance_km", "cost"]].tolist() == [2, 440.0, 1920.0]
    assert summary.loc["nearest_neighbour", "cost"] == 2226.0
    assert route_saving(summary) == pytest.approx(1 - 1920 / 2226)
    free = summary.assign(cost=0.0)
    assert route_saving(free) == 0.0
    with pytest.raises(ValueError, match="no cost for solver"):
        route_saving(summary.loc[["pyvrp"]])
    with pytest.raises(ValueError, match="non-negative"):
        route_cost_summary(PLANS, DIRECT, fixed_cost=-1.0, cost_per_km=3.0)
