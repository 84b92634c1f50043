"""06's memory cuts give the same figures: orders with revenue summed with ``np.bincount``
(pandas' compensated sums for groups of three lines or more), the order ids kept as Arrow
strings, and the shipment figures computed before the lines are read (orders and the
shipments' order ids and times freed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from test_evaluation_source import _lines

from channelops.margins import _pair_sums, channel_margin_rates
from channelops.stages import evaluation as ev


def test_pair_sums_equal_pandas_groupby_sums_to_the_last_bit():
    """Groups of 1, 2 and 3+ values, with magnitudes where a plain running sum and the
    compensated one differ: every group's sum is the group-by's."""
    rng = np.random.default_rng(7)
    n = 20_000
    pair = rng.integers(0, 9_000, n)
    pair[:30] = 9_500  # one long group
    values = rng.normal(size=n) * 10.0 ** rng.integers(-3, 9, n)
    values[:30:2] = 1e16  # a long group whose plain running sum loses its small terms
    want = pd.Series(values).groupby(pair).sum()
    got = _pair_sums(pair, values, 10_000)
    assert got.shape == (10_000,)
    np.testing.assert_array_equal(got[want.index.to_numpy()], want.to_numpy())
    absent = np.setdiff1d(np.arange(10_000), want.index.to_numpy())
    assert (got[absent] == 0).all()
    plain = np.bincount(pair, weights=values, minlength=10_000)
    assert (plain[want.index.to_numpy()] != want.to_numpy()).any()  # the case is real


def test_margins_equal_with_and_without_the_shipments_order_ids():
    lines = _lines(seed=4)
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(12)], "unit_cost": 1.5})
    rng = np.random.default_rng(1)
    ship = pd.DataFrame(
        {
            "order_id": [f"#{i}" for i in range(60)],
            "channel_id": rng.choice(["web", "amazon"], 60),
            "warehouse_id": rng.choice(["W1", "W2"], 60),
            "cost": rng.uniform(1, 9, 60).round(2),
        }
    )
    houses = pd.DataFrame({"warehouse_id": ["W1", "W2"], "handling_cost_per_order": [1.0, 2.5]})
    full = channel_margin_rates(lines, products, None, ship, houses)
    lean = channel_margin_rates(lines, products, None, ev.shipment_costs(ship), houses)
    pd.testing.assert_frame_equal(full, lean, check_exact=True)
    assert list(ev.shipment_costs(ship).columns) == ["channel_id", "warehouse_id", "cost"]
    assert ev.shipment_costs(None) is None


def test_order_ids_as_arrow_strings_give_the_same_figures(tmp_path):
    lines = _lines(seed=8)
    path = tmp_path / "order_lines.parquet"
    pq.write_table(pa.Table.from_pandas(lines, preserve_index=False), path, row_group_size=70)
    objects = ev.read_lines(path, ev.LINE_COLUMNS, coded=ev.CODED_COLUMNS)
    arrow = ev.read_lines(path, ev.LINE_COLUMNS, coded=ev.CODED_COLUMNS, arrow=ev.ARROW_COLUMNS)
    assert arrow["order_id"].dtype == "string[pyarrow]"
    assert arrow["order_id"].tolist() == objects["order_id"].tolist()
    np.testing.assert_array_equal(arrow["order_id#code"], objects["order_id#code"])
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(10)], "unit_cost": np.arange(10.0)})
    channels = pd.DataFrame({"channel_id": ["web", "amazon", "store"], "commission_rate": 0.1})
    pd.testing.assert_frame_equal(
        channel_margin_rates(arrow, products, channels),
        channel_margin_rates(objects, products, channels),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        ev.sales_figures(arrow, products, channels),
        ev.sales_figures(objects, products, channels),
        check_exact=True,
    )


def test_scorecard_with_shipment_figures_computed_beforehand():
    lines = _lines(seed=6)
    rng = np.random.default_rng(2)
    n = 120
    promised = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 9e5, n), "s")
    ship = pd.DataFrame(
        {
            "order_id": [f"#{i}" for i in range(n)],
            "channel_id": rng.choice(["web", "amazon"], n),
            "warehouse_id": rng.choice(["W1", "W2"], n),
            "promised_ts": promised,
            "delivered_ts": promised + pd.to_timedelta(rng.integers(-9e4, 9e4, n), "s"),
            "cost": rng.uniform(1, 9, n).round(2),
        }
    )
    orders = pd.DataFrame(
        {
            "channel_id": ship["channel_id"],
            "order_id": ship["order_id"],
            "order_ts": promised - pd.Timedelta(days=2),
        }
    )
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(12)], "unit_cost": 2.0})
    policy = pd.DataFrame(
        {
            "sku": [f"S{i}" for i in range(12)],
            "warehouse_id": "W1",
            "mean_daily": np.linspace(1, 3, 12),
            "unit_cost": 2.0,
            "simulated_average_stock": np.linspace(5, 30, 12),
            "simulated_fill_rate": np.linspace(0.8, 1, 12),
        }
    )
    for given_orders in (orders, None):
        want, want_notes = ev.channel_scorecard(
            lines, products, None, orders=given_orders, shipments=ship, inventory_policy=policy
        )
        shipped = ev.shipment_part(ship, given_orders)
        got, notes = ev.channel_scorecard(
            lines,
            products,
            None,
            shipped=shipped,
            shipments=ev.shipment_costs(ship),
            inventory_policy=policy,
        )
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert notes == want_notes
    _, notes = ev.channel_scorecard(lines, products, None, shipped=ev.shipment_part(None, None))
    assert any(n.startswith("no shipments.csv") for n in notes)


def test_first_rows_of_finds_each_keys_first_row_as_the_hash_lookup_does():
    from channelops.stages.evaluation.scorecard import _first_rows_of

    rng = np.random.default_rng(3)
    keys = rng.integers(-1, 50, 400)
    wanted = rng.integers(0, 60, 300)
    first = ~pd.Series(keys).duplicated().to_numpy()
    pos = pd.Index(keys[first]).get_indexer(wanted)
    want = np.where(pos >= 0, np.flatnonzero(first)[pos], -1)
    np.testing.assert_array_equal(_first_rows_of(keys, wanted), want)
    assert (_first_rows_of(np.zeros(0, np.int64), wanted) == -1).all()
