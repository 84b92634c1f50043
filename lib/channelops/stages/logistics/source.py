"""Stage 05's orders from the run's Parquet files, joined in DuckDB.

The shipments x orders join and the order weights (each order's lines summed) run in
DuckDB over 03's ``orders.parquet`` and ``order_lines.parquet``, with a memory limit and a
spill folder (:func:`channelops.engine.duckdb_connection`); pandas receives only the
fulfilled orders' columns that stage 05 reads, the row positions of the joins and the
per-line weights. The result is the same as :func:`~.prepare.orders_for_logistics` on the
whole tables read into pandas (same rows in the same order, same values; the per-order
sums are still pandas sums in the lines' file order), without holding every order and
line as a DataFrame.

- :func:`logistics_orders` — the fulfilled orders with warehouse, region, shipment times and
  weight, and the order counts;
- :func:`shipment_order_columns` — each shipment's order time and city, for the delay
  analysis; :func:`start_shipment_order_columns` runs it in a background thread.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from channelops.engine import duckdb_connection, duckdb_memory_limit, release_unused_memory
from channelops.frames import arrow_string_dtype

from .prepare import canonical_region, orders_for_logistics

__all__ = [
    "FULFILLED_COLUMNS",
    "LogisticsOrders",
    "SHIPMENT_COLUMNS",
    "logistics_orders",
    "shipment_order_columns",
    "start_shipment_order_columns",
]

#: The columns of :attr:`LogisticsOrders.fulfilled` (what sections 1-3 of 05 read).
FULFILLED_COLUMNS = [
    "channel_id",
    "order_id",
    "customer_id",
    "order_ts",
    "order_ts_local",
    "units",
    "revenue_base",
    "region",
    "warehouse_id",
    "promised_ts",
    "shipped_ts",
    "delivered_ts",
    "weight_kg",
]

#: The columns of shipments.csv that stage 05 reads (``Dataset.table("shipments",
#: SHIPMENT_COLUMNS)``): not ``cost``, which none of its steps uses.
SHIPMENT_COLUMNS = [
    "order_id",
    "channel_id",
    "warehouse_id",
    "promised_ts",
    "shipped_ts",
    "delivered_ts",
    "carrier",
]

_ORDER_COLUMNS = [
    "channel_id",
    "order_id",
    "customer_id",
    "order_ts",
    "order_ts_local",
    "status",
    "units",
    "revenue_base",
    "city",
]
_SHIP_TS = ["promised_ts", "shipped_ts", "delivered_ts"]
_KEY = (
    "o.channel_id IS NOT DISTINCT FROM s.channel_id AND o.order_id IS NOT DISTINCT FROM s.order_id"
)


@dataclass(frozen=True)
class LogisticsOrders:
    """What :func:`logistics_orders` returns.

    Attributes:
        fulfilled: one row per fulfilled order with :data:`FULFILLED_COLUMNS` (channel_id,
            order_id, customer_id as ``string[pyarrow]``; order_ts UTC, order_ts_local;
            units, revenue_base; region and warehouse_id as text; the first shipment's
            promised/shipped/delivered times; weight_kg in kg, 1.0 for an order without
            lines), in the orders' file order.
        n_orders: rows of 03's ``orders``.
        n_guests: orders without a customer_id (guest orders).
    """

    fulfilled: pd.DataFrame
    n_orders: int
    n_guests: int


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """A DuckDB/Arrow result as pandas: strings as ``string[pyarrow]``, tz-aware times in UTC."""
    out = table.to_pandas(types_mapper=arrow_string_dtype, split_blocks=True)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_convert("UTC")
    return out


def _key_table(frame: pd.DataFrame, pos_name: str) -> pa.Table:
    """channel_id, order_id of ``frame`` (strings, nulls kept) and the row positions."""
    return pa.table(
        {
            "channel_id": pa.array(frame["channel_id"].astype("string[pyarrow]").array),
            "order_id": pa.array(frame["order_id"].astype("string[pyarrow]").array),
            pos_name: pa.array(np.arange(len(frame), dtype=np.int64)),
        }
    )


def _text_by_codes(values: pd.Series, pos: np.ndarray) -> np.ndarray:
    """``values.astype(str)`` at rows ``pos`` as an object array whose equal strings are
    one Python object (not one per row)."""
    codes, uniques = pd.factorize(values.take(pos), use_na_sentinel=False)
    return np.asarray(pd.Index(uniques).astype(str), dtype=object)[codes]


def logistics_orders(
    orders_path: str | Path,
    lines_path: str | Path,
    warehouses: pd.DataFrame | None,
    shipments: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    *,
    memory_limit: str | None = None,
    default_kg: float = 1.0,
) -> LogisticsOrders:
    """The fulfilled orders of stage 05, joined in DuckDB over 03's Parquet files.

    With warehouses and shipments, an order is fulfilled when it has a shipment; it takes
    its first shipment's warehouse_id and times (as :func:`~.prepare.fulfilled_orders`).
    Its weight is the sum over its lines of quantity (negatives as 0) x the SKU's
    weight_kg (``default_kg`` for a SKU without one; 0 for a non-merchandise line), 1.0 kg
    for an order without lines (as :func:`~.prepare.orders_for_logistics`). Without
    warehouses or shipments the pandas path (:func:`~.prepare.orders_for_logistics`) runs
    on the orders and lines read whole.

    Args:
        orders_path: 03's ``orders.parquet`` (channel_id, order_id, customer_id, order_ts,
            order_ts_local, status, units, revenue_base, city).
        lines_path: 03's ``order_lines.parquet`` (channel_id, order_id, sku, quantity,
            is_merchandise).
        warehouses, shipments, locations, channels: the dataset's tables (each may be None).
        products: products.csv (sku, weight_kg), or None for ``default_kg`` a unit.
        memory_limit: DuckDB's memory limit (above it DuckDB spills to disk); None: the
            run's share (:func:`channelops.engine.duckdb_memory_limit`), else 2 GB.
        default_kg: weight of a unit whose SKU has no weight, kg.

    Returns:
        :class:`LogisticsOrders`.

    Raises:
        ValueError: ``orders`` lacks channel_id, order_id or order_ts.
    """
    names = set(pq.read_schema(orders_path).names)
    missing = {"channel_id", "order_id", "order_ts"} - names
    if missing:
        raise ValueError(f"orders ({orders_path}) is missing column(s) {sorted(missing)}")
    release_unused_memory()  # what reading the dataset's tables left behind, before DuckDB
    con = duckdb_connection(threads=2, memory_limit=memory_limit or duckdb_memory_limit("2GB"))
    try:
        guests = "count(*) FILTER (WHERE customer_id IS NULL)" if "customer_id" in names else "0"
        n_orders, n_guests = con.execute(
            f"SELECT count(*), {guests} FROM read_parquet(?)", [str(orders_path)]
        ).fetchall()[0]
        if warehouses is not None and shipments is not None:
            joined = _duckdb_path(con, orders_path, lines_path, shipments, products, default_kg)
    finally:
        con.close()  # DuckDB's memory goes back before the rows come into pandas
    if warehouses is None or shipments is None:
        fulfilled = _pandas_path(
            orders_path, lines_path, names, warehouses, shipments, locations, channels, products
        )
    else:
        fulfilled = _fulfilled_rows(orders_path, names, *joined, shipments, locations)
    release_unused_memory()
    return LogisticsOrders(fulfilled, int(n_orders), int(n_guests))


def _pandas_path(
    orders_path, lines_path, names, warehouses, shipments, locations, channels, products
) -> pd.DataFrame:
    """:func:`~.prepare.orders_for_logistics` on the tables read into pandas."""
    orders = _arrow_frame(
        pq.read_table(orders_path, columns=[c for c in _ORDER_COLUMNS if c in names])
    )
    line_names = set(pq.read_schema(lines_path).names)
    want = ["channel_id", "order_id", "sku", "quantity", "is_merchandise"]
    lines = _arrow_frame(pq.read_table(lines_path, columns=[c for c in want if c in line_names]))
    fulfilled, _, _ = orders_for_logistics(
        orders, lines, warehouses, shipments, locations, channels, products
    )
    return fulfilled[[c for c in FULFILLED_COLUMNS if c in fulfilled.columns]]


def _duckdb_path(
    con, orders_path, lines_path, shipments, products, default_kg
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joins in DuckDB: each fulfilled order's row in ``orders`` (ascending), the row of
    its first shipment, and its weight (kg)."""
    con.register("ship", _key_table(shipments, "srow"))
    con.execute(
        "CREATE TEMP TABLE first_ship AS SELECT channel_id, order_id, min(srow) AS srow "
        "FROM ship GROUP BY channel_id, order_id"
    )
    con.execute(
        "CREATE TEMP TABLE fk AS SELECT o.channel_id, o.order_id, "
        "o.file_row_number AS orow, s.srow, "
        "(row_number() OVER (ORDER BY o.file_row_number)) - 1 AS pos "
        "FROM read_parquet(?, file_row_number = true) o JOIN first_ship s ON " + _KEY,
        [str(orders_path)],
    )
    con.execute("DROP TABLE first_ship")
    con.unregister("ship")
    rows = con.sql("SELECT orow, srow FROM fk ORDER BY pos").fetchnumpy()
    orow = np.asarray(rows["orow"], dtype=np.int64)
    srow = np.asarray(rows["srow"], dtype=np.int64)
    weight = _order_weights(con, lines_path, products, default_kg, len(orow))
    return orow, srow, weight


def _fulfilled_rows(
    orders_path, names, orow: np.ndarray, srow: np.ndarray, weight: np.ndarray, shipments, locations
) -> pd.DataFrame:
    """Rows ``orow`` (ascending) of the orders file with the columns 05 reads, read one
    batch at a time, plus the shipment columns of rows ``srow`` and the weights."""
    cols = [c for c in _ORDER_COLUMNS if c in names and c != "status"]
    parts, start = [], 0
    for batch in pq.ParquetFile(orders_path).iter_batches(batch_size=1 << 20, columns=cols):
        lo, hi = np.searchsorted(orow, [start, start + batch.num_rows])
        parts.append(batch.take(pa.array(orow[lo:hi] - start)))
        start += batch.num_rows
    table = pa.Table.from_batches(parts, schema=parts[0].schema) if parts else None
    if table is None:
        table = pq.read_schema(orders_path).empty_table().select(cols)
    del parts
    o = _arrow_frame(table)
    del table
    city = o.pop("city") if "city" in o else pd.Series(pd.NA, index=o.index, dtype="string")
    o["region"] = canonical_region(city, locations)
    o["warehouse_id"] = _text_by_codes(shipments["warehouse_id"], srow)
    for c in _SHIP_TS:
        if c in shipments:
            o[c] = shipments[c].array.take(srow)
    o["weight_kg"] = weight
    return o[[c for c in FULFILLED_COLUMNS if c in o.columns]]


def _order_weights(con, lines_path, products, default_kg: float, n: int) -> np.ndarray:
    """Weight of each fulfilled order (row ``pos`` of table ``fk``), kg; 1.0 without lines.

    DuckDB brings each line of a fulfilled order in file order with its order's position,
    quantity, merchandise flag and unit weight; the per-order sums are pandas sums, as in
    :func:`~.prepare.with_order_weight`.
    """
    line_names = set(pq.read_schema(lines_path).names)
    has_weight = products is not None and "weight_kg" in products and "sku" in line_names
    if has_weight:
        w = products.drop_duplicates("sku")
        con.register(
            "pw",
            pa.table(
                {
                    "sku": pa.array(w["sku"].astype("string[pyarrow]").array),
                    "unit": pa.array(w["weight_kg"].astype(float).fillna(default_kg).to_numpy()),
                }
            ),
        )
        unit = f"coalesce(pw.unit, {float(default_kg)!r})"
        join = "LEFT JOIN pw ON l.sku = pw.sku"
    else:
        unit, join = f"{float(default_kg)!r}", ""
    merch = "coalesce(l.is_merchandise, true)" if "is_merchandise" in line_names else "true"
    lines = con.sql(
        f"SELECT s.pos, coalesce(CAST(l.quantity AS DOUBLE), 'NaN'::DOUBLE) AS q, "
        f"CASE WHEN {merch} THEN {unit} ELSE 0.0 END AS unit "
        f"FROM read_parquet(?, file_row_number = true) l "
        f"JOIN fk s ON l.channel_id IS NOT DISTINCT FROM s.channel_id "
        f"AND l.order_id IS NOT DISTINCT FROM s.order_id {join} "
        f"ORDER BY l.file_row_number, s.pos",
        params=[str(lines_path)],
    ).fetchnumpy()
    q = np.asarray(lines["q"], dtype=float)
    weight = pd.Series(q).clip(lower=0).to_numpy() * np.asarray(lines["unit"], dtype=float)
    total = pd.Series(weight).groupby(np.asarray(lines["pos"], dtype=np.int64), sort=True).sum()
    return total.reindex(np.arange(n)).fillna(1.0).to_numpy()


def shipment_order_columns(
    orders_path: str | Path, shipments: pd.DataFrame, *, threads: int = 2
) -> pd.DataFrame:
    """Each shipment's order time and city, from 03's orders, joined in DuckDB.

    The same rows as ``shipments.merge(orders[[channel_id, order_id, order_ts, city]],
    how="left")`` would add (a shipment of an unknown order gets NaT and NA; an order twice
    in orders repeats its shipments, as the merge does).

    Args:
        orders_path: 03's ``orders.parquet``.
        shipments: shipments.csv (channel_id, order_id).
        threads: DuckDB's worker threads (the rows are sorted, so the result is the same
            whatever their number).

    Returns:
        DataFrame srow (the shipment's row position), order_ts (UTC) and city, one row per
        shipment (more for a repeated order), in shipment order.
    """
    names = set(pq.read_schema(orders_path).names)
    city = "o.city" if "city" in names else "CAST(NULL AS VARCHAR) AS city"
    con = duckdb_connection(threads=threads, memory_limit=duckdb_memory_limit("2GB"))
    try:
        con.register("ship", _key_table(shipments, "srow"))
        table = con.sql(
            f"SELECT s.srow, o.order_ts, {city} FROM ship s LEFT JOIN "
            f"(SELECT channel_id, order_id, order_ts, {city.removeprefix('o.')}, "
            f"file_row_number AS orow FROM read_parquet(?, file_row_number = true)) o "
            f"ON {_KEY} ORDER BY s.srow, o.orow",
            params=[str(orders_path)],
        ).to_arrow_table()
    finally:
        con.close()
    return _arrow_frame(table)


def start_shipment_order_columns(
    orders_path: str | Path, shipments: pd.DataFrame, *, threads: int = 2
) -> Future:
    """:func:`shipment_order_columns` in a background thread.

    DuckDB runs without the interpreter's lock, so the join runs beside the notebook's
    work (routing, plots); the rows are sorted, so the result is the one
    :func:`shipment_order_columns` returns whatever ``threads`` is. Two DuckDB threads:
    the notebook's work between the start and the result is short (a few seconds on the
    large data), and with one thread 05 waited about 8 s for the join there. Do not modify
    ``shipments`` until the result is taken.

    Returns:
        A future: ``.result()`` waits for the frame (and raises what the join raised).
    """
    release_unused_memory()  # what the frames freed so far left behind, before DuckDB
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-columns")
    try:
        return pool.submit(shipment_order_columns, orders_path, shipments, threads=threads)
    finally:
        pool.shutdown(wait=False)  # the thread ends when the join does
