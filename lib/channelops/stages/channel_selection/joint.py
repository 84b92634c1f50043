"""A joint response model of incremental revenue, calibrated with lift tests.

The per-channel fit (:mod:`.curves`) sees one channel's revenue and its own spend. Two
things then end up in the media curve that do not belong there:

* **shared demand.** Organic (non-marketing) revenue moves together across channels (the
  same holidays, weather, macro weeks), and budgets are planned by season, so spend and
  organic revenue rise together and the curve takes credit for the season.
* **effects on other channels.** Advertising on one channel also sells on others (halo)
  or takes orders another channel would have had (cannibalisation); the channel's own
  revenue misses both.

The joint model, per channel B and week t (money in base currency per week):

    revenue_Bt = base_B + beta_B' c_t + gamma_B g_t^(-B)           (calendar, shared demand)
               + media_Bt                                           (own media)
               + sum_{A != B} eta_AB media_At                       (halo / cannibalisation)
    media_At   = revenue_max_A * hill(adstock(spend_A)_t)

c_t are the calendar regressors (trend, yearly season, holidays; :func:`calendar_regressors`),
g_t^(-B) the shared demand shock of week t estimated from the *other* channels' residuals
(sum of their residuals over the sum of their bases, so B's own noise and media do not
enter it), eta_AB the share of A's own media revenue that shows up on B. It is fitted by
alternating: own curves first, then g and the media series from the last pass enter each
channel's fit as regressors (two passes).

The business-wide incremental revenue of A's spend s is ``media_A(s) * (1 + H_A)``,
H_A = sum_B eta_AB, and that is the curve the plan optimises (revenue_max and every draw
scaled by ``1 + H_A``; base stays the channel's own organic revenue).

**Lift tests** (``lift_tests.csv``: spend changed by ``spend_change`` over start..end, the
measured business-wide incremental revenue over those days and the 8 weeks after, with a 95%
interval) enter the fit of the tested channel as extra residuals
``sigma * (predicted - measured / (1 + H_A)) / se``, se from the interval: a Gaussian
likelihood term in the same least-squares problem, weighted against the weekly noise sigma.

**Uncertainty**: a moving-block residual bootstrap per channel (blocks of weeks), each
draw with the lift measurements redrawn from their standard error; H_A's draw b sums draw b
of the eta_AB over the other channels' fits. Two things the residual bootstrap alone missed
(benchmarks/results/channels.md: its 90% bands held the true incremental revenue for 9 of
18 channels x seeds on Simulator 2):

* **the organic level.** No channel ran near zero spend, so the weeks fix the revenue at
  the spend that ran, not how it splits into base and media: the least-squares cost is
  nearly flat along the base level, its optimum often on the edge (base 0), and refits
  started there stay there. The fit is profiled along the level (:func:`base_profile`,
  weights from the likelihood flattened for autocorrelated weeks, :func:`profile_weights`);
  the point curve is refitted at the profile's median (:func:`profile_median`) and each
  draw first takes a level from the profile, then resamples the residuals of that level's
  fit and refits with the level held.
* **effects on other channels.** Without ``halo_terms`` (too noisy to estimate from weekly
  data) H_A is not estimated; each draw takes it from its prior N(0, cross_channel_sd^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from channelops.response import adstock, hill

from .curves import (
    RESPONSE_CURVE_COLUMNS,
    ResponseCurve,
    _block_resample,
    _Model,
    _require,
    _starts,
    calendar_regressors,
    fit_response_curves,
)

LIFT_COLUMNS = (
    "channel_id",
    "start_date",
    "end_date",
    "spend_change",
    "incremental_revenue",
    "ci_low",
    "ci_high",
)
#: Weeks after a lift test's end that its measured effect covers (docs/data-contract.md).
LIFT_POST_WEEKS = 8
Z95 = 1.959964
#: Base terms of the joint model in notebook 02: a trend only. The season and the holidays
#: reach the fit through the shared-demand regressor (measured on the other channels), not
#: through calendar dummies: budgets rise in the holiday weeks, so holiday dummies and spend
#: explain the same revenue and the dummies took the marketing effect (the fitted curves
#: flattened above the median spend; benchmarks/results/channels.md).
JOINT_BASE = "trend"
#: Points of the organic-level profile likelihood the bootstrap draws are spread over.
PROFILE_LEVELS = 12
#: Prior standard deviation of a channel's unmodelled cross-channel share H (halo minus
#: cannibalisation, as a share of its own incremental revenue; see fit_joint_response).
CROSS_CHANNEL_SD = 0.2
JOINT_COLUMNS = ("halo_share", "halo_share_lo", "halo_share_hi", "n_lift_tests", "shared_demand")


def read_lift_tests(path: str, channel_ids: list[str] | None = None) -> pd.DataFrame:
    """Read and check ``lift_tests.csv`` (optional file of the data contract).

    Args:
        path: the CSV file.
        channel_ids: known channels; a row naming another channel is an error.

    Returns:
        One row per test with :data:`LIFT_COLUMNS`, dates as Timestamps, money as floats
        (base currency), plus ``standard_error`` = (ci_high - ci_low) / (2 x 1.96).

    Raises:
        ValueError naming the file, the row (line number, header = line 1) and the column
        when a column is missing, a value is not a date / number, end_date < start_date,
        ci_low > ci_high, or the channel is unknown.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LIFT_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(LIFT_COLUMNS)}")
    out = pd.DataFrame({"channel_id": raw["channel_id"].str.strip()})
    for col in ("start_date", "end_date"):
        out[col] = pd.to_datetime(raw[col], errors="coerce", format="%Y-%m-%d")
    for col in ("spend_change", "incremental_revenue", "ci_low", "ci_high"):
        out[col] = pd.to_numeric(raw[col], errors="coerce")
    for i, row in out.iterrows():
        line = int(i) + 2
        for col in LIFT_COLUMNS[1:]:
            if pd.isna(row[col]):
                kind = "a date YYYY-MM-DD" if col.endswith("date") else "a number"
                raise ValueError(f"{path} line {line}, column {col}: expected {kind}")
        if channel_ids is not None and row["channel_id"] not in channel_ids:
            raise ValueError(
                f"{path} line {line}, column channel_id: not a channel of channels.csv"
            )
        if row["end_date"] < row["start_date"]:
            raise ValueError(f"{path} line {line}, column end_date: before start_date")
        if row["ci_low"] > row["ci_high"]:
            raise ValueError(f"{path} line {line}, column ci_low: above ci_high")
    out["standard_error"] = (out["ci_high"] - out["ci_low"]) / (2.0 * Z95)
    return out


@dataclass
class _Lift:
    delta: np.ndarray  # spend change per week (base currency), length n weeks
    window: np.ndarray  # bool, weeks whose effect the test measured
    measured: float  # business-wide incremental revenue
    se: float


def _lift_rows(lifts: pd.DataFrame, weeks: pd.DatetimeIndex) -> list[_Lift]:
    """Place each test on the weekly grid: its spend change spread over the weeks by the
    number of test days each week holds; the measured window runs to 8 weeks after."""
    out = []
    days = weeks.repeat(7) + pd.to_timedelta(np.tile(np.arange(7), len(weeks)), unit="D")
    for r in lifts.itertuples():
        inside = ((days >= r.start_date) & (days <= r.end_date)).reshape(len(weeks), 7).sum(1)
        if inside.sum() == 0:
            continue  # the test lies outside the fitted weeks
        delta = r.spend_change * inside / inside.sum()
        first = int(np.flatnonzero(inside)[0])
        last = int(np.flatnonzero(inside)[-1])
        window = np.zeros(len(weeks), dtype=bool)
        window[first : last + 1 + LIFT_POST_WEEKS] = True
        se = float(r.standard_error) if r.standard_error > 0 else abs(r.incremental_revenue)
        out.append(_Lift(delta, window, float(r.incremental_revenue), max(se, 1e-9)))
    return out


class _JointModel(_Model):
    """:class:`_Model` plus lift-test residual rows (numerical Jacobian when there are any)."""

    def __init__(
        self, spend, revenue, initial_adstock, regressors, lifts, sigma, halo_factor, prior_sd,
        max_slope=None,
    ):  # fmt: skip
        super().__init__(spend, revenue, initial_adstock, regressors, max_slope)
        self.lifts = lifts
        self.sigma = sigma
        self.halo_factor = max(halo_factor, 0.05)
        self.targets = np.array([lf.measured for lf in lifts]) / self.halo_factor
        # weakly informative priors (MAP): log half-saturation around the median steady
        # adstock the channel ran at, log slope around 0 (slope 1), sd prior_sd each
        pos = spend[spend > 0]
        typical = float(np.median(pos)) / self.s_scale if len(pos) else 1.0
        self.prior_centre = np.log(max(typical, 1e-6) / (1.0 - 0.3))
        self.prior_sd = prior_sd

    def _prior_rows(self, z: np.ndarray) -> np.ndarray:
        if not self.prior_sd:
            return np.zeros(0)
        w = self.sigma / self.r_scale / self.prior_sd
        return w * np.array([z[3] - self.prior_centre, np.log(z[4])])

    def media(self, z: np.ndarray, spend: np.ndarray | None = None) -> np.ndarray:
        """Own media revenue per week (base currency)."""
        s = self.spend if spend is None else spend
        decay = z[2]
        initial = decay * self.initial_spend / (1.0 - decay) if self.steady_start else 0.0
        a = adstock(np.maximum(s, 0.0), decay, initial) / self.s_scale
        return z[1] * hill(a, np.exp(z[3]), z[4]) * self.r_scale

    def lift_predictions(self, z: np.ndarray) -> np.ndarray:
        base = self.media(z)
        return np.array(
            [
                float((base - self.media(z, self.spend - lf.delta))[lf.window].sum())
                for lf in self.lifts
            ]
        )

    def residuals(self, z: np.ndarray, y: np.ndarray, targets: np.ndarray | None = None):
        r = np.concatenate([super().residuals(z, y), self._prior_rows(z)])
        if not self.lifts:
            return r
        t = self.targets if targets is None else targets
        se = np.array([lf.se for lf in self.lifts]) / self.halo_factor
        extra = self.sigma * (self.lift_predictions(z) - t) / se / self.r_scale
        return np.concatenate([r, extra])

    def jacobian(self, z: np.ndarray, y: np.ndarray, targets: np.ndarray | None = None):
        """Analytic rows for the weeks; forward differences in the five curve parameters
        for the lift rows (the regressors do not move a lift prediction)."""
        J = super().jacobian(z, y)
        if self.prior_sd:
            w = self.sigma / self.r_scale / self.prior_sd
            JP = np.zeros((2, len(z)))
            JP[0, 3] = w
            JP[1, 4] = w / z[4]
            J = np.vstack([J, JP])
        if not self.lifts:
            return J
        se = np.array([lf.se for lf in self.lifts]) / self.halo_factor
        scale = self.sigma / se / self.r_scale
        p0 = self.lift_predictions(z)
        JL = np.zeros((len(self.lifts), len(z)))
        for i in range(5):
            h = 1e-6 * max(1.0, abs(z[i]))
            h = h if z[i] + h <= self.upper[i] else -h
            zh = z.copy()
            zh[i] += h
            JL[:, i] = (self.lift_predictions(zh) - p0) / h * scale
        return np.vstack([J, JL])

    def solve(self, z0, y, targets=None, base=None):
        """Least squares from ``z0``; ``base`` (scaled, optional) holds the mean organic
        level z[0] there (its bounds narrowed to +-1e-7), the rest is fitted."""
        lower, upper = self.lower, self.upper
        if base is not None:
            lower, upper = lower.copy(), upper.copy()
            lower[0], upper[0] = max(base - 1e-7, 0.0), base + 1e-7
            z0 = np.clip(z0, lower + 1e-9, upper - 1e-9)
            z0[0] = 0.5 * (lower[0] + upper[0])
        res = least_squares(
            self.residuals,
            z0,
            jac=self.jacobian,
            bounds=(lower, upper),
            args=(y, targets),
            method="trf",
            x_scale="jac",
            max_nfev=400,
        )
        return res.x, float(2.0 * res.cost)

    def coef(self, z: np.ndarray) -> np.ndarray:
        """Regressor coefficients in base currency per unit of each regressor."""
        return z[5:] * self.r_scale / self.sd


@dataclass
class BaseProfile:
    """The fit's cost along the organic level (scaled units, see :func:`base_profile`)."""

    levels: np.ndarray  # mean organic level z[0] held fixed, ascending, from 0
    z: np.ndarray  # the refit at each level, (n_levels, n_params)
    cost: np.ndarray  # its sum of squared residuals (weeks, priors and lift tests)
    weights: np.ndarray  # relative likelihood, sums to 1


def profile_weights(cost: np.ndarray, sigma2: float, rho: float) -> np.ndarray:
    """Relative likelihood of each profile point, normalised to sum 1.

    ``exp(-(cost - min cost) / (2 sigma2 k))`` with ``k = (1 + rho) / (1 - rho)``, rho the
    residuals' lag-1 autocorrelation clipped to [0, 0.9]: autocorrelated weekly errors
    carry less information than as many independent weeks (k is the long-run variance of
    an AR(1) series over its one-week variance), so the likelihood is flattened by k.

    Args:
        cost: sum of squared (scaled) residuals at each point.
        sigma2: residual variance per week at the best fit (same scale).
        rho: lag-1 autocorrelation of the best fit's weekly residuals.

    Returns:
        Weights of the points (nonnegative, sum 1).
    """
    r = float(np.clip(rho if np.isfinite(rho) else 0.0, 0.0, 0.9))
    k = (1.0 + r) / (1.0 - r)
    c = np.asarray(cost, dtype=float)
    w = np.exp(-(c - c.min()) / (2.0 * max(sigma2, 1e-300) * k))
    return w / w.sum()


def profile_median(profile: BaseProfile) -> float:
    """The median organic level of a profile: its weights' cumulative share, each point's
    weight centred on it, interpolated linearly at 0.5 (within the profiled levels)."""
    w = profile.weights
    return float(np.interp(0.5, np.cumsum(w) - 0.5 * w, profile.levels))


def base_profile(model: _JointModel, best: np.ndarray, n_levels: int = 12) -> BaseProfile:
    """Profile the fit along the channel's mean organic level (its revenue at zero spend).

    No channel ran near zero spend, so the data fix the revenue at the spend that ran
    far better than how it splits into organic base and media response: the least-squares
    cost is nearly flat along that ridge, the best fit often sits on its edge (base 0)
    and a bootstrap refitted from the best fit stays there. Here the level is held at
    ``n_levels`` points from 0 to the channel's mean weekly revenue (no media effect at
    all), everything else refitted (from the best fit), and each point weighted by its
    relative likelihood (:func:`profile_weights`).

    Args:
        model: the channel's fitted model (weeks, lift tests and priors in its residuals).
        best: its best parameters (scaled).
        n_levels: points on the ridge (>= 2).

    Returns:
        The :class:`BaseProfile`.
    """
    top = max(float(np.mean(model.y)) / model.r_scale, float(best[0]), 1e-9)
    levels = np.linspace(0.0, top, max(int(n_levels), 2))
    zs = np.zeros((len(levels), len(best)))
    costs = np.zeros(len(levels))
    # from the level nearest the best fit outwards, each refit started from its neighbour's
    # (the ridge moves smoothly, so few iterations are needed)
    first = int(np.argmin(np.abs(levels - best[0])))
    for order in (range(first, len(levels)), range(first - 1, -1, -1)):
        start = best
        for i in order:
            zs[i], costs[i] = model.solve(start, model.y, base=float(levels[i]))
            start = zs[i]
    res = model.y / model.r_scale - model.fitted(best)[model.mask]
    rho = float(np.corrcoef(res[1:], res[:-1])[0, 1]) if len(res) > 2 and res.std() > 0 else 0.0
    sigma2 = float(res @ res) / max(len(res), 1)
    return BaseProfile(levels, zs, costs, profile_weights(costs, sigma2, rho))


def _grid(spend: pd.DataFrame, revenue: pd.DataFrame, ids: list[str]):
    sp = spend.assign(week_start=pd.to_datetime(spend["week_start"]))
    rv = revenue.assign(week_start=pd.to_datetime(revenue["week_start"]))
    s = sp.pivot_table(index="week_start", columns="channel_id", values="spend", aggfunc="sum")
    r = rv.pivot_table(index="week_start", columns="channel_id", values="revenue", aggfunc="sum")
    lo = max(s.index.min(), r.index.min())
    hi = min(s.index.max(), r.index.max())
    weeks = pd.date_range(lo, hi, freq="7D")
    S = s.reindex(index=weeks, columns=ids).fillna(0.0)
    R = r.reindex(index=weeks, columns=ids)
    return weeks, S, R


def fit_joint_response(
    spend: pd.DataFrame | None,
    revenue: pd.DataFrame,
    channels: pd.DataFrame,
    lift_tests: pd.DataFrame | None = None,
    min_weeks: int = 26,
    n_boot: int = 100,
    n_starts: int = 6,
    block: int = 4,
    passes: int = 2,
    halo_terms: bool = False,
    shared_demand: bool = True,
    prior_sd: float = 1.0,
    seed: int = 0,
    base_terms: str = "calendar",
    initial_adstock: str = "steady",
    max_slope: float | None = None,
    profile_levels: int = PROFILE_LEVELS,
    cross_channel_sd: float = CROSS_CHANNEL_SD,
    **prior_kw,
) -> pd.DataFrame:
    """Fit the joint model (module docstring) and return business-wide response curves.

    Args:
        spend: week_start, channel_id, spend (base currency per week); None = no history.
        revenue: week_start, channel_id, revenue (base currency per week, net revenue).
        channels: channels.csv (channel_id and the prior columns for unfitted channels).
        lift_tests: :func:`read_lift_tests` output or None.
        min_weeks, n_starts, block, base_terms, initial_adstock, max_slope: as for
            :func:`fit_response_curves`; prior_kw goes to it for channels it cannot fit.
        n_boot: bootstrap draws (shared index across channels).
        passes: alternations between own curves and the shared-demand / halo regressors.
        profile_levels: points of the organic-level profile (:func:`base_profile`): the
            point curve is refitted at the profile's median level and the draws are spread
            over it; 0 = the least-squares point and a plain residual bootstrap around it.
        cross_channel_sd: without ``halo_terms``, the standard deviation of the prior of
            H (the share of a channel's effect that shows up on the other channels, halo
            positive, cannibalisation negative), drawn per channel and draw; 0 = none.
        seed: seeds every random step.

    Returns:
        The :func:`fit_response_curves` table (same columns, ``curve`` objects whose
        revenue_max and draws are business-wide: own media x (1 + halo_share)), plus
        halo_share (H, point) with its 90% band halo_share_lo / _hi, n_lift_tests (tests
        used in the channel's fit) and shared_demand (1 when the channel's fit used the
        shared-demand regressor). Channels the per-channel rules cannot fit keep their
        prior curve, with halo_share 0.
    """
    cross_channel_sd = check_cross_channel_sd(cross_channel_sd)
    kw = dict(min_weeks=min_weeks, seed=seed, base_terms=base_terms, n_starts=1,
              initial_adstock=initial_adstock, max_slope=max_slope, **prior_kw)  # fmt: skip
    base = fit_response_curves(spend, revenue, channels, n_boot=0, **kw)
    unfit = base["source"] != "fitted"
    if unfit.any():  # prior curves with their n_boot draws (no fit: nothing is refitted)
        pri = fit_response_curves(spend, revenue, channels[unfit.to_numpy()], n_boot=n_boot, **kw)
        base = pd.concat([base[~unfit], pri]).set_index("channel_id")
        base = base.loc[channels["channel_id"].astype(str)].reset_index()
    for col in JOINT_COLUMNS:
        base[col] = 0.0
    fit_ids = base.loc[base["source"] == "fitted", "channel_id"].astype(str).tolist()
    if spend is None or len(fit_ids) == 0:
        return base
    _require(revenue, ["week_start", "channel_id", "revenue"], "revenue")
    weeks, S, R = _grid(spend, revenue, fit_ids)
    C = calendar_regressors(weeks, base_terms).to_numpy(float)
    n = len(weeks)
    C = C[:, : max(0, min(C.shape[1], n // 4 - 5 - len(fit_ids)))]
    lifts = lift_tests if lift_tests is not None else pd.DataFrame(columns=LIFT_COLUMNS)
    rng = np.random.default_rng(seed)
    media = np.zeros((n, len(fit_ids)))
    resid = np.zeros((n, len(fit_ids)))
    level = np.zeros(len(fit_ids))
    halo = np.zeros(len(fit_ids))
    models: dict[str, tuple[_JointModel, np.ndarray]] = {}
    has_lifts = len(lifts) > 0 and lifts["channel_id"].isin(fit_ids).any()
    passes = max(passes, 1) if has_lifts else passes
    for p in range(passes + 1):
        new_media, new_resid = media.copy(), resid.copy()
        eta = np.zeros((len(fit_ids), len(fit_ids)))  # eta[a, b]: share of a's media on b
        for j, cid in enumerate(fit_ids):
            extra = []
            others = [k for k in range(len(fit_ids)) if k != j]
            if p > 0 and shared_demand:
                g = resid[:, others].sum(1) / max(level[others].sum(), 1e-9)
                extra = [g[:, None], media[:, others]] if halo_terms else [g[:, None]]
            X = np.hstack([C, *extra]) if extra else C
            y = R[cid].to_numpy(float)
            rows = _lift_rows(lifts[lifts["channel_id"] == cid], weeks) if p > 0 else []
            sigma = float(np.nanstd(resid[:, j])) if p > 0 else float(np.nanstd(y))
            m = _JointModel(
                S[cid].to_numpy(float), y, initial_adstock, X, rows, sigma, 1 + halo[j], prior_sd,
                max_slope,
            )  # fmt: skip
            m.sd = np.where(X.std(0) > 0, X.std(0), 1.0) if X.shape[1] else np.zeros(0)
            best, best_cost = None, np.inf
            starts = _starts(m, n_starts, rng)
            if cid in models:
                prev = models[cid][1]
                z_prev = np.clip(
                    np.concatenate([prev[:5], np.zeros(m.k)]), m.lower + 1e-9, m.upper - 1e-9
                )
                z_prev[5 : 5 + C.shape[1]] = np.clip(prev[5 : 5 + C.shape[1]], -5, 5)
                starts = [z_prev, *starts[:2]]
            for z0 in starts:
                z, cost = m.solve(z0, m.y)
                if cost < best_cost:
                    best, best_cost = z, cost
            assert best is not None
            models[cid] = (m, best)
            new_media[:, j] = m.media(best)
            fitted = m.fitted(best) * m.r_scale
            # the shared-demand part stays in the residual the next pass builds g from
            shared = m.coef(best)[C.shape[1]] * extra[0][:, 0] if extra else 0.0
            new_resid[:, j] = np.nan_to_num(y - fitted + shared)
            level[j] = best[0] * m.r_scale
            if p > 0 and halo_terms and shared_demand:
                coefs = m.coef(best)[C.shape[1] + 1 :]
                for k, a in enumerate(others):
                    eta[a, j] = coefs[k]
        media, resid = new_media, new_resid
        if p > 0:
            halo = eta.sum(1)
    # bootstrap: draw b of every channel's own curve and of its eta on the others
    own_draws = {cid: np.empty((n_boot, 5)) for cid in fit_ids}
    eta_draws = np.zeros((n_boot, len(fit_ids), len(fit_ids)))
    for j, cid in enumerate(fit_ids):
        m, best = models[cid]
        others = [k for k in range(len(fit_ids)) if k != j]
        se = np.array([lf.se for lf in m.lifts])
        prof = base_profile(m, best, profile_levels) if profile_levels else None
        if prof is not None:
            # the point: the median of the profile, not the ridge's edge the optimum may sit on
            k = int(np.argmin(np.abs(prof.levels - profile_median(prof))))
            best, _ = m.solve(prof.z[k], m.y, base=profile_median(prof))
            models[cid] = (m, best)
        for b in range(n_boot):
            start, organic = best, None
            if prof is not None:
                # a level from the profile likelihood (jittered within its grid cell), the
                # data as that level's fit would have made them, refitted at that level
                k = int(rng.choice(len(prof.levels), p=prof.weights))
                step = prof.levels[1] - prof.levels[0]
                organic = float(np.clip(prof.levels[k] + step * rng.uniform(-0.5, 0.5), 0.0,
                                        prof.levels[-1]))  # fmt: skip
                start = prof.z[k]
            fitted = m.fitted(start)[m.mask] * m.r_scale
            y_star = fitted + _block_resample(m.y - fitted, block, rng)
            t_star = (
                (np.array([lf.measured for lf in m.lifts]) + rng.normal(0.0, se)) / m.halo_factor
                if m.lifts
                else None
            )
            z_b, _ = m.solve(start, y_star, t_star, base=organic)
            own_draws[cid][b] = m.to_params(z_b[:5])
            if passes > 0 and halo_terms and shared_demand:
                eta_draws[b, others, j] = m.coef(z_b)[C.shape[1] + 1 :]
    H = eta_draws.sum(2)  # (n_boot, n_channels)
    if not (passes > 0 and halo_terms and shared_demand) and cross_channel_sd > 0:
        # the share of each channel's effect that lands on (or is taken from) the other
        # channels is not estimated: each draw takes it from its prior N(0, sd^2)
        H = H + rng.normal(0.0, cross_channel_sd, size=H.shape)
    out = base.set_index("channel_id")
    for j, cid in enumerate(fit_ids):
        m, best = models[cid]
        f_point = max(1.0 + halo[j], 0.0)
        draws = own_draws[cid].copy()
        draws[:, 1] *= np.maximum(1.0 + H[:, j], 0.0)
        p = m.to_params(best[:5])
        old = out.at[cid, "curve"]
        curve = ResponseCurve(
            cid, float(p[0]), float(p[1] * f_point), float(p[2]), float(p[3]), float(p[4]),
            draws=draws, source="fitted", diagnostics=dict(old.diagnostics),
        )  # fmt: skip
        fitted = m.fitted(best)[m.mask] * m.r_scale
        r = m.y - fitted
        ss = float(np.sum((m.y - m.y.mean()) ** 2))
        curve.diagnostics.update(
            r2=1.0 - float(np.sum(r**2)) / ss if ss > 0 else np.nan,
            rmse=float(np.sqrt(np.mean(r**2))),
            n_base_terms=float(m.k),
            n_lift_tests=float(len(m.lifts)),
        )
        rec = curve.to_record()
        for k, v in rec.items():
            if k != "channel_id":
                out.at[cid, k] = v
        out.at[cid, "curve"] = curve
        out.at[cid, "halo_share"] = float(halo[j])
        hj = H[:, j] if n_boot else np.array([halo[j]])
        out.at[cid, "halo_share_lo"] = float(np.quantile(hj, 0.05))
        out.at[cid, "halo_share_hi"] = float(np.quantile(hj, 0.95))
        out.at[cid, "n_lift_tests"] = float(len(m.lifts))
        out.at[cid, "shared_demand"] = 1.0 if passes > 0 and shared_demand else 0.0
    out = out.reset_index()
    return out[[*RESPONSE_CURVE_COLUMNS, *JOINT_COLUMNS, "curve"]]


def _media(curve: ResponseCurve, spend: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Weekly media revenue of a curve over a spend series, carry-over into the first week
    as if the mean spend of the history's first four weeks had run before."""
    d = curve.adstock_decay
    a = adstock(np.maximum(spend, 0.0), d, d * float(np.mean(history[:4])) / (1.0 - d))
    return curve.revenue_max * hill(a, curve.hill_half_saturation, curve.hill_slope)


def predict_lift_tests(
    curves: pd.DataFrame, spend: pd.DataFrame, lift_tests: pd.DataFrame
) -> pd.DataFrame:
    """What each fitted curve says a lift test should have measured, beside the measurement.

    The curve's media response (business-wide for :func:`fit_joint_response` curves) is run
    over the channel's weekly spend history as it happened and with the test's change taken
    out (spread over the test weeks by days), summed over the test weeks and the 8 after.

    Args:
        curves: a response-curve table (:func:`fit_joint_response` or
            :func:`fit_response_curves`) with the ``curve`` column.
        spend: week_start, channel_id, spend (base currency per week).
        lift_tests: :func:`read_lift_tests` output.

    Returns:
        One row per test of a fitted channel: channel_id, start_date, spend_change,
        measured (incremental_revenue), ci_low, ci_high, predicted, within_ci (the
        prediction inside the test's 95% interval), used_in_fit (the test's channel was
        calibrated with it). Money in base currency.
    """
    tab = curves.set_index("channel_id")
    rows = []
    for r in lift_tests.itertuples():
        cid = str(r.channel_id)
        if cid not in tab.index or tab.at[cid, "source"] != "fitted":
            continue
        cv = tab.at[cid, "curve"]
        hist = spend[spend["channel_id"].astype(str) == cid]
        weeks, S, _ = _grid(hist, hist.rename(columns={"spend": "revenue"}), [cid])
        lifts = _lift_rows(pd.DataFrame([r._asdict()]), weeks)
        if not lifts:
            continue
        s = S[cid].to_numpy(float)
        lf = lifts[0]
        pred = float((_media(cv, s, s) - _media(cv, s - lf.delta, s))[lf.window].sum())
        rows.append(
            {
                "channel_id": cid,
                "start_date": r.start_date,
                "spend_change": float(r.spend_change),
                "measured": float(r.incremental_revenue),
                "ci_low": float(r.ci_low),
                "ci_high": float(r.ci_high),
                "predicted": pred,
                "within_ci": bool(r.ci_low <= pred <= r.ci_high),
                "used_in_fit": bool(cv.diagnostics.get("n_lift_tests", 0)),
            }
        )
    cols = ["channel_id", "start_date", "spend_change", "measured", "ci_low", "ci_high",
            "predicted", "within_ci", "used_in_fit"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


#: Response models notebook 02 can fit (parameter ``response_model``).
RESPONSE_MODELS = ("per_channel", "joint", "joint_averaged")


def dataset_lift_tests(root: str | Path, channel_ids: list[str]) -> pd.DataFrame | None:
    """The dataset's ``lift_tests.csv`` checked by :func:`read_lift_tests`, or None when
    the dataset folder ``root`` has none (the file is optional)."""
    path = Path(root) / "lift_tests.csv"
    return read_lift_tests(str(path), channel_ids) if path.is_file() else None


def fit_channel_curves(
    response_model: str,
    spend: pd.DataFrame | None,
    revenue: pd.DataFrame,
    channels: pd.DataFrame,
    lift_tests: pd.DataFrame | None = None,
    min_weeks: int = 26,
    n_boot: int = 100,
    seed: int = 0,
    max_slope: float | None = None,
    cross_channel_sd: float = CROSS_CHANNEL_SD,
) -> pd.DataFrame:
    """Notebook 02's response curves from the chosen model.

    Args:
        response_model: 'per_channel' (:func:`fit_response_curves`: each channel's revenue
            on its own spend, calendar base), 'joint' (:func:`fit_joint_response` with
            :data:`JOINT_BASE`: plus the shared-demand regressor, lift-test calibration and
            weak priors) or 'joint_averaged' (the joint point curve, draws half from the
            trend-base and half from the calendar-base joint fit).
        spend, revenue, channels, min_weeks, n_boot, seed: as for the fitting functions.
        lift_tests: :func:`dataset_lift_tests` (used by 'joint' only).
        max_slope: largest Hill slope fitted (None: the fit's own bounds; 1 = concave
            curves, see :func:`~.curves.slope_bounds`).
        cross_channel_sd: prior sd of each channel's unmodelled cross-channel share in the
            joint models' draws (:func:`fit_joint_response`; not used by 'per_channel').

    Returns:
        The :data:`RESPONSE_CURVE_COLUMNS` table plus ``curve``, for either model.

    Raises:
        ValueError: an unknown response_model, or cross_channel_sd not a number >= 0.
    """
    if response_model not in RESPONSE_MODELS:
        raise ValueError(
            f"response_model must be one of {list(RESPONSE_MODELS)}, got {response_model!r}"
        )
    sd = check_cross_channel_sd(cross_channel_sd)
    kw = dict(min_weeks=min_weeks, n_boot=n_boot, seed=seed, max_slope=max_slope)
    if response_model == "per_channel":
        return fit_response_curves(spend, revenue, channels, **kw)
    if response_model == "joint":
        out = fit_joint_response(
            spend, revenue, channels, lift_tests, base_terms=JOINT_BASE, cross_channel_sd=sd, **kw
        )
        return out[[*RESPONSE_CURVE_COLUMNS, "curve"]]
    return _model_averaged(
        spend, revenue, channels, lift_tests, min_weeks, n_boot, seed, max_slope, sd
    )


def check_cross_channel_sd(value: float) -> float:
    """``value`` as a float, or ValueError naming cross_channel_sd when it is not a finite
    number >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(
            "cross_channel_sd (prior sd of the share of a channel's effect that lands on the "
            f"other channels) must be a finite number >= 0, got {value!r}"
        )
    return v


def _model_averaged(
    spend, revenue, channels, lift_tests, min_weeks, n_boot, seed, max_slope, cross_channel_sd
):
    """The joint fit with the trend base (point curve) whose draws are half its own and half
    those of the joint fit with the calendar base, so the bands carry the disagreement
    between the two ways of taking the season out, not only the residual noise."""
    half = max(n_boot // 2, 1)
    kw = dict(min_weeks=min_weeks, n_boot=half, seed=seed, max_slope=max_slope,
              cross_channel_sd=cross_channel_sd)  # fmt: skip
    a = fit_joint_response(spend, revenue, channels, lift_tests, base_terms="trend", **kw)
    b = fit_joint_response(spend, revenue, channels, lift_tests, base_terms="calendar", **kw)
    out = a[[*RESPONSE_CURVE_COLUMNS, "curve"]].copy()
    other = dict(zip(b["channel_id"].astype(str), b["curve"], strict=True))
    for i, (cid, cv) in enumerate(zip(out["channel_id"].astype(str), out["curve"], strict=True)):
        ob = other.get(cid)
        if cv is None or ob is None or cv.source != "fitted" or ob.source != "fitted":
            continue
        both = ResponseCurve(
            cid, cv.base_weekly_revenue, cv.revenue_max, cv.adstock_decay,
            cv.hill_half_saturation, cv.hill_slope, draws=np.vstack([cv.draws, ob.draws]),
            source="fitted", diagnostics=dict(cv.diagnostics),
        )  # fmt: skip
        out.at[i, "curve"] = both
        out.at[i, "n_draws"] = len(both.draws)
    return out
