"""Stage 01 with no identified customer (every line of its channels a guest line, or no
line at all): its six tables written empty, with the columns they have when 01 runs.

Later stages read these tables and find no customer, no segment and no model.
"""

from __future__ import annotations

import pandas as pd

from channelops.customers import SEGMENT_MODEL_COLUMNS
from channelops.customers.sums import BASE_COLUMNS

__all__ = ["empty_segmentation_tables"]

_RFM = {"r_score": "int64", "f_score": "int64", "m_score": "int64", "rfm_cell": "object"}
_PROFILE_MEANS = ("recency_days", "frequency", "monetary", "aov", "tenure_days")


def _frame(types: dict[str, str], index: str | None = None) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=t) for c, t in types.items()})
    if index is not None:
        df.index = pd.Index([], dtype="object", name=index)
    return df


def empty_segmentation_tables() -> dict[str, pd.DataFrame]:
    """``customer_features``, ``segments``, ``segment_profiles``, ``segment_model``, ``clv``
    and ``clv_params`` with no rows (customer tables indexed by customer_id)."""
    times = {"first_order", "last_order"}
    features = {c: "datetime64[ns]" if c in times else "float64" for c in BASE_COLUMNS}
    features["frequency"] = "int64"
    profile = {"segment": "object", "customers": "int64", "customer_share": "float64"}
    profile |= {"revenue": "float64", "revenue_share": "float64"}
    profile |= dict.fromkeys(_PROFILE_MEANS, "float64")
    profile |= {"discount_share": "float64", "r_score": "float64", "f_score": "float64"}
    profile |= {"m_score": "float64", "top_categories": "object", "top_channels": "object"}
    model_types = {"label": "int64", "segment": "object", "feature": "object"}
    model = {c: model_types.get(c, "float64") for c in SEGMENT_MODEL_COLUMNS}
    clv = {"frequency": "int64", "recency": "float64", "T": "float64"}
    clv |= dict.fromkeys(
        ("monetary_value", "prob_alive", "expected_purchases", "expected_spend", "clv"), "float64"
    )
    clv["segment"] = "object"
    clv |= {"next_purchase_days": "float64", "next_spend": "float64", "next_reason": "object"}
    params = {"model": "object", "param": "object", "value": "float64", "time_unit": "object"}
    return {
        "customer_features": _frame(features | _RFM, "customer_id"),
        "segments": _frame({"segment": "object", **_RFM, "rfm_segment": "object"}, "customer_id"),
        "segment_profiles": _frame(profile),
        "segment_model": _frame(model),
        "clv": _frame(clv, "customer_id"),
        "clv_params": _frame(params),
    }
