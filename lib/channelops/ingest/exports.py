"""One channel export -> canonical order lines and a quarantine of row-level problems.

Row-level problems never raise: each bad row goes to the quarantine exactly once, with the
first problem found, and ``rows_read == len(lines) + len(quarantine)`` is asserted for
every export. The export is read as text (only the mapped columns) and checked column by
column with boolean masks, never with a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelops.ingest.arrowtext import _apply_values, _clean_text, _constant_text, _free_memory
from channelops.ingest.contract import ChannelSpec, Mapping
from channelops.ingest.csvread import _read_header, _read_strings
from channelops.ingest.folder import Dataset
from channelops.ingest.lines import _build_lines, empty_lines
from channelops.ingest.mapping import _check_mapping_against_header
from channelops.ingest.quarantine import _build_quarantine, empty_quarantine
from channelops.ingest.rowchecks import _check_rows

__all__ = ["ExportResult", "read_all_exports", "read_export"]


@dataclass
class ExportResult:
    """Canonical order lines read from one or more exports.

    Attributes:
        lines: accepted lines, columns :data:`LINE_COLUMNS` (dtypes as in the design notes).
        quarantine: rejected rows, columns :data:`QUARANTINE_COLUMNS`.
        rows_read: data rows read (header excluded); equals len(lines) + len(quarantine).
        warnings: human-readable notes that did not stop the read (e.g. header only).
        money_read: the export's own money, sum of quantity x unit_price (line_total when
            the mapping maps it) over the rows read where both are numbers, in the
            export's own currency units.
        money_quarantined: the same sum over the quarantined rows.
        rows_without_money: rows read whose quantity or price is not a number (all of them
            quarantined; they add nothing to either sum).
        currency_filled: accepted lines whose blank currency cell took the mapping's
            default, the channel's or the base currency.
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    warnings: list[str]
    money_read: float = 0.0
    money_quarantined: float = 0.0
    rows_without_money: int = 0
    currency_filled: int = 0


def read_export(dataset: Dataset, channel_id: str) -> ExportResult:
    """Read one channel's export into canonical order lines and a quarantine.

    Args:
        dataset: the loaded dataset.
        channel_id: a channel of dataset.yaml.

    Returns:
        ExportResult with ``lines`` (columns :data:`LINE_COLUMNS`; order_ts as
        datetime64[ns, UTC]; quantity int64, signed and != 0 (negative: a reversal);
        unit_price (line_total / quantity when the mapping maps line_total), discount and
        refund float64 in the line's own currency; is_guest, is_merchandise bool; status
        from the mapping's status_rules, else its word map, else ``paid``),
        ``quarantine`` (one row per rejected input row, first problem only, checked in the
        order missing_value, bad_timestamp, implausible_timestamp, bad_number,
        nonpositive_quantity (quantity 0), negative_price (merchandise lines only),
        negative_discount, unknown_status; rows with the wrong field count are
        ``ragged_row``), ``rows_read``, ``warnings`` and the export's own money (see
        :class:`ExportResult`).

    Raises:
        DatasetError: for file-level problems (encoding, unparseable CSV, header changes).
    """
    ch = dataset.channel(channel_id)
    m = ch.mapping
    header = _read_header(ch.orders, m.read, ch.source_file, m.file)
    _check_mapping_against_header(m, header, ch.source_file)
    fields = m.resolve(header)
    rule_cols = [r.column for r in m.status_rules if r.column is not None]
    raw, rows, ragged, total = _read_strings(
        ch.orders,
        m.read,
        header,
        list(dict.fromkeys([*fields.values(), *rule_cols])),
        ch.source_file,
        m.file,
    )
    warnings = _header_only_warning(ch, total)
    chan_row = _catalog_row(dataset, ch.id)
    text, order = _field_text(raw, fields, m)
    if "buyer_ref" not in text:  # buyer_identity: none: every line is a guest line
        text["buyer_ref"] = _constant_text(None, len(text["order_id"]))
    checked = _check_rows(
        text,
        fields,
        m,
        _timestamp_timezone(m, chan_row, dataset.timezone),
        dataset.plausible_dates,
        dataset.timezone,
        _rule_text(raw, rule_cols, text, fields, m, order),
    )
    money = _row_money(checked.nums)
    quarantine = _build_quarantine(ch, raw, fields, rows, checked.problems, ragged, len(header))
    raw.clear()  # the text is now only in ``text``, which _build_lines consumes column by column
    counts: dict[str, int] = {}
    lines = _build_lines(
        ch,
        text,
        rows,
        checked,
        chan_row,
        dataset.base_currency,
        warnings,
        counts=counts,
        order=order,
    )
    assert total == len(lines) + len(quarantine), (
        f"{ch.source_file}: rows read {total} != accepted {len(lines)} + quarantined "
        f"{len(quarantine)}"
    )
    _free_memory()
    have = np.isfinite(money)
    return ExportResult(
        lines,
        quarantine,
        total,
        warnings,
        money_read=float(money[have].sum()),
        money_quarantined=float(money[have & ~checked.problems.ok].sum()),
        rows_without_money=int((~have).sum()) + len(ragged),
        currency_filled=counts.get("currency_filled", 0),
    )


def _row_money(nums: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's money as the export states it: line_total when mapped, else quantity x
    unit_price (NaN where either is not a number), in the export's own currency units."""
    if "line_total" in nums:
        return nums["line_total"]
    return nums["quantity"] * nums["unit_price"]


def _header_only_warning(ch: ChannelSpec, total: int) -> list[str]:
    """The warnings list of a read: one note when the export has no data rows."""
    if total == 0:
        return [
            f"{ch.source_file}: header only, no data rows; channel {ch.id!r} contributes "
            "no order lines"
        ]
    return []


def _catalog_row(dataset: Dataset, channel_id: str) -> pd.Series | None:
    """The channel's row of channels.csv, or None when the dataset has no channels.csv."""
    catalog = dataset.table("channels") if dataset.has("channels") else None
    return catalog.loc[catalog["channel_id"] == channel_id].iloc[0] if catalog is not None else None


def _timestamp_timezone(m: Mapping, chan_row: pd.Series | None, dataset_tz: str) -> str:
    """Timezone of naive timestamps: the mapping's, else the channel's in channels.csv, else
    the dataset's reporting timezone."""
    return m.timestamp_timezone or (chan_row["timezone"] if chan_row is not None else dataset_tz)


def _field_text(
    raw: dict[str, pd.Series], fields: dict[str, str], m: Mapping
) -> tuple[dict[str, pd.Series], np.ndarray | None]:
    """Canonical field -> its export column's text, stripped, empty -> <NA>, with the
    mapping's value map applied and the ``fill_down`` fields filled down; and the codes
    of the order ids (``pd.factorize``, missing -1) when the fill-down needed them, else
    None (for :func:`_rule_text` and the line numbering to reuse)."""
    text: dict[str, pd.Series] = {}
    for f, c in fields.items():
        s = _clean_text(raw[c])
        if f in m.values:
            s = _apply_values(s, m.values[f])
        text[f] = s
    order = None
    if m.fill_down:
        order = pd.factorize(text["order_id"], use_na_sentinel=True)[0]
        for f in m.fill_down:
            text[f] = _fill_down(text[f], order)
    return text, order


def _rule_text(
    raw: dict[str, pd.Series],
    rule_cols: list[str],
    text: dict[str, pd.Series],
    fields: dict[str, str],
    m: Mapping,
    order: np.ndarray | None = None,
) -> dict[str, pd.Series]:
    """Export column -> stripped text of the columns the status rules read. A column that
    is also the column of a ``fill_down`` field is filled down the same way (Shopify's
    Financial Status sits on an order's first line only); ``order``: the order ids'
    codes when already computed (:func:`_field_text`)."""
    filled = {fields[f] for f in m.fill_down if f in fields}
    if filled and order is None:
        order = pd.factorize(text["order_id"], use_na_sentinel=True)[0]
    out = {}
    for c in dict.fromkeys(rule_cols):
        s = _clean_text(raw[c])
        out[c] = _fill_down(s, order) if c in filled else s
    return out


def _fill_down(s: pd.Series, order: np.ndarray) -> pd.Series:
    """Blank cells of ``s`` take the previous non-blank value of the same order (file
    order); rows without an order id (code -1) are left as they are."""
    if not s.isna().any():
        return s
    filled = s.groupby(order, sort=False).ffill()
    return filled.where(order >= 0, s).astype(s.dtype)


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
        money_read=sum(r.money_read for r in results),
        money_quarantined=sum(r.money_quarantined for r in results),
        rows_without_money=sum(r.rows_without_money for r in results),
        currency_filled=sum(r.currency_filled for r in results),
    )
    assert out.rows_read == len(out.lines) + len(out.quarantine)
    return out
