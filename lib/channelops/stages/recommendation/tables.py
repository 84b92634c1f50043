"""Empty, typed versions of stage 07's tables, written when there is nothing to learn from
(no purchase of a known customer: every line a guest line, e.g. a marketplace that shares
no buyer). Stage 06 and the run's checks read the columns by name."""

from __future__ import annotations

import pandas as pd

from .evaluate import METRICS, REPEAT_EXPLORE

__all__ = [
    "RECOMMENDATION_COLUMNS",
    "RECOMMENDER_METRICS_COLUMNS",
    "ASSORTMENT_COLUMNS",
    "empty_tables",
]

#: Columns of ``recommendations`` (:func:`~.models.recommend`).
RECOMMENDATION_COLUMNS = {
    "customer_id": object,
    "rank": "int64",
    "sku": object,
    "score": float,
    "model": object,
}
#: Columns of ``recommender_metrics`` (:func:`~.evaluate.offline_evaluation`).
RECOMMENDER_METRICS_COLUMNS = {
    "split": object,
    "model": object,
    "group_by": object,
    "group": object,
    "customers": "int64",
    "k": "int64",
    **{m: float for m in METRICS},
    **{m: float for m in REPEAT_EXPLORE},
    "chosen": bool,
}
#: Columns of ``channel_assortment`` (:func:`~.assortment.build_assortment`).
ASSORTMENT_COLUMNS = {
    "channel_id": object,
    "channel_status": object,
    "rank": "int64",
    "sku": object,
    "category": "string",
    "role": object,
    "affinity_share": float,
    "expected_units": float,
    "expected_revenue": float,
    "currently_sold": bool,
}


def empty_tables() -> dict[str, pd.DataFrame]:
    """``recommendations``, ``recommender_metrics`` and ``channel_assortment`` with no rows,
    each with its columns and their dtypes."""
    spec = {
        "recommendations": RECOMMENDATION_COLUMNS,
        "recommender_metrics": RECOMMENDER_METRICS_COLUMNS,
        "channel_assortment": ASSORTMENT_COLUMNS,
    }
    return {
        name: pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
        for name, cols in spec.items()
    }
