"""Response curves: geometric adstock, Hill saturation, least-squares fit with bootstrap bands.

The model, per channel and week t (all money in base currency, per week):

    a_t = s_t + decay * a_{t-1}                       (geometric adstock, not normalised)
    revenue_t = base + revenue_max * hill(a_t; half_saturation, slope) + noise
    hill(x; K, n) = x^n / (x^n + K^n)

``half_saturation`` K is measured in *adstocked* spend units, the same parameterisation as
the simulator's ``truth/response_curves.parquet`` (channel_id, adstock_decay,
hill_half_saturation, hill_slope, revenue_max, base_weekly_revenue). Held at a constant
weekly spend s, adstock settles at s / (1 - decay), so the steady-state weekly revenue is
``base + revenue_max * hill(s / (1 - decay))``; that is what :meth:`ResponseCurve.predict`
returns and what the channel plan optimises.

Base terms. Organic (non-marketing) revenue is not constant: it grows with the customer
base, has a yearly season and jumps at the retail holidays (618, Double 11, Double 12,
Spring Festival, Black Friday, Christmas). Left in the residuals, a holiday week that
happens to carry high spend is read as a marketing effect. With ``base_terms="calendar"``
(the default) the fit therefore uses a time-varying base

    base_t = base + sum_j beta_j * x_jt

where x_jt are centred weekly regressors built from week_start alone
(:func:`calendar_regressors`): a linear trend (per year), one yearly Fourier pair, and for
each holiday the share of the week's days in its run-up window and whether the peak day
falls in the week. Centring makes ``base`` the mean base over the fitted weeks, which is the
level the steady-state curve reports. It stays one least-squares problem (the beta_j are
extra linear parameters) with the same bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from channelops.response import adstock, hill, steady_state_revenue

PARAM_NAMES = (
    "base_weekly_revenue",
    "revenue_max",
    "adstock_decay",
    "hill_half_saturation",
    "hill_slope",
)
#: Columns of the ``response_curves`` table (:func:`fit_response_curves` without ``curve``).
RESPONSE_CURVE_COLUMNS = (
    "channel_id",
    "source",
    "reason",
    *PARAM_NAMES,
    "n_draws",
    "n_base_terms",
    "n_weeks",
    "r2",
    "mape",
    "resid_acf1",
    "rmse",
    "spend_median",
    "spend_max",
)
MAX_DECAY = 0.9
SLOPE_BOUNDS = (0.5, 4.0)


@dataclass
class ResponseCurve:
    """A channel's fitted (or prior) response curve with uncertainty.

    Attributes:
        channel_id: the channel.
        base_weekly_revenue: revenue per week at zero spend (base currency).
        revenue_max: extra revenue per week at saturation (base currency).
        adstock_decay: weekly carry-over share.
        hill_half_saturation: adstocked spend at half saturation (base currency).
        hill_slope: Hill exponent.
        draws: parameter draws, shape (n_draws, 5) in :data:`PARAM_NAMES` order (bootstrap
            refits for fitted curves, prior draws for prior curves); may be empty.
        source: 'fitted', 'prior' or 'truth'.
        reason: why this source was used (empty for fitted curves).
        diagnostics: n_weeks, r2, mape, resid_acf1, rmse, spend_median, spend_max for
            fitted curves (n_weeks only for priors).
    """

    channel_id: str
    base_weekly_revenue: float
    revenue_max: float
    adstock_decay: float
    hill_half_saturation: float
    hill_slope: float
    draws: np.ndarray = field(default_factory=lambda: np.empty((0, 5)))
    source: str = "fitted"
    reason: str = ""
    diagnostics: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> np.ndarray:
        """The point estimate as ``(base, revenue_max, decay, half_saturation, slope)``."""
        return np.array(
            [
                self.base_weekly_revenue,
                self.revenue_max,
                self.adstock_decay,
                self.hill_half_saturation,
                self.hill_slope,
            ]
        )

    def revenue(self, weekly_spend: np.ndarray | float) -> np.ndarray:
        """Point-estimate steady-state weekly revenue (base currency) at ``weekly_spend``."""
        return steady_state_revenue(weekly_spend, self.params)

    def revenue_draws(self, weekly_spend: np.ndarray | float) -> np.ndarray:
        """Steady-state weekly revenue under every draw, shape ``(n_draws,) + spend.shape``."""
        if len(self.draws) == 0:
            return np.asarray(self.revenue(weekly_spend))[None, ...]
        return steady_state_revenue(weekly_spend, self.draws)

    def predict(
        self, weekly_spend: np.ndarray | float | list[float], level: float = 0.9
    ) -> pd.DataFrame:
        """Steady-state weekly revenue with a bootstrap band.

        Args:
            weekly_spend: constant weekly spend levels (base currency per week).
            level: central coverage of the band (0.9 -> 5% and 95% quantiles of the draws).

        Returns:
            DataFrame with columns spend, revenue (point estimate), revenue_lo, revenue_hi,
            all per week in base currency. The band is a confidence band for the mean
            response (parameter uncertainty), not a prediction interval for one week.
        """
        s = np.atleast_1d(np.asarray(weekly_spend, dtype=float))
        draws = self.revenue_draws(s)
        q = (1.0 - level) / 2.0
        return pd.DataFrame(
            {
                "spend": s,
                "revenue": self.revenue(s),
                "revenue_lo": np.quantile(draws, q, axis=0),
                "revenue_hi": np.quantile(draws, 1.0 - q, axis=0),
            }
        )

    def with_params(self, params: np.ndarray, source: str | None = None) -> ResponseCurve:
        """A copy with the point estimate replaced (e.g. by one bootstrap draw), no draws."""
        base, rmax, decay, half, slope = (float(v) for v in params)
        return ResponseCurve(
            self.channel_id,
            base,
            rmax,
            decay,
            half,
            slope,
            source=source or self.source,
            reason=self.reason,
        )

    def to_record(self) -> dict[str, Any]:
        """Flat dict for the ``response_curves`` table (no draws)."""
        rec: dict[str, Any] = {
            "channel_id": self.channel_id,
            "source": self.source,
            "reason": self.reason,
        }
        rec.update(dict(zip(PARAM_NAMES, self.params.tolist(), strict=True)))
        rec["n_draws"] = len(self.draws)
        for key in (
            "n_base_terms",
            "n_weeks",
            "r2",
            "mape",
            "resid_acf1",
            "rmse",
            "spend_median",
            "spend_max",
        ):
            rec[key] = self.diagnostics.get(key, np.nan)
        return rec


def _require(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(df.columns)}")


def _weekly_grid(weekly: pd.DataFrame) -> pd.DataFrame:
    """Sort by week, put weeks on a regular 7-day grid; missing spend is 0, revenue NaN."""
    df = weekly[["week_start", "spend", "revenue"]].copy()
    df["week_start"] = pd.to_datetime(df["week_start"])
    df = df.groupby("week_start", as_index=False).agg(
        spend=("spend", "sum"), revenue=("revenue", "sum")
    )
    grid = pd.date_range(df["week_start"].min(), df["week_start"].max(), freq="7D")
    out = df.set_index("week_start").reindex(grid)
    out.index.name = "week_start"
    out["spend"] = out["spend"].fillna(0.0)
    return out.reset_index()


#: Spring Festival (Chinese New Year) dates, for the calendar regressors.
SPRING_FESTIVAL = {
    2018: "2018-02-16",
    2019: "2019-02-05",
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
}
BASE_TERMS = ("none", "trend", "calendar")


def _holiday_days(dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Daily 0/1 indicators of the retail holiday windows and peak days."""
    m, d = dates.month.to_numpy(), dates.day.to_numpy()
    ind = {
        "h618_window": (m == 6) & (d <= 20),
        "h618_peak": (m == 6) & (d == 18),
        "d11_window": ((m == 10) & (d == 31)) | ((m == 11) & (d <= 12)),
        "d11_peak": (m == 11) & (d == 11),
        "d12_peak": (m == 12) & (d == 12),
        "xmas_window": (m == 12) & (d <= 26),
    }
    cny_pre = np.zeros(len(dates), dtype=bool)
    cny = np.zeros(len(dates), dtype=bool)
    bf = np.zeros(len(dates), dtype=bool)
    for y in np.unique(dates.year):
        if int(y) in SPRING_FESTIVAL:
            off = (dates - pd.Timestamp(SPRING_FESTIVAL[int(y)])).days.to_numpy()
            cny_pre |= (off >= -14) & (off <= -3)
            cny |= (off >= -2) & (off <= 6)
        nov1 = pd.Timestamp(f"{int(y)}-11-01")
        thanksgiving = nov1 + pd.Timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        off = (dates - thanksgiving).days.to_numpy()
        bf |= (off >= -6) & (off <= 4)
    ind.update(cny_pre=cny_pre, cny=cny, black_friday_window=bf)
    return {k: v.astype(float) for k, v in ind.items()}


def calendar_regressors(
    week_start: pd.Series | pd.DatetimeIndex, terms: str = "calendar"
) -> pd.DataFrame:
    """Weekly regressors for the time-varying base of a response curve.

    Args:
        week_start: first day of each week (7-day weeks), in time order.
        terms: 'none' (no columns), 'trend' (a linear trend in years) or 'calendar' (trend,
            yearly Fourier pair ``year_cos``/``year_sin``, and per holiday the share of the
            week's days in its window or on its peak day).

    Returns:
        One row per week, one column per regressor, each centred on its mean over the given
        weeks; columns that do not vary over these weeks are dropped (a holiday the history
        never saw cannot be estimated).
    """
    if terms not in BASE_TERMS:
        raise ValueError(f"base_terms must be one of {list(BASE_TERMS)}, got {terms!r}")
    weeks = pd.DatetimeIndex(pd.to_datetime(week_start))
    cols: dict[str, np.ndarray] = {}
    if terms != "none" and len(weeks):
        cols["trend"] = ((weeks - weeks[0]).days.to_numpy() / 365.25).astype(float)
    if terms == "calendar" and len(weeks):
        days = weeks.repeat(7) + pd.to_timedelta(np.tile(np.arange(7), len(weeks)), unit="D")
        doy = days.dayofyear.to_numpy()
        daily = {
            "year_cos": np.cos(2 * np.pi * doy / 365.25),
            "year_sin": np.sin(2 * np.pi * doy / 365.25),
            **_holiday_days(days),
        }
        for name, values in daily.items():
            cols[name] = values.reshape(len(weeks), 7).mean(axis=1)
    out = pd.DataFrame(cols, index=range(len(weeks)))
    out = out - out.mean()
    keep = [c for c in out.columns if float(out[c].abs().max()) > 1e-9]
    return out[keep]


def slope_bounds(max_slope: float | None = None) -> tuple[float, float]:
    """Bounds of the fitted Hill slope: :data:`SLOPE_BOUNDS`, or up to ``max_slope``.

    A slope of at most 1 makes the curve concave (every unit of spend earns less than the
    one before, from the first), so its marginal return at low spend is not an S-shaped
    extrapolation below the spend the channel ran at.

    Args:
        max_slope: upper bound of the slope (None = :data:`SLOPE_BOUNDS`' own).

    Returns:
        ``(lower, upper)``; the lower bound is SLOPE_BOUNDS[0] or half of max_slope if lower.

    Raises:
        ValueError: max_slope not a number in (0, SLOPE_BOUNDS[1]].
    """
    if max_slope is None:
        return SLOPE_BOUNDS
    try:
        m = float(max_slope)
    except (TypeError, ValueError):
        m = float("nan")
    if not (0.0 < m <= SLOPE_BOUNDS[1]):
        raise ValueError(
            f"max_slope (the largest Hill slope fitted) must be a number > 0 and <= "
            f"{SLOPE_BOUNDS[1]:g}, got {max_slope!r}"
        )
    return min(SLOPE_BOUNDS[0], 0.5 * m), m


class _Model:
    """Least-squares model on scaled parameters ``(base/R, rmax/R, decay, log(K/S), slope)``
    followed by one coefficient per base regressor (scaled by R and the regressor's sd)."""

    def __init__(
        self,
        spend: np.ndarray,
        revenue: np.ndarray,
        initial_adstock: str = "steady",
        regressors: np.ndarray | None = None,
        max_slope: float | None = None,
    ) -> None:
        lo_slope, hi_slope = slope_bounds(max_slope)
        if initial_adstock not in ("steady", "zero"):
            raise ValueError(f"initial_adstock must be 'steady' or 'zero', got {initial_adstock!r}")
        self.steady_start = initial_adstock == "steady"
        self.spend = spend
        self.mask = ~np.isnan(revenue)
        self.y = revenue[self.mask]
        self.r_scale = max(float(np.nanmax(np.abs(revenue))), 1e-9)
        self.s_scale = max(float(np.mean(spend)), 1e-9)
        self.initial_spend = float(np.mean(spend[: min(4, len(spend))]))
        ymax = float(np.nanmax(revenue)) / self.r_scale
        self.lower = np.array([0.0, 0.0, 0.0, np.log(1e-3), lo_slope])
        self.upper = np.array(
            [
                max(ymax, 1e-6),
                20.0 * max(ymax, 1e-6),
                MAX_DECAY,
                np.log(1e3 / (1.0 - MAX_DECAY)),
                hi_slope,
            ]
        )
        X = np.zeros((len(spend), 0)) if regressors is None else np.asarray(regressors, float)
        sd = X.std(axis=0) if X.shape[1] else np.zeros(0)
        self.X = X / np.where(sd > 0, sd, 1.0)
        self.k = self.X.shape[1]
        self.lower = np.concatenate([self.lower, np.full(self.k, -5.0)])
        self.upper = np.concatenate([self.upper, np.full(self.k, 5.0)])

    def to_params(self, z: np.ndarray) -> np.ndarray:
        return np.array(
            [z[0] * self.r_scale, z[1] * self.r_scale, z[2], np.exp(z[3]) * self.s_scale, z[4]]
        )

    def to_z(self, p: np.ndarray) -> np.ndarray:
        z = np.array(
            [
                p[0] / self.r_scale,
                p[1] / self.r_scale,
                p[2],
                np.log(max(p[3], 1e-12) / self.s_scale),
                p[4],
                *np.zeros(self.k),
            ]
        )
        return np.clip(z, self.lower + 1e-9, self.upper - 1e-9)

    def base(self, z: np.ndarray) -> np.ndarray:
        """Time-varying base revenue per week (scaled by r_scale)."""
        return z[0] + self.X @ z[5:] if self.k else np.full(len(self.spend), z[0])

    def fitted(self, z: np.ndarray) -> np.ndarray:
        """Fitted weekly revenue on every week (scaled by r_scale)."""
        decay = z[2]
        # 'steady': the history before the first week is taken as steady at the first weeks'
        # mean spend; 'zero': no spend before the first week
        initial = decay * self.initial_spend / (1.0 - decay) if self.steady_start else 0.0
        a = adstock(self.spend, decay, initial) / self.s_scale
        return self.base(z) + z[1] * hill(a, np.exp(z[3]), z[4])

    def residuals(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.fitted(z)[self.mask] - y / self.r_scale

    def _adstock_scaled(self, decay: float) -> np.ndarray:
        initial = decay * self.initial_spend / (1.0 - decay) if self.steady_start else 0.0
        return adstock(self.spend, decay, initial) / self.s_scale

    def jacobian(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Analytic Jacobian, except a one-sided difference in the decay."""
        a = self._adstock_scaled(z[2])
        h = hill(a, np.exp(z[3]), z[4])
        dh = h * (1.0 - h)
        with np.errstate(divide="ignore"):
            log_ratio = np.where(a > 0, np.log(np.maximum(a, 1e-300)) - z[3], 0.0)
        step = 1e-6 if z[2] + 1e-6 <= self.upper[2] else -1e-6
        h_step = hill(self._adstock_scaled(z[2] + step), np.exp(z[3]), z[4])
        J = np.column_stack(
            [
                np.ones(len(a)),
                h,
                z[1] * (h_step - h) / step,
                -z[1] * z[4] * dh,
                z[1] * dh * log_ratio,
                self.X,
            ]
        )
        return J[self.mask]

    def solve(self, z0: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        res = least_squares(
            self.residuals,
            z0,
            jac=self.jacobian,
            bounds=(self.lower, self.upper),
            args=(y,),
            method="trf",
            x_scale="jac",
            max_nfev=400,
        )
        return res.x, float(2.0 * res.cost)


def _starts(model: _Model, n_starts: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Deterministic spread of starting points (first is a fixed central guess)."""
    y = model.y / model.r_scale
    lo, hi = float(np.quantile(y, 0.05)), float(np.quantile(y, 0.95))
    zeros = np.zeros(model.k)
    central = np.array(
        [lo * 0.8, max(hi - lo * 0.8, 1e-3) * 1.5, 0.3, np.log(1.0 / 0.7), 1.5, *zeros]
    )
    starts = [central]
    for _ in range(n_starts - 1):
        starts.append(
            np.array(
                [
                    rng.uniform(0.0, 1.0) * lo,
                    (hi - lo * 0.5) * rng.uniform(1.0, 4.0),
                    rng.uniform(0.0, 0.8),
                    np.log(rng.uniform(0.3, 5.0) / (1.0 - 0.4)),
                    rng.uniform(0.7, 3.0),
                    *zeros,
                ]
            )
        )
    return [np.clip(s, model.lower + 1e-9, model.upper - 1e-9) for s in starts]


def _block_resample(resid: np.ndarray, block: int, rng: np.random.Generator) -> np.ndarray:
    """Moving-block bootstrap of a residual series (keeps short-range autocorrelation)."""
    n = len(resid)
    block = max(1, min(block, n))
    n_blocks = int(np.ceil(n / block))
    starts = rng.integers(0, n - block + 1, size=n_blocks)
    idx = (starts[:, None] + np.arange(block)[None, :]).ravel()[:n]
    return resid[idx]


def _acf1(x: np.ndarray) -> float:
    x = x - x.mean()
    denom = float(np.dot(x, x))
    return float(np.dot(x[1:], x[:-1]) / denom) if denom > 0 else float("nan")


def fit_response_curve(
    weekly: pd.DataFrame,
    channel_id: str = "",
    n_starts: int = 8,
    n_boot: int = 200,
    block: int = 4,
    seed: int = 0,
    initial_adstock: str = "steady",
    base_terms: str = "calendar",
    max_slope: float | None = None,
) -> ResponseCurve:
    """Fit ``revenue_t = base_t + revenue_max * hill(adstock(spend)_t)`` by least squares.

    Bounded nonlinear least squares (``scipy.optimize.least_squares``, trust-region
    reflective) from ``n_starts`` starting points; the best fit is kept. Uncertainty comes
    from a moving-block residual bootstrap: ``n_boot`` series fitted + resampled residual
    blocks of ``block`` weeks, each refitted from the best fit.

    Args:
        weekly: columns week_start (date), spend and revenue (base currency per week).
            Missing weeks are inserted with zero spend and unknown revenue.
        channel_id: label stored on the curve.
        n_starts: starting points for the multi-start fit.
        n_boot: bootstrap refits (0 for none).
        block: bootstrap block length in weeks.
        seed: seed for starts and bootstrap; the same seed gives the same curve.
        initial_adstock: carry-over into the first week: 'steady' (as if the mean spend of
            the first four weeks had run forever; right for a history cut from a running
            business) or 'zero' (no earlier spend; how ``channelops.synth`` starts).
        base_terms: regressors of the time-varying base (see :func:`calendar_regressors`):
            'calendar' (trend, yearly season, retail holidays; the default), 'trend' or
            'none' (a constant base, the model before base terms existed). The terms need
            dated weeks; the curve's base is their mean level over the fitted weeks.
        max_slope: largest Hill slope fitted (None: :data:`SLOPE_BOUNDS`); 1 keeps the
            curve concave, see :func:`slope_bounds`.

    Returns:
        A :class:`ResponseCurve` with source 'fitted', bootstrap draws and diagnostics
        n_base_terms (regressors used), n_weeks, r2, mape (on weeks with revenue > 0), resid_acf1 (lag-1 residual
        autocorrelation), rmse (base currency per week), spend_median and spend_max
        (observed weekly spend; the plan does not extrapolate far beyond spend_max).
    """
    _require(weekly, ["week_start", "spend", "revenue"], "weekly")
    grid = _weekly_grid(weekly)
    spend = grid["spend"].to_numpy(float)
    revenue = grid["revenue"].to_numpy(float)
    if np.isnan(revenue).all():
        raise ValueError("weekly has no revenue values to fit")
    if (spend < 0).any():
        raise ValueError("weekly spend must be non-negative")
    rng = np.random.default_rng(seed)
    X = calendar_regressors(grid["week_start"], base_terms).to_numpy(float)
    # keep at least ~4 weeks of data per parameter: fewer weeks, fewer terms
    X = X[:, : max(0, min(X.shape[1], int(np.sum(~np.isnan(revenue))) // 4 - 5))]
    model = _Model(spend, revenue, initial_adstock, X, max_slope)
    best_z, best_cost = None, np.inf
    for z0 in _starts(model, n_starts, rng):
        z, cost = model.solve(z0, model.y)
        if cost < best_cost:
            best_z, best_cost = z, cost
    assert best_z is not None
    fitted = model.fitted(best_z)[model.mask] * model.r_scale
    resid = model.y - fitted
    draws = np.empty((n_boot, 5))
    for b in range(n_boot):
        y_star = fitted + _block_resample(resid, block, rng)
        z_b, _ = model.solve(best_z, y_star)
        draws[b] = model.to_params(z_b[:5])
    ss_tot = float(np.sum((model.y - model.y.mean()) ** 2))
    pos = model.y > 0
    diagnostics = {
        "n_base_terms": float(model.k),
        "n_weeks": float(model.mask.sum()),
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "mape": float(np.mean(np.abs(resid[pos]) / model.y[pos])) if pos.any() else np.nan,
        "resid_acf1": _acf1(resid),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "spend_median": float(np.median(spend)),
        "spend_max": float(np.max(spend)),
    }
    p = model.to_params(best_z[:5])
    return ResponseCurve(
        channel_id, *(float(v) for v in p), draws=draws, source="fitted", diagnostics=diagnostics
    )


def prior_curve(
    channel: pd.Series | dict[str, Any],
    reason: str,
    decay: float = 0.3,
    slope: float = 1.0,
    prior_cv: float = 0.3,
    n_draws: int = 200,
    seed: int = 0,
) -> ResponseCurve:
    """A response curve from channels.csv priors, for channels without enough history.

    ``prior_weekly_revenue_max`` becomes revenue_max and ``prior_half_saturation_spend``
    (weekly spend at half saturation) becomes the adstocked half saturation
    ``prior_half_saturation_spend / (1 - decay)``; base revenue is 0 (a channel we do not
    run yet sells nothing by itself). Draws scale revenue_max and half saturation by
    independent log-normal factors with coefficient of variation ``prior_cv``, so a prior
    channel carries more risk than a well-fitted one.

    Args:
        channel: a channels.csv row with channel_id, prior_weekly_revenue_max and
            prior_half_saturation_spend (base currency per week).
        reason: why the prior is used (kept on the curve).
        decay, slope: assumed adstock decay and Hill slope.
        prior_cv: relative uncertainty of the two priors.
        n_draws: number of prior draws.
        seed: seed for the draws.

    Returns:
        A :class:`ResponseCurve` with source 'prior'.
    """
    cid = str(channel["channel_id"])
    rmax = float(channel.get("prior_weekly_revenue_max", np.nan))
    half_w = float(channel.get("prior_half_saturation_spend", np.nan))
    if not (np.isfinite(rmax) and rmax > 0 and np.isfinite(half_w) and half_w > 0):
        raise ValueError(
            f"channel {cid!r}: {reason}, and channels.csv has no usable priors "
            f"(prior_weekly_revenue_max={rmax}, "
            f"prior_half_saturation_spend={half_w})"
        )
    rng = np.random.default_rng(seed)
    sigma = float(np.sqrt(np.log1p(prior_cv**2)))
    f = rng.lognormal(-(sigma**2) / 2, sigma, size=(n_draws, 2))
    half = half_w / (1.0 - decay)
    draws = np.column_stack(
        [
            np.zeros(n_draws),
            rmax * f[:, 0],
            np.full(n_draws, decay),
            half * f[:, 1],
            np.full(n_draws, slope),
        ]
    )
    return ResponseCurve(
        cid, 0.0, rmax, decay, half, slope, draws=draws, source="prior", reason=reason
    )


def fit_response_curves(
    spend: pd.DataFrame | None,
    revenue: pd.DataFrame,
    channels: pd.DataFrame,
    min_weeks: int = 26,
    n_boot: int = 200,
    n_starts: int = 8,
    prior_decay: float = 0.3,
    prior_slope: float = 1.0,
    prior_cv: float = 0.3,
    seed: int = 0,
    initial_adstock: str = "steady",
    base_terms: str = "calendar",
    max_slope: float | None = None,
) -> pd.DataFrame:
    """Fit one response curve per channel in ``channels``, falling back to priors.

    A channel is fitted when it has at least ``min_weeks`` weeks with revenue and some
    spend variation; otherwise it gets :func:`prior_curve` and the reason is recorded.

    Args:
        spend: columns week_start, channel_id, spend (base currency per week); None
            (no marketing_spend.csv) means no spend history: every channel gets its prior.
        revenue: columns week_start, channel_id, revenue (base currency per week).
        channels: channels.csv (channel_id, prior_weekly_revenue_max,
            prior_half_saturation_spend, ...).
        min_weeks: weeks of history needed to fit.
        n_boot, n_starts, initial_adstock, base_terms, max_slope: see
            :func:`fit_response_curve`.
        prior_decay, prior_slope, prior_cv: see :func:`prior_curve`.
        seed: base seed; channel i uses ``seed + i``.

    Returns:
        One row per channel: channel_id, source ('fitted', 'prior', or 'unavailable' when
        there is neither enough history nor usable priors; such a channel has no curve and
        must be forced out of the plan), reason, the five parameters, n_draws,
        n_base_terms, n_weeks, r2,
        mape, resid_acf1, rmse, spend_median, spend_max (observed weekly spend), and
        ``curve`` (the :class:`ResponseCurve` object; drop that column before writing the
        table). Columns are always :data:`RESPONSE_CURVE_COLUMNS` plus ``curve``.
    """
    slope_bounds(max_slope)  # a bad bound fails before any fit, with or without history
    no_spend = spend is None
    if spend is None:
        spend = pd.DataFrame(
            {
                "week_start": pd.Series(dtype="datetime64[ns]"),
                "channel_id": pd.Series(dtype=str),
                "spend": pd.Series(dtype=float),
            }
        )
    _require(spend, ["week_start", "channel_id", "spend"], "spend")
    _require(revenue, ["week_start", "channel_id", "revenue"], "revenue")
    _require(channels, ["channel_id"], "channels")
    sp = spend.assign(
        week_start=pd.to_datetime(spend["week_start"]), channel_id=spend["channel_id"].astype(str)
    )
    rv = revenue.assign(
        week_start=pd.to_datetime(revenue["week_start"]),
        channel_id=revenue["channel_id"].astype(str),
    )
    sp = sp.groupby(["channel_id", "week_start"], as_index=False)["spend"].sum()
    rv = rv.groupby(["channel_id", "week_start"], as_index=False)["revenue"].sum()
    both = sp.merge(rv, on=["channel_id", "week_start"], how="outer")
    both["spend"] = both["spend"].fillna(0.0)
    rows = []
    for i, ch in enumerate(channels.to_dict("records")):
        cid = str(ch["channel_id"])
        hist = both[both["channel_id"] == cid]
        n_weeks = int(hist["revenue"].notna().sum())
        reason = ""
        if no_spend:
            reason = "no marketing_spend.csv, so no spend history to fit"
        elif n_weeks == 0:
            reason = "no spend/revenue history"
        elif n_weeks < min_weeks:
            reason = f"only {n_weeks} weeks of history (< min_weeks={min_weeks})"
        elif hist["spend"].nunique() < 3:
            reason = "spend never varied, so the curve is not identifiable"
        curve = None
        if not reason:
            try:
                curve = fit_response_curve(
                    hist,
                    cid,
                    n_starts=n_starts,
                    n_boot=n_boot,
                    seed=seed + i,
                    initial_adstock=initial_adstock,
                    base_terms=base_terms,
                    max_slope=max_slope,
                )
            except (ValueError, np.linalg.LinAlgError) as exc:
                reason = f"fit failed: {exc}"
        if curve is None:
            try:
                curve = prior_curve(
                    ch,
                    reason,
                    decay=prior_decay,
                    slope=prior_slope,
                    prior_cv=prior_cv,
                    n_draws=max(n_boot, 1),
                    seed=seed + i,
                )
            except ValueError as exc:
                rows.append(
                    {
                        "channel_id": cid,
                        "source": "unavailable",
                        "reason": str(exc),
                        "n_weeks": float(n_weeks),
                        "curve": None,
                    }
                )
                continue
            curve.diagnostics["n_weeks"] = float(n_weeks)
        rec = curve.to_record()
        rec["curve"] = curve
        rows.append(rec)
    out = pd.DataFrame(rows, columns=[*RESPONSE_CURVE_COLUMNS, "curve"])
    out["n_draws"] = out["n_draws"].fillna(0).astype("int64")
    return out


def as_curve_map(curves: pd.DataFrame | dict[str, ResponseCurve]) -> dict[str, ResponseCurve]:
    """Accept the :func:`fit_response_curves` table or a ``{channel_id: curve}`` dict."""
    if isinstance(curves, pd.DataFrame):
        _require(curves, ["channel_id", "curve"], "curves")
        return {
            str(c): cv
            for c, cv in zip(curves["channel_id"], curves["curve"], strict=True)
            if cv is not None
        }
    return dict(curves)
