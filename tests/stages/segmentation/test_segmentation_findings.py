"""01's findings sentences follow the numbers: each test feeds numbers that flip one."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.segmentation import findings


def _features(freq: list[int], money: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"frequency": freq, "monetary": money})


def test_buying_pattern_says_once_or_again_from_the_median():
    rare = findings.buying_pattern_text(_features([1, 1, 1, 2, 9], [10, 10, 10, 10, 960]))
    assert rare.startswith("Most customers buy once: 60% placed a single order (median 1")
    assert "top fifth of customers bring 96% of revenue: revenue is concentrated" in rare
    often = findings.buying_pattern_text(_features([17, 20, 1, 15, 30], [10, 10, 10, 10, 10]))
    assert often.startswith("Most customers buy again: only 20% placed a single order")
    assert "median customer placed 17 orders" in often and "spread out" in often
    with pytest.raises(ValueError, match="no customers"):
        findings.buying_pattern_text(_features([], []))


def test_rfm_cell_text_names_the_best_cell():
    grid = pd.DataFrame([[10.0, 20.0], [30.0, 90.0]], index=[1, 2], columns=[1, 2])
    assert "(R 2, F 2) bring the most revenue per head: 90" in findings.rfm_cell_text(grid)
    grid.loc[1, 1] = 500.0
    flipped = findings.rfm_cell_text(grid)
    assert flipped.startswith("The most revenue per head is in cell R 1, F 1 (500)")
    assert "averages 90" in flipped


def test_segment_findings_from_shares():
    profiles = pd.DataFrame(
        {"segment": ["a", "b"], "customer_share": [0.2, 0.8], "revenue_share": [0.7, 0.3]}
    )
    rfm = pd.DataFrame(
        {
            "rfm_segment": ["champions", "at_risk", "cannot_lose"],
            "customer_share": [0.5, 0.1, 0.05],
            "revenue_share": [0.6, 0.2, 0.1],
        }
    )
    out = findings.segment_findings(profiles, rfm)
    assert out[0] == (
        "Segment a brings the most revenue (70% from 20% of customers); "
        "the largest segment is b (80% of customers)."
    )
    assert "are 15% of customers and brought 30% of revenue" in out[1]
    none = findings.segment_findings(profiles, rfm.iloc[:1])
    assert none[1].startswith("No customer who bought often has stopped")
