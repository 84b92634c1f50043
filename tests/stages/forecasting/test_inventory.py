"""Inventory: hand-computed safety stock and reorder point, fill-rate factor, simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.shipments import warehouse_shares
from channelops.stages.forecasting import inventory as inv


def test_safety_stock_and_reorder_point_hand_computed():
    # z(0.95) = 1.644854; sigma 10/day; lead time 4 days -> SS = 1.644854 * 10 * 2
    assert inv.safety_stock(10.0, 4, 0.95) == pytest.approx(32.897073, abs=1e-5)
    # ROP = 20/day * 4 days + SS
    assert inv.reorder_point(20.0, 10.0, 4, 0.95) == pytest.approx(80 + 32.897073, abs=1e-5)
    # EOQ = sqrt(2 * 1000 * 50 / 4) = 158.11
    assert inv.economic_order_quantity(1000, 50, 4.0) == pytest.approx(158.113883, abs=1e-5)


def test_bad_service_level_and_lead_time_are_refused():
    with pytest.raises(ValueError, match="service_level"):
        inv.safety_stock(1.0, 4, 1.2)
    with pytest.raises(ValueError, match="lead_time"):
        inv.safety_stock(1.0, -1, 0.9)
    with pytest.raises(ValueError, match="fill_rate"):
        inv.fill_rate_safety_factor(1.0, 10, 5)


def test_fill_rate_factor_solves_the_loss_equation():
    # G(0) = phi(0) = 0.398942; Q = 10, sigma_L = 10, fill 0.960106 -> (1 - b) Q / s = 0.398942
    z = inv.fill_rate_safety_factor(1 - 0.398942, 10.0, 10.0)
    assert z == pytest.approx(0.0, abs=1e-3)
    z2 = inv.fill_rate_safety_factor(0.99, 50.0, 20.0)
    assert 20.0 * inv.normal_loss(z2) == pytest.approx(0.01 * 50.0, rel=1e-3)
    assert inv.fill_rate_safety_factor(0.95, 10.0, 0.0) == 0.0


def test_simulation_known_answer():
    """Demand 2/day, lead time 2, reorder point 4, Q 6, start with 6 on hand.

    day: on hand after sales, position -> order?
    0: 4, 4 <= 4 order 6 (arrives day 2)    1: 2, 8
    2: +6 -> 8 - 2 = 6, 6                   3: 4, order (arrives day 5)
    4: 2                                    5: 6 ... period 3 days, never short.
    """
    d = np.full((1, 9), 2.0)
    sim = inv.simulate_policy(d, np.array([4.0]), np.array([6.0]), 2, initial_stock=np.array([6.0]))
    assert sim["on_hand"][0].tolist() == [4, 2, 6, 4, 2, 6, 4, 2, 6]
    assert sim["served"][0] == 18 and sim["lost"][0] == 0 and sim["orders"][0] == 3
    assert sim["average_stock"][0] == pytest.approx(4.0)
    # a reorder point below lead-time demand runs out: lost sales are counted
    short = inv.simulate_policy(
        d, np.array([0.0]), np.array([6.0]), 2, initial_stock=np.array([6.0])
    )
    assert short["lost"][0] > 0 and short["stockout_days"][0] > 0
    s = inv.simulation_summary(short, np.array([10.0]), 0.25, 9)
    assert s["fill_rate"] == pytest.approx(short["served"][0] / 18)


def test_fill_rate_policy_reaches_target_on_normal_demand():
    rng = np.random.default_rng(sum(map(ord, "fill rate")))
    n, days, lt = 40, 400, 5
    mean = rng.uniform(5, 30, n)
    demand = np.clip(rng.normal(mean[:, None], mean[:, None] * 0.4, (n, days)), 0, None)
    stats = pd.DataFrame(
        {"forecast_daily": mean, "sigma_lead_time": mean * 0.4 * np.sqrt(lt), "unit_cost": 10.0}
    )
    pol = inv.fill_rate_policy(stats, lt, 0.95, 100.0, 0.25)
    sim = inv.simulate_policy(
        demand, pol["reorder_point"].to_numpy(), pol["order_quantity"].to_numpy(), lt
    )
    fill = sim["served"].sum() / sim["demand"].sum()
    assert abs(fill - 0.95) < 0.015


def test_cost_allocation_meets_aggregate_shortage_and_favours_cheap_items():
    d = np.array([10.0, 10.0])
    q = np.array([50.0, 50.0])
    s = np.array([20.0, 20.0])
    c = np.array([1.0, 100.0])
    z = inv.pooled_target_safety_factors(0.97, d, q, s, c)
    short = np.sum(d / q * s * inv.normal_loss(z))
    assert short == pytest.approx(0.03 * d.sum(), rel=1e-3)
    assert z[0] > z[1]


def test_warehouse_shares_and_split_keep_units():
    shipments = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "channel_id": ["web", "web", "web", "tm"],
            "warehouse_id": ["N", "N", "S", "S"],
        }
    )
    shares = warehouse_shares(shipments, ["web", "tm", "shop"])
    got = shares.set_index(["channel_id", "warehouse_id"])["share"].to_dict()
    assert got == {
        ("web", "N"): pytest.approx(2 / 3),
        ("web", "S"): pytest.approx(1 / 3),
        ("tm", "S"): 1.0,
        ("shop", "shop_stock"): 1.0,
    }
    bt = pd.DataFrame(
        {
            "channel_id": ["web", "shop"],
            "sku": ["A", "A"],
            "actual": [3.0, 2.0],
            "forecast": [6.0, 1.0],
        }
    )
    split = inv.split_by_warehouse(bt, shares)
    assert split["actual"].sum() == pytest.approx(5.0) and split["forecast"].sum() == pytest.approx(
        7.0
    )
    with pytest.raises(KeyError, match="warehouse_id"):
        warehouse_shares(shipments.drop(columns="warehouse_id"), ["web"])


def _steady_backtest() -> pd.DataFrame:
    """Two channels selling sku A at exactly 2 units a day, forecast without error, over two
    backtest windows of 28 days."""
    dates = pd.date_range("2024-01-01", periods=56, freq="D")
    one = pd.DataFrame(
        {"sku": "A", "window": np.repeat([1, 2], 28), "date": dates, "actual": 2.0, "forecast": 2.0}
    )
    return pd.concat([one.assign(channel_id="web"), one.assign(channel_id="tm")], ignore_index=True)


def test_stock_layouts_split_per_warehouse_by_shares():
    bt = _steady_backtest()
    assert list(inv.stock_layouts(bt)) == ["pooled", "per_channel"]
    shares = pd.DataFrame(
        {
            "channel_id": ["web", "web", "tm"],
            "warehouse_id": ["N", "S", "S"],
            "share": [0.25, 0.75, 1.0],
        }
    )
    layouts = inv.stock_layouts(bt, shares)
    assert {k: v[1] for k, v in layouts.items()} == {
        "pooled": ["sku"],
        "per_channel": ["channel_id", "sku"],
        "per_warehouse": ["warehouse_id", "sku"],
    }
    split, _ = layouts["per_warehouse"]
    # N gets a quarter of web's 2 units a day; S the rest of web's and all of tm's
    daily = split.groupby("warehouse_id")["actual"].sum() / 56
    assert daily.to_dict() == {"N": pytest.approx(0.5), "S": pytest.approx(3.5)}


def test_compare_stock_layouts_square_root_law_on_steady_demand():
    # EOQ = ceil(sqrt(2 x 365 D x K / h)), K = 0.1, h = 1 x 0.73 per unit and year:
    # pooled D = 4/day -> sqrt(400) = 20; per channel D = 2/day -> ceil(sqrt(200)) = 15 each.
    # No forecast error: no safety stock, and reordering at lead-time demand never runs out.
    bt = _steady_backtest()
    unit_cost = pd.Series({"A": 1.0})
    policies, sims = inv.compare_stock_layouts(inv.stock_layouts(bt), unit_cost, 3, 0.95, 0.1, 0.73)
    assert list(policies) == ["pooled", "per_channel"]
    assert policies["pooled"]["order_quantity"].tolist() == [20.0]
    assert policies["per_channel"]["order_quantity"].tolist() == [15.0, 15.0]
    assert policies["pooled"]["safety_stock"].tolist() == [0.0]
    assert sims["stock"].tolist() == ["pooled", "pooled", "per_channel", "per_channel"]
    ours = sims[sims["policy"] == "forecast_fill_rate"].set_index("stock")
    assert ours["fill_rate"].tolist() == [1.0, 1.0]
    assert ours.loc["pooled", "stockout_days"] == 0


def test_layout_tradeoff_curves_stack_layouts_and_refuse_none():
    bt = _steady_backtest()
    unit_cost = pd.Series({"A": 1.0})
    curve = inv.layout_tradeoff_curves(inv.stock_layouts(bt), unit_cost, 3, [0.9, 0.99], 0.1, 0.73)
    assert curve["stock"].tolist() == ["pooled"] * 4 + ["per_channel"] * 4
    assert curve["target_fill_rate"].tolist() == [0.9, 0.9, 0.99, 0.99] * 2
    with pytest.raises(ValueError, match="no stock layouts"):
        inv.layout_tradeoff_curves({}, unit_cost, 3, [0.9], 0.1, 0.73)
    with pytest.raises(ValueError, match="no stock layouts"):
        inv.compare_stock_layouts({}, unit_cost, 3, 0.9, 0.1, 0.73)
