"""Stage 06, evaluation: is the multi-channel operation working?

* :mod:`.scorecard`: what each channel earns once product cost, commission, fulfilment and
  marketing are paid, figure by figure (:data:`SCORECARD_DEFINITIONS`).
* :mod:`.growth`: where new customers come from, of which segment, and who is shared.
* :mod:`.plan`: 02's plan next to what each channel did lately.
* :mod:`.experiments`: difference in means, Welch, bootstrap, CUPED, SRM, calibration.
* :mod:`.policies`: what 04's and 05's policies change.
* :mod:`.summary`: the executive summary and the ranking paragraph; :mod:`.text` escapes
  every data string that enters a sentence.
* :mod:`.kpis`: one run's figures as a long table, to compare runs.
* :mod:`.source`: 03's order lines read compactly (only the columns 06 reads, one string
  per distinct value) and the guest lines left out of customer figures, counted in DuckDB.
* :mod:`.plots`: the notebook's figures.

Money is in the base currency; every finding sentence is computed from the numbers it
describes.
"""

from channelops.customers import identified_lines, left_out_text

from .experiments import (
    CORRECTIONS,
    EXPERIMENT_COLUMNS,
    RESULT_COLUMNS,
    RESULT_DEFINITIONS,
    IntervalResult,
    adjust_p_values,
    analyse_experiments,
    bootstrap_interval,
    calibrated_methods,
    calibration,
    calibration_group_size,
    calibration_text,
    cuped_adjust,
    empty_experiment_results,
    experiment_verdict,
    forest_rows,
    metric_channel,
    multiplicity_calibration,
    relative_lift_interval,
    simulate_experiments,
    srm_check,
    unit_metrics,
    welch_interval,
)
from .growth import (
    channel_overlap,
    monthly_new_customers,
    overlap_from_parquet,
    overlap_summary,
    overlap_table,
    place_from_parquet,
    place_in_segments,
    segment_lean,
    segment_lean_text,
    segment_mix,
    user_base_growth,
)
from .kpis import scorecard_kpis
from .plan import (
    PLAN_SHOWN_COLUMNS,
    budget_moves_text,
    model_fit_gap,
    model_revenue_at,
    plan_gain_text,
    plan_period_text,
    plan_text,
    plan_vs_actual,
)
from .plots import (
    plot_channel_overlap,
    plot_experiment_forest,
    plot_new_customers,
    plot_plan_vs_actual,
    plot_scorecard,
    plot_segment_mix,
)
from .policies import (
    POLICY_COLUMNS,
    fulfilment_policy_deltas,
    inventory_policy_deltas,
    policy_comparison,
    policy_text,
)
from .scorecard import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    SCORECARD_COLUMNS,
    SCORECARD_DEFINITIONS,
    SHIPMENT_COLUMNS,
    SOLD_STATUSES,
    channel_scorecard,
    first_seen,
    inventory_figures,
    ltv_figures,
    marketing_figures,
    ranking_key,
    safe_ratio,
    sales_figures,
    service_figures,
    shipment_figures,
    shipment_part,
)
from .source import (
    ARROW_COLUMNS,
    CODED_COLUMNS,
    guests_from_parquet,
    read_lines,
    shared_text,
    shipment_costs,
    with_shared_text,
)
from .summary import (
    SUMMARY_TABLE_COLUMNS,
    acquisition_text,
    channel_sentences,
    executive_summary,
    experiment_sentence,
    filler_sentences,
    growth_sentence,
    plan_sentence,
    policy_sentence,
    ranking_text,
    summary_table,
)
from .text import escape_data, money_text, names_text

__all__ = [
    "identified_lines",
    "left_out_text",
    # reading the lines
    "read_lines",
    "ARROW_COLUMNS",
    "CODED_COLUMNS",
    "shared_text",
    "shipment_costs",
    "with_shared_text",
    "guests_from_parquet",
    # scorecard
    "SOLD_STATUSES",
    "SCORECARD_DEFINITIONS",
    "SCORECARD_COLUMNS",
    "LINE_COLUMNS",
    "ORDER_COLUMNS",
    "SHIPMENT_COLUMNS",
    "safe_ratio",
    "ranking_key",
    "first_seen",
    "sales_figures",
    "shipment_figures",
    "shipment_part",
    "marketing_figures",
    "ltv_figures",
    "inventory_figures",
    "service_figures",
    "channel_scorecard",
    # growth
    "place_in_segments",
    "place_from_parquet",
    "user_base_growth",
    "monthly_new_customers",
    "segment_mix",
    "segment_lean",
    "segment_lean_text",
    "overlap_summary",
    "overlap_from_parquet",
    "channel_overlap",
    "overlap_table",
    # plan
    "PLAN_SHOWN_COLUMNS",
    "plan_vs_actual",
    "model_revenue_at",
    "plan_period_text",
    "model_fit_gap",
    "plan_gain_text",
    "budget_moves_text",
    "plan_text",
    # experiments
    "EXPERIMENT_COLUMNS",
    "RESULT_DEFINITIONS",
    "RESULT_COLUMNS",
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
    "CORRECTIONS",
    "adjust_p_values",
    "multiplicity_calibration",
    "metric_channel",
    "empty_experiment_results",
    "forest_rows",
    "calibration_group_size",
    "calibrated_methods",
    "calibration_text",
    # policies
    "POLICY_COLUMNS",
    "inventory_policy_deltas",
    "fulfilment_policy_deltas",
    "policy_comparison",
    "policy_text",
    # summary and text
    "SUMMARY_TABLE_COLUMNS",
    "channel_sentences",
    "growth_sentence",
    "experiment_sentence",
    "plan_sentence",
    "policy_sentence",
    "filler_sentences",
    "summary_table",
    "executive_summary",
    "ranking_text",
    "acquisition_text",
    "escape_data",
    "money_text",
    "names_text",
    # compare runs
    "scorecard_kpis",
    # plots
    "plot_scorecard",
    "plot_new_customers",
    "plot_segment_mix",
    "plot_channel_overlap",
    "plot_plan_vs_actual",
    "plot_experiment_forest",
]
