"""The recommended plan's uncertainty, judged on the response curves' draws: its profit
gain over the current allocation, the return and marginal return of each channel's spend,
spend that does not pay its margin trimmed back, and the findings built from these numbers.

"Now" and "plan" are scored the same way: steady-state weekly revenue at the mean season
(the fitted base is the mean over the history, calendar terms centred), each channel's own
margin (channelops.margins), same fixed costs; so they cover the same season. Money is in
base currency per week; draws are paired by index across channels (bootstrap refit d of
every channel), channels independent.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .curves import ResponseCurve
from .plan import ParetoResult, PlanModel, plan_violations

__all__ = [
    "channel_returns",
    "check_target_return",
    "front_sentence",
    "current_allocation",
    "plan_findings",
    "plan_vs_current",
    "trim_unpaid_spend",
]

_REL = 1e-4  # relative step of the numerical derivative of revenue in spend


def _steps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central-difference points around spend ``x`` (one-sided at 0): (lo, hi, width)."""
    x = np.asarray(x, dtype=float)
    h = _REL * np.maximum(x, 1.0)
    lo = np.maximum(x - h, 0.0)
    hi = x + h
    return lo, hi, hi - lo


def _marginal(curve: ResponseCurve, x: np.ndarray) -> np.ndarray:
    """dR/ds of the point curve at spends ``x`` (revenue per extra unit of spend)."""
    lo, hi, w = _steps(x)
    n = len(lo)
    r = np.asarray(curve.revenue(np.concatenate([lo, hi])), dtype=float)
    return (r[n:] - r[:n]) / w


def current_allocation(
    spend: pd.DataFrame | None, channel_ids: list[str], weeks: int = 13
) -> dict[str, float]:
    """Mean weekly spend per channel over the last ``weeks`` weeks of the spend history.

    Args:
        spend: marketing spend rows (week_start, channel_id, spend), or None.
        channel_ids: the plan's channels; a channel with no rows gets 0.
        weeks: how many of the latest weeks (over all channels) to average.

    Returns:
        ``{channel_id: weekly spend}`` (base currency per week), every channel of
        ``channel_ids``.

    Raises:
        ValueError: ``weeks`` below 1.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be >= 1, got {weeks}")
    if spend is None or spend.empty:
        return {c: 0.0 for c in channel_ids}
    wk = pd.to_datetime(spend["week_start"])
    last = sorted(wk.unique())[-weeks:]
    recent = spend.loc[wk.isin(last)]
    per = recent.groupby(recent["channel_id"].astype(str))["spend"].sum() / len(last)
    return {c: float(per.get(c, 0.0)) for c in channel_ids}


def _draw_matrix(curve: ResponseCurve | None, spend: np.ndarray, n: int) -> np.ndarray:
    """Revenue under draws 0..n-1 (the point curve where a curve has fewer), (n, len)."""
    if curve is None:
        return np.zeros((n, len(spend)))
    d = curve.revenue_draws(spend)
    if len(d) >= n:
        return d[:n]
    return np.vstack([d, np.repeat(np.asarray(curve.revenue(spend))[None, :], n - len(d), 0)])


def _n_draws(model: PlanModel) -> int:
    return max([len(c.draws) for c in model.curves.values()] + [1])


def _profit_draws(model: PlanModel, spends: Mapping[str, float], running: set[str]) -> np.ndarray:
    """Weekly profit of one allocation under every draw: sum over running channels of
    margin x revenue - spend - fixed cost."""
    n = _n_draws(model)
    total = np.zeros(n)
    for i, ch in enumerate(model.channel_ids):
        if ch not in running:
            continue
        s = float(spends.get(ch, 0.0))
        rev = _draw_matrix(model.curves.get(ch), np.array([s]), n)[:, 0]
        total += model.net_share[i] * rev - s - model.fixed_cost[i]
    return total


def plan_vs_current(
    model: PlanModel,
    plan: Mapping[str, float],
    current: Mapping[str, float],
    running_now: list[str] | None = None,
    level: float = 0.9,
) -> pd.DataFrame:
    """Profit of the plan against the current allocation, on the curve draws.

    Args:
        model: the plan model (curves with draws, margins, fixed costs).
        plan: ``{channel_id: weekly spend}`` of the plan's running channels.
        current: ``{channel_id: weekly spend}`` now (:func:`current_allocation`).
        running_now: channels running now (default: those with a fitted curve, i.e. sales
            history, plus any with current spend).
        level: central coverage of the intervals.

    Returns:
        One row per allocation (``now``, ``plan``) and ``gain`` (plan - now): profit
        (point curves), profit_mean, profit_lo, profit_hi (draw quantiles), spend, and on
        the gain row prob_positive = share of draws where the plan earns more.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if running_now is None:
        running_now = [
            c
            for c in model.channel_ids
            if (c in model.curves and model.curves[c].source == "fitted") or current.get(c, 0) > 0
        ]
    now_run, plan_run = set(running_now), set(plan)
    q = (1 - level) / 2
    draws = {
        "now": _profit_draws(model, current, now_run),
        "plan": _profit_draws(model, plan, plan_run),
    }
    draws["gain"] = draws["plan"] - draws["now"]
    point = {}
    for name, spends, run in (("now", current, now_run), ("plan", plan, plan_run)):
        z = np.array([c in run for c in model.channel_ids], dtype=float)
        s = np.array([float(spends.get(c, 0.0)) for c in model.channel_ids])
        point[name] = float(model.objectives(z[None, :], s[None, :])["profit"][0])
    point["gain"] = point["plan"] - point["now"]
    spend = {
        # in channel order: a set's order changes from process to process, and so would
        # the last digit of the sum
        "now": sum(float(current.get(c, 0.0)) for c in model.channel_ids if c in now_run),
        "plan": sum(float(v) for v in plan.values()),
    }
    spend["gain"] = spend["plan"] - spend["now"]
    rows = []
    for name, d in draws.items():
        rows.append(
            {
                "allocation": name,
                "profit": point[name],
                "profit_mean": float(d.mean()),
                "profit_lo": float(np.quantile(d, q)),
                "profit_hi": float(np.quantile(d, 1 - q)),
                "spend": spend[name],
                "prob_positive": float((d > 0).mean()) if name == "gain" else np.nan,
            }
        )
    return pd.DataFrame(rows)


def channel_returns(
    model: PlanModel, spends: Mapping[str, float], level: float = 0.9
) -> pd.DataFrame:
    """Return on each channel's spend at the given spend levels, with intervals.

    Args:
        model: the plan model (curves with draws, margins).
        spends: ``{channel_id: weekly spend}`` at which to measure (e.g. the median
            observed spend, or the plan's).
        level: central coverage of the intervals.

    Returns:
        channel_id, spend, incremental_revenue = R(s) - R(0) (with _lo/_hi), roas =
        incremental revenue / spend, mroas = dR/ds at s (revenue per extra unit of spend,
        with _lo/_hi), margin_rate, margin_return = margin_rate x mroas (profit per extra
        unit before the unit's own cost; below 1 the last unit of spend loses money),
        pays = margin_return >= 1 on the point curve. Channels with spend 0 have NaN roas.
    """
    q = (1 - level) / 2
    n = _n_draws(model)
    rows = []
    for i, ch in enumerate(model.channel_ids):
        if ch not in spends or model.curves.get(ch) is None:
            continue
        s = float(spends[ch])
        curve = model.curves[ch]
        lo, hi, w = _steps(np.array([s]))
        grid = np.array([0.0, s, lo[0], hi[0]])
        d = _draw_matrix(curve, grid, n)
        p = np.asarray(curve.revenue(grid), dtype=float)
        inc, inc_d = p[1] - p[0], d[:, 1] - d[:, 0]
        mr, mr_d = (p[3] - p[2]) / w[0], (d[:, 3] - d[:, 2]) / w[0]
        m = float(model.net_share[i])
        rows.append(
            {
                "channel_id": ch,
                "spend": s,
                "incremental_revenue": inc,
                "incremental_revenue_lo": float(np.quantile(inc_d, q)),
                "incremental_revenue_hi": float(np.quantile(inc_d, 1 - q)),
                "roas": inc / s if s > 0 else np.nan,
                "roas_lo": float(np.quantile(inc_d, q)) / s if s > 0 else np.nan,
                "roas_hi": float(np.quantile(inc_d, 1 - q)) / s if s > 0 else np.nan,
                "mroas": mr,
                "mroas_lo": float(np.quantile(mr_d, q)),
                "mroas_hi": float(np.quantile(mr_d, 1 - q)),
                "margin_rate": m,
                "margin_return": m * mr,
                "pays": bool(m * mr >= 1.0),
            }
        )
    return pd.DataFrame(rows)


def check_target_return(target_return: float) -> float:
    """``target_return`` as a float, or ValueError naming it when it is not a number > 0."""
    try:
        t = float(target_return)
    except (TypeError, ValueError):
        t = float("nan")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(
            "target_return (margin the last unit of spend must return per unit, 1 = "
            f"break-even) must be a finite number > 0, got {target_return!r}"
        )
    return t


def trim_unpaid_spend(
    model: PlanModel,
    plan: Mapping[str, float],
    tol: float = 1.0,
    grid: int = 200,
    target_return: float = 1.0,
) -> dict[str, float]:
    """Cut each channel's spend back to where the last unit of spend pays its margin.

    On the point curve, profit of a channel is margin x R(s) - s; where its derivative
    margin x R'(s) is below 1 the extra spend loses money. The spend is lowered to the
    largest s at or below the planned one with margin x R'(s) >= ``target_return`` (1 =
    break-even; 1.2 asks every last unit of spend to bring back 1.2 in margin; scanned on a grid of
    ``grid`` points, then refined by bisection, so S-shaped curves whose marginal return
    first rises are handled), or to the channel's minimum (constraints ``min_budget`` /
    fixed budget, else 0) when no such s exists. Lowering spend keeps every budget
    constraint satisfied.

    Args:
        model: the plan model.
        plan: ``{channel_id: weekly spend}`` of the running channels.
        tol: stop the bisection when the bracket is this narrow (base currency / week).
        grid: scan points between the minimum and the planned spend.
        target_return: margin the last unit of spend must return per unit of spend.

    Returns:
        The trimmed ``{channel_id: weekly spend}`` (same channels).

    Raises:
        ValueError: target_return not a finite number > 0.
    """
    target = check_target_return(target_return)
    out = {}
    for i, ch in enumerate(model.channel_ids):
        if ch not in plan:
            continue
        s = float(plan[ch])
        curve = model.curves.get(ch)
        low = float(model.fixed[i] if np.isfinite(model.fixed[i]) else model.lo[i])
        if curve is None or s <= low:
            out[ch] = s
            continue
        m = float(model.net_share[i])
        xs = np.linspace(low, s, grid)
        ok = m * _marginal(curve, xs) >= target
        if ok[-1]:
            out[ch] = s
            continue
        if not ok.any():
            out[ch] = low
            continue
        k = int(np.flatnonzero(ok)[-1])
        a, b = float(xs[k]), float(xs[k + 1])
        while b - a > tol:
            mid = 0.5 * (a + b)
            a, b = (mid, b) if m * _marginal(curve, np.array([mid]))[0] >= target else (a, mid)
        out[ch] = a
    return out


def front_sentence(
    result: ParetoResult | None, budget: float, currency: str, blocker: str = ""
) -> str:
    """The sentence notebook 02 prints after NSGA-II, built from the result.

    Args:
        result: :func:`optimise_channel_plan` output, or None when no plan was made.
        budget: the weekly budget planned (base currency per week).
        currency: the base currency code.
        blocker: why no plan was made (:func:`plan_blocker`); used when ``result`` is None.

    Returns:
        "N plans on the front from M evaluated in S s; weekly budget B CUR; every plan
        satisfies every constraint: True|False", or "No channel plan, Pareto front or
        sensitivity: <blocker>."
    """
    if result is None:
        return f"No channel plan, Pareto front or sensitivity: {blocker or 'no plan was made'}."
    ok = bool((plan_violations(result).drop(columns="plan") <= 1e-6).all().all())
    return (
        f"{len(result.front)} plans on the front from {result.n_evals:,} evaluated in "
        f"{result.seconds:.1f} s; weekly budget {budget:,.0f} {currency}; every plan "
        f"satisfies every constraint: {ok}"
    )


def plan_findings(
    comparison: pd.DataFrame,
    returns: pd.DataFrame,
    currency: str,
    trimmed: float = 0.0,
    target_return: float = 1.0,
) -> list[str]:
    """The findings sentences of 02, each built from the numbers it states.

    Args:
        comparison: :func:`plan_vs_current` table.
        returns: :func:`channel_returns` at the plan's spend.
        currency: the base currency code for the figures.
        trimmed: weekly spend removed by :func:`trim_unpaid_spend` (base currency).
        target_return: the margin per unit of spend the trim asked of the last unit.

    Returns:
        Sentences (plain text), in order.
    """
    g = comparison.set_index("allocation")
    gain, now = g.loc["gain"], g.loc["now"]
    p = float(gain["prob_positive"])
    out = []
    if gain["profit_lo"] > 0:
        verdict = "earns more than the current allocation"
    elif gain["profit_hi"] < 0:
        verdict = "earns less than the current allocation"
    else:
        verdict = "is not clearly better than the current allocation (the interval spans 0)"
    out.append(
        f"The recommended plan {verdict}: {gain['profit']:+,.0f} {currency} profit a week "
        f"(90% interval {gain['profit_lo']:+,.0f} to {gain['profit_hi']:+,.0f}) against "
        f"{now['profit']:,.0f} now; it beats the current allocation in {p:.0%} of the curve "
        "draws. Both are scored at the average season with each channel's own margin."
    )
    out.append(
        f"It spends {g.loc['plan', 'spend']:,.0f} {currency} a week against "
        f"{now['spend']:,.0f} now."
        + (
            f" {trimmed:,.0f} {currency} a week was cut back because the last units of it "
            + (
                "did not pay their margin."
                if target_return == 1.0
                else f"did not return {target_return:.2f} in margin per unit of spend."
            )
            if trimmed > 0
            else ""
        )
    )
    funded = returns[returns["spend"] > 0]
    unpaid = funded[~funded["pays"]]
    if len(funded) == 0:
        out.append("The plan funds no channel's advertising.")
    elif len(unpaid):
        names = ", ".join(unpaid["channel_id"].astype(str))
        out.append(
            f"At the planned spend the last unit of spend does not pay its margin on {names}."
        )
    else:
        lo = funded["margin_return"].min()
        out.append(
            f"Every funded channel's last unit of spend pays its margin (lowest margin "
            f"return {lo:.2f} per unit of spend)."
        )
    return out
