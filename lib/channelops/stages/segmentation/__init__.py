"""Stage 01, segmentation: RFM, K-means segments named from their profiles, lifetime value (BG/NBD + Gamma-Gamma).

* :mod:`.segments`: RFM scores, the K-means segments and their names, profiles, migration,
  and the per-customer lifetime values the notebook reads;
* :mod:`.clv`: the BG/NBD and Gamma-Gamma models themselves;
* :mod:`.rfm_segments`: named RFM segments (champions ... lost) by score rules;
* :mod:`.findings`: the sentences 01 prints as findings, built from the numbers;
* :mod:`.holdout`: the purchase forecasts scored on a holdout against a naive repeat rate;
* :mod:`.next_period`: a gradient-boosted next-period purchase-day and spend model;
* :mod:`.plots`: the choice of k and the CLV calibration against its holdout;
* :mod:`.workers`: the two workers the holdout check and the lifetime values fit on.

The customer features it clusters on are stage-neutral (:mod:`channelops.customers`, whose
Spark variant builds them when the ``engine`` parameter asks for it), so that 06 and 07
place customers with the same code; they are re-exported here for the notebook.
"""

from channelops.audience import customer_people
from channelops.customers import (
    PURCHASE_STATUSES,
    customer_features,
    customer_orders,
    identified_lines,
    left_out_text,
    money_column,
)

from . import clv, findings, holdout, next_period
from .absent import empty_segmentation_tables
from .forecast_check import HoldoutCheck, forward_next_period, holdout_check
from .plots import plot_calibration_holdout, plot_k_selection, plot_weekly_repeat_purchases
from .rfm_segments import RFM_SEGMENTS, rfm_segment_table, rfm_segments
from .segments import (
    CLUSTER_FEATURES,
    SEGMENT_NAMES,
    CLVResult,
    SegmentModel,
    activity_heatmap,
    customer_lifetime_values,
    fit_segments,
    k_selection,
    name_segments,
    prob_alive_grid,
    rfm_scores,
    segment_migration,
    segment_profiles,
)

__all__ = [
    "PURCHASE_STATUSES",
    "customer_orders",
    "customer_features",
    "customer_people",
    "identified_lines",
    "left_out_text",
    "money_column",
    "clv",
    "holdout",
    "findings",
    "RFM_SEGMENTS",
    "rfm_segments",
    "rfm_segment_table",
    "next_period",
    "empty_segmentation_tables",
    "HoldoutCheck",
    "holdout_check",
    "forward_next_period",
    "CLUSTER_FEATURES",
    "SEGMENT_NAMES",
    "activity_heatmap",
    "rfm_scores",
    "SegmentModel",
    "k_selection",
    "fit_segments",
    "name_segments",
    "segment_profiles",
    "segment_migration",
    "CLVResult",
    "customer_lifetime_values",
    "prob_alive_grid",
    "plot_k_selection",
    "plot_calibration_holdout",
    "plot_weekly_repeat_purchases",
]
