"""Customer segmentation: features from order history, RFM scores, K-means segments.

Inputs are canonical, accepted order lines of the channels whose buyers carry CRM ids
(``channelops.canonical`` output: ``buyer_ref`` is the customer id, ``revenue_base`` in the
base currency, ``order_ts_local`` in the reporting timezone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PURCHASE_STATUSES",
    "customer_orders",
    "customer_features",
    "rfm_scores",
    "SegmentModel",
    "fit_segments",
    "segment_profiles",
]

#: Statuses that count as a purchase (cancelled and returned lines do not).
PURCHASE_STATUSES = ("placed", "paid", "shipped", "delivered")
#: Features the K-means model is fitted on (log1p then standardised).
CLUSTER_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "aov")


def customer_orders(lines: pd.DataFrame) -> pd.DataFrame:
    """Purchases per customer and order: one row per (customer_id, order_id).

    Args:
        lines: canonical lines with buyer_ref (= customer id), order_id, order_ts_local,
            revenue_base, status.

    Returns:
        customer_id, order_id, channel_id, order_ts (local, naive), revenue (base currency).
    """
    buys = lines.loc[lines["status"].isin(PURCHASE_STATUSES)]
    orders = buys.groupby(["buyer_ref", "order_id"], observed=True, sort=False).agg(
        channel_id=("channel_id", "first"),
        order_ts=("order_ts_local", "min"),
        revenue=("revenue_base", "sum"),
    )
    orders.index = orders.index.set_names(["customer_id", "order_id"])
    return orders.reset_index()


def customer_features(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Recency, frequency, monetary value, tenure and average order value per customer.

    Args:
        orders: from :func:`customer_orders`.
        as_of: the observation date (features are measured at this instant).

    Returns:
        Indexed by customer_id: recency_days (days since the last order), frequency
        (number of orders), monetary (total revenue, base currency), tenure_days (days since
        the first order), aov (monetary / frequency), first_order, last_order.
    """
    if orders.empty:
        raise ValueError("no purchases to build customer features from")
    g = orders.groupby("customer_id")
    feats = pd.DataFrame(
        {
            "first_order": g["order_ts"].min(),
            "last_order": g["order_ts"].max(),
            "frequency": g["order_id"].nunique(),
            "monetary": g["revenue"].sum(),
        }
    )
    day = pd.Timedelta(days=1)
    feats["recency_days"] = (as_of - feats["last_order"]) / day
    feats["tenure_days"] = (as_of - feats["first_order"]) / day
    feats["aov"] = feats["monetary"] / feats["frequency"]
    return feats[["recency_days", "frequency", "monetary", "tenure_days", "aov", "first_order", "last_order"]]


def rfm_scores(features: pd.DataFrame, n_bins: int = 5) -> pd.DataFrame:
    """Quantile RFM scores 1..n_bins (n_bins best: recent, frequent, high spend).

    Ties are broken by rank so every bin is used even with many equal frequencies.
    """
    def score(values: pd.Series, ascending: bool) -> pd.Series:
        ranks = values.rank(method="first", ascending=ascending)
        return pd.qcut(ranks, q=min(n_bins, len(values)), labels=False).astype(int) + 1

    out = pd.DataFrame(
        {
            "r_score": score(features["recency_days"], ascending=False),
            "f_score": score(features["frequency"], ascending=True),
            "m_score": score(features["monetary"], ascending=True),
        },
        index=features.index,
    )
    out["rfm_cell"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    return out


@dataclass
class SegmentModel:
    """A fitted segmentation that can place new customers: scaler, K-means and names."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    kmeans: object
    names: dict[int, str]

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        x = np.log1p(features[list(self.features)].clip(lower=0).to_numpy(float))
        return (x - self.mean) / self.scale

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Segment name of each customer (index kept)."""
        labels = self.kmeans.predict(self.transform(features))
        return pd.Series([self.names[int(k)] for k in labels], index=features.index, name="segment")


def _name_clusters(centres: pd.DataFrame) -> dict[int, str]:
    """Readable names from the cluster centres (in original units), not from cluster ids."""
    names: dict[int, str] = {}
    value = centres["monetary"].rank(ascending=False)
    for k, row in centres.iterrows():
        recent = row["recency_days"] <= centres["recency_days"].median()
        frequent = row["frequency"] >= centres["frequency"].median()
        young = row["tenure_days"] <= centres["tenure_days"].quantile(0.25)
        if not recent and not young:
            base = "dormant"
        elif young and not frequent:
            base = "new"
        elif frequent and value[k] == 1:
            base = "loyal_high_value"
        elif row["aov"] <= centres["aov"].median():
            base = "bargain_hunter"
        else:
            base = "regular"
        names[int(k)] = base
    counts: dict[str, int] = {}
    for k in sorted(names, key=lambda k: -centres.loc[k, "monetary"]):
        counts[names[k]] = counts.get(names[k], 0) + 1
        if counts[names[k]] > 1:
            names[k] = f"{names[k]}_{counts[names[k]]}"
    return names


def fit_segments(features: pd.DataFrame, k: int, seed: int) -> SegmentModel:
    """K-means with ``k`` clusters on log1p-scaled :data:`CLUSTER_FEATURES`.

    Raises:
        ValueError: fewer customers than clusters.
    """
    from sklearn.cluster import KMeans

    if len(features) < k:
        raise ValueError(f"cannot form {k} segments from {len(features)} customer(s); lower k")
    x = np.log1p(features[list(CLUSTER_FEATURES)].clip(lower=0).to_numpy(float))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit((x - mean) / scale)
    labels = pd.Series(km.labels_, index=features.index)
    centres = features[list(CLUSTER_FEATURES)].groupby(labels).median()
    return SegmentModel(CLUSTER_FEATURES, mean, scale, km, _name_clusters(centres))


def segment_profiles(features: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Size, revenue share and mean features per segment."""
    df = features.join(segments)
    prof = df.groupby("segment").agg(
        customers=("frequency", "size"),
        revenue=("monetary", "sum"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
        aov=("aov", "mean"),
        tenure_days=("tenure_days", "mean"),
    )
    prof["customer_share"] = prof["customers"] / prof["customers"].sum()
    prof["revenue_share"] = prof["revenue"] / prof["revenue"].sum()
    return prof.sort_values("revenue", ascending=False).reset_index()
