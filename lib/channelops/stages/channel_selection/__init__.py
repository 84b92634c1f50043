"""Stage 02, channel selection: response curves, reach, and a multi-objective channel plan.

* :mod:`.curves` fits ``revenue_t = base + revenue_max * hill(adstock(spend)_t)`` per
  channel with bootstrap bands, or falls back to channels.csv priors.
* :mod:`channelops.audience` (shared) scores how well each channel's audience matches each segment.
* :mod:`.plan` states the plan (which channels run, weekly spend each), its constraints and
  objectives (profit, target reach, risk), and solves it with pymoo's NSGA-II.
* :mod:`.joint` fits the curves jointly (demand shared across channels, lift-test
  calibration, weak priors) and checks them against the lift tests.
* :mod:`.exact` enumerates channel subsets for exact references (best profit, profit vs
  reach front) to check NSGA-II.
* :mod:`.plan_inputs` takes the weekly budget (when none is given) and the target segments'
  weights from the run's data.
* :mod:`.holdout` refits the curves without the latest weeks and scores them on those weeks.
* :mod:`.source` names the columns each step reads (order lines, shipment costs).
* :mod:`.plots` draws curves, Pareto projections and parallel coordinates.

Money is in the dataset's base currency per week throughout.
"""

from channelops.audience import (
    AGE_BANDS,
    TIER_BANDS,
    audience_reach,
    customer_people,
    segment_band_shares,
    segment_channel_reach,
    segment_people,
)
from channelops.margins import channel_margin_rates, margin_rate_map
from channelops.response import adstock, hill, steady_state_revenue
from channelops.revenue import REVENUE_STATUSES, weekly_channel_revenue

from .absent import (
    CHANNEL_PLAN_COLUMNS,
    curve_catalog,
    empty_channel_margins,
    empty_channel_plan,
    empty_channel_returns,
    empty_pareto_front,
    empty_plan_sensitivity,
    empty_plan_vs_current,
    plan_blocker,
)
from .curves import (
    PARAM_NAMES,
    RESPONSE_CURVE_COLUMNS,
    ResponseCurve,
    as_curve_map,
    calendar_regressors,
    fit_response_curve,
    fit_response_curves,
    prior_curve,
    slope_bounds,
)
from .exact import exact_best_plan, exact_front, hypervolume_ratio
from .holdout import (
    HOLDOUT_COLUMNS,
    HOLDOUT_WEEKS,
    curve_paths,
    empty_response_holdout,
    holdout_check,
    holdout_errors,
    holdout_sentence,
    with_trend_base,
)
from .joint import (
    CROSS_CHANNEL_SD,
    RESPONSE_MODELS,
    base_profile,
    check_cross_channel_sd,
    dataset_lift_tests,
    fit_channel_curves,
    fit_joint_response,
    predict_lift_tests,
    profile_median,
    profile_weights,
    read_lift_tests,
)
from .plan import (
    OBJECTIVES,
    ChannelPlanError,
    ChannelPlanProblem,
    ParetoResult,
    PlanConstraints,
    PlanModel,
    build_plan_model,
    channel_plan,
    evaluate_plans,
    net_margin_shares,
    non_dominated,
    optimise_channel_plan,
    plan_violations,
    plans_table,
    recommend_plan,
    repair_plans,
    sensitivity,
    validate_constraints,
)
from .plan_inputs import plan_budget, recent_weekly_budget, target_weights
from .plots import (
    plot_channel_returns,
    plot_parallel_coordinates,
    plot_pareto_2d,
    plot_response_curve,
    plot_response_curves,
)
from .source import (
    MARGIN_LINE_COLUMNS,
    SHIPMENT_COST_COLUMNS,
    WEEKLY_REVENUE_COLUMNS,
)
from .uncertainty import (
    channel_returns,
    check_target_return,
    current_allocation,
    front_sentence,
    plan_findings,
    plan_vs_current,
    trim_unpaid_spend,
)

__all__ = [
    "HOLDOUT_COLUMNS",
    "HOLDOUT_WEEKS",
    "curve_paths",
    "empty_response_holdout",
    "holdout_check",
    "holdout_errors",
    "holdout_sentence",
    "with_trend_base",
    "MARGIN_LINE_COLUMNS",
    "SHIPMENT_COST_COLUMNS",
    "WEEKLY_REVENUE_COLUMNS",
    "CROSS_CHANNEL_SD",
    "RESPONSE_MODELS",
    "base_profile",
    "check_cross_channel_sd",
    "profile_median",
    "profile_weights",
    "dataset_lift_tests",
    "fit_channel_curves",
    "fit_joint_response",
    "predict_lift_tests",
    "read_lift_tests",
    "empty_channel_margins",
    "empty_plan_vs_current",
    "empty_channel_returns",
    "channel_margin_rates",
    "margin_rate_map",
    "plot_channel_returns",
    "channel_returns",
    "check_target_return",
    "current_allocation",
    "front_sentence",
    "net_margin_shares",
    "plan_findings",
    "plan_vs_current",
    "trim_unpaid_spend",
    "CHANNEL_PLAN_COLUMNS",
    "RESPONSE_CURVE_COLUMNS",
    "audience_reach",
    "curve_catalog",
    "customer_people",
    "empty_channel_plan",
    "empty_pareto_front",
    "empty_plan_sensitivity",
    "plan_blocker",
    "plan_budget",
    "segment_people",
    "REVENUE_STATUSES",
    "weekly_channel_revenue",
    "AGE_BANDS",
    "OBJECTIVES",
    "PARAM_NAMES",
    "TIER_BANDS",
    "ChannelPlanError",
    "ChannelPlanProblem",
    "ParetoResult",
    "PlanConstraints",
    "PlanModel",
    "ResponseCurve",
    "adstock",
    "as_curve_map",
    "build_plan_model",
    "calendar_regressors",
    "channel_plan",
    "evaluate_plans",
    "exact_best_plan",
    "exact_front",
    "fit_response_curve",
    "fit_response_curves",
    "hill",
    "hypervolume_ratio",
    "non_dominated",
    "optimise_channel_plan",
    "plan_violations",
    "plans_table",
    "plot_parallel_coordinates",
    "plot_pareto_2d",
    "plot_response_curve",
    "plot_response_curves",
    "prior_curve",
    "recent_weekly_budget",
    "recommend_plan",
    "repair_plans",
    "segment_band_shares",
    "segment_channel_reach",
    "sensitivity",
    "slope_bounds",
    "steady_state_revenue",
    "target_weights",
    "validate_constraints",
]
