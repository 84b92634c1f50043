"""One record per channel buyer: the name, e-mail, phone and address seen on most of its
order lines (the input of 03's identity resolution).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from channelops.engine import duckdb_connection
from channelops.frames import series_from_ns
from channelops.ingest.pii import normalise_email, normalise_phone

__all__ = [
    "buyer_records",
    "lines_with_buyers",
]


#: Export fields of a buyer record: order-line column -> buyer record column.
_BUYER_FIELDS = {
    "buyer_name": "name",
    "buyer_email": "email",
    "buyer_phone": "phone",
    "ship_address": "address",
    "postcode": "postcode",
    "city": "city",
}


def buyer_records(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (channel_id, buyer_ref): the buyer's PII and order counts.

    Each personal field is the buyer's most frequent non-missing value over their order
    lines (ties: the value seen on the most recent order, then the smallest value). The
    strings are replaced by sorted integer codes (``pd.factorize(sort=True)``, so code
    order is value order) and the group-bys run in DuckDB on those integers.

    Args:
        lines: order lines with channel_id, buyer_ref, order_id, order_ts and any of
            buyer_name, buyer_email, buyer_phone, ship_address, postcode, city.

    Returns:
        Columns channel_id, buyer_ref, n_lines, first_order_ts, last_order_ts, name, email,
        phone, address, postcode, city, email_norm, phone_norm; sorted by channel_id and
        buyer_ref; buyers with a missing channel_id or buyer_ref are left out.
    """
    present = {src: dst for src, dst in _BUYER_FIELDS.items() if src in lines.columns}
    table, codes = _coded_lines(lines, present)
    res = _query(table, _buyer_sql(len(present)))
    del table
    out = _decoded_buyers(res, lines, present, codes)
    arrow = pd.StringDtype("pyarrow")  # Arrow memory, not one Python object per value
    out["email_norm"] = normalise_email(out["email"]).astype(arrow)
    out["phone_norm"] = normalise_phone(out["phone"]).astype(arrow)
    return out


def lines_with_buyers(lines: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``lines`` that :func:`buyer_records` reads (channel_id, buyer_ref,
    order_id, order_ts and the personal fields), without the guest lines when they are
    the majority (an export without buyer identity is all guest lines; copying the rows
    of a few would cost more than it saves). ``buyer_records`` of it equals
    ``buyer_records(lines)``: a line without channel_id or buyer_ref counts for no
    buyer, and the sorted codes of the values keep their order on a subset.
    """
    cols = [
        c
        for c in ("channel_id", "buyer_ref", "order_id", "order_ts", *_BUYER_FIELDS)
        if c in lines.columns
    ]
    has = lines["buyer_ref"].notna().to_numpy() & lines["channel_id"].notna().to_numpy()
    sub = lines[cols]
    if 2 * int(has.sum()) >= len(has):
        return sub
    return sub.iloc[np.flatnonzero(has)].reset_index(drop=True)


class _Codes(NamedTuple):
    """The dictionaries of :func:`_coded_lines`' integer codes."""

    channels: pd.Index  # channel_id per channel code (sorted)
    refs: pd.Index  # buyer_ref per buyer_ref code (sorted)
    width: int  # buyer key = channel code * width + buyer_ref code
    values: dict[str, pd.Index]  # export field -> its value per code (sorted)


def _coded_lines(lines: pd.DataFrame, present: dict[str, str]) -> tuple[pa.Table, _Codes]:
    """The lines as an Arrow table of integers, for DuckDB.

    Returns:
        A table with ``k`` (buyer key in (channel_id, buyer_ref) order; -1 when either is
        missing), ``ts`` (order_ts in nanoseconds since the epoch) and ``f<i>`` (sorted code
        of the i-th field of ``present``; -1 when missing), and the codes' dictionaries.
    """
    ch_code, ch_text = pd.factorize(lines["channel_id"], sort=True)
    ref_code, ref_text = pd.factorize(lines["buyer_ref"], sort=True)
    width = max(len(ref_text), 1)
    key = np.where(
        (ch_code >= 0) & (ref_code >= 0), ch_code.astype(np.int64) * width + ref_code, -1
    )
    del ch_code, ref_code
    columns = {
        "k": pa.array(key),
        # nanoseconds since the epoch: DuckDB's time zone type would round to microseconds
        "ts": pa.array(lines["order_ts"].array.asi8 if len(lines) else [], pa.int64()),
    }
    del key
    values = {}
    for i, src in enumerate(present):
        codes, values[src] = pd.factorize(lines[src], sort=True)
        columns[f"f{i}"] = pa.array(codes)
    return pa.table(columns), _Codes(ch_text, ref_text, width, values)


def _buyer_sql(n_fields: int) -> str:
    """DuckDB query over :func:`_coded_lines`' table ``lines``: per buyer key ``k`` (sorted),
    n_lines, first_ts, last_ts and ``v<i>``, the most frequent code of field i (ties: the
    latest order, then the smallest code; -1 when the buyer has none)."""
    modes, joins = [], []
    for i in range(n_fields):
        modes.append(
            f"m{i} AS (SELECT k, v AS v{i} FROM ("
            f"SELECT k, f{i} AS v, count(*) AS n, max(ts) AS last "
            f"FROM lines WHERE k >= 0 AND f{i} >= 0 GROUP BY ALL) "
            "QUALIFY row_number() OVER (PARTITION BY k ORDER BY n DESC, last DESC, v ASC) = 1)"
        )
        joins.append(f"LEFT JOIN m{i} USING (k)")
    return (
        "WITH base AS (SELECT k, count(*) AS n_lines, min(ts) AS first_ts, max(ts) AS last_ts "
        "FROM lines WHERE k >= 0 GROUP BY k)"
        + "".join(f", {m}" for m in modes)
        + " SELECT base.*"
        + "".join(f", coalesce(v{i}, -1) AS v{i}" for i in range(n_fields))
        + " FROM base "
        + " ".join(joins)
        + " ORDER BY k"
    )


def _query(table: pa.Table, sql: str) -> pa.Table:
    """``sql`` run on ``table`` (registered as ``lines``) in a DuckDB connection of its own."""
    con = duckdb_connection()
    try:
        con.register("lines", table)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _decoded_buyers(
    res: pa.Table, lines: pd.DataFrame, present: dict[str, str], codes: _Codes
) -> pd.DataFrame:
    """The buyer records of :func:`_buyer_sql`'s result, codes turned back into values with
    the dtypes of ``lines``; fields absent from the lines are ``<NA>`` strings."""
    k = res["k"].to_numpy()
    ts_dtype = lines["order_ts"].dtype
    out = pd.DataFrame(
        {
            "channel_id": pd.Series(
                codes.channels.take(k // codes.width), dtype=lines["channel_id"].dtype
            ),
            "buyer_ref": pd.Series(
                codes.refs.take(k % codes.width), dtype=lines["buyer_ref"].dtype
            ),
            # nullable Int64 for Arrow-backed lines, as pandas' groupby size gave before
            "n_lines": pd.Series(
                res["n_lines"].to_numpy().astype(np.int64),
                dtype="Int64"
                if isinstance(lines["order_id"].dtype, pd.api.extensions.ExtensionDtype)
                else np.int64,
            ),
            "first_order_ts": series_from_ns(res["first_ts"], ts_dtype),
            "last_order_ts": series_from_ns(res["last_ts"], ts_dtype),
        }
    )
    for i, (src, dst) in enumerate(present.items()):
        code = res[f"v{i}"].to_numpy()
        out[dst] = pd.Series(
            pd.Index(codes.values[src]).array.take(code, allow_fill=True), dtype=lines[src].dtype
        )
    for src, dst in _BUYER_FIELDS.items():
        if src not in present:
            out[dst] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out[["channel_id", "buyer_ref", "n_lines", "first_order_ts", "last_order_ts",
                *_BUYER_FIELDS.values()]]  # fmt: skip
