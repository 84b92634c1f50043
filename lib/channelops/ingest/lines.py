"""Accepted rows as canonical order lines (columns :data:`LINE_COLUMNS`).

The text of each field becomes its canonical type; line numbers are made when the export
has none; the currency falls back from the export's column to the mapping's code (or
``currency: {column: .., default: ..}``), the channel's currency in channels.csv and the
dataset's base currency; the status defaults to ``paid``. A line without buyer_ref is a
guest line (``is_guest``); a line whose channel code is a non-merchandise code has
``is_merchandise`` False; ``refund`` is the amount refunded on the line (0 when none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _arrow, _constant_text, _series
from channelops.ingest.contract import LINE_COLUMNS, PII_FIELDS, STRING, ChannelSpec
from channelops.ingest.rowchecks import _CheckedRows

__all__ = ["empty_lines"]


def _build_lines(
    ch: ChannelSpec,
    text: dict[str, pd.Series],
    rows: np.ndarray,
    checked: _CheckedRows,
    chan_row: pd.Series | None,
    base_currency: str,
    warnings: list[str],
    counts: dict[str, int] | None = None,
    order: np.ndarray | None = None,
) -> pd.DataFrame:
    """The accepted rows of one export as order lines.

    Args:
        ch: the channel.
        text: canonical field -> text per row; consumed (emptied) column by column, so a
            large export does not hold its text twice.
        rows: record number of each row.
        checked: the row checks (which rows are ok) and the parsed timestamps, numbers and
            statuses.
        chan_row: the channel's row of channels.csv, or None.
        base_currency: the dataset's base currency (the last currency fallback).
        warnings: appended to when the currency falls back to the base currency.
        counts: when given, ``counts["currency_filled"]`` is set to the number of accepted
            lines whose blank currency cell was filled.
        order: ``pd.factorize`` codes of ``text["order_id"]`` when already computed.

    Returns:
        Columns :data:`LINE_COLUMNS`, one row per ok row, in file order.
    """
    ok = checked.problems.ok
    nums = checked.nums
    n_ok = int(ok.sum())
    keep = _rows_where(ok)
    out: dict[str, Any] = {
        "source_file": _constant_text(ch.source_file, n_ok),
        "row": rows[ok],
        "channel_id": _constant_text(ch.id, n_ok),
        "order_id": keep(text["order_id"]),
        "line_no": _line_numbers(text.pop("order_id"), nums, ok, order),
        "order_ts": keep(checked.order_ts),
        "buyer_ref": keep(text.pop("buyer_ref")),
    }
    is_guest = out["buyer_ref"].isna().to_numpy()
    for f in PII_FIELDS:
        out[f] = keep(text.pop(f)) if f in text else _constant_text(None, n_ok)
    out["channel_sku"] = keep(text.pop("channel_sku"))
    out["quantity"] = nums["quantity"][ok].astype(np.int64)
    out["unit_price"] = nums["unit_price"][ok].astype(np.float64)
    out["discount"] = (
        np.nan_to_num(nums["discount"][ok], nan=0.0) if "discount" in nums else np.zeros(n_ok)
    )
    out["refund"] = (
        np.nan_to_num(nums["refund"][ok], nan=0.0) if "refund" in nums else np.zeros(n_ok)
    )
    out["is_guest"] = is_guest
    out["is_merchandise"] = ~checked.non_merchandise[ok]
    out["currency"] = _line_currencies(
        ch, text, keep, n_ok, chan_row, base_currency, warnings, counts
    ).astype(STRING)
    status = checked.status
    out["status"] = (
        keep(status).fillna("paid") if status is not None else _constant_text("paid", n_ok)
    ).astype(STRING)
    text.clear()
    return pd.DataFrame({c: out.pop(c) for c in LINE_COLUMNS}, copy=False)


def _rows_where(ok: np.ndarray) -> Callable[[pd.Series], pd.Series]:
    """A function giving the rows of a Series where ``ok``, with a fresh RangeIndex (no
    filtering when every row is ok)."""
    everything = int(ok.sum()) == len(ok)

    def keep(s: pd.Series) -> pd.Series:
        return s.reset_index(drop=True) if everything else s[ok].reset_index(drop=True)

    return keep


def _line_numbers(
    order_id: pd.Series,
    nums: dict[str, np.ndarray],
    ok: np.ndarray,
    codes: np.ndarray | None = None,
) -> np.ndarray:
    """int64 line_no of the ok rows: the export's own, else numbered 1, 2, ... within the
    order in file order, over all rows read (so stable under quarantine). ``codes``:
    ``pd.factorize(order_id)``'s codes when already computed."""
    if "line_no" in nums:
        return nums["line_no"][ok].astype(np.int64)
    if codes is None:
        codes, _ = pd.factorize(order_id)
    return (pd.Series(codes).groupby(codes).cumcount().to_numpy()[ok] + 1).astype(np.int64)


def _line_currencies(
    ch: ChannelSpec,
    text: dict[str, pd.Series],
    keep: Callable[[pd.Series], pd.Series],
    n_ok: int,
    chan_row: pd.Series | None,
    base_currency: str,
    warnings: list[str],
    counts: dict[str, int] | None = None,
) -> pd.Series:
    """Currency of the ok rows, upper-cased: the export's currency column where it has a
    value, else the mapping's fixed code or ``currency.default``, else the channel's
    currency in channels.csv, else the base currency; with no currency column and no code,
    the base currency comes with a warning. ``counts["currency_filled"]`` (when given)
    counts the blank cells of a currency column that were filled."""
    default = ch.mapping.currency or ch.mapping.currency_default
    if default is None and chan_row is not None:
        default = chan_row["currency"]
    if "currency" in text:
        cur = _series(pc.utf8_upper(_arrow(keep(text.pop("currency")))))
        blank = int(cur.isna().sum())
        if counts is not None:
            counts["currency_filled"] = blank
        return cur.fillna(default if default is not None else base_currency) if blank else cur
    if default is None:
        default = base_currency
        if n_ok:
            warnings.append(
                f"{ch.source_file}: no currency in {ch.mapping.file} or "
                f"channels.csv; assuming the base currency "
                f"{base_currency}"
            )
    return _constant_text(default, n_ok)


def empty_lines() -> pd.DataFrame:
    """An order-lines frame with no rows (columns :data:`LINE_COLUMNS`)."""
    cols: dict[str, Any] = {}
    for c in LINE_COLUMNS:
        if c in ("row", "line_no", "quantity"):
            cols[c] = np.array([], dtype=np.int64)
        elif c in ("unit_price", "discount", "refund"):
            cols[c] = np.array([], dtype=np.float64)
        elif c in ("is_guest", "is_merchandise"):
            cols[c] = np.array([], dtype=bool)
        elif c == "order_ts":
            cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
        else:
            cols[c] = pd.Series([], dtype=STRING)
    return pd.DataFrame(cols)
