"""Tests for channelops.stages.logistics.simulation: the order-flow simulation, FIFO vs priority.

The hand-made cases use one warehouse with one packer working round the clock, no check
time, no stock-outs, a fixed pack time of one hour and no pickup schedule (a parcel ships
when packed), so every start and end time can be worked out on paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages.logistics import (
    SIM_COLUMNS,
    SimConfig,
    busiest_window,
    dispatch_sla_hours,
    packers_per_warehouse,
    packing_pace,
    parse_hours,
    parse_shifts,
    priority_scores,
    simulate_order_flow,
    simulation_summary,
)
from channelops.stages.logistics.simulation import next_pickup

T0 = pd.Timestamp("2024-03-04")  # a Monday, local midnight
PLAIN = SimConfig(
    check_minutes=0,
    stockout_prob=0,
    pack_minutes=60,
    pack_minutes_per_unit=0,
    pack_cv=0,
    shifts=((0, 24, 1.0),),
    pickup_hours=(),
    value_weight_h=0,
    customer_weight_h=0,
)
ONE = pd.Series({"W": 1})


def make_orders(rows: list[tuple[str, float, float]], **extra) -> pd.DataFrame:
    """Orders (id, arrival hour, deadline hour) at warehouse W, one unit each."""
    ids, arrive, due = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "order_id": list(ids),
            "channel_id": "web",
            "warehouse_id": "W",
            "units": 1,
            "order_ts": T0 + pd.to_timedelta(arrive, unit="h"),
            "deadline_ts": T0 + pd.to_timedelta(due, unit="h"),
            **extra,
        }
    )


def by_policy(result: pd.DataFrame, policy: str) -> pd.DataFrame:
    return result[result["policy"] == policy].set_index("order_id")


def test_hand_case_all_ready_at_once():
    # D, B, C, A arrive together; deadlines 0.5, 1, 2, 3 h; each takes 1 h.
    # FIFO packs D B C A, ending at 1 2 3 4: every order is late (4 breaches).
    # Priority: D cannot make 0.5 h whatever happens, so it is set aside; B C A end at
    # 1 2 3 (all on time) and D at 4: 1 breach.
    orders = make_orders([("D", 0, 0.5), ("B", 0, 1), ("C", 0, 2), ("A", 0, 3)])
    res = simulate_order_flow(orders, ONE, PLAIN, start=T0)
    fifo, prio = by_policy(res, "fifo"), by_policy(res, "priority")
    assert fifo.loc[["D", "B", "C", "A"], "ship_h"].tolist() == [1, 2, 3, 4]
    assert prio.loc[["B", "C", "A", "D"], "ship_h"].tolist() == [1, 2, 3, 4]
    assert fifo["breach"].sum() == 4
    assert prio["breach"].sum() == 1 and prio.loc["D", "breach"]
    assert prio.loc["D", "late_hours"] == pytest.approx(3.5)
    summary = simulation_summary(res).set_index(["policy", "channel_id"])
    assert summary.loc[("fifo", "all"), "sla_breaches"] == 4
    assert summary.loc[("priority", "all"), "sla_breaches"] == 1
    assert summary.loc[("fifo", "all"), "mean_cycle_hours"] == pytest.approx(2.5)


def test_hand_case_staggered_arrivals():
    # A arrives at 0 and is packed 0-1. C (0.2 h, due 10), D (0.3 h, due 10) and B (0.5 h,
    # due 2) wait. FIFO: C 1-2, D 2-3, B 3-4 -> B late by 2 h. Priority takes B at 1 h
    # (earliest deadline): B 1-2 on time, then C 2-3, D 3-4: no breach.
    orders = make_orders([("A", 0, 10), ("C", 0.2, 10), ("D", 0.3, 10), ("B", 0.5, 2)])
    res = simulate_order_flow(orders, ONE, PLAIN, start=T0)
    fifo, prio = by_policy(res, "fifo"), by_policy(res, "priority")
    assert fifo.loc[["A", "C", "D", "B"], "pack_start_h"].tolist() == [0, 1, 2, 3]
    assert prio.loc[["A", "B", "C", "D"], "pack_start_h"].tolist() == [0, 1, 2, 3]
    assert fifo["breach"].sum() == 1 and fifo.loc["B", "late_hours"] == pytest.approx(2)
    assert prio["breach"].sum() == 0
    assert fifo.loc["B", "cycle_hours"] == pytest.approx(3.5)


def test_value_weight_moves_an_order_forward():
    # Two orders ready together, deadlines 5 h and 6 h; the second is the most valuable
    # (value_score 1) and a 2 h value weight makes its effective deadline 4 h.
    orders = make_orders(
        [("cheap", 0, 5), ("dear", 0, 6)], value_score=[0.0, 1.0], customer_score=[0.0, 0.0]
    )
    cfg = SimConfig(**{**PLAIN.__dict__, "value_weight_h": 2.0})
    prio = by_policy(simulate_order_flow(orders, ONE, cfg, start=T0), "priority")
    assert prio.loc["dear", "pack_start_h"] == 0 and prio.loc["cheap", "pack_start_h"] == 1
    no_weight = by_policy(simulate_order_flow(orders, ONE, PLAIN, start=T0), "priority")
    assert no_weight.loc["cheap", "pack_start_h"] == 0


def test_shifts_and_pickups():
    # One packer on 8-16 only, pickups at 11 and 17. An order arriving at 17:00 on day 0
    # waits for the 8:00 shift next day (32 h), is packed by 33 h and leaves at the 11:00
    # pickup (35 h); one arriving at 9:00 is packed 9-10 and leaves at 11:00.
    cfg = SimConfig(**{**PLAIN.__dict__, "shifts": ((8, 16, 1.0),), "pickup_hours": (11, 17)})
    orders = make_orders([("late", 17, 40), ("early", 9, 12)])
    fifo = by_policy(simulate_order_flow(orders, ONE, cfg, policies=["fifo"], start=T0), "fifo")
    assert fifo.loc["late", ["pack_start_h", "pack_end_h", "ship_h"]].tolist() == [32, 33, 35]
    assert fifo.loc["early", ["pack_start_h", "ship_h"]].tolist() == [9, 11]
    assert fifo.loc["late", "cycle_hours"] == pytest.approx(18)
    assert not fifo["breach"].any()


def test_check_and_stockout_delay_every_order_the_same_way():
    cfg = SimConfig(
        **{**PLAIN.__dict__, "check_minutes": 30, "stockout_prob": 1.0, "restock_hours": 5}
    )
    res = simulate_order_flow(make_orders([("x", 0, 100)]), ONE, cfg, start=T0)
    assert res["ready_h"].tolist() == [5.5, 5.5]
    assert res["ship_h"].tolist() == [6.5, 6.5]


def test_priority_beats_fifo_on_an_overloaded_two_channel_warehouse():
    # Random arrivals at 1.2x a single packer's rate for two days, half with a 4 h
    # deadline and half with 48 h: packing by deadline saves most of the urgent orders.
    rng = np.random.default_rng(3)
    n = 90
    arrive = np.sort(rng.uniform(0, 48, n))
    urgent = rng.random(n) < 0.5
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "channel_id": np.where(urgent, "express", "standard"),
            "warehouse_id": "W",
            "units": 1,
            "order_ts": T0 + pd.to_timedelta(arrive, unit="h"),
            "deadline_ts": T0 + pd.to_timedelta(arrive + np.where(urgent, 4, 48), unit="h"),
        }
    )
    cfg = SimConfig(**{**PLAIN.__dict__, "pack_minutes": 38, "pack_cv": 0.3})
    summary = simulation_summary(simulate_order_flow(orders, ONE, cfg, seed=1, start=T0))
    total = summary[summary["channel_id"] == "all"].set_index("policy")["sla_breaches"]
    assert total["priority"] < total["fifo"]
    express = summary[summary["channel_id"] == "express"].set_index("policy")["sla_breaches"]
    assert express["priority"] < express["fifo"]


def test_summary_columns_and_empty_input():
    assert SIM_COLUMNS[:7] == [
        "policy",
        "channel_id",
        "orders",
        "mean_cycle_hours",
        "p95_cycle_hours",
        "sla_breaches",
        "breach_rate",
    ]
    empty = simulate_order_flow(make_orders([("x", 0, 1)]).iloc[0:0], ONE, PLAIN)
    table = simulation_summary(empty)
    assert table.empty and list(table.columns) == SIM_COLUMNS


def test_packers_per_warehouse():
    # 8 h at full strength + 8 h at half = 12 packer-hours a day; 6 min an order.
    cfg = SimConfig(pack_minutes=6, shifts=((8, 16, 1.0), (16, 24, 0.5)))
    assert cfg.shift_hours == 12
    got = packers_per_warehouse(pd.Series({"a": 80, "b": 200, "c": 240}), cfg)
    assert got.to_dict() == {"a": 1, "b": 2, "c": 2}  # 0.67, 1.67, 2.0 packers
    assert packers_per_warehouse(pd.Series({"c": 240}), cfg, scale=1.5)["c"] == 3


def test_next_pickup():
    t = np.array([0.0, 10.99, 11.0, 11.5, 23.0, 30.0])
    assert next_pickup(t, (11, 17)).tolist() == pytest.approx([11, 11, 11, 17, 35, 35])
    assert next_pickup(t, ()).tolist() == t.tolist()
    # shifted clock: 2 h on the clock is 10:00 local with a +8 h offset
    assert next_pickup(np.array([2.0]), (11,), tz=8).tolist() == [3.0]


def test_next_pickup_of_one_time_is_the_vectorised_value():
    # the priority policy's per-order check (_next_pickup_at) must give next_pickup's
    # value bit for bit, or the simulation would take other decisions
    from channelops.stages.logistics.simulation import _next_pickup_at

    t = np.array([0.0, 10.99, 11.0, 11.5, 23.0, 30.0, 16.9999999999, 47.25, 1e-12, 100.1])
    for hours, tz in (((11, 17), 0.0), ((22, 11, 17), 8.0), ((11.5,), -5.0), ((), 3.0)):
        want = next_pickup(t, hours, tz)
        got = [_next_pickup_at(float(x), sorted(float(h) for h in hours), tz) for x in t]
        assert got == want.tolist()
    assert _next_pickup_at(23.0, [11.0, 17.0], 0.0) == 35.0  # past the last: next day's first
    assert _next_pickup_at(2.0, [11.0], 8.0) == 3.0  # 10:00 local with a +8 h offset


def test_busiest_window():
    days = ["2024-01-01"] * 2 + ["2024-01-03"] * 5 + ["2024-01-04"] * 4 + ["2024-01-09"] * 6
    ts = pd.Series(pd.to_datetime(days) + pd.Timedelta(hours=9))
    assert busiest_window(ts, 2) == (pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-05"))
    assert busiest_window(ts, 1) == (pd.Timestamp("2024-01-09"), pd.Timestamp("2024-01-10"))
    with pytest.raises(ValueError, match="at least 1"):
        busiest_window(ts, 0)


def test_dispatch_sla_hours():
    t = pd.Timestamp("2024-05-01 10:00")
    h = pd.Timedelta(hours=1)
    ships = pd.DataFrame(
        {
            "channel_id": ["a", "a", "a", "b"],
            "order_ts": [t] * 4,
            "promised_ts": [t + 72 * h] * 3 + [t + 48 * h],
            "shipped_ts": [t + 10 * h] * 4,
            "delivered_ts": [t + 30 * h, t + 40 * h, pd.NaT, t + 60 * h],
        }
    )
    # a: promise 72 h, median transit of the delivered ones (20, 30) = 25 h -> 47 h.
    # b: 48 - 50 < 0 -> the floor.
    got = dispatch_sla_hours(ships, min_hours=24)
    assert got["a"] == pytest.approx(47) and got["b"] == pytest.approx(24)


def test_priority_scores():
    orders = pd.DataFrame(
        {"revenue_base": [10.0, 30.0, 20.0, 40.0], "customer_id": ["x", "y", "x", None]}
    )
    s = priority_scores(orders)
    assert s["value_score"].tolist() == [0.25, 0.75, 0.5, 1.0]
    # spends: x 30 (two orders), y 30; no customer -> 0
    assert s["customer_score"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 0.0])


def test_parsers_and_bad_input():
    assert parse_shifts("8-16:1.0, 16-24:0.6") == ((8, 16, 1.0), (16, 24, 0.6))
    assert parse_shifts("0-24") == ((0, 24, 1.0),)
    assert parse_hours("17, 11") == (11.0, 17.0) and parse_hours("") == ()
    with pytest.raises(ValueError, match="start-end:share"):
        parse_shifts("morning")
    with pytest.raises(ValueError, match="bad shift"):
        SimConfig(shifts=((16, 8, 1.0),))
    with pytest.raises(ValueError, match="stockout_prob"):
        SimConfig(stockout_prob=1.5)
    orders = make_orders([("x", 0, 1)])
    with pytest.raises(ValueError, match="deadline_ts"):
        simulate_order_flow(orders.drop(columns="deadline_ts"), ONE, PLAIN)
    with pytest.raises(ValueError, match="no packers given for warehouse"):
        simulate_order_flow(orders, pd.Series({"other": 1}), PLAIN)
    with pytest.raises(ValueError, match="unknown policy"):
        simulate_order_flow(orders, ONE, PLAIN, policies=["lifo"])


def test_packing_pace_makes_a_day_pack_the_capacity():
    # One shift 8-16 for everyone: 2 packers give 16 packer-hours; 80 orders of 6 min need
    # 8 h, so each pack takes twice as long (pace 2); at scale 0.5 four times as long.
    cfg = SimConfig(pack_minutes=6, pack_cv=0, shifts=((8, 16, 1.0),))
    cap = pd.Series({"W": 80})
    assert packing_pace(cap, pd.Series({"W": 2}), cfg)["W"] == pytest.approx(2)
    assert packing_pace(cap, pd.Series({"W": 2}), cfg, scale=0.5)["W"] == pytest.approx(4)
    # A share rounds per shift: 1 packer x 0.6 on 16-24 still works that shift (16 h).
    cfg2 = SimConfig(pack_minutes=6, pack_cv=0, shifts=((8, 16, 1.0), (16, 24, 0.6)))
    assert packing_pace(cap, pd.Series({"W": 1}), cfg2)["W"] == pytest.approx(2)
    # And the simulation uses it: one order, 1 h pack time, pace 2 -> ships at 2 h.
    res = simulate_order_flow(
        make_orders([("x", 0, 10)]), ONE, PLAIN, start=T0, pace=pd.Series({"W": 2.0})
    )
    assert res["ship_h"].tolist() == [2.0, 2.0]


def _busy_window(n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    """Two overloaded warehouses over two days: orders queue, both policies reorder them."""
    rng = np.random.default_rng(11)
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "channel_id": rng.choice(["a", "b"], n),
            "warehouse_id": rng.choice(["W1", "W2"], n),
            "units": rng.integers(1, 4, n),
            "order_ts": T0 + pd.to_timedelta(np.sort(rng.random(n)) * 48, unit="h"),
            "value_score": rng.random(n),
            "customer_score": rng.random(n),
        }
    )
    orders["deadline_ts"] = orders["order_ts"] + pd.Timedelta(hours=12)
    return orders, pd.Series({"W1": 1, "W2": 2})


def test_policies_in_a_second_process_give_the_same_flow():
    # workers=2 simulates FIFO in a second Python process while this one runs priority;
    # every float must be the one the serial run gives.
    orders, packers = _busy_window()
    serial = simulate_order_flow(orders, packers, SimConfig(), seed=3, start=T0, workers=1)
    parallel = simulate_order_flow(orders, packers, SimConfig(), seed=3, start=T0, workers=2)
    assert serial["breach"].sum() > 0  # a queue that the policies order differently
    assert not serial.loc[serial["policy"] == "fifo", "pack_start_h"].equals(
        serial.loc[serial["policy"] == "priority", "pack_start_h"]
    )
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)


def test_a_failed_second_process_is_simulated_here(monkeypatch):
    from channelops.stages.logistics import packing

    orders, packers = _busy_window(60)
    serial = simulate_order_flow(orders, packers, SimConfig(), seed=3, start=T0, workers=1)
    monkeypatch.setattr(packing, "_WORKER", "import sys; sys.exit('no simulation today')")
    with pytest.warns(RuntimeWarning, match="no simulation today"):
        fallback = simulate_order_flow(orders, packers, SimConfig(), seed=3, start=T0, workers=2)
    pd.testing.assert_frame_equal(serial, fallback, check_exact=True)


def test_small_windows_stay_in_one_process(monkeypatch):
    from channelops.stages.logistics import packing

    def no_second_process(*args, **kwargs):
        raise AssertionError("a second process for a small window")

    monkeypatch.setattr(packing, "_Elsewhere", no_second_process)
    orders, packers = _busy_window(50)
    assert packing.PARALLEL_MIN_ORDERS > len(orders)
    res = simulate_order_flow(orders, packers, SimConfig(), seed=3, start=T0)
    assert len(res) == 100
