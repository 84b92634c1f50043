"""A fitted segmentation as a table, and placing customers with it.

Stage 01 fits K-means on :func:`design_matrix` of the customer features, standardised, and
writes the result as the ``segment_model`` table (one row per segment and feature: the
standardisation and the segment's centre). Stages 06 and 07 place customers by the nearest
centre in that space, as K-means' own ``predict`` does, without importing stage 01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from channelops.customers.features import design_matrix
from channelops.frames import require_columns

__all__ = ["SEGMENT_MODEL_COLUMNS", "segment_model_table", "place_in_segments"]

#: Columns of the ``segment_model`` table.
SEGMENT_MODEL_COLUMNS = ["label", "segment", "feature", "mean", "scale", "centre"]


def segment_model_table(
    features: Sequence[str],
    mean: np.ndarray,
    scale: np.ndarray,
    centres: np.ndarray | None,
    names: Mapping[int, str],
) -> pd.DataFrame:
    """The fitted segmentation in long form.

    Args:
        features: the feature columns the model reads, in order.
        mean, scale: the standardisation of :func:`design_matrix` (one value per feature).
        centres: K-means centres in the standardised space, shape (k, features); None for
            a single segment (its centre is the origin).
        names: segment name per cluster label 0..k-1.

    Returns:
        One row per (label, feature): label, segment, feature, mean, scale, centre.
    """
    k = len(names)
    c = np.zeros((k, len(features))) if centres is None else np.asarray(centres, float)
    if c.shape != (k, len(features)):
        raise ValueError(f"centres have shape {c.shape}; expected ({k}, {len(features)})")
    rows = [
        (label, names[label], f, float(mean[j]), float(scale[j]), float(c[label, j]))
        for label in range(k)
        for j, f in enumerate(features)
    ]
    return pd.DataFrame(rows, columns=SEGMENT_MODEL_COLUMNS)


def place_in_segments(features: pd.DataFrame, model: pd.DataFrame) -> pd.Series:
    """Segment of each customer: the nearest centre of ``model`` in its standardised space.

    Args:
        features: customer features (:func:`channelops.customers.customer_features`),
            indexed by customer id, with every feature the model reads.
        model: the ``segment_model`` table (:func:`segment_model_table`).

    Returns:
        ``segment`` per customer (the features' index).

    Raises:
        ValueError: the model table is empty or lacks columns, or features lack a column.
    """
    require_columns(model, SEGMENT_MODEL_COLUMNS, "segment_model")
    if model.empty:
        raise ValueError("segment_model is empty: stage 01 fitted no segments")
    m = model.sort_values(["label", "feature"], kind="stable")
    order = list(dict.fromkeys(model["feature"]))  # the model's feature order
    first = m[m["label"] == m["label"].min()].set_index("feature").loc[order]
    x = (design_matrix(features, order) - first["mean"].to_numpy()) / first["scale"].to_numpy()
    centres = m.pivot(index="label", columns="feature", values="centre")[order]
    names = m.drop_duplicates("label").set_index("label")["segment"].reindex(centres.index)
    c = centres.to_numpy(float)
    d2 = (x**2).sum(axis=1)[:, None] - 2.0 * x @ c.T + (c**2).sum(axis=1)[None, :]
    labels = np.argmin(d2, axis=1) if len(c) else np.zeros(len(x), dtype=int)
    return pd.Series(names.to_numpy(object)[labels], index=features.index, name="segment")
