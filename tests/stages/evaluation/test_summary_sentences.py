"""The executive summary topic by topic, the ranking paragraph and the acquisition sentence:
hand-computed sentences, data that flips them, escaped names, missing columns named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.run.folder import write_table
from channelops.run.summary import write_summary
from channelops.stages import evaluation as ev

SCRIPT_NAME = "free<script>alert(4)</script>_coupon"


def _scorecard(**changes) -> pd.DataFrame:
    # b ranks first on contribution 120; a loses 61; a acquires best (LTV/CAC 7.5)
    sc = pd.DataFrame(
        {
            "channel_id": ["b", "a"],
            "rank": [1, 2],
            "revenue": [240.0, 250.0],
            "gross_margin": [140.0, 125.0],
            "contribution": [120.0, -61.0],
            "marketing_return_rate": [6.0, 1.525],
            "cac": [20.0, 20.0],
            "ltv_cac": [3.5, 7.5],
            "on_time_rate": [np.nan, 0.5],
            "fill_rate": [0.725, 0.9333],
        }
    )
    return sc.assign(**changes)


def _experiment(**changes) -> pd.DataFrame:
    row = {
        "name": "coupon",
        "level": 0.9,
        "diff": 3.0,
        "mean_control": 20.0,
        "lift": 0.1,
        "lift_lo": 0.02,
        "lift_hi": 0.18,
        "welch_lo": 1.0,
        "welch_hi": 5.0,
        "cuped_diff": np.nan,
        "cuped_lo": np.nan,
        "cuped_hi": np.nan,
        "cuped_lift": np.nan,
        "cuped_lift_lo": np.nan,
        "cuped_lift_hi": np.nan,
    }
    row.update(changes)
    return pd.DataFrame([row])


def test_channel_sentences_by_hand():
    s = ev.channel_sentences(_scorecard(), "CNY")
    assert s == [
        # 240 + 250 = 490; 140 + 125 = 265 = 54.1%
        "Over the whole data, the 2 channels sold 490 CNY of net revenue and kept 265 CNY of "
        "gross margin after product cost and commission (54.1%).",
        "b ranks first with 120 CNY of contribution after fulfilment and marketing on 240 CNY "
        "of revenue.",
        "Not every channel earns its place yet: a loses money after fulfilment and marketing.",
        "The best acquisition channel is a: a new customer costs 20 CNY and returns 7.5x that "
        "in lifetime margin.",
    ]


def test_channel_sentences_flip_with_the_data():
    s = ev.channel_sentences(_scorecard(contribution=[120.0, 61.0], ltv_cac=[np.nan] * 2), "CNY")
    assert s[2] == "Every channel covers its fulfilment and marketing cost."
    assert len(s) == 3  # no LTV/CAC known: no acquisition sentence
    both = ev.channel_sentences(_scorecard(contribution=[-1.0, -61.0]), "CNY")
    assert "b, a lose money" in both[2]
    with pytest.raises(ValueError, match="ltv_cac"):
        ev.channel_sentences(_scorecard().drop(columns="ltv_cac"), "CNY")
    with pytest.raises(ValueError, match="empty"):
        ev.channel_sentences(_scorecard().iloc[:0], "CNY")


def test_growth_sentence_by_hand():
    growth = pd.DataFrame({"channel_id": ["a", "a", "b"], "new_customers": [2, 1, 1]})
    assert ev.growth_sentence(growth) == (
        "4 customers were first seen in the data; a brought the most (3, 75%)."
    )
    flipped = growth.assign(new_customers=[2, 1, 6])  # b: 6 of 9 = 67%
    assert ev.growth_sentence(flipped).endswith("b brought the most (6, 67%).")
    assert ev.growth_sentence(None) is None and ev.growth_sentence(growth.iloc[:0]) is None
    with pytest.raises(ValueError, match="new_customers"):
        ev.growth_sentence(growth.drop(columns="new_customers"))


def test_experiment_sentence_by_hand_and_flipped():
    # diff 3 on a control mean of 20: the interval 1..5 is +5.0% to +25.0% of it
    assert ev.experiment_sentence(_experiment()) == (
        "Experiment coupon: +3.0 net revenue per customer (90% interval +1.0 to +5.0, +5.0% "
        "to +25.0% of the control's mean); the treatment raised revenue."
    )
    crossing = _experiment(welch_lo=-1.0)
    assert ev.experiment_sentence(crossing).endswith("includes zero, so no effect is shown.")
    down = _experiment(diff=-3.0, welch_lo=-5.0, welch_hi=-1.0)
    assert ev.experiment_sentence(down).endswith("the treatment lowered revenue.")
    # excludes zero, but the correction across experiments takes it back
    two = pd.concat([_experiment(effect_shown=False), _experiment(name="other")])
    assert "not after correcting for the 2 experiments" in ev.experiment_sentence(two)
    # CUPED, when it ran, is the one quoted and decides; the window's dates are given
    cuped = _experiment(
        welch_lo=-1.0,
        cuped_diff=2.0,
        cuped_lo=0.5,
        cuped_hi=3.5,
        start_date=pd.Timestamp("2024-03-11"),
        end_date=pd.Timestamp("2024-05-05"),
    )
    assert ev.experiment_sentence(cuped) == (
        "Experiment coupon (2024-03-11 to 2024-05-05): +2.0 net revenue per customer (90% "
        "interval +0.5 to +3.5, +2.5% to +17.5% of the control's mean); the treatment raised "
        "revenue."
    )
    assert ev.experiment_sentence(None) is None
    with pytest.raises(ValueError, match="welch_lo"):
        ev.experiment_sentence(_experiment().drop(columns="welch_lo"))


def test_plan_sentence_by_hand():
    plan = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c"],
            "selected": [True, False, True],
            "planned_budget": [15.0, 0.0, 0.0],
            "actual_spend": [10.0, 20.0, 0.0],
            "budget_change": [5.0, -20.0, 0.0],
            "planned_profit": [30.0, 0.0, 0.0],
            "actual_profit": [10.0, 5.0, 0.0],
            "period_start": pd.Timestamp("2024-04-01"),
            "period_end": pd.Timestamp("2024-06-30"),
            "weeks": 13,
        }
    )
    # c is selected with a budget of 0: not running; 20 taken from b, 5 given to a: 15 less
    assert ev.plan_sentence(plan, "CNY") == (
        "02's plan gives a budget to 1 channel(s) (a) and none to b, c; it takes 20 CNY of "
        "weekly budget from b (20 CNY) and gives 5 CNY of weekly budget to a (5 CNY) (15 CNY a "
        "week less in all). It expects 30 CNY weekly profit against "
        "15 CNY a week now in the last 13 weeks (2024-04-01 to 2024-06-30). The plan expects "
        "more profit than now."
    )
    worse = plan.assign(
        planned_profit=[10.0, 0.0, 0.0],
        planned_profit_lo=[2.0, 0.0, 0.0],
        planned_profit_hi=[18.0, 0.0, 0.0],
    )
    said = ev.plan_sentence(worse, "CNY")
    assert "10 CNY weekly profit (interval 2 CNY to 18 CNY" in said
    assert said.endswith("The plan expects LESS profit than now: do not adopt it as it stands.")
    moved = plan.assign(budget_change=[20.0, -20.0, 0.0])
    assert (
        "it takes 20 CNY of weekly budget from b (20 CNY) and gives 20 CNY of weekly budget "
        "to a (20 CNY). It expects" in ev.plan_sentence(moved, "CNY")
    )
    cut = plan.assign(budget_change=[0.0, -20.0, 0.0])
    assert "; it takes 20 CNY of weekly budget from b (20 CNY). It expects" in ev.plan_sentence(
        cut, "CNY"
    )
    assert ev.plan_sentence(plan.assign(actual_spend=np.nan), "CNY") is None
    assert ev.plan_sentence(None, "CNY") is None
    with pytest.raises(ValueError, match="selected"):
        ev.plan_sentence(plan.drop(columns="selected"), "CNY")


def _gain(point: float, lo: float, hi: float, p: float) -> pd.DataFrame:
    """02's plan_vs_current: now, plan and their difference (profit per week)."""
    return pd.DataFrame(
        {
            "allocation": ["now", "plan", "gain"],
            "profit": [100.0, 100.0 + point, point],
            "profit_lo": [90.0, 95.0, lo],
            "profit_hi": [110.0, 120.0, hi],
            "spend": [50.0, 60.0, 10.0],
            "prob_positive": [np.nan, np.nan, p],
        }
    )


def test_plan_gain_follows_02s_like_for_like_interval_not_the_realised_season():
    """With 02's plan_vs_current the summary states the plan's gain over now at the same
    season, and its verdict follows the gain's interval - not the realised profit of the
    last weeks, which the plan table still puts at 15 CNY a week against 30 planned."""
    plan = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "selected": [True, False],
            "planned_budget": [15.0, 0.0],
            "actual_spend": [10.0, 20.0],
            "budget_change": [5.0, -20.0],
            "planned_profit": [30.0, 0.0],
            "actual_profit": [10.0, 5.0],
        }
    )
    said = ev.plan_sentence(plan, "CNY", _gain(12.0, 3.0, 21.0, 0.97))
    assert said == (
        "02's plan gives a budget to 1 channel(s) (a) and none to b; it takes 20 CNY of weekly "
        "budget from b (20 CNY) and gives 5 CNY of weekly budget to a (5 CNY) (15 CNY a week "
        "less in all). Against the current allocation, at the same "
        "average season and on the same response model, 02 expects the plan to earn 12 CNY a "
        "week more profit (90% interval 3 CNY to 21 CNY; more than now in 97% of the model's "
        "draws). The plan expects more profit than now."
    )
    # the interval, not the point, decides: spanning 0 is undecided, below 0 is a no
    assert ev.plan_gain_text(_gain(4.0, -2.0, 9.0, 0.8), "CNY").endswith(
        "Whether it earns more than now is not settled: the interval spans 0."
    )
    below = ev.plan_gain_text(_gain(-6.0, -9.0, -1.0, 0.02), "CNY")
    assert "earn 6 CNY a week less profit" in below
    assert below.endswith("The plan expects LESS profit than now: do not adopt it as it stands.")
    # no draws (NaN interval) or no gain row: the realised comparison, as before
    assert ev.plan_gain_text(_gain(4.0, np.nan, np.nan, np.nan), "CNY") is None
    assert ev.plan_gain_text(_gain(4.0, 1.0, 9.0, 0.9).iloc[:2], "CNY") is None
    assert "against 15 CNY a week now" in ev.plan_sentence(plan, "CNY", None)
    # the notebook's paragraph: the realised profit named as another season, not the gain
    pva = plan.assign(model_revenue_at_actual=np.nan, actual_revenue=np.nan)
    text = ev.plan_text(pva, "CNY", _gain(12.0, 3.0, 21.0, 0.97))
    assert "The realised profit of the period above, 15 CNY a week, is another season" in text
    assert "its difference to the plan's 30 CNY is not the plan's gain" in text
    with pytest.raises(ValueError, match="prob_positive"):
        ev.plan_gain_text(_gain(4.0, 1.0, 9.0, 0.9).drop(columns="prob_positive"), "CNY")


def test_policy_sentence_puts_each_gain_next_to_its_price():
    rows = [
        ("inventory", "pooled", "average_stock_value", 100.0, 94.0, -0.06),
        ("inventory", "pooled", "fill_rate", 0.95, 0.95, 0.0),
        ("inventory", "pooled", "stockout_days", 480.0, 867.0, 0.81),
        ("fulfilment", "all channels", "breach_rate", 0.255, 0.173, -0.32),
        ("fulfilment", "all channels", "mean_hours_late", 303.0, 465.0, 0.53),
    ]
    cols = ["comparison", "scope", "metric", "before", "after", "relative_delta"]
    assert ev.policy_sentence(pd.DataFrame(rows, columns=cols)) == (
        "Policies: the forecast-driven stock policy (pooled stock) holds 6.0% less stock value "
        "than the naive policy (fill rate 95.0% to 95.0%, stock-out days 480 to 867); "
        "prioritising orders moves the SLA breach rate from 25.5% to 17.3% while late orders "
        "are late by 303.0 h before and 465.0 h after."
    )


def test_policy_sentence_needs_something_to_say():
    other = pd.DataFrame(
        {
            "comparison": ["fulfilment"],
            "scope": ["a"],
            "metric": ["breach_rate"],
            "before": [0.2],
            "after": [0.1],
            "relative_delta": [-0.5],
        }
    )
    assert ev.policy_sentence(other) is None  # a channel's row, not all channels
    assert ev.policy_sentence(other.assign(scope="all channels")) == (
        "Policies: prioritising orders moves the SLA breach rate from 20.0% to 10.0%."
    )
    with pytest.raises(ValueError, match="relative_delta"):
        ev.policy_sentence(other.drop(columns="relative_delta"))


def test_filler_sentences_only_when_fewer_than_five():
    sc = _scorecard(contribution=[np.nan] * 2, aov=[50.0, 150.0])
    assert ev.filler_sentences(sc, "EUR", said=3) == [
        "An average order is worth 50 EUR on b and 150 EUR on a.",
        "Fulfilment and marketing costs are not in the data, so no channel can yet be shown "
        "to earn its place after them.",
    ]
    assert len(ev.filler_sentences(sc, "EUR", said=4)) == 1
    assert ev.filler_sentences(sc, "EUR", said=5) == []
    with pytest.raises(ValueError, match="said"):
        ev.filler_sentences(sc, "EUR", said=-1)


def test_summary_table_keeps_the_key_columns_in_rank_order():
    t = ev.summary_table(_scorecard().iloc[::-1].assign(extra=1))
    assert t["channel_id"].tolist() == ["b", "a"]
    assert t.columns.tolist() == list(ev.SUMMARY_TABLE_COLUMNS)
    assert "extra" not in t
    with pytest.raises(ValueError, match="rank"):
        ev.summary_table(_scorecard().drop(columns="rank"))


def test_executive_summary_is_the_topics_in_order():
    growth = pd.DataFrame({"channel_id": ["a", "a", "b"], "new_customers": [2, 1, 1]})
    sentences, table = ev.executive_summary(_scorecard(), _experiment(), growth, None, None, "CNY")
    assert sentences == [
        *ev.channel_sentences(_scorecard(), "CNY"),
        ev.growth_sentence(growth),
        ev.experiment_sentence(_experiment()),
    ]
    assert table["channel_id"].tolist() == ["b", "a"]


def test_ranking_text_by_hand_and_flipped():
    assert ev.ranking_text(_scorecard(), "CNY") == (
        "**b** earns the most after every cost (120 CNY contribution on 240 CNY revenue); "
        "**a** ranks last. a loses money once fulfilment and marketing are paid, which revenue "
        "alone hides."
    )
    assert ev.ranking_text(_scorecard(contribution=[120.0, 61.0]), "CNY").endswith(
        "Every channel covers its fulfilment and marketing."
    )
    with pytest.raises(ValueError, match="empty"):
        ev.ranking_text(_scorecard().iloc[:0], "CNY")


def test_acquisition_text_names_the_channels_below_one():
    assert ev.acquisition_text(_scorecard()).startswith("Every channel with a known LTV/CAC")
    assert ev.acquisition_text(_scorecard(ltv_cac=[3.5, 0.8])).startswith(
        "a pays more to win a customer than that customer returns in margin"
    )
    assert ev.acquisition_text(_scorecard(ltv_cac=[0.5, 0.8])).startswith("b, a pay more")
    assert ev.acquisition_text(_scorecard(ltv_cac=[np.nan] * 2)).startswith("LTV/CAC is unknown")
    with pytest.raises(ValueError, match="ltv_cac"):
        ev.acquisition_text(_scorecard().drop(columns="ltv_cac"))


def test_a_script_in_an_experiment_name_comes_out_escaped(tmp_path):
    escaped = "free&lt;script&gt;alert(4)&lt;/script&gt;_coupon"
    sentences, _ = ev.executive_summary(
        _scorecard(), _experiment(name=SCRIPT_NAME), None, None, None, "CNY"
    )
    said = " ".join(sentences)
    assert f"Experiment {escaped}: +3.0" in said and "<script>" not in said
    # and the summary page, built from the saved tables, shows it as text too
    write_table(_scorecard(), "scorecard", tmp_path)
    write_table(_experiment(name=SCRIPT_NAME), "experiment_results", tmp_path)
    page = write_summary(tmp_path, "CNY").read_text(encoding="utf-8")
    assert escaped in page and "<script>" not in page and "&amp;lt;" not in page


def test_channel_ids_with_markup_come_out_escaped():
    sc = _scorecard(channel_id=["<b>b</b>", "a&co"])
    text = ev.ranking_text(sc, "CNY") + " ".join(ev.channel_sentences(sc, "CNY"))
    assert "**&lt;b&gt;b&lt;/b&gt;** earns the most" in text
    assert "a&amp;co loses money" in text
    assert "<b>" not in text
