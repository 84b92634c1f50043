"""What 02 reads, column by column: the few columns of the order lines and of shipments.csv
each step needs, so no line-level copy of a wide table sits in memory on large data.

* :data:`WEEKLY_REVENUE_COLUMNS` are the columns of ``intake_lines`` the weekly revenue per
  channel needs (:func:`channelops.revenue.weekly_channel_revenue`), and
  :data:`MARGIN_LINE_COLUMNS` those the channel margins need
  (:func:`channelops.margins.channel_margin_rates`); the notebook reads one set, computes,
  and lets it go before reading the next.
* :func:`table_columns` reads some columns of an optional table of the dataset (e.g. the
  shipment costs of ``shipments.csv``) with the same parsing and checks as
  :meth:`channelops.ingest.folder.Dataset.table` gives those columns, without reading or
  typing the others (shipments.csv's three timestamps are most of its memory).

The figures are the same as from the whole tables: the same rows in the same order reach the
same functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from channelops.ingest.contract import ReadDialect
from channelops.ingest.csvread import _read_header, _read_strings
from channelops.ingest.folder import Dataset
from channelops.ingest.tables import (
    TABLES,
    _check_no_ragged_rows,
    _check_required_columns,
    _na_column,
    _typed_column,
)

__all__ = [
    "MARGIN_LINE_COLUMNS",
    "SHIPMENT_COST_COLUMNS",
    "WEEKLY_REVENUE_COLUMNS",
    "table_columns",
]

#: Columns of ``intake_lines`` that :func:`channelops.revenue.weekly_channel_revenue` reads
#: (and the last order time, for the audience's age reference year).
WEEKLY_REVENUE_COLUMNS = ["channel_id", "order_ts_local", "revenue_base", "status", "quantity"]
#: Columns of ``intake_lines`` that :func:`channelops.margins.channel_margin_rates` reads.
MARGIN_LINE_COLUMNS = [
    "channel_id",
    "order_id",
    "sku",
    "quantity",
    "is_merchandise",
    "net_revenue_base",
    "demand_units",
]
#: Columns of ``shipments.csv`` the channel margins read (fulfilment cost per channel).
SHIPMENT_COST_COLUMNS = ["order_id", "channel_id", "warehouse_id", "cost"]


def table_columns(ds: Dataset, name: str, columns: Sequence[str]) -> pd.DataFrame | None:
    """Some columns of the dataset's optional table ``name``, typed and checked.

    Each column comes back as ``ds.table(name)[columns]`` would give it (same values and
    types; an absent optional column as missing values of its type), and a bad value in one
    of them raises the same :class:`~channelops.ingest.contract.DatasetError` (file, line,
    column, what was expected). Columns not asked for are neither typed nor checked, and
    the table's unique key is not checked (shipments.csv has none).

    Args:
        ds: the dataset.
        name: an optional table (:data:`channelops.ingest.tables.TABLES`), e.g. "shipments".
        columns: the columns to read: the table's required or optional ones.

    Returns:
        The columns in the order asked, one row per data row of the file; None when the
        dataset has no ``<name>.csv``.

    Raises:
        ValueError: ``name`` is not an optional table, or a column is not one of its columns.
        DatasetError: the file lacks a required column, a row has the wrong number of
            fields, or a value of an asked column is empty where required or not of its type.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}")
    spec = TABLES[name]
    types = {**spec["required"], **spec.get("optional", {})}
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise ValueError(f"{name}.csv has no declared column(s) {unknown}; it has {list(types)}")
    if not ds.has(name):
        return None
    rel = f"{name}.csv"
    path = ds.root / rel
    dialect = ReadDialect()
    header = _read_header(path, dialect, rel, None)
    _check_required_columns(spec, header, rel)
    wanted = [c for c in columns if c in header]
    cols, rows, ragged, _ = _read_strings(path, dialect, header, wanted, rel, None)
    _check_no_ragged_rows(ragged, header, rel)
    out = {}
    for c in columns:
        if c in cols:
            out[c] = _typed_column(cols[c], types[c], rows, rel, c, ds.timezone)
        else:
            out[c] = _na_column(types[c], len(rows))
    return pd.DataFrame(out)
