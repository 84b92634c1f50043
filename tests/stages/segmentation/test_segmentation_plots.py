"""Tests for channelops.stages.segmentation.plots: what each plot draws, on hand-made tables
(tests/conftest.py selects the Agg backend)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from channelops.stages import segmentation as seg

SELECTION = pd.DataFrame(
    {
        "k": [2, 3, 4, 5],
        "inertia": [4.0, 2.0, 1.5, 1.2],
        "silhouette": [0.30, 0.45, 0.40, 0.35],
        "elbow": [False, True, False, False],
        "chosen": [False, True, False, False],
    }
)


def test_k_selection_marks_the_chosen_k_and_the_elbow():
    ax1, ax2 = seg.plot_k_selection(SELECTION, k=4)
    assert ax1.figure is ax2.figure
    line, chosen = ax1.get_lines()
    assert list(line.get_ydata()) == [0.30, 0.45, 0.40, 0.35]
    assert list(chosen.get_xdata()) == [4, 4] and chosen.get_linestyle() == "--"
    line, elbow = ax2.get_lines()
    assert list(line.get_ydata()) == [4.0, 2.0, 1.5, 1.2]
    assert list(elbow.get_xdata()) == [3, 3] and elbow.get_linestyle() == ":"
    assert ax1.get_xlabel() == ax2.get_xlabel() == "k, number of segments"
    plt.close("all")


def test_k_selection_needs_rows_and_columns():
    with pytest.raises(ValueError, match="no k was compared"):
        seg.plot_k_selection(SELECTION.iloc[:0], k=1)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['elbow'\]"):
        seg.plot_k_selection(SELECTION.drop(columns="elbow"), k=3)


def test_calibration_holdout_draws_actual_and_expected_per_bucket():
    table = pd.DataFrame(
        {
            "label": ["0", "1", "2+"],
            "n_customers": [5, 3, 2],
            "actual": [0.2, 0.8, 2.0],
            "expected": [0.25, 0.7, 1.9],
        }
    )
    ax = seg.plot_calibration_holdout(table)
    actual, expected = ax.get_lines()
    assert np.allclose(actual.get_ydata(), [0.2, 0.8, 2.0])
    assert np.allclose(expected.get_ydata(), [0.25, 0.7, 1.9])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2+"]
    assert "count" in ax.get_xlabel() and "count" in ax.get_ylabel()
    plt.close(ax.figure)


def test_calibration_holdout_needs_expected():
    with pytest.raises(ValueError, match=r"table is missing column\(s\) \['expected'\]"):
        seg.plot_calibration_holdout(pd.DataFrame({"label": ["0"], "actual": [0.1]}))


def test_weekly_repeat_purchases_plot_draws_three_lines_and_the_cut_off():
    weekly = pd.DataFrame(
        {
            "week_end": pd.to_datetime(["2024-01-07", "2024-01-14", "2024-01-21"]),
            "period": ["calibration", "calibration", "holdout"],
            "actual": [3.0, 4.0, 5.0],
            "bgnbd": [3.5, 3.5, 4.0],
            "naive": [np.nan, np.nan, 4.5],
        }
    )
    ax = seg.plot_weekly_repeat_purchases(weekly)
    actual, bgnbd, naive, cut = ax.get_lines()
    assert list(actual.get_ydata()) == [3.0, 4.0, 5.0]
    plt.close(ax.figure)
    partial = seg.plot_weekly_repeat_purchases(weekly.assign(days=[7, 7, 2]))
    assert list(partial.get_lines()[0].get_ydata()) == pytest.approx([3.0, 4.0, 17.5])
    assert list(bgnbd.get_ydata()) == [3.5, 3.5, 4.0]
    assert pd.Timestamp(cut.get_xdata()[0]) == pd.Timestamp("2024-01-14")
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="naive"):
        seg.plot_weekly_repeat_purchases(weekly.drop(columns="naive"))
