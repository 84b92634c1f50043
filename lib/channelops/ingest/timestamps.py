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
    parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc=aware)
    out = parsed.astype("datetime64[ns, UTC]") if aware else _localize(parsed, tz)
    return out, f"a timestamp in the form {fmt}"


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
