"""Stage 05 on real orders and on a minimal dataset: guest orders are served like any
other, non-merchandise lines weigh nothing, a return document ships nothing; without
warehouses, locations, shipments or service contacts every table is written empty with
its columns and the stage says why in one sentence."""

from __future__ import annotations

import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.dataset import load_dataset
from channelops.run.needs import limitation_sentence, missing_inputs
from channelops.stages import logistics as ful
from channelops.stages.logistics import prepare as prep

T = pd.Timestamp("2024-05-01 10:00", tz="UTC")
H = pd.Timedelta(hours=1)
WAREHOUSES = pd.DataFrame(
    {
        "warehouse_id": ["N"],
        "city": ["Beijing"],
        "lat": [39.9],
        "lon": [116.41],
        "daily_capacity_orders": [10],
        "handling_cost_per_order": [1.0],
    }
)
ORDERS = pd.DataFrame(
    {
        "channel_id": "web",
        "order_id": ["1", "2", "3", "C3"],
        "customer_id": ["c1", None, "c2", "c2"],  # order 2: a guest checkout
        "order_ts": [T, T + H, T + 2 * H, T + 30 * H],
        "order_ts_local": [t.tz_convert(None) + 8 * H for t in (T, T + H, T + 2 * H, T + 30 * H)],
        "status": ["paid", "paid", "delivered", "returned"],
        "units": [2, 2, 1, -1],
        "revenue_base": [50.0, 80.0, 20.0, -20.0],
        "city": "Beijing",
    }
)
LINES = pd.DataFrame(
    {
        "channel_id": "web",
        "order_id": ["1", "2", "2", "3", "C3"],
        "sku": ["A", "A", "POST", "B", "B"],
        "quantity": [2, 1, 1, 1, -1],
        "is_merchandise": [True, True, False, True, True],
    }
)
PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "weight_kg": [0.5, 3.0]})


def test_guest_orders_are_fulfilled_and_postage_weighs_nothing():
    fulfilled, _, n = prep.orders_for_logistics(
        ORDERS, LINES, WAREHOUSES, None, None, None, PRODUCTS
    )
    got = fulfilled.set_index("order_id")
    # the guest's order 2 is packed like any other; C3 (a return document) ships nothing
    assert n == 4 and got.index.tolist() == ["1", "2", "3"]
    # order 2: one unit of A (0.5 kg); its postage line weighs nothing (it would add 1 kg)
    assert got["weight_kg"].tolist() == [1.0, 0.5, 3.0]
    scores = ful.priority_scores(fulfilled.reset_index(drop=True)).set_index(got.index)
    assert scores.loc["2", "customer_score"] == 0.0  # no customer to rank, still scheduled
    assert scores.loc["2", "value_score"] == 1.0  # the most valuable order of the three
    assert ful.orders_sentence(ORDERS, fulfilled) == (
        "4 orders, 1 of them guest orders (25.0%), served like any other; 3 went through a "
        "warehouse."
    )


def test_ships_nothing_by_hand():
    assert prep.ships_nothing(ORDERS, LINES).tolist() == [False, False, False, True]
    no_lines = ORDERS.assign(order_id=["1", "2", "9", "C3"])
    assert prep.ships_nothing(no_lines, LINES).tolist() == [False, False, False, True]
    # without the merchandise flag, a postage-only order ships its postage unit
    post_only = LINES[LINES["sku"] == "POST"]
    assert prep.ships_nothing(ORDERS.iloc[[1]], post_only).tolist() == [True]
    assert prep.ships_nothing(
        ORDERS.iloc[[1]], post_only.drop(columns="is_merchandise")
    ).tolist() == [False]


def test_orders_sentence_needs_customer_ids():
    with pytest.raises(KeyError, match="customer_id"):
        ful.orders_sentence(ORDERS.drop(columns="customer_id"), ORDERS.iloc[0:0])


def test_minimal_dataset_writes_every_table_empty_with_its_columns_and_says_why(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "d"))  # dataset.yaml, one export, its mapping
    missing = missing_inputs(ds, "05")
    assert missing == [
        "warehouses",
        "locations",
        "shipments",
        "service_contacts",
        "channels",
        "products",
    ]
    assert limitation_sentence("05", missing) == (
        "Stage 05 (order_logistics): without warehouses.csv, the order-flow simulation, "
        "warehouse allocation and routing are skipped; without locations.csv, warehouse "
        "allocation and routing are skipped (no geocoded cities); without shipments.csv, there "
        "is no delay analysis and the ship-by time is the default dispatch SLA; without "
        "service_contacts.csv, there is no service staffing plan; without channels.csv, "
        "offline channels are not told apart, so every order counts as shipped; without "
        "products.csv, every unit weighs the default weight."
    )
    fulfilled, delay_orders, n = prep.orders_for_logistics(
        ORDERS, LINES, ds.table("warehouses"), ds.table("shipments"), ds.table("locations"),
        ds.table("channels"), ds.table("products"),
    )  # fmt: skip
    assert n == 4 and fulfilled.empty and len(delay_orders) == 4
    config = ful.SimConfig()
    sla = ful.ship_by_hours(fulfilled, False, 24.0, 48.0)
    sim_input = ful.simulation_orders(fulfilled, sla, 48.0)
    flow = ful.simulate_order_flow(sim_input.iloc[0:0], pd.Series(dtype=int), config)
    tables = {
        "fulfilment_sim": (ful.simulation_summary(flow), ful.SIM_COLUMNS),
        "allocation": (ful.empty_allocation(), ful.ALLOCATION_COLUMNS),
        "routes": (ful.empty_routes(), prep.ROUTE_COLUMNS),
        "delay_analysis": (ful.empty_delay_analysis(), ful.DELAY_COLUMNS),
        "delay_drivers": (ful.empty_delay_drivers(), ful.DRIVER_COLUMNS),
        "staffing_plan": (ful.empty_staffing_plan(), ful.STAFFING_COLUMNS),
    }
    for name, (table, columns) in tables.items():
        assert table.empty and list(table.columns) == list(columns), name
