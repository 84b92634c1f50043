"""Score fitted curves and a recommended plan against known (e.g. simulated) true curves.

Used by tests and benchmarks against ``channelops.synth``'s truth; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from channelops.frames import require_columns as _require
from channelops.stages.channel_selection.curves import PARAM_NAMES, ResponseCurve, as_curve_map
from channelops.stages.channel_selection.exact import exact_best_plan
from channelops.stages.channel_selection.plan import (
    PlanConstraints,
    build_plan_model,
    evaluate_plans,
)


def curve_errors(
    fitted: pd.DataFrame | Mapping[str, ResponseCurve],
    truth: Mapping[str, ResponseCurve],
    spend_multiples: Sequence[float] = (0.5, 1.0, 2.0),
    planned: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Relative error of fitted steady-state weekly revenue against the true curve.

    Args:
        fitted: fitted curves (table or dict); only channels with a true curve are scored.
        truth: ``{channel_id: ResponseCurve}`` of the true curves (:func:`curves_from_truth`).
        spend_multiples: spend levels as multiples of the channel's median observed weekly
            spend (the fitted curve's ``spend_median`` diagnostic; 1.0 = typical spend).
        planned: optional ``{channel_id: weekly spend}`` of a plan, scored as level
            'planned' for channels it gives spend > 0.

    Returns:
        One row per channel and level: channel_id, source, n_weeks, level ('x0.5', 'x1',
        ..., 'planned'), spend, fitted, true (weekly revenue, base currency) and error
        (fitted / true - 1).
    """
    rows = []
    for cid, curve in as_curve_map(fitted).items():
        if cid not in truth:
            continue
        median = float(curve.diagnostics.get("spend_median", np.nan))
        levels = [(f"x{k:g}", k * median) for k in spend_multiples if np.isfinite(median)]
        if planned is not None and float(planned.get(cid, 0.0)) > 0:
            levels.append(("planned", float(planned[cid])))
        for name, s in levels:
            f, t = float(curve.revenue(s)), float(truth[cid].revenue(s))
            rows.append(
                {
                    "channel_id": cid,
                    "source": curve.source,
                    "n_weeks": curve.diagnostics.get("n_weeks", np.nan),
                    "level": name,
                    "spend": s,
                    "fitted": f,
                    "true": t,
                    "error": f / t - 1.0 if t else np.nan,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["channel_id", "source", "n_weeks", "level", "spend", "fitted", "true", "error"],
    )


def plan_profit_gap(
    plan: pd.Series,
    truth: Mapping[str, ResponseCurve],
    fitted: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    reach: pd.DataFrame | None,
    constraints: PlanConstraints,
    target_segments: Mapping[str, float] | None = None,
    gross_margin: float = 1.0,
    grid: int = 400,
) -> dict[str, object]:
    """A plan's true profit against the best true plan under the same constraints.

    Channels without a true curve (candidates the simulator never ran) keep their fitted or
    prior curve on both sides, so the comparison is about the channels we can check. The
    true side has no extrapolation cap (true curves are not fitted).

    Args:
        plan: the recommended plan (a front row).
        truth: true curves per channel.
        fitted: the curves the plan was chosen on.
        channels, reach, constraints, target_segments, gross_margin: as for the plan.
        grid: budget grid of :func:`exact_best_plan`.

    Returns:
        dict with true_profit (the plan on the true curves), best_true_profit and best_plan
        (:func:`exact_best_plan` on the true curves), and gap = (best - plan) / |best|.
    """
    fmap = as_curve_map(fitted)
    true_map = {c: truth.get(c, cv) for c, cv in fmap.items()}
    model = build_plan_model(true_map, channels, reach, constraints, target_segments, gross_margin)
    true_profit = float(evaluate_plans(plan, model).iloc[0]["profit"])
    best = exact_best_plan(
        true_map,
        channels,
        constraints,
        reach=reach,
        target_segments=target_segments,
        gross_margin=gross_margin,
        grid=grid,
    )
    best_profit = float(best["profit"])
    gap = (best_profit - true_profit) / abs(best_profit) if best_profit else np.nan
    return {
        "true_profit": true_profit,
        "best_true_profit": best_profit,
        "gap": gap,
        "best_plan": best,
    }


def curves_from_truth(truth: pd.DataFrame) -> dict[str, ResponseCurve]:
    """Response curves from the simulator's ``truth/response_curves.parquet`` frame.

    With simulator 2 (generator 2.0) the true process is a Weibull-lag, negative-exponential
    response with halo and cannibalisation; the table's Hill columns are the closest
    geometric + Hill curve to each channel's true business-wide steady-state response, so
    these curves approximate the truth. Score plans exactly with
    :func:`channelops.synth.scoring.profit.true_weekly_profit`.

    Args:
        truth: columns channel_id, adstock_decay, hill_half_saturation, hill_slope,
            revenue_max, base_weekly_revenue.

    Returns:
        ``{channel_id: ResponseCurve}`` with source 'truth' and no draws.
    """
    _require(truth, ["channel_id", *PARAM_NAMES], "truth")
    return {
        str(r.channel_id): ResponseCurve(
            str(r.channel_id),
            float(r.base_weekly_revenue),
            float(r.revenue_max),
            float(r.adstock_decay),
            float(r.hill_half_saturation),
            float(r.hill_slope),
            source="truth",
        )
        for r in truth.itertuples(index=False)
    }
