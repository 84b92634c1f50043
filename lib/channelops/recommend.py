"""Recommendation: what to show each customer and what to list on each channel.

Input: unified order lines with customer_id, sku, channel_id, order_ts, quantity,
revenue_base.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["popularity_recommendations", "evaluate", "channel_assortment"]


def popularity_recommendations(train: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` most bought SKUs each customer has not bought yet.

    Returns:
        customer_id, rank (1 = first), sku, score (units sold in training), model.
    """
    popularity = train.groupby("sku")["quantity"].sum().sort_values(ascending=False, kind="stable")
    top = popularity.head(k + 50)
    customers = train["customer_id"].dropna().unique()
    cand = pd.DataFrame(
        {
            "customer_id": np.repeat(customers, len(top)),
            "sku": np.tile(top.index.to_numpy(), len(customers)),
            "score": np.tile(top.to_numpy(float), len(customers)),
        }
    )
    seen = train[["customer_id", "sku"]].drop_duplicates().assign(_seen=True)
    cand = cand.merge(seen, on=["customer_id", "sku"], how="left")
    cand = cand[cand["_seen"].isna()].drop(columns="_seen")
    cand["rank"] = cand.groupby("customer_id").cumcount() + 1
    out = cand[cand["rank"] <= k].assign(model="popularity")
    return out[["customer_id", "rank", "sku", "score", "model"]].reset_index(drop=True)


def evaluate(recs: pd.DataFrame, test: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Precision@k and recall@k over customers who bought something in the test period.

    precision@k = hits / k; recall@k = hits / distinct SKUs the customer bought in the
    test period; both averaged over those customers (customers without recommendations
    count as zero hits).
    """
    truth = test[["customer_id", "sku"]].drop_duplicates()
    top = recs[recs["rank"] <= k][["customer_id", "sku"]]
    hits = truth.merge(top, on=["customer_id", "sku"]).groupby("customer_id").size()
    relevant = truth.groupby("customer_id").size()
    hits = hits.reindex(relevant.index).fillna(0)
    return pd.DataFrame(
        {
            "k": [k],
            "customers": [len(relevant)],
            "precision_at_k": [float((hits / k).mean())],
            "recall_at_k": [float((hits / relevant).mean())],
        }
    )


def channel_assortment(lines: pd.DataFrame, size: int = 20) -> pd.DataFrame:
    """The ``size`` best-selling SKUs per channel by revenue.

    Returns:
        channel_id, rank, sku, revenue (base currency), units.
    """
    agg = lines.groupby(["channel_id", "sku"], observed=True).agg(
        revenue=("revenue_base", "sum"), units=("quantity", "sum")
    )
    agg = agg.reset_index().sort_values(["channel_id", "revenue"], ascending=[True, False])
    agg["rank"] = agg.groupby("channel_id").cumcount() + 1
    return agg[agg["rank"] <= size][["channel_id", "rank", "sku", "revenue", "units"]].reset_index(drop=True)
