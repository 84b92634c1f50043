"""One record per channel buyer: the name, e-mail, phone and address seen on most of its
order lines (the input of 03's identity resolution).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from channelops.engine import duckdb_connection
from channelops.frames import series_from_ns
from channelops.ingest.pii import normalise_email, normalise_phone

__all__ = [
    "buyer_records",
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
    ch_code, ch_text = pd.factorize(lines["channel_id"], sort=True)
    ref_code, ref_text = pd.factorize(lines["buyer_ref"], sort=True)
    width = max(len(ref_text), 1)
    # buyer key in (channel_id, buyer_ref) order; -1 when either is missing
    key = np.where(
        (ch_code >= 0) & (ref_code >= 0), ch_code.astype(np.int64) * width + ref_code, -1
    )
    del ch_code, ref_code
    columns = {
        "k": pa.array(key),
        # nanoseconds since the epoch: DuckDB's time zone type would round to microseconds
        "ts": pa.array(lines["order_ts"].array.asi8 if len(lines) else [], pa.int64()),
    }
    values = {}
    for i, src in enumerate(present):
        codes, values[src] = pd.factorize(lines[src], sort=True)
        columns[f"f{i}"] = pa.array(codes)
    table = pa.table(columns)
    del columns, key
    modes, joins = [], []
    for i, _ in enumerate(present):
        modes.append(
            f"m{i} AS (SELECT k, v AS v{i} FROM ("
            f"SELECT k, f{i} AS v, count(*) AS n, max(ts) AS last "
            f"FROM lines WHERE k >= 0 AND f{i} >= 0 GROUP BY ALL) "
            "QUALIFY row_number() OVER (PARTITION BY k ORDER BY n DESC, last DESC, v ASC) = 1)"
        )
        joins.append(f"LEFT JOIN m{i} USING (k)")
    sql = (
        "WITH base AS (SELECT k, count(*) AS n_lines, min(ts) AS first_ts, max(ts) AS last_ts "
        "FROM lines WHERE k >= 0 GROUP BY k)"
        + "".join(f", {m}" for m in modes)
        + " SELECT base.*"
        + "".join(f", coalesce(v{i}, -1) AS v{i}" for i in range(len(present)))
        + " FROM base "
        + " ".join(joins)
        + " ORDER BY k"
    )
    con = duckdb_connection()
    try:
        con.register("lines", table)
        res = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    del table
    k = res["k"].to_numpy()
    ts_dtype = lines["order_ts"].dtype
    out = pd.DataFrame(
        {
            "channel_id": pd.Series(ch_text.take(k // width), dtype=lines["channel_id"].dtype),
            "buyer_ref": pd.Series(ref_text.take(k % width), dtype=lines["buyer_ref"].dtype),
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
        codes = res[f"v{i}"].to_numpy()
        out[dst] = pd.Series(
            pd.Index(values[src]).array.take(codes, allow_fill=True), dtype=lines[src].dtype
        )
    for src, dst in _BUYER_FIELDS.items():
        if src not in present:
            out[dst] = pd.Series(pd.NA, index=out.index, dtype="string")
    out = out[["channel_id", "buyer_ref", "n_lines", "first_order_ts", "last_order_ts",
               *_BUYER_FIELDS.values()]]  # fmt: skip
    arrow = pd.StringDtype("pyarrow")  # Arrow memory, not one Python object per value
    out["email_norm"] = normalise_email(out["email"]).astype(arrow)
    out["phone_norm"] = normalise_phone(out["phone"]).astype(arrow)
    return out


