"""Out-of-sample check of the response model: refit without the latest weeks, predict them.

The curves are refitted on every week but the last ``holdout_weeks`` (same model, same
seed), then each fitted channel's weekly revenue is predicted over the whole history from
the spend that actually ran:

    predicted_t = level + trend * t + revenue_max * hill(adstock(spend)_t)

the curve's media response to the week's spend (carry-over from the weeks before, the
first weeks' carry-over taken as steady) on a base level with a linear trend, both
estimated by least squares on the fitted weeks only (their revenue less the curve's media),
so the held-out weeks' base is extrapolated, never read from them. The season and the
shared demand of the fit are not in the prediction (they are not known for weeks the model
has not seen), so both errors below include the season those terms absorb.

Per channel it reports the error on the held-out weeks beside the error of the same
prediction on the weeks the refit saw, and how many held-out weeks fall inside the
bootstrap band of the refit (each draw's base + media path; the band is the uncertainty of
the mean curve, not a prediction interval for one week). Money is in base currency per
week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.response import adstock, hill

from .curves import ResponseCurve, _require, fit_response_curves
from .joint import CROSS_CHANNEL_SD, JOINT_BASE, RESPONSE_MODELS, _grid, fit_joint_response

__all__ = [
    "HOLDOUT_COLUMNS",
    "HOLDOUT_WEEKS",
    "curve_paths",
    "empty_response_holdout",
    "holdout_check",
    "holdout_errors",
    "holdout_sentence",
    "with_trend_base",
]

#: Default held-out weeks: a quarter, the horizon the plan is compared over (the current
#: allocation is the mean of the latest 13 weeks); a two-year history keeps 91 weeks to fit.
HOLDOUT_WEEKS = 13
#: Columns of the ``response_holdout`` table, one row per channel.
HOLDOUT_COLUMNS = (
    "channel_id",
    "source",
    "train_weeks",
    "holdout_weeks",
    "first_holdout_week",
    "actual_revenue",
    "predicted_revenue",
    "bias",
    "holdout_mape",
    "insample_mape",
    "band_coverage",
    "band_level",
)


def empty_response_holdout() -> pd.DataFrame:
    """``response_holdout`` with no rows (no spend history, or the check switched off)."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in HOLDOUT_COLUMNS})


def _dtype(column: str) -> str:
    if column in ("channel_id", "source"):
        return "object"
    if column == "first_holdout_week":
        return "datetime64[ns]"
    return "int64" if column.endswith("_weeks") else "float64"


def curve_paths(curve: ResponseCurve, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekly media revenue of a curve over a spend series: the point curve and every draw.

    Args:
        curve: the response curve (parameters and draws, base currency).
        spend: weekly spend in time order (base currency per week; negatives as 0). The
            carry-over into the first week is taken as steady at the mean spend of the first
            four weeks.

    Returns:
        (point path of shape (n_weeks,), draw paths of shape (n_draws, n_weeks); the point
        path alone when the curve has no draws): ``revenue_max * hill(adstock)`` per week,
        without the base.
    """
    s = np.maximum(np.asarray(spend, dtype=float), 0.0)
    start = float(np.mean(s[:4])) if len(s) else 0.0

    def path(p: np.ndarray) -> np.ndarray:
        _, rmax, decay, half, slope = (float(v) for v in p)
        a = adstock(s, decay, decay * start / (1.0 - decay))
        return rmax * hill(a, half, slope)

    point = path(curve.params)
    draws = np.array([path(p) for p in curve.draws]) if len(curve.draws) else point[None, :]
    return point, draws


def with_trend_base(media: np.ndarray, revenue: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """``media`` plus a base level and linear trend fitted on the ``fitted`` weeks.

    Args:
        media: media revenue per week, shape (n_weeks,) or (n_draws, n_weeks).
        revenue: actual weekly revenue (NaN where unknown), shape (n_weeks,).
        fitted: bool per week, the weeks the base may be estimated from.

    Returns:
        The predicted weekly revenue, the shape of ``media``; each row's level and trend
        are least squares of (revenue - media) on (1, week number) over the fitted weeks
        with revenue (a level only when fewer than 3 such weeks).
    """
    m = np.atleast_2d(media)
    t = np.arange(m.shape[1], dtype=float)
    ok = fitted & np.isfinite(revenue)
    X = np.column_stack([np.ones(ok.sum()), t[ok]]) if ok.sum() >= 3 else np.ones((ok.sum(), 1))
    coef, *_ = np.linalg.lstsq(X, (revenue[ok][None, :] - m[:, ok]).T, rcond=None)
    full = np.column_stack([np.ones(len(t)), t])[:, : X.shape[1]]
    out = m + (full @ coef).T
    return out if np.ndim(media) == 2 else out[0]


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    ok = np.isfinite(actual) & (actual > 0)
    return float(np.mean(np.abs(predicted[ok] - actual[ok]) / actual[ok])) if ok.any() else np.nan


def holdout_errors(
    curves: pd.DataFrame | dict[str, ResponseCurve],
    spend: pd.DataFrame,
    revenue: pd.DataFrame,
    first_holdout_week: pd.Timestamp | str,
    level: float = 0.9,
) -> pd.DataFrame:
    """Errors of curves fitted before ``first_holdout_week`` on the weeks from it on.

    Args:
        curves: the refit's response-curve table (with ``curve``) or ``{channel_id: curve}``;
            only curves with source 'fitted' (or 'truth', for a scoring reference) are
            checked.
        spend: week_start, channel_id, spend (base currency per week), all weeks.
        revenue: week_start, channel_id, revenue (base currency per week), all weeks.
        first_holdout_week: the first week the curves did not see.
        level: central coverage of the band (0.9: 5% to 95% of the draws).

    Returns:
        One row per checked channel, :data:`HOLDOUT_COLUMNS`: train_weeks and
        holdout_weeks (weeks with revenue), actual_revenue and predicted_revenue (sums over
        the held-out weeks), bias (predicted / actual - 1), holdout_mape and insample_mape
        (mean absolute error over revenue, held-out weeks and fitted weeks, weeks with
        revenue > 0), band_coverage (share of held-out weeks inside the band).

    Raises:
        ValueError: a table lacks a column, or level is not in (0, 1).
    """
    _require(spend, ["week_start", "channel_id", "spend"], "spend")
    _require(revenue, ["week_start", "channel_id", "revenue"], "revenue")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if isinstance(curves, pd.DataFrame):
        _require(curves, ["channel_id", "curve"], "curves")
        curves = dict(zip(curves["channel_id"].astype(str), curves["curve"], strict=True))
    checked = {
        c: cv for c, cv in curves.items() if cv is not None and cv.source in ("fitted", "truth")
    }
    if not checked:
        return empty_response_holdout()
    cut = pd.Timestamp(first_holdout_week)
    weeks, S, R = _grid(spend, revenue, list(checked))
    held = np.asarray(weeks >= cut)
    q = (1.0 - level) / 2.0
    rows = []
    for cid, cv in checked.items():
        media, media_draws = curve_paths(cv, S[cid].to_numpy(float))
        y = R[cid].to_numpy(float)
        seen = np.isfinite(y)
        point = with_trend_base(media, y, ~held)
        draws = with_trend_base(media_draws, y, ~held)
        lo, hi = np.quantile(draws, q, axis=0), np.quantile(draws, 1.0 - q, axis=0)
        h = held & seen
        actual, predicted = float(y[h].sum()), float(point[h].sum())
        rows.append(
            {
                "channel_id": cid,
                "source": cv.source,
                "train_weeks": int((~held & seen).sum()),
                "holdout_weeks": int(h.sum()),
                "first_holdout_week": cut,
                "actual_revenue": actual,
                "predicted_revenue": predicted,
                "bias": predicted / actual - 1.0 if actual > 0 else np.nan,
                "holdout_mape": _mape(y[h], point[h]),
                "insample_mape": _mape(y[~held & seen], point[~held & seen]),
                "band_coverage": float(np.mean((y[h] >= lo[h]) & (y[h] <= hi[h])))
                if h.any()
                else np.nan,
                "band_level": level,
            }
        )
    out = pd.DataFrame(rows, columns=list(HOLDOUT_COLUMNS))
    return out.astype({c: _dtype(c) for c in HOLDOUT_COLUMNS})


def holdout_check(
    response_model: str,
    spend: pd.DataFrame | None,
    revenue: pd.DataFrame,
    channels: pd.DataFrame,
    lift_tests: pd.DataFrame | None = None,
    holdout_weeks: int = HOLDOUT_WEEKS,
    min_weeks: int = 26,
    n_boot: int = 20,
    seed: int = 0,
    level: float = 0.9,
    max_slope: float | None = None,
    cross_channel_sd: float = CROSS_CHANNEL_SD,
) -> pd.DataFrame:
    """Refit the response model without the latest ``holdout_weeks`` weeks, score it on them.

    The refit is the chosen model's point fit with its own bootstrap: 'per_channel' refits
    :func:`~.curves.fit_response_curves`; 'joint' and 'joint_averaged' refit
    :func:`~.joint.fit_joint_response` with the trend base (the point curve of both; the
    averaged model's calendar-base half of the draws is not refitted, to keep the check
    quick). Lift tests are used as in the full fit (a test inside the held-out weeks
    calibrates the refit too: it was measured, not forecast).

    Args:
        response_model: one of :data:`~.joint.RESPONSE_MODELS`.
        spend, revenue, channels, lift_tests, min_weeks, seed, max_slope,
            cross_channel_sd: as for
            :func:`~.joint.fit_channel_curves` (every week; the split is done here).
        holdout_weeks: latest weeks of revenue held out (>= 1).
        n_boot: bootstrap draws of the refit (the band).
        level: central coverage of the band.

    Returns:
        :func:`holdout_errors` of the refit (no rows without spend history, or when no
        channel has ``min_weeks`` weeks left to fit).

    Raises:
        ValueError: an unknown response_model, holdout_weeks < 1, or as holdout_errors.
    """
    if response_model not in RESPONSE_MODELS:
        raise ValueError(
            f"response_model must be one of {list(RESPONSE_MODELS)}, got {response_model!r}"
        )
    if int(holdout_weeks) < 1:
        raise ValueError(f"holdout_weeks must be >= 1, got {holdout_weeks}")
    _require(revenue, ["week_start", "channel_id", "revenue"], "revenue")
    if spend is None or revenue.empty:
        return empty_response_holdout()
    weeks = pd.DatetimeIndex(pd.to_datetime(revenue["week_start"]).unique()).sort_values()
    if len(weeks) <= holdout_weeks:
        return empty_response_holdout()
    cut = weeks[-int(holdout_weeks)]
    train_rev = revenue[pd.to_datetime(revenue["week_start"]) < cut]
    train_spend = spend[pd.to_datetime(spend["week_start"]) < cut]
    kw = dict(min_weeks=min_weeks, n_boot=n_boot, seed=seed, max_slope=max_slope)
    if response_model == "per_channel":
        refit = fit_response_curves(train_spend, train_rev, channels, **kw)
    else:
        refit = fit_joint_response(
            train_spend, train_rev, channels, lift_tests, base_terms=JOINT_BASE,
            cross_channel_sd=cross_channel_sd, **kw,
        )  # fmt: skip
    return holdout_errors(refit, spend, revenue, cut, level)


def _pct(x: float) -> str:
    return f"{x:.0%}"


def holdout_sentence(table: pd.DataFrame) -> str:
    """One finding from :func:`holdout_errors`: the held-out error against the in-sample
    one, the worst channel, the total bias and how many held-out weeks the bands hold.

    Args:
        table: the ``response_holdout`` table.

    Returns:
        The sentence (says so when no channel was checked).
    """
    t = table.dropna(subset=["holdout_mape"])
    if t.empty:
        return (
            "The response model was not checked out of sample: no fitted channel had held-out "
            "weeks with revenue (too little history, no spend history, or the check is off)."
        )
    n_weeks = int(t["holdout_weeks"].max())
    out_err, in_err = float(t["holdout_mape"].mean()), float(t["insample_mape"].mean())
    worst = t.loc[t["holdout_mape"].idxmax()]
    bias = float(t["predicted_revenue"].sum() / t["actual_revenue"].sum() - 1.0)
    if out_err <= 1.25 * in_err:
        how = "about as well as the weeks they were fitted on"
    else:
        how = "clearly worse than the weeks they were fitted on"
    first = (
        f"Refitted without the latest {n_weeks} weeks, the curves predict those weeks' revenue "
        f"with a mean absolute error of {_pct(out_err)} per week (in sample {_pct(in_err)}), "
        f"{how}; the worst channel is {worst['channel_id']} ({_pct(worst['holdout_mape'])}), "
        f"and over all checked channels the prediction is {_pct(abs(bias))} "
        f"{'above' if bias >= 0 else 'below'} the revenue that came in."
    )
    inside = t["band_coverage"] * t["holdout_weeks"]
    cover = float(inside.sum() / t["holdout_weeks"].sum())
    level = float(t["band_level"].iloc[0])
    band = (
        f"The {_pct(level)} bands hold {int(round(inside.sum()))} of "
        f"{int(t['holdout_weeks'].sum())} held-out channel-weeks ({_pct(cover)})"
    )
    if cover >= level - 0.05:
        band += ", as many as their level promises."
    else:
        band += (
            f", fewer than their level: they carry the uncertainty of the mean curve, not a "
            f"week's own swings, so a single week falls outside them more often than "
            f"{_pct(1 - level)} of the time."
        )
    return first + " " + band
