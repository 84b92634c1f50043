"""One cost rule for 02 and 06 (channelops.margins): the scorecard's contribution before
marketing and the plan's valuation of the same revenue are the same money, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.margins import channel_margin_rates, margin_rate_map
from channelops.stages import channel_selection as ch
from channelops.stages import evaluation as ev

# a: o1 2 x s1 for 200, o2 1 x s3 (no unit cost) for 100; b (a store): o4 3 x s2 for 150
LINES = pd.DataFrame(
    {
        "channel_id": ["a", "a", "b"],
        "order_id": ["o1", "o2", "o4"],
        "customer_id": ["c1", "c2", "c3"],
        "sku": ["s1", "s3", "s2"],
        "quantity": [2, 1, 3],
        "revenue_base": [200.0, 100.0, 150.0],
        "net_revenue_base": [200.0, 100.0, 150.0],
        "demand_units": [2, 1, 3],
        "is_merchandise": [True, True, True],
        "status": ["delivered", "delivered", "delivered"],
        "order_ts_local": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"]),
    }
)
PRODUCTS = pd.DataFrame({"sku": ["s1", "s2"], "unit_cost": [40.0, 20.0]})
CHANNELS = pd.DataFrame(
    {"channel_id": ["a", "b"], "commission_rate": [0.1, 0.0], "fixed_cost_per_month": [0.0, 0.0]}
)
T = pd.Timestamp("2024-01-05", tz="UTC")
SHIPMENTS = pd.DataFrame(
    {
        "order_id": ["o1", "o2"],
        "channel_id": ["a", "a"],
        "warehouse_id": ["W1", "W1"],
        "promised_ts": [T, T],
        "delivered_ts": [T, T],
        "cost": [10.0, 14.0],
    }
)
WAREHOUSES = pd.DataFrame({"warehouse_id": ["W1"], "handling_cost_per_order": [3.0]})
MARKETING = pd.DataFrame(
    {
        "week_start": pd.to_datetime(["2024-01-01"] * 2),
        "channel_id": ["a", "b"],
        "spend": [20.0, 5.0],
    }
)


def test_scorecard_and_plan_value_the_same_revenue_the_same():
    margins = channel_margin_rates(LINES, PRODUCTS, CHANNELS, SHIPMENTS, WAREHOUSES)
    card, _ = ev.channel_scorecard(
        LINES, PRODUCTS, CHANNELS, marketing=MARKETING, shipments=SHIPMENTS, margins=margins
    )
    card = card.set_index("channel_id")
    # by hand, a: s3 has no cost, valued at a's cost share 80 / 200 = 0.4 -> cogs 80 + 40;
    # commission 30; fulfilment 10 + 14 + 2 x 3 handling = 30 -> 300 - 180 = 120 before
    # marketing; b: 150 - 60 = 90
    assert card.loc["a", "cogs"] == pytest.approx(120.0)
    assert card.loc["a", "fulfilment_cost"] == pytest.approx(30.0)
    assert card.loc["a", "cost_per_delivery"] == pytest.approx(15.0)
    assert card.loc["a", "contribution"] == pytest.approx(120.0 - 20.0)
    assert card.loc["b", "contribution"] == pytest.approx(90.0 - 5.0)
    # 02's valuation of the same revenue: margin rate x revenue (the plan's net share)
    curves = {c: ch.ResponseCurve(c, 1.0, 0.0, 0.0, 1.0, 1.0) for c in ("a", "b")}
    cons = ch.PlanConstraints(total_budget=100.0, min_channels=1)
    model = ch.build_plan_model(curves, CHANNELS, None, cons, {}, margin_rate_map(margins))
    revenue = card.loc[["a", "b"], "revenue"].to_numpy()
    before_marketing = (card["contribution"] + card["marketing_spend"]).loc[["a", "b"]]
    assert model.net_share * revenue == pytest.approx(before_marketing.to_numpy())


def test_scorecard_without_shared_margins_keeps_its_own_costs():
    card, _ = ev.channel_scorecard(LINES, PRODUCTS, CHANNELS, shipments=SHIPMENTS)
    card = card.set_index("channel_id")
    assert card.loc["a", "cogs"] == pytest.approx(80.0)  # s3's cost unknown, not estimated
    assert card.loc["a", "fulfilment_cost"] == pytest.approx(24.0)  # carrier cost only
