"""Next-period purchase days and spend per customer by gradient boosting, trained on the past.

The model learns, from earlier windows of the same history, how a customer's record as of a
day ``t`` relates to what they did in the ``h`` weeks after it: features as of ``t - h``,
target in ``(t - h, t]``, and (``n_origins`` > 1) the same again for origins shifted back by
``step_weeks``. Applied at the cut-off it forecasts the next ``h`` weeks. The features are
rates and capped times, not raw counts, so that a model trained on a shorter history still
reads a longer one: repeat purchase days per week over the whole history and over the last
4, 8 and 13 weeks, weeks since the first and the last purchase (capped at 52), log spend per
purchase day, the share of purchase days in each channel and the calendar month the forecast
window starts in.

A scikit-learn ``HistGradientBoostingRegressor`` (seeded; one OpenMP thread) fits the
purchase days with the absolute error (its forecast is a median, the best point forecast for
the mean absolute error) and the spend with the Poisson deviance (a mean, so totals add up).
The two fits are independent and run side by side in two Python threads (scikit-learn's
tree building releases the GIL), each in one OpenMP thread: the same models as one after
the other, on two cores. :func:`prepare_fit` and :func:`submit_fit_and_forecast` make the
fit and the forecast tasks of a caller's two workers (:mod:`.workers`), so the holdout
check and the lifetime values run their other fits beside them. Spend is in the unit of
the order values; times are in weeks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from channelops.frames import require_columns

from .workers import Workers, two_workers

__all__ = [
    "NEXT_PERIOD",
    "NextPeriodModel",
    "purchase_day_features",
    "window_targets",
    "fit_next_period",
    "next_period_forecast",
    "fit_and_forecast",
    "prepare_fit",
    "submit_fit_and_forecast",
]

#: Name of the gradient-boosted forecast in the score tables.
NEXT_PERIOD = "gradient boosting"
_CAP_WEEKS = 52.0


@dataclass(frozen=True)
class _PurchaseDays:
    """Purchase days of every customer, on integer customer codes.

    ``frame`` has one row per customer x day, sorted by customer then day: ``code`` (the
    customer's position in ``ids``), ``day``, ``revenue`` (the day's order values summed, in
    order) and ``channel`` (the day's first order's channel). ``ids`` holds the customer ids
    sorted, so grouping on ``code`` gives the groups, and their order, that grouping on the
    ids gives, without hashing a string per row for every group-by.
    """

    frame: pd.DataFrame
    ids: pd.Index

    def up_to(self, day: pd.Timestamp) -> pd.DataFrame:
        """Rows on or before ``day``."""
        return self.frame[self.frame["day"] <= day]


def _purchase_days(orders: pd.DataFrame, channel_col: str | None) -> _PurchaseDays:
    require_columns(orders, ["customer_id", "order_ts", "revenue"], "orders")
    codes, ids = pd.factorize(orders["customer_id"], sort=True)
    frame = pd.DataFrame(
        {
            "code": codes,
            "day": pd.to_datetime(orders["order_ts"]).dt.normalize().to_numpy(),
            "revenue": orders["revenue"].to_numpy(dtype=float),
            "channel": orders[channel_col].to_numpy() if channel_col else "all",
        }
    )
    frame = frame[codes >= 0]  # a missing customer id is no customer (groupby drops it too)
    days = frame.groupby(["code", "day"], as_index=False, sort=True).agg(
        revenue=("revenue", "sum"), channel=("channel", "first")
    )
    return _PurchaseDays(days, pd.Index(ids, name="customer_id"))


def purchase_day_features(
    orders: pd.DataFrame,
    as_of: str | pd.Timestamp,
    channels: list[str] | None = None,
    channel_col: str | None = "channel_id",
) -> pd.DataFrame:
    """Features of every customer with a purchase on or before ``as_of``, as of that day.

    Args:
        orders: one row per order: customer_id, order_ts, revenue (money) and
            ``channel_col`` (None: one channel).
        as_of: the last day (inclusive) the features see.
        channels: the channels to give a share column (default: those in ``orders``).
        channel_col: the channel column.

    Returns:
        Indexed by customer_id: ``rate`` (repeat purchase days per week since the first
        purchase; 0 when first seen on ``as_of``), ``rate_4w``, ``rate_8w``, ``rate_13w``
        (purchase days per week in the last 4, 8, 13 weeks, over the part of the window the
        customer was known), ``tenure_weeks`` and ``recency_weeks`` (since the first and the
        last purchase, capped at 52), ``log_spend_per_day`` (log1p of the spend per purchase
        day, negative spend as 0), ``share_<channel>`` and ``month`` (1..12, the month of
        the day after ``as_of``).
    """
    return _day_features(_purchase_days(orders, channel_col), as_of, channels)


def _day_features(
    purchases: _PurchaseDays, as_of: str | pd.Timestamp, channels: list[str] | None
) -> pd.DataFrame:
    """:func:`purchase_day_features` from purchase days computed once."""
    t = pd.Timestamp(as_of).normalize()
    days = purchases.up_to(t)
    g = days.groupby("code", sort=True)
    n_days = g.size()
    tenure = (t - g["day"].min()).dt.days / 7.0
    recency = (t - g["day"].max()).dt.days / 7.0
    f = pd.DataFrame(index=n_days.index)
    freq = (n_days - 1).to_numpy(float)
    ten = tenure.to_numpy(float)
    f["rate"] = np.divide(freq, ten, out=np.zeros_like(freq), where=ten > 0)
    for weeks in (4, 8, 13):
        recent = days[days["day"] > t - pd.Timedelta(weeks=weeks)].groupby("code").size()
        known = np.clip(ten, 1.0, weeks)
        f[f"rate_{weeks}w"] = recent.reindex(f.index, fill_value=0).to_numpy(float) / known
    f["tenure_weeks"] = np.minimum(ten, _CAP_WEEKS)
    f["recency_weeks"] = np.minimum(recency.to_numpy(float), _CAP_WEEKS)
    spend = g["revenue"].sum().to_numpy(float)
    f["log_spend_per_day"] = np.log1p(np.clip(spend / n_days.to_numpy(float), 0, None))
    names = sorted(days["channel"].unique()) if channels is None else list(channels)
    # counts per customer x channel over row totals (what crosstab(normalize="index") gives,
    # without its per-group Python aggregation)
    counts = days.groupby(["code", "channel"], sort=True, observed=True).size()
    share = counts.unstack("channel", fill_value=0)
    share = share.div(share.sum(axis=1), axis=0)
    for name in names:
        col = share[name] if name in share else pd.Series(0.0, index=share.index)
        f[f"share_{name}"] = col.reindex(f.index, fill_value=0.0).to_numpy(float)
    f["month"] = (t + pd.Timedelta(days=1)).month
    f.index = purchases.ids.take(f.index.to_numpy())
    return f


def window_targets(
    orders: pd.DataFrame, start: str | pd.Timestamp, weeks: float, index: pd.Index
) -> pd.DataFrame:
    """Purchase days and spend of each customer in ``index`` in (start, start + weeks].

    Returns:
        Indexed like ``index``: ``purchase_days`` (count) and ``spend`` (money, the window's
        order values summed; 0 for a customer who did not buy).
    """
    return _window_targets(_purchase_days(orders, None), start, weeks, index)


def _window_targets(
    purchases: _PurchaseDays, start: str | pd.Timestamp, weeks: float, index: pd.Index
) -> pd.DataFrame:
    """:func:`window_targets` from purchase days computed once."""
    t = pd.Timestamp(start).normalize()
    days = purchases.frame
    inside = days[(days["day"] > t) & (days["day"] <= t + pd.Timedelta(days=round(7 * weeks)))]
    g = inside.groupby("code")
    count, spend = g.size(), g["revenue"].sum()
    count.index = spend.index = purchases.ids.take(count.index.to_numpy())
    return pd.DataFrame(
        {
            "purchase_days": count.reindex(index, fill_value=0).astype(float),
            "spend": spend.reindex(index, fill_value=0.0).astype(float),
        },
        index=index,
    )


@dataclass
class NextPeriodModel:
    """Two fitted regressors (purchase days, spend) and what they were trained on.

    Attributes:
        purchase_days, spend: the fitted ``HistGradientBoostingRegressor`` models.
        features: the feature columns, in order.
        channels: the channels with a share column.
        horizon_weeks: the forecast window (weeks).
        origins: the training origins (feature days).
        n_rows: training rows (customer x origin).
    """

    purchase_days: HistGradientBoostingRegressor
    spend: HistGradientBoostingRegressor
    features: list[str]
    channels: list[str]
    horizon_weeks: float
    origins: list[pd.Timestamp]
    n_rows: int


def _regressor(loss: str, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss=loss,
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        random_state=seed,
        early_stopping=False,
    )


def fit_next_period(
    orders: pd.DataFrame,
    cut_off: str | pd.Timestamp,
    horizon_weeks: float = 13,
    seed: int = 0,
    n_origins: int = 3,
    step_weeks: float = 4,
    min_customers: int = 50,
) -> NextPeriodModel:
    """Train the purchase-day and spend models on windows that end on or before the cut-off.

    Args:
        orders: as for :func:`purchase_day_features`; only orders up to ``cut_off`` are read.
        cut_off: last day (inclusive) of known history.
        horizon_weeks: the forecast window (weeks).
        seed: the regressors' seed.
        n_origins: training origins, the latest ``cut_off - horizon``, each earlier one
            ``step_weeks`` before the previous; origins with fewer than ``min_customers``
            known customers are left out.
        step_weeks: spacing of the origins (weeks).
        min_customers: fewest known customers an origin needs.

    Returns:
        The fitted :class:`NextPeriodModel`.

    Raises:
        ValueError: no origin has ``min_customers`` customers (the history is shorter than
            one horizon before the cut-off, or too few customers), or bad arguments.
    """
    _check_window(horizon_weeks, n_origins, step_weeks)
    return _fit(
        _known_purchases(orders, cut_off),
        cut_off,
        horizon_weeks,
        seed,
        n_origins,
        step_weeks,
        min_customers,
    )


def _check_window(horizon_weeks: float, n_origins: int, step_weeks: float) -> None:
    if horizon_weeks <= 0 or n_origins < 1 or step_weeks <= 0:
        raise ValueError("horizon_weeks and step_weeks must be positive and n_origins >= 1")


@dataclass(frozen=True)
class _Known:
    """The purchase days of the orders up to a cut-off (inclusive), and their channels."""

    purchases: _PurchaseDays
    channels: list[str]


def _known_purchases(orders: pd.DataFrame, cut_off: str | pd.Timestamp) -> _Known:
    """Purchase days of the orders up to ``cut_off``: what the fit and the forecast at that
    cut-off both read, computed once."""
    cut = pd.Timestamp(cut_off).normalize()
    seen = orders[pd.to_datetime(orders["order_ts"]) < cut + pd.Timedelta(days=1)]
    col = "channel_id" if "channel_id" in seen else None
    channels = sorted(seen["channel_id"].unique()) if col else ["all"]
    return _Known(_purchase_days(seen, col), channels)


def _fit(
    known: _Known,
    cut_off: str | pd.Timestamp,
    horizon_weeks: float,
    seed: int,
    n_origins: int = 3,
    step_weeks: float = 4,
    min_customers: int = 50,
) -> NextPeriodModel:
    """:func:`fit_next_period` on purchase days computed once."""
    x, y, used = _training_set(known, cut_off, horizon_weeks, n_origins, step_weeks, min_customers)
    days_model, spend_model = _fit_side_by_side(x, _targets(y), seed)
    return NextPeriodModel(
        days_model, spend_model, list(x.columns), known.channels, horizon_weeks, used, len(x)
    )


def _training_set(
    known: _Known,
    cut_off: str | pd.Timestamp,
    horizon_weeks: float,
    n_origins: int = 3,
    step_weeks: float = 4,
    min_customers: int = 50,
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.Timestamp]]:
    """Features (one float block) and targets of every training origin, and the origins.

    Raises:
        ValueError: no origin has ``min_customers`` customers.
    """
    cut = pd.Timestamp(cut_off).normalize()
    purchases, channels = known.purchases, known.channels
    xs, ys, used = [], [], []
    for k in range(n_origins):
        origin = cut - pd.Timedelta(days=round(7 * (horizon_weeks + k * step_weeks)))
        x = _day_features(purchases, origin, channels)
        if len(x) < min_customers:
            continue
        xs.append(x)
        ys.append(_window_targets(purchases, origin, horizon_weeks, x.index))
        used.append(origin)
    if not xs:
        raise ValueError(
            f"no training window: fewer than {min_customers} customers had bought "
            f"{horizon_weeks:g} weeks before the cut-off {cut.date()}"
        )
    return _one_block(pd.concat(xs)), pd.concat(ys), used


def _targets(y: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """(loss, target) of the purchase-day and the spend regressor, in that order."""
    return [("absolute_error", y["purchase_days"]), ("poisson", y["spend"].clip(lower=0))]


def _one_block(x: pd.DataFrame) -> pd.DataFrame:
    """``x`` as one float64 block, which scikit-learn reads without a copy of its own: two
    models fitted or applied at once on it then share the one array, not a copy each."""
    return pd.DataFrame(x.to_numpy(dtype=float), index=x.index, columns=x.columns)


def _predict_one(model: HistGradientBoostingRegressor, x: pd.DataFrame) -> np.ndarray:
    """``model``'s predictions for ``x`` in one OpenMP thread (the calling thread's own)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.predict(x)


def _fit_one(loss: str, seed: int, x: pd.DataFrame, y: pd.Series) -> HistGradientBoostingRegressor:
    """One regressor fitted in one OpenMP thread (the calling thread's own setting)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return _regressor(loss, seed).fit(x, y)


def _fit_side_by_side(
    x: pd.DataFrame, targets: list[tuple[str, pd.Series]], seed: int
) -> list[HistGradientBoostingRegressor]:
    """One regressor per (loss, target) on ``x``, fitted in two Python threads at once.

    Each fit runs in one OpenMP thread, so each model is exactly the one a fit alone in one
    thread gives (threaded OpenMP would give the same models too, but on a loaded machine
    its barriers made fits many times slower; two single-threaded fits side by side do not
    wait on each other). Always two workers, whatever the machine's core count. BLAS is
    held to one thread for the duration (a process-wide setting, so set here, not in the
    workers).
    """
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_fit_one, loss, seed, x, y) for loss, y in targets]
        return [f.result() for f in futures]


def next_period_forecast(
    model: NextPeriodModel | None,
    orders: pd.DataFrame,
    cut_off: str | pd.Timestamp,
    why_not: str = "",
) -> pd.DataFrame:
    """Forecast for every customer with a purchase on or before the cut-off.

    Args:
        model: from :func:`fit_next_period`, or None when it could not be trained.
        orders: as for :func:`purchase_day_features`.
        cut_off: last day (inclusive) of known history.
        why_not: the reason shown for every customer when ``model`` is None.

    Returns:
        Indexed by customer_id (every known customer): ``purchase_days`` (forecast purchase
        days in the model's horizon), ``spend`` (forecast spend, money) and ``reason``
        (empty when scored, else why not; the forecasts are then NaN).
    """
    return _forecast(model, _known_purchases(orders, cut_off), cut_off, why_not)


def fit_and_forecast(
    orders: pd.DataFrame,
    cut_off: str | pd.Timestamp,
    horizon_weeks: float = 13,
    seed: int = 0,
) -> tuple[NextPeriodModel | None, pd.DataFrame]:
    """:func:`fit_next_period` and then :func:`next_period_forecast` at the same cut-off,
    with the purchase days of the orders up to it computed once for both.

    Returns:
        (the model, or None when it could not be trained; the forecast, whose ``reason``
        then says why, as :func:`next_period_forecast` with ``why_not`` the error's text).
    """
    with two_workers() as pool:
        prepared = pool.submit(prepare_fit, orders, cut_off, horizon_weeks)
        return submit_fit_and_forecast(pool, prepared, seed)()


@dataclass(frozen=True)
class _Prepared:
    """What the fit and the forecast at one cut-off read, built once.

    ``now``: the features at the cut-off of every known customer (one float block);
    ``x``, ``y``, ``origins``: the training set (None and ``why_not`` when there is none).
    """

    cut_off: pd.Timestamp
    horizon_weeks: float
    channels: list[str]
    now: pd.DataFrame
    x: pd.DataFrame | None
    y: pd.DataFrame | None
    origins: list[pd.Timestamp]
    why_not: str = ""


def prepare_fit(
    orders: pd.DataFrame, cut_off: str | pd.Timestamp, horizon_weeks: float
) -> _Prepared:
    """What :func:`submit_fit_and_forecast` reads: the purchase days up to the cut-off, the
    training set (or why there is none) and the features at the cut-off."""
    cut = pd.Timestamp(cut_off).normalize()
    known = _known_purchases(orders, cut)
    now = _one_block(_day_features(known.purchases, cut, known.channels))
    try:
        _check_window(horizon_weeks, 3, 4)
        x, y, used = _training_set(known, cut, horizon_weeks)
    except ValueError as err:
        return _Prepared(cut, horizon_weeks, known.channels, now, None, None, [], str(err))
    return _Prepared(cut, horizon_weeks, known.channels, now, x, y, used)


def submit_fit_and_forecast(
    pool: Workers, prepared: Future[_Prepared], seed: int = 0
) -> Callable[[], tuple[NextPeriodModel | None, pd.DataFrame]]:
    """:func:`fit_and_forecast` as tasks on ``pool``: call the result to collect it.

    ``prepared`` is a task of ``pool`` running :func:`prepare_fit` (the caller may submit
    tasks of its own between the two, for the other worker while the first prepares). Four
    tasks follow it, in this order: the spend and the purchase-day regressor (the spend fit
    first: it is the longer one), then each model's forecast. Each task computes what it
    computes alone in one thread, so the models and forecasts are those of
    :func:`fit_next_period` and :func:`next_period_forecast`.
    """
    spend = pool.submit(_fit_prepared, prepared, 1, seed)
    days = pool.submit(_fit_prepared, prepared, 0, seed)
    forecasts = [pool.submit(_predict_prepared, prepared, fit) for fit in (days, spend)]

    def result() -> tuple[NextPeriodModel | None, pd.DataFrame]:
        prep = prepared.result()
        out = pd.DataFrame(index=prep.now.index)
        if prep.x is None:
            out["purchase_days"] = np.nan
            out["spend"] = np.nan
            out["reason"] = prep.why_not or "no model"
            return None, out
        model = NextPeriodModel(
            days.result(),
            spend.result(),
            list(prep.x.columns),
            prep.channels,
            prep.horizon_weeks,
            prep.origins,
            len(prep.x),
        )
        out["purchase_days"] = np.clip(forecasts[0].result(), 0, None)
        out["spend"] = np.clip(forecasts[1].result(), 0, None)
        out["reason"] = ""
        return model, out

    return result


def _fit_prepared(
    prepared: Future[_Prepared], which: int, seed: int
) -> HistGradientBoostingRegressor | None:
    """Regressor ``which`` of :func:`_targets` on the prepared training set (None: none)."""
    prep = prepared.result()
    if prep.x is None:
        return None
    loss, y = _targets(prep.y)[which]
    return _regressor(loss, seed).fit(prep.x, y)


def _predict_prepared(
    prepared: Future[_Prepared], fitted: Future[HistGradientBoostingRegressor | None]
) -> np.ndarray | None:
    """The fitted regressor's predictions at the cut-off (None: no model)."""
    prep, model = prepared.result(), fitted.result()
    if model is None:
        return None
    return model.predict(prep.now[list(prep.x.columns)])


def _forecast(
    model: NextPeriodModel | None,
    known: _Known,
    cut_off: str | pd.Timestamp,
    why_not: str = "",
) -> pd.DataFrame:
    """:func:`next_period_forecast` on purchase days computed once."""
    cut = pd.Timestamp(cut_off).normalize()
    channels = None if model is None else model.channels
    x = _day_features(known.purchases, cut, channels)
    out = pd.DataFrame(index=x.index)
    if model is None:
        out["purchase_days"] = np.nan
        out["spend"] = np.nan
        out["reason"] = why_not or "no model"
        return out
    x = _one_block(x[model.features])
    regressors = [model.purchase_days, model.spend]
    # the two models' forecasts side by side, each in one OpenMP thread (per-row sums over
    # the trees: the same numbers as one after the other)
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=2) as pool:
        days, spend = pool.map(lambda m: _predict_one(m, x), regressors)
    out["purchase_days"] = np.clip(days, 0, None)
    out["spend"] = np.clip(spend, 0, None)
    out["reason"] = ""
    return out
