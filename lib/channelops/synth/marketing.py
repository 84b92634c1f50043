"""Weekly marketing spend as businesses plan it, and the true response to it.

Spend (see docs/design-notes.md, "Simulator 2: marketing"):

    log spend_{c,t} = log typical_c + gamma * log P_c(month of t) + h_c(t) + cut_c(t) + u_{c,t}

P_c is the channel's monthly plan index (the month's mean expected sales, from the calendar's
multipliers, relative to the year): budgets follow the sales calendar (holidays and
promotion months get more). h_c(t) adds a boost in the weeks with a holiday peak day. The
budget is cut by CUT_FACTOR in weeks whose previous 4 weeks of expected sales fell more than
CUT_DROP below the 13 weeks before (a demand shock or a post-holiday slump). u is AR(1) noise.
Always-on channels never go below ALWAYS_ON_FLOOR x typical; the others go dark (2% of the
plan) in their OFF_MONTHS weakest plan months.

Response of channel c in week t (revenue in CNY on channel c's own orders, gross of
cancellations and returns):

    E_t = sum_{l=0}^{L-1} w_l spend_{t-l}          (Weibull lag kernel, w sums to 1)
    R_t = revenue_max * (1 - exp(-E_t / saturation_spend))   (negative-exponential)

w_l = F(l + 1) - F(l) (normalised), F the Weibull(shape, scale) CDF in weeks: with shape > 1
the effect peaks one to three weeks after the spend. At a constant weekly spend s the stock
is E = s, so the steady-state direct response is revenue_max * (1 - exp(-s / k)).

Of the direct response R_c: a share ``new_share`` are first orders of new customers the ads
acquire; for each target b a share ``cannibalises[b]`` are orders moved from channel b (buyers
who would have bought there anyway); the rest are extra orders of existing customers. On
top, ``halo[b] * R_c`` of extra orders land on channel b (one channel's ads lift another's
organic sales). The business-wide incremental revenue of c's spend is therefore
R_c * (1 + sum halo - sum cannibalises); see ``channelops.synth.scoring.profit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from .presets import ChannelPreset
from .world import Calendar

LAG_WEEKS = 13  # kernel length
PLAN_GAMMA = 2.0  # elasticity of the budget to the month's expected sales
PEAK_BOOST = 0.35  # log boost of a week holding a holiday peak day
CUT_DROP = 0.08  # expected sales down more than this -> cut
CUT_FACTOR = 0.7
ALWAYS_ON_FLOOR = 0.5
OFF_MONTHS = 3
NOISE_SD, NOISE_RHO = 0.12, 0.5
LIFT_TESTS = 3  # lift tests per dataset (channels drawn without replacement)
LIFT_WEEKS = 4  # weeks whose spend a lift test changes
LIFT_POST_WEEKS = 8  # weeks after the change still measured (carry-over)
LIFT_CHANGES = (0.5, -0.5, -1.0)  # relative spend change of a test


def lag_kernel(shape: float, scale: float, length: int = LAG_WEEKS) -> np.ndarray:
    """Discretised Weibull lag weights w_0..w_{length-1} (sum 1); lag in weeks."""
    edges = np.arange(length + 1, dtype=float)
    cdf = 1.0 - np.exp(-np.power(edges / scale, shape))
    w = np.diff(cdf)
    return w / w.sum()


def carryover(spend: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Carried-over spend stock E_t = sum_l w_l spend_{t-l} (spend before week 0 = 0)."""
    return np.convolve(np.asarray(spend, float), kernel)[: len(spend)]


def negexp(x: np.ndarray, k: float, top: float) -> np.ndarray:
    """Negative-exponential saturation top * (1 - exp(-x / k))."""
    return top * (1.0 - np.exp(-np.maximum(np.asarray(x, float), 0.0) / k))


def _week_months(weeks: int, start: pd.Timestamp) -> np.ndarray:
    """Calendar month (1-12) of each week's Monday."""
    return (start + pd.to_timedelta(np.arange(weeks) * 7, unit="D")).month.to_numpy()


def plan_spend(
    channels: list[ChannelPreset],
    cal: Calendar,
    weeks: int,
    scale: float,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, dict], pd.DataFrame]:
    """Planned weekly spend per active channel, the drawn response shapes and lift tests.

    Args:
        cal: the calendar (expected-sales multipliers per channel and day).
        scale: business size relative to the demo (customers / 10,000).
    Returns:
        spend frame (week, channel_id, spend, impressions, clicks; lift tests applied),
        per channel {lag_shape, lag_scale, saturation_ratio, typical_spend} and the lift
        tests (channel_id, first_week, last_week, change, spend_change, planned: the spend
        series without the test).
    """
    start = cal.dates[cal.idx(0)]
    months = _week_months(weeks, start)
    T = weeks * 7
    rows, shapes, plans = [], {}, {}
    for c, ch in enumerate(channels):
        typical = ch.spend * scale
        daily = cal.mult[c, cal.idx(np.arange(T))]
        wk = daily.reshape(weeks, 7).mean(axis=1)
        # plan index: mean expected sales of the calendar month, relative to the mean
        mon = pd.Series(wk).groupby(months).mean()
        index = (mon / mon.mean()).reindex(range(1, 13)).fillna(1.0)
        logp = PLAN_GAMMA * np.log(index.to_numpy()[months - 1])
        peak = np.array(
            [(daily[7 * t : 7 * t + 7] > 1.8 * np.median(daily)).any() for t in range(weeks)]
        )
        # "sales fall -> cut": expected sales of the last 4 weeks against the 13 before
        csum = np.concatenate([[0.0], np.cumsum(cal.mult[c])])
        now = cal.idx(7 * np.arange(weeks))
        wk_full = (csum[now] - csum[now - 28]) / 28
        prev = (csum[now - 28] - csum[now - 119]) / 91
        cut = np.where(wk_full < (1 - CUT_DROP) * prev, np.log(CUT_FACTOR), 0.0)
        u = np.empty(weeks)
        e = rng.normal(0, NOISE_SD, weeks)
        u[0] = e[0]
        for t in range(1, weeks):  # weeks, not rows: ~100 iterations
            u[t] = NOISE_RHO * u[t - 1] + np.sqrt(1 - NOISE_RHO**2) * e[t]
        level = typical * np.exp(logp + PEAK_BOOST * peak + cut + u)
        level *= typical / level.mean()  # the plan's mean is the typical spend
        if ch.always_on:
            level = np.maximum(level, ALWAYS_ON_FLOOR * typical)
        else:
            off = index.sort_values().index[:OFF_MONTHS].to_numpy()
            level = np.where(np.isin(months, off), 0.02 * level, level)
        plans[ch.id] = level
        shapes[ch.id] = {
            "lag_shape": float(rng.uniform(1.6, 2.6)),
            "lag_scale": float(ch.lag_weeks * rng.uniform(0.85, 1.15)),
            "saturation_ratio": float(ch.saturation * rng.uniform(0.85, 1.15)),
            "typical_spend": float(typical),
            "cpm": float(rng.uniform(20, 60)),
            "ctr": float(rng.uniform(0.008, 0.03)),
        }
    tests = _plan_lift_tests(channels, plans, weeks, rng)
    for ch in channels:
        spend = plans[ch.id].copy()
        for r in tests.loc[tests["channel_id"] == ch.id].itertuples():
            spend[r.first_week : r.last_week + 1] *= 1 + r.change
        spend = np.round(spend, 2)
        sh = shapes[ch.id]
        imps = np.floor(spend / sh["cpm"] * 1000 * np.exp(rng.normal(0, 0.1, weeks))).astype(
            np.int64
        )
        rows.append(
            pd.DataFrame(
                {
                    "week": np.arange(weeks),
                    "channel_id": ch.id,
                    "spend": spend,
                    "impressions": imps,
                    "clicks": rng.binomial(imps, sh["ctr"]),
                }
            )
        )
    if len(tests):
        tests["planned"] = [np.round(plans[c], 2) for c in tests["channel_id"]]
        tests["spend_change"] = [
            float(np.round(plans[r.channel_id][r.first_week : r.last_week + 1], 2).sum() * r.change)
            for r in tests.itertuples()
        ]
    return pd.concat(rows, ignore_index=True), shapes, tests


def _plan_lift_tests(
    channels: list[ChannelPreset], plans: dict[str, np.ndarray], weeks: int, rng
) -> pd.DataFrame:
    """Lift tests: distinct channels, windows (test + post weeks) spaced through the second
    half of the history, moved to the nearest weeks where the plan spends (no dark week)."""
    span = LIFT_WEEKS + LIFT_POST_WEEKS
    n = min(LIFT_TESTS, len(channels), max(0, (weeks // 2) // span))
    if n == 0:
        return pd.DataFrame(columns=["channel_id", "first_week", "last_week", "change"])
    picks = rng.choice(len(channels), n, replace=False)
    slots = weeks // 2 + span * np.arange(n)
    out = []
    for j, (c, s0) in enumerate(zip(picks, slots, strict=True)):
        cid = channels[c].id
        first = int(s0 + rng.integers(0, 2))
        first = min(first, weeks - span)
        # a test changes spend the plan has: move past dark weeks (backwards at the end)
        live = plans[cid] > 0.3 * plans[cid].mean()
        ok = [w for w in range(weeks - span + 1) if live[w : w + LIFT_WEEKS].all()]
        if ok:
            first = min(ok, key=lambda w: (abs(w - first), w))
        change = LIFT_CHANGES[j % len(LIFT_CHANGES)]
        out.append(
            {
                "channel_id": cid,
                "first_week": first,
                "last_week": first + LIFT_WEEKS - 1,
                "change": float(change),
            }
        )
    return pd.DataFrame(out)


def calibrate(
    shapes: dict[str, dict],
    channels: list[ChannelPreset],
    organic_weekly: dict[str, float],
) -> pd.DataFrame:
    """True response parameters per channel.

    revenue_max is set so the direct response at typical spend is mkt_ratio x the channel's
    organic weekly revenue, or, for a channel with ``roas`` set, roas x typical spend
    (business-wide, halo and cannibalisation included).

    Returns:
        channel_id, response_family, lag_shape, lag_scale_weeks, lag_peak_week,
        lag_mean_weeks, saturation_spend, saturation_revenue_max, new_customer_share,
        net_halo_share (sum halo - sum cannibalised), typical_spend, base_weekly_revenue
        (first estimate, replaced by the realised mean), and the Hill-equivalent columns
        (``hill_equivalent``; the truth writer recomputes them with realised order values).
    """
    out = []
    for ch in channels:
        s = shapes[ch.id]
        w = lag_kernel(s["lag_shape"], s["lag_scale"])
        typ = s["typical_spend"]
        k = max(typ * s["saturation_ratio"], 1.0)
        frac = 1.0 - np.exp(-typ / k)
        net = 1.0 + sum(ch.halo.values()) - sum(ch.cannibalises.values())
        base = max(organic_weekly.get(ch.id, 0.0), 1.0)
        top = (ch.roas * typ / net if ch.roas else ch.mkt_ratio * base) / frac
        out.append(
            {
                "channel_id": ch.id,
                "response_family": "weibull_lag_negexp",
                "lag_shape": round(s["lag_shape"], 4),
                "lag_scale_weeks": round(s["lag_scale"], 4),
                "lag_peak_week": int(np.argmax(w)),
                "lag_mean_weeks": float(np.dot(np.arange(len(w)), w)),
                "saturation_spend": round(k, 2),
                "saturation_revenue_max": round(float(top), 2),
                "new_customer_share": ch.new_share,
                "net_halo_share": round(net - 1.0, 4),
                "typical_spend": round(typ, 2),
                "base_weekly_revenue": round(base, 2),
            }
        )
    return hill_equivalent(pd.DataFrame(out))


def hill_equivalent(curves: pd.DataFrame) -> pd.DataFrame:
    """Add the closest geometric-adstock + Hill curve to each channel's true steady-state
    business-wide incremental revenue, for scoring code that needs a ``ResponseCurve``.

    It is NOT the generating process: decay matches the kernel's mean lag (a geometric
    kernel with decay d has mean lag d / (1 - d)); revenue_max, hill_half_saturation (in
    adstocked spend) and hill_slope are least squares on 0-3x typical spend.
    """
    cols = {"adstock_decay": [], "hill_half_saturation": [], "hill_slope": [], "revenue_max": []}
    for r in curves.itertuples():
        d = min(r.lag_mean_weeks / (1.0 + r.lag_mean_weeks), 0.9)
        s = np.linspace(0.0, 3.0 * r.typical_spend, 61)[1:]
        y = (1 + r.net_halo_share) * negexp(s, r.saturation_spend, r.saturation_revenue_max)
        a = s / (1 - d)

        def resid(z, a=a, y=y):
            top, half, slope = np.exp(z)
            xs = np.power(a / half, slope)
            return (top * xs / (1 + xs) - y) / max(y.max(), 1.0)

        z0 = np.log([y.max() * 1.5, a[20], 1.0])
        z = least_squares(
            resid, z0, bounds=(np.log([1e-6, 1e-6, 0.5]), np.log([1e12, 1e12, 4.0]))
        ).x
        top, half, slope = np.exp(z)
        cols["adstock_decay"].append(round(d, 4))
        cols["hill_half_saturation"].append(round(float(half), 2))
        cols["hill_slope"].append(round(float(slope), 4))
        cols["revenue_max"].append(round(float(top), 2))
    return curves.assign(**cols)


def direct_response(curves: pd.DataFrame, spend: pd.DataFrame, weeks: int) -> np.ndarray:
    """(channels, weeks) expected direct response R_t in curves' channel order."""
    out = np.zeros((len(curves), weeks))
    for c, r in enumerate(curves.itertuples()):
        s = spend.loc[spend["channel_id"] == r.channel_id].sort_values("week")["spend"]
        out[c] = response_of(r, s.to_numpy())
    return out


def response_of(curve, spend: np.ndarray) -> np.ndarray:
    """Direct response series of one channel (a curves row) to a weekly spend series."""
    w = lag_kernel(curve.lag_shape, curve.lag_scale_weeks)
    return negexp(carryover(spend, w), curve.saturation_spend, curve.saturation_revenue_max)


def stock_of(curve, spend: np.ndarray) -> np.ndarray:
    """Carried-over spend stock E_t of one channel (a curves row)."""
    return carryover(spend, lag_kernel(curve.lag_shape, curve.lag_scale_weeks))
