"""channel_margin_rates on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.margins import MARGIN_COLUMNS, channel_margin_rates, margin_rate_map


def _lines() -> pd.DataFrame:
    # web: 2 orders; o1 = 2 x A (100 each) + postage 10; o2 = 1 x B (50) later returned by a
    # reversal line (-1 x B, -50).  mkt: o3 = 1 x A (100) cancelled (earns nothing).
    return pd.DataFrame(
        {
            "channel_id": ["web", "web", "web", "web", "mkt"],
            "order_id": ["o1", "o1", "o2", "o2", "o3"],
            "sku": ["A", "web", "B", "B", "A"],
            "quantity": [2, 1, 1, -1, 1],
            "is_merchandise": [True, False, True, True, True],
            "net_revenue_base": [200.0, 10.0, 50.0, -50.0, 0.0],
            "demand_units": [2, 0, 1, 0, 0],
            "order_ts_local": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-05", "2024-01-03"]
            ),
        }
    )


PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "unit_cost": [60.0, 20.0]})
CHANNELS = pd.DataFrame({"channel_id": ["web", "mkt", "new"], "commission_rate": [0.0, 0.1, 0.2]})
SHIP = pd.DataFrame(
    {"order_id": ["o1", "o2"], "channel_id": ["web", "web"], "warehouse_id": ["W", "W"],
     "cost": [8.0, 6.0]}
)  # fmt: skip
WAREHOUSES = pd.DataFrame({"warehouse_id": ["W"], "handling_cost_per_order": [1.0]})


def test_hand_computed_web_channel():
    m = channel_margin_rates(_lines(), PRODUCTS, CHANNELS, SHIP, WAREHOUSES).set_index("channel_id")
    assert list(m.reset_index().columns) == list(MARGIN_COLUMNS)
    web = m.loc["web"]
    # revenue 200 + 10 + 50 - 50 = 210; units kept: 2 A (the B came back) -> cogs 120
    assert web["revenue"] == pytest.approx(210.0)
    assert web["cogs"] == pytest.approx(120.0)
    # shipments 8 + 6 plus handling 1 per shipment
    assert web["fulfilment_cost"] == pytest.approx(16.0)
    assert web["commission"] == pytest.approx(0.0)
    assert web["orders"] == 1  # o2 nets to 0 revenue
    assert web["cost_per_order"] == pytest.approx(16.0)
    assert web["margin_rate"] == pytest.approx((210 - 120 - 16) / 210)
    assert web["costs_included"] == "product, commission, fulfilment"


def test_cancelled_channel_and_channel_without_sales():
    m = channel_margin_rates(_lines(), PRODUCTS, CHANNELS).set_index("channel_id")
    assert m.loc["mkt", "revenue"] == 0.0 and m.loc["mkt", "cogs"] == 0.0
    assert np.isnan(m.loc["mkt", "margin_rate"]) and np.isnan(m.loc["new", "margin_rate"])
    # without shipments the web margin is revenue less product cost only
    assert m.loc["web", "margin_rate"] == pytest.approx(90 / 210)
    rates = margin_rate_map(m.reset_index())
    assert rates["new"] == pytest.approx(90 / 210)  # revenue-weighted mean of the rest
    assert margin_rate_map(m.reset_index(), default=0.3)["mkt"] == 0.3


def test_commission_payment_and_unknown_cost():
    lines = pd.DataFrame(
        {
            "channel_id": ["mkt", "mkt"],
            "order_id": ["a", "b"],
            "sku": ["A", "Z"],  # Z has no cost: valued at the known cost share (60%)
            "quantity": [1, 1],
            "net_revenue_base": [100.0, 100.0],
            "demand_units": [1, 1],
        }
    )
    m = channel_margin_rates(lines, PRODUCTS, CHANNELS, payment_fee_rate=0.02).iloc[0]
    assert m["cogs"] == pytest.approx(120.0)
    assert m["cost_coverage"] == pytest.approx(0.5)
    assert m["commission"] == pytest.approx(20.0)
    assert m["payment_cost"] == pytest.approx(4.0)
    assert m["margin_rate"] == pytest.approx((200 - 120 - 20 - 4) / 200)
    assert m["cost_per_order"] == 0.0


def test_period_bounds_keep_only_lines_and_shipments_inside():
    m = channel_margin_rates(
        _lines(), PRODUCTS, CHANNELS, SHIP, start="2024-01-01", end="2024-01-31"
    ).set_index("channel_id")
    assert m.loc["web", "revenue"] == pytest.approx(210.0)
    assert m.loc["web", "fulfilment_cost"] == pytest.approx(8.0)  # o2's shipment is outside


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="products.csv lacks column"):
        channel_margin_rates(_lines(), PRODUCTS.drop(columns="unit_cost"), CHANNELS)
    bad = CHANNELS.assign(commission_rate=[0.0, 1.5, 0.2])
    with pytest.raises(ValueError, match="commission_rate: channel mkt"):
        channel_margin_rates(_lines(), PRODUCTS, bad)
    with pytest.raises(ValueError, match="payment_fee_rate"):
        channel_margin_rates(_lines(), PRODUCTS, CHANNELS, payment_fee_rate=-0.1)


def test_orders_with_revenue_counts_each_channel_order_pair_by_its_sum():
    """Orders counted per channel where the pair's net revenue sums above 0, by hand: an
    order split over two channels is two pairs, a reversal that cancels its sale leaves 0,
    and given codes (as 06 reads them) count as the ids do."""
    from channelops.margins import _orders_with_revenue

    lines = pd.DataFrame(
        {
            "ch": [0, 0, 1, 0, 0, 1, 1, 1, 0],
            "order_id": ["a", "a", "a", "b", "b", "c", "d", "d", "e"],
            #             a@0: 5, a@1: 2   b: 10 - 10 = 0   c: -1   d: 0.1 + 0.2   e: 0
            "net": [3.0, 2.0, 2.0, 10.0, -10.0, -1.0, 0.1, 0.2, 0.0],
        }
    )
    ids = pd.Index(["web", "app"])
    expected = [1, 2]  # web: a; app: a and d
    by_names = _orders_with_revenue(lines["ch"].to_numpy(), lines["order_id"], lines["net"], ids)
    codes = pd.factorize(lines["order_id"])[0]
    by_codes = _orders_with_revenue(
        lines["ch"].to_numpy(), lines["order_id"], lines["net"], ids, codes
    )
    assert by_names.tolist() == expected and by_codes.tolist() == expected
    # a kept subset (lines of a period): orders no kept line has count nothing
    keep = lines.index.isin([0, 1, 6])
    sub = _orders_with_revenue(
        lines["ch"].to_numpy()[keep], lines["order_id"][keep], lines["net"][keep], ids, codes[keep]
    )
    assert sub.tolist() == [1, 1]
