"""Named RFM segments by documented score rules: the families an analyst acts on.

Each customer's recency and frequency scores (from :func:`.segments.rfm_scores`, ``n`` best)
are put on a 1..5 scale (``ceil(score * 5 / bins)``) and the first rule that matches names
the segment:

======================  =================  ==========================================
segment                 rule (R, F)        what to do
======================  =================  ==========================================
champions               R >= 4, F >= 4     reward, ask for reviews, early access
loyal                   R >= 3, F >= 3     upsell, loyalty programme
promising               R >= 4, F <= 2     second purchase: onboarding, first-repeat offer
need_attention          R = 3,  F <= 2     reactivate before they slip: limited offers
cannot_lose             R = 1,  F >= 4     win back personally: they bought often
at_risk                 R <= 2, F >= 3     win-back campaigns, reminders
hibernating             R = 2,  F <= 2     low-cost reactivation
lost                    R = 1,  F <= 2     leave out of paid campaigns
======================  =================  ==========================================

The rules cover every (R, F) pair, so every customer is named; the names depend only on the
scores, so they mean the same on any data (real or simulated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.frames import require_columns

__all__ = ["RFM_SEGMENTS", "rfm_segments", "rfm_segment_table"]

#: The named segments, from the most to the least valuable, and the order the rules run in.
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "promising",
    "need_attention",
    "cannot_lose",
    "at_risk",
    "hibernating",
    "lost",
)


def rfm_segments(rfm: pd.DataFrame, bins: int = 5) -> pd.Series:
    """The named RFM segment of each customer (rules in the module docstring).

    Args:
        rfm: ``r_score`` and ``f_score`` (1..``bins``, higher is more recent / more frequent).
        bins: the number of scores per dimension the scores were cut into.

    Returns:
        Series ``rfm_segment`` (one of :data:`RFM_SEGMENTS`) on ``rfm``'s index.

    Raises:
        ValueError: a column is missing, fewer than 2 bins, or a score outside 1..bins.
    """
    require_columns(rfm, ["r_score", "f_score"], "rfm")
    if bins < 2:
        raise ValueError(f"RFM needs at least 2 bins, got {bins}")
    r_raw = rfm["r_score"].to_numpy(dtype=float)
    f_raw = rfm["f_score"].to_numpy(dtype=float)
    bad = (r_raw < 1) | (r_raw > bins) | (f_raw < 1) | (f_raw > bins)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} customers have an R or F score outside 1..{bins} "
            f"(first: {rfm.index[bad][0]!r})"
        )
    r = np.ceil(r_raw * 5 / bins)
    f = np.ceil(f_raw * 5 / bins)
    conditions = [
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r >= 4) & (f <= 2),
        (r == 3) & (f <= 2),
        (r == 1) & (f >= 4),
        (r <= 2) & (f >= 3),
        (r == 2) & (f <= 2),
        (r == 1) & (f <= 2),
    ]
    names = np.select(conditions, list(RFM_SEGMENTS), default="")
    return pd.Series(names, index=rfm.index, name="rfm_segment")


def rfm_segment_table(features: pd.DataFrame, named: pd.Series) -> pd.DataFrame:
    """Size and profile of each named segment, in the order of :data:`RFM_SEGMENTS`.

    Args:
        features: per customer ``recency_days``, ``frequency`` (orders) and ``monetary``
            (revenue, money).
        named: :func:`rfm_segments` on the same index.

    Returns:
        One row per segment present: ``rfm_segment``, ``customers``, ``customer_share``,
        ``revenue_share`` and the means of ``recency_days``, ``frequency``, ``monetary``.
    """
    require_columns(features, ["recency_days", "frequency", "monetary"], "features")
    df = features[["recency_days", "frequency", "monetary"]].join(named.rename("rfm_segment"))
    g = df.groupby("rfm_segment")
    table = g[["recency_days", "frequency", "monetary"]].mean()
    table.insert(0, "customers", g.size())
    table.insert(1, "customer_share", table["customers"] / len(df))
    total = df["monetary"].sum()
    table.insert(2, "revenue_share", g["monetary"].sum() / total if total else 0.0)
    order = [s for s in RFM_SEGMENTS if s in table.index]
    return table.loc[order].rename_axis("rfm_segment").reset_index()
