"""Timestamps of exports and tables -> datetime64[ns, UTC].

An export's ``order_ts`` is parsed as its mapping says (:func:`_parse_order_ts`): ISO 8601,
unix seconds or milliseconds, or a strftime pattern. ISO 8601 text honours a UTC offset
where one is written and takes naive values in the channel's timezone
(:func:`_parse_iso`). The common shape ``YYYY-MM-DDTHH:MM:SS+HH:MM`` goes through Arrow;
every other spelling through ``pandas.to_datetime``, and both give pandas' answer.

No value makes the parse raise: a year outside the range pandas holds (1677-2262) gives
NaT, and :func:`_far_years` tells those values apart from text that is no date at all.
:func:`_plausible_window` gives the order dates an export's rows must fall in.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _arrow, _series, _text_to_float
from channelops.ingest.contract import PLAUSIBLE_YEARS, STRING, Mapping

# a time of day followed by a UTC designator or an offset: +08:00, +0800, +08, Z
_OFFSET_RE = r"\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
# the common shape of an ISO 8601 timestamp with an offset, cast by Arrow directly
_STRICT_ISO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"
# the first run of exactly four digits (the year, in every format that writes one)
_YEAR_RE = r"(?<![0-9])[0-9]{4}(?![0-9])"
# years Arrow's and pandas' nanosecond timestamps hold with a margin (1677-09 to 2262-04)
_NS_YEARS = (1700, 2200)


def _parse_order_ts(s: pd.Series, m: Mapping, tz: str) -> tuple[pd.Series, str]:
    """Order timestamps -> datetime64[ns, UTC] (NaT where unparseable) and a description of
    the expected form for messages."""
    fmt = m.timestamp_format
    if fmt == "iso8601":
        return _parse_iso(s, tz), "an ISO 8601 timestamp"
    if fmt in ("unix_s", "unix_ms"):
        x = _text_to_float(_arrow(s))
        scale = 1.0 if fmt == "unix_s" else 1000.0
        x = np.where(np.isfinite(x) & (np.abs(x / scale) < 9.2e9), x, np.nan)
        out = pd.to_datetime(pd.Series(x, index=s.index), unit=fmt[5:], utc=True, errors="coerce")
        unit = "seconds" if fmt == "unix_s" else "milliseconds"
        return out.astype("datetime64[ns, UTC]"), f"a unix timestamp in {unit}"
    aware = "%z" in fmt or "%Z" in fmt
    parsed = _parse_fixed_width(s, fmt)
    if parsed is None:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc=aware)
    out = parsed.astype("datetime64[ns, UTC]") if aware else _localize(parsed, tz)
    return out, f"a timestamp in the form {fmt}"


#: strftime directives of :func:`_parse_fixed_width`: digits each
_FIXED_DIGITS = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}


def _fixed_width_layout(fmt: str) -> tuple[str, dict[str, int], int] | None:
    """The fixed-width shape of a strftime format made only of %Y %m %d %H %M %S, at most
    one %z (written ``+HHMM``) and ASCII literals: ``(regex, field -> start, length)``;
    None for any other format."""
    regex, starts, pos, i = "^", {}, 0, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d in _FIXED_DIGITS and d not in starts:
                regex += rf"\d{{{_FIXED_DIGITS[d]}}}"
                starts[d], pos = pos, pos + _FIXED_DIGITS[d]
            elif d == "z" and "z" not in starts:
                regex += r"[+-]\d{4}"
                starts["z"], pos = pos, pos + 5
            else:
                return None
            i += 2
        elif ch.isascii() and ch != "%":
            regex += re.escape(ch)
            pos, i = pos + 1, i + 1
        else:
            return None
    if any(d not in starts for d in "YmdHMS"):
        return None
    return regex + "$", starts, pos


def _parse_fixed_width(s: pd.Series, fmt: str) -> pd.Series | None:
    """``pandas.to_datetime(s, format=fmt, errors="coerce", utc=<fmt has %z>)``, faster for
    the common case: values of the format's fixed-width shape (every field zero-padded,
    :func:`_fixed_width_layout`) whose fields are in range are read digit by digit from
    the Arrow bytes; every other value (another spelling, a field out of range, a year
    outside 1700-2200) is left to pandas, so results and NaTs are pandas' own.

    Returns:
        datetime64[ns] (datetime64[ns, UTC] when ``fmt`` has %z) aligned with ``s``; None
        when ``fmt`` has no fixed-width shape or ``s`` is not Arrow-backed text.
    """
    layout = _fixed_width_layout(fmt)
    if layout is None or not isinstance(s.array, pd.arrays.ArrowExtensionArray):
        return None
    regex, starts, width = layout
    a = _arrow(s)
    shaped = pc.fill_null(pc.match_substring_regex(a, regex), False)
    ok = shaped.to_numpy(zero_copy_only=False)
    digits = _fixed_width_bytes(a.filter(shaped), width)

    def field(d: str, n: int) -> np.ndarray:
        out = np.zeros(len(digits), dtype=np.int64)
        for k in range(n):
            out = out * 10 + (digits[:, starts[d] + k].astype(np.int64) - 48)
        return out

    year, month, day = field("Y", 4), field("m", 2), field("d", 2)
    hour, minute, second = field("H", 2), field("M", 2), field("S", 2)
    month_ok = (month >= 1) & (month <= 12)
    first = (year.astype("datetime64[Y]") - 1970).astype("datetime64[M]")
    first = first + np.where(month_ok, month - 1, 0)
    day0 = first.astype("datetime64[D]")
    days_in_month = ((first + 1).astype("datetime64[D]") - day0).astype(np.int64)
    good = (
        month_ok & (day >= 1) & (day <= days_in_month)
        & (hour < 24) & (minute < 60) & (second < 60)
        & (year >= _NS_YEARS[0]) & (year <= _NS_YEARS[1])
    )  # fmt: skip
    ns = (day0.astype(np.int64) + day - 1) * 86_400 + hour * 3600 + minute * 60 + second
    if "z" in starts:
        z = starts["z"]
        sign = np.where(digits[:, z] == ord("-"), -1, 1)
        off_h = (digits[:, z + 1] - 48) * 10 + (digits[:, z + 2] - 48)
        off_m = (digits[:, z + 3] - 48) * 10 + (digits[:, z + 4] - 48)
        good &= (off_h <= 14) & (off_m < 60)
        ns = ns - sign * (off_h.astype(np.int64) * 3600 + off_m.astype(np.int64) * 60)
    ns = ns * 1_000_000_000
    # naive wall times, or UTC instants when the format has %z
    vals = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    done = np.zeros(len(s), dtype=bool)
    done[np.flatnonzero(ok)[good]] = True
    vals[done] = ns[good].view("datetime64[ns]")
    aware = "z" in starts
    if not done.all():
        rest = pd.to_datetime(s[~done], format=fmt, errors="coerce", utc=aware)
        if aware:
            rest = rest.astype("datetime64[ns, UTC]").dt.tz_localize(None)
        vals[~done] = rest.astype("datetime64[ns]").to_numpy()
    out = pd.Series(vals, index=s.index)
    return out.dt.tz_localize("UTC") if aware else out


def _fixed_width_bytes(a: pa.ChunkedArray, width: int) -> np.ndarray:
    """The bytes of text values that are all ``width`` ASCII characters long, as an
    (n, width) uint8 matrix (no copy of a single chunk)."""
    arr = a.combine_chunks() if a.num_chunks != 1 else a.chunk(0)
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    large = pa.types.is_large_string(arr.type)
    _, offsets, data = arr.buffers()
    offs = np.frombuffer(offsets, dtype=np.int64 if large else np.int32)
    start, stop = int(offs[arr.offset]), int(offs[arr.offset + len(arr)])
    if stop - start != len(arr) * width:
        raise ValueError("values of another length in a fixed-width timestamp column")
    return np.frombuffer(data, dtype=np.uint8)[start:stop].reshape(len(arr), width)


def _parse_iso(s: pd.Series, tz: str) -> pd.Series:
    """ISO 8601 text -> datetime64[ns, UTC]: offsets honoured, naive values taken in ``tz``."""
    strict = _cast_strict_iso(s)
    if strict is None:
        return _parse_iso_general(s, tz)
    fast, done = strict
    if done.all():
        return fast
    # the values of another shape (or missing) take the general path
    rest = _parse_iso_general(s[~done], tz)
    vals = fast.dt.tz_localize(None).to_numpy(copy=True)
    vals[~done] = rest.dt.tz_localize(None).to_numpy()
    return pd.Series(vals, index=s.index).dt.tz_localize("UTC")


def _parse_iso_general(s: pd.Series, tz: str) -> pd.Series:
    """:func:`_parse_iso` for values of any ISO 8601 shape (the slow, general path)."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    aware = _series(pc.match_substring_regex(_arrow(s), _OFFSET_RE)).to_numpy(
        dtype=bool, na_value=False
    )
    if aware.any():
        out[aware] = _parse_iso_aware(s[aware])
    naive = ~aware & s.notna().to_numpy()
    if naive.any():
        out[naive] = _localize(pd.to_datetime(s[naive], format="ISO8601", errors="coerce"), tz)
    return out


def _cast_strict_iso(s: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """The fast path of :func:`_parse_iso`: values of the common shape
    ``YYYY-MM-DDTHH:MM:SS+HH:MM`` -> datetime64[ns, UTC] by one Arrow cast, much faster than
    the general path.

    Returns:
        ``(parsed, done)``: ``parsed`` aligned with ``s`` (NaT where not ``done``) and the
        bool mask of the values it parsed (the non-missing values of that shape); None when
        no value has that shape or Arrow refuses one of them (out of range), so that odd
        spellings and bad values get exactly the general path's results.
    """
    a = _arrow(s)
    strict = pc.fill_null(pc.match_substring_regex(a, _STRICT_ISO_RE), False)
    if not pc.any(strict).as_py():
        return None
    done = strict.to_numpy(zero_copy_only=False)
    whole = bool(done.all())
    try:
        utc = pc.cast(a if whole else a.filter(strict), pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    vals = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    vals[done] = pc.cast(utc, pa.int64()).to_numpy(zero_copy_only=False).view("datetime64[ns]")
    return pd.Series(vals, index=s.index).dt.tz_localize("UTC"), done


def _parse_iso_aware(s: pd.Series) -> pd.Series:
    """ISO 8601 text with a UTC offset -> datetime64[ns, UTC].

    Values in the common shape ``YYYY-MM-DDTHH:MM:SS+HH:MM`` with fields in range go
    through Arrow's strptime (pandas takes a slow per-value path when offsets differ).
    Arrow rolls out-of-range fields over (Feb 30 ->
    Mar 1), so only values whose fields are checked in range take that path; every other
    spelling (fractions, ``Z``, a space, no seconds) and anything invalid is left to
    ``pandas.to_datetime(format="ISO8601")``, so results and errors are pandas' own.
    """
    a = _arrow(s)
    strict = pc.fill_null(pc.match_substring_regex(a, _STRICT_ISO_RE), False)

    def field(start: int, stop: int) -> np.ndarray:
        part = pc.if_else(strict, pc.utf8_slice_codeunits(a, start, stop), "0")
        return pc.cast(part, pa.int64()).to_numpy(zero_copy_only=False)

    year, month, day = field(0, 4), field(5, 7), field(8, 10)
    hour, minute, second = field(11, 13), field(14, 16), field(17, 19)
    off_h, off_m = field(20, 22), field(23, 25)
    month_ok = (month >= 1) & (month <= 12)
    first = (year.astype("datetime64[Y]") - 1970).astype("datetime64[M]")
    first = first + np.where(month_ok, month - 1, 0)
    days_in_month = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(
        int
    )
    ok = (
        strict.to_numpy(zero_copy_only=False)
        & month_ok & (day >= 1) & (day <= days_in_month)
        & (hour < 24) & (minute < 60) & (second < 60) & (off_h <= 14) & (off_m < 60)
        & (year >= _NS_YEARS[0]) & (year <= _NS_YEARS[1])
    )  # fmt: skip
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    if ok.any():
        fast = pc.strptime(a.filter(pa.array(ok)), format="%Y-%m-%dT%H:%M:%S%z", unit="ns")
        utc = pd.DatetimeIndex(fast.to_pandas()).tz_convert("UTC")
        out[ok] = pd.Series(utc, index=s.index[ok])
    if (~ok).any():
        out[~ok] = pd.to_datetime(s[~ok], format="ISO8601", errors="coerce", utc=True)
    return out


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    """Naive wall times in ``tz`` -> UTC. Ambiguous times (DST fall-back) take the first
    (daylight) instant; nonexistent times (spring-forward gap) shift forward."""
    if isinstance(naive.dtype, pd.DatetimeTZDtype):
        return naive.dt.tz_convert("UTC")
    loc = naive.dt.tz_localize(
        tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return loc.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _far_years(s: pd.Series, parsed: pd.Series, m: Mapping, tz: str) -> np.ndarray:
    """Bool mask of the values that did not parse only because their year lies outside
    the years a timestamp can hold (e.g. 2300 or 0001): with the year replaced by 2000 they
    parse. For unix formats: numbers beyond those years but within 10^11 seconds of 1970
    (about the years -1200 to 5100; larger numbers are no timestamp at all).

    Args:
        s: the order_ts text (<NA> where empty); parsed: :func:`_parse_order_ts` of it.
        m, tz: the mapping and the timezone of naive values, as for the parse.
    """
    failed = parsed.isna().to_numpy() & s.notna().to_numpy()
    out = np.zeros(len(s), dtype=bool)
    if not failed.any():
        return out
    rest = s[failed]
    if m.timestamp_format in ("unix_s", "unix_ms"):
        scale = 1.0 if m.timestamp_format == "unix_s" else 1000.0
        out[failed] = np.abs(_text_to_float(_arrow(rest)) / scale) < 1e11  # NaN: False
        return out
    text = rest.astype(object)
    year = pd.to_numeric(text.str.extract(f"({_YEAR_RE})", expand=False), errors="coerce")
    far = ~year.between(*_NS_YEARS).to_numpy() & year.notna().to_numpy()
    swapped = text.str.replace(_YEAR_RE, "2000", n=1, regex=True).astype(STRING)
    out[failed] = far & _parse_order_ts(swapped, m, tz)[0].notna().to_numpy()
    return out


def _plausible_window(
    order_ts: pd.Series, dates: tuple[dt.date, dt.date] | None, tz: str
) -> tuple[pd.Timestamp, pd.Timestamp, str] | None:
    """The instants an export's order timestamps must fall in: ``[start, end)`` in UTC and
    a description for messages.

    Args:
        order_ts: the export's parsed order timestamps (datetime64[ns, UTC], NaT allowed).
        dates: dataset.yaml's ``plausible_dates`` (first and last date, both included, in
            the reporting timezone ``tz``), or None: then :data:`PLAUSIBLE_YEARS` years
            either side of the median of ``order_ts`` (the lower one of an even count,
            so one of the export's own timestamps), from the data alone (never the
            clock), so a re-run gives the same result.

    Returns:
        ``(start, end, description)``, or None when ``dates`` is None and no timestamp
        parsed (nothing to derive a window from).
    """
    if dates is not None:
        start, end = (
            pd.Timestamp(d)
            .tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
            .tz_convert("UTC")
            for d in (dates[0], dates[1] + dt.timedelta(days=1))
        )
        return start, end, f"{dates[0]} to {dates[1]} (plausible_dates in dataset.yaml)"
    ns = np.sort(order_ts.dropna().astype("int64").to_numpy())
    if len(ns) == 0:
        return None
    median = pd.Timestamp(int(ns[(len(ns) - 1) // 2]), tz="UTC")  # the lower median
    start = median - pd.DateOffset(years=PLAUSIBLE_YEARS)
    end = median + pd.DateOffset(years=PLAUSIBLE_YEARS)
    return (
        start,
        end,
        (
            f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({PLAUSIBLE_YEARS} years either "
            f"side of the export's median order date {median:%Y-%m-%d}; "
            "set plausible_dates in dataset.yaml to choose)"
        ),
    )
