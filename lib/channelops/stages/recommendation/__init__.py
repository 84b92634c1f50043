"""Recommendation: what to show each customer, and what to list on each channel.

Input: 03's unified ``order_lines`` (customer_id, sku, channel_id, order_ts, quantity,
status, revenue_base; the intake's is_guest, is_merchandise, demand_units) and 01's
``segments``. Purchases are implicit feedback, weighted by units and recency
(:mod:`.data`): guest lines (no customer) and non-merchandise lines (postage, fees, ...)
are left out and counted, and non-merchandise codes never enter the catalogue; four recommenders (:mod:`.models`: popularity,
segment popularity, item-item co-occurrence, ALS matrix factorisation with `implicit`,
buy-again repeat purchase) and the next-basket baselines (:mod:`.baselines`: recent
popularity, GP-TopFreq, TIFU-KNN, repeat + explore blends; :mod:`.explore`: new products
by their probability of purchase) are
compared offline on a time split (:mod:`.evaluate`); the chosen one also predicts what each
channel's customers will buy (:mod:`.assortment`).
"""

from __future__ import annotations

from .assortment import (
    ShareSums,
    affinities,
    assortment_summary,
    audience_mix,
    build_assortment,
    candidate_affinity,
    category_mix,
    channel_affinities,
    channel_affinity,
    purchase_shares,
    segment_affinity,
    share_sums,
    unit_prices,
    weekly_revenue,
)
from .baselines import (
    BASELINES,
    TIFUKNN,
    GPTopFreq,
    RecentPopularity,
    RepeatExplore,
    make_model,
)
from .data import (
    LINE_COLUMNS,
    Interactions,
    build_interactions,
    catalogue,
    left_out_sentence,
    purchase_accounting,
    purchase_lines,
    read_purchases,
    resolve_cutoff,
    sample_customers,
    time_split,
)
from .evaluate import (
    METRICS,
    REPEAT_EXPLORE,
    EvaluationResult,
    choose_model,
    customer_groups,
    customer_metrics,
    evaluate_models,
    offline_evaluation,
    summarise_metrics,
    taste_groups,
    training_inputs,
)
from .explore import FEATURES as EXPLORE_FEATURES
from .explore import (
    REPEAT_FEATURES,
    Explorer,
    ItemStats,
    NextBasket,
    explore_propensity,
    repeat_features,
)
from .findings import recommendation_findings
from .models import (
    ALS,
    UNSEGMENTED,
    BuyAgain,
    ItemItem,
    Popularity,
    Recommender,
    SegmentPopularity,
    recommend,
    top_k,
)
from .protocol import (
    BASELINE_NAMES,
    candidate_names,
    evaluation_sentences,
    group_grid,
    model_options,
)
from .tables import (
    ASSORTMENT_COLUMNS,
    RECOMMENDATION_COLUMNS,
    RECOMMENDER_METRICS_COLUMNS,
    empty_tables,
)

__all__ = [
    "recommendation_findings",
    "BASELINE_NAMES",
    "candidate_names",
    "evaluation_sentences",
    "group_grid",
    "model_options",
    "choose_model",
    "EXPLORE_FEATURES",
    "Explorer",
    "NextBasket",
    "REPEAT_FEATURES",
    "repeat_features",
    "ItemStats",
    "explore_propensity",
    "audience_mix",
    "BASELINES",
    "TIFUKNN",
    "GPTopFreq",
    "RecentPopularity",
    "RepeatExplore",
    "REPEAT_EXPLORE",
    "taste_groups",
    "training_inputs",
    "ASSORTMENT_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "RECOMMENDER_METRICS_COLUMNS",
    "empty_tables",
    "ALS",
    "BuyAgain",
    "LINE_COLUMNS",
    "METRICS",
    "UNSEGMENTED",
    "EvaluationResult",
    "Interactions",
    "ItemItem",
    "Popularity",
    "Recommender",
    "SegmentPopularity",
    "affinities",
    "assortment_summary",
    "build_assortment",
    "build_interactions",
    "catalogue",
    "candidate_affinity",
    "category_mix",
    "channel_affinities",
    "channel_affinity",
    "customer_groups",
    "customer_metrics",
    "evaluate_models",
    "left_out_sentence",
    "make_model",
    "offline_evaluation",
    "purchase_accounting",
    "purchase_lines",
    "purchase_shares",
    "ShareSums",
    "share_sums",
    "read_purchases",
    "recommend",
    "resolve_cutoff",
    "sample_customers",
    "segment_affinity",
    "summarise_metrics",
    "time_split",
    "top_k",
    "unit_prices",
    "weekly_revenue",
]
