"""Identity resolution scored against the simulator's true buyer identities."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pairwise_link_scores"]


def pairwise_link_scores(links: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision, recall and F1 of identity links against known identities.

    A pair is two channel buyers; it is *predicted* when both get the same ``customer_id``
    in ``links`` and *true* when both have the same ``customer_id`` in ``truth``. Only buyers
    present in both tables are scored.

    Args:
        links: channel_id, buyer_ref, customer_id (from :func:`link_buyers`).
        truth: channel_id, buyer_ref, customer_id (e.g. the simulator's buyer identities).

    Returns:
        ``precision``, ``recall``, ``f1``, ``true_pairs``, ``predicted_pairs``,
        ``correct_pairs``, ``buyers``.
    """
    key = ["channel_id", "buyer_ref"]
    m = (
        links[[*key, "customer_id"]]
        .astype("string")
        .merge(truth[[*key, "customer_id"]].astype("string"), on=key, suffixes=("_pred", "_true"))
    )

    def pairs(sizes: pd.Series) -> int:
        n = sizes.to_numpy(dtype=np.int64)
        return int((n * (n - 1) // 2).sum())

    correct = pairs(m.groupby(["customer_id_pred", "customer_id_true"]).size())
    predicted = pairs(m.groupby("customer_id_pred").size())
    true = pairs(m.groupby("customer_id_true").size())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "buyers": len(m),
    }
