"""Canonicalise order lines: reporting-timezone timestamps, master SKUs, base-currency amounts.

Input is what :func:`channelops.ingest.dataset.read_export` / ``read_all_exports`` return (order_ts
already in UTC, statuses already canonical). :func:`canonicalise` adds

* ``sku``: the master SKU. With ``sku_map.csv``, (channel_id, channel_sku) -> sku; a
  channel_sku that is not in the map but is itself a master SKU of ``products.csv`` is
  taken as is. Without ``sku_map.csv``, channel_sku is the master SKU when it is in
  ``products.csv``. Unresolved -> quarantine ``unknown_sku``. With neither file there is
  nothing to check against, so channel_sku is taken as the master SKU.
* ``order_ts_local``: order_ts in the dataset's reporting timezone, tz-naive.
* ``fx_rate``: ``rate_to_base`` of the line's currency on the order's local date (nearest
  earlier date when that date is missing); 1 for the base currency. A currency that is
  neither the base nor in ``fx_rates.csv`` -> ``unknown_currency``; a known currency with
  no rate on or before the order date -> ``missing_fx_rate``.
* ``unit_price_base``, ``discount_base`` (unit_price and discount x fx_rate) and
  ``revenue_base`` = quantity x unit_price_base - discount_base, all in the base currency,
  unrounded (sums reconcile to the cent with the per-line formula).
* ``refund_base`` = refund x fx_rate (>= 0); ``net_revenue_base``: 0 for a
  positive-quantity line whose status is cancelled or returned, else revenue_base -
  refund_base (a negative reversal line reduces it); ``demand_units``: quantity for a
  merchandise line with quantity > 0 whose status is not cancelled or returned, else 0.
* ``is_merchandise`` is overridden by products.csv's optional ``merchandise`` column for
  the master SKUs it names. A non-merchandise line (postage, fees, ...) is never
  ``unknown_sku``: its ``sku`` is its channel code.

Rows that cannot be converted go to the returned quarantine (columns of
``channelops.ingest.dataset.QUARANTINE_COLUMNS``) with the first problem in the order
unknown_sku, unknown_currency, missing_fx_rate. Everything is vectorised; loops run over
channels and currencies, never over rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _free_memory
from channelops.ingest.contract import REVERSAL_STATUSES, STRING
from channelops.ingest.folder import Dataset
from channelops.ingest.merchandise import merchandise_flags
from channelops.ingest.quarantine import _quarantine_frame, empty_quarantine

__all__ = ["CANONICAL_COLUMNS", "canonicalise"]

#: Columns added by :func:`canonicalise`, after the columns of the input lines.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "sku",
    "order_ts_local",
    "fx_rate",
    "unit_price_base",
    "discount_base",
    "revenue_base",
    "refund_base",
    "net_revenue_base",
    "demand_units",
)


def canonicalise(lines: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add master SKUs, local timestamps and base-currency amounts to order lines.

    Args:
        lines: canonical order lines (columns of ``channelops.ingest.dataset.LINE_COLUMNS``; at
            least channel_id, channel_sku, order_ts (UTC), quantity, unit_price, discount,
            currency, and source_file/row for the quarantine).
        dataset: the loaded dataset (base_currency, timezone, products, sku_map, fx_rates).

    Returns:
        (accepted, quarantine): ``accepted`` is the converted lines (input columns plus
        :data:`CANONICAL_COLUMNS`; fx_rate and *_base float64, order_ts_local
        datetime64[ns]), fresh RangeIndex, input order kept; ``quarantine`` holds one row per
        line that could not be converted. len(accepted) + len(quarantine) == len(lines).
    """
    n = len(lines)
    flag = np.zeros(n, dtype=np.int8)  # 0 ok, 1 unknown_sku, 2 unknown_currency, 3 missing_fx
    channel = lines["channel_id"].astype(STRING)
    chan_sku = lines["channel_sku"].astype(STRING)

    sku = _master_skus(channel, chan_sku, dataset)
    merch = _merchandise(lines, sku, dataset)
    sku = sku.where(merch | sku.notna().to_numpy(), chan_sku)
    flag[(sku.isna().to_numpy()) & (flag == 0)] = 1

    local = lines["order_ts"].dt.tz_convert(dataset.timezone).dt.tz_localize(None)
    day = local.to_numpy().astype("datetime64[D]")
    currency = lines["currency"].astype(STRING)
    fx, unknown, missing = _fx_rates(currency, day, dataset)
    flag[unknown & (flag == 0)] = 2
    flag[missing & (flag == 0)] = 3

    ok = flag == 0
    out = _keep_rows(lines, ok)
    out["sku"] = sku[ok].reset_index(drop=True).astype(STRING)
    out["order_ts_local"] = local[ok].reset_index(drop=True)
    fx_ok = fx[ok]
    out["fx_rate"] = fx_ok
    out["unit_price_base"] = out["unit_price"].to_numpy(dtype=np.float64) * fx_ok
    out["discount_base"] = out["discount"].to_numpy(dtype=np.float64) * fx_ok
    qty = out["quantity"].to_numpy(dtype=np.float64)
    out["revenue_base"] = qty * out["unit_price_base"].to_numpy() - out["discount_base"].to_numpy()
    out["is_merchandise"] = merch[ok]
    refund = out["refund"].to_numpy(dtype=np.float64) if "refund" in out else np.zeros(len(out))
    out["refund_base"] = refund * fx_ok
    reversed_ = out["status"].isin(REVERSAL_STATUSES).to_numpy(dtype=bool, na_value=False)
    out["net_revenue_base"] = np.where(
        (qty > 0) & reversed_, 0.0, out["revenue_base"].to_numpy() - out["refund_base"].to_numpy()
    )
    out["demand_units"] = np.where(
        merch[ok] & (qty > 0) & ~reversed_, out["quantity"].to_numpy(dtype=np.int64), 0
    ).astype(np.int64)

    quarantine = _quarantine(lines, flag, dataset, currency, day)
    assert len(out) + len(quarantine) == n, "canonicalise lost rows"
    _free_memory()
    return out, quarantine


def _merchandise(lines: pd.DataFrame, sku: pd.Series, ds: Dataset) -> np.ndarray:
    """bool per line: the line is merchandise. The intake's code-list flag
    (``is_merchandise`` of the lines; True when the column is absent), overridden by
    products.csv's ``merchandise`` cell of the line's master SKU where it states one."""
    merch = (
        lines["is_merchandise"].to_numpy(dtype=bool)
        if "is_merchandise" in lines.columns
        else np.ones(len(lines), dtype=bool)
    )
    flags = merchandise_flags(ds.table("products") if ds.has("products") else None)
    if not flags:
        return merch
    # a code the lists call non-merchandise is looked up as itself when no master SKU
    key = sku.fillna(pd.Series(lines["channel_sku"].to_numpy(), index=sku.index, dtype=STRING))
    stated = key.map(flags)
    known = stated.notna().to_numpy()
    merch = merch.copy()
    merch[known] = stated[known].astype(bool).to_numpy()
    return merch


def _keep_rows(df: pd.DataFrame, ok: np.ndarray) -> pd.DataFrame:
    """Rows of ``df`` where ``ok``, fresh RangeIndex. Column by column (Arrow filter for
    Arrow-backed columns) so that a large frame is not copied twice through
    pandas' block consolidation; no copy at all when every row is kept."""
    if ok.all():
        return df.reset_index(drop=True).copy(deep=False)
    mask = pa.array(ok)
    cols: dict[str, Any] = {}
    for c in df.columns:
        arr = df[c].array
        if isinstance(arr, pd.arrays.ArrowExtensionArray):
            kept = pa.chunked_array(arr.__arrow_array__()).filter(mask)
            cols[c] = pd.Series(type(arr)(kept), dtype=df[c].dtype, copy=False)
        else:
            cols[c] = pd.Series(
                df[c].to_numpy()[ok]
                if not isinstance(df[c].dtype, (pd.DatetimeTZDtype, pd.CategoricalDtype))
                else df[c].array[ok],
                copy=False,
            )
    return pd.DataFrame(cols, copy=False)


def _master_skus(channel: pd.Series, chan_sku: pd.Series, ds: Dataset) -> pd.Series:
    """Master SKU per line (string[pyarrow]), <NA> where it cannot be resolved.

    Args:
        channel: channel_id per line (string[pyarrow]).
        chan_sku: the channel's own SKU code per line (string[pyarrow]).
        ds: the dataset (products.csv and sku_map.csv, either may be missing).

    Works on Arrow hash lookups: each line gets a position into one array of candidate
    values (the sku_map targets of its channel, then the master SKUs), and the result is
    a single ``take``; the loop runs over the channels of sku_map, never over lines.
    """
    products = ds.table("products") if ds.has("products") else None
    sku_map = ds.table("sku_map") if ds.has("sku_map") else None
    if products is None and sku_map is None:
        return chan_sku.copy()
    codes = _arrow_text(chan_sku)
    chan = _arrow_text(channel)
    master = (
        pa.array(products["sku"].astype(str).to_numpy(dtype=object), pa.string())
        if products is not None
        else pa.array([], pa.string())
    )
    n = len(chan_sku)
    pos = np.full(n, -1, dtype=np.int64)  # index into `values` below, -1: unresolved
    targets: list[pa.Array] = []
    offset = 0
    if sku_map is not None:
        for cid, grp in sku_map.groupby("channel_id", sort=False):
            rows = pc.fill_null(pc.equal(chan, cid), False)
            rows_np = rows.to_numpy(zero_copy_only=False)
            if not rows_np.any():
                continue
            keys = pa.array(grp["channel_sku"].astype(str).to_numpy(dtype=object), pa.string())
            target = pa.array(grp["sku"].astype(str).to_numpy(dtype=object), pa.string())
            if products is not None:
                # a mapped SKU must exist in the product master: drop entries that do not
                keep = pc.is_in(target, value_set=master)
                keys, target = keys.filter(keep), target.filter(keep)
            hit = pc.index_in(codes.filter(rows), value_set=keys)
            pos[rows_np] = np.where(
                pc.is_valid(hit).to_numpy(zero_copy_only=False),
                pc.fill_null(hit, -1).to_numpy(zero_copy_only=False) + offset,
                -1,
            )
            targets.append(target)
            offset += len(target)
    if products is not None:
        # unmapped codes that are themselves master SKUs (own channels often sell them)
        todo = pos < 0
        direct = pc.index_in(codes.filter(pa.array(todo)), value_set=master)
        direct_np = pc.fill_null(direct, -1).to_numpy(zero_copy_only=False)
        pos[todo] = np.where(direct_np >= 0, direct_np + offset, -1)
        targets.append(master)
    values = pa.concat_arrays(targets) if targets else pa.array([], pa.string())
    sku = values.take(pa.array(pos, mask=pos < 0))
    return pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array([sku])),
        index=chan_sku.index,
        dtype=STRING,
        copy=False,
    )


def _arrow_text(s: pd.Series) -> pa.ChunkedArray:
    """The Arrow strings behind a string[pyarrow] Series (no copy), as pa.string()."""
    a = pa.chunked_array(s.astype(STRING).array.__arrow_array__())
    return a if a.type == pa.string() else a.cast(pa.string())


def _fx_rates(
    currency: pd.Series,
    day: np.ndarray,
    ds: Dataset,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate to base per line (NaN when unavailable), and the unknown / missing masks."""
    n = len(currency)
    fx = np.full(n, np.nan)
    cur = _arrow_text(currency)
    is_base = (currency == ds.base_currency).to_numpy(dtype=bool, na_value=False)
    fx[is_base] = 1.0
    unknown = ~is_base
    missing = np.zeros(n, dtype=bool)
    table = ds.table("fx_rates") if ds.has("fx_rates") else None
    if table is None:
        return fx, unknown, missing
    for code, grp in table.groupby("currency", sort=False):
        if code == ds.base_currency:
            continue
        rows = np.flatnonzero(
            pc.fill_null(pc.equal(cur, code), False).to_numpy(zero_copy_only=False)
        )
        if not len(rows):
            continue
        unknown[rows] = False
        grp = grp.sort_values("date")
        dates = grp["date"].to_numpy().astype("datetime64[D]")
        rates = grp["rate_to_base"].to_numpy(dtype=np.float64)
        pos = np.searchsorted(dates, day[rows], side="right") - 1
        have = pos >= 0
        fx[rows[have]] = rates[pos[have]]
        missing[rows[~have]] = True
    return fx, unknown, missing


def _quarantine(
    lines: pd.DataFrame, flag: np.ndarray, ds: Dataset, currency: pd.Series, day: np.ndarray
) -> pd.DataFrame:
    if not flag.any():
        return empty_quarantine()
    parts = []
    mapped = {c.id: c.mapping.resolve(c.header) for c in ds.channels}
    for code, reason, field in (
        (1, "unknown_sku", "channel_sku"),
        (2, "unknown_currency", "currency"),
        (3, "missing_fx_rate", "currency"),
    ):
        idx = np.flatnonzero(flag == code)
        if not len(idx):
            continue
        sub = lines.iloc[idx]
        # the export's own column name (None when the value came from the mapping itself)
        column = (
            sub["channel_id"]
            .astype(object)
            .map({cid: cols.get(field) for cid, cols in mapped.items()})
            .reset_index(drop=True)
        )
        value = sub[field].astype(STRING).fillna("").reset_index(drop=True)
        if reason == "unknown_sku":
            msg = (
                "channel SKU '"
                + value
                + "' of channel "
                + sub["channel_id"].astype(STRING).reset_index(drop=True)
                + _sku_hint(ds)
            )
        elif reason == "unknown_currency":
            msg = (
                "currency '" + value + "' is neither the base currency "
                f"{ds.base_currency} nor in fx_rates.csv"
                + ("" if ds.has("fx_rates") else " (the dataset has no fx_rates.csv)")
            )
        else:
            days = pd.Series(day[idx].astype(str), dtype=STRING)
            msg = (
                "no fx rate for '"
                + value
                + "' on or before "
                + days
                + " (the order's date in "
                + ds.timezone
                + ") in fx_rates.csv"
            )
        parts.append(
            pd.DataFrame(
                {
                    "source_file": sub["source_file"].reset_index(drop=True)
                    if "source_file" in sub
                    else pd.NA,
                    "row": sub["row"].to_numpy() if "row" in sub else -1,
                    "channel_id": sub["channel_id"].reset_index(drop=True),
                    "column": pd.Series(column, dtype=STRING),
                    "value": value,
                    "reason": reason,
                    "message": msg,
                }
            )
        )
    q = pd.concat(parts, ignore_index=True)
    return _quarantine_frame(q.sort_values(["source_file", "row"], kind="stable"))


def _sku_hint(ds: Dataset) -> Any:
    if ds.has("sku_map"):
        return " is not in sku_map.csv and is not a master SKU of products.csv"
    return " is not a master SKU of products.csv (the dataset has no sku_map.csv)"
