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
- :func:`guests_left_out` — what per-customer figures leave out (guest lines), without a
  copy of the identified lines.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from channelops.customers import GuestsLeftOut, identified_lines

__all__ = ["read_lines", "shared_text", "with_shared_text", "guests_left_out", "GUEST_COLUMNS"]

#: The columns :func:`guests_left_out` reads: the guest test, the order key and the money.
GUEST_COLUMNS = ("channel_id", "order_id", "customer_id", "net_revenue_base", "revenue_base")


def shared_text(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A text column as an object array with one Python ``str`` per distinct value.

    Args:
        column: Arrow strings (plain or dictionary-encoded), nulls allowed.

    Returns:
        object ndarray, one item per row: the row's ``str`` (equal values are the same
        object) or None where the row is null (as ``pandas.read_parquet`` gives it).
    """
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.empty(0, dtype=object)
    values = column.chunk(0).dictionary.to_numpy(zero_copy_only=False)
    # null rows point one past the dictionary, where None sits
    values = np.append(values.astype(object), None)
    codes = np.concatenate(
        [c.indices.fill_null(len(values) - 1).to_numpy().astype(np.int64) for c in column.chunks]
    )
    return values.take(codes)


def read_lines(path: str | os.PathLike[str], columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Columns of an order-lines Parquet file, text columns as :func:`shared_text` arrays.

    The file is read one column at a time (text columns dictionary-decoded by Parquet), so
    at most one column is held in Arrow memory beside the frame being built.

    Args:
        path: Parquet file of order lines (03's ``order_lines``).
        columns: the columns to read, in this order.

    Returns:
        DataFrame with ``columns``, row order of the file: text columns object (one ``str``
        per distinct value, None where missing), numbers, booleans and timestamps as
        ``pandas.read_parquet`` types them.

    Raises:
        ValueError: the file lacks one of ``columns`` (names the file and the columns).
    """
    schema = pq.read_schema(path)
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise ValueError(
            f"order lines file {os.fspath(path)} lacks column(s) {missing}; it has {schema.names}"
        )
    out: dict[str, object] = {}
    for name in columns:
        kind = schema.field(name).type
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        table = pq.read_table(path, columns=[name], read_dictionary=[name] if text else None)
        if text:
            out[name] = shared_text(table.column(0))
        else:
            out[name] = table.to_pandas(split_blocks=True)[name]
        del table
    n = pq.read_metadata(path).num_rows
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def with_shared_text(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    """``frame`` with its ``columns`` (those it has) as :func:`shared_text` object arrays.

    Args:
        frame: any DataFrame (e.g. shipments.csv as the dataset reads it), or None.
        columns: text columns (string, object) to convert; missing values become None.

    Returns:
        A new frame (the other columns not copied), or None for None.
    """
    if frame is None:
        return None
    out = frame.copy(deep=False)
    for c in columns:
        if c in out.columns:
            values = out[c].astype("string[pyarrow]").array
            out[c] = shared_text(values.__arrow_array__())
    return out


def guests_left_out(lines: pd.DataFrame, customer: str = "customer_id") -> GuestsLeftOut:
    """What per-customer figures leave out: guest lines, their orders and net revenue.

    :func:`channelops.customers.identified_lines` on the few columns it reads, keeping only
    its count (no copy of the identified lines is kept).

    Args:
        lines: order lines with channel_id, order_id, ``customer`` (missing on a guest
            line) and net_revenue_base or revenue_base (base currency).
        customer: the customer column.

    Returns:
        :class:`channelops.customers.GuestsLeftOut`.
    """
    cols = [c for c in (*GUEST_COLUMNS, customer) if c in lines.columns]
    return identified_lines(lines[list(dict.fromkeys(cols))], customer=customer)[1]
