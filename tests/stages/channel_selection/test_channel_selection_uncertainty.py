"""The plan's uncertainty and returns on hand-built curves with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch

CHANNELS = pd.DataFrame(
    {"channel_id": ["a", "b"], "commission_rate": [0.1, 0.0], "fixed_cost_per_month": [0.0, 0.0]}
)


def _curve(cid: str, rmax: float, draws_rmax: list[float] | None = None) -> ch.ResponseCurve:
    # R(s) = 1000 + rmax * s / (s + 50): decay 0, half-saturation 50, slope 1
    draws = np.empty((0, 5))
    if draws_rmax is not None:
        draws = np.array([[1000.0, r, 0.0, 50.0, 1.0] for r in draws_rmax])
    return ch.ResponseCurve(cid, 1000.0, rmax, 0.0, 50.0, 1.0, draws=draws)


def _model(curves: dict, margins: dict | float = 0.5) -> ch.PlanModel:
    cons = ch.PlanConstraints(total_budget=10_000.0, min_channels=1)
    return ch.build_plan_model(curves, CHANNELS, None, cons, {}, margins)


def test_margin_map_is_used_as_is_and_flat_margin_takes_commission_off():
    curves = {"a": _curve("a", 1000.0), "b": _curve("b", 1000.0)}
    np.testing.assert_allclose(_model(curves, {"a": 0.3, "b": 0.4}).net_share, [0.3, 0.4])
    np.testing.assert_allclose(_model(curves, 0.5).net_share, [0.45, 0.5])
    with pytest.raises(ch.ChannelPlanError, match=r"no margin rate for channel\(s\) \['b'\]"):
        _model(curves, {"a": 0.3})
    with pytest.raises(ch.ChannelPlanError, match="finite"):
        _model(curves, {"a": 0.3, "b": float("nan")})


def test_trim_cuts_spend_back_to_break_even():
    # margin 0.5, R'(s) = 1000 * 50 / (s + 50)^2 -> 0.5 R'(s) = 1 at s = sqrt(25000) - 50
    m = _model({"a": _curve("a", 1000.0), "b": _curve("b", 10.0)}, {"a": 0.5, "b": 0.5})
    out = ch.trim_unpaid_spend(m, {"a": 300.0, "b": 40.0})
    assert out["a"] == pytest.approx(np.sqrt(25_000) - 50, abs=1.0)
    assert out["b"] == 0.0  # 0.5 * R'(0) = 0.1: not even the first unit pays
    assert ch.trim_unpaid_spend(m, {"a": 80.0}) == {"a": 80.0}  # already pays


def test_channel_returns_by_hand():
    m = _model({"a": _curve("a", 1000.0), "b": _curve("b", 10.0)}, {"a": 0.5, "b": 0.5})
    r = ch.channel_returns(m, {"a": 50.0}).set_index("channel_id").loc["a"]
    assert r["incremental_revenue"] == pytest.approx(500.0)
    assert r["roas"] == pytest.approx(10.0)
    assert r["mroas"] == pytest.approx(1000 * 50 / 100**2, rel=1e-3)  # 5.0
    assert r["margin_return"] == pytest.approx(2.5, rel=1e-3) and r["pays"]


def test_plan_vs_current_gain_interval_and_probability():
    # the plan moves 100 of spend from b (rmax 1000 on every draw) to a; it wins only on
    # the draws where a responds more than b: rmax 2000 and 3000 win, 100 and 200 lose
    a = _curve("a", 1500.0, [100.0, 200.0, 2000.0, 3000.0])
    b = _curve("b", 1000.0, [1000.0] * 4)
    m = _model({"a": a, "b": b}, {"a": 0.5, "b": 0.5})
    cmp = ch.plan_vs_current(m, {"a": 100.0, "b": 0.0}, {"a": 0.0, "b": 100.0}, ["a", "b"])
    g = cmp.set_index("allocation")
    # point: gain = 0.5 * (1500 - 1000) * 100 / 150 (same spend and base on both sides)
    assert g.loc["gain", "profit"] == pytest.approx(0.5 * 500 * 100 / 150)
    assert g.loc["gain", "prob_positive"] == pytest.approx(0.5)
    gains = 0.5 * (np.array([100.0, 200.0, 2000.0, 3000.0]) - 1000.0) * 100 / 150
    assert g.loc["gain", "profit_mean"] == pytest.approx(gains.mean())
    assert g.loc["gain", "spend"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="level"):
        ch.plan_vs_current(m, {"a": 1.0}, {"a": 0.0}, level=1.5)


def test_plan_vs_current_spend_is_summed_in_channel_order():
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001 in this order and 0.6 in others: the sum must
    # not follow a set's iteration order, which changes from process to process
    three = pd.DataFrame(
        {"channel_id": list("abc"), "commission_rate": 0.0, "fixed_cost_per_month": 0.0}
    )
    cons = ch.PlanConstraints(total_budget=10_000.0, min_channels=1)
    curves = {c: _curve(c, 1000.0) for c in "abc"}
    m = ch.build_plan_model(curves, three, None, cons, {}, 0.5)
    cmp = ch.plan_vs_current(m, {"a": 1.0}, {"a": 0.1, "b": 0.2, "c": 0.3}, ["c", "b", "a"])
    assert cmp.set_index("allocation").loc["now", "spend"] == (0.1 + 0.2) + 0.3


def test_current_allocation_is_the_recent_mean():
    spend = pd.DataFrame(
        {
            "week_start": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-15"],
            "channel_id": ["a", "a", "a", "b"],
            "spend": [100.0, 10.0, 20.0, 40.0],
        }
    )
    assert ch.current_allocation(spend, ["a", "b", "c"], weeks=2) == {
        "a": 15.0,
        "b": 20.0,
        "c": 0.0,
    }
    assert ch.current_allocation(None, ["a"]) == {"a": 0.0}
    with pytest.raises(ValueError, match="weeks"):
        ch.current_allocation(spend, ["a"], weeks=0)


def _comparison(lo: float, hi: float, p: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "allocation": ["now", "plan", "gain"],
            "profit": [100.0, 100.0 + (lo + hi) / 2, (lo + hi) / 2],
            "profit_lo": [90.0, 90.0, lo],
            "profit_hi": [110.0, 110.0, hi],
            "spend": [50.0, 40.0, -10.0],
            "prob_positive": [np.nan, np.nan, p],
        }
    )


def test_findings_follow_the_numbers():
    ok = pd.DataFrame(
        {"channel_id": ["a"], "spend": [10.0], "pays": [True], "margin_return": [1.4]}
    )
    bad = ok.assign(pays=False, margin_return=0.8)
    better = ch.plan_findings(_comparison(5.0, 20.0, 0.97), ok, "CNY")
    assert "earns more than the current allocation" in better[0] and "97%" in better[0]
    assert "pays its margin" in better[2] and "1.40" in better[2]
    worse = ch.plan_findings(_comparison(-20.0, -5.0, 0.02), bad, "CNY", trimmed=12.0)
    assert "earns less than the current allocation" in worse[0]
    assert "does not pay its margin on a" in worse[2]
    assert "12 CNY a week was cut back" in worse[1]
    unsure = ch.plan_findings(_comparison(-5.0, 20.0, 0.7), ok, "CNY")
    assert "not clearly better" in unsure[0]
    assert not any("PosixPath" in s for s in better + worse + unsure)


def test_front_sentence_follows_the_result():
    curves = {"a": _curve("a", 1000.0), "b": _curve("b", 800.0)}
    cons = ch.PlanConstraints(total_budget=100.0, min_channels=1)
    res = ch.optimise_channel_plan(curves, CHANNELS, None, cons, {}, pop_size=10, n_gen=3, seed=0)
    text = ch.front_sentence(res, 100.0, "CNY")
    assert text.startswith(f"{len(res.front)} plans on the front from {res.n_evals:,} evaluated")
    assert "weekly budget 100 CNY" in text and text.endswith("every constraint: True")
    over = res.front.assign(**{"budget_a": 500.0, "selected_a": True})  # over the budget
    bad = ch.ParetoResult(over, res.objectives, res.model, res.n_evals, res.seconds, res.seed)
    assert ch.front_sentence(bad, 100.0, "CNY").endswith("every constraint: False")
    assert ch.front_sentence(None, 0.0, "CNY", "no channel has a curve") == (
        "No channel plan, Pareto front or sensitivity: no channel has a curve."
    )


def test_trim_to_a_target_return_by_hand():
    # margin 0.5, R'(s) = 1000 * 50 / (s + 50)^2: 0.5 R'(s) = 2 at (s + 50)^2 = 12,500
    m = _model({"a": _curve("a", 1000.0), "b": _curve("b", 10.0)}, {"a": 0.5, "b": 0.5})
    out = ch.trim_unpaid_spend(m, {"a": 300.0}, target_return=2.0)
    assert out["a"] == pytest.approx(np.sqrt(12_500) - 50, abs=1.0)
    # a looser target keeps more spend than break-even does: 0.5 R'(s) = 0.5 at s = 173.6
    loose = ch.trim_unpaid_spend(m, {"a": 300.0}, target_return=0.5)
    assert loose["a"] == pytest.approx(np.sqrt(50_000) - 50, abs=1.0)
    for bad in (0.0, -1.0, float("nan"), float("inf"), "high"):
        with pytest.raises(ValueError, match="target_return .* must be a finite number > 0"):
            ch.trim_unpaid_spend(m, {"a": 300.0}, target_return=bad)


def test_findings_say_the_target_return_when_it_is_not_break_even():
    ok = pd.DataFrame(
        {"channel_id": ["a"], "spend": [10.0], "pays": [True], "margin_return": [1.4]}
    )
    comp = _comparison(5.0, 20.0, 0.97)
    even = ch.plan_findings(comp, ok, "CNY", trimmed=12.0)
    assert "did not pay their margin" in even[1]
    strict = ch.plan_findings(comp, ok, "CNY", trimmed=12.0, target_return=1.25)
    assert "did not return 1.25 in margin per unit of spend" in strict[1]
    assert "did not pay their margin" not in strict[1]
