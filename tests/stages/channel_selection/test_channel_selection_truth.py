"""Stage 02 against the simulator's truth (tiny dataset, seed 7; 78 weeks per channel).

The tiny data are noisy (fit R^2 0.4-0.8), so the strictness here is what they support; the
demo-size figures (fit within 10%, profit gap within 5%) are measured by
benchmarks/bench_channels_truth.py and recorded in benchmarks/results/channels.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch
from channelops.synth.scoring import channels as truth_scoring

SEED = 7
GROSS_MARGIN = 1.0  # tiny's fixed costs make profit negative at 0.45; 1.0 keeps the gap a share


@pytest.fixture(scope="module")
def sim(tiny_dataset):
    """Spend, revenue (truth's realised weekly total), catalogue, true curves, reach."""
    d = tiny_dataset
    weekly = pd.read_parquet(d / "truth" / "weekly_revenue.parquet")
    truth = truth_scoring.curves_from_truth(
        pd.read_parquet(d / "truth" / "response_curves.parquet")
    )
    catalog = pd.read_csv(d / "channels.csv")
    spend = pd.read_csv(d / "marketing_spend.csv")
    revenue = weekly[["week_start", "channel_id", "total_revenue"]].rename(
        columns={"total_revenue": "revenue"}
    )
    people = pd.read_parquet(d / "truth" / "customers.parquet")[
        ["customer_id", "segment", "mean_spend"]
    ]
    crm = pd.read_csv(d / "customers.csv")[["customer_id", "birth_year", "city"]]
    tiers = pd.read_csv(d / "locations.csv").set_index("city")["city_tier"]
    people = people.merge(crm, on="customer_id")
    people["city_tier"] = people["city"].map(tiers)
    reach = ch.segment_channel_reach(ch.segment_band_shares(people, 2024), catalog)
    targets = people.groupby("segment")["mean_spend"].sum().to_dict()
    budget = float(spend.groupby("week_start")["spend"].sum().tail(13).mean())
    return {
        "spend": spend,
        "revenue": revenue,
        "catalog": catalog,
        "truth": truth,
        "reach": reach,
        "targets": targets,
        "constraints": ch.PlanConstraints(total_budget=budget, min_channels=2),
    }


@pytest.fixture(scope="module")
def fitted(sim):
    return ch.fit_response_curves(
        sim["spend"], sim["revenue"], sim["catalog"], n_boot=10, seed=SEED
    )


@pytest.mark.xfail(
    strict=True,
    reason="issue 20: on simulator 2 (Weibull lag, negative-exponential saturation, spend confounded with season) 02's adstock+Hill fit misses the true response at typical spend by up to 16.7% (demo seed 42)",
)
def test_fitted_curves_match_truth_at_typical_spend(sim, fitted):
    err = truth_scoring.curve_errors(fitted, sim["truth"], spend_multiples=(0.5, 1.0, 2.0))
    long = err[err["n_weeks"] >= 52]
    assert set(long["channel_id"]) == set(sim["truth"])  # every simulated channel is scored
    at = long.pivot(index="channel_id", columns="level", values="error").abs()
    # typical (median observed) spend: within 15% on this 78-week, 800-customer history. The
    # worst channel's error is noise-dominated here: tiny seeds 7-11 gave 0.04-0.12 with
    # generator 1.0 (seed 8 over 10%) and 0.06-0.13 with 1.1 (seed 7: douyin 0.13). The
    # 10% target is checked at demo size by benchmarks/bench_channels_truth.py (<= 4%).
    assert (at["x1"] < 0.15).all(), at
    # half and twice the typical spend: the tiny history supports 30% (measured <= 24%)
    assert (at[["x0.5", "x2"]] < 0.30).all().all(), at


def test_calendar_base_explains_more_than_a_constant_base(sim, fitted):
    flat = ch.fit_response_curves(
        sim["spend"], sim["revenue"], sim["catalog"], n_boot=0, seed=SEED, base_terms="none"
    )
    a = fitted.set_index("channel_id")
    b = flat.set_index("channel_id")
    long = a.index[a["n_weeks"] >= 52]
    assert (a.loc[long, "n_base_terms"] > 0).all()
    assert (b.loc[long, "n_base_terms"] == 0).all()
    # nested models fitted by least squares: the richer base never fits worse
    assert (a.loc[long, "r2"] >= b.loc[long, "r2"] - 1e-6).all()
    assert (a.loc[long, "r2"] - b.loc[long, "r2"]).mean() > 0.05


def test_plan_on_true_curves_is_within_2_percent_of_exact(sim):
    """No fit error: NSGA-II plus the default rule against exhaustive enumeration."""
    curves = dict(sim["truth"])
    fitted_other = ch.fit_response_curves(
        sim["spend"].iloc[:0], sim["revenue"].iloc[:0], sim["catalog"], n_boot=10, seed=SEED
    )
    for cid, cv in ch.as_curve_map(fitted_other).items():
        curves.setdefault(cid, cv)  # candidate channels keep their prior curve
    res = ch.optimise_channel_plan(
        curves,
        sim["catalog"],
        sim["reach"],
        sim["constraints"],
        sim["targets"],
        pop_size=40,
        n_gen=40,
        seed=SEED,
        gross_margin=GROSS_MARGIN,
    )
    plan = ch.recommend_plan(res, "knee", min_profit_share=0.98)
    gap = truth_scoring.plan_profit_gap(
        plan,
        sim["truth"],
        curves,
        sim["catalog"],
        sim["reach"],
        sim["constraints"],
        sim["targets"],
        GROSS_MARGIN,
    )
    assert gap["best_true_profit"] > 0
    assert gap["gap"] < 0.02 + 1e-9, gap


@pytest.mark.xfail(
    strict=True,
    reason="issue 20: on simulator 2 the plan's true profit gap is 0.234 on tiny seed 7 (bound 0.12)",
)
def test_recommended_plan_true_profit_gap_on_fitted_curves(sim, fitted):
    res = ch.optimise_channel_plan(
        fitted,
        sim["catalog"],
        sim["reach"],
        sim["constraints"],
        sim["targets"],
        pop_size=40,
        n_gen=40,
        seed=SEED,
        gross_margin=GROSS_MARGIN,
    )
    plan = ch.recommend_plan(res, "knee", min_profit_share=0.98)
    gap = truth_scoring.plan_profit_gap(
        plan,
        sim["truth"],
        fitted,
        sim["catalog"],
        sim["reach"],
        sim["constraints"],
        sim["targets"],
        GROSS_MARGIN,
    )
    # tiny seed 7 measures 7.8% (profit is a small difference of large revenue and cost, so
    # fit error is amplified); demo measures under 5%, see the benchmark
    assert gap["gap"] < 0.12, gap
    # the planned spend of every fitted channel is predicted within 10%
    spends = {c: float(plan[f"budget_{c}"]) for c in res.model.channel_ids if plan[f"selected_{c}"]}
    err = truth_scoring.curve_errors(fitted, sim["truth"], spend_multiples=(), planned=spends)
    assert (err["error"].abs() < 0.10).all(), err


def test_reach_is_a_share_that_grows_with_spend(sim, fitted):
    model = ch.build_plan_model(
        fitted, sim["catalog"], sim["reach"], sim["constraints"], sim["targets"]
    )
    n = model.n
    z = np.ones((1, n))
    levels = [
        model.objectives(z, np.full((1, n), s))["reach"][0]
        for s in (0.0, 1_000.0, 5_000.0, 50_000.0)
    ]
    assert levels[0] == pytest.approx(0.0)  # organic sales alone reach no one through ads
    assert np.all(np.diff(levels) > 0)
    assert 0.0 < levels[-1] < 1.0
    np.testing.assert_allclose(model.audience.sum(), 1.0)


def test_calendar_regressors_are_centred_and_mark_holidays():
    weeks = pd.Series(pd.date_range("2023-01-02", periods=104, freq="7D"))
    X = ch.calendar_regressors(weeks)
    assert {"trend", "year_cos", "year_sin", "d11_peak", "h618_peak", "cny"} <= set(X.columns)
    np.testing.assert_allclose(X.mean().to_numpy(), 0.0, atol=1e-12)
    d11 = X["d11_peak"].to_numpy()
    assert weeks[int(np.argmax(d11))] == pd.Timestamp("2023-11-06")  # the week of Nov 11
    assert ch.calendar_regressors(weeks, "none").shape == (104, 0)
    assert list(ch.calendar_regressors(weeks, "trend").columns) == ["trend"]
    # a holiday the weeks never reach is dropped, not fitted
    assert "d11_peak" not in ch.calendar_regressors(weeks[:20]).columns
    with pytest.raises(ValueError, match="base_terms must be one of"):
        ch.calendar_regressors(weeks, "fourier")
