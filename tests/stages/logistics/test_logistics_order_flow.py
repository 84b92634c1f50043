"""Tests for channelops.stages.logistics.order_flow: the simulation's inputs and read-outs,
on frames small enough to work out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import (
    breach_change,
    orders_in_window,
    policy_totals,
    ship_by_hours,
    simulation_orders,
    warehouse_load,
)

T = pd.Timestamp("2024-03-04 10:00")
H = pd.Timedelta(hours=1)


def shipped(rows):
    """rows: (channel, promise h, shipped h, delivered h) from an order at T."""
    return pd.DataFrame(
        {
            "channel_id": [r[0] for r in rows],
            "order_ts": T,
            "promised_ts": [T + r[1] * H for r in rows],
            "shipped_ts": [T + r[2] * H for r in rows],
            "delivered_ts": [T + r[3] * H for r in rows],
        }
    )


# --------------------------------------------------------------------- ship-by hours


def test_ship_by_hours_from_shipments_by_hand():
    # web: promise 72 h both times, transits 24 h and 30 h -> median 27 h -> ship by 45 h.
    # jd: promise 24 h, transit 20 h -> 4 h, raised to the 24 h floor.
    f = shipped([("web", 72, 10, 34), ("web", 72, 10, 40), ("jd", 24, 2, 22)])
    sla = ship_by_hours(f, True, min_hours=24.0, default_hours=48.0)
    assert sla.to_dict() == {"jd": 24.0, "web": 45.0}
    assert sla.name == "dispatch_sla_hours"


def test_ship_by_hours_default_without_shipments():
    f = pd.DataFrame({"channel_id": ["b", "a", "b"]})
    sla = ship_by_hours(f, False, min_hours=24.0, default_hours=48.0)
    assert sla.index.tolist() == ["a", "b"] and sla.index.name == "channel_id"
    assert sla.tolist() == [48.0, 48.0]
    # no orders: the default, over no channels, even with shipments
    assert ship_by_hours(f.iloc[0:0], True, 24.0, 48.0).empty


def test_ship_by_hours_rejects_bad_input():
    f = pd.DataFrame({"channel_id": ["a"]})
    with pytest.raises(ValueError, match="default_hours"):
        ship_by_hours(f, False, 24.0, 0.0)
    with pytest.raises(ValueError, match="promised_ts"):
        ship_by_hours(f, True, 24.0, 48.0)


# --------------------------------------------------------------------- simulation orders


def test_simulation_orders_deadlines_and_scores_by_hand():
    f = pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "channel_id": ["a", "a", "b"],
            "warehouse_id": "W",
            "units": [1, 2, 1],
            "revenue_base": [100.0, 50.0, 200.0],
            "customer_id": ["c1", "c1", "c2"],
            "order_ts_local": [T, T + H, T + 2 * H],
            "city": "x",
        }
    )
    got = simulation_orders(f, pd.Series({"a": 10.0}), default_hours=48.0)
    assert got["order_ts"].tolist() == f["order_ts_local"].tolist()
    # a ships within 10 h; b has no ship-by hours and gets the default 48 h
    assert got["deadline_ts"].tolist() == [T + 10 * H, T + 11 * H, T + 50 * H]
    # value ranks 2/3, 1/3, 1; customers spend 150, 150, 200 -> ranks 0.5, 0.5, 1
    assert got["value_score"].tolist() == pytest.approx([2 / 3, 1 / 3, 1.0])
    assert got["customer_score"].tolist() == pytest.approx([0.5, 0.5, 1.0])
    assert "city" not in got


def test_simulation_orders_needs_the_local_time():
    f = pd.DataFrame(
        columns=["order_id", "channel_id", "warehouse_id", "units", "revenue_base", "customer_id"]
    )
    with pytest.raises(ValueError, match="order_ts_local"):
        simulation_orders(f, pd.Series(dtype=float), 48.0)


# --------------------------------------------------------------------- window and load


def test_orders_in_window_keeps_start_and_drops_end():
    day = pd.Timestamp("2024-03-01")
    o = pd.DataFrame({"order_ts": [day, day + pd.Timedelta(days=1), day + pd.Timedelta(days=2)]})
    got = orders_in_window(o, day, day + pd.Timedelta(days=2))
    assert got.index.tolist() == [0, 1]
    with pytest.raises(ValueError, match="end after"):
        orders_in_window(o, day, day)


def test_warehouse_load_by_hand():
    capacity = pd.Series({"W1": 10, "W2": 20})
    window = pd.DataFrame({"warehouse_id": ["W1"] * 30})
    load = warehouse_load(
        capacity,
        pd.Series({"W1": 2, "W2": 3}),
        pd.Series({"W1": 1.0, "W2": 1.2}),
        window,
        days=2,
        scale=0.5,
    )
    # half the capacity: W1 5 a day against 15 orders a day (3x); W2 10 a day, no orders
    assert load["capacity per day"].tolist() == [5.0, 10.0]
    assert load["orders per day in the window"].tolist() == [15.0, 0.0]
    assert load["load"].tolist() == [3.0, 0.0]
    assert load["packers"].tolist() == [2, 3]
    with pytest.raises(ValueError, match="positive"):
        warehouse_load(capacity, capacity, capacity, window, days=0)


# --------------------------------------------------------------------- read-outs


SUMMARY = pd.DataFrame(
    {
        "policy": ["fifo", "fifo", "priority", "priority"],
        "channel_id": ["a", "all", "a", "all"],
        "orders": [10, 10, 10, 10],
        "sla_breaches": [4, 4, 1, 1],
    }
)


def test_policy_totals_and_breach_change_by_hand():
    tot = policy_totals(SUMMARY)
    assert tot.index.tolist() == ["fifo", "priority"]
    assert tot["sla_breaches"].tolist() == [4, 1]
    assert breach_change(tot) == pytest.approx(-0.75)  # 4 -> 1 breaches
    none = tot.assign(sla_breaches=[0, 2])
    assert breach_change(none) == 0.0  # no baseline breaches: no relative change


def test_read_outs_reject_missing_rows():
    with pytest.raises(ValueError, match="'all'"):
        policy_totals(SUMMARY[SUMMARY["channel_id"] != "all"])
    with pytest.raises(ValueError, match="priority"):
        breach_change(policy_totals(SUMMARY).loc[["fifo"]])
