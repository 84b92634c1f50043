"""Fast vectorised timestamp formatting (arrow's tz-aware strftime is ~1-2 us per value).

Supports the strftime directives %Y %y %m %d %H %M %S and %z (+hhmm), plus %:z (+hh:mm),
with any literal text in between.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_FIXED = {
    "Asia/Shanghai": 8 * 3600,
    "Asia/Singapore": 8 * 3600,
    "UTC": 0,
    "Asia/Tokyo": 9 * 3600,
    "Asia/Hong_Kong": 8 * 3600,
}


def utc_offsets(utc: np.ndarray, tz: str) -> np.ndarray:
    """UTC offset in seconds of each instant (epoch seconds) in an IANA timezone."""
    if tz in _FIXED:
        return np.full(len(utc), _FIXED[tz], dtype=np.int64)
    idx = pd.DatetimeIndex(utc.astype("datetime64[s]"), tz="UTC").tz_convert(tz)
    local = idx.tz_localize(None).asi8 // 10**9 if idx.unit == "ns" else None
    if local is None:
        local = idx.tz_localize(None).as_unit("s").asi8
    return local - utc


def _pad(x: np.ndarray, w: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(x), pa.string()), w, "0")


def strftime(utc: np.ndarray, fmt: str, tz: str) -> pa.Array:
    """Format epoch seconds as local time in tz with a strftime pattern."""
    utc = np.asarray(utc, dtype=np.int64)
    off = utc_offsets(utc, tz)
    local = utc + off
    t = local.astype("datetime64[s]")
    days = t.astype("datetime64[D]")
    sec = (t - days).astype(np.int64)
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    comp = {
        "Y": lambda: _pad(years.astype(np.int64) + 1970, 4),
        "y": lambda: _pad((years.astype(np.int64) + 1970) % 100, 2),
        "m": lambda: _pad((months - years).astype(np.int64) + 1, 2),
        "d": lambda: _pad((days - months).astype(np.int64) + 1, 2),
        "H": lambda: _pad(sec // 3600, 2),
        "M": lambda: _pad(sec // 60 % 60, 2),
        "S": lambda: _pad(sec % 60, 2),
    }
    parts: list[pa.Array | str] = []
    for tok in re.split(r"(%:z|%[A-Za-z])", fmt):
        if not tok:
            continue
        if tok in ("%z", "%:z"):
            sign = pa.array(np.where(off < 0, "-", "+"))
            a = np.abs(off)
            sep = ":" if tok == "%:z" else ""
            parts.append(
                pc.binary_join_element_wise(
                    sign, _pad(a // 3600, 2), sep, _pad(a // 60 % 60, 2), ""
                )
            )
        elif tok.startswith("%"):
            parts.append(comp[tok[1]]())
        else:
            parts.append(tok)
    if len(parts) == 1 and isinstance(parts[0], str):
        return pa.array([parts[0]] * len(utc))
    return pc.binary_join_element_wise(*parts, "")
