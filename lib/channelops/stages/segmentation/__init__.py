"""Stage 01, segmentation: RFM, K-means segments named from their profiles, lifetime value (BG/NBD + Gamma-Gamma).

The customer features it clusters on are stage-neutral (:mod:`channelops.customers`), so that
06 and 07 place customers with the same code; they are re-exported here for the notebook."""

from channelops.customers import PURCHASE_STATUSES, customer_features, customer_orders

from . import clv
from .segments import (
    CLUSTER_FEATURES,
    SEGMENT_NAMES,
    activity_heatmap,
    rfm_scores,
    SegmentModel,
    k_selection,
    fit_segments,
    name_segments,
    segment_profiles,
    segment_migration,
    CLVResult,
    customer_lifetime_values,
    prob_alive_grid,
)

__all__ = [
    "PURCHASE_STATUSES",
    "customer_orders",
    "customer_features",
    "clv",
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
]
