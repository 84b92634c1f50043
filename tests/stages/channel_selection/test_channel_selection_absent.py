"""Stage 02 without optional files: curves without spend history, whether a plan can be
computed, and the empty tables' columns against those of a real plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch
from channelops.synth.scoring.channel_example import example_instance


@pytest.fixture(scope="module")
def inst3():
    return example_instance(3, seed=0)


@pytest.fixture(scope="module")
def small_plan(inst3):
    """A real NSGA-II front, plan and sensitivity on three known curves (priors as draws)."""
    curves = {
        cid: ch.ResponseCurve(cid, *c.params, draws=np.tile(c.params, (4, 1)))
        for cid, c in inst3.curves.items()
    }
    reach = ch.segment_channel_reach(inst3.segment_profiles, inst3.channels)
    cons = ch.PlanConstraints(total_budget=20_000, min_channels=1, default_max_budget=15_000)
    result = ch.optimise_channel_plan(
        curves, inst3.channels, reach, cons, inst3.target_segments, pop_size=12, n_gen=4, seed=1
    )
    plan = ch.channel_plan(ch.recommend_plan(result), result)
    sens = ch.sensitivity(
        curves,
        inst3.channels,
        reach,
        cons,
        inst3.target_segments,
        n_curve_draws=1,
        pop_size=12,
        n_gen=4,
        seed=1,
    )
    return result.front, plan, sens


def _weeks(channel: str, n: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "week_start": [start + pd.Timedelta(weeks=i) for i in range(n)],
            "channel_id": channel,
            "revenue": 1000.0,
        }
    )


def test_empty_tables_have_the_columns_of_a_real_plan(inst3, small_plan):
    front, plan, sens = small_plan
    ids = list(inst3.channels["channel_id"])
    assert list(ch.empty_pareto_front(ids).columns) == list(front.columns)
    segments = [c.removeprefix("reach_") for c in plan.columns if c.startswith("reach_")]
    assert list(ch.empty_channel_plan(segments).columns) == list(plan.columns)
    assert list(ch.empty_plan_sensitivity(ids).columns) == list(sens.columns)
    assert (
        len(ch.empty_pareto_front(ids)) == 0
        and str(ch.empty_pareto_front(ids).dtypes[f"selected_{ids[0]}"]) == "bool"
    )


def test_without_spend_every_channel_takes_its_prior_or_none(inst3):
    catalog = inst3.channels.copy()
    curves = ch.fit_response_curves(None, _weeks(catalog["channel_id"].iloc[0], 40), catalog)
    assert list(curves.columns) == [*ch.RESPONSE_CURVE_COLUMNS, "curve"]
    assert set(curves["source"]) == {"prior"}
    assert curves["reason"].str.startswith("no marketing_spend.csv").all()
    # no priors (channels.csv absent: the dataset's ids alone): no curve, and why
    bare = ch.curve_catalog(None, ["shop", "mall"])
    none = ch.fit_response_curves(None, _weeks("shop", 40), bare)
    assert list(none["source"]) == ["unavailable", "unavailable"]
    assert none["curve"].isna().all() and (none["n_draws"] == 0).all()
    assert none["reason"].str.contains("no usable priors").all()
    assert list(none.columns) == [*ch.RESPONSE_CURVE_COLUMNS, "curve"]


def test_plan_blocker_names_what_is_missing(inst3):
    catalog = inst3.channels
    ids = list(catalog["channel_id"])
    ok = pd.DataFrame({"channel_id": ids, "source": ["fitted", "prior", "fitted"]})
    assert ch.plan_blocker(catalog, ok, 1000.0, 2) == ""
    assert "no channels.csv" in ch.plan_blocker(None, ok, 1000.0, 2)
    no_cost = catalog.assign(commission_rate=[0.1, np.nan, 0.2])
    assert ch.plan_blocker(no_cost, ok, 1000.0, 2) == (
        "channels.csv has no commission_rate for some channels"
    )
    one = ok.assign(source=["fitted", "unavailable", "unavailable"])
    assert ch.plan_blocker(catalog, one, 1000.0, 2).startswith("only 1 channel(s)")
    assert "no weekly budget" in ch.plan_blocker(catalog, ok, 0.0, 2)
    assert "no weekly budget" in ch.plan_blocker(catalog, ok, float("nan"), 2)


def test_plan_budget_takes_the_parameter_then_recent_spend_then_nothing():
    spend = pd.DataFrame(
        {
            "week_start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08"]),
            "channel_id": ["a", "b", "a"],
            "spend": [100.0, 50.0, 30.0],
        }
    )
    assert ch.plan_budget(500.0, spend) == 500.0
    assert ch.plan_budget(0.0, spend, weeks=2) == pytest.approx((150.0 + 30.0) / 2)
    assert ch.plan_budget(0.0, None) == 0.0
    assert ch.plan_budget(0.0, spend.iloc[0:0]) == 0.0
    with pytest.raises(ValueError, match="weeks must be >= 1"):
        ch.plan_budget(0.0, spend, weeks=0)
