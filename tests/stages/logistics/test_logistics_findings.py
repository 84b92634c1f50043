"""Tests for channelops.stages.logistics.findings: each sentence states its numbers, and
turns when the data turn (cheaper/dearer, full/spare, with or without distances)."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import (
    TransportResult,
    allocation_finding,
    delay_finding,
    order_flow_finding,
    routing_finding,
    staffing_finding,
)


def result(total: float, prices: dict[str, float]) -> TransportResult:
    s = pd.Series(prices, dtype=float)
    return TransportResult(
        flows=pd.DataFrame(),
        total_cost=total,
        shipping_cost=total,
        shadow_prices=s,
        demand_prices=pd.Series(dtype=float),
        unmet=pd.Series(dtype=float),
        utilisation=s,
        status="optimal",
    )


def _totals(breaches: tuple[int, int], late: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"orders": [1200, 1200], "sla_breaches": list(breaches), "mean_hours_late": list(late)},
        index=["fifo", "priority"],
    )


def test_order_flow_finding_gives_the_gain_and_its_price():
    # fewer late orders by priority, but the ones still late are later: both said
    text = order_flow_finding(_totals((306, 208), (30.3, 46.5)), 14)
    assert text == (
        "In the 14 busiest days, 306 of 1,200 orders (25.5%) shipped after their deadline "
        "first in first out and 208 (17.3%) by priority: priority keeps 98 more orders on "
        "time. The price: an order that is late anyway is later by priority, 46.5 h past its "
        "deadline on average against 30.3 h first in first out."
    )


def test_order_flow_finding_turns_with_the_numbers():
    worse = order_flow_finding(_totals((40, 52), (12.0, 8.0)), 7)
    assert "40 of 1,200 orders (3.3%)" in worse and "52 (4.3%) by priority" in worse
    assert "priority makes 12 more orders late." in worse
    assert worse.endswith("less late by priority: 8.0 h past their deadline on average "
                          "against 12.0 h first in first out.")  # fmt: skip
    same = order_flow_finding(_totals((5, 5), (3.0, 3.0)), 7)
    assert ": the same number." in same and same.endswith(
        "3.0 h past their deadline on average under both."
    )
    none = order_flow_finding(_totals((0, 0), (0.0, 0.0)), 7)
    assert none == (
        "In the 7 busiest days, none of the 1,200 orders shipped after its deadline under "
        "either policy, so the packing order does not matter in this window."
    )
    # all late orders saved: no lateness to compare
    saved = order_flow_finding(_totals((3, 0), (5.0, 0.0)), 7)
    assert saved.endswith("priority keeps 3 more orders on time.")
    with pytest.raises(ValueError, match="priority"):
        order_flow_finding(_totals((1, 1), (1.0, 1.0)).loc[["fifo"]], 14)


def test_allocation_finding_names_the_full_warehouse_or_says_none_is():
    full = allocation_finding(result(1000, {"N": 0.0, "S": 2.5}), result(1300, {"N": 0.0}), "CNY")
    assert full.startswith(
        "Letting every channel use every warehouse costs 1,000 CNY a day against 1,300 CNY"
    )
    assert full.endswith("is S at 2.50 CNY a day per extra order of daily capacity.")
    spare = allocation_finding(result(1000, {"N": 0.0, "S": 0.0}), result(1300, {}), "CNY")
    assert spare.endswith(
        "no warehouse is full in the pooled plan, so extra capacity would save nothing."
    )
    with pytest.raises(ValueError, match="no warehouses"):
        allocation_finding(result(0, {}), result(0, {}), "CNY")


def test_routing_finding_says_cheaper_or_dearer():
    summary = pd.DataFrame({"distance_km": [1234.4], "vehicles": [3]}, index=["pyvrp"])
    day = pd.Timestamp("2024-03-02")
    assert routing_finding(day, "W1", summary, 0.25) == (
        "On 2024-03-02 PyVRP routes W1's parcels in 1,234 km with 3 vehicles, 25% cheaper than "
        "the nearest-neighbour rule."
    )
    assert "10% dearer than" in routing_finding(day, "W1", summary, -0.1)
    with pytest.raises(ValueError, match="pyvrp"):
        routing_finding(day, "W1", summary.rename(index={"pyvrp": "x"}), 0.25)


def test_delay_finding_with_and_without_distances():
    overall = pd.Series({"on_time_rate": 0.786})
    speeds = pd.DataFrame({"level": ["Fast", "Mid", "Slow"], "coef_h": [10.0, 20.0, 30.0]})
    assert delay_finding(overall, speeds) == (
        "79% of deliveries arrive on time; at equal distance, channel and handling the fastest "
        "carrier is Fast and the slowest Slow."
    )
    assert delay_finding(overall, speeds.iloc[0:0]).endswith(
        "; without distances the carriers' speeds are not compared."
    )
    with pytest.raises(ValueError, match="on_time_rate"):
        delay_finding(pd.Series({"delivered": 3}), speeds)


def test_delay_finding_names_the_least_punctual_channel():
    overall = pd.Series({"on_time_rate": 0.786})
    speeds = pd.DataFrame({"level": ["Fast", "Slow"], "coef_h": [10.0, 30.0]})
    channels = pd.DataFrame(
        {"key": ["amazon_us", "tmall", "jd"], "delivered": [808, 4736, 2929],
         "on_time_rate": [0.403, 0.847, 0.672]}
    )  # fmt: skip
    assert delay_finding(overall, speeds, channels) == (
        "79% of deliveries arrive on time, from 40% of 808 on amazon_us, the least punctual "
        "channel, to 85% on tmall; at equal distance, channel and handling the fastest carrier "
        "is Fast and the slowest Slow."
    )
    channels.loc[0, "on_time_rate"] = 0.95  # amazon_us now the most punctual
    assert "from 67% of 2,929 on jd, the least punctual channel, to 95% on amazon_us" in (
        delay_finding(overall, speeds, channels)
    )
    one = delay_finding(overall, speeds, channels.iloc[:1])  # one channel: nothing to compare
    assert one.startswith("79% of deliveries arrive on time; at equal")


def test_staffing_finding_says_cheaper_or_dearer():
    staffing = pd.DataFrame({"queue": ["a", "pooled", "pooled"], "scheduled_agents": [4, 2, 6]})
    assert staffing_finding(staffing, 200.0, 150.0, 0.8, 20) == (
        "Answering 80% of contacts within 20 s needs up to 6 scheduled agents an hour on one "
        "pooled desk, 25% cheaper than a desk per channel."
    )
    assert "50% dearer than" in staffing_finding(staffing, 100.0, 150.0, 0.8, 20)
    with pytest.raises(ValueError, match="separate_cost"):
        staffing_finding(staffing, 0.0, 150.0, 0.8, 20)
    with pytest.raises(ValueError, match="pooled queue"):
        staffing_finding(staffing[staffing["queue"] == "a"], 200.0, 150.0, 0.8, 20)
