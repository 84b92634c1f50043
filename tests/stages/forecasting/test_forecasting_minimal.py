"""Stage 04 on real orders and on a minimal dataset: what is demand (guest lines in;
reversals, cancelled or returned sales and non-merchandise lines out), and what 04 writes
when the dataset has nothing but exports and mappings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import load_dataset, read_export
from channelops.run.needs import limitation_sentence, missing_inputs
from channelops.stages import forecasting as fc
from channelops.stages.forecasting import inventory as inv

D1, D2 = pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02")


def _real_lines() -> pd.DataFrame:
    """Lines of one channel as the intake writes them: demand_units by the contract."""
    rows = [
        # sku, day, quantity, status, guest, merchandise, demand_units, price, discount
        ("A", D1, 2, "paid", False, True, 2, 10.0, 0.0),
        ("A", D1, 3, "delivered", True, True, 3, 10.0, 0.0),  # guest checkout: demand
        ("A", D2, -1, "returned", False, True, 0, 10.0, 0.0),  # reversal of an earlier sale
        ("A", D2, 4, "cancelled", False, True, 0, 12.0, 4.8),  # priced, but not demand
        ("POST", D2, 1, "paid", True, False, 0, 8.0, 0.0),  # postage: never demand
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "sku",
            "order_ts_local",
            "quantity",
            "status",
            "is_guest",
            "is_merchandise",
            "demand_units",
            "unit_price_base",
            "discount_base",
        ],
    )
    df["order_ts_local"] = df["order_ts_local"] + pd.Timedelta(hours=9)
    return df.assign(channel_id="web")


def test_demand_counts_guest_units_and_never_a_reversal_an_undone_sale_or_postage():
    lines = _real_lines()
    s = fc.daily_demand(lines, end=D2)
    # A: 2 + 3 (the guest's) on day 1; day 2's reversal and cancelled sale are no demand
    assert s[["sku", "date", "units"]].values.tolist() == [["A", D1, 5.0], ["A", D2, 0.0]]
    assert "POST" not in set(s["sku"])  # the postage code never becomes a product series
    acc = fc.demand_accounting(lines)
    assert acc.to_dict() == {
        "lines": 5,
        "demand_lines": 2,
        "demand_units": 5,
        "guest_demand_lines": 1,
        "guest_demand_units": 3,
        "non_merchandise_lines": 1,
        "reversal_lines": 1,
        "undone_lines": 1,
    }
    assert fc.demand_sentence(acc) == (
        "Demand is 5 units on 2 lines, 3 units (60.0%) of them on guest lines; not demand: "
        "1 reversal line (negative quantity), 1 cancelled or returned sale and 1 "
        "non-merchandise line (postage, fees and the like)."
    )


def test_demand_sentence_flips_with_the_numbers():
    lines = _real_lines().iloc[:2].assign(is_guest=False)
    assert fc.demand_sentence(fc.demand_accounting(lines)) == (
        "Demand is 5 units on 2 lines, 0 units (0.0%) of them on guest lines; every line is demand."
    )


def test_demand_accounting_names_a_missing_column():
    with pytest.raises(KeyError, match="is_guest"):
        fc.demand_accounting(_real_lines().drop(columns="is_guest"))


def test_prices_come_from_sale_lines_only():
    lines = _real_lines()
    f = fc.demand_features(lines, fc.daily_demand(lines, end=D2)).set_index("date")
    # day 1: (2 + 3) x 10 / 5 = 10. Day 2: the cancelled sale only, (48 - 4.8) / 4 = 10.8
    # (with the reversal it would be (48 - 10 - 4.8) / 3 = 11.07)
    assert f["price"].tolist() == pytest.approx([10.0, 10.8])
    # the discount share of day 2 is 4.8 / 48 = 0.1; the postage line's 8 would dilute it
    assert f.loc[D2, "discount_rate"] == pytest.approx(0.1)


def _backtest() -> pd.DataFrame:
    """Two channels selling A with a forecast error, over two 14-day windows."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=28, freq="D")
    one = pd.DataFrame({"sku": "A", "window": np.repeat([1, 2], 14), "date": dates})
    parts = [one.assign(channel_id=ch, actual=rng.poisson(3, 28) * 1.0) for ch in ("web", "tm")]
    bt = pd.concat(parts, ignore_index=True)
    return bt.assign(forecast=3.0)


SHARES = pd.DataFrame(
    {"channel_id": ["web", "tm"], "warehouse_id": ["N", "S"], "share": [1.0, 1.0]}
)


def test_stock_tables_have_the_declared_columns_with_and_without_unit_costs():
    layouts = inv.stock_layouts(_backtest(), SHARES)
    cost = inv.unit_costs(pd.DataFrame({"sku": ["A"], "unit_cost": [5.0]}))
    policies, summary = inv.compare_stock_layouts(layouts, cost, 3, 0.9, 10.0, 0.25)
    curve = inv.layout_tradeoff_curves(layouts, cost, 3, [0.9], 10.0, 0.25)
    assert list(inv.chosen_policy(policies).columns) == list(inv.INVENTORY_POLICY_COLUMNS)
    table = inv.policy_simulation_table(summary, curve)
    assert list(table.columns) == list(inv.POLICY_SIMULATION_COLUMNS) and len(table) == 12
    # without unit costs: no policy can be set, and the same columns come back empty
    policies, summary = inv.compare_stock_layouts(layouts, None, 3, 0.9, 10.0, 0.25)
    curve = inv.layout_tradeoff_curves(layouts, None, 3, [0.9], 10.0, 0.25)
    assert policies == {} and summary.empty and curve.empty
    empty_policy = inv.chosen_policy(policies)
    assert empty_policy.empty and list(empty_policy.columns) == list(inv.INVENTORY_POLICY_COLUMNS)
    empty_sim = inv.policy_simulation_table(summary, curve)
    assert empty_sim.empty and list(empty_sim.columns) == list(inv.POLICY_SIMULATION_COLUMNS)


def test_unit_costs_only_where_known():
    assert inv.unit_costs(None) is None
    assert inv.unit_costs(pd.DataFrame({"sku": ["A"], "category": ["x"]})) is None
    assert inv.unit_costs(pd.DataFrame({"sku": ["A"], "unit_cost": [np.nan]})) is None
    got = inv.unit_costs(pd.DataFrame({"sku": ["A", "B"], "unit_cost": [2.5, np.nan]}))
    assert got.to_dict() == {"A": 2.5}


def test_minimal_dataset_forecasts_without_categories_or_stock_and_says_so(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "d"))  # dataset.yaml, one export, its mapping
    products = ds.table("products")
    assert products is None
    assert missing_inputs(ds, "04") == ["products", "shipments"]
    assert limitation_sentence("04", missing_inputs(ds, "04")) == (
        "Stage 04 (forecasting): without products.csv, forecasts do not roll up by category "
        "and stock has no unit cost to value holding costs; without shipments.csv, stock is "
        "planned per channel, not split across warehouses."
    )
    forecasts = pd.DataFrame(
        {"channel_id": ["web", "tm"], "sku": ["A", "B"], "date": D1, "forecast": [2.0, 1.5]}
    )
    totals = fc.forecast_level_totals(forecasts, products)
    assert totals.to_dict() == {"channel": 3.5, "sku": 3.5, "total": 3.5}
    cats = pd.DataFrame({"sku": ["A", "B"], "category": ["tea", pd.NA]})
    assert fc.forecast_level_totals(forecasts, cats).index.tolist() == [
        "channel",
        "category",
        "sku",
        "total",
    ]
    policies, summary = inv.compare_stock_layouts(
        inv.stock_layouts(_backtest()), inv.unit_costs(products), 3, 0.9, 10.0, 0.25
    )
    assert list(inv.chosen_policy(policies).columns) == list(inv.INVENTORY_POLICY_COLUMNS)
    assert inv.policy_simulation_table(summary, summary.iloc[0:0]).empty


GUEST_CSV = (
    "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price,status\n"
    "o1,2024-03-01 08:00:00,c1,SKU1,2,10,paid\n"
    "o2,2024-03-01 09:00:00,,SKU1,3,10,paid\n"  # guest checkout: demand
    "o2,2024-03-01 09:00:00,,POST,1,8,paid\n"  # postage: never demand
    "o3,2024-03-02 10:00:00,c1,SKU1,-1,10,paid\n"  # a reversal (units coming back)
    "o4,2024-03-02 11:00:00,c2,SKU1,4,10,cancelled\n"
)
GUEST_MAPPING = {
    "columns": {
        c: c for c in ("order_id", "order_ts", "buyer_ref", "channel_sku", "quantity", "unit_price")
    }
    | {"status": "status"},
    "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
}


def test_the_intakes_guest_units_are_04s_demand_and_its_reversals_and_postage_are_not(tmp_path):
    ds = load_dataset(
        build_dataset(tmp_path / "d", exports={"web": GUEST_CSV}, mappings={"web": GUEST_MAPPING})
    )
    raw = pd.concat([read_export(ds, ch.id).lines for ch in ds.channels], ignore_index=True)
    lines, quarantine = canonicalise(raw, ds)
    assert quarantine.empty  # guests, reversals and postage are orders, not errors
    s = fc.daily_demand(lines)
    assert s[["sku", "units"]].values.tolist() == [["SKU1", 5.0]]  # 2 + the guest's 3, no POST
    acc = fc.demand_accounting(lines)
    assert acc[
        ["demand_units", "guest_demand_units", "reversal_lines", "undone_lines"]
    ].tolist() == [
        5,
        3,
        1,
        1,
    ]
    assert acc["non_merchandise_lines"] == 1


def test_a_history_shorter_than_one_window_is_named_not_a_concat_error():
    days = pd.date_range("2024-01-01", periods=20)
    lines = pd.DataFrame(
        {"channel_id": "web", "sku": "A", "order_ts_local": days, "demand_units": 1}
    )
    bt = fc.backtest(fc.daily_demand(lines), ["naive"], horizon=28, n_windows=3)
    assert bt.empty
    with pytest.raises(ValueError, match="horizon_days"):
        fc.chosen_backtest(bt)
    assert len(fc.chosen_backtest(fc.backtest(fc.daily_demand(lines), ["naive"], 7, 2))) == 14
