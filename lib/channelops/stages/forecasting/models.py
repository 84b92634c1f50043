"""Demand forecasting per SKU x channel: series, features, models, backtests, intervals.

Series are long DataFrames ``(channel_id, sku, date, units)`` with every day present (zeros
filled) from the series' first sale to the end of the data. Models work on a dense matrix
``Y`` (series x days, NaN before a series starts) so that every model forecasts all series
at once:

* ``naive`` (last value), ``seasonal_naive`` (last week repeated), ``moving_average`` (mean
  of the last 28 days), ``weekday_average`` (mean of the same weekday over the last 4 weeks);
* statsforecast models (``theta``, ``croston_sba``, ``tsb``, ``adida``, ``ses``), optional
  because they are slower;
* ``gbm``: one global LightGBM model over all series on level, lag, price, promotion,
  calendar and holiday features at the forecast origin, trained on earlier origins (direct
  multi-horizon forecasting, so no recursion; :mod:`.gbm`); ``combo_gbm`` averages it with
  ``combo``.

Rolling-origin backtests give errors per series, model and window; MASE and RMSSE are scaled
by the in-sample seasonal naive error. Intervals are split-conformal: scores
``(actual - forecast) / scale`` pooled per model, lower and upper quantiles taken separately.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd

from .gbm import gbm_forecast, release_freed_memory

__all__ = [
    "BACKTEST_COLUMNS",
    "DEFAULT_MODELS",
    "model_names",
    "daily_demand",
    "demand_features",
    "series_matrix",
    "seasonal_naive",
    "forecast_matrix",
    "forecast_metrics",
    "backtest",
    "window_origins",
    "series_metrics",
    "scored_metrics",
    "choose_models",
    "global_model",
    "model_summary",
    "conformal_quantiles",
    "interval_coverage",
    "future_points",
    "aggregate_forecasts",
    "forecast_level_totals",
    "has_categories",
    "chosen_backtest",
    "series_per_chosen_model",
    "add_intervals",
    "backtest_intervals",
    "velocity_edges",
    "velocity_class",
    "interval_score",
    "velocity_coverage",
]

# The quick models. theta is left out (slow, and no gain on low-count series); gbm and
# combo_gbm, one fit over all series per window, are left out of this library default but
# are in notebook 04's default forecast_models (benchmarks/results/forecast_real.md).
DEFAULT_MODELS: tuple[str, ...] = (
    "naive",
    "seasonal_naive",
    "moving_average",
    "weekday_average",
    "weekday_profile",
    "croston_sba",
    "tsb",
    "adida",
    "combo",
    "combo_median",
)
BASELINE_MODELS = (
    "naive",
    "seasonal_naive",
    "moving_average",
    "weekday_average",
    "weekday_profile",
)
STATSFORECAST_MODELS = ("theta", "croston_sba", "tsb", "adida", "ses")
#: The simple models a combination averages (``combo``: mean, ``combo_median``: median).
COMBO_MEMBERS: tuple[str, ...] = ("moving_average", "weekday_profile", "tsb", "adida")
#: ``combo_gbm``: the mean of ``gbm`` and ``combo`` (half the global model, half the simple ones).
COMBO_MODELS = ("combo", "combo_median", "combo_gbm")
#: Models fitted once over all series (not per series): Spark runs them on the driver.
GLOBAL_MODELS = ("gbm", "combo_gbm")
#: Days of history whose weekday shares shape ``weekday_profile``.
PROFILE_DAYS = 182
KEYS = ["channel_id", "sku"]


def model_names(text: str) -> list[str]:
    """The models of a comma-separated list, in order: ``"naive, tsb,"`` -> ``["naive", "tsb"]``.

    Raises:
        ValueError: the list names no model, or a model :func:`forecast_matrix` does not know.
    """
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise ValueError(f"no model named in {text!r}")
    known = (*BASELINE_MODELS, *STATSFORECAST_MODELS, *COMBO_MODELS, "gbm")
    unknown = [m for m in names if m not in known]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known models: {', '.join(known)}")
    return names


# --------------------------------------------------------------------------- series


def _string_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a string column and the names they stand for, in sorted order.

    Works the same for object and ``string[pyarrow]`` columns without converting the
    column itself (``astype(str)`` would copy every value into a new Python string).

    Args:
        values: string-like keys (object or ``string[pyarrow]``); NA gets code -1.

    Returns:
        (codes, int64, -1 for NA; names as an object array of ``str``, so that
        ``names[codes]`` equals ``values.astype(str)`` where not NA; code order equals the
        names' sort order).
    """
    codes, names = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray([str(v) for v in names], dtype=object)


def _day_number(ts: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 of each timestamp's (wall-clock) date; NaT gives INT64_MIN."""
    d = ts.dt.normalize()
    if d.dt.tz is not None:
        d = d.dt.tz_localize(None)
    return d.to_numpy("datetime64[D]").astype(np.int64)


def daily_demand(order_lines: pd.DataFrame, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Daily units per (channel_id, sku), zeros filled from each series' first sale.

    Demand is the intake's ``demand_units`` (the data contract): the units of a merchandise
    line with a positive quantity whose status is neither cancelled nor returned, guest
    lines included; a reversal (negative quantity), a cancelled or returned line and a
    non-merchandise line (postage, fees, ...) have 0 and are no demand. Vectorised: no
    loop over series; only the four columns it needs are filtered (not the whole frame),
    and the grouping runs on integer codes of channel_id and sku, so object and
    ``string[pyarrow]`` columns give the same result.

    Args:
        order_lines: the intake's lines with channel_id, sku, order_ts_local, demand_units.
        end: last date of every series; the last demand date when None.

    Returns:
        channel_id, sku (``str`` objects), date (midnight, reporting timezone), units
        (float), sorted by channel_id, sku, date. A SKU x channel with no demand has no series.

    Raises:
        KeyError: a needed column is missing (named).
    """
    need = ["channel_id", "sku", "order_ts_local", "demand_units"]
    missing = set(need) - set(order_lines)
    if missing:
        raise KeyError(f"order_lines lacks columns {sorted(missing)}")
    cols = order_lines[need]
    buys = cols.loc[(cols["demand_units"].fillna(0) > 0).to_numpy(dtype=bool)]
    if buys.empty:
        return pd.DataFrame(
            {
                "channel_id": pd.Series(dtype=object),
                "sku": pd.Series(dtype=object),
                "date": pd.to_datetime([]),
                "units": pd.Series(dtype=float),
            }
        )
    ch, ch_names = _string_codes(buys["channel_id"])
    sku, sku_names = _string_codes(buys["sku"])
    date = buys["order_ts_local"].dt.normalize()
    ok = (ch >= 0) & (sku >= 0) & date.notna().to_numpy()
    key = ch * len(sku_names) + sku
    daily = (
        pd.DataFrame(
            {
                "key": key[ok],
                "date": date.array[ok],
                "q": buys["demand_units"].to_numpy(dtype=float)[ok],
            }
        )
        .groupby(["key", "date"], sort=True)["q"]
        .sum()
        .astype(float)
    )
    d_key = daily.index.get_level_values("key").to_numpy()
    d_date = daily.index.get_level_values("date")
    end = pd.Timestamp(d_date.max() if end is None else end).normalize()
    # daily is sorted by key then date: each series' first row holds its first sale
    starts = np.flatnonzero(np.r_[True, d_key[1:] != d_key[:-1]])
    s_key = d_key[starts]
    first = d_date[starts]
    n_days = ((end - first).days + 1).to_numpy().clip(min=0)
    idx = np.repeat(np.arange(len(s_key)), n_days)
    offset = np.arange(n_days.sum()) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    full = pd.DataFrame(
        {
            "channel_id": ch_names[s_key // len(sku_names)][idx],
            "sku": sku_names[s_key % len(sku_names)][idx],
            "date": first.to_numpy()[idx] + offset.astype("timedelta64[D]"),
        }
    )
    # place each day's units at its row of ``full``: series start + days since first sale
    series_of = np.repeat(np.arange(len(s_key)), np.diff(np.r_[starts, len(d_key)]))
    day_off = (d_date - first[series_of]).days.to_numpy()
    inside = day_off < n_days[series_of]
    row = (np.cumsum(n_days) - n_days)[series_of] + day_off
    units = np.zeros(len(full))
    units[row[inside]] = daily.to_numpy()[inside]
    full["units"] = units
    return full


def _recode(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """``mapping[codes]``, with -1 (missing) kept as -1."""
    return np.where(codes >= 0, mapping[np.maximum(codes, 0)] if len(mapping) else -1, -1)


def _lookup(keys: np.ndarray, table_keys: np.ndarray, values: np.ndarray, fill) -> np.ndarray:
    """``values`` at the position of each of ``keys`` in the sorted unique ``table_keys``;
    ``fill`` if absent (a binary search: no hash table of the table's keys)."""
    if not len(values):
        return np.full(len(keys), fill)
    pos = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    return np.where(table_keys[pos] == keys, values[pos], fill)


def demand_features(
    order_lines: pd.DataFrame, series: pd.DataFrame, promo_threshold: float = 0.05
) -> pd.DataFrame:
    """Calendar, price and promotion features for every row of ``series``.

    Price is the SKU x channel's mean net unit price (base currency) on the day, carried
    forward over days without sales; promotion is a channel-day flag: the share of gross
    revenue given as discount exceeds the channel's median share by ``promo_threshold``.
    Every sale line counts, whatever its status (a cancelled sale was still offered at its
    price): merchandise lines with a positive quantity. Reversals (negative quantity) and
    non-merchandise lines (``is_merchandise`` False: postage, fees, discounts) are no price
    of a product and are left out. Grouping and look-ups run on integer codes of
    channel_id, sku and the day, so object and ``string[pyarrow]`` keys give the same
    table and no column of ``order_lines`` is converted or copied whole.

    Args:
        order_lines: channel_id, sku, order_ts_local, quantity and, for price and promo,
            unit_price_base and discount_base (base currency); is_merchandise when the
            intake wrote it (without it every line is merchandise).
        series: output of :func:`daily_demand`.
        promo_threshold: promo when the day's discount share exceeds the channel's median
            share by more than this (a share).

    Returns:
        ``series`` plus dow (0 = Monday), month, week_of_year, price, discount_rate, promo.
    """
    return add_line_features(
        _calendar_features(series), line_features(order_lines, promo_threshold)
    )


class LineFeatures(NamedTuple):
    """What :func:`demand_features` takes from the order lines, before it sees the series
    (:func:`line_features`): channel and sku names of the codes, the first day, and the
    discount share, promo flag and mean net unit price per packed (code, day) key."""

    ch_names: np.ndarray
    sku_names: np.ndarray
    day_min: int
    ch_day: np.ndarray
    rate: np.ndarray
    promo: np.ndarray
    sku_day: np.ndarray
    price: np.ndarray


def line_features(order_lines: pd.DataFrame, promo_threshold: float = 0.05) -> LineFeatures | None:
    """The order lines' part of :func:`demand_features` (it needs no series, so it can run
    beside :func:`daily_demand`); None without unit_price_base and discount_base."""
    if not {"unit_price_base", "discount_base"} <= set(order_lines):
        return None
    lines, ch_names, sku_names = _coded_lines(order_lines)
    day_min = int(lines["day"].min()) if len(lines["day"]) else 0
    ch_day, rate, promo = _channel_day_discounts(lines, promo_threshold, day_min)
    sku_day, price = _sku_day_prices(lines, day_min)
    return LineFeatures(ch_names, sku_names, day_min, ch_day, rate, promo, sku_day, price)


def add_line_features(out: pd.DataFrame, part: LineFeatures | None) -> pd.DataFrame:
    """``out`` (series rows with calendar features) plus price, discount_rate and promo
    from :func:`line_features` (NaN, 0 and False without prices)."""
    if part is None:
        out["price"] = np.nan
        out["discount_rate"] = 0.0
        out["promo"] = False
        return out
    series_code, cs_key, ch_key = _series_keys(out, part.ch_names, part.sku_names, part.day_min)
    out["price"] = _lookup(cs_key, part.sku_day, part.price, np.nan)
    out["price"] = out.groupby(series_code, sort=False)["price"].ffill()
    out["discount_rate"] = _lookup(ch_key, part.ch_day, part.rate, 0.0).astype(float)
    out["promo"] = _lookup(ch_key, part.ch_day, part.promo, False).astype(bool)
    return out


def _calendar_features(series: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``series`` with dow (0 = Monday), month and ISO week_of_year of its date."""
    out = series.copy()
    out["dow"] = out["date"].dt.dayofweek
    out["month"] = out["date"].dt.month
    # ISO week of each day from the first to the last (a few thousand), not of every row
    # (millions), looked up by the day's number (no sort of the rows' dates)
    day = out["date"].to_numpy("datetime64[D]").astype(np.int64)
    if not len(out):
        out["week_of_year"] = np.zeros(0, dtype=int)
        return out
    first = int(day.min())
    span = pd.date_range(pd.Timestamp(first, unit="D"), periods=int(day.max()) - first + 1)
    week = span.isocalendar().week.astype(int).to_numpy()
    out["week_of_year"] = week[day - first]
    return out


def _coded_lines(order_lines: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The lines demand_features needs, keyed by integer codes.

    Returns:
        (lines: arrays ch (channel code), cs (channel x sku code, -1 without a sku), day
        (days since 1970-01-01), gross (quantity x unit_price_base), discount_base,
        quantity, one entry per sale line (merchandise, quantity > 0) with a channel and a
        timestamp, in file order (arrays, not a frame: a frame would copy them into one
        block); the channel names; the sku names).
    """
    ch, ch_names = _string_codes(order_lines["channel_id"])
    sku, sku_names = _string_codes(order_lines["sku"])
    n_sku = max(len(sku_names), 1)
    day = _day_number(order_lines["order_ts_local"])
    qty = order_lines["quantity"].to_numpy(dtype=float, na_value=0.0)
    # a line with no sku still counts in its channel's day (discount share, promo)
    ok = (ch >= 0) & ~order_lines["order_ts_local"].isna().to_numpy() & (qty > 0)
    if "is_merchandise" in order_lines:
        ok &= order_lines["is_merchandise"].fillna(True).to_numpy(dtype=bool)
    lines = {
        "ch": ch[ok],
        "cs": np.where(sku >= 0, ch * n_sku + sku, -1)[ok],
        "day": day[ok],
        "gross": (qty * order_lines["unit_price_base"].to_numpy())[ok],
        "discount_base": order_lines["discount_base"].to_numpy()[ok],
        "quantity": qty[ok],
    }
    return lines, ch_names, sku_names


def _day_sums(
    code: np.ndarray, day: np.ndarray, day_min: int, values: dict[str, np.ndarray]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Sums of ``values`` per (code, day), grouped on one packed integer (:func:`_pack`).

    The same sums as ``groupby(["code", "day"]).sum()``: each group holds the same rows in
    the same (file) order, and the packed keys sort as (code, day) do.

    Returns:
        (the sorted unique packed keys, the sums in their order).
    """
    sums = pd.DataFrame(values).groupby(_pack(code, day, day_min), sort=True).sum()
    return sums.index.to_numpy(), sums


def _channel_day_discounts(
    lines: dict[str, np.ndarray], promo_threshold: float, day_min: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discount share of gross revenue per (ch, day) (0 without gross revenue), and the
    promo flag: the share exceeds the channel's median share by more than ``promo_threshold``.

    Returns:
        (the packed (ch, day) keys, sorted; the share and the promo flag of each).
    """
    keys, by_day = _day_sums(
        lines["ch"],
        lines["day"],
        day_min,
        {"gross": lines["gross"], "discount_base": lines["discount_base"]},
    )
    rate = (by_day["discount_base"] / by_day["gross"].where(by_day["gross"] > 0)).fillna(0.0)
    base = rate.groupby(keys >> 21).transform("median")
    promo = (rate > base + promo_threshold).to_numpy()
    return keys, rate.to_numpy(), promo


def _sku_day_prices(lines: dict[str, np.ndarray], day_min: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean net unit price (gross less discount, over quantity; base currency) per
    (cs, day) of the lines with a sku.

    Returns:
        (the packed (cs, day) keys, sorted; the price of each).
    """
    has = lines["cs"] >= 0
    keys, sku_day = _day_sums(
        lines["cs"][has],
        lines["day"][has],
        day_min,
        {c: lines[c][has] for c in ("gross", "discount_base", "quantity")},
    )
    price = ((sku_day["gross"] - sku_day["discount_base"]) / sku_day["quantity"]).to_numpy()
    return keys, price


def _pack(a: np.ndarray, d: np.ndarray, day_min: int) -> np.ndarray:
    """One int64 per (code, day): the code shifted past 21 bits, plus days since ``day_min``."""
    # a day fits in 2**20 days (2,870 years) from day_min onward
    return (a.astype(np.int64) << 21) + (d - day_min)


def _series_keys(
    out: pd.DataFrame, ch_names: np.ndarray, sku_names: np.ndarray, day_min: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Look-up keys of every row of ``out`` (series rows) in the lines' codes.

    Returns:
        (a code per series, for carrying prices forward within a series; the packed
        (channel x sku, day) key, -1 when the lines lack the channel or the sku; the packed
        (channel, day) key, -1 when the lines lack the channel).
    """
    n_sku = max(len(sku_names), 1)
    # factorise each column once and map its few uniques to the lines' codes
    ser_ch, ser_ch_names = _string_codes(out["channel_id"])
    ser_sku, ser_sku_names = _string_codes(out["sku"])
    s_ch = _recode(ser_ch, pd.Index(ch_names).get_indexer(ser_ch_names))
    s_sku = _recode(ser_sku, pd.Index(sku_names).get_indexer(ser_sku_names))
    s_day = _day_number(out["date"])
    # a day before the lines' first day has no line (and would not pack)
    dated = s_day >= day_min
    known = (s_ch >= 0) & (s_sku >= 0) & dated
    cs_key = np.where(known, _pack(s_ch * n_sku + s_sku, s_day, day_min), -1)
    ch_key = np.where((s_ch >= 0) & dated, _pack(s_ch, s_day, day_min), -1)
    return ser_ch * max(len(ser_sku_names), 1) + ser_sku, cs_key, ch_key


def series_matrix(
    series: pd.DataFrame, value: str = "units", dates: pd.DatetimeIndex | None = None
) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray]:
    """Dense (series x days) matrix of ``value``, NaN before each series starts.

    Args:
        dates: the matrix's columns; by default every day from the first to the last date
            of ``series`` (a subset of the series gets the whole data's days this way, so
            windows counted from the end fall on the same dates).

    Returns:
        keys (channel_id, sku, one row per series, in matrix order), dates, matrix.
    """
    if series.empty:
        return pd.DataFrame(columns=KEYS), pd.DatetimeIndex([]), np.zeros((0, 0))
    keys, dates, row, col = _matrix_cells(series, dates)
    y = np.full((len(keys), len(dates)), np.nan)
    y[row, col] = series[value].to_numpy(dtype=float)
    return keys, dates, y


def _matrix_cells(
    series: pd.DataFrame, dates: pd.DatetimeIndex | None
) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Where each row of (non-empty) ``series`` goes in :func:`series_matrix`'s matrix.

    Returns:
        (keys, dates, row and column of each row of ``series``).
    """
    if dates is None:
        dates = pd.date_range(series["date"].min(), series["date"].max(), freq="D")
    # each row's series: the rank of its (channel_id, sku) code, which sorts as the keys do
    code, uniques, radix = _group_codes(series, KEYS)
    if (code < 0).any():
        keys = series[KEYS].drop_duplicates().sort_values(KEYS).reset_index(drop=True)
        row = keys.reset_index().merge(series[KEYS], on=KEYS, how="right")["index"].to_numpy()
    else:
        present, row = np.unique(code, return_inverse=True)
        keys = _decode_groups(present, uniques, radix, KEYS)
    col = ((series["date"] - dates[0]).dt.days).to_numpy()
    return keys, dates, row, col


def _matrices(
    series: pd.DataFrame, features: pd.DataFrame | None, dates: pd.DatetimeIndex | None
) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """:func:`series_matrix` of ``series``' units, :func:`_promo_matrix` and
    :func:`_price_matrix` of ``features``.

    When ``features`` has the rows of ``series`` in the same order (as
    :func:`demand_features` returns them), promotions and prices go to the cells the units
    go to, and the keys are grouped once instead of three times; the matrices are the same.

    Returns:
        (keys, dates, units, promo, price).
    """
    aligned = (
        features is not None
        and not series.empty
        and len(features) == len(series)
        and all(features[c].equals(series[c]) for c in ("date", *KEYS))
    )
    if not aligned:
        keys, dates, y = series_matrix(series, dates=dates)
        return keys, dates, y, _promo_matrix(features, dates), _price_matrix(features, dates)
    keys, dates, row, col = _matrix_cells(series, dates)
    y = np.full((len(keys), len(dates)), np.nan)
    y[row, col] = series["units"].to_numpy(dtype=float)
    promo = price = None
    if "promo" in features:
        promo = np.full_like(y, np.nan)
        promo[row, col] = features["promo"].astype(float).to_numpy(dtype=float)
        promo = np.nan_to_num(promo)
    if "price" in features and not features["price"].isna().all():
        price = np.full_like(y, np.nan)
        price[row, col] = features["price"].astype(float).to_numpy(dtype=float)
    return keys, dates, y, promo, price


# --------------------------------------------------------------------------- models


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 7) -> np.ndarray:
    """Repeat the last full season: forecast[h] = history[-season + (h mod season)].

    Falls back to the last value (or 0 for an empty history) when the history is shorter
    than one season.
    """
    history = np.asarray(history, dtype=float)
    if len(history) == 0:
        return np.zeros(horizon)
    if len(history) < season:
        return np.full(horizon, history[-1])
    return np.resize(history[-season:], horizon)


def _nanmean(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """nanmean that returns NaN without a warning on all-NaN slices."""
    cnt = np.sum(~np.isnan(a), axis=axis)
    tot = np.nansum(a, axis=axis)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _last_valid(y: np.ndarray) -> np.ndarray:
    """Last non-NaN value of each row (0 when the row is all NaN)."""
    ok = ~np.isnan(y)
    pos = np.where(ok.any(axis=1), y.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
    out = np.zeros(len(y))
    has = pos >= 0
    out[has] = y[np.nonzero(has)[0], pos[has]]
    return out


def _baseline(name: str, y: np.ndarray, horizon: int, season: int, window: int) -> np.ndarray:
    n, t = y.shape
    last = _last_valid(y)
    if name == "naive":
        return np.repeat(last[:, None], horizon, axis=1)
    if name == "moving_average":
        m = _nanmean(y[:, -window:], axis=1)
        return np.repeat(np.nan_to_num(m)[:, None], horizon, axis=1)
    if name == "weekday_profile":
        return _weekday_profile(y, horizon, season, window)
    # season-indexed: column j of the forecast copies day t - season + (j mod season)
    cols = t - season + (np.arange(horizon) % season)
    if name == "seasonal_naive":
        if t < season:
            return np.repeat(last[:, None], horizon, axis=1)
        f = y[:, cols]
        return np.where(np.isnan(f), last[:, None], f)
    if name == "weekday_average":
        k = max(window // season, 1)
        stack = np.stack(
            [
                y[:, cols - season * i]
                if t - season * (i + 1) >= 0
                else np.full((n, horizon), np.nan)
                for i in range(k)
            ]
            if t >= season
            else [np.full((n, horizon), np.nan)]
        )
        f = np.nansum(stack, axis=0) / np.maximum(np.sum(~np.isnan(stack), axis=0), 1)
        f = np.where(np.sum(~np.isnan(stack), axis=0) > 0, f, np.nan)
        m = _nanmean(y[:, -window:], axis=1) if t else np.full(n, np.nan)
        return np.nan_to_num(np.where(np.isnan(f), m[:, None], f))
    raise ValueError(f"unknown baseline {name!r}")


def _weekday_profile(
    y: np.ndarray, horizon: int, season: int, window: int, profile_days: int = PROFILE_DAYS
) -> np.ndarray:
    """Level x weekday share: the mean of the last ``window`` days times each weekday's
    index (that weekday's mean over the last ``profile_days`` days over the mean of all of
    them), so a weekday that never sells (a closed Saturday) is forecast 0 and the level's
    units move to the days that sell. A series with no units over ``profile_days`` gets
    index 1 on every day (the plain moving average). Units per day, non-negative.
    """
    n, t = y.shape
    level = np.nan_to_num(_nanmean(y[:, -window:], axis=1))
    if t < season:
        return np.repeat(level[:, None], horizon, axis=1)
    span = min(t, max(profile_days // season, 1) * season)
    hist = y[:, t - span :]
    # column k of hist falls on the same weekday as forecast steps j with (j - k) % season == 0
    phase = (np.arange(span) - span) % season  # weekday offset relative to day t
    by_phase = np.stack([_nanmean(hist[:, phase == p], axis=1) for p in range(season)], axis=1)
    overall = _nanmean(hist, axis=1)
    index = np.where(
        (overall > 0)[:, None],
        np.nan_to_num(by_phase) / np.where(overall > 0, overall, 1)[:, None],
        1.0,
    )
    return level[:, None] * index[:, np.arange(horizon) % season]


def _capped(f: np.ndarray, y: np.ndarray, days: int = PROFILE_DAYS) -> np.ndarray:
    """``f`` capped per row at the largest daily value of the last ``days`` days of ``y``
    (the guard that keeps an intermittent model from forecasting more a day than the series
    ever sold lately); rows without history are left as they are."""
    top = np.nanmax(np.where(np.isnan(y[:, -days:]), -np.inf, y[:, -days:]), axis=1)
    top = np.where(np.isfinite(top), top, np.inf)
    return np.minimum(f, top[:, None])


def _combo(
    name: str, y: np.ndarray, horizon: int, season: int, window: int, cache: dict | None
) -> np.ndarray:
    """Mean (``combo``) or median (``combo_median``) of the :data:`COMBO_MEMBERS` forecasts,
    day by day; members already in ``cache`` (model name -> forecast of this ``y``) are reused."""
    cache = {} if cache is None else cache
    parts = []
    for m in COMBO_MEMBERS:
        if m not in cache:
            cache[m] = forecast_matrix(m, y, horizon, season=season, window=window)
        parts.append(cache[m])
    stack = np.stack(parts)
    return np.median(stack, axis=0) if name == "combo_median" else stack.mean(axis=0)


def _statsforecast(name: str, y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Forecast every row of ``y`` with one statsforecast model (history from first value)."""
    with warnings.catch_warnings():
        # statsforecast imports tqdm.auto, which warns about missing ipywidgets in notebooks
        warnings.simplefilter("ignore")
        from statsforecast import StatsForecast  # lazy: pulls in pyspark.sql and fugue
        from statsforecast import models as sm  # lazy: as above, only its models pay

    model = {
        "theta": lambda: sm.Theta(season_length=season, decomposition_type="additive"),
        "croston_sba": sm.CrostonSBA,
        "tsb": lambda: sm.TSB(alpha_d=0.1, alpha_p=0.1),
        "adida": sm.ADIDA,
        "ses": lambda: sm.SimpleExponentialSmoothing(alpha=0.1),
    }[name]()
    n, t = y.shape
    out = np.zeros((n, horizon))
    start = np.where((~np.isnan(y)).any(axis=1), np.argmax(~np.isnan(y), axis=1), t)
    length = t - start
    ok = length >= max(2 * season, 3)
    short = ~ok
    if short.any():
        out[short] = _baseline("moving_average", y[short], horizon, season, 28)
    if not ok.any():
        return out
    rows = np.nonzero(ok)[0]
    ids = np.repeat(rows, length[rows])
    pos = np.concatenate([np.arange(start[r], t) for r in rows])
    df = pd.DataFrame({"unique_id": ids, "ds": pos, "y": y[ids, pos]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = StatsForecast(models=[model], freq=1, n_jobs=1)
        res = sf.forecast(df=df, h=horizon)
    col = [c for c in res.columns if c not in ("unique_id", "ds")][0]
    res = res.sort_values(["unique_id", "ds"])
    vals = res[col].to_numpy().reshape(-1, horizon)
    uid = res["unique_id"].to_numpy()[::horizon]
    out[uid] = vals
    return _capped(np.nan_to_num(np.clip(out, 0, None)), y)


def _base_for_gbm(season: int, window: int):
    """The simple-model forecasts :func:`.gbm.gbm_forecast` uses as features."""

    def base(name: str, hist: np.ndarray, horizon: int) -> np.ndarray:
        if hist.shape[1] == 0:
            return np.full((len(hist), horizon), np.nan)
        return _baseline(name, hist, horizon, season, window)

    return base


def forecast_matrix(
    name: str,
    y: np.ndarray,
    horizon: int,
    *,
    dates: pd.DatetimeIndex | None = None,
    promo: np.ndarray | None = None,
    price: np.ndarray | None = None,
    holidays: pd.DatetimeIndex | None = None,
    season: int = 7,
    window: int = 28,
    gbm_origins: int = 12,
    gbm_origin_step: int = 14,
    seed: int = 0,
    cache: dict | None = None,
    gbm_rows: dict | None = None,
) -> np.ndarray:
    """Forecast all rows of ``y`` (series x days of history, NaN before start) with ``name``.

    Args:
        name: one of DEFAULT_MODELS or STATSFORECAST_MODELS.
        y: history matrix; a row may be all NaN (series not started yet: forecast 0).
        horizon: days ahead.
        dates: the dates of y's columns (needed by ``gbm``).
        promo: promotion flags (series x days) covering history and horizon, for ``gbm``.
        price: net unit price (series x days of history, NaN where unknown), for ``gbm``.
        holidays: holiday dates (:func:`.holidays.holiday_dates`), for ``gbm``; None: none.
        season: season length in days; window: moving-average window in days.
        gbm_origins, gbm_origin_step: how many past origins train the global model, and
            how many days apart.
        cache: model name -> forecast of this same ``y``; filled and reused so that a
            combination does not refit its members (None: no reuse).
        gbm_rows: ``gbm``'s training rows per origin, shared by the windows of one
            backtest (``rows_cache`` of :func:`.gbm.gbm_forecast`; None: no reuse).

    Returns:
        (n_series, horizon) non-negative forecasts.
    """
    y = np.asarray(y, float)
    if y.ndim != 2:
        raise ValueError("y must be a 2-D series x days matrix")
    n = y.shape[0]
    if n == 0 or horizon <= 0:
        return np.zeros((n, max(horizon, 0)))
    if y.shape[1] == 0:
        return np.zeros((n, horizon))
    if cache is not None and name in cache:
        return cache[name]
    if name in BASELINE_MODELS:
        f = _baseline(name, y, horizon, season, window)
    elif name == "combo_gbm":
        cache = {} if cache is None else cache
        kw = {"dates": dates, "promo": promo, "price": price, "holidays": holidays}
        kw |= {"season": season, "window": window, "seed": seed, "cache": cache}
        kw |= {"gbm_origins": gbm_origins, "gbm_origin_step": gbm_origin_step}
        kw |= {"gbm_rows": gbm_rows}
        f = (
            forecast_matrix("gbm", y, horizon, **kw) + forecast_matrix("combo", y, horizon, **kw)
        ) / 2
    elif name in COMBO_MODELS:
        f = _combo(name, y, horizon, season, window, cache)
    elif name in STATSFORECAST_MODELS:
        f = _statsforecast(name, y, horizon, season)
    elif name == "gbm":
        if dates is None:
            dates = pd.date_range("2000-01-03", periods=y.shape[1], freq="D")
        f = gbm_forecast(
            y,
            horizon,
            dates[: y.shape[1]],
            _base_for_gbm(season, window),
            promo=promo,
            price=None if price is None else price[:, : y.shape[1]],
            holidays=holidays,
            n_origins=gbm_origins,
            origin_step=gbm_origin_step,
            seed=seed,
            season=season,
            rows_cache=gbm_rows,
        )
    else:
        known = ", ".join((*BASELINE_MODELS, *STATSFORECAST_MODELS, *COMBO_MODELS, "gbm"))
        raise ValueError(f"unknown model {name!r}; known models: {known}")
    f = np.clip(np.nan_to_num(f), 0.0, None)
    if cache is not None:
        cache[name] = f
    return f


# --------------------------------------------------------------------------- metrics


def _scale(y: np.ndarray, season: int) -> tuple[np.ndarray, np.ndarray]:
    """In-sample seasonal-naive mean absolute and root mean squared error per row."""
    if y.shape[1] <= season:
        nan = np.full(len(y), np.nan)
        return nan, nan
    d = y[:, season:] - y[:, :-season]
    mae = _nanmean(np.abs(d), axis=1)
    rmse = np.sqrt(_nanmean(d**2, axis=1))
    return mae, rmse


def forecast_metrics(
    actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = 7
) -> dict[str, float]:
    """MAE, MASE, RMSSE, WAPE and bias of one forecast.

    MASE scales the mean absolute error by the in-sample mean absolute error of the seasonal
    naive method (Hyndman & Koehler 2006); RMSSE scales the root mean squared error by the
    in-sample seasonal naive RMSE (M5); WAPE = sum|e| / sum(actual); bias =
    sum(forecast - actual) / sum(actual). Undefined values are NaN.
    """
    actual, forecast, insample = (np.asarray(a, float) for a in (actual, forecast, insample))
    err = forecast - actual
    mae_s, rmse_s = _scale(insample[None, :], season)
    total = actual.sum()
    mae = float(np.mean(np.abs(err))) if len(err) else np.nan
    rmse = float(np.sqrt(np.mean(err**2))) if len(err) else np.nan
    return {
        "mae": mae,
        "mase": float(mae / mae_s[0]) if mae_s[0] > 0 else np.nan,
        "rmsse": float(rmse / rmse_s[0]) if rmse_s[0] > 0 else np.nan,
        "wape": float(np.abs(err).sum() / total) if total > 0 else np.nan,
        "bias": float(err.sum() / total) if total > 0 else np.nan,
    }


#: Columns of :func:`backtest`'s frame, in order.
BACKTEST_COLUMNS = [
    "channel_id",
    "sku",
    "window",
    "date",
    "h",
    "actual",
    "scale_mae",
    "scale_rmse",
    "model",
    "forecast",
]


def backtest(
    series: pd.DataFrame,
    models: Sequence[str] = DEFAULT_MODELS,
    horizon: int = 28,
    n_windows: int = 3,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    dates: pd.DatetimeIndex | None = None,
    **model_kw,
) -> pd.DataFrame:
    """Rolling-origin backtest: every model forecasts every series in every window.

    Windows are the last ``n_windows`` consecutive blocks of ``horizon`` days; window 1 is
    the earliest. A series that starts inside a window is forecast from what history it has
    (zero when none) and scored on its days in the window.

    Args:
        series: from :func:`daily_demand`.
        models: model names (see :func:`forecast_matrix`).
        features: from :func:`demand_features`; its ``promo`` column feeds ``gbm``.
        dates: the days of the history (see :func:`series_matrix`); by default those of
            ``series``.

    Returns:
        Long frame, one row per (channel_id, sku, model, window, date) in the window with
        the series started: actual, forecast, h (1-based step), scale_mae, scale_rmse (the
        series' in-sample seasonal naive errors at the origin).
    """
    if horizon < 1 or n_windows < 1:
        raise ValueError("horizon and n_windows must be >= 1")
    keys, dates, y, promo, price = _matrices(series, features, dates)
    windows = window_origins(y.shape[1], horizon, n_windows)
    # gbm's training origins overlap from one window to the next: their rows are built once
    gbm_rows: dict = {}

    def fit(name: str, origin: int, cache: dict | None) -> np.ndarray:
        return forecast_matrix(
            name,
            y[:, :origin],
            horizon,
            dates=dates[:origin],
            # promotions after the origin are not known then (as for the future)
            promo=None if promo is None else promo[:, :origin],
            price=price,
            season=season,
            seed=seed,
            cache=cache,
            gbm_rows=gbm_rows,
            **model_kw,
        )

    # gbm, one LightGBM model over every series per window (its fits free the GIL), runs in
    # a thread of its own, window after window (the rows cache carries over), while this
    # thread fits the per-series models; each forecast is the one it was alone.
    caches: list[dict] = [{} for _ in windows]
    with ThreadPoolExecutor(max_workers=1) as pool:
        gbm_job = None
        if any(name in GLOBAL_MODELS for name in models):
            gbm_job = pool.submit(lambda: [fit("gbm", o, None) for _, o in windows])
        for (_, origin), cache in zip(windows, caches, strict=True):
            for name in models:
                if name not in GLOBAL_MODELS:
                    cache[name] = fit(name, origin, cache)
            if "combo_gbm" in models:
                cache["combo"] = fit("combo", origin, cache)
        if gbm_job is not None:
            for cache, f in zip(caches, gbm_job.result(), strict=True):
                cache["gbm"] = f
    gbm_rows.clear()  # the last window's training rows: not needed for the frames
    release_freed_memory()
    frames = []
    for (w, origin), cache in zip(windows, caches, strict=True):
        base, r, c = _window_actuals(keys, dates, y, w, origin, horizon, season)
        for name in models:
            f = cache[name] if name in cache else fit(name, origin, cache)
            frames.append(pd.DataFrame({**base, "model": name, "forecast": f[r, c]}))
    del caches
    if not frames:
        return pd.DataFrame(columns=BACKTEST_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def window_origins(n_days: int, horizon: int, n_windows: int) -> list[tuple[int, int]]:
    """(window, origin) of each backtest window that has at least one day of history.

    Window w (1 = earliest) forecasts days ``origin .. origin + horizon - 1`` (0-based
    columns of the series matrix) with ``origin = n_days - (n_windows - w + 1) * horizon``;
    a window whose origin falls before day 1 is left out.

    Raises:
        ValueError: horizon or n_windows below 1.
    """
    if horizon < 1 or n_windows < 1:
        raise ValueError("horizon and n_windows must be >= 1")
    origins = [(w, n_days - (n_windows - w + 1) * horizon) for w in range(1, n_windows + 1)]
    return [(w, o) for w, o in origins if o >= 1]


def _promo_matrix(features: pd.DataFrame | None, dates: pd.DatetimeIndex) -> np.ndarray | None:
    """Promotion flags (series x ``dates``, 0 where unknown) from ``features``' promo column,
    or None without one."""
    if features is None or "promo" not in features:
        return None
    _, _, promo = series_matrix(
        features[[*KEYS, "date"]].assign(promo=features["promo"].astype(float)),
        "promo",
        dates=dates,
    )
    return np.nan_to_num(promo)


def _price_matrix(features: pd.DataFrame | None, dates: pd.DatetimeIndex) -> np.ndarray | None:
    """Net unit price (series x ``dates``, NaN where unknown) from ``features``' price
    column, or None without one."""
    if features is None or "price" not in features or features["price"].isna().all():
        return None
    _, _, price = series_matrix(
        features[[*KEYS, "date"]].assign(price=features["price"].astype(float)),
        "price",
        dates=dates,
    )
    return price


def _window_actuals(
    keys: pd.DataFrame,
    dates: pd.DatetimeIndex,
    y: np.ndarray,
    window: int,
    origin: int,
    horizon: int,
    season: int,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """The backtest columns of one window that do not depend on the model.

    Returns:
        (columns channel_id, sku, window, date, h, actual, scale_mae, scale_rmse for every
        (series, day) of the window with the series started; their rows and columns in
        the window's block of ``y``).
    """
    hist = y[:, :origin]
    act = y[:, origin : origin + horizon]
    mae_s, rmse_s = _scale(hist, season)
    started = ~np.isnan(act)
    r, c = np.nonzero(started)
    base = {
        "channel_id": keys["channel_id"].to_numpy()[r],
        "sku": keys["sku"].to_numpy()[r],
        "window": window,
        "date": dates[origin + c],
        "h": c + 1,
        "actual": act[r, c],
        "scale_mae": mae_s[r],
        "scale_rmse": rmse_s[r],
    }
    return base, r, c


def _group_codes(
    frame: pd.DataFrame, by: list[str]
) -> tuple[np.ndarray, list[pd.Index], list[int]]:
    """One int64 code per row for the combination of the ``by`` columns, in sort order.

    Each column is factorised with ``sort=True`` and the codes are combined in mixed radix,
    so sorting the codes sorts the rows by ``by`` lexicographically, as
    ``groupby(by, sort=True)`` would, but grouping on one integer is much faster than on
    several object or Arrow string columns.

    Returns:
        (codes, -1 where any key is missing; each column's sorted uniques; the radices).
    """
    key = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    uniques, radix = [], []
    for col in by:
        codes, u = pd.factorize(frame[col], sort=True)
        missing |= codes < 0
        key = key * max(len(u), 1) + codes
        uniques.append(u)
        radix.append(max(len(u), 1))
    key[missing] = -1
    return key, uniques, radix


def _decode_groups(
    key: np.ndarray, uniques: list[pd.Index], radix: list[int], by: list[str]
) -> pd.DataFrame:
    """The ``by`` columns of each group code from :func:`_group_codes` (dtypes of the uniques)."""
    cols = {}
    rest = np.asarray(key, dtype=np.int64)
    for col, u, r in zip(reversed(by), reversed(uniques), reversed(radix), strict=True):
        cols[col] = u.take(rest % r)
        rest = rest // r
    return pd.DataFrame(
        {c: np.asarray(cols[c]) if cols[c].dtype == object else cols[c] for c in by}
    )


def series_metrics(
    bt: pd.DataFrame, by: Sequence[str] = ("channel_id", "sku", "model", "window")
) -> pd.DataFrame:
    """MASE, RMSSE, WAPE, bias, and totals per group of a backtest frame.

    A series whose in-sample scale is zero or missing (all zeros, too short) gets NaN MASE
    and RMSSE; its absolute errors still count in WAPE.
    """
    by = list(by)
    key, uniques, radix = _group_codes(bt, by)
    keep = key >= 0
    err = (bt["forecast"] - bt["actual"]).to_numpy()[keep]
    d = pd.DataFrame(
        {
            "_key": key[keep],
            "actual": bt["actual"].to_numpy()[keep],
            "forecast": bt["forecast"].to_numpy()[keep],
            "ae": np.abs(err),
            "se": err**2,
            "err": err,
            "scale_mae": bt["scale_mae"].to_numpy()[keep],
            "scale_rmse": bt["scale_rmse"].to_numpy()[keep],
        }
    )
    g = d.groupby("_key", sort=True)
    out = g.agg(
        actual=("actual", "sum"),
        forecast=("forecast", "sum"),
        mae=("ae", "mean"),
        mse=("se", "mean"),
        abs_err=("ae", "sum"),
        sq_err=("se", "sum"),
        err=("err", "sum"),
        scale_mae=("scale_mae", "first"),
        scale_rmse=("scale_rmse", "first"),
        days=("ae", "size"),
    )
    out = pd.concat(
        [_decode_groups(out.index.to_numpy(), uniques, radix, by), out.reset_index(drop=True)],
        axis=1,
    )
    out["mase"] = out["mae"] / out["scale_mae"].where(out["scale_mae"] > 0)
    out["rmsse"] = np.sqrt(out["mse"]) / out["scale_rmse"].where(out["scale_rmse"] > 0)
    out["wape"] = out["abs_err"] / out["actual"].where(out["actual"] > 0)
    out["bias"] = out["err"] / out["actual"].where(out["actual"] > 0)
    return out.drop(columns=["mse", "err"])


def scored_metrics(bt_metrics: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """:func:`series_metrics` of the backtest rows and the chosen model's rows together
    (``pd.concat([bt, chosen.drop(columns="chosen_model")])``, model "chosen"), from the
    backtest's own metrics: only the chosen rows are grouped here.

    The same table: each group holds the same rows in the same order either way (the
    chosen rows' model is a model of its own), so its sums are the same floats, and the
    rows are sorted by channel_id, sku, model, window as :func:`series_metrics` sorts them.

    Args:
        bt_metrics: :func:`series_metrics` of the backtest (by channel_id, sku, model, window).
        chosen: :func:`chosen_backtest` rows.
    """
    keys = ["channel_id", "sku", "model", "window"]
    extra = series_metrics(chosen.drop(columns="chosen_model"), keys)
    out = pd.concat([bt_metrics, extra], ignore_index=True)
    return out.sort_values(keys, kind="stable", ignore_index=True)


def global_model(metrics: pd.DataFrame) -> str:
    """The one model best over all series: lowest mean RMSSE over the series x windows of
    ``metrics`` that have a scale (ties: first name in sort order).

    Args:
        metrics: :func:`series_metrics` by channel_id, sku, model, window (rmsse).

    Raises:
        ValueError: ``metrics`` has no row with an RMSSE.
    """
    ok = metrics[metrics["rmsse"].notna()]
    if ok.empty:
        raise ValueError("no backtest row has an RMSSE: every series lacks a scale")
    mean = ok.groupby("model", sort=True)["rmsse"].mean()
    return str(mean.sort_values(kind="stable").index[0])


def choose_models(
    metrics: pd.DataFrame,
    exclude_window: int | None = None,
    *,
    before_window: int | None = None,
    shrink: float = 0.0,
) -> pd.DataFrame:
    """Model per series: lowest squared error over the backtest windows, shrunk toward the
    best global model.

    Squared error, not absolute: on sparse series the absolute error rewards forecasting
    zero (the median), which then misses every sale; squared error picks the mean.
    Shrinkage: a series keeps its own best model only when that model's squared error is
    below ``(1 - shrink)`` times the squared error of :func:`global_model` on the same
    series; otherwise it takes the global model (a per-series win by a small margin on a
    few windows is mostly noise).

    Args:
        metrics: :func:`series_metrics` by channel_id, sku, model, window.
        exclude_window: leave this window out of the choice (to score the choice on it).
        before_window: use only windows before this one (nested: the choice never sees
            the window it is scored on, nor a later one).
        shrink: 0 = pure per-series choice, 1 = the global model for every series.

    Returns:
        channel_id, sku, model.

    Raises:
        ValueError: ``shrink`` outside [0, 1], or no window left to choose on.
    """
    if not 0.0 <= shrink <= 1.0:
        raise ValueError(f"shrink must be between 0 and 1, got {shrink}")
    m = metrics if exclude_window is None else metrics[metrics["window"] != exclude_window]
    if before_window is not None:
        m = m[m["window"] < before_window]
    if m.empty:
        raise ValueError("no backtest window left to choose the models on")
    score = m.groupby(["channel_id", "sku", "model"], sort=True)["sq_err"].sum().reset_index()
    best = score.sort_values(["channel_id", "sku", "sq_err", "model"]).drop_duplicates(KEYS)
    best = best.reset_index(drop=True)
    if shrink > 0 and m["rmsse"].notna().any():
        glob = global_model(m)
        g = score[score["model"] == glob].set_index(KEYS)["sq_err"]
        g_err = pd.MultiIndex.from_frame(best[KEYS]).map(g)
        g_err = np.asarray(g_err, dtype=float)
        keep = ~(best["sq_err"].to_numpy() >= (1 - shrink) * g_err)  # NaN (no global row) keeps
        best.loc[~keep, "model"] = glob
    return best[["channel_id", "sku", "model"]]


def chosen_backtest(
    bt: pd.DataFrame,
    metrics: pd.DataFrame | None = None,
    *,
    nested: bool = False,
    shrink: float = 0.0,
) -> pd.DataFrame:
    """Backtest rows of the per-series chosen model, each window scored with a model chosen
    on other windows (so the choice is not graded on the data that made it).

    Args:
        bt: :func:`backtest` rows.
        metrics: :func:`series_metrics` of ``bt`` when the caller has it already (None:
            computed here).
        nested: False: each window is scored with the model chosen on all the other windows
            (later ones included); True: with the model chosen on the earlier windows only,
            as a forecast made at that window's origin would be (the first window, with
            nothing before it, is then left out).
        shrink: passed to :func:`choose_models`.

    With one window, the choice is made on that window itself.

    Raises:
        ValueError: ``bt`` is empty (no demand, or a history no longer than one window).
    """
    if bt.empty:
        raise ValueError(
            "the backtest has no rows: there is no demand, or the demand history is not "
            "longer than one backtest window (horizon_days); lower horizon_days to forecast "
            "a shorter history"
        )
    if metrics is None:
        metrics = series_metrics(bt)
    windows = sorted(bt["window"].unique())
    parts = []
    for w in windows:
        if len(windows) == 1:
            pick = choose_models(metrics, shrink=shrink)
        elif nested:
            if w == windows[0]:
                continue
            pick = choose_models(metrics, before_window=w, shrink=shrink)
        else:
            pick = choose_models(metrics, exclude_window=w, shrink=shrink)
        part = bt[bt["window"] == w].merge(pick, on=["channel_id", "sku", "model"])
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.assign(chosen_model=out["model"], model="chosen")


def series_per_chosen_model(chosen: pd.DataFrame) -> pd.Series:
    """How many series each model was chosen for, in at least one window.

    Args:
        chosen: :func:`chosen_backtest` rows (chosen_model, channel_id, sku).

    Returns:
        The number of distinct (channel_id, sku) per chosen_model, named ``series_windows``.

    Raises:
        KeyError: ``chosen`` lacks chosen_model, channel_id or sku.
    """
    keys = chosen[["chosen_model", *KEYS]].drop_duplicates()
    return keys.groupby("chosen_model").size().rename("series_windows")


def model_summary(
    bt: pd.DataFrame,
    by: Sequence[str] = ("model",),
    *,
    metrics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Overall error per model (and any extra grouping such as channel_id).

    weighted MASE weights each series-window's MASE by its actual units (series without a
    scale are left out); WAPE and bias pool absolute errors and units.

    Args:
        bt: backtest rows (channel_id, sku, model, window, forecast, actual, scales).
        by: the grouping; model and any of channel_id, sku, window.
        metrics: :func:`series_metrics` of ``bt`` when the caller has it already (None:
            computed here). On the large data that grouping of every backtest row is most
            of the time, so a notebook that summarises ``bt`` more than once passes it.
    """
    m = series_metrics(bt) if metrics is None else metrics
    ok = m["mase"].notna()
    w = m.loc[ok]
    grp = list(by)
    wm = (w["mase"] * w["actual"]).groupby([w[c] for c in grp]).sum() / w["actual"].groupby(
        [w[c] for c in grp]
    ).sum()
    pooled = m.groupby(grp).agg(
        abs_err=("abs_err", "sum"), actual=("actual", "sum"), forecast=("forecast", "sum")
    )
    out = pd.DataFrame(
        {
            "weighted_mase": wm,
            "mean_mase": w.groupby(grp)["mase"].mean(),
            "mean_rmsse": w.groupby(grp)["rmsse"].mean(),
            "wape": pooled["abs_err"] / pooled["actual"],
            "bias": (pooled["forecast"] - pooled["actual"]) / pooled["actual"],
        }
    )
    return out.reset_index()


# --------------------------------------------------------------------------- intervals


def _score_scale(d: pd.DataFrame) -> np.ndarray:
    """Per-row scale for conformal scores: square root of the forecast plus the series'
    in-sample seasonal naive MAE, floored so empty series still get a width."""
    s = (
        np.sqrt(np.clip(d["forecast"].to_numpy(float), 0, None))
        + np.nan_to_num(d["scale_mae"].to_numpy(float)) * 0.5
    )
    return np.maximum(s, 0.5)


def conformal_quantiles(
    bt: pd.DataFrame, levels: Sequence[float] = (0.8, 0.95), by: str = "model"
) -> pd.DataFrame:
    """Lower and upper score quantiles per model and interval level.

    Score = (actual - forecast) / scale, scale from :func:`_score_scale`; the interval is
    [forecast + q_lo * scale, forecast + q_hi * scale], clipped at zero.

    Returns:
        model, level, q_lo, q_hi.
    """
    score = (bt["actual"].to_numpy() - bt["forecast"].to_numpy()) / _score_scale(bt)
    d = pd.DataFrame({by: bt[by].to_numpy(), "score": score})
    rows = []
    for key, g in d.groupby(by, sort=True):
        s = g["score"].to_numpy()
        for lv in levels:
            a = (1 - lv) / 2
            rows.append(
                {
                    by: key,
                    "level": lv,
                    "q_lo": float(np.quantile(s, a, method="lower")),
                    "q_hi": float(np.quantile(s, 1 - a, method="higher")),
                }
            )
    return pd.DataFrame(rows)


def add_intervals(
    fc: pd.DataFrame, q: pd.DataFrame, level: float, by: str = "model"
) -> pd.DataFrame:
    """Add lower/upper columns for ``level`` to a frame with forecast, scale_mae and ``by``.

    A ``by`` value missing from ``q`` gets the lowest q_lo and highest q_hi of ``q``."""
    qq = q[q["level"] == level].set_index(by)
    scale = _score_scale(fc)
    # a group without scores of its own (a model chosen now but in no scored window) takes
    # the widest quantiles of the others rather than a zero-width interval
    lo = fc[by].map(qq["q_lo"]).fillna(qq["q_lo"].min() if len(qq) else 0.0).to_numpy()
    hi = fc[by].map(qq["q_hi"]).fillna(qq["q_hi"].max() if len(qq) else 0.0).to_numpy()
    f = fc["forecast"].to_numpy(float)
    return fc.assign(lower=np.clip(f + lo * scale, 0, None), upper=np.clip(f + hi * scale, 0, None))


def interval_coverage(
    bt: pd.DataFrame, levels: Sequence[float] = (0.8, 0.95), by: str = "model"
) -> pd.DataFrame:
    """Out-of-sample interval coverage: each window's intervals come from the scores of the
    other windows (cross-conformal), so no window grades its own calibration.

    Returns:
        one row per ``by`` value and level: nominal, coverage, mean width (units/day).
    """
    # Scores, scales and group codes once for every row; each window's intervals come from
    # the quantiles of the other windows' scores (as conformal_quantiles computes them) and
    # are averaged per group in the order the windows' rows were concatenated before.
    groups, names = pd.factorize(bt[by], sort=True)
    scale = _score_scale(bt)
    f = bt["forecast"].to_numpy(float)
    actual = bt["actual"].to_numpy(float)
    score = (bt["actual"].to_numpy() - bt["forecast"].to_numpy()) / scale
    window = bt["window"].to_numpy()
    windows = sorted(pd.unique(window))
    rows = []
    for lv in levels:
        a = (1 - lv) / 2
        parts = []
        for w in windows:
            in_w = window == w
            cal = ~in_w if len(windows) > 1 else np.ones(len(bt), dtype=bool)
            q_lo = np.zeros(len(names))
            q_hi = np.zeros(len(names))
            for g in np.unique(groups[cal & (groups >= 0)]):
                sg = score[cal & (groups == g)]
                q_lo[g] = float(np.quantile(sg, a, method="lower"))
                q_hi[g] = float(np.quantile(sg, 1 - a, method="higher"))
            idx = np.flatnonzero(in_w)
            gi = groups[idx]
            known = gi >= 0
            lo = np.clip(f[idx] + np.where(known, q_lo[gi], 0.0) * scale[idx], 0, None)
            hi = np.clip(f[idx] + np.where(known, q_hi[gi], 0.0) * scale[idx], 0, None)
            act = actual[idx]
            hit = (act >= lo - 1e-9) & (act <= hi + 1e-9)
            parts.append(pd.DataFrame({"g": gi, "hit": hit, "width": hi - lo}))
        d = pd.concat(parts, ignore_index=True)
        d = d[d["g"] >= 0]
        res = d.groupby("g").agg(coverage=("hit", "mean"), mean_width=("width", "mean"))
        res.index = pd.Index(names.take(res.index.to_numpy()), name=by)
        rows.append(res.assign(nominal=lv).reset_index())
    return pd.concat(rows, ignore_index=True)


def velocity_edges(fc: pd.DataFrame, n_classes: int = 5) -> np.ndarray:
    """Inner edges of ``n_classes`` velocity classes: quantiles of the mean daily forecast of
    each series (per window when ``fc`` has one), so the classes hold equal numbers of
    series x windows.

    Args:
        fc: channel_id, sku, forecast (units per day) and optionally window.
        n_classes: how many classes (1 = one class, no edges).

    Returns:
        ``n_classes - 1`` increasing edges (units per day); a series whose mean forecast is
        above edge k is in class k + 2 or higher (class 1 = slowest).

    Raises:
        ValueError: ``n_classes`` below 1.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    keys = [*KEYS, "window"] if "window" in fc else KEYS
    level = fc.groupby(keys, sort=False)["forecast"].mean().to_numpy(float)
    if n_classes == 1 or len(level) == 0:
        return np.zeros(0)
    return np.quantile(level, np.arange(1, n_classes) / n_classes)


def velocity_class(fc: pd.DataFrame, edges: np.ndarray) -> pd.Series:
    """Velocity class (1 = slowest) of every row of ``fc``: where the mean daily forecast of
    its series (per window when ``fc`` has one) falls among ``edges``
    (:func:`velocity_edges`)."""
    keys = [*KEYS, "window"] if "window" in fc else KEYS
    level = fc.groupby(keys, sort=False)["forecast"].transform("mean").to_numpy(float)
    return pd.Series(np.searchsorted(edges, level, side="right") + 1, index=fc.index)


def interval_score(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float
) -> np.ndarray:
    """Winkler (interval) score per day: width plus ``2 / (1 - level)`` times how far the
    actual falls outside the bounds (Gneiting & Raftery 2007); lower is better; units/day."""
    a = 2.0 / (1.0 - level)
    actual, lower, upper = (np.asarray(v, float) for v in (actual, lower, upper))
    return (
        (upper - lower)
        + a * np.clip(lower - actual, 0, None)
        + a * np.clip(actual - upper, 0, None)
    )


def velocity_coverage(
    chosen: pd.DataFrame, levels: Sequence[float] = (0.8, 0.95), n_classes: int = 5
) -> pd.DataFrame:
    """Out-of-sample coverage and interval score per velocity class, two ways.

    Each window's intervals come from the other windows' scores (cross-conformal), either
    pooled over every series (``pooled``: one quantile pair per chosen model, as 04 did
    before) or per velocity class (``per_class``: one pair per class of the mean forecast,
    edges from the other windows). Classes for the table are :func:`velocity_class` with
    edges from all windows.

    Args:
        chosen: :func:`chosen_backtest` rows (channel_id, sku, window, actual, forecast,
            scale_mae, chosen_model).

    Returns:
        method, level, velocity_class, coverage (share of days inside), coverage_sale_days
        (days with demand only), winkler (mean interval score, all days), winkler_sale_days,
        days.
    """
    d = chosen.assign(model=chosen["chosen_model"]).reset_index(drop=True)
    d["velocity_class"] = velocity_class(d, velocity_edges(d, n_classes))
    windows = sorted(d["window"].unique())
    rows = []
    for lv in levels:
        for method in ("pooled", "per_class"):
            parts = []
            for w in windows:
                cal = d[d["window"] != w] if len(windows) > 1 else d
                test = d[d["window"] == w]
                if method == "pooled":
                    iv = add_intervals(test, conformal_quantiles(cal, [lv]), lv)
                else:
                    edges = velocity_edges(cal, n_classes)
                    cal = cal.assign(_vc=velocity_class(cal, edges))
                    test = test.assign(_vc=velocity_class(test, edges))
                    iv = add_intervals(test, conformal_quantiles(cal, [lv], by="_vc"), lv, "_vc")
                parts.append(iv)
            iv = pd.concat(parts, ignore_index=True)
            act = iv["actual"].to_numpy(float)
            hit = (act >= iv["lower"].to_numpy() - 1e-9) & (act <= iv["upper"].to_numpy() + 1e-9)
            ws = interval_score(act, iv["lower"], iv["upper"], lv)
            frame = pd.DataFrame(
                {"vc": iv["velocity_class"].to_numpy(), "hit": hit, "ws": ws, "sale": act > 0}
            )
            for vc, g in frame.groupby("vc", sort=True):
                sale = g[g["sale"]]
                rows.append(
                    {
                        "method": method,
                        "level": lv,
                        "velocity_class": int(vc),
                        "coverage": float(g["hit"].mean()),
                        "coverage_sale_days": float(sale["hit"].mean()) if len(sale) else np.nan,
                        "winkler": float(g["ws"].mean()),
                        "winkler_sale_days": float(sale["ws"].mean()) if len(sale) else np.nan,
                        "days": len(g),
                    }
                )
    return pd.DataFrame(rows)


def backtest_intervals(bt_chosen: pd.DataFrame, level: float) -> pd.DataFrame:
    """Cross-conformal intervals on the chosen-model backtest: each window's bounds come
    from the other windows' scores (per chosen model)."""
    windows = sorted(bt_chosen["window"].unique())
    d = bt_chosen.assign(model=bt_chosen["chosen_model"])
    parts = []
    for w in windows:
        cal = d[d["window"] != w] if len(windows) > 1 else d
        parts.append(add_intervals(d[d["window"] == w], conformal_quantiles(cal, [level]), level))
    return pd.concat(parts, ignore_index=True).assign(model="chosen") if parts else d


# --------------------------------------------------------------------------- forecasts


def future_points(
    series: pd.DataFrame,
    choice: pd.DataFrame,
    horizon: int = 28,
    *,
    features: pd.DataFrame | None = None,
    season: int = 7,
    seed: int = 0,
    dates: pd.DatetimeIndex | None = None,
    **model_kw,
) -> pd.DataFrame:
    """Point forecasts of :func:`forecast_future`, without intervals.

    Returns:
        channel_id, sku, date, forecast, scale_mae (in-sample seasonal naive MAE), model.
    """
    keys, dates, y, promo, price = _matrices(series, features, dates)
    pick = keys.merge(choice, on=KEYS, how="left")["model"].fillna("weekday_average").to_numpy()
    out = np.zeros((len(keys), horizon))
    cache: dict = {}

    def fit(name: str, rows: np.ndarray | None, cache: dict | None) -> np.ndarray:
        return forecast_matrix(
            name,
            y if rows is None else y[rows],
            horizon,
            dates=dates,
            promo=promo if rows is None or promo is None else promo[rows],
            price=price if rows is None or price is None else price[rows],
            season=season,
            seed=seed,
            cache=cache,
            **model_kw,
        )

    names = np.unique(pick)
    global_names = [name for name in names if name in GLOBAL_MODELS]
    # gbm (every series, its fits free the GIL) runs in a thread of its own while this one
    # fits the per-series models; each forecast is the one it was alone
    with ThreadPoolExecutor(max_workers=1) as pool:
        gbm_job = pool.submit(fit, "gbm", None, None) if global_names else None
        for name in names:
            if name in GLOBAL_MODELS:
                continue
            # a per-series model forecasts the rows that chose it alone (the same
            # forecasts, without fitting the other series)
            rows = pick == name
            out[rows] = fit(name, rows, None)
        if "combo_gbm" in global_names:
            cache["combo"] = fit("combo", None, cache)
        if gbm_job is not None:
            cache["gbm"] = gbm_job.result()
    release_freed_memory()
    for name in global_names:
        # a global model learns from every series
        rows = pick == name
        out[rows] = fit(name, None, cache)[rows]
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    mae_s, _ = _scale(y, season)
    fc = pd.DataFrame(
        {
            "channel_id": np.repeat(keys["channel_id"].to_numpy(), horizon),
            "sku": np.repeat(keys["sku"].to_numpy(), horizon),
            "date": np.tile(future, len(keys)),
            "forecast": out.reshape(-1),
            "scale_mae": np.repeat(mae_s, horizon),
            "model": np.repeat(pick, horizon),
        }
    )
    return fc


def aggregate_forecasts(
    fc: pd.DataFrame, products: pd.DataFrame | None, level: str
) -> pd.DataFrame:
    """Bottom-up forecast at ``level``: 'channel', 'category', 'sku' or 'total'.

    Sums the SKU x channel forecasts, so every level adds up to the same total. Bounds are
    not additive and are left out.
    """
    d = fc
    if level == "category":
        if products is None or "category" not in products:
            raise KeyError("category level needs products with a category column")
        d = fc.merge(products[["sku", "category"]], on="sku", how="left")
        d["category"] = d["category"].fillna("unknown")
    col = {"channel": ["channel_id"], "category": ["category"], "sku": ["sku"], "total": []}
    if level not in col:
        raise ValueError(f"level must be one of {sorted(col)}")
    return d.groupby(col[level] + ["date"], sort=True)["forecast"].sum().reset_index()


def has_categories(products: pd.DataFrame | None) -> bool:
    """True when ``products`` names a category for at least one SKU."""
    return (
        products is not None and "category" in products and bool(products["category"].notna().any())
    )


def forecast_level_totals(fc: pd.DataFrame, products: pd.DataFrame | None) -> pd.Series:
    """Forecast units over the horizon at every level the data allow.

    Args:
        fc: SKU x channel forecasts (channel_id, sku, date, forecast; units per day).
        products: the product master (sku, category), or None.

    Returns:
        Units over the horizon indexed by level: channel, category (only when ``products``
        names categories, :func:`has_categories`), sku, total. Every level sums the same
        SKU x channel forecasts (:func:`aggregate_forecasts`), so the values are equal.
    """
    levels = ["channel", "category", "sku", "total"]
    if not has_categories(products):
        levels.remove("category")
    totals = {lv: float(aggregate_forecasts(fc, products, lv)["forecast"].sum()) for lv in levels}
    return pd.Series(totals, name="forecast units over the horizon", dtype=float)
