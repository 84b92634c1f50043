"""The star schema's line tables from the run's Parquet files, without holding the lines.

On a large business the order lines are the one big table of stage 03 (ten million rows
and more). Holding the intake's lines, the order lines and the ``orders`` group-by in
pandas at once took most of the stage's memory (benchmarks/results/integration_large.md).
Here:

* :func:`write_order_lines` streams the intake's lines from their Parquet file batch by
  batch, looks each line's customer up with Arrow (:func:`customer_index`) and appends
  the batch to ``order_lines.parquet``: the same rows, columns and values as
  :func:`~channelops.stages.integration.merge.attach_customers`, one batch in memory.
* :func:`orders_by_channel` builds the ``orders`` table one channel at a time from that
  file (an order belongs to one channel), reading only the columns it needs, each with
  :func:`orders_on_codes` (``build_orders``' table from integer order codes): the same
  table as :func:`~channelops.stages.integration.merge.build_orders` on all lines.
* :func:`write_star_lines` does both in one pass when the lines come grouped by channel
  (as the intake writes them): each channel's orders are built from its lines as they are
  written, so the file is not read back.
* :func:`read_lines` reads the few columns a per-line view needs.

The functions take file paths: the notebook gets them from the run folder (and checks the
intake's file there) since a stage's library does not import the run machinery.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from channelops.frames import arrow_string_dtype
from channelops.ingest.pii import LINE_PII_COLUMNS

from .coverage import GUEST_COLUMNS, customer_lines, guest_summary
from .merge import build_orders, channel_overlap_matrix, overlap_views, overlap_views_from_codes

__all__ = [
    "BATCH_ROWS",
    "PLAIN_COLUMNS",
    "ORDER_COLUMNS",
    "LineCodes",
    "customer_index",
    "write_order_lines",
    "write_star_lines",
    "orders_by_channel",
    "orders_and_guests",
    "orders_on_codes",
    "read_lines",
    "line_overlap_views",
    "line_count",
    "dimension_tables",
]

#: Lines per batch when streaming the intake's lines (about 100-200 MB of Arrow memory
#: for the intake's 27 columns).
BATCH_ROWS = 1 << 19

#: Columns of the order lines written without dictionary encoding: (nearly) one value per
#: line or order, where Arrow would build a dictionary page, find it too large and fall
#: back to plain pages in every row group. Plain, the large lines file took about 13%
#: less CPU to write and 25% less to read, and 5% fewer bytes (the same values: the
#: content hash does not see the encoding).
PLAIN_COLUMNS = ("row", "order_id", "order_ts", "order_ts_local")

#: Columns of ``order_lines`` that :func:`~channelops.stages.integration.merge.build_orders`
#: reads (those absent from the file are left out, as ``build_orders`` leaves them out).
ORDER_COLUMNS = (
    "channel_id",
    "order_id",
    "customer_id",
    "order_ts",
    "order_ts_local",
    "status",
    "line_no",
    "quantity",
    "revenue_base",
    "net_revenue_base",
    "demand_units",
    "is_guest",
    "city",
    "postcode",
)


class _Links:
    """The customer of each (channel_id, buyer_ref) of ``customer_links``, per channel:
    the channel's buyer_refs as an Arrow array (the value set of ``pc.index_in``), their
    offset in ``customer``, and the customer ids in that order."""

    def __init__(self, links: pd.DataFrame) -> None:
        channel = links["channel_id"].astype("string")
        keep = channel.notna() & links["buyer_ref"].notna()
        frame = pd.DataFrame(
            {
                "channel_id": channel[keep].to_numpy(dtype=object),
                "buyer_ref": links["buyer_ref"].astype("string")[keep].to_numpy(dtype=object),
                "customer_id": links["customer_id"].astype("string")[keep].to_numpy(dtype=object),
            }
        )
        # one link per (channel_id, buyer_ref); the first wins, as a merge's get_indexer does
        frame = frame.drop_duplicates(["channel_id", "buyer_ref"], keep="first")
        self.refs: dict[str, tuple[pa.Array, int]] = {}
        parts, offset = [], 0
        for cid, sub in frame.groupby("channel_id", sort=True):
            self.refs[str(cid)] = (pa.array(sub["buyer_ref"].to_numpy(), pa.large_string()), offset)
            parts.append(sub["customer_id"].to_numpy())
            offset += len(sub)
        values = np.concatenate(parts) if parts else np.array([], dtype=object)
        self.customer = pa.array(values, pa.large_string())


def customer_index(batch: pa.RecordBatch | pa.Table, links: _Links) -> np.ndarray:
    """Per line of ``batch``: the position of its customer in ``links.customer``, -1 for
    a guest line (``is_guest`` or no ``buyer_ref``) or a buyer without a link.

    Args:
        batch: lines (a batch or a table: any number of lines) with channel_id, buyer_ref
            and, where the intake wrote it, is_guest.
        links: from :class:`_Links`.

    Returns:
        int64 array of ``len(batch)``.
    """
    out = np.full(len(batch), -1, dtype=np.int64)
    channel = batch.column("channel_id")
    ref = batch.column("buyer_ref").cast(pa.large_string())
    for cid in pc.unique(channel).to_pylist():
        if cid is None or cid not in links.refs:
            continue
        refs, offset = links.refs[cid]
        rows = np.flatnonzero(pc.fill_null(pc.equal(channel, cid), False).to_numpy(False))
        pos = pc.index_in(ref.take(pa.array(rows)), value_set=refs)
        hit = pos.is_valid().to_numpy(zero_copy_only=False)
        out[rows[hit]] = pos.drop_null().to_numpy().astype(np.int64) + offset
    guest = pc.is_null(batch.column("buyer_ref"))
    if "is_guest" in batch.schema.names:
        guest = pc.or_(guest, pc.fill_null(batch.column("is_guest"), False))
    out[guest.to_numpy(zero_copy_only=False)] = -1
    return out


def _stored_index_columns(schema: pa.Schema) -> list[str]:
    """Columns of a pandas-written Parquet schema that hold the stored index."""
    meta = (schema.metadata or {}).get(b"pandas")
    if not meta:
        return []
    return [c for c in json.loads(meta).get("index_columns", []) if isinstance(c, str)]


def _order_lines_schema(lines: pa.Schema, keep: list[str]) -> pa.Schema:
    """The schema ``DataFrame.to_parquet`` gives the order lines: the kept columns of the
    intake's lines (strings as ``large_string``, as pandas writes ``string[pyarrow]``),
    then ``customer_id``, with pandas metadata for the columns' dtypes."""
    empty = pa.schema([lines.field(c) for c in keep]).empty_table()
    frame = empty.to_pandas(types_mapper=arrow_string_dtype)
    frame["customer_id"] = pd.array([], dtype=pd.StringDtype("pyarrow"))
    return pa.Schema.from_pandas(frame, preserve_index=False)


def write_order_lines(
    lines_file: str | os.PathLike[str],
    links: pd.DataFrame,
    target: str | os.PathLike[str],
    batch_rows: int = BATCH_ROWS,
) -> Path:
    """Write the order lines: the intake's lines with their customer, streamed.

    The file holds what ``write_table(attach_customers(<lines>, links), ...)`` writes
    (same rows in the same order, same columns, types and values): the columns of
    ``lines_file`` except the personal ones
    (:data:`~channelops.ingest.pii.LINE_PII_COLUMNS`) and a stored pandas index, then
    ``customer_id`` (null for a guest line or a buyer without a link). Only one batch of
    ``batch_rows`` lines is in memory at a time. The file is written under a temporary
    name beside ``target`` and renamed into place.

    Args:
        lines_file: Parquet file of the intake's lines (00's ``intake_lines``).
        links: ``customer_links`` (channel_id, buyer_ref, customer_id).
        target: the Parquet file to write (``tables/order_lines.parquet``).
        batch_rows: lines per batch.

    Returns:
        ``target`` as a Path.

    Raises:
        ValueError: the lines lack channel_id or buyer_ref (names the file).
    """
    return _stream_order_lines(_intake_file(lines_file), links, Path(target), batch_rows)


def _intake_file(lines_file: str | os.PathLike[str]) -> pq.ParquetFile:
    """The intake's lines file, opened; ValueError naming it when it lacks channel_id or
    buyer_ref."""
    src = pq.ParquetFile(lines_file)
    missing = [c for c in ("channel_id", "buyer_ref") if c not in src.schema_arrow.names]
    if missing:
        raise ValueError(
            f"{lines_file}: the lines have no column {', '.join(missing)}; "
            "expected the intake's lines with channel_id and buyer_ref"
        )
    return src


def _stream_order_lines(
    src: pq.ParquetFile,
    links: pd.DataFrame,
    target: Path,
    batch_rows: int,
    seen: _OrdersAsWritten | None = None,
    codes: list | None = None,
) -> Path:
    """The loop of :func:`write_order_lines`; each written batch (order lines' schema)
    also goes to ``seen`` when given, and the lines' :class:`LineCodes` are appended to
    ``codes`` when given (nothing appended when they cannot be had without the file)."""
    schema = src.schema_arrow
    drop = {*LINE_PII_COLUMNS, *_stored_index_columns(schema), "customer_id"}
    keep = [c for c in schema.names if c not in drop]
    out_schema = _order_lines_schema(schema, keep)
    lookup = _Links(links)
    pa.default_memory_pool().release_unused()  # Arrow memory earlier steps freed
    # every line's customer at once, from the three key columns: Arrow builds the hash
    # of a channel's buyer_refs once, not once per batch (about 30 builds of up to a
    # million refs each on the large data)
    keys = src.read(columns=[c for c in ("channel_id", "buyer_ref", "is_guest") if c in keep])
    positions = customer_index(keys, lookup)
    customers = lookup.customer  # each line's customer_id: customers[positions]
    if codes is not None and _is_text(keys.schema.field("channel_id").type):
        # the lines' customers as codes in the sorted distinct ids (the same strings)
        found, customers = _line_codes(keys.column("channel_id"), positions, customers)
        codes.append(found)
        positions = found.customer
    elif len(customers) < np.iinfo(np.int32).max:
        positions = positions.astype(np.int32)  # half the memory through the stream
    del keys
    pa.default_memory_pool().release_unused()
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.parquet.tmp")
    try:
        dictionary = [c for c in out_schema.names if c not in PLAIN_COLUMNS]
        with pq.ParquetWriter(tmp, out_schema, use_dictionary=dictionary) as writer:
            start = 0
            for batch in src.iter_batches(batch_size=batch_rows, columns=keep):
                idx = positions[start : start + len(batch)]
                start += len(batch)
                customer = customers.take(pa.array(idx, mask=idx < 0))
                arrays = [*batch.columns, customer]
                table = pa.Table.from_arrays(arrays, names=[*keep, "customer_id"])
                table = table.cast(out_schema)
                writer.write_table(table)
                if seen is not None:
                    seen.add(table)
                del table, arrays, batch
            if src.metadata.num_rows == 0:
                writer.write_table(out_schema.empty_table())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


@dataclass
class LineCodes:
    """Per order line, in the file's order, the integer codes of its customer and channel
    that :func:`~channelops.stages.integration.merge.overlap_views_from_codes` takes
    (:func:`line_overlap_views`), found while the lines are written.

    Attributes:
        customer: int32, the code of the line's ``customer_id`` among the sorted ids of
            every linked customer (-1: none); some codes may have no line.
        channel: the code of the line's ``channel_id`` in ``channels`` (-1: none).
        channels: the lines' channel ids, sorted (``pd.factorize(..., sort=True)``).
    """

    customer: np.ndarray
    channel: np.ndarray
    channels: pd.api.extensions.ExtensionArray


def _is_text(kind: pa.DataType) -> bool:
    """True for Arrow's string types (the order lines hold them as ``large_string``: the
    same values)."""
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _line_codes(
    channel: pa.ChunkedArray, positions: np.ndarray, customers: pa.Array
) -> tuple[LineCodes, pa.Array]:
    """:class:`LineCodes` of lines with this ``channel_id`` column and these positions in
    ``customers`` (-1: no customer): the codes ``pd.factorize(sort=True)`` gives the written
    columns, customers ranked among all of ``customers``; and the sorted distinct
    customers (``large_string``), in which ``LineCodes.customer`` are positions of the
    same strings as ``positions`` are in ``customers``."""
    chan, names = _sorted_codes(pd.array(channel, dtype=pd.StringDtype("pyarrow")))
    ranked, uniques = pd.factorize(pd.array(customers, dtype=pd.StringDtype("pyarrow")), sort=True)
    ranked = ranked.astype(np.int32)
    customer = np.full(len(positions), -1, dtype=np.int32)
    hit = positions >= 0
    customer[hit] = ranked[positions[hit]]
    small = np.int8 if len(names) < 127 else np.int32
    distinct = pa.array(uniques)
    if isinstance(distinct, pa.ChunkedArray):
        distinct = distinct.combine_chunks()
    return LineCodes(customer, chan.astype(small), names), distinct.cast(pa.large_string())


class _OrdersAsWritten:
    """``orders`` and the guest summary built from the order lines as they are written,
    one channel at a time, when the lines come grouped by channel (as the intake writes
    them): a channel's lines are complete when the next channel starts, and are then
    what :func:`orders_and_guests` reads back from the file for it (the same columns,
    lines and order). ``valid`` turns False, and what was built is dropped, when a
    channel comes back after another, a line has no channel_id or no line was seen:
    the caller then reads the file (:func:`orders_and_guests`)."""

    def __init__(self) -> None:
        self.valid = True
        self.current: str | None = None
        self.pieces: list[pa.Table] = []
        self.built: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def add(self, table: pa.Table) -> None:
        if not self.valid or not len(table):
            return
        channel = table.column("channel_id").combine_chunks()
        if channel.null_count:
            return self._give_up()
        # start of each run of equal channel ids, in line order
        change = pc.not_equal(channel.slice(1), channel.slice(0, len(channel) - 1))
        starts = np.concatenate([[0], np.flatnonzero(change.to_numpy(zero_copy_only=False)) + 1])
        ends = np.append(starts[1:], len(channel))
        wanted = [*ORDER_COLUMNS, *GUEST_COLUMNS]  # as orders_and_guests reads them
        sub = table.select(list(dict.fromkeys(c for c in wanted if c in table.schema.names)))
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            cid = channel[start].as_py()
            if cid != self.current:
                if cid in self.built:  # the channel comes back: not grouped
                    return self._give_up()
                self._finish()
                self.current = cid
            self.pieces.append(sub.slice(start, end - start))

    def _finish(self) -> None:
        if self.current is None:
            return
        lines = pa.concat_tables(self.pieces).to_pandas(types_mapper=arrow_string_dtype)
        self.pieces = []
        self.built[self.current] = (orders_on_codes(lines), guest_summary(lines))
        del lines
        pa.default_memory_pool().release_unused()

    def _give_up(self) -> None:
        self.valid, self.current, self.pieces, self.built = False, None, [], {}

    def result(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(orders, guest summary) in sorted channel order, or None (see the class)."""
        if self.valid:
            self._finish()
        if not self.valid or not self.built:
            return None
        names = sorted(self.built)
        orders = pd.concat([self.built[c][0] for c in names], ignore_index=True)
        guests = pd.concat([self.built[c][1] for c in names], ignore_index=True)
        return orders, guests


def write_star_lines(
    lines_file: str | os.PathLike[str],
    links: pd.DataFrame,
    target: str | os.PathLike[str],
    batch_rows: int = BATCH_ROWS,
    codes: bool = False,
) -> tuple:
    """:func:`write_order_lines`, then :func:`orders_and_guests` of the written file,
    without reading the file back: when the lines come grouped by channel (as the intake
    writes them), each channel's orders and guest summary are built from its lines as
    they are written, one channel in memory at a time. Otherwise the file is read back
    as :func:`orders_and_guests` does. The same tables either way.

    With ``codes``, also the lines' :class:`LineCodes` (None when the intake's
    channel_id column is not text), for :func:`line_overlap_views`: the customer
    codes come from the lookup that gives each line its customer, so the customer
    overlap does not read and hash ten million customer ids back.

    Returns:
        (``target`` as a Path, orders, guest summary), and the :class:`LineCodes` or None
        with ``codes``.
    """
    seen = _OrdersAsWritten()
    found: list[LineCodes] | None = [] if codes else None
    path = _stream_order_lines(
        _intake_file(lines_file), links, Path(target), batch_rows, seen, found
    )
    built = seen.result()
    del seen
    if built is None:
        built = orders_and_guests(path)
    if codes:
        return path, *built, found[0] if found else None
    return path, *built


def line_overlap_views(
    lines_file: str | os.PathLike[str], codes: LineCodes | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~channelops.stages.integration.merge.overlap_views` of the order lines in
    ``lines_file``: from ``codes`` (:func:`write_star_lines`) and the lines' revenue_base
    when given, else (and when a customer's line has no channel, for the matrix) from the
    lines' customer and channel ids read from the file. The same two tables."""
    if codes is None:
        return overlap_views(read_lines(lines_file, ["customer_id", "channel_id", "revenue_base"]))
    revenue = read_lines(lines_file, ["revenue_base"])["revenue_base"].to_numpy()
    if len(revenue) != len(codes.customer):
        raise ValueError(f"{lines_file}: {len(revenue):,} lines, codes for {len(codes.customer):,}")
    overlap, matrix = overlap_views_from_codes(
        codes.customer, codes.channel, codes.channels, revenue
    )
    if matrix is None:
        lines = read_lines(lines_file, ["customer_id", "channel_id"])
        matrix = channel_overlap_matrix(customer_lines(lines))
    return overlap, matrix


def read_lines(lines_file: str | os.PathLike[str], columns: list[str]) -> pd.DataFrame:
    """The given columns of a lines file that it has (strings as ``string[pyarrow]``, in
    file order), for the per-line views (overlap, prices, guests)."""
    present = set(pq.ParquetFile(lines_file).schema_arrow.names)
    table = pq.read_table(lines_file, columns=[c for c in columns if c in present])
    return table.to_pandas(types_mapper=arrow_string_dtype)


#: The text columns of an order taken from its first line that has them.
_FIRST_TEXT = ("customer_id", "status", "city", "postcode")


def orders_on_codes(lines: pd.DataFrame) -> pd.DataFrame:
    """:func:`~channelops.stages.integration.merge.build_orders` on integer group codes.

    The same table (rows, order, columns, dtypes and values, float sums bit for bit):
    the orders are the sorted (channel_id, order_id) pairs of the lines (a line missing
    either is left out); the numbers go through pandas' group-by on the integer order
    code (the same compensated sums, minima and sizes, in line order); a text column's
    value is that of the order's first line that has one, taken from the Arrow strings
    instead of a pandas group-by over Python objects. Lines whose text columns are not
    ``string[pyarrow]`` go to ``build_orders`` itself.

    Args:
        lines: order lines with the columns of ``build_orders`` (text as
            ``string[pyarrow]``, e.g. from :func:`read_lines`).

    Returns:
        The table of ``build_orders(lines)``.
    """
    arrow = pd.StringDtype("pyarrow")
    texts = ["channel_id", "order_id", *(c for c in _FIRST_TEXT if c in lines.columns)]
    if "customer_id" not in lines.columns or any(lines[c].dtype != arrow for c in texts):
        return build_orders(lines)
    chan, chan_names = _sorted_codes(lines["channel_id"].array)
    order, order_names = _sorted_codes(lines["order_id"].array)
    valid = (chan >= 0) & (order >= 0)
    width = max(len(order_names), 1)
    one = len(chan_names) == 1 and bool(valid.all())
    if one:  # one channel (orders_by_channel): codes as they are
        group, pairs = order, np.arange(len(order_names), dtype=np.int64)
    else:
        group, pairs = pd.factorize(chan[valid].astype(np.int64) * width + order[valid], sort=True)
        pairs = np.asarray(pairs)
    rows = np.flatnonzero(valid)
    numbers = {
        "order_ts": ("order_ts", "min"),
        "order_ts_local": ("order_ts_local", "min"),
        "n_lines": ("line_no", "size"),
        "units": ("quantity", "sum"),
        "revenue_base": ("revenue_base", "sum"),
    }
    for total in ("net_revenue_base", "demand_units"):
        if total in lines.columns:
            numbers[total] = (total, "sum")
    if "is_guest" in lines.columns:
        numbers["is_guest"] = ("is_guest", "any")
    if len(rows) == len(lines):  # every line has both keys: group the lines as they are
        agg = lines.groupby(group, sort=True).agg(**numbers)
    else:
        used = sorted({col for col, _ in numbers.values()})
        sub = pd.DataFrame({c: lines[c].array.take(rows) for c in used})
        agg = sub.groupby(group, sort=True).agg(**numbers)
        del sub

    def first(col: str):
        return lines[col].array.take(_first_present(lines[col], rows, group, len(pairs)),
                                     allow_fill=True)  # fmt: skip

    out = {
        "channel_id": chan_names.take(pairs // width),
        "order_id": order_names if one else order_names.take(pairs % width),
        "customer_id": first("customer_id"),
        "order_ts": agg["order_ts"].array,
        "order_ts_local": agg["order_ts_local"].array,
        "status": first("status") if "status" in lines.columns else None,
    }
    if out["status"] is None:
        raise KeyError("status")  # as build_orders does without the column
    out |= {col: agg[col].array for col in list(numbers)[2:]}
    for optional in ("city", "postcode"):
        if optional in lines.columns:
            out[optional] = first(optional)
    return pd.DataFrame(out)


def _sorted_codes(
    values: pd.arrays.ArrowStringArray,
) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """``pd.factorize(values, sort=True)`` without hashing every value when each distinct
    value comes as one run of neighbouring lines (an order's lines are written together,
    a channel's lines are one channel's): the runs are found by comparing neighbours,
    their values sorted as factorize sorts its uniques, and a value found in two runs
    (or a missing value) takes factorize itself. The same codes and uniques."""
    arr = pa.array(values)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(arr)
    if n == 0 or arr.null_count:
        return pd.factorize(values, sort=True)
    change = pc.not_equal(arr.slice(1), arr.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(change) + 1])
    runs = values.take(starts)  # the distinct values in order of appearance, if unique
    sorter = runs.argsort()  # as factorize(sort=True) orders its uniques
    uniques = runs.take(sorter)
    u = pa.array(uniques)
    u = u.combine_chunks() if isinstance(u, pa.ChunkedArray) else u
    if len(u) > 1 and pc.any(pc.equal(u.slice(1), u.slice(0, len(u) - 1))).as_py():
        return pd.factorize(values, sort=True)  # a value in two runs
    rank = np.empty(len(starts), dtype=np.intp)
    rank[sorter] = np.arange(len(starts), dtype=np.intp)
    run_of_line = np.concatenate([[0], np.cumsum(change, dtype=np.intp)])
    return rank[run_of_line], uniques


def _first_present(
    values: pd.Series, rows: np.ndarray, group: np.ndarray, n_groups: int
) -> np.ndarray:
    """Per group: the position in ``values`` of the group's first line whose value is
    present (lines at positions ``rows``, in order, of groups ``group``); -1 when none."""
    present = values.notna().to_numpy()[rows]
    first = np.full(n_groups, len(values), dtype=np.int64)
    np.minimum.at(first, group[present], rows[present])
    first[first == len(values)] = -1
    return first


def _channel_row_groups(pf: pq.ParquetFile, cid: str) -> list[int]:
    """Row groups of ``pf`` that may hold lines of channel ``cid`` (by the column's
    min/max statistics; a row group without statistics is always read)."""
    j = pf.schema_arrow.names.index("channel_id")
    groups = []
    for i in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(i).column(j).statistics
        if stats is not None and stats.has_min_max and not (stats.min <= cid <= stats.max):
            continue
        groups.append(i)
    return groups


def orders_by_channel(lines_file: str | os.PathLike[str]) -> pd.DataFrame:
    """The ``orders`` table from the order lines file, one channel at a time.

    An order (channel_id, order_id) belongs to one channel, so
    :func:`~channelops.stages.integration.merge.build_orders` on each channel's lines
    (in file order), concatenated in sorted channel order, is ``build_orders`` on all
    lines: the same rows, order, types and sums (computed by :func:`orders_on_codes`).
    Only one channel's lines, and only the columns ``build_orders`` reads
    (:data:`ORDER_COLUMNS`), are in memory at a time; row groups whose statistics rule
    the channel out are not read.

    Args:
        lines_file: Parquet file of the order lines (:func:`write_order_lines`).

    Returns:
        The table of ``build_orders``.
    """
    return orders_and_guests(lines_file, guests=False)[0]


def orders_and_guests(
    lines_file: str | os.PathLike[str], guests: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`orders_by_channel` and, from the same per-channel reads,
    :func:`~channelops.stages.integration.coverage.guest_summary` of the lines.

    ``guest_summary`` counts and sums per channel over the channel's lines in file order,
    so its rows computed channel by channel are its rows on all lines (lines without a
    channel_id, which the intake does not write, are left out).

    Args:
        lines_file: Parquet file of the order lines (:func:`write_order_lines`).
        guests: False skips the guest summary (returned as None).

    Returns:
        (orders, guest summary or None).
    """
    pf = pq.ParquetFile(lines_file)
    wanted = [*ORDER_COLUMNS, *(GUEST_COLUMNS if guests else ())]
    columns = list(dict.fromkeys(c for c in wanted if c in pf.schema_arrow.names))
    pa.default_memory_pool().release_unused()  # Arrow memory earlier steps freed
    channel = pf.read(columns=["channel_id"]).column("channel_id")
    names = sorted(c for c in pc.unique(channel).to_pylist() if c is not None)
    del channel
    if not names:
        lines = read_lines(lines_file, columns)
        return build_orders(lines), guest_summary(lines) if guests else None
    orders, summaries = [], []
    for cid in names:
        pieces = []
        for i in _channel_row_groups(pf, cid):
            group = pf.read_row_group(i, columns=columns)
            pieces.append(group.filter(pc.fill_null(pc.equal(group["channel_id"], cid), False)))
        lines = pa.concat_tables(pieces).to_pandas(types_mapper=arrow_string_dtype)
        del pieces
        orders.append(orders_on_codes(lines))
        if guests:
            summaries.append(guest_summary(lines))
        del lines
        pa.default_memory_pool().release_unused()
    summary = pd.concat(summaries, ignore_index=True) if guests else None
    return pd.concat(orders, ignore_index=True), summary


def line_count(lines_file: str | os.PathLike[str]) -> int:
    """Rows of a Parquet file (from its footer, nothing read)."""
    return int(pq.ParquetFile(lines_file).metadata.num_rows)


def dimension_tables(
    products: pd.DataFrame | None,
    channels: pd.DataFrame | None,
    channel_ids: list[str],
    lines_file: str | os.PathLike[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The star schema's ``products`` and ``channels`` tables.

    Args:
        products: ``products.csv`` or None; when None, one row per SKU the lines sell
            (column ``sku``, sorted).
        channels: ``channels.csv`` or None; when None, one row per channel of the dataset
            (column ``channel_id``, in ``channel_ids`` order).
        channel_ids: the dataset's channel ids.
        lines_file: the order lines (only ``sku`` is read, when ``products`` is None).

    Returns:
        (products, channels).
    """
    if products is None:
        skus = read_lines(lines_file, ["sku"])["sku"].unique()
        products = pd.DataFrame({"sku": sorted(skus)})
    if channels is None:
        channels = pd.DataFrame({"channel_id": list(channel_ids)})
    return products, channels
