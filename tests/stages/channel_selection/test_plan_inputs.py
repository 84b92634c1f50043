"""Tests for channelops.stages.channel_selection.plan_inputs: the default budget and the target
weights, on hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import channel_selection as ch

SPEND = pd.DataFrame(
    {
        "week_start": pd.to_datetime(
            ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15", "2024-01-15"]
        ),
        "channel_id": ["a", "b", "a", "a", "b"],
        "spend": [100.0, 50.0, 120.0, 90.0, 30.0],
    }
)
PROFILES = pd.DataFrame({"segment": ["loyal", "new", "dormant"], "revenue_share": [0.5, 0.3, 0.2]})


def test_recent_weekly_budget_averages_the_latest_weekly_totals():
    # weekly totals 150, 120, 120 (rows out of order do not matter)
    assert ch.recent_weekly_budget(SPEND, weeks=2) == pytest.approx(120.0)
    assert ch.recent_weekly_budget(SPEND.iloc[::-1], weeks=3) == pytest.approx(130.0)
    assert ch.recent_weekly_budget(SPEND) == pytest.approx(130.0)  # fewer than 13 weeks: all


def test_recent_weekly_budget_refuses_no_weeks_and_missing_spend():
    with pytest.raises(ValueError, match="weeks must be >= 1, got 0"):
        ch.recent_weekly_budget(SPEND, weeks=0)
    with pytest.raises(KeyError):
        ch.recent_weekly_budget(SPEND.drop(columns="spend"))


def test_target_weights_are_revenue_shares():
    assert ch.target_weights(PROFILES) == {"loyal": 0.5, "new": 0.3, "dormant": 0.2}
    assert ch.target_weights(PROFILES, ["new", "vip"]) == {"new": 0.3, "vip": 0.0}


def test_target_weights_need_revenue_share():
    with pytest.raises(KeyError):
        ch.target_weights(PROFILES.drop(columns="revenue_share"))
