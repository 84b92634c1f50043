"""Plan against actual read out: the model at the actual spend, the period line, and the
plan sentence that says whether the plan earns more or less than now."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import evaluation as ev


def _pva(planned_profit=(50.0, 20.0), model=(110.0, np.nan)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "selected": [True, False],
            "budget_change": [10.0, -10.0],
            "planned_profit": list(planned_profit),
            "actual_profit": [30.0, 10.0],
            "actual_revenue": [100.0, 0.0],
            "model_revenue_at_actual": list(model),
            "period_start": pd.Timestamp("2024-01-01"),
            "period_end": pd.Timestamp("2024-03-31"),
            "weeks": 13,
        }
    )


def test_model_revenue_at_by_hand():
    # base 100 + revenue_max 1000 x hill(100 / (1 - 0.5) = 200; K = 200, n = 1) = 100 + 500
    curves = pd.DataFrame(
        {
            "channel_id": ["a"],
            "base_weekly_revenue": [100.0],
            "revenue_max": [1000.0],
            "adstock_decay": [0.5],
            "hill_half_saturation": [200.0],
            "hill_slope": [1.0],
        }
    )
    spend = pd.Series([100.0, 50.0, np.nan], index=["a", "b", "c"])
    got = ev.model_revenue_at(spend, curves)
    assert got["a"] == pytest.approx(600.0)
    assert np.isnan(got["b"]) and np.isnan(got["c"])  # no curve; no spend
    assert ev.model_revenue_at(spend, None).isna().all()
    assert ev.model_revenue_at(spend, curves.drop(columns="hill_slope")).isna().all()
    with pytest.raises(ValueError, match="channel_id"):
        ev.model_revenue_at(spend, curves.drop(columns="channel_id"))


def test_plan_vs_actual_without_a_plan_is_an_empty_table():
    empty = ev.plan_vs_actual(None, pd.DataFrame(), None, pd.DataFrame())
    assert len(empty) == 0
    assert empty.columns.tolist() == ["channel_id", "selected", "planned_budget", "actual_spend"]
    with pytest.raises(ValueError, match="budget"):
        ev.plan_vs_actual(pd.DataFrame({"channel_id": ["a"]}), pd.DataFrame(), None, pd.DataFrame())


def test_plan_period_text_by_hand():
    assert ev.plan_period_text(_pva(), "CNY") == (
        "actual: weekly means over 13 weeks, 2024-01-01 to 2024-03-31, CNY per week"
    )
    with pytest.raises(ValueError, match="empty"):
        ev.plan_period_text(_pva().iloc[:0], "CNY")


def test_model_fit_gap_by_hand():
    # a: |110 / 100 - 1| = 10%; b has no revenue and no model figure: left out
    assert ev.model_fit_gap(_pva()) == pytest.approx(0.1)
    assert np.isnan(ev.model_fit_gap(_pva(model=(np.nan, np.nan))))
    with pytest.raises(ValueError, match="model_revenue_at_actual"):
        ev.model_fit_gap(_pva().drop(columns="model_revenue_at_actual"))


def test_plan_text_says_more_or_less_than_now():
    # 10 taken from b, 10 given to a (no net change); planned 50 + 20 = 70 against 30 + 10
    text = ev.plan_text(_pva(), "CNY")
    assert text.startswith(
        "The plan takes 10 CNY of weekly budget from b (10 CNY) and gives 10 CNY of weekly "
        "budget to a (10 CNY). It expects 70 CNY weekly profit from its channels, 30 CNY more "
        "than the 40 CNY now."
    )
    assert "off the actual revenue by 10% for the median channel" in text
    # a plan worse than now: 10 + 0 = 10 planned against 40
    worse = ev.plan_text(_pva(planned_profit=(10.0, 0.0)), "CNY")
    assert (
        "expects 10 CNY weekly profit from its channels, 30 CNY less than the 40 CNY now." in worse
    )
    no_curves = ev.plan_text(_pva(model=(np.nan, np.nan)), "CNY")
    assert "curves are not in this run" in no_curves and "nan" not in no_curves
    with pytest.raises(ValueError, match="empty"):
        ev.plan_text(_pva().iloc[:0], "CNY")
    with pytest.raises(ValueError, match="budget_change"):
        ev.plan_text(_pva().drop(columns="budget_change"), "CNY")
