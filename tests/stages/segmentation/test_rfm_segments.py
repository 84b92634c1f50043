"""Named RFM segments by score rules, and k chosen by stability and segment share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import segmentation as seg
from channelops.stages.segmentation.rfm_segments import (
    RFM_SEGMENTS,
    rfm_segment_table,
    rfm_segments,
)


def test_every_score_pair_gets_the_documented_name():
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    rfm = pd.DataFrame({"r_score": r.ravel(), "f_score": f.ravel()})
    named = rfm_segments(rfm).to_numpy().reshape(5, 5)  # rows: F 1..5, columns: R 1..5
    assert named[4, 4] == "champions" and named[3, 3] == "champions"
    assert named[2, 4] == "loyal" and named[2, 2] == "loyal"
    assert named[0, 4] == "promising" and named[1, 3] == "promising"
    assert named[0, 2] == "need_attention"
    assert named[4, 0] == "cannot_lose" and named[3, 0] == "cannot_lose"
    assert named[2, 0] == "at_risk" and named[4, 1] == "at_risk"
    assert named[0, 1] == "hibernating" and named[0, 0] == "lost"
    assert set(named.ravel()) == set(RFM_SEGMENTS)


def test_three_bins_map_onto_the_five_point_rules():
    rfm = pd.DataFrame({"r_score": [3, 1, 2], "f_score": [3, 3, 1]}, index=["a", "b", "c"])
    # 3 -> 5, 2 -> 4 (ceil(2 * 5 / 3)), 1 -> 2
    assert rfm_segments(rfm, bins=3).tolist() == ["champions", "at_risk", "promising"]


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match=r"outside 1..5 \(first: 'x'\)"):
        rfm_segments(pd.DataFrame({"r_score": [6], "f_score": [1]}, index=["x"]))
    with pytest.raises(ValueError, match="f_score"):
        rfm_segments(pd.DataFrame({"r_score": [1]}))


def test_segment_table_shares_and_order():
    features = pd.DataFrame(
        {"recency_days": [1.0, 2.0, 300.0], "frequency": [9, 7, 1], "monetary": [60.0, 30.0, 10.0]}
    )
    named = pd.Series(["champions", "champions", "lost"])
    t = rfm_segment_table(features, named)
    assert t["rfm_segment"].tolist() == ["champions", "lost"]
    assert t["customer_share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert t["revenue_share"].tolist() == pytest.approx([0.9, 0.1])
    assert t.loc[0, "frequency"] == 8.0


def _two_blobs_and_a_speck(n: int = 200) -> pd.DataFrame:
    """Two large, well separated groups and a third of 2% of the customers, like the
    second group but for a ten times longer tenure."""
    rng = np.random.default_rng(5)
    sizes, centres, tenures = (n, n, 8), (1.0, 1000.0, 1000.0), (50.0, 50.0, 500.0)
    parts = []
    for size, c, tenure in zip(sizes, centres, tenures, strict=True):
        jitter = rng.lognormal(0, 0.05, size=(size, 4))
        parts.append(
            pd.DataFrame(
                {
                    "recency_days": c * jitter[:, 0],
                    "frequency": np.round(c * jitter[:, 1]) + 1,
                    "monetary": 10 * c * jitter[:, 2],
                    "tenure_days": tenure * jitter[:, 3],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_a_k_with_a_tiny_segment_is_not_chosen():
    f = _two_blobs_and_a_speck()
    cols = ("recency_days", "frequency", "monetary", "tenure_days")
    table = seg.k_selection(f, 2, 4, seed=1, columns=cols, n_boot=3).set_index("k")
    assert table.loc[3, "min_share"] < 0.05 and table.loc[2, "min_share"] > 0.3
    assert table.loc[2, "stability"] > 0.95
    assert table["chosen"].idxmax() == 2
    allowed = seg.k_selection(f, 2, 4, seed=1, columns=cols, min_share=0.01, n_boot=3)
    assert allowed.set_index("k")["chosen"].idxmax() == 3
    with pytest.raises(ValueError, match="min_share"):
        seg.k_selection(f, 2, 4, columns=cols, min_share=1.5)
