"""Tests for channelops.stages.channel_selection (stage 02): curves, reach, the NSGA-II plan, exact references."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch
from channelops.synth.scoring import channel_example
from channelops.synth.scoring.channel_example import example_instance, simulate_history

# Reference point for the hypervolume test, stated: the exact front's worst profit and worst
# reach, each moved out by 10% of the exact front's range (hypervolume_ratio's default).
HV_MARGIN = 0.1


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def inst5() -> channel_example.ExampleInstance:
    return example_instance(5, seed=0)


@pytest.fixture(scope="module")
def fitted5(inst5):
    """Curves fitted from two years of synthetic history drawn from the known curves."""
    spend, revenue = [], []
    for i, (cid, curve) in enumerate(inst5.curves.items()):
        hist = simulate_history(curve, n_weeks=104, noise=0.05, seed=100 + i)
        spend.append(hist[["week_start", "spend"]].assign(channel_id=cid))
        revenue.append(hist[["week_start", "revenue"]].assign(channel_id=cid))
    return ch.fit_response_curves(
        pd.concat(spend), pd.concat(revenue), inst5.channels, n_boot=30, n_starts=4, seed=1
    )


@pytest.fixture(scope="module")
def reach5(inst5) -> pd.DataFrame:
    return ch.segment_channel_reach(inst5.segment_profiles, inst5.channels)


CONS5 = ch.PlanConstraints(
    total_budget=30_000, min_channels=1, max_channels=3, default_max_budget=20_000
)


# ---------------------------------------------------------------- curves


def test_fit_recovers_known_curve_within_10_percent():
    truth = example_instance(3, seed=4).curves["ch01"]
    hist = simulate_history(truth, n_weeks=104, noise=0.05, seed=3)
    fit = ch.fit_response_curve(hist, "ch01", n_boot=40, seed=0)
    typical = hist["spend"].median()
    spends = np.array([0.5, 1.0, 1.5]) * typical
    pred = fit.predict(spends)
    err = np.abs(pred["revenue"] / truth.revenue(spends) - 1)
    assert err.max() < 0.10, err
    assert (pred["revenue_lo"] <= pred["revenue"]).all()
    assert (pred["revenue"] <= pred["revenue_hi"]).all()
    assert fit.diagnostics["r2"] > 0.8
    assert fit.diagnostics["n_weeks"] == 104
    assert set(fit.diagnostics) >= {"mape", "resid_acf1", "rmse"}
    assert fit.draws.shape == (40, 5)


def test_fit_is_deterministic_given_seed():
    truth = example_instance(2, seed=5).curves["ch00"]
    hist = simulate_history(truth, n_weeks=60, seed=1)
    a = ch.fit_response_curve(hist, n_boot=10, seed=7)
    b = ch.fit_response_curve(hist, n_boot=10, seed=7)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.draws, b.draws)


def test_fit_with_zero_initial_adstock():
    truth = ch.ResponseCurve("c", 1_000.0, 20_000.0, 0.7, 20_000.0, 1.5)
    rng = np.random.default_rng(0)
    spend = 6_000 * rng.lognormal(0, 0.5, 80)
    mean = 1_000 + 20_000 * ch.hill(ch.adstock(spend, 0.7), 20_000, 1.5)
    weekly = pd.DataFrame(
        {
            "week_start": pd.date_range("2024-01-01", periods=80, freq="7D"),
            "spend": spend,
            "revenue": mean * (1 + rng.normal(0, 0.03, 80)),
        }
    )
    fit = ch.fit_response_curve(weekly, n_boot=0, initial_adstock="zero")
    assert fit.revenue(6_000) == pytest.approx(truth.revenue(6_000), rel=0.10)
    with pytest.raises(ValueError, match="initial_adstock must be 'steady' or 'zero'"):
        ch.fit_response_curve(weekly, n_boot=0, initial_adstock="warm")


def test_fit_missing_column_fails_clearly():
    with pytest.raises(ValueError, match=r"weekly is missing column\(s\) \['revenue'\]"):
        ch.fit_response_curve(pd.DataFrame({"week_start": ["2024-01-01"], "spend": [1.0]}))


def test_fit_response_curves_falls_back_to_priors(inst5, fitted5):
    assert (fitted5["source"] == "fitted").all()
    chans = inst5.channels.copy()
    chans.loc[chans["channel_id"] == "ch04", ["prior_weekly_revenue_max"]] = np.nan
    hist = simulate_history(inst5.curves["ch00"], n_weeks=104, seed=2)
    short = simulate_history(inst5.curves["ch01"], n_weeks=10, seed=2)
    spend = pd.concat([hist.assign(channel_id="ch00"), short.assign(channel_id="ch01")])
    table = ch.fit_response_curves(
        spend[["week_start", "channel_id", "spend"]],
        spend[["week_start", "channel_id", "revenue"]],
        chans,
        min_weeks=26,
        n_boot=5,
        n_starts=2,
    )
    t = table.set_index("channel_id")
    assert t.loc["ch00", "source"] == "fitted"
    assert t.loc["ch01", "source"] == "prior"
    assert t.loc["ch01", "reason"] == "only 10 weeks of history (< min_weeks=26)"
    assert t.loc["ch02", "reason"] == "no spend/revenue history"
    assert t.loc["ch04", "source"] == "unavailable"
    prior = t.loc["ch02", "curve"]
    row = chans.set_index("channel_id").loc["ch02"]
    assert prior.revenue_max == row["prior_weekly_revenue_max"]
    # the prior's weekly half-saturation spend gives half of revenue_max at steady state
    assert prior.revenue(row["prior_half_saturation_spend"]) == pytest.approx(
        0.5 * row["prior_weekly_revenue_max"]
    )
    assert "ch04" not in ch.as_curve_map(table)


# ---------------------------------------------------------------- reach


# ---------------------------------------------------------------- NSGA-II front


CONS10 = ch.PlanConstraints(
    total_budget=60_000,
    min_channels=3,
    max_channels=6,
    default_max_budget=25_000,
    min_budget={"ch02": 4_000, "ch03": 2_000},
    max_budget={"ch01": 8_000},
    force_in=["ch05"],
    force_out=["ch07"],
    fixed_budget={"ch09": 5_000},
)


@pytest.fixture(scope="module")
def result10():
    inst = example_instance(10, seed=0)
    # give the known curves prior-style draws so that the risk objective is not flat
    curves = {}
    for cid, curve in inst.curves.items():
        row = inst.channels.set_index("channel_id").loc[cid].to_dict() | {"channel_id": cid}
        prior = ch.prior_curve(row, "test", n_draws=50, seed=1)
        draws = np.tile(curve.params, (50, 1))
        draws[:, 1] *= prior.draws[:, 1] / prior.revenue_max
        curves[cid] = ch.ResponseCurve(cid, *curve.params, draws=draws)
    reach = ch.segment_channel_reach(inst.segment_profiles, inst.channels)
    return ch.optimise_channel_plan(
        curves, inst.channels, reach, CONS10, inst.target_segments, pop_size=100, n_gen=200, seed=3
    )


def test_every_plan_satisfies_every_constraint(result10):
    front = result10.front
    assert len(front) > 10
    budgets = front[[f"budget_{c}" for c in result10.model.channel_ids]]
    selected = front[[f"selected_{c}" for c in result10.model.channel_ids]].astype(bool)
    budgets.columns = selected.columns = result10.model.channel_ids
    eps = 1e-6
    assert (budgets.sum(axis=1) <= CONS10.total_budget + eps).all()
    n = selected.sum(axis=1)
    assert n.between(CONS10.min_channels, CONS10.max_channels).all()
    assert selected["ch05"].all() and selected["ch09"].all() and not selected["ch07"].any()
    assert np.allclose(budgets["ch09"], 5_000)
    run = selected.to_numpy()
    b = budgets.to_numpy()
    lo = np.array([CONS10.min_budget.get(c, 0.0) for c in budgets.columns])
    hi = np.array([CONS10.max_budget.get(c, 25_000.0) for c in budgets.columns])
    assert (b[run] >= np.broadcast_to(lo, b.shape)[run] - eps).all()
    assert (b[run] <= np.broadcast_to(hi, b.shape)[run] + eps).all()
    assert (b[~run] == 0).all()
    assert (ch.plan_violations(result10).drop(columns="plan").to_numpy() == 0).all()


def test_no_plan_in_front_is_dominated(result10):
    F = np.column_stack(
        [-result10.front["profit"], -result10.front["reach"], result10.front["risk"]]
    )
    for i in range(len(F)):
        dominated = np.all(F <= F[i], axis=1) & np.any(F < F[i], axis=1)
        assert not dominated.any(), f"plan {i} is dominated"


def test_nsga2_is_deterministic_with_seed(inst5, reach5):
    kw = dict(pop_size=30, n_gen=30, seed=11)
    a = ch.optimise_channel_plan(
        inst5.curves, inst5.channels, reach5, CONS5, inst5.target_segments, **kw
    )
    b = ch.optimise_channel_plan(
        inst5.curves, inst5.channels, reach5, CONS5, inst5.target_segments, **kw
    )
    pd.testing.assert_frame_equal(a.front, b.front)


def test_hypervolume_at_least_99_percent_of_exact_front(inst5, reach5):
    small = ch.PlanConstraints(
        total_budget=30_000, min_channels=1, max_channels=3, default_max_budget=20_000
    )
    exact = ch.exact_front(
        inst5.curves, inst5.channels, reach5, small, inst5.target_segments, n_eps=40
    )
    res = ch.optimise_channel_plan(
        inst5.curves,
        inst5.channels,
        reach5,
        small,
        inst5.target_segments,
        objectives=("profit", "reach"),
        pop_size=100,
        n_gen=200,
        seed=0,
    )
    hv = ch.hypervolume_ratio(res.front, exact, margin=HV_MARGIN)
    assert hv["ratio"] >= 0.99, hv
    # stronger: NSGA-II covers at least 99% of what both fronts together cover
    assert hv["ratio_union"] >= 0.99, hv


def test_recommended_plan_true_profit_within_5_percent_of_exact(inst5, fitted5, reach5):
    res = ch.optimise_channel_plan(
        fitted5, inst5.channels, reach5, CONS5, inst5.target_segments, seed=0
    )
    plan = ch.recommend_plan(res, {"profit": 1.0})
    assert plan["rule"].startswith("weights: pymoo ASF")
    truth_model = ch.build_plan_model(
        inst5.curves, inst5.channels, reach5, CONS5, inst5.target_segments
    )
    true_profit = ch.evaluate_plans(plan, truth_model)["profit"].iloc[0]
    best = ch.exact_best_plan(inst5.curves, inst5.channels, CONS5)
    assert best["n_subsets"] == 25  # 5 + 10 + 10 subsets of one to three channels
    assert true_profit >= 0.95 * best["profit"], (true_profit, best["profit"])
    assert true_profit <= best["profit"] + 1e-6 * abs(best["profit"])


def test_exact_best_plan_matches_hand_solution():
    # two identical concave channels (slope 1, no decay): the optimum splits the budget
    curve = dict(
        base_weekly_revenue=0.0,
        revenue_max=10_000.0,
        adstock_decay=0.0,
        hill_half_saturation=1_000.0,
        hill_slope=1.0,
    )
    curves = {c: ch.ResponseCurve(c, **curve) for c in ("a", "b")}
    channels = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "commission_rate": [0.0, 0.0],
            "fixed_cost_per_month": [0.0, 0.0],
        }
    )
    best = ch.exact_best_plan(curves, channels, ch.PlanConstraints(total_budget=1_000))
    # marginal revenue 1e7/(1000+s)^2 > 1 everywhere below s=500, so all budget is spent
    assert best["budget_a"] == pytest.approx(500, rel=1e-3)
    assert best["budget_b"] == pytest.approx(500, rel=1e-3)
    assert best["profit"] == pytest.approx(2 * 10_000 * 500 / 1_500 - 1_000, rel=1e-6)


def test_recommend_knee_and_tables(result10):
    plan = ch.recommend_plan(result10)
    assert plan["rule"].startswith("knee:")
    assert plan["plan"] in set(result10.front["plan"])
    floored = ch.recommend_plan(result10, "knee", min_profit_share=0.97)
    assert floored["rule"].startswith("among the ")
    assert floored["profit"] >= 0.97 * result10.front["profit"].max() - 1e-6
    table = ch.channel_plan(plan, result10)
    assert list(table["channel_id"]) == result10.model.channel_ids
    assert {
        "budget",
        "revenue_lo",
        "revenue_hi",
        "profit_lo",
        "profit_hi",
        "reach_seg0",
        "reach_seg1",
    } <= set(table.columns)
    run = table[table["selected"]]
    assert (run["revenue_lo"] <= run["revenue"] + 1e-9).all()
    assert table.loc[~table["selected"], "budget"].eq(0).all()
    with pytest.raises(
        ch.ChannelPlanError,
        match=re.escape(
            "weights for unknown objective(s) ['cost']; objectives are ['profit', 'reach', 'risk']"
        ),
    ):
        ch.recommend_plan(result10, {"cost": 1.0})


def test_recommend_plan_by_hand():
    # profit floor 0.9 x 100 = 90 keeps plans 0-2; normalised over them (0 = best):
    # profit (0, 0.5, 1), reach (1, 0.25, 0), risk equal (0): plan 1 is closest to the ideal
    # (distance 0.56 against 1 and 1); weight on reach alone picks the most reach, plan 2
    front = pd.DataFrame(
        {
            "plan": [0, 1, 2, 3],
            "profit": [100.0, 96.0, 92.0, 50.0],
            "reach": [0.1, 0.4, 0.5, 0.9],
            "risk": [5.0, 5.0, 5.0, 5.0],
        }
    )
    knee = ch.recommend_plan(front, "knee", min_profit_share=0.9)
    assert knee["plan"] == 1
    assert knee["rule"] == (
        "among the 3 plans with profit >= 90% of the front's best (90/week), knee: no high "
        "trade-off point flagged by pymoo HighTradeoffPoints on normalised (profit, reach, "
        "risk); plan closest to the ideal point"
    )
    reach_first = ch.recommend_plan(front, {"reach": 1.0}, min_profit_share=0.9)
    assert reach_first["plan"] == 2
    assert reach_first["rule"].endswith(
        "weights: pymoo ASF with weights 1/w on normalised (profit=0, reach=1, risk=0)"
    )
    assert ch.recommend_plan(front, {"reach": 1.0})["plan"] == 3  # no floor: all four plans
    with pytest.raises(
        ch.ChannelPlanError, match=re.escape("min_profit_share must be in [0, 1], got 1.5")
    ):
        ch.recommend_plan(front, min_profit_share=1.5)
    with pytest.raises(ch.ChannelPlanError, match="rule must be 'knee' or a weights mapping"):
        ch.recommend_plan(front, "elbow")
    with pytest.raises(ch.ChannelPlanError, match="weights must be >= 0 with a positive sum"):
        ch.recommend_plan(front, {"reach": 0.0})


def test_sensitivity_table(inst5, fitted5, reach5):
    table = ch.sensitivity(
        fitted5,
        inst5.channels,
        reach5,
        CONS5,
        inst5.target_segments,
        rule={"profit": 1.0},
        n_curve_draws=2,
        pop_size=30,
        n_gen=30,
    )
    assert list(table["scenario"]) == [
        "base",
        "budget -20%",
        "budget +20%",
        "curve draw 0",
        "curve draw 1",
    ]
    assert (table["note"] == "").all()
    t = table.set_index("scenario")
    assert t.loc["budget -20%", "spend"] <= 0.8 * CONS5.total_budget + 1e-6
    assert t.loc["base", "budget_moved"] == 0


# ---------------------------------------------------------------- bad parameters


BAD = [
    (
        dict(
            total_budget=10_000,
            fixed_budget={"ch00": 6_000},
            force_in=["ch01"],
            min_budget={"ch01": 5_000},
        ),
        "total_budget 10000 is below the sum of forced minimum and fixed budgets 11000 "
        "(fixed: ch00=6000; forced-in minimums: ch01=5000)",
    ),
    (
        dict(
            total_budget=10_000,
            min_channels=2,
            min_budget={c: 6_000 for c in ("ch00", "ch01", "ch02", "ch03", "ch04")},
        ),
        "total_budget 10000 is below the sum of forced minimum and fixed budgets 12000 "
        "(cheapest minimums to reach min_channels=2: ch00=6000, ch01=6000)",
    ),
    (
        dict(total_budget=1_000, force_in=["tiktok"]),
        "unknown channel(s) in force_in: ['tiktok']; known channels: "
        "['ch00', 'ch01', 'ch02', 'ch03', 'ch04']",
    ),
    (
        dict(total_budget=1_000, fixed_budget={"jd": 10}),
        "unknown channel(s) in fixed_budget: ['jd']; known channels: "
        "['ch00', 'ch01', 'ch02', 'ch03', 'ch04']",
    ),
    (
        dict(total_budget=1_000, min_channels=3, max_channels=2),
        "min_channels (3) > max_channels (2)",
    ),
    (
        dict(total_budget=1_000, min_channels=4, force_out=["ch00", "ch01"]),
        "min_channels (4) > available channels (3 not in force_out)",
    ),
    (
        dict(total_budget=1_000, max_channels=1, force_in=["ch00"], fixed_budget={"ch01": 10}),
        "forced-in channels (2: ['ch00', 'ch01']) exceed max_channels (1)",
    ),
    (
        dict(total_budget=1_000, min_budget={"ch02": 500}, max_budget={"ch02": 100}),
        "channel 'ch02': min_budget 500 > max_budget 100",
    ),
    (
        dict(total_budget=1_000, force_in=["ch00"], force_out=["ch00"]),
        "channel(s) ['ch00'] are both in force_in and force_out",
    ),
    (dict(total_budget=0), "total_budget must be a positive number, got 0"),
    (
        dict(total_budget=1_000, min_budget={"ch01": -5}),
        "min_budget['ch01'] must be a number >= 0, got -5",
    ),
    (
        dict(total_budget=1_000, fixed_budget={"ch01": 10}, force_out=["ch01"]),
        "channel(s) ['ch01'] have a fixed_budget but are in force_out",
    ),
    # the cap of a running channel defaults to total_budget: 1,500 > 1,000
    (
        dict(total_budget=1_000, fixed_budget={"ch04": 1_500}),
        "channel 'ch04': fixed_budget 1500 is outside [min_budget 0, max_budget 1000]",
    ),
    (
        dict(total_budget=1_000, min_channels=-1),
        "min_channels (-1) and max_channels (None) must be >= 0",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_parameters_stop_before_optimising(inst5, reach5, monkeypatch, kwargs, message):
    def never(*args, **kw):
        raise AssertionError("optimiser ran")

    monkeypatch.setattr(ch.plan, "minimize", never)
    cons = ch.PlanConstraints(**kwargs)
    with pytest.raises(ch.ChannelPlanError, match=f"^{re.escape(message)}$"):
        ch.validate_constraints(cons, inst5.channels)
    with pytest.raises(ch.ChannelPlanError, match=f"^{re.escape(message)}$"):
        ch.optimise_channel_plan(inst5.curves, inst5.channels, reach5, cons, inst5.target_segments)


def test_fitted_spend_is_capped_near_observed_spend(inst5, fitted5, reach5):
    curve = fitted5.set_index("channel_id").loc["ch00", "curve"]
    observed = curve.diagnostics["spend_max"]
    cons = ch.PlanConstraints(total_budget=100_000, max_spend_multiple=1.5)
    model = ch.build_plan_model(fitted5, inst5.channels, reach5, cons, inst5.target_segments)
    assert model.hi[0] == pytest.approx(1.5 * observed)
    uncapped = ch.build_plan_model(
        fitted5,
        inst5.channels,
        reach5,
        ch.PlanConstraints(total_budget=100_000, max_spend_multiple=None),
    )
    assert uncapped.hi[0] == 100_000
    too_high = ch.PlanConstraints(
        total_budget=100_000, max_spend_multiple=1.0, min_budget={"ch00": 2 * observed}
    )
    with pytest.raises(
        ch.ChannelPlanError,
        match=re.escape(
            f"channel 'ch00': min_budget {2 * observed:g} > max_budget {observed:g} "
            f"(1 x the largest observed weekly spend {observed:g}; raise "
            "max_spend_multiple to allow more)"
        ),
    ):
        ch.validate_constraints(too_high, inst5.channels, fitted5)


def test_unknown_target_segment_and_missing_curve(inst5, reach5):
    with pytest.raises(
        ch.ChannelPlanError,
        match=re.escape("unknown target segment(s) ['vip']; reach has segments"),
    ):
        ch.validate_constraints(CONS5, inst5.channels, inst5.curves, reach5, {"vip": 1.0})
    some = {k: v for k, v in inst5.curves.items() if k != "ch03"}
    with pytest.raises(
        ch.ChannelPlanError, match=re.escape("no response curve for channel(s) ['ch03']")
    ):
        ch.validate_constraints(CONS5, inst5.channels, some)
    ch.validate_constraints(
        ch.PlanConstraints(total_budget=1.0, force_out=["ch03"]), inst5.channels, some
    )


def test_reach_objective_needs_a_matrix_covering_the_channels_and_positive_weights(inst5, reach5):
    with pytest.raises(ch.ChannelPlanError, match="^target_segments given but no reach matrix$"):
        ch.validate_constraints(CONS5, inst5.channels, target_segments={"seg0": 1.0})
    with pytest.raises(
        ch.ChannelPlanError, match=re.escape("reach has no column for channel(s) ['ch02']")
    ):
        ch.validate_constraints(
            CONS5, inst5.channels, None, reach5.drop(columns="ch02"), {"seg0": 1.0}
        )
    # ch02 forced out: the reach matrix need not cover it
    ch.validate_constraints(
        ch.PlanConstraints(total_budget=1.0, force_out=["ch02"]),
        inst5.channels,
        None,
        reach5.drop(columns="ch02"),
        {"seg0": 1.0},
    )
    with pytest.raises(
        ch.ChannelPlanError,
        match=re.escape("target segment values must be >= 0 with a positive sum"),
    ):
        ch.validate_constraints(CONS5, inst5.channels, None, reach5, {"seg0": 1.0, "seg1": -1.0})


# ---------------------------------------------------------------- plots


def test_plot_helpers_return_labelled_axes(inst5, fitted5, result10):
    curve = fitted5.set_index("channel_id").loc["ch00", "curve"]
    ax = ch.plot_response_curve(curve)
    assert "base currency" in ax.get_xlabel() and "base currency" in ax.get_ylabel()
    plan = ch.recommend_plan(result10)
    ax = ch.plot_pareto_2d(result10.front, highlight=plan)
    assert "profit" in ax.get_xlabel() and "reach" in ax.get_ylabel()
    ax = ch.plot_parallel_coordinates(result10.front, highlight=plan)
    assert ax.get_ylabel()
    plt.close("all")
