"""06 reads 03's order lines compactly (only its columns, one string per distinct value):
the values are those of the file, and the scorecard's sums on them are the same to the last
digit as on the lines read the usual way (Arrow strings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from channelops.margins import channel_margin_rates
from channelops.stages import evaluation as ev


def _lines(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Order lines of three channels, some guests (customer_id missing), every status."""
    rng = np.random.default_rng(seed)
    customer = rng.choice([f"C{i:03d}" for i in range(40)], n).astype(object)
    customer[rng.random(n) < 0.2] = None
    quantity = rng.integers(-1, 4, n)
    status = rng.choice(["paid", "shipped", "delivered", "cancelled", "returned"], n)
    revenue = np.round(quantity * rng.uniform(1, 50, n), 2)
    return pd.DataFrame(
        {
            "channel_id": rng.choice(["web", "amazon", "store"], n),
            "order_id": [f"#{i // 3}" for i in range(n)],
            "customer_id": customer,
            "sku": rng.choice([f"S{i}" for i in range(12)], n),
            "quantity": quantity,
            "revenue_base": revenue,
            "net_revenue_base": np.where(np.isin(status, ["cancelled", "returned"]), 0.0, revenue)
            - rng.uniform(0, 1, n).round(2),
            "demand_units": np.where(
                (quantity > 0) & ~np.isin(status, ["cancelled", "returned"]), quantity, 0
            ),
            "status": status,
            "order_ts_local": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
            "discount_base": rng.uniform(0, 2, n).round(2),
        }
    )


@pytest.fixture
def lines_file(tmp_path):
    path = tmp_path / "order_lines.parquet"
    # several row groups: Parquet gives each its own dictionary
    pq.write_table(pa.Table.from_pandas(_lines(), preserve_index=False), path, row_group_size=70)
    return path


def test_shared_text_one_object_per_value_and_none_for_null():
    chunks = pa.chunked_array([pa.array(["b", "a", None]), pa.array(["a", "c", "b"])])
    for column in (chunks, chunks.dictionary_encode()):
        got = ev.shared_text(column)
        assert got.dtype == object
        assert list(got) == ["b", "a", None, "a", "c", "b"]
        assert got[1] is got[3] and got[0] is got[5]  # equal values are one object
    assert len(ev.shared_text(pa.chunked_array([], type=pa.string()))) == 0


def test_read_lines_holds_the_file_values(lines_file):
    want = pd.read_parquet(lines_file, columns=list(ev.LINE_COLUMNS))
    got = ev.read_lines(lines_file, ev.LINE_COLUMNS)
    assert list(got.columns) == list(ev.LINE_COLUMNS)
    assert got["customer_id"].isna().sum() == want["customer_id"].isna().sum() > 0
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_read_lines_names_the_file_and_the_missing_column(lines_file):
    with pytest.raises(ValueError, match=r"order_lines\.parquet lacks column\(s\) \['refund'\]"):
        ev.read_lines(lines_file, ["channel_id", "refund"])


def test_scorecard_sums_equal_on_compact_and_arrow_lines(lines_file):
    """Same sums to the last digit: the compact frame keeps the file's row order."""
    # as read_table gives them: text columns as Arrow strings
    text = ["channel_id", "order_id", "customer_id", "sku", "status"]
    arrow = pd.read_parquet(lines_file, columns=list(ev.LINE_COLUMNS))
    arrow = arrow.astype(dict.fromkeys(text, "string[pyarrow]"))
    compact = ev.read_lines(lines_file, ev.LINE_COLUMNS)
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(10)], "unit_cost": np.arange(10.0)})
    channels = pd.DataFrame({"channel_id": ["web", "amazon", "store"], "commission_rate": 0.1})
    for lines in (arrow, compact):
        assert lines["channel_id"].nunique() == 3
    pd.testing.assert_frame_equal(
        ev.sales_figures(compact, products, channels),
        ev.sales_figures(arrow, products, channels),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        channel_margin_rates(compact, products, channels),
        channel_margin_rates(arrow, products, channels),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(ev.first_seen(compact), ev.first_seen(arrow), check_exact=True)


def test_guests_from_parquet_counts_guest_lines_orders_and_revenue(tmp_path):
    lines = pd.DataFrame(
        {
            "channel_id": ["web", "web", "web", "store", "store"],
            "order_id": ["1", "1", "2", "1", "3"],
            "customer_id": [None, None, "C1", "C2", None],
            "net_revenue_base": [10.0, 5.0, 20.0, 65.0, np.nan],  # NaN money counts 0
        }
    )
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path)
    left = ev.guests_from_parquet(path)
    assert (left.lines, left.orders, left.revenue) == (3, 2, 15.0)
    assert (left.total_lines, left.total_orders, left.total_revenue) == (5, 4, 100.0)
    assert left == ev.identified_lines(lines, customer="customer_id")[1]
    with pytest.raises(ValueError, match=r"lines\.parquet lacks column\(s\) \['buyer'\]"):
        ev.guests_from_parquet(path, customer="buyer")


def test_with_shared_text_converts_only_the_named_text_columns():
    frame = pd.DataFrame(
        {
            "channel_id": pd.array(["web", "store", None, "web"], dtype="string[pyarrow]"),
            "cost": [1.0, 2.0, 3.0, 4.0],
        }
    )
    got = ev.with_shared_text(frame, ["channel_id", "warehouse_id"])  # no warehouse_id: skipped
    assert list(got["channel_id"]) == ["web", "store", None, "web"]
    assert got["channel_id"][0] is got["channel_id"][3]
    assert got["cost"].equals(frame["cost"]) and frame["channel_id"].dtype == "string[pyarrow]"
    assert ev.with_shared_text(None, ["channel_id"]) is None


def test_read_lines_codes_number_values_as_factorize_does(lines_file):
    got = ev.read_lines(lines_file, ev.LINE_COLUMNS, coded=ev.CODED_COLUMNS)
    assert list(got.columns) == [*ev.LINE_COLUMNS, *(c + "#code" for c in ev.CODED_COLUMNS)]
    for c in ev.CODED_COLUMNS:
        want = pd.factorize(got[c])[0]  # first appearance order, -1 for missing
        np.testing.assert_array_equal(got[c + "#code"].to_numpy(), want)
    assert (got["customer_id#code"] == -1).sum() == got["customer_id"].isna().sum() > 0


def test_read_lines_codes_only_text_columns_it_reads(lines_file):
    with pytest.raises(ValueError, match=r"\['quantity'\] of .*order_lines\.parquet"):
        ev.read_lines(lines_file, ["channel_id", "quantity"], coded=["quantity"])
    with pytest.raises(ValueError, match=r"\['sku'\]"):
        ev.read_lines(lines_file, ["channel_id"], coded=["sku"])


@pytest.mark.parametrize("holes", [False, True])
def test_coded_lines_give_the_same_figures(tmp_path, holes):
    """Group-bys on the given codes are the group-bys on the strings, to the last digit,
    also with missing channels and SKUs (which take the string path or code -1)."""
    lines = _lines(seed=5)
    if holes:
        lines.loc[[3, 50], "sku"] = None
        lines.loc[[7], "channel_id"] = None
    path = tmp_path / "order_lines.parquet"
    pq.write_table(pa.Table.from_pandas(lines, preserve_index=False), path, row_group_size=70)
    plain = ev.read_lines(path, ev.LINE_COLUMNS)
    coded = ev.read_lines(path, ev.LINE_COLUMNS, coded=ev.CODED_COLUMNS)
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(10)], "unit_cost": np.arange(10.0)})
    channels = pd.DataFrame({"channel_id": ["web", "amazon", "store"], "commission_rate": 0.1})
    same = lambda a, b: pd.testing.assert_frame_equal(a, b, check_exact=True)  # noqa: E731
    same(ev.sales_figures(coded, products, channels), ev.sales_figures(plain, products, channels))
    same(
        channel_margin_rates(coded, products, channels),
        channel_margin_rates(plain, products, channels),
    )
    window = {"start": "2024-02-01", "end": "2024-05-01"}
    same(
        channel_margin_rates(coded, products, channels, **window),
        channel_margin_rates(plain, products, channels, **window),
    )
    same(ev.first_seen(coded), ev.first_seen(plain))
    policy = pd.DataFrame(
        {
            "sku": [f"S{i}" for i in range(12)],
            "mean_daily": np.linspace(1, 3, 12),
            "unit_cost": 2.0,
            "simulated_average_stock": np.linspace(5, 30, 12),
            "simulated_fill_rate": np.linspace(0.8, 1, 12),
        }
    )
    same(ev.inventory_figures(policy, coded), ev.inventory_figures(policy, plain))


@pytest.mark.parametrize("hole", [False, True])
def test_coded_shipments_give_the_same_figures(hole):
    """Shipment cost, counts, times and the margins' fulfilment on the channels' and
    warehouses' given codes equal those on the strings (a missing channel: string path)."""
    rng = np.random.default_rng(11)
    n = 300
    promised = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 9e5, n), "s")
    ship = pd.DataFrame(
        {
            "order_id": [f"#{i // 2}" for i in range(n)],
            "channel_id": pd.array(rng.choice(["web", "amazon"], n), dtype="string[pyarrow]"),
            "warehouse_id": rng.choice(["W1", "W2", "W3"], n).astype(object),
            "promised_ts": promised,
            "delivered_ts": promised + pd.to_timedelta(rng.integers(-9e4, 9e4, n), "s"),
            "cost": rng.uniform(1, 9, n).round(2),
        }
    )
    if hole:
        ship.loc[5, "channel_id"] = None
        ship.loc[9, "warehouse_id"] = None
    orders = pd.DataFrame(
        {
            "channel_id": ["web", "amazon"] * (n // 2),
            "order_id": [f"#{i}" for i in range(n)],
            "order_ts": promised - pd.Timedelta(days=2),
        }
    )
    plain = ev.with_shared_text(ship, ["channel_id", "warehouse_id"])
    coded = ev.with_shared_text(ship, ["channel_id", "warehouse_id"], coded=True)
    assert (coded["channel_id#code"] == -1).sum() == int(hole)
    pd.testing.assert_frame_equal(
        ev.shipment_figures(coded, orders), ev.shipment_figures(plain, orders), check_exact=True
    )
    lines = _lines(seed=2)
    products = pd.DataFrame({"sku": [f"S{i}" for i in range(12)], "unit_cost": 1.0})
    houses = pd.DataFrame(
        {"warehouse_id": ["W1", "W2", "W3"], "handling_cost_per_order": [1, 2, 3.5]}
    )
    pd.testing.assert_frame_equal(
        channel_margin_rates(lines, products, None, coded, houses),
        channel_margin_rates(lines, products, None, plain, houses),
        check_exact=True,
    )
