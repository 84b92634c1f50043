"""Check against the simulator's truth: are the true category preferences recovered?

The simulator gives every customer category preferences (truth/customers.parquet,
``pref_cat_<category>``) drawn around their latent segment's taste. For each true segment g
we compare its mean true preference pi[g, k] with the category mix m[g, k] of the
recommendations its customers get, two ways:

* ``segment_spearman``: Spearman rank correlation of pi[g, :] and m[g, :] over categories,
  per segment (raw mixes; both are dominated by which categories are big overall);
* ``lift_spearman``: Spearman correlation, pooled over all (segment, category) cells, of the
  segment's lift over everyone, pi[g, k] / pi[., k], with the recommendations' lift
  m[g, k] / m[., k]. This isolates what is *specific* to a segment: a list that is the same
  for everybody (popularity) has no lift and scores about 0.

No stage reads truth/; the notebook uses this only when the dataset has a truth/ folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

__all__ = ["load_truth", "true_customer_ids", "category_preference_recovery"]


def load_truth(dataset: str | Path) -> dict[str, pd.DataFrame] | None:
    """truth/customers.parquet and truth/buyer_identity.parquet, or None when absent."""
    folder = Path(dataset) / "truth"
    files = {
        "customers": folder / "customers.parquet",
        "buyer_identity": folder / "buyer_identity.parquet",
    }
    if not all(f.exists() for f in files.values()):
        return None
    return {k: pd.read_parquet(f) for k, f in files.items()}


def true_customer_ids(
    customer_links: pd.DataFrame, buyer_identity: pd.DataFrame, customers=None
) -> pd.Series:
    """customer_id (03's) -> the true customer most of its linked channel accounts belong to.

    ``customers`` (03's ids) restricts the map to those customers (the same answers for them,
    without converting every link and identity of a large dataset); None maps everyone.
    """
    key = ["channel_id", "buyer_ref"]
    links = customer_links[[*key, "customer_id"]]
    identity = buyer_identity[[*key, "customer_id"]]
    if customers is not None:
        links = links[links["customer_id"].astype(str).isin(pd.Index(customers).astype(str))]
        refs = links["buyer_ref"].astype(str).unique()
        identity = identity[identity["buyer_ref"].astype(str).isin(refs)]
    m = links.astype(str).merge(
        identity.astype(str).rename(columns={"customer_id": "true_id"}),
        on=key,
    )
    top = m.groupby(["customer_id", "true_id"]).size().rename("n").reset_index()
    top = top.sort_values(["customer_id", "n", "true_id"], ascending=[True, False, True])
    return top.drop_duplicates("customer_id").set_index("customer_id")["true_id"]


def category_preference_recovery(
    recs: pd.DataFrame,
    products: pd.DataFrame,
    truth_customers: pd.DataFrame,
    id_map: pd.Series | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Compare each true segment's category preferences with its recommendations' mix.

    Args:
        recs: customer_id, sku (one row per recommendation).
        products: sku, category.
        truth_customers: truth/customers.parquet (customer_id, segment, pref_cat_*).
        id_map: 03's customer_id -> true customer_id (:func:`true_customer_ids`); None when
            the ids are already the true ones.

    Returns:
        (cells: true_segment, category, customers, true_preference, rec_share, true_lift,
        rec_lift; summary: segment_spearman_<segment>, mean_segment_spearman, lift_spearman).
    """
    pref_cols = [c for c in truth_customers.columns if c.startswith("pref_cat_")]
    if not pref_cols:
        raise ValueError("truth customers have no pref_cat_<category> columns")
    cats = [c[len("pref_cat_") :] for c in pref_cols]
    r = recs[["customer_id", "sku"]].astype(str)
    r = r.assign(true_id=r["customer_id"].map(id_map) if id_map is not None else r["customer_id"])
    r = r.dropna(subset=["true_id"])
    truth = truth_customers.set_index(truth_customers["customer_id"].astype(str))
    r = r[r["true_id"].isin(truth.index)]
    r = r.assign(
        segment=r["true_id"].map(truth["segment"]),
        category=r["sku"].map(products.set_index(products["sku"].astype(str))["category"]),
    )
    served = truth.loc[r["true_id"].unique()]
    true_pref = served.groupby("segment")[pref_cols].mean()
    true_pref.columns = cats
    n = served.groupby("segment").size()
    mix = pd.crosstab(r["segment"], r["category"], normalize="index").reindex(
        index=true_pref.index, columns=cats, fill_value=0.0
    )
    overall_pref = served[pref_cols].mean().set_axis(cats)
    overall_mix = r["category"].value_counts(normalize=True).reindex(cats, fill_value=0.0)
    cells = pd.DataFrame(
        {
            "true_preference": true_pref.stack(),
            "rec_share": mix.stack(),
        }
    )
    cells.index.names = ["true_segment", "category"]
    cells = cells.reset_index()
    cells["customers"] = cells["true_segment"].map(n)
    cells["true_lift"] = cells["true_preference"] / cells["category"].map(overall_pref)
    cells["rec_lift"] = cells["rec_share"] / cells["category"].map(overall_mix).replace(0, np.nan)
    summary: dict[str, float] = {}
    for g in true_pref.index:
        summary[f"segment_spearman_{g}"] = _spearman(true_pref.loc[g], mix.loc[g])
    summary["mean_segment_spearman"] = float(
        np.nanmean([summary[f"segment_spearman_{g}"] for g in true_pref.index])
    )
    ok = cells.dropna(subset=["true_lift", "rec_lift"])
    summary["lift_spearman"] = _spearman(ok["true_lift"], ok["rec_lift"])
    cols = [
        "true_segment",
        "category",
        "customers",
        "true_preference",
        "rec_share",
        "true_lift",
        "rec_lift",
    ]
    return cells[cols], summary


def _spearman(a, b) -> float:
    """Spearman's rho; 0 when either side is constant (no ranking to agree with)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)
