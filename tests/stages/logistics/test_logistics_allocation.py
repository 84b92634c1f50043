"""Tests for channelops.stages.logistics.allocation: the transportation LP and its helpers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from channelops.stages.logistics import (
    ALLOCATION_COLUMNS,
    allocation_by_channel_own_warehouse,
    allocation_table,
    capacity_use,
    haversine_km,
    pooling_comparison,
    shipping_cost_matrix,
    solve_transportation,
)
from channelops.stages.logistics.allocation import EARTH_RADIUS_KM


def brute_force_2xn(supply: pd.Series, demand: pd.Series, cost: pd.DataFrame) -> float:
    """Cheapest integer allocation with two warehouses, by enumerating warehouse 1's flows.

    Transportation problems with integer supplies and demands have integer optimal vertices,
    so the integer optimum is the LP optimum.
    """
    (w1, w2), d = supply.index, [int(v) for v in demand]
    c1, c2 = (cost.loc[w, demand.index].tolist() for w in (w1, w2))
    best = math.inf
    for x1 in itertools.product(*(range(dj + 1) for dj in d)):
        x2 = [dj - xj for dj, xj in zip(d, x1, strict=True)]
        if sum(x1) <= supply[w1] and sum(x2) <= supply[w2]:
            total = sum(a * x for a, x in zip(c1, x1, strict=True)) + sum(
                b * x for b, x in zip(c2, x2, strict=True)
            )
            best = min(best, total)
    return best


@pytest.fixture
def small():
    """Two warehouses, three regions: Shanghai is cheap for everyone but has 50 orders/day."""
    supply = pd.Series({"SH": 50, "WH": 60}, name="capacity")
    demand = pd.Series({"east": 30, "central": 25, "south": 30}, name="orders")
    cost = pd.DataFrame(
        {"east": [4.0, 9.0], "central": [6.0, 5.0], "south": [7.0, 8.0]}, index=["SH", "WH"]
    )
    return supply, demand, cost


def _check_flows(result, supply, demand):
    shipped = result.flows.groupby("warehouse")["flow"].sum()
    for w, cap in supply.items():
        assert shipped.get(w, 0.0) <= cap + 1e-9
    received = result.flows.groupby("region")["flow"].sum()
    for r, need in demand.items():
        assert received.get(r, 0.0) + result.unmet[r] == pytest.approx(need)


# --------------------------------------------------------------------- known answers


def test_optimum_equals_brute_force(small):
    supply, demand, cost = small
    result = solve_transportation(supply, demand, cost)
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(brute_force_2xn(supply, demand, cost))
    # By hand: SH (full) serves east 30 at 4 and south 20 at 7 = 260; WH serves central 25
    # at 5 and the other 10 south at 8 = 205.
    assert result.total_cost == pytest.approx(465.0)
    _check_flows(result, supply, demand)
    assert list(result.flows.columns) == ["warehouse", "region", "flow", "unit_cost", "cost"]
    assert result.flows["cost"].sum() == pytest.approx(result.total_cost)


@pytest.mark.parametrize("seed", range(6))
def test_random_small_cases_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    demand = pd.Series(rng.integers(0, 8, size=3), index=["a", "b", "c"])
    total = int(demand.sum())
    s1 = int(rng.integers(0, total + 1))
    supply = pd.Series({"w1": s1, "w2": total - s1 + int(rng.integers(0, 4))})
    cost = pd.DataFrame(
        rng.integers(1, 20, size=(2, 3)).astype(float), index=supply.index, columns=demand.index
    )
    result = solve_transportation(supply, demand, cost)
    assert result.total_cost == pytest.approx(brute_force_2xn(supply, demand, cost))
    _check_flows(result, supply, demand)


def test_shadow_price_equals_cost_change_with_one_more_unit(small):
    supply, demand, cost = small
    base = solve_transportation(supply, demand, cost)
    # SH is full (50 of 50) and cheaper than WH for the south: one more order/day of SH
    # capacity moves one south order from WH (8) to SH (7), saving 1.
    assert base.shadow_prices["SH"] == pytest.approx(1.0)
    assert base.shadow_prices["WH"] == pytest.approx(0.0)
    for w in supply.index:
        bigger = supply.copy()
        bigger[w] += 1
        again = solve_transportation(bigger, demand, cost)
        assert base.total_cost - again.total_cost == pytest.approx(base.shadow_prices[w])
    more = demand.copy()
    more["east"] += 1
    assert solve_transportation(supply, more, cost).total_cost - base.total_cost == pytest.approx(
        base.demand_prices["east"]
    )
    assert base.utilisation["SH"] == pytest.approx(1.0)


def test_unmet_demand_at_a_penalty(small):
    supply, demand, cost = small
    demand = demand + 15  # 130 orders/day against 110 of capacity
    with pytest.raises(ValueError, match="exceeds total capacity 110"):
        solve_transportation(supply, demand, cost)
    result = solve_transportation(supply, demand, cost, unmet_penalty=100.0)
    assert result.unmet.sum() == pytest.approx(20.0)
    assert result.total_cost == pytest.approx(result.shipping_cost + 100.0 * 20.0)
    _check_flows(result, supply, demand)
    # A penalty below every lane's cost leaves everything unshipped.
    cheap = solve_transportation(supply, demand, cost, unmet_penalty=1.0)
    assert cheap.unmet.sum() == pytest.approx(demand.sum())
    assert cheap.flows.empty


# --------------------------------------------------------------------- channels


@pytest.fixture
def channels():
    """Two channels in two regions; the web store owns SH, the marketplace owns WH."""
    supply = pd.Series({"SH": 40, "WH": 40})
    demand = pd.Series(
        {
            ("east", "web"): 10,
            ("central", "web"): 20,
            ("east", "tmall"): 20,
            ("central", "tmall"): 10,
        }
    )
    demand.index.names = ["region", "channel"]
    cost = pd.DataFrame({"east": [2.0, 6.0], "central": [6.0, 2.0]}, index=["SH", "WH"])
    return supply, demand, cost, {"web": ["SH"], "tmall": ["WH"]}


def test_pooled_is_cheaper_than_own_warehouses(channels):
    supply, demand, cost, owned = channels
    pooled = solve_transportation(supply, demand, cost)
    separate = allocation_by_channel_own_warehouse(supply, demand, cost, owned)
    # Pooled: every order from its region's warehouse at 2 -> 60 x 2 = 120.
    assert pooled.total_cost == pytest.approx(120.0)
    # Separate: web east 10x2 + web central 20x6 + tmall east 20x6 + tmall central 10x2.
    assert separate.total_cost == pytest.approx(280.0)
    assert list(separate.flows.columns) == [
        "warehouse",
        "region",
        "channel",
        "flow",
        "unit_cost",
        "cost",
    ]
    assert set(separate.flows.loc[separate.flows["channel"] == "web", "warehouse"]) == {"SH"}
    assert set(separate.flows.loc[separate.flows["channel"] == "tmall", "warehouse"]) == {"WH"}
    table = pooling_comparison(supply, demand, cost, owned)
    assert list(table.index) == ["pooled", "separate"]
    assert table.loc["pooled", "total_cost"] <= table.loc["separate", "total_cost"]
    assert table.loc["separate", "cost_per_order"] == pytest.approx(280.0 / 60)


def test_channel_specific_costs(channels):
    supply, demand, _, _ = channels
    cost = pd.DataFrame(1.0, index=supply.index, columns=demand.index)
    cost.loc["WH", ("east", "web")] = 0.5
    result = solve_transportation(supply, demand, cost)
    assert result.total_cost == pytest.approx(60 - 0.5 * 10)


def test_own_warehouse_too_small_needs_penalty(channels):
    supply, demand, cost, owned = channels
    supply = pd.Series({"SH": 20, "WH": 60})  # web needs 30 but owns only 20
    with pytest.raises(ValueError, match="infeasible"):
        allocation_by_channel_own_warehouse(supply, demand, cost, owned)
    result = allocation_by_channel_own_warehouse(supply, demand, cost, owned, unmet_penalty=50.0)
    assert result.unmet.sum() == pytest.approx(10.0)


# --------------------------------------------------------------------- shipping cost


def test_haversine_known_distances():
    assert haversine_km(0, 0, 1, 0) == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360)
    assert haversine_km(0, 0, 0, 90) == pytest.approx(math.pi * EARTH_RADIUS_KM / 2)
    assert haversine_km(31.23, 121.47, 31.23, 121.47) == 0
    # Beijing to Shanghai, about 1,070 km by great circle.
    assert haversine_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, abs=5)
    assert haversine_km(10, 20, -30, 40) == pytest.approx(haversine_km(-30, 40, 10, 20))


def test_shipping_cost_matrix():
    warehouses = pd.DataFrame(
        {"warehouse_id": ["SH", "BJ"], "lat": [31.2304, 39.9042], "lon": [121.4737, 116.4074]}
    )
    regions = pd.DataFrame(
        {
            "city": ["Shanghai", "Beijing", "Equator"],
            "lat": [31.2304, 39.9042, 0.0],
            "lon": [121.4737, 116.4074, 0.0],
        }
    )
    cost = shipping_cost_matrix(
        warehouses, regions, weight_kg=2.0, cost_per_km_kg=0.01, base_cost=5.0
    )
    assert cost.shape == (2, 3)
    assert cost.loc["SH", "Shanghai"] == pytest.approx(5.0)
    km = haversine_km(31.2304, 121.4737, 39.9042, 116.4074)
    assert cost.loc["SH", "Beijing"] == pytest.approx(5.0 + 0.01 * 2.0 * km)
    assert cost.loc["BJ", "Shanghai"] == pytest.approx(cost.loc["SH", "Beijing"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['lon'\]"):
        shipping_cost_matrix(warehouses.drop(columns="lon"), regions, 1, 1, 1)


# --------------------------------------------------------------------- bad input


def test_bad_inputs_are_rejected(small):
    supply, demand, cost = small
    with pytest.raises(ValueError, match=r"no row for warehouse\(s\) \['XX'\]"):
        solve_transportation(pd.concat([supply, pd.Series({"XX": 5})]), demand, cost)
    with pytest.raises(ValueError, match="no column for demand key"):
        solve_transportation(supply, pd.concat([demand, pd.Series({"west": 1})]), cost)
    with pytest.raises(ValueError, match="supply must be finite and non-negative"):
        solve_transportation(supply * -1, demand, cost)
    with pytest.raises(ValueError, match="duplicate keys"):
        solve_transportation(pd.Series([1, 2], index=["SH", "SH"]), demand, cost)
    with pytest.raises(ValueError, match="unmet_penalty"):
        solve_transportation(supply, demand, cost, unmet_penalty=-1)
    no_lane = cost.copy()
    no_lane["south"] = np.nan
    with pytest.raises(ValueError, match="no warehouse may serve"):
        solve_transportation(supply, demand, no_lane)
    with pytest.raises(TypeError, match="DataFrame"):
        solve_transportation(supply, demand, cost.to_numpy())


def test_own_warehouse_needs_every_channel(channels):
    supply, demand, cost, _ = channels
    with pytest.raises(ValueError, match=r"no entry for channel\(s\) \['tmall'\]"):
        allocation_by_channel_own_warehouse(supply, demand, cost, {"web": ["SH"]})
    with pytest.raises(ValueError, match="unknown warehouse"):
        allocation_by_channel_own_warehouse(supply, demand, cost, {"web": ["SH"], "tmall": ["GZ"]})


# --------------------------------------------------------------------- the allocation table


@pytest.fixture
def tight(channels):
    """The channels case with Shanghai cut to 25 orders/day: pooled, 5 east orders go from
    Wuhan at 6 instead of 2 (shadow price 4); own warehouses, web's 30 orders fit only 25
    into Shanghai and 5 central ones go unmet at 50 instead of 6 (shadow price 44)."""
    _, demand, cost, owned = channels
    supply = pd.Series({"SH": 25, "WH": 60})
    pooled = solve_transportation(supply, demand, cost)
    own = allocation_by_channel_own_warehouse(supply, demand, cost, owned, unmet_penalty=50.0)
    return supply, pooled, own


def test_allocation_table_by_hand(tight):
    _, pooled, own = tight
    table = allocation_table({"pooled": pooled, "own_warehouse": own})
    assert list(table.columns) == ALLOCATION_COLUMNS
    assert table["policy"].unique().tolist() == ["pooled", "own_warehouse"]
    per_policy = table.groupby("policy", sort=False)[["flow", "cost"]].sum()
    # pooled: 25 x 2 + 5 x 6 + 30 x 2 = 140 over 60 orders; own: 20 + 90 + 120 + 20 = 250
    # over 55 (the other 5 unmet)
    assert per_policy.loc["pooled"].tolist() == pytest.approx([60.0, 140.0])
    assert per_policy.loc["own_warehouse"].tolist() == pytest.approx([55.0, 250.0])
    sh = table[table["warehouse"] == "SH"].groupby("policy")["shadow_price"].unique()
    assert sh["pooled"].tolist() == pytest.approx([4.0])
    assert sh["own_warehouse"].tolist() == pytest.approx([44.0])


def test_allocation_table_needs_channel_keyed_results(small):
    supply, demand, cost = small
    by_region = solve_transportation(supply, demand, cost)
    with pytest.raises(ValueError, match="no channel"):
        allocation_table({"pooled": by_region})
    with pytest.raises(ValueError, match="no allocations"):
        allocation_table({})


def test_capacity_use_by_hand(tight):
    supply, pooled, own = tight
    use = capacity_use(supply, pooled, own)
    assert use.loc["SH"].tolist() == pytest.approx([25, 1.0, 4.0, 1.0, 44.0])
    # Wuhan ships 35 of 60 pooled, 30 of 60 on its own
    assert use.loc["WH"].tolist() == pytest.approx([60, 35 / 60, 0.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="not in supply"):
        capacity_use(supply.drop("WH"), pooled, own)
