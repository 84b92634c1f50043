"""Tests for channelops.stages.channel_selection.plots: the grid of response curves (the single
plots are tested in test_channel_selection.py)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch

CURVE = dict(
    base_weekly_revenue=1_000.0,
    revenue_max=10_000.0,
    adstock_decay=0.0,
    hill_half_saturation=1_000.0,
    hill_slope=1.0,
)


def test_response_curve_grid_has_a_panel_per_channel_and_hides_the_rest():
    curves = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c"],
            "source": ["fitted", "prior", "prior"],
            "curve": [ch.ResponseCurve(c, **CURVE) for c in "abc"],
        }
    )
    weeks = pd.to_datetime(["2024-01-01", "2024-01-08"])
    spend = pd.DataFrame({"week_start": weeks, "channel_id": "a", "spend": [500.0, 1_500.0]})
    revenue = pd.DataFrame({"week_start": weeks, "channel_id": "a", "revenue": [4_000.0, 7_000.0]})
    axes = ch.plot_response_curves(curves, spend, revenue, currency="CNY", ncols=2)
    assert axes.shape == (2, 2)
    assert [ax.get_visible() for ax in axes.flat] == [True, True, True, False]
    assert [ax.get_title() for ax in axes.flat[:3]] == ["a (fitted)", "b (prior)", "c (prior)"]
    # observed weeks only where the channel has them; one legend; axes labelled once
    assert len(axes[0, 0].collections) == 2 and len(axes[0, 1].collections) == 1
    assert axes[0, 0].get_legend() is not None and axes[0, 1].get_legend() is None
    assert axes[0, 0].get_ylabel() == "weekly revenue, CNY" and axes[0, 1].get_ylabel() == ""
    assert axes[1, 0].get_xlabel() == "weekly spend" and axes[0, 0].get_xlabel() == ""
    assert axes[0, 0].xaxis.get_major_formatter()(12_000, 0) == "12k"
    plt.close("all")


def test_response_curve_grid_needs_curves():
    empty = pd.DataFrame({"channel_id": [], "source": [], "curve": []})
    with pytest.raises(ValueError, match="no response curves to plot"):
        ch.plot_response_curves(empty, pd.DataFrame(), pd.DataFrame())
