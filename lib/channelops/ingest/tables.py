"""The optional reference tables of a dataset (``channels.csv``, ``products.csv``, ...):
their required and optional columns with types and unique keys (:data:`TABLES`), and
reading one into a typed DataFrame.

Any problem raises :class:`DatasetError` naming the file, the line and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _arrow, _series, _text_to_float
from channelops.ingest.contract import (
    CHANNEL_KINDS,
    STRING,
    DatasetError,
    ReadDialect,
    _valid_tz,
)
from channelops.ingest.csvread import _read_header, _read_strings
from channelops.ingest.timestamps import _parse_iso

__all__ = ["TABLES"]


@dataclass(frozen=True)
class _Col:
    """Type of one column of an optional table: kind in str, float, int, date, datetime, tz."""

    kind: str
    nullable: bool = False
    choices: tuple[str, ...] = ()


#: Optional tables: ``required`` columns (the file is refused without them; their values
#: are required unless marked nullable), ``optional`` typed columns (may be absent: they
#: then come back as a column of typed NA; empty cells are NA), unique keys. A required
#: column is one the file means nothing without (its key, or what every consumer reads).
TABLES: dict[str, dict[str, Any]] = {
    "channels": {
        "required": {"channel_id": _Col("str")},
        "optional": {
            "name": _Col("str", nullable=True),
            "kind": _Col("str", nullable=True, choices=CHANNEL_KINDS),
            "commission_rate": _Col("float", nullable=True),
            "fixed_cost_per_month": _Col("float", nullable=True),
            "currency": _Col("str", nullable=True),
            "timezone": _Col("tz", nullable=True),
            **{
                c: _Col("float", nullable=True)
                for c in (
                    "age_18_24",
                    "age_25_34",
                    "age_35_44",
                    "age_45_plus",
                    "tier_1",
                    "tier_2",
                    "tier_3",
                    "prior_weekly_revenue_max",
                    "prior_half_saturation_spend",
                )
            },
        },
        "key": ("channel_id",),
    },
    "products": {
        "required": {"sku": _Col("str")},
        "optional": {
            "name": _Col("str", nullable=True),
            "category": _Col("str", nullable=True),
            "unit_cost": _Col("float", nullable=True),
            "list_price": _Col("float", nullable=True),
            "weight_kg": _Col("float", nullable=True),
        },
        "key": ("sku",),
    },
    "sku_map": {
        "required": {"channel_id": _Col("str"), "channel_sku": _Col("str"), "sku": _Col("str")},
        "key": ("channel_id", "channel_sku"),
    },
    "customers": {
        "required": {"customer_id": _Col("str")},
        "optional": {
            "signup_date": _Col("date", nullable=True),
            **{
                c: _Col("str", nullable=True)
                for c in ("name", "email", "phone", "address", "postcode", "city")
            },
            "birth_year": _Col("int", nullable=True),
            "gender": _Col("str", nullable=True),
        },
        "key": ("customer_id",),
    },
    "fx_rates": {
        "required": {"date": _Col("date"), "currency": _Col("str"), "rate_to_base": _Col("float")},
        "key": ("date", "currency"),
    },
    "marketing_spend": {
        "required": {"week_start": _Col("date"), "channel_id": _Col("str"), "spend": _Col("float")},
        "optional": {
            "impressions": _Col("float", nullable=True),
            "clicks": _Col("float", nullable=True),
        },
    },
    "warehouses": {
        "required": {
            "warehouse_id": _Col("str"),
            "city": _Col("str"),
            "lat": _Col("float"),
            "lon": _Col("float"),
            "daily_capacity_orders": _Col("int"),
        },
        "optional": {"handling_cost_per_order": _Col("float", nullable=True)},
        "key": ("warehouse_id",),
    },
    "locations": {
        "required": {"city": _Col("str"), "lat": _Col("float"), "lon": _Col("float")},
        "optional": {"city_tier": _Col("int", nullable=True)},
        "key": ("city",),
    },
    "shipments": {
        "required": {
            "order_id": _Col("str"),
            "channel_id": _Col("str"),
            "warehouse_id": _Col("str"),
            "promised_ts": _Col("datetime"),
        },
        "optional": {
            "shipped_ts": _Col("datetime", nullable=True),
            "delivered_ts": _Col("datetime", nullable=True),
            "carrier": _Col("str", nullable=True),
            "cost": _Col("float", nullable=True),
        },
    },
    "service_contacts": {
        "required": {
            "contact_ts": _Col("datetime"),
            "channel_id": _Col("str"),
            "handle_minutes": _Col("float"),
        },
        "optional": {"reason": _Col("str", nullable=True)},
    },
    "experiments": {
        "required": {
            "unit_id": _Col("str"),
            "group": _Col("str", choices=("control", "treatment")),
            "start_date": _Col("date"),
            "end_date": _Col("date"),
            "name": _Col("str"),
        },
        "optional": {"unit_type": _Col("str", nullable=True)},
    },
}


def _check_table_name(name: str) -> None:
    """ValueError listing the known tables when ``name`` is not one of :data:`TABLES`."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}")


def _read_table(
    root: Path, name: str, tz: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read ``<root>/<name>.csv``: required columns checked, typed columns typed (timestamps
    without an offset taken in ``tz``), other columns kept as text, unique keys checked.

    With ``columns`` (declared columns of the table), only those are parsed, typed and
    checked, in the order asked (an absent optional one as missing values of its type); the
    unique key is checked when all its columns are among them."""
    rel = f"{name}.csv"
    path = root / rel
    spec = TABLES[name]
    types = {**spec["required"], **spec.get("optional", {})}
    if columns is not None:
        unknown = [c for c in columns if c not in types]
        if unknown:
            raise ValueError(
                f"{rel} has no declared column(s) {unknown}; it declares {list(types)}"
            )
    dialect = ReadDialect()
    header = _read_header(path, dialect, rel, None)
    _check_required_columns(spec, header, rel)
    wanted = header if columns is None else [c for c in columns if c in header]
    cols, rows, ragged, _ = _read_strings(path, dialect, header, wanted, rel, None)
    _check_no_ragged_rows(ragged, header, rel)
    out = _typed_columns(cols, wanted, types, rows, rel, tz)
    absent = spec.get("optional", {}) if columns is None else {c: types[c] for c in columns}
    for c, t in absent.items():
        if c not in out:
            out[c] = _na_column(t, len(rows))
    df = pd.DataFrame(out if columns is None else {c: out[c] for c in columns})
    key = spec.get("key")
    if key and set(key) <= set(df.columns):
        _check_unique_key(df, key, rows, rel)
    return df


#: Columns typed side by side by :func:`_typed_columns` (a fixed two, whatever the machine).
_TYPING_WORKERS = 2


def _typed_columns(
    cols: dict[str, pd.Series],
    wanted: Sequence[str],
    types: dict[str, _Col],
    rows: np.ndarray,
    rel: str,
    tz: str,
    workers: int = _TYPING_WORKERS,
) -> dict[str, pd.Series]:
    """The ``wanted`` columns of ``cols`` typed as ``types`` says (:func:`_typed_column`;
    undeclared columns stay text), in ``wanted``'s order.

    Each column is typed on its own, so ``workers`` threads type them side by side (Arrow's
    casts and pandas' parsers release the GIL) with the same values as one thread; the
    error raised is the first column's in ``wanted`` order, as one thread would raise."""
    typed = [c for c in wanted if types.get(c) is not None]
    if workers < 2 or len(typed) < 2:
        done = {c: _typed_column(cols[c], types[c], rows, rel, c, tz) for c in typed}
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="table-types") as pool:
            futures = {
                c: pool.submit(_typed_column, cols[c], types[c], rows, rel, c, tz) for c in typed
            }
            try:
                done = {c: futures[c].result() for c in typed}
            finally:
                for f in futures.values():
                    f.cancel()
    return {c: done.get(c, cols[c]) for c in wanted}


def _na_column(t: _Col, n: int) -> pd.Series:
    """An absent optional column: ``n`` missing values of type ``t`` (text -> string[pyarrow]
    <NA>, float -> NaN, int -> Int64 <NA>, date -> NaT, datetime -> NaT in UTC)."""
    if t.kind in ("str", "tz"):
        return pd.Series(pd.NA, index=range(n), dtype=STRING)
    if t.kind == "float":
        return pd.Series(np.nan, index=range(n), dtype="float64")
    if t.kind == "int":
        return pd.Series(pd.NA, index=range(n), dtype="Int64")
    if t.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")


def _check_required_columns(spec: dict[str, Any], header: list[str], rel: str) -> None:
    missing = [c for c in spec["required"] if c not in header]
    if missing:
        raise DatasetError(
            rel,
            f"missing required column {missing[0]!r}",
            line=1,
            expected=f"columns {', '.join(spec['required'])}",
            found=f"columns {', '.join(header)}",
            fix=f"add the column {missing[0]!r} to {rel}",
        )


def _check_no_ragged_rows(ragged: list[tuple[int, int, str]], header: list[str], rel: str) -> None:
    if ragged:
        r, n, _ = ragged[0]
        raise DatasetError(
            rel,
            "wrong number of fields",
            line=r,
            expected=f"{len(header)} fields, as in the header",
            found=f"{n} fields"  # never the line: it may hold personal data
            + (f" (and {len(ragged) - 1} more such lines)" if len(ragged) > 1 else ""),
            fix="correct the separators or quotes in that line",
        )


def _check_unique_key(df: pd.DataFrame, key: tuple[str, ...], rows: np.ndarray, rel: str) -> None:
    dup = df.duplicated(list(key), keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        lines = ", ".join(str(r) for r in rows[idx[:5]])
        vals = ", ".join(str(df[k].iloc[idx[0]]) for k in key)
        raise DatasetError(
            rel,
            f"duplicate {' + '.join(key)}",
            line=int(rows[idx[0]]),
            expected=f"one row per {' + '.join(key)}",
            found=f"{vals} on lines {lines}",
            fix="remove or merge the repeated rows",
        )


def _typed_column(
    s: pd.Series, t: _Col, rows: np.ndarray, rel: str, col: str, tz: str
) -> pd.Series:
    """One column of a table as type ``t``: DatasetError at the first empty value of a
    required column or the first value of the wrong type."""
    stripped = _stripped(s)
    empty = (stripped == "").to_numpy(dtype=bool, na_value=True)
    if not t.nullable and empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DatasetError(
            rel,
            "empty value in a required column",
            line=int(rows[i]),
            column=col,
            expected="a value in every row",
            found="an empty value" + _more(empty),
            fix=f"fill in {col!r} on that line",
        )
    val = stripped.mask(pd.Series(empty, index=s.index)) if empty.any() else stripped
    if t.kind in ("str", "tz"):
        out, bad, expected = _text_values(val, empty, t)
    elif t.kind in ("float", "int"):
        out, bad, expected = _number_values(val, empty, t)
    else:
        out, bad, expected = _time_values(val, empty, t, tz)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            rel,
            "value of the wrong type",
            line=int(rows[i]),
            column=col,
            expected=expected,
            found=repr(s.iloc[i]) + _more(bad),
            fix=f"correct {col!r} on that line",
        )
    return out


def _stripped(s: pd.Series) -> pd.Series:
    """``s.str.strip()`` (Arrow's whitespace trim), but ``s`` itself, not a copy, when no
    value has surrounding whitespace (the common case: a column of millions of rows is
    not copied)."""
    a = _arrow(s)
    trimmed = pc.utf8_trim_whitespace(a)
    if pc.all(pc.equal(pc.binary_length(trimmed), pc.binary_length(a))).as_py() is not False:
        return s
    return pd.Series(_series(trimmed).array, index=s.index, dtype=s.dtype, copy=False)


def _text_values(
    val: pd.Series,
    empty: np.ndarray,
    t: _Col,
) -> tuple[pd.Series, np.ndarray, str]:
    """Text (kind str or tz): ``(values, bad, expected)``; bad where not among the choices
    or not an IANA timezone name."""
    bad = np.zeros(len(val), dtype=bool)
    expected = "text"  # free text is never bad
    if t.choices:
        bad = ~empty & ~val.isin(t.choices).to_numpy(dtype=bool, na_value=False)
        expected = f"one of {', '.join(t.choices)}"
    elif t.kind == "tz":
        wrong = {u for u in val.dropna().unique() if not _valid_tz(u)}
        bad = val.isin(wrong).to_numpy(dtype=bool, na_value=False)
        expected = "an IANA timezone name such as Asia/Shanghai"
    return val, bad, expected


def _number_values(
    val: pd.Series,
    empty: np.ndarray,
    t: _Col,
) -> tuple[pd.Series, np.ndarray, str]:
    """Numbers (kind float -> float64, int -> Int64): ``(values, bad, expected)``."""
    num = _text_to_float(_arrow(val))
    bad = ~empty & ~np.isfinite(num)
    if t.kind == "int":
        bad |= ~empty & np.isfinite(num) & (num != np.round(num))
        return pd.Series(num, index=val.index).round().astype("Int64"), bad, "a whole number"
    return pd.Series(num, index=val.index, dtype="float64"), bad, "a number"


def _time_values(
    val: pd.Series,
    empty: np.ndarray,
    t: _Col,
    tz: str,
) -> tuple[pd.Series, np.ndarray, str]:
    """Dates (kind date -> naive datetime64[ns] at midnight) or timestamps (kind datetime ->
    datetime64[ns, UTC], naive values taken in ``tz``): ``(values, bad, expected)``."""
    if t.kind == "date":
        out = pd.to_datetime(val, format="ISO8601", errors="coerce")
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_localize(None)
        out = out.dt.normalize()
        expected = "a date as YYYY-MM-DD"
    else:
        out = _parse_iso(val, tz)
        expected = "an ISO 8601 timestamp such as 2024-06-18 10:30:00 or with an offset"
    return out, ~empty & out.isna().to_numpy(), expected


def _more(mask: np.ndarray) -> str:
    """``" (and N more such rows)"`` for the N rows of ``mask`` after the first, else ``""``."""
    n = int(mask.sum()) - 1
    return f" (and {n} more such rows)" if n > 0 else ""
