"""One channel export -> canonical order lines and a quarantine of row-level problems.

Row-level problems never raise: each bad row goes to the quarantine exactly once, with the
first problem found, and ``rows_read == len(lines) + len(quarantine)`` is asserted for
every export. The export is read as text (only the mapped columns) and checked column by
column with boolean masks, never with a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from channelops.ingest.arrowtext import (
    _apply_values,
    _arrow,
    _clean_text,
    _free_memory,
    _series,
    _to_float,
)
from channelops.ingest.contract import NUMERIC_FIELDS, STATUSES
from channelops.ingest.csvread import _read_header, _read_strings
from channelops.ingest.folder import Dataset
from channelops.ingest.lines import _build_lines, empty_lines
from channelops.ingest.mapping import _check_mapping_against_header
from channelops.ingest.quarantine import _build_quarantine, empty_quarantine
from channelops.ingest.timestamps import _parse_order_ts

__all__ = ["ExportResult", "read_all_exports", "read_export"]


@dataclass
class ExportResult:
    """Canonical order lines read from one or more exports.

    Attributes:
        lines: accepted lines, columns :data:`LINE_COLUMNS` (dtypes as in the design notes).
        quarantine: rejected rows, columns :data:`QUARANTINE_COLUMNS`.
        rows_read: data rows read (header excluded); equals len(lines) + len(quarantine).
        warnings: human-readable notes that did not stop the read (e.g. header only).
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    warnings: list[str]


def read_export(dataset: Dataset, channel_id: str) -> ExportResult:
    """Read one channel's export into canonical order lines and a quarantine.

    Args:
        dataset: the loaded dataset.
        channel_id: a channel of dataset.yaml.

    Returns:
        ExportResult with ``lines`` (columns :data:`LINE_COLUMNS`; order_ts as
        datetime64[ns, UTC]; quantity int64 > 0; unit_price, discount float64 >= 0 in the
        line's own currency), ``quarantine`` (one row per rejected input row, first problem
        only, checked in the order missing_value, bad_timestamp, bad_number,
        nonpositive_quantity, negative_price, negative_discount, unknown_status; rows with
        the wrong field count are ``ragged_row``), ``rows_read`` and ``warnings``.

    Raises:
        DatasetError: for file-level problems (encoding, unparseable CSV, header changes).
    """
    ch = dataset.channel(channel_id)
    m = ch.mapping
    rel = ch.source_file
    header = _read_header(ch.orders, m.read, rel, m.file)
    _check_mapping_against_header(m, header, rel)
    fields = m.resolve(header)
    wanted = list(dict.fromkeys(fields.values()))
    raw, rows, ragged, total = _read_strings(ch.orders, m.read, header, wanted, rel, m.file)
    warnings: list[str] = []
    if total == 0:
        warnings.append(f"{rel}: header only, no data rows; channel {ch.id!r} contributes no "
                        "order lines")
    n = len(rows)
    catalog = dataset.table("channels") if dataset.has("channels") else None
    chan_row = (catalog.loc[catalog["channel_id"] == ch.id].iloc[0]
                if catalog is not None else None)
    ts_tz = m.timestamp_timezone or (chan_row["timezone"] if chan_row is not None
                                     else dataset.timezone)

    # text of each mapped field: stripped, value maps applied; empty -> <NA>
    text: dict[str, pd.Series] = {}
    for f, c in fields.items():
        s = _clean_text(raw[c])
        if f in m.values:
            s = _apply_values(s, m.values[f])
        text[f] = s

    flag = np.zeros(n, dtype=np.int16)
    problems: list[tuple[str, str, Any]] = []

    def add(reason: str, f: str, mask: np.ndarray, message: Any) -> None:
        new = mask & (flag == 0)
        if new.any():
            problems.append((reason, f, message))
            flag[new] = len(problems)

    def isna(f: str) -> np.ndarray:
        return text[f].isna().to_numpy()

    # 1. missing values (required fields, and line_no when the export carries it)
    for f in ("order_id", "line_no", "order_ts", "buyer_ref", "channel_sku", "quantity",
              "unit_price"):
        if f in fields:
            add("missing_value", f, isna(f),
                lambda v, f=f: f"{f} is empty (column {fields[f]!r})")
    # 2. timestamps
    order_ts, what = _parse_order_ts(text["order_ts"], m, ts_tz)
    add("bad_timestamp", "order_ts", order_ts.isna().to_numpy() & ~isna("order_ts"),
        lambda v: "'" + v + f"' is not {what}")
    # 3. numbers
    nums: dict[str, np.ndarray] = {}
    for f in NUMERIC_FIELDS:
        if f not in fields:
            continue
        x = _to_float(text[f], m.read)
        nums[f] = x
        notna = ~isna(f)
        whole = f in ("line_no", "quantity")
        bad = notna & ~np.isfinite(x)
        if whole:
            bad |= notna & np.isfinite(x) & ((x != np.floor(x)) | (np.abs(x) > 2**53))
        kind = "a whole number" if whole else "a number"
        if f == "line_no":
            bad |= notna & np.isfinite(x) & (x < 1)
            kind = "a whole number >= 1"
        add("bad_number", f, bad, lambda v, k=kind: "'" + v + f"' is not {k}")
    # 4-6. ranges
    add("nonpositive_quantity", "quantity", nums["quantity"] <= 0,
        lambda v: "quantity must be > 0, found '" + v + "'")
    add("negative_price", "unit_price", nums["unit_price"] < 0,
        lambda v: "unit_price must be >= 0, found '" + v + "'")
    if "discount" in nums:
        add("negative_discount", "discount", nums["discount"] < 0,
            lambda v: "discount must be >= 0, found '" + v + "'")
    # 7. status words
    status = None
    if "status" in fields:
        status = _series(pc.utf8_lower(_arrow(text["status"])))
        bad = ~isna("status") & ~status.isin(STATUSES).to_numpy(dtype=bool, na_value=False)
        add("unknown_status", "status", bad,
            lambda v: "'" + v + "' is not a canonical status (" + ", ".join(STATUSES)
            + f") and has no entry under values.status in {m.file}")

    ok = flag == 0
    quarantine = _build_quarantine(ch, raw, fields, rows, flag, problems, ragged, len(header))
    raw.clear()  # the text is now only in ``text``, which _build_lines consumes column by column
    lines = _build_lines(dataset, ch, text, fields, rows, ok, order_ts, nums, status, chan_row,
                         warnings)
    assert total == len(lines) + len(quarantine), (
        f"{rel}: rows read {total} != accepted {len(lines)} + quarantined {len(quarantine)}")
    _free_memory()
    return ExportResult(lines, quarantine, total, warnings)


def read_all_exports(dataset: Dataset, channels: Iterable[str] | None = None) -> ExportResult:
    """Read several channels' exports (all by default) and concatenate the results.

    Args:
        dataset: the loaded dataset.
        channels: channel ids to read, in that order; None for every channel of dataset.yaml.

    Returns:
        One ExportResult: lines and quarantine concatenated (fresh RangeIndex), rows_read
        summed, warnings in channel order.
    """
    ids = [c.id for c in dataset.channels] if channels is None else list(channels)
    results = [read_export(dataset, cid) for cid in ids]
    lines = [r.lines for r in results if len(r.lines)]
    quar = [r.quarantine for r in results if len(r.quarantine)]
    out = ExportResult(
        lines=pd.concat(lines, ignore_index=True) if lines else empty_lines(),
        quarantine=pd.concat(quar, ignore_index=True) if quar else empty_quarantine(),
        rows_read=sum(r.rows_read for r in results),
        warnings=[w for r in results for w in r.warnings],
    )
    assert out.rows_read == len(out.lines) + len(out.quarantine)
    return out
