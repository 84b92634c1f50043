"""Experiment analysis: difference in means, confidence intervals, CUPED, SRM, verdicts.

An experiment (``experiments.csv``) assigns units (customers) to ``control`` or
``treatment`` for a window ``[start_date, end_date]``. The metric of a unit is its net
revenue (base currency, the intake's ``net_revenue_base`` of its lines in the window:
cancelled and returned sales count 0, refunds and reversals subtract; units without orders
count as 0) on the experiment's channel or on every channel. The same metric over the
period just before the window is the pre-period covariate that CUPED uses; its length is
fixed by a rule stated before any outcome is seen (the ``cuped_pre_days`` parameter,
default 0 = as long as the experiment), never picked by the result it gives.

Several experiments read together are corrected for multiplicity (:func:`adjust_p_values`:
Holm's step-down or Benjamini-Hochberg); a verdict says an effect is shown only when the
interval excludes zero and the adjusted p-value is below ``1 - level``.

Estimates, per experiment, with ``t`` = treatment and ``c`` = control:

* difference in means :math:`\\hat\\Delta = \\bar y_t - \\bar y_c` with the Welch interval
  :math:`\\hat\\Delta \\pm t_{\\nu,1-\\alpha/2}\\sqrt{s_t^2/n_t + s_c^2/n_c}` (Welch-Satterthwaite
  degrees of freedom :math:`\\nu`), and a percentile bootstrap interval (units resampled
  within each group);
* relative lift :math:`\\bar y_t / \\bar y_c - 1` with a delta-method interval
  (variance :math:`s_t^2/(n_t \\bar y_c^2) + \\bar y_t^2 s_c^2 / (n_c \\bar y_c^4)`);
* CUPED (Deng et al. 2013): :math:`y^{adj} = y - \\theta (x - \\bar x)`,
  :math:`\\theta = \\mathrm{cov}(y, x)/\\mathrm{var}(x)` pooled over both groups, then the
  same Welch and delta-method intervals on :math:`y^{adj}`; the variance falls by the
  factor :math:`1 - \\rho^2`;
* sample-ratio mismatch: Pearson chi-square of the group sizes against the planned split.

Every interval function works on the last axis of 2-D arrays too, so the calibration
(:func:`calibration`) runs hundreds of simulated experiments at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from channelops.customers.guests import money_column
from channelops.frames import require_columns
from channelops.margins import CODE_SUFFIX

from .text import escape_data

__all__ = [
    "EXPERIMENT_COLUMNS",
    "RESULT_DEFINITIONS",
    "IntervalResult",
    "unit_metrics",
    "welch_interval",
    "relative_lift_interval",
    "bootstrap_interval",
    "cuped_adjust",
    "srm_check",
    "analyse_experiments",
    "experiment_verdict",
    "simulate_experiments",
    "calibration",
    "multiplicity_calibration",
    "adjust_p_values",
    "CORRECTIONS",
    "RESULT_COLUMNS",
    "metric_channel",
    "empty_experiment_results",
    "forest_rows",
    "calibration_group_size",
    "calibrated_methods",
    "calibration_text",
]

EXPERIMENT_COLUMNS = ("unit_id", "group", "start_date", "end_date", "name")

RESULT_DEFINITIONS = {
    "level": "coverage of every interval in the row",
    "n_control, n_treatment": "units assigned to each group",
    "mean_control, mean_treatment": "mean revenue per unit in the window (base currency)",
    "diff": "mean_treatment - mean_control (base currency per unit)",
    "welch_lo, welch_hi": "Welch interval of diff at the stated level",
    "boot_lo, boot_hi": "percentile bootstrap interval of diff (units resampled within groups)",
    "lift, lift_lo, lift_hi": "relative lift mean_treatment / mean_control - 1, delta-method interval",
    "p_value": "two-sided Welch t-test of diff = 0",
    "cuped_*": "the same after CUPED with the pre-period revenue as covariate (NaN without one)",
    "variance_reduction": "1 - var(adjusted) / var(raw), pooled",
    "srm_p_value": "chi-square test of the group sizes against the planned split",
    "cuped_pre_days": "length of the CUPED pre-period in days (the rule fixed before the outcome)",
    "primary_p_value": "p-value of the primary estimate (CUPED when available, else Welch)",
    "p_adjusted": "primary_p_value adjusted across the experiments of the run (correction)",
    "correction": "multiple-testing correction: holm (family-wise) or bh (false discovery)",
    "effect_shown": "True when the primary interval excludes 0 and p_adjusted < 1 - level",
    "verdict": "plain-language reading of the primary interval (CUPED when available)",
}

#: Columns of :func:`analyse_experiments`, in order.
RESULT_COLUMNS = (
    "name",
    "level",
    "start_date",
    "end_date",
    "n_control",
    "n_treatment",
    "mean_control",
    "mean_treatment",
    "diff",
    "welch_lo",
    "welch_hi",
    "p_value",
    "boot_lo",
    "boot_hi",
    "lift",
    "lift_lo",
    "lift_hi",
    "cuped_theta",
    "cuped_diff",
    "cuped_lo",
    "cuped_hi",
    "cuped_p_value",
    "cuped_lift",
    "cuped_lift_lo",
    "cuped_lift_hi",
    "variance_reduction",
    "srm_chi2",
    "srm_p_value",
    "cuped_pre_days",
    "primary_p_value",
    "p_adjusted",
    "correction",
    "effect_shown",
    "verdict",
)

#: Multiple-testing corrections :func:`adjust_p_values` knows.
CORRECTIONS = ("holm", "bh", "none")


@dataclass(frozen=True)
class IntervalResult:
    """Estimate with its interval; arrays when the inputs were 2-D (one per row)."""

    estimate: np.ndarray | float
    lo: np.ndarray | float
    hi: np.ndarray | float
    se: np.ndarray | float
    p_value: np.ndarray | float = np.nan


# ---------------------------------------------------------------------------- unit metric


def unit_metrics(
    experiments: pd.DataFrame,
    lines: pd.DataFrame,
    channel_id: str | None = None,
    pre_period: bool = True,
    pre_days: int = 0,
) -> pd.DataFrame:
    """Net revenue per unit in the window and in the pre-period before it.

    Args:
        experiments: ``experiments.csv``: unit_id, group (control/treatment), start_date,
            end_date, name.
        lines: unified order lines with customer_id, channel_id, order_ts_local (reporting
            timezone, naive) and net_revenue_base (the intake's net revenue: cancellations
            and returns out); lines without that column use revenue_base of the lines whose
            status is not cancelled or returned.
        channel_id: only lines of this channel count; None counts every channel.
        pre_period: also compute ``x``, the revenue in the ``pre_days`` days before
            ``start_date`` (the CUPED covariate; cut to the first day of data).
        pre_days: length of the pre-period in days; 0 means as long as the experiment's
            window (the default rule, fixed before the outcome).

    Returns:
        name, unit_id, group, start_date, end_date, y (window net revenue), x (pre-period
        net revenue, NaN when ``pre_period`` is False or the data start on or after
        ``start_date``), pre_days (the pre-period's length in days).

    Raises:
        ValueError: a required column is missing, a group is not control/treatment or
            ``pre_days`` is negative.
    """
    require_columns(experiments, list(EXPERIMENT_COLUMNS), "experiments")
    money = money_column(lines)
    require_columns(lines, ["customer_id", "channel_id", "order_ts_local", money], "lines")
    if pre_days < 0:
        raise ValueError(
            f"pre_days is a length in days (0 = as long as the window), got {pre_days}"
        )
    bad = set(experiments["group"].astype(str)) - {"control", "treatment"}
    if bad:
        raise ValueError(
            f"experiments: group must be 'control' or 'treatment', found {sorted(bad)}"
        )
    units = experiments[list(EXPERIMENT_COLUMNS)].copy()
    units["unit_id"] = units["unit_id"].astype(str)
    units["start_date"] = pd.to_datetime(units["start_date"]).dt.normalize()
    units["end_date"] = pd.to_datetime(units["end_date"]).dt.normalize()
    units = units.drop_duplicates(["name", "unit_id"]).reset_index(drop=True)
    # the lines of identified customers (guests are no unit) on the channel, and only the
    # columns read here: one copy, not one of every column per filter
    keep = lines["customer_id"].notna().to_numpy()
    if channel_id is not None:
        keep &= (lines["channel_id"] == channel_id).to_numpy(dtype=bool, na_value=False)
    code = "customer_id" + CODE_SUFFIX  # the customers' given codes, when the lines have them
    cols = [
        c for c in ("customer_id", "order_ts_local", money, "status", code) if c in lines.columns
    ]
    sel = lines.loc[keep, cols]
    if money == "revenue_base" and "status" in sel.columns:
        sel = sel.loc[~sel["status"].isin(["cancelled", "returned"]).to_numpy(dtype=bool)]
    day = pd.to_datetime(sel["order_ts_local"]).dt.normalize()
    left = units.reset_index()
    if code in sel.columns:
        # join on integers: each line's customer code, each unit's id looked up once among
        # the customers' texts (an id no line has: -1, matches nothing); the same pairs in
        # the same order as the merge on the id text, without a string per line
        key, left["unit_id"] = _unit_keys(sel["customer_id"], sel[code].to_numpy(np.int64), units)
    else:
        key = sel["customer_id"].astype(str).to_numpy()
    lv = pd.DataFrame(
        {"unit_id": key, "day": day.to_numpy(), "revenue": sel[money].to_numpy(float)}
    )
    lv = lv.loc[lv["unit_id"].isin(set(left["unit_id"]))]
    m = left.merge(lv, on="unit_id", how="inner")
    length = (
        m["end_date"] - m["start_date"] + pd.Timedelta(days=1)
        if pre_days <= 0
        else pd.Series(pd.Timedelta(days=pre_days), index=m.index)
    )
    in_win = (m["day"] >= m["start_date"]) & (m["day"] <= m["end_date"])
    in_pre = (m["day"] >= m["start_date"] - length) & (m["day"] < m["start_date"])
    y = m.loc[in_win].groupby("index")["revenue"].sum()
    x = m.loc[in_pre].groupby("index")["revenue"].sum()
    units["y"] = y.reindex(units.index).fillna(0.0).to_numpy()
    units["x"] = x.reindex(units.index).fillna(0.0).to_numpy()
    window_days = (units["end_date"] - units["start_date"]).dt.days + 1
    units["pre_days"] = window_days if pre_days <= 0 else pre_days
    if not pre_period or lines.empty:
        units["x"] = np.nan
    else:  # a pre-period reaching before the data is cut to the data; none at all -> NaN
        first_day = pd.to_datetime(lines["order_ts_local"]).min().normalize()
        units.loc[units["start_date"] <= first_day, "x"] = np.nan
    return units


def _unit_keys(
    customer: pd.Series, codes: np.ndarray, units: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(each line's customer code, each unit's code: the code of the customer whose id text
    is the unit id, -1 when no line has it). ``codes`` >= 0 (identified lines)."""
    if not len(codes):
        return codes, np.full(len(units), -1, dtype=np.int64)
    row_of = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    row_of[codes] = np.arange(len(codes))  # a row of each code
    present = np.unique(codes)
    texts = customer.to_numpy(dtype=object)[row_of[present]]
    lookup = {str(t): int(c) for t, c in zip(texts, present, strict=True)}
    unit_codes = np.array([lookup.get(u, -1) for u in units["unit_id"]], dtype=np.int64)
    return codes, unit_codes


# ---------------------------------------------------------------------------- intervals


def _moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    y = np.asarray(y, float)
    return y.mean(axis=-1), y.var(axis=-1, ddof=1), y.shape[-1]


def welch_interval(y_t: np.ndarray, y_c: np.ndarray, level: float = 0.95) -> IntervalResult:
    """Difference in means with the Welch interval and two-sided p-value.

    Args:
        y_t, y_c: metric per unit of treatment and control (1-D, or 2-D with one
            experiment per row, units on the last axis).
        level: central coverage of the interval.
    """
    nt, nc = np.shape(y_t)[-1], np.shape(y_c)[-1]
    if nt < 2 or nc < 2:
        raise ValueError(f"need at least 2 units per group, got {nt} treatment and {nc} control")
    mt, vt, nt = _moments(y_t)
    mc, vc, nc = _moments(y_c)
    at, ac = vt / nt, vc / nc
    se = np.sqrt(at + ac)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (at + ac) ** 2 / (at**2 / (nt - 1) + ac**2 / (nc - 1))
        t = stats.t.ppf(0.5 + level / 2, df)
        diff = mt - mc
        p = 2 * stats.t.sf(np.abs(diff / se), df)
    return IntervalResult(diff, diff - t * se, diff + t * se, se, p)


def relative_lift_interval(y_t: np.ndarray, y_c: np.ndarray, level: float = 0.95) -> IntervalResult:
    """Relative lift ``mean_t / mean_c - 1`` with a delta-method interval."""
    mt, vt, nt = _moments(y_t)
    mc, vc, nc = _moments(y_c)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = mt / mc - 1
        se = np.sqrt(vt / (nt * mc**2) + mt**2 * vc / (nc * mc**4))
    return IntervalResult(lift, lift - z * se, lift + z * se, se)


def bootstrap_interval(
    y_t: np.ndarray,
    y_c: np.ndarray,
    n_boot: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator | None = None,
    chunk: int = 250,
    workers: int = 2,
) -> IntervalResult:
    """Percentile bootstrap interval of the difference in means (1-D inputs).

    Units are resampled with replacement within each group, ``chunk`` resamples at a time
    (memory ``chunk x n`` int32 indices): the treatment's indices of a chunk, then the control's,
    drawn from ``rng`` in that order whatever ``workers`` is. With ``workers`` 2 a second
    thread averages one draw's resamples while this one draws the next (numpy leaves the
    interpreter's lock in both), so the same draws give the same means, row by row, as with
    1; each resample's mean is that of ``y[idx].mean(axis=1)``, taken a few rows at a time
    (:func:`_resample_means`) instead of over a ``chunk x n`` copy of the values.
    """
    rng = rng or np.random.default_rng(0)
    y_t, y_c = np.asarray(y_t, float), np.asarray(y_c, float)
    mean_t, mean_c = np.empty(n_boot), np.empty(n_boot)

    def draws():  # (values, indices, where their means go), in the order rng draws them
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            for y, means in ((y_t, mean_t), (y_c, mean_c)):
                # int32 below 2**31 units: numpy draws the same numbers for int32 as for
                # int64 (one 32-bit draw each), in half the memory
                kind = np.int32 if len(y) < 2**31 else np.int64
                yield y, rng.integers(0, len(y), (b, len(y)), dtype=kind), means[start : start + b]

    if workers >= 2 and n_boot > chunk:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bootstrap") as pool:
            pending = None
            for y, idx, out in draws():  # the next draw is made while the thread averages
                if pending is not None:
                    pending.result()
                pending = pool.submit(_resample_means, y, idx, out)
                del y, idx, out
            if pending is not None:
                pending.result()
    else:
        for y, idx, out in draws():
            _resample_means(y, idx, out)
    diffs = mean_t - mean_c
    q = (1 - level) / 2
    lo, hi = np.quantile(diffs, [q, 1 - q])
    return IntervalResult(y_t.mean() - y_c.mean(), lo, hi, diffs.std(ddof=1))


def _resample_means(y: np.ndarray, idx: np.ndarray, out: np.ndarray, rows: int = 16) -> None:
    """``out[:] = y[idx].mean(axis=1)``, ``rows`` resamples at a time: each row's mean is
    the same numpy reduction of the same values, without the ``len(idx) x n`` copy."""
    for r in range(0, len(idx), rows):
        out[r : r + rows] = y[idx[r : r + rows]].mean(axis=1)


def cuped_adjust(
    y_t: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, x_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CUPED: subtract ``theta (x - mean x)`` with ``theta`` pooled over both groups.

    Returns:
        (adjusted treatment, adjusted control, theta); theta is 0 where x has no variance.
    """
    y = np.concatenate([np.asarray(y_t, float), np.asarray(y_c, float)], axis=-1)
    x = np.concatenate([np.asarray(x_t, float), np.asarray(x_c, float)], axis=-1)
    xm = x.mean(axis=-1, keepdims=True)
    ym = y.mean(axis=-1, keepdims=True)
    vx = ((x - xm) ** 2).sum(axis=-1)
    cov = ((x - xm) * (y - ym)).sum(axis=-1)
    theta = np.where(vx > 0, cov / np.where(vx > 0, vx, 1.0), 0.0)
    th = np.expand_dims(theta, -1)
    nt = np.shape(y_t)[-1]
    adj = y - th * (x - xm)
    return adj[..., :nt], adj[..., nt:], theta


def srm_check(n_treatment: int, n_control: int, expected_share: float = 0.5) -> tuple[float, float]:
    """Sample-ratio-mismatch chi-square (1 df) of the group sizes.

    Args:
        n_treatment, n_control: units in each group.
        expected_share: planned share of units in treatment.

    Returns:
        (chi-square statistic, p-value). A p-value below ~0.001 means the assignment did not
        work as planned and the comparison should not be trusted.
    """
    if not 0 < expected_share < 1:
        raise ValueError(f"expected_share must be in (0, 1), got {expected_share}")
    n = n_treatment + n_control
    res = stats.chisquare([n_treatment, n_control], [n * expected_share, n * (1 - expected_share)])
    return float(res.statistic), float(res.pvalue)


# ---------------------------------------------------------------------------- multiplicity


def adjust_p_values(p_values: np.ndarray, correction: str = "holm") -> np.ndarray:
    """p-values adjusted for testing several hypotheses together, along the last axis.

    * ``holm``: Holm's step-down, controls the family-wise error rate (the chance of any
      false positive among the tests): sorted ascending, ``p_(i) (m - i + 1)`` (i = 1..m),
      made non-decreasing by a running maximum, capped at 1.
    * ``bh``: Benjamini-Hochberg, controls the false discovery rate (the expected share of
      false positives among the effects declared): ``p_(i) m / i``, made non-increasing
      from the largest down by a running minimum, capped at 1.
    * ``none``: unchanged.

    Args:
        p_values: 1-D (one family) or 2-D (one family per row) array of p-values in
            [0, 1]; NaN (a test that did not run) stays NaN and does not count in ``m``.
        correction: one of :data:`CORRECTIONS`.

    Returns:
        Adjusted p-values, same shape; an effect is declared where adjusted p < alpha.

    Raises:
        ValueError: unknown ``correction`` or a p-value outside [0, 1].
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    p = np.array(p_values, dtype=float, ndmin=1)
    finite = np.isfinite(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    if correction == "none":
        return p.reshape(np.shape(p_values))
    filled = np.where(finite, p, np.inf)  # NaN sorts last and is not counted
    m = finite.sum(axis=-1, keepdims=True)
    order = np.argsort(filled, axis=-1, kind="stable")
    ps = np.take_along_axis(filled, order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1)
    with np.errstate(invalid="ignore"):
        if correction == "holm":
            adj = np.maximum.accumulate(np.minimum(ps * (m - rank + 1), 1.0), axis=-1)
        else:
            scaled = np.minimum(ps * m / rank, 1.0)
            scaled = np.where(np.isfinite(ps), scaled, np.inf)
            adj = np.flip(np.minimum.accumulate(np.flip(scaled, -1), axis=-1), -1)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    out = np.where(finite, out, np.nan)
    return out.reshape(np.shape(p_values))


# ---------------------------------------------------------------------------- analysis


def analyse_experiments(
    units: pd.DataFrame,
    level: float = 0.95,
    n_boot: int = 2000,
    expected_share: float = 0.5,
    srm_alpha: float = 0.001,
    rng: np.random.Generator | None = None,
    correction: str = "holm",
) -> pd.DataFrame:
    """One row per experiment: the estimates, intervals, checks and a verdict.

    Args:
        units: from :func:`unit_metrics` (name, group, y, x, and pre_days when known).
        level: interval coverage.
        n_boot: bootstrap resamples.
        expected_share: planned treatment share, for the SRM check.
        srm_alpha: SRM p-value below which the verdict warns.
        rng: random generator for the bootstrap.
        correction: multiple-testing correction across the experiments
            (:func:`adjust_p_values`): holm, bh or none.

    Returns:
        The columns of :data:`RESULT_DEFINITIONS`, one row per experiment name.

    Raises:
        ValueError: a column is missing or ``correction`` is unknown.
    """
    require_columns(units, ["name", "group", "y", "x"], "units")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    rng = rng or np.random.default_rng(0)
    rows = [
        _experiment_row(name, g, level, n_boot, expected_share, rng)
        for name, g in units.groupby("name", sort=True)
    ]
    out = pd.DataFrame(rows).reindex(columns=list(RESULT_COLUMNS))
    primary = out["cuped_p_value"].where(out["cuped_diff"].notna(), out["p_value"])
    out["primary_p_value"] = primary.astype(float)
    out["p_adjusted"] = adjust_p_values(out["primary_p_value"].to_numpy(float), correction)
    out["correction"] = correction
    lo, hi = _primary_bounds(out)
    out["effect_shown"] = ((lo > 0) | (hi < 0)) & (out["p_adjusted"] < 1 - level)
    out["verdict"] = [
        r["verdict"]
        if pd.notna(r["verdict"])
        else experiment_verdict(r, level, srm_alpha, len(out))
        for _, r in out.iterrows()
    ]
    return out


def _primary_bounds(results: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The primary interval of every row: CUPED's where it ran, else Welch's."""
    cuped = results["cuped_diff"].notna()
    lo = results["cuped_lo"].where(cuped, results["welch_lo"]).astype(float)
    hi = results["cuped_hi"].where(cuped, results["welch_hi"]).astype(float)
    return lo, hi


def _experiment_row(
    name: object,
    g: pd.DataFrame,
    level: float,
    n_boot: int,
    expected_share: float,
    rng: np.random.Generator,
) -> dict[str, object]:
    """One experiment's row of :func:`analyse_experiments` from its units ``g``."""
    t, c = g.loc[g["group"] == "treatment"], g.loc[g["group"] == "control"]
    rec: dict[str, object] = {
        "name": name,
        "level": level,
        "start_date": g["start_date"].min(),
        "end_date": g["end_date"].max(),
        "n_control": len(c),
        "n_treatment": len(t),
        "cuped_pre_days": g["pre_days"].iloc[0] if "pre_days" in g else np.nan,
    }
    chi2, p_srm = srm_check(len(t), len(c), expected_share)
    rec.update(srm_chi2=chi2, srm_p_value=p_srm)
    if len(t) < 2 or len(c) < 2:
        rec["verdict"] = f"{name}: too few units to compare ({len(t)} treatment, {len(c)} control)."
        return rec
    yt, yc = t["y"].to_numpy(float), c["y"].to_numpy(float)
    rec.update(_raw_estimates(yt, yc, level, n_boot, rng))
    xt, xc = t["x"].to_numpy(float), c["x"].to_numpy(float)
    if np.isfinite(xt).all() and np.isfinite(xc).all() and np.concatenate([xt, xc]).std() > 0:
        rec.update(_cuped_estimates(yt, yc, xt, xc, level))
    return rec


def _raw_estimates(
    yt: np.ndarray, yc: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> dict[str, float]:
    """Means, difference with its Welch and bootstrap intervals, relative lift."""
    w = welch_interval(yt, yc, level)
    r = relative_lift_interval(yt, yc, level)
    b = bootstrap_interval(yt, yc, n_boot, level, rng)
    return dict(
        mean_control=yc.mean(),
        mean_treatment=yt.mean(),
        diff=w.estimate,
        welch_lo=w.lo,
        welch_hi=w.hi,
        p_value=w.p_value,
        boot_lo=b.lo,
        boot_hi=b.hi,
        lift=r.estimate,
        lift_lo=r.lo,
        lift_hi=r.hi,
    )


def _cuped_estimates(
    yt: np.ndarray, yc: np.ndarray, xt: np.ndarray, xc: np.ndarray, level: float
) -> dict[str, float]:
    """The cuped_* estimates and the variance reduction, with covariates ``xt``, ``xc``."""
    at, ac, theta = cuped_adjust(yt, yc, xt, xc)
    wc = welch_interval(at, ac, level)
    rc = relative_lift_interval(at, ac, level)
    raw_var = np.concatenate([yt - yt.mean(), yc - yc.mean()]).var()
    adj_var = np.concatenate([at - at.mean(), ac - ac.mean()]).var()
    return dict(
        cuped_theta=float(theta),
        cuped_diff=wc.estimate,
        cuped_lo=wc.lo,
        cuped_hi=wc.hi,
        cuped_p_value=wc.p_value,
        cuped_lift=rc.estimate,
        cuped_lift_lo=rc.lo,
        cuped_lift_hi=rc.hi,
        variance_reduction=1 - adj_var / raw_var if raw_var > 0 else np.nan,
    )


def experiment_verdict(
    row: pd.Series, level: float = 0.95, srm_alpha: float = 0.001, n_experiments: int = 1
) -> str:
    """A plain-language sentence from one row of :func:`analyse_experiments`.

    The primary estimate is CUPED's when it exists (same target, tighter interval), else the
    plain difference in means (Welch); the sentence quotes that interval in money per unit
    and as a share of the control's mean (the same interval divided by one number, so the
    two never disagree), and decides on it: an effect is said to be shown only when the
    interval excludes zero and, with several experiments, the adjusted p-value
    (``p_adjusted``, ``correction``) is below ``1 - level`` as well.

    Args:
        row: one row of :func:`analyse_experiments` (name, diff, welch_lo/hi, p_value,
            mean_control, srm_p_value, n_treatment, n_control; cuped_* when CUPED ran;
            p_adjusted and correction when known).
        level: the intervals' coverage; ``1 - level`` is the significance level.
        srm_alpha: SRM p-value below which the sentence warns.
        n_experiments: experiments read together (the family of the correction).

    Returns:
        One or two sentences; the experiment name escaped.
    """
    cuped = pd.notna(row.get("cuped_diff"))
    pre = "cuped_" if cuped else ""
    diff = float(row[f"{pre}diff"])
    lo = float(row["cuped_lo"] if cuped else row["welch_lo"])
    hi = float(row["cuped_hi"] if cuped else row["welch_hi"])
    p = float(row[f"{pre}p_value"])
    p_adj = float(row.get("p_adjusted", p)) if pd.notna(row.get("p_adjusted", p)) else p
    correction = str(row.get("correction", "none"))
    alpha = 1 - level
    mc = float(row.get("mean_control", np.nan))
    how = "CUPED-adjusted, " if cuped else ""
    share = (
        f", {lo / mc:+.1%} to {hi / mc:+.1%} of the control's mean of {mc:,.1f}"
        if np.isfinite(mc) and mc > 0
        else ""
    )
    adj = (
        f", {_CORRECTION_NAMES.get(correction, correction)}-adjusted over {n_experiments} "
        f"experiments {p_adj:.3f}"
        if n_experiments > 1 and correction != "none"
        else ""
    )
    text = (
        f"{escape_data(row['name'])}: the treatment changed net revenue per unit by "
        f"{diff:+,.1f} ({how}{level:.0%} interval {lo:+,.1f} to {hi:+,.1f}{share}; "
        f"p = {p:.3f}{adj}); "
    )
    if (lo > 0 or hi < 0) and p_adj >= alpha:
        text += (
            f"the interval excludes zero, but with {n_experiments} experiments read together "
            f"the adjusted p-value {p_adj:.3f} is not below {alpha:.2g}, so the effect is not "
            "shown: one of several tests may cross zero by chance."
        )
    elif lo > 0:
        text += (
            f"the whole interval is above zero, so the treatment raised revenue, by "
            f"{lo:,.1f} to {hi:,.1f} per unit."
        )
    elif hi < 0:
        text += (
            f"the whole interval is below zero, so the treatment lowered revenue, by "
            f"{-hi:,.1f} to {-lo:,.1f} per unit."
        )
    else:
        text += (
            "the interval includes zero: no effect could be shown at this sample size "
            "(which is not proof of no effect)."
        )
    if row["srm_p_value"] < srm_alpha:
        text += (
            f" WARNING: the group sizes ({int(row['n_treatment']):,} vs "
            f"{int(row['n_control']):,}) do not match the planned split (SRM p = "
            f"{row['srm_p_value']:.1e}); fix the assignment before trusting this result."
        )
    return text


_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


# ---------------------------------------------------------------------------- calibration


def simulate_experiments(
    n_reps: int,
    n_per_group: int,
    lift: float,
    rng: np.random.Generator,
    orders_per_unit: float = 0.4,
    heterogeneity: float = 0.5,
    order_value: float = 300.0,
    value_shape: float = 5.0,
) -> dict[str, np.ndarray | float]:
    """Simulated experiments shaped like revenue per customer, all replications at once.

    Each unit has an order rate ``lambda ~ Gamma(heterogeneity, orders_per_unit /
    heterogeneity)``; pre-period orders ~ Poisson(lambda), window orders ~ Poisson(lambda (1 +
    lift)) in treatment and Poisson(lambda) in control; each order is worth Gamma(value_shape,
    order_value / value_shape). Most units spend 0, a few spend a lot, as in real data.

    Returns:
        y_t, y_c, x_t, x_c of shape (n_reps, n_per_group), ``true_diff`` = orders_per_unit x
        order_value x lift and ``true_lift`` = lift.
    """
    shape = (n_reps, n_per_group)

    def group(mult: float) -> tuple[np.ndarray, np.ndarray]:
        lam = rng.gamma(heterogeneity, orders_per_unit / heterogeneity, shape)
        revenue = []
        for m in (1.0, mult):
            n = rng.poisson(lam * m)
            revenue.append(
                rng.gamma(np.maximum(value_shape * n, 1e-300), order_value / value_shape) * (n > 0)
            )
        return revenue[1], revenue[0]

    y_t, x_t = group(1.0 + lift)
    y_c, x_c = group(1.0)
    return {
        "y_t": y_t,
        "y_c": y_c,
        "x_t": x_t,
        "x_c": x_c,
        "true_diff": orders_per_unit * order_value * lift,
        "true_lift": lift,
    }


def calibration(
    n_reps: int = 400,
    n_per_group: int = 1000,
    lift: float = 0.12,
    level: float = 0.95,
    seed: int = 0,
    n_boot: int = 0,
    n_boot_reps: int = 200,
) -> pd.DataFrame:
    """Coverage of the true effect and false-positive rate of every interval.

    Runs ``n_reps`` simulated experiments with the true relative ``lift`` and ``n_reps`` with
    lift 0 (:func:`simulate_experiments`).

    Args:
        n_boot: bootstrap resamples per replication; 0 skips the bootstrap (it loops over
            replications, so only the first ``n_boot_reps`` are bootstrapped).

    Returns:
        One row per method (welch, relative_delta, cuped, cuped_relative, bootstrap):
        coverage (share of intervals containing the true diff or lift), fpr (share of
        lift-0 intervals excluding 0), mean_width, power (share of lift intervals excluding
        0), replications.
    """
    rng = np.random.default_rng(seed)
    eff = simulate_experiments(n_reps, n_per_group, lift, rng)
    null = simulate_experiments(n_reps, n_per_group, 0.0, rng)
    truth = {
        "welch": eff["true_diff"],
        "relative_delta": lift,
        "cuped": eff["true_diff"],
        "cuped_relative": lift,
    }
    me, mn = _interval_methods(eff, level), _interval_methods(null, level)
    rows = [
        _calibration_row(k, r.lo, r.hi, mn[k].lo, mn[k].hi, truth[k], n_reps) for k, r in me.items()
    ]
    if n_boot:
        k = min(n_boot_reps, n_reps)
        be = [
            bootstrap_interval(eff["y_t"][i], eff["y_c"][i], n_boot, level, rng) for i in range(k)
        ]
        bn = [
            bootstrap_interval(null["y_t"][i], null["y_c"][i], n_boot, level, rng) for i in range(k)
        ]
        rows.append(
            _calibration_row(
                "bootstrap",
                np.array([b.lo for b in be]),
                np.array([b.hi for b in be]),
                np.array([b.lo for b in bn]),
                np.array([b.hi for b in bn]),
                eff["true_diff"],
                k,
            )
        )
    return pd.DataFrame(rows)


def multiplicity_calibration(
    n_reps: int = 2000,
    n_experiments: int = 3,
    n_per_group: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    correction: str = "holm",
    chunk: int = 200,
) -> pd.DataFrame:
    """False positives of families of experiments where nothing works, before and after the
    multiple-testing correction.

    ``n_reps`` families of ``n_experiments`` simulated experiments with lift 0
    (:func:`simulate_experiments`), ``chunk`` families at a time (memory ``chunk x
    n_experiments x n_per_group`` per array).

    Returns:
        One row per method (welch, cuped): per_comparison_fpr (share of all tests with
        p < 1 - level, before correction), familywise_uncorrected (share of families with
        at least one such test), familywise_corrected (share of families with at least one
        adjusted p < 1 - level, :func:`adjust_p_values`; with every null true, this
        is also the false discovery rate), families, experiments, correction.

    Raises:
        ValueError: ``n_experiments`` < 1, ``n_reps`` < 1 or unknown ``correction``.
    """
    if n_experiments < 1 or n_reps < 1:
        raise ValueError(
            f"need at least one family and one experiment, got {n_reps} x {n_experiments}"
        )
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    rng = np.random.default_rng(seed)
    alpha = 1 - level
    pvals: dict[str, list[np.ndarray]] = {"welch": [], "cuped": []}
    for start in range(0, n_reps, chunk):
        b = min(chunk, n_reps - start)
        sim = simulate_experiments(b * n_experiments, n_per_group, 0.0, rng)
        methods = _interval_methods(sim, level)
        for k in pvals:
            pvals[k].append(np.asarray(methods[k].p_value).reshape(b, n_experiments))
    rows = []
    for k, parts in pvals.items():
        p = np.vstack(parts)
        adjusted = adjust_p_values(p, correction)
        rows.append(
            {
                "method": k,
                "per_comparison_fpr": float(np.mean(p < alpha)),
                "familywise_uncorrected": float(np.mean((p < alpha).any(axis=1))),
                "familywise_corrected": float(np.mean((adjusted < alpha).any(axis=1))),
                "families": n_reps,
                "experiments": n_experiments,
                "correction": correction,
            }
        )
    return pd.DataFrame(rows)


def _interval_methods(sim: dict, level: float) -> dict[str, IntervalResult]:
    """The four vectorised intervals of every simulated experiment in ``sim``."""
    at, ac, _ = cuped_adjust(sim["y_t"], sim["y_c"], sim["x_t"], sim["x_c"])
    return {
        "welch": welch_interval(sim["y_t"], sim["y_c"], level),
        "relative_delta": relative_lift_interval(sim["y_t"], sim["y_c"], level),
        "cuped": welch_interval(at, ac, level),
        "cuped_relative": relative_lift_interval(at, ac, level),
    }


def _calibration_row(
    method: str,
    lo: np.ndarray,
    hi: np.ndarray,
    null_lo: np.ndarray,
    null_hi: np.ndarray,
    truth: float,
    replications: int,
) -> dict[str, object]:
    """Coverage of ``truth`` and power from the effect intervals (lo, hi), false-positive
    rate from the no-effect intervals (null_lo, null_hi)."""
    return {
        "method": method,
        "coverage": np.mean((lo <= truth) & (truth <= hi)),
        "fpr": np.mean((null_lo > 0) | (null_hi < 0)),
        "power": np.mean((lo > 0) | (hi < 0)),
        "mean_width": np.mean(hi - lo),
        "replications": replications,
    }


# ---------------------------------------------------------------------------- reading results


def metric_channel(wanted: str, channel_ids: pd.Series) -> tuple[str | None, str | None]:
    """The channel whose revenue is the experiment metric, and a note when it cannot be.

    Args:
        wanted: the ``experiment_channel`` parameter; empty means every channel.
        channel_ids: channel_id of every order line.

    Returns:
        (``wanted`` when some line is on it, else None = every channel; a note when a
        channel was wanted but has no orders, else None).

    Raises:
        TypeError: ``wanted`` is not a string.
    """
    if not isinstance(wanted, str):
        raise TypeError(f"experiment_channel must be a string, got {type(wanted).__name__}")
    if wanted and wanted in set(channel_ids.unique()):
        return wanted, None
    if wanted:
        return None, (
            f"note: channel {wanted} has no orders here, so revenue on every channel is the metric"
        )
    return None, None


def empty_experiment_results() -> pd.DataFrame:
    """The ``experiment_results`` table of a dataset without experiments: no rows, the
    columns name and verdict."""
    return pd.DataFrame(columns=["name", "verdict"])


def forest_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Every interval of every experiment, one row each, for a forest plot.

    Args:
        results: from :func:`analyse_experiments` (name, diff, welch_lo/hi, boot_lo/hi,
            cuped_diff, cuped_lo/hi).

    Returns:
        name, method (Welch, bootstrap, and CUPED when it ran), estimate, lo, hi; all in
        base currency per unit (difference in means), experiments in the order of
        ``results``.

    Raises:
        ValueError: a column is missing.
    """
    need = [
        "name",
        "diff",
        "welch_lo",
        "welch_hi",
        "boot_lo",
        "boot_hi",
        "cuped_diff",
        "cuped_lo",
        "cuped_hi",
    ]
    require_columns(results, need, "experiment_results")
    rows = []
    for _, r in results.iterrows():
        rows += [
            (r["name"], "Welch", r["diff"], r["welch_lo"], r["welch_hi"]),
            (r["name"], "bootstrap", r["diff"], r["boot_lo"], r["boot_hi"]),
        ]
        if pd.notna(r["cuped_diff"]):
            rows.append((r["name"], "CUPED", r["cuped_diff"], r["cuped_lo"], r["cuped_hi"]))
    return pd.DataFrame(rows, columns=["name", "method", "estimate", "lo", "hi"])


def calibration_group_size(n_units: int | None) -> int:
    """Units per group of the calibration's simulated experiments: half the experiment's
    assignments (1,000 without experiments), kept within 200 to 2,000.

    Raises:
        ValueError: ``n_units`` is negative.
    """
    if n_units is not None and n_units < 0:
        raise ValueError(f"n_units counts assignments, it cannot be {n_units}")
    return int(np.clip(n_units // 2 if n_units is not None else 1000, 200, 2000))


def calibrated_methods(
    calib: pd.DataFrame, level: float = 0.95, tolerance: float = 0.02
) -> list[str]:
    """The interval methods whose intervals can be read at face value.

    Args:
        calib: from :func:`calibration` (method, coverage, fpr).
        level: the intervals' nominal coverage.
        tolerance: allowed distance (a share) of the coverage from ``level`` and of the
            false-positive rate from ``1 - level``.

    Returns:
        Methods with coverage in ``level +- tolerance`` and fpr in ``1 - level +- tolerance``
        (ends included), in the order of ``calib``.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(calib, ["method", "coverage", "fpr"], "calibration")
    cov_lo, cov_hi = round(level - tolerance, 10), round(level + tolerance, 10)
    fpr_lo, fpr_hi = round(1 - level - tolerance, 10), round(1 - level + tolerance, 10)
    ok = calib["coverage"].between(cov_lo, cov_hi) & calib["fpr"].between(fpr_lo, fpr_hi)
    return calib.loc[ok, "method"].tolist()


def calibration_text(calib: pd.DataFrame, level: float = 0.95, tolerance: float = 0.02) -> str:
    """The calibration verdict in Markdown: which methods are honest at this sample size.

    Args:
        calib, level, tolerance: as :func:`calibrated_methods`.

    Returns:
        The bands in percent, the :func:`calibrated_methods` (or "none"), and which
        intervals the verdicts use.

    Raises:
        ValueError: a column is missing.
    """
    ok = calibrated_methods(calib, level, tolerance)
    cov = f"{level - tolerance:.0%}-{level + tolerance:.0%}".replace("%-", "-")
    fpr = f"{1 - level - tolerance:.0%}-{1 - level + tolerance:.0%}".replace("%-", "-")
    return (
        f"At this sample size, within {cov} coverage and {fpr} false positives: "
        f"{', '.join(escape_data(m) for m in ok) or 'none'}. The verdicts decide on the "
        "difference-in-means intervals; the relative lift is quoted for scale."
    )
