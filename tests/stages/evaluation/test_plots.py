"""Stage 06's plot helpers draw on the axes they are given (or a new figure), return them,
and label them with units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from channelops.stages import evaluation as ev

SCORECARD = pd.DataFrame(
    {
        "channel_id": ["b", "a"],
        "revenue": [2400.0, 2500.0],
        "gross_margin": [1400.0, 1250.0],
        "contribution": [1200.0, -610.0],
        "ltv_cac": [3.5, 0.5],
    }
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_scorecard_colours_ltv_cac_below_one_red():
    ax1, ax2 = ev.plot_scorecard(SCORECARD, "CNY")
    assert ax1.get_xlabel() == "thousands CNY"
    assert ax2.get_xlabel() == "lifetime margin / acquisition cost"
    # bars bottom-up are a (0.5, red) then b (3.5, green): the first-ranked channel on top
    widths = [p.get_width() for p in ax2.patches]
    assert widths == [0.5, 3.5]
    assert ax2.patches[0].get_facecolor() != ax2.patches[1].get_facecolor()
    with pytest.raises(ValueError, match="ltv_cac"):
        ev.plot_scorecard(SCORECARD.drop(columns="ltv_cac"), "CNY")


def test_plot_new_customers_draws_one_line_per_channel():
    monthly = pd.DataFrame(
        {"a": [3, 0, 1], "b": [1, 0, 0]}, index=pd.date_range("2024-01-01", periods=3, freq="MS")
    )
    _, ax = plt.subplots()
    assert ev.plot_new_customers(monthly, ax=ax) is ax
    assert len(ax.get_lines()) == 2 and ax.get_ylabel() == "new customers"
    with pytest.raises(ValueError, match="no columns"):
        ev.plot_new_customers(monthly[[]])


def test_plot_segment_mix_and_overlap_annotate_their_cells():
    mix = pd.DataFrame({"x": [0.75, 0.5], "y": [0.25, 0.5]}, index=["a", "all channels"])
    ax = ev.plot_segment_mix(mix)
    assert [t.get_text() for t in ax.texts] == ["75%", "25%", "50%", "50%"]
    assert ax.get_xlabel() == "segment"
    names = pd.Index(["a", "b"], name="channel_id")
    overlap = pd.DataFrame([[1200, 10], [10, 30]], index=names, columns=names)
    ax = ev.plot_channel_overlap(overlap)
    assert [t.get_text() for t in ax.texts] == ["1,200", "10", "10", "30"]
    with pytest.raises(ValueError, match="empty"):
        ev.plot_segment_mix(mix.iloc[:0])
    with pytest.raises(ValueError, match="empty"):
        ev.plot_channel_overlap(overlap.iloc[:0, :0])


def test_plot_plan_vs_actual_labels_money_per_week():
    pva = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "actual_spend": [10.0, 20.0],
            "planned_budget": [15.0, 15.0],
            "actual_profit": [-5.0, 8.0],
            "planned_profit": [3.0, 9.0],
        }
    )
    ax1, ax2 = ev.plot_plan_vs_actual(pva, "CNY")
    assert ax1.get_ylabel() == ax2.get_ylabel() == "CNY per week"
    assert sorted(p.get_height() for p in ax2.patches) == [-5.0, 3.0, 8.0, 9.0]
    with pytest.raises(ValueError, match="planned_profit"):
        ev.plot_plan_vs_actual(pva.drop(columns="planned_profit"), "CNY")


def test_plot_experiment_forest_one_row_per_interval():
    forest = pd.DataFrame(
        {
            "name": ["e1", "e1"],
            "method": ["Welch", "CUPED"],
            "estimate": [2.0, 1.8],
            "lo": [0.5, 1.0],
            "hi": [3.5, 2.6],
        }
    )
    ax = ev.plot_experiment_forest(forest, "CNY", 0.95)
    labels = {
        tick: t.get_text() for tick, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    }
    assert labels == {1: "e1 - Welch", 0: "e1 - CUPED"}  # first row on top
    assert ax.get_xlabel() == "treatment - control, CNY per unit"
    assert ax.get_title() == "Experiment effects with 95% intervals"
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_xdata(), dtype=float), [2.0, 1.8])
    with pytest.raises(ValueError, match="hi"):
        ev.plot_experiment_forest(forest.drop(columns="hi"), "CNY", 0.95)
