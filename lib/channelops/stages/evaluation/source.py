"""Stage 06's order lines from 03's Parquet file, in a compact form.

Stage 06 sums money per channel, order and customer over every order line. The sums stay
pandas sums in the file's row order (so every table is the same, to the last digit, as when
the lines were read whole), but the lines come in with only the columns 06 reads, and each
text column (channel, order, customer, SKU, status) as an object array holding **one Python
string per distinct value**: a row costs a pointer, and the ``astype(str)``, ``to_numpy()``
and group-bys that 06 and :func:`channelops.margins.channel_margin_rates` run on those
columns copy pointers instead of making one new string per line.

- :func:`read_lines` — the lines, compact;
- :func:`with_shared_text` — the same for text columns of a frame already read (the
  channel and warehouse of every shipment, which the scorecard turns into ``str``);
- :func:`guests_from_parquet` — what per-customer figures leave out (guest lines),
  counted by DuckDB over the file.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from channelops.customers import GuestsLeftOut
from channelops.engine import duckdb_connection
from channelops.margins import CODE_SUFFIX

__all__ = [
    "ARROW_COLUMNS",
    "CODED_COLUMNS",
    "read_lines",
    "release_arrow_memory",
    "shared_text",
    "shipment_costs",
    "with_shared_text",
    "guests_from_parquet",
]

#: The text columns of the lines that 06's scorecard and the shared margins group on: 06
#: reads them with codes (:func:`read_lines` ``coded``).
CODED_COLUMNS = ("channel_id", "order_id", "customer_id", "sku")

#: The coded columns 06 reads by their codes alone (the distinct orders per channel, in
#: the scorecard and the margins): :func:`read_lines` keeps their text as Arrow strings.
ARROW_COLUMNS = ("order_id",)


def shared_text(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A text column as an object array with one Python ``str`` per distinct value.

    Args:
        column: Arrow strings (plain or dictionary-encoded), nulls allowed.

    Returns:
        object ndarray, one item per row: the row's ``str`` (equal values are the same
        object) or None where the row is null (as ``pandas.read_parquet`` gives it).
    """
    return _shared_text_and_codes(column)[0]


def _shared_text_and_codes(
    column: pa.ChunkedArray | pa.Array, as_arrow: bool = False
) -> tuple[np.ndarray | pd.api.extensions.ExtensionArray, np.ndarray]:
    """:func:`shared_text` and the int32 code of every row (distinct values numbered in
    order of first appearance, as ``pandas.factorize`` numbers them; -1 where null).
    ``as_arrow``: the text stays Arrow strings (pandas ``string[pyarrow]``, <NA> where
    null) instead of Python strings."""
    if isinstance(column, pa.ChunkedArray):
        # one array, so one dictionary for every row (unifying per-chunk dictionaries of
        # millions of order ids is far slower than encoding once)
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = column.dictionary_encode()
    n_values = len(encoded.dictionary) + 1  # null rows point one past the dictionary
    codes = encoded.indices.fill_null(n_values - 1).to_numpy().astype(np.int64, copy=False)
    if as_arrow:
        text = pd.arrays.ArrowStringArray(column)
    else:  # where None sits for the null rows
        values = np.append(encoded.dictionary.to_numpy(zero_copy_only=False).astype(object), None)
        text = values.take(codes)
    del encoded
    codes = codes.astype(np.int32)
    codes[codes == n_values - 1] = -1
    return text, codes


def release_arrow_memory() -> None:
    """Give the memory Arrow's allocator keeps after a large read or encode back to the
    system (mimalloc holds freed pages: on large data a gigabyte or more that would sit
    under the order lines for the rest of the stage)."""
    pa.default_memory_pool().release_unused()


def read_lines(
    path: str | os.PathLike[str],
    columns: list[str] | tuple[str, ...],
    coded: list[str] | tuple[str, ...] = (),
    arrow: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """Columns of an order-lines Parquet file, text columns as :func:`shared_text` arrays.

    The file is read one column at a time, so at most one column is held in Arrow memory
    beside the frame being built.

    Args:
        path: Parquet file of order lines (03's ``order_lines``).
        columns: the columns to read, in this order.
        coded: text columns of ``columns`` that also get an int32 code column named
            ``<column>`` + :data:`channelops.margins.CODE_SUFFIX` (distinct values numbered
            in order of first appearance, -1 where missing): the encoding Arrow makes
            anyway, so the scorecard and the margins group on integers instead of hashing
            every line's string again.
        arrow: text columns of ``columns`` kept as Arrow strings (pandas
            ``string[pyarrow]``, <NA> where missing) instead of Python strings: for a key
            read by its codes alone (06 reads the order ids by their codes: on large data
            8.6M order id strings are about 0.5 GB, as Arrow strings about a fifth).

    Returns:
        DataFrame with ``columns`` (then the code columns), row order of the file: text
        columns object (one ``str`` per distinct value, None where missing; ``arrow``
        columns ``string[pyarrow]``), numbers,
        booleans and timestamps as ``pandas.read_parquet`` types them.

    Raises:
        ValueError: the file lacks one of ``columns`` (names the file and the columns), or
            a ``coded`` column is not a text column of ``columns``.
    """
    schema = pq.read_schema(path)
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise ValueError(
            f"order lines file {os.fspath(path)} lacks column(s) {missing}; it has {schema.names}"
        )
    not_text = [
        c
        for c in coded
        if c not in columns
        or not (
            pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        )
    ]
    if not_text:
        raise ValueError(
            f"read_lines codes text columns it reads; {not_text} of {os.fspath(path)} "
            f"is not among the text columns of {list(columns)}"
        )
    not_read = [c for c in arrow if c not in columns]
    if not_read:
        raise ValueError(f"read_lines keeps as Arrow strings columns it reads; not {not_read}")
    out: dict[str, object] = {}
    codes: dict[str, np.ndarray] = {}
    for name in columns:
        kind = schema.field(name).type
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        table = pq.read_table(path, columns=[name])
        if text:
            out[name], code = _shared_text_and_codes(table.column(0), name in arrow)
            if name in coded:
                codes[name + CODE_SUFFIX] = code
        else:
            out[name] = table.to_pandas(split_blocks=True)[name]
        del table
    out.update(codes)
    n = pq.read_metadata(path).num_rows
    frame = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
    release_arrow_memory()
    return frame


def with_shared_text(
    frame: pd.DataFrame | None, columns: list[str], coded: bool = False
) -> pd.DataFrame | None:
    """``frame`` with its ``columns`` (those it has) as :func:`shared_text` object arrays.

    Args:
        frame: any DataFrame (e.g. shipments.csv as the dataset reads it), or None.
        columns: text columns (string, object) to convert; missing values become None.
        coded: also add each converted column's int32 codes as column ``<column>`` +
            :data:`channelops.margins.CODE_SUFFIX` (as :func:`read_lines` ``coded``).

    Returns:
        A new frame (the other columns not copied), or None for None.
    """
    if frame is None:
        return None
    out = frame.copy(deep=False)
    for c in columns:
        if c in out.columns:
            values = out[c].astype("string[pyarrow]").array
            out[c], codes = _shared_text_and_codes(values.__arrow_array__())
            if coded:
                out[c + CODE_SUFFIX] = codes
    release_arrow_memory()
    return out


#: Columns of shipments.csv read only for the scorecard's shipment figures (order cycle
#: time, on-time rate): :func:`shipment_costs` drops them once those are computed.
SHIPMENT_FIGURE_ONLY = ("order_id", "promised_ts", "delivered_ts")


def shipment_costs(shipments: pd.DataFrame | None) -> pd.DataFrame | None:
    """``shipments`` without the columns only the scorecard's shipment figures read
    (:data:`SHIPMENT_FIGURE_ONLY`): what the shared margins (channel, cost, warehouse
    handling) and the stock figures (channel, warehouse) read after those figures are
    computed (:func:`.scorecard.shipment_part`). None for None.

    On large data the order ids and the two times are a few hundred MB that would
    otherwise sit beside the order lines through the scorecard.
    """
    if shipments is None:
        return None
    return shipments.drop(columns=[c for c in SHIPMENT_FIGURE_ONLY if c in shipments.columns])


def guests_from_parquet(
    path: str | os.PathLike[str], customer: str = "customer_id"
) -> GuestsLeftOut:
    """What per-customer figures leave out, counted by DuckDB over an order-lines file.

    The counts of :func:`channelops.customers.identified_lines` (guest lines, their distinct
    (channel_id, order_id) orders and net revenue, and the same over every line) without
    bringing a line into pandas; missing and NaN money count 0, as there. The revenue sums
    are DuckDB's (equal to pandas' to float rounding: they only enter a sentence).

    Args:
        path: Parquet file of order lines with channel_id, order_id, ``customer`` (missing
            on a guest line) and net_revenue_base (else revenue_base), base currency.
        customer: the customer column.

    Returns:
        :class:`channelops.customers.GuestsLeftOut`.

    Raises:
        ValueError: the file lacks one of those columns (names the file and the columns).
    """
    names = pq.read_schema(path).names
    money = "net_revenue_base" if "net_revenue_base" in names else "revenue_base"
    missing = [c for c in ("channel_id", "order_id", customer, money) if c not in names]
    if missing:
        raise ValueError(f"order lines file {os.fspath(path)} lacks column(s) {missing}")
    cust = '"' + customer.replace('"', '""') + '"'
    con = duckdb_connection(threads=2)
    try:
        # one row per order first (a small hash table of keys), then the totals
        row = con.execute(
            f"""
            SELECT sum(n_guest), count(*) FILTER (WHERE n_guest > 0),
                   coalesce(sum(r_guest), 0.0), sum(n), count(*), coalesce(sum(r), 0.0)
            FROM (
                SELECT count(*) AS n, count(*) FILTER (WHERE {cust} IS NULL) AS n_guest,
                       sum(money) AS r, sum(money) FILTER (WHERE {cust} IS NULL) AS r_guest
                FROM (SELECT channel_id, order_id, {cust},
                             nullif({money}, 'NaN'::DOUBLE) AS money FROM read_parquet(?))
                GROUP BY channel_id, order_id
            )
            """,
            [os.fspath(path)],
        ).fetchone()
    finally:
        con.close()
    return GuestsLeftOut(
        lines=int(row[0] or 0),
        orders=int(row[1]),
        revenue=float(row[2]),
        total_lines=int(row[3] or 0),
        total_orders=int(row[4]),
        total_revenue=float(row[5]),
    )
