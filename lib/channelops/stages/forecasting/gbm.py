"""The global gradient-boosted model ``gbm``: one LightGBM model over every series.

Direct multi-horizon: the features of a series at a forecast origin (its recent levels,
how lumpy it is, weekday shape, last year, price, promotion, and the weekday and holiday
calendar of each target day; no day of the year, whose values in the horizon the training
origins of a short history never saw) predict
each of the ``horizon`` days after it; the model is trained on earlier origins of the same
history, so it never sees the days it forecasts.

Scale-free target: every series' units are divided by its level (mean units per day over
the 91 days before the origin) and each row is weighted by ``(level / scale)^2``, ``scale``
the series' in-sample seasonal naive RMSE, so the squared-error loss the trees minimise is
the squared scaled error RMSSE averages: fast and slow series weigh alike (the loss is
Huber, squared near the fit and linear far from it, see :data:`GBM_PARAMS`). Series with no
units over those 91 days are forecast 0 (they are not in the training rows).

Bagged: above :data:`BAGS` x :data:`BAG_ROWS` training rows the forecast is the mean of
:data:`BAGS` fits, each on its own seeded subsample of :data:`BAG_ROWS` rows (below it, one
fit on all rows) (benchmarks/results/forecast_real.md: on origins before the
scored ones, three fits of 50,000 rows beat one fit of 150,000 at the same training cost).
LightGBM runs on one thread with fixed seeds and ``deterministic`` set, so the same data
and seed give the same forecasts. The origins' training rows and the bags' fits and
predictions run in :data:`GBM_WORKERS` threads (each fit still on its one LightGBM thread);
the bags' forecasts are added in bag order, so the forecasts are those of one thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import lightgbm as lgb
import numpy as np
import pandas as pd

__all__ = [
    "GBM_PARAMS",
    "gbm_forecast",
    "holiday_features",
    "FEATURE_NAMES",
    "release_freed_memory",
]

try:  # glibc, for malloc_trim (release_freed_memory)
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
except OSError:  # pragma: no cover - no C library by that name
    _LIBC = None

#: LightGBM parameters. Huber loss (LightGBM's default delta) on the scaled target: a
#: wholesale order of many times a series' level pulls a squared-error fit far up for every
#: series like it; Huber counts such days linearly.
GBM_PARAMS: dict = {
    "objective": "huber",
    "learning_rate": 0.07,
    "max_bin": 63,
    "num_leaves": 31,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
ROUNDS = 150
#: Fits averaged (bagging): each on its own seeded subsample of the training rows, with
#: its own LightGBM seed; the forecast is their mean.
BAGS = 3
#: Training rows per fit (a seeded random subset above it).
BAG_ROWS = 50_000
#: Threads of one gbm forecast (a fixed number, not the machine's cores: each piece of
#: work gives the same numbers whatever runs beside it).
GBM_WORKERS = 2
#: Blocks of rows each bag's prediction is split into, so that the threads share it.
PREDICT_CHUNKS = 2
LEVEL_DAYS = 91
#: Days before / after a holiday the distance features count (further is this + 1).
HOLIDAY_REACH = 14

FEATURE_NAMES = [
    "log_level",
    "m7",
    "m28",
    "m364",
    "max182",
    "zero_share28",
    "cv",
    "top_day_share91",
    "age",
    "rel_price",
    "promo_share91",
    "weekday_average",
    "seasonal_naive",
    "weekday_profile",
    "last_year",
    "dow",
    "h",
    "promo",
    "holiday",
    "days_to_holiday",
    "days_since_holiday",
]


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Row means over the non-NaN values (NaN for a row with none)."""
    cnt = np.sum(~np.isnan(a), axis=1)
    return np.where(cnt > 0, np.nansum(a, axis=1) / np.maximum(cnt, 1), np.nan)


def holiday_features(days: pd.DatetimeIndex, holidays: pd.DatetimeIndex | None) -> np.ndarray:
    """Per day of ``days``: holiday (0/1), days to the next holiday and days since the last
    one, each capped at :data:`HOLIDAY_REACH` + 1 (also when there is none).

    Returns:
        (len(days), 3) float array.
    """
    n = len(days)
    far = float(HOLIDAY_REACH + 1)
    if holidays is None or len(holidays) == 0:
        return np.column_stack([np.zeros(n), np.full(n, far), np.full(n, far)])
    d = np.asarray(days.normalize().values.astype("datetime64[D]").astype(np.int64))
    h = np.unique(np.asarray(holidays.normalize().values.astype("datetime64[D]").astype(np.int64)))
    pos = np.searchsorted(h, d)
    nxt = np.where(pos < len(h), h[np.minimum(pos, len(h) - 1)] - d, far)
    before = np.searchsorted(h, d, side="right") - 1
    since = np.where(before >= 0, d - h[np.maximum(before, 0)], far)
    return np.column_stack(
        [(nxt == 0).astype(float), np.minimum(nxt, far), np.minimum(since, far)]
    ).astype(float)


def _target_days(dates: pd.DatetimeIndex, origin: int, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` dates from column ``origin`` on (past the end of ``dates`` too)."""
    first = dates[0] + pd.Timedelta(days=origin)
    return pd.date_range(first, periods=horizon, freq="D")


def _features(
    y: np.ndarray,
    origin: int,
    horizon: int,
    dates: pd.DatetimeIndex,
    promo: np.ndarray | None,
    price: np.ndarray | None,
    holidays: pd.DatetimeIndex | None,
    base: Callable[[str, np.ndarray, int], np.ndarray],
    naive7: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every series at ``origin`` (history ``y[:, :origin]``) for the days
    origin .. origin + horizon - 1, and each series' level.

    ``naive7``: the in-sample seasonal naive (season 7) RMSE of ``y[:, :origin]`` per row
    when the caller has it (:class:`_NaiveScales`); None: computed here.

    Returns:
        (X: (n * horizon, len(FEATURE_NAMES)), rows series-major; level: (n,) units/day).
    """
    n = y.shape[0]
    hist = y[:, :origin]
    level = np.nan_to_num(_nanmean(hist[:, -LEVEL_DAYS:]))
    div = np.where(level > 0, level, 1.0)[:, None]
    m7 = _nanmean(hist[:, -7:])
    m28 = _nanmean(hist[:, -28:])
    m364 = _nanmean(hist[:, -364:])
    recent = hist[:, -182:]
    max182 = np.nanmax(np.where(np.isnan(recent), -np.inf, recent), axis=1)
    max182 = np.where(np.isfinite(max182), max182, np.nan)
    last28 = hist[:, -28:]
    zero28 = np.sum(last28 == 0, axis=1) / np.maximum(np.sum(~np.isnan(last28), axis=1), 1)
    cv = (_naive_scale(hist, 7) if naive7 is None else naive7) / div[:, 0]
    last91 = hist[:, -LEVEL_DAYS:]
    top_day = np.nanmax(np.where(np.isnan(last91), -np.inf, last91), axis=1) if origin else level
    top_share = np.where(level > 0, np.nan_to_num(top_day, neginf=0.0) / div[:, 0], 0.0)
    age = np.minimum(np.sum(~np.isnan(hist), axis=1), 730).astype(float)
    if price is not None and origin > 0:
        p = price[:, :origin]
        last_p = p[:, -1]
        mean_p = _nanmean(p[:, -LEVEL_DAYS:])
        rel_price = np.where(mean_p > 0, last_p / np.where(mean_p > 0, mean_p, 1.0), np.nan)
    else:
        rel_price = np.full(n, np.nan)
    if promo is not None and origin > 0:
        pr_hist = _nanmean(np.where(np.isnan(hist), np.nan, promo[:, :origin])[:, -LEVEL_DAYS:])
        steps = origin + np.arange(horizon)
        inside = steps < promo.shape[1]
        pr = np.where(inside, promo[:, np.minimum(steps, promo.shape[1] - 1)], 0.0)
    else:
        pr_hist = np.zeros(n)
        pr = np.zeros((n, horizon))
    ly_idx = origin - 364 + np.arange(horizon)
    ly = np.where(ly_idx >= 0, y[:, np.clip(ly_idx, 0, max(y.shape[1] - 1, 0))], np.nan)
    days = _target_days(dates, origin, horizon)
    cal = holiday_features(days, holidays)
    per_series = [np.log1p(level), m7 / div[:, 0], m28 / div[:, 0], m364 / div[:, 0]]
    per_series += [max182 / div[:, 0], zero28, cv, top_share, age, rel_price, pr_hist]
    per_day = [
        base("weekday_average", hist, horizon) / div,
        base("seasonal_naive", hist, horizon) / div,
        base("weekday_profile", hist, horizon) / div,
        ly / div,
        np.broadcast_to(np.asarray(days.dayofweek, float), (n, horizon)),
        np.broadcast_to(np.arange(horizon, dtype=float), (n, horizon)),
        pr,
        *(np.broadcast_to(cal[:, k], (n, horizon)) for k in range(3)),
    ]
    cols = [np.repeat(np.asarray(v, float)[:, None], horizon, axis=1) for v in per_series]
    cols += [np.asarray(c, float) for c in per_day]
    x = np.stack([c.reshape(-1) for c in cols], axis=1)
    return x, level


def _naive_scale(hist: np.ndarray, season: int) -> np.ndarray:
    """In-sample seasonal naive RMSE per row (NaN when undefined)."""
    if hist.shape[1] <= season:
        return np.full(len(hist), np.nan)
    d = hist[:, season:] - hist[:, :-season]
    return np.sqrt(_nanmean(d**2))


class _NaiveScales:
    """:func:`_naive_scale` of ``y[:, :origin]`` for many origins of one ``y``, from the
    squared seasonal differences computed once (not once per origin and feature).

    Each origin's value is the same float as :func:`_naive_scale` gives: the squares are
    the same numbers, summed with ``np.sum`` over the same contiguous row slices (``nansum``
    is ``sum`` with NaN set to 0); the counts are integers.
    """

    def __init__(self, y: np.ndarray, season: int) -> None:
        self.season = season
        self.n = len(y)
        if y.shape[1] > season:
            d2 = (y[:, season:] - y[:, :-season]) ** 2
            ok = ~np.isnan(d2)
            self.sq = np.where(ok, d2, 0.0)
            self.count = np.cumsum(ok, axis=1)
        else:
            self.sq = self.count = None

    def at(self, origin: int) -> np.ndarray:
        """In-sample seasonal naive RMSE of ``y[:, :origin]`` per row (NaN when undefined)."""
        k = origin - self.season
        if self.sq is None or k <= 0:
            return np.full(self.n, np.nan)
        cnt = self.count[:, k - 1]
        tot = np.sum(self.sq[:, :k], axis=1)
        return np.sqrt(np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan))


def gbm_forecast(
    y: np.ndarray,
    horizon: int,
    dates: pd.DatetimeIndex,
    base: Callable[[str, np.ndarray, int], np.ndarray],
    *,
    promo: np.ndarray | None = None,
    price: np.ndarray | None = None,
    holidays: pd.DatetimeIndex | None = None,
    n_origins: int = 12,
    origin_step: int = 14,
    seed: int = 0,
    season: int = 7,
    bags: int = BAGS,
    bag_rows: int = BAG_ROWS,
    rows_cache: dict | None = None,
) -> np.ndarray:
    """Forecast every row of ``y`` ``horizon`` days past its end with one LightGBM model.

    Args:
        y: history (series x days, NaN before a series starts); ``dates`` its columns.
        base: ``base(name, history, horizon)`` -> the (series x horizon) forecast of a
            simple model (``weekday_average``, ``seasonal_naive``, ``weekday_profile``),
            used as features.
        promo: promotion flags (series x days) covering the history and, where known, the
            horizon (0 past its end); price: net unit price (series x days of history, NaN
            where unknown); holidays: holiday dates (None: none known).
        n_origins, origin_step: training origins, the latest ``horizon`` days before the
            end, then every ``origin_step`` days earlier.
        seed: LightGBM's seed (bagging, feature sampling) and the row subsamples'; fit b
            uses ``seed + b``.
        bags, bag_rows: with more than ``bags x bag_rows`` training rows, the mean of
            ``bags`` fits, each on its own random subsample of ``bag_rows`` rows; with fewer,
            one fit on all of them.
        rows_cache: training rows per (origin, horizon, season), filled and reused across
            calls on histories that agree up to each origin's last target day: a rolling
            backtest's windows (:func:`.models.backtest` passes one dict for all of its
            windows, whose training origins overlap). Entries of origins this call does not
            use are dropped. None: no reuse. The forecasts are the same either way.

    Returns:
        (n_series, horizon) non-negative units per day; the series' moving average when
        there are too few training rows (under 200).
    """
    n, t = y.shape
    scales = _NaiveScales(y, season)
    sevens = scales if season == 7 else _NaiveScales(y, 7)
    origins = [t - horizon - k * origin_step for k in range(n_origins)]
    origins = origins[: next((i for i, o in enumerate(origins) if o < 28), len(origins))]
    if rows_cache is not None:
        # an origin this fit does not use is used by no later window either (they move on)
        for key in [key for key in rows_cache if key[0] not in origins]:
            del rows_cache[key]
    # Work in GBM_WORKERS threads: the origins' training rows (numpy on whole matrices),
    # then the bags' fits and predictions (LightGBM on one thread each; both free the GIL
    # for most of their time). Every piece is computed as it was one after the other.
    with ThreadPoolExecutor(max_workers=GBM_WORKERS) as pool:
        new_rows = pool.submit(
            _forecast_rows, y, t, horizon, dates, promo, price, holidays, base, sevens.at(t)
        )
        todo = [o for o in origins if rows_cache is None or (o, horizon, season) not in rows_cache]

        def build(o: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return _training_rows(
                y, o, horizon, dates, promo, price, holidays, base, scales, sevens
            )

        built = dict(zip(todo, pool.map(build, todo), strict=True))
        if rows_cache is not None:
            rows_cache.update({(o, horizon, season): built[o] for o in todo})
            built = {o: rows_cache[(o, horizon, season)] for o in origins}
        pieces = [built[o] for o in origins]
        del built
        out = _fit_bags(pieces, *new_rows.result(), horizon, seed, bags, bag_rows, pool)
    del pieces, new_rows
    release_freed_memory()
    return out


def release_freed_memory() -> None:
    """Return the memory freed in threads' malloc arenas to the system (glibc's
    ``malloc_trim``; nothing elsewhere).

    Each thread allocates from its own arena, and what it frees there stays in the process
    for that arena's later allocations; a thread that is done with its work leaves it to no
    one, so the main thread's next large frames would take new memory beside it.
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _forecast_rows(y: np.ndarray, t: int, horizon: int, *args) -> tuple[np.ndarray, np.ndarray]:
    """The features of the forecast's live rows (series with a level: the others are
    forecast 0 whatever the trees say) and every series' level (:func:`_features` at ``t``)."""
    x_new, level_new = _features(y, t, horizon, *args)
    return x_new[np.repeat(level_new > 0, horizon)], level_new


def _fit_bags(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    x_new: np.ndarray,
    level_new: np.ndarray,
    horizon: int,
    seed: int,
    bags: int,
    bag_rows: int,
    pool: ThreadPoolExecutor,
) -> np.ndarray:
    """:func:`gbm_forecast` from its training rows ``pieces`` (features, target, weight of
    each origin, in origin order), the features ``x_new`` of the forecast's live rows and
    every series' level (:func:`_forecast_rows`)."""
    n = len(level_new)
    if not pieces or sum(len(p[1]) for p in pieces) < 200:
        return np.repeat(level_new[:, None], horizon, axis=1)
    if bags < 1 or bag_rows < 1:
        raise ValueError(f"bags and bag_rows must be at least 1, got {bags} and {bag_rows}")
    y_all = np.concatenate([p[1] for p in pieces])
    w_all = np.concatenate([p[2] for p in pieces])
    # bagging pays for the variance of subsampling: up to bags x bag_rows rows, one fit on
    # all of them
    subsample = len(y_all) > bags * bag_rows
    fits = bags if subsample else 1
    # first row of each origin's piece in the rows of all origins (their concatenation,
    # which a subsampled fit never needs whole: it takes its rows from the pieces)
    starts = np.cumsum([0] + [len(p[1]) for p in pieces])

    def features_of(pick: np.ndarray) -> np.ndarray:
        """Rows ``pick`` (sorted) of the concatenated training features."""
        lo, hi = np.searchsorted(pick, starts[:-1]), np.searchsorted(pick, starts[1:])
        parts = [
            p[0][pick[a:b] - s] for p, a, b, s in zip(pieces, lo, hi, starts[:-1], strict=True)
        ]
        return np.concatenate(parts)

    # a series with no units over the level days is forecast 0 whatever the trees say
    live = np.repeat(level_new > 0, horizon)

    def train(b: int) -> lgb.Booster:
        """Bag ``b``'s booster (its own rows and seed)."""
        if subsample:
            pick = np.sort(
                np.random.default_rng(seed + b).choice(len(y_all), bag_rows, replace=False)
            )
            x_train, y_train, w_train = features_of(pick), y_all[pick], w_all[pick]
        else:
            x_train, y_train, w_train = np.concatenate([p[0] for p in pieces]), y_all, w_all
        # a few series with a tiny scale must not decide the fit alone
        w_train = np.minimum(w_train, np.quantile(w_train, 0.99))
        data = lgb.Dataset(
            x_train, y_train, weight=w_train, feature_name=FEATURE_NAMES, free_raw_data=True
        )
        return lgb.train({**GBM_PARAMS, "seed": seed + b}, data, num_boost_round=ROUNDS)

    # each bag's prediction in PREDICT_CHUNKS blocks of rows (a row's prediction does not
    # depend on the others), so that the threads share it evenly
    edges = np.linspace(0, len(x_new), PREDICT_CHUNKS + 1).astype(int) if len(x_new) else [0]

    def predict(booster: Future, a: int, b: int) -> np.ndarray:
        return np.clip(booster.result().predict(x_new[a:b], num_threads=1), 0.0, None)

    boosters = [pool.submit(train, b) for b in range(fits)]
    # queued after every fit: a prediction waits only for a fit that is running or done
    parts = [
        [pool.submit(predict, bst, a, b) for a, b in itertools.pairwise(edges)] for bst in boosters
    ]
    # the bags' forecasts added in bag order: the same floats as one bag after the other
    pred = np.zeros(len(x_new))
    for bag in parts:
        if bag:
            pred += np.concatenate([p.result() for p in bag])
    out = np.zeros(n * horizon)
    out[live] = pred / fits
    return out.reshape(n, horizon) * level_new[:, None]


def _training_rows(
    y: np.ndarray,
    o: int,
    horizon: int,
    dates: pd.DatetimeIndex,
    promo: np.ndarray | None,
    price: np.ndarray | None,
    holidays: pd.DatetimeIndex | None,
    base: Callable[[str, np.ndarray, int], np.ndarray],
    scales: _NaiveScales,
    sevens: _NaiveScales,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training rows of origin ``o``: features, scaled target and weight of every
    (series, day) of ``o .. o + horizon - 1`` with a level, a target and a positive weight.

    They depend only on ``y[:, :o + horizon]``, the promotions up to the same day and the
    prices before ``o``, so backtest windows whose histories reach past ``o + horizon``
    share them (``rows_cache`` of :func:`gbm_forecast`).
    """
    x, level = _features(y, o, horizon, dates, promo, price, holidays, base, sevens.at(o))
    scale = scales.at(o)
    target = y[:, o : o + horizon] / np.where(level > 0, level, 1.0)[:, None]
    weight = np.repeat((level / np.where(scale > 0, scale, np.nan)) ** 2, horizon)
    keep = np.repeat(level > 0, horizon) & ~np.isnan(target.reshape(-1)) & (weight > 0)
    return x[keep], target.reshape(-1)[keep], weight[keep]
