"""Accepted rows as canonical order lines (columns :data:`LINE_COLUMNS`).

The text of each field becomes its canonical type; line numbers are made when the export
has none; the currency falls back from the export's column to the mapping's code, the
channel's currency in channels.csv and the dataset's base currency; the status defaults to
``paid``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _arrow, _constant_text, _series
from channelops.ingest.contract import LINE_COLUMNS, PII_FIELDS, STRING, ChannelSpec
from channelops.ingest.folder import Dataset

__all__ = ["empty_lines"]


def _build_lines(ds: Dataset, ch: ChannelSpec, text: dict[str, pd.Series],
                 fields: dict[str, str], rows: np.ndarray, ok: np.ndarray,
                 order_ts: pd.Series, nums: dict[str, np.ndarray], status: pd.Series | None,
                 chan_row: pd.Series | None, warnings: list[str]) -> pd.DataFrame:
    n_ok = int(ok.sum())
    order_id = text["order_id"]
    everything = n_ok == len(ok)

    def keep(s: pd.Series) -> pd.Series:
        return s.reset_index(drop=True) if everything else s[ok].reset_index(drop=True)

    out: dict[str, Any] = {
        "source_file": _constant_text(ch.source_file, n_ok),
        "row": rows[ok],
        "channel_id": _constant_text(ch.id, n_ok),
        "order_id": keep(order_id),
    }
    if "line_no" in nums:
        out["line_no"] = nums["line_no"][ok].astype(np.int64)
    else:
        # numbered within the order in file order, over all rows read (stable under quarantine)
        codes, _ = pd.factorize(order_id)
        out["line_no"] = (pd.Series(codes).groupby(codes).cumcount().to_numpy()[ok] + 1
                          ).astype(np.int64)
    del order_id
    text.pop("order_id")
    out["order_ts"] = keep(order_ts)
    out["buyer_ref"] = keep(text.pop("buyer_ref"))
    for f in PII_FIELDS:
        out[f] = (keep(text.pop(f)) if f in text
                  else _constant_text(None, n_ok))
    out["channel_sku"] = keep(text.pop("channel_sku"))
    out["quantity"] = nums["quantity"][ok].astype(np.int64)
    out["unit_price"] = nums["unit_price"][ok].astype(np.float64)
    out["discount"] = (np.nan_to_num(nums["discount"][ok], nan=0.0) if "discount" in nums
                       else np.zeros(n_ok))
    default_cur = m_cur = ch.mapping.currency
    if m_cur is None:
        default_cur = chan_row["currency"] if chan_row is not None else None
    if "currency" in text:
        cur = _series(pc.utf8_upper(_arrow(keep(text.pop("currency")))))
        if default_cur is not None:
            cur = cur.fillna(default_cur)
    else:
        if default_cur is None:
            default_cur = ds.base_currency
            if n_ok:
                warnings.append(f"{ch.source_file}: no currency in {ch.mapping.file} or "
                                f"channels.csv; assuming the base currency "
                                f"{ds.base_currency}")
        cur = _constant_text(default_cur, n_ok)
    out["currency"] = cur.astype(STRING)
    out["status"] = (keep(status).fillna("paid") if status is not None
                     else _constant_text("paid", n_ok)).astype(STRING)
    text.clear()
    return pd.DataFrame({c: out.pop(c) for c in LINE_COLUMNS}, copy=False)


def empty_lines() -> pd.DataFrame:
    """An order-lines frame with no rows (columns :data:`LINE_COLUMNS`)."""
    cols: dict[str, Any] = {}
    for c in LINE_COLUMNS:
        if c in ("row", "line_no", "quantity"):
            cols[c] = np.array([], dtype=np.int64)
        elif c in ("unit_price", "discount"):
            cols[c] = np.array([], dtype=np.float64)
        elif c == "order_ts":
            cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
        else:
            cols[c] = pd.Series([], dtype=STRING)
    return pd.DataFrame(cols)
