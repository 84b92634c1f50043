"""The out-of-sample check of the response model (channel_selection.holdout): known answers on
series built from a known curve, the held-out weeks never reach the refit, the sentence
follows its numbers, and the simulator's true curves against a curve without media."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.response import adstock, hill
from channelops.stages import channel_selection as chn
from channelops.synth.scoring import channels as truth_scoring

WEEKS = pd.date_range("2023-01-02", periods=60, freq="7D")
TRUE = dict(rmax=50_000.0, decay=0.4, half=30_000.0, slope=1.2)


def _series(noise_sd: float = 0.0, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One channel 'a': spend varying week to week, revenue = 20,000 + 100 a week + media."""
    rng = np.random.default_rng(seed)
    spend = rng.uniform(5_000.0, 40_000.0, len(WEEKS))
    start = spend[:4].mean()
    a = adstock(spend, TRUE["decay"], TRUE["decay"] * start / (1 - TRUE["decay"]))
    media = TRUE["rmax"] * hill(a, TRUE["half"], TRUE["slope"])
    revenue = 20_000.0 + 100.0 * np.arange(len(WEEKS)) + media
    revenue = revenue * (1.0 + rng.normal(0.0, noise_sd, len(WEEKS)))
    s = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "spend": spend})
    r = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "revenue": revenue})
    return s, r


def _curve(rmax_factor: float = 1.0, spread: float = 0.0) -> chn.ResponseCurve:
    p = np.array([0.0, TRUE["rmax"] * rmax_factor, TRUE["decay"], TRUE["half"], TRUE["slope"]])
    draws = np.array([p * [1, 1 - spread, 1, 1, 1], p, p * [1, 1 + spread, 1, 1, 1]])
    return chn.ResponseCurve("a", *p, draws=draws if spread else np.empty((0, 5)), source="truth")


def test_the_true_curve_predicts_the_held_out_weeks_exactly():
    spend, revenue = _series()
    tab = chn.holdout_errors({"a": _curve(spread=0.1)}, spend, revenue, WEEKS[-13])
    row = tab.iloc[0]
    assert (row["train_weeks"], row["holdout_weeks"]) == (47, 13)
    assert row["holdout_mape"] == pytest.approx(0.0, abs=1e-9)
    assert row["insample_mape"] == pytest.approx(0.0, abs=1e-9)
    assert row["bias"] == pytest.approx(0.0, abs=1e-9)
    assert row["actual_revenue"] == pytest.approx(revenue["revenue"].tail(13).sum())
    assert row["band_coverage"] == 1.0  # revenue_max +-10% brackets the truth every week
    # twice the media: the base re-estimated on the fitted weeks cannot make up for it
    wrong = chn.holdout_errors({"a": _curve(2.0, spread=0.1)}, spend, revenue, WEEKS[-13])
    assert wrong.iloc[0]["holdout_mape"] > 0.01
    assert wrong.iloc[0]["band_coverage"] < 1.0


def test_the_refit_never_sees_the_held_out_weeks():
    spend, revenue = _series(noise_sd=0.02)
    catalog = pd.DataFrame({"channel_id": ["a"]})
    kw = dict(holdout_weeks=10, min_weeks=20, n_boot=3, seed=5)
    base = chn.holdout_check("per_channel", spend, revenue, catalog, **kw)
    spoiled = revenue.copy()
    spoiled.loc[spoiled.index[-10:], "revenue"] *= 3.0
    moved = chn.holdout_check("per_channel", spend, spoiled, catalog, **kw)
    # the in-sample fit is the same; only the held-out error moves
    assert moved.iloc[0]["insample_mape"] == base.iloc[0]["insample_mape"]
    assert moved.iloc[0]["holdout_mape"] > 0.5 > base.iloc[0]["holdout_mape"]
    assert moved.iloc[0]["bias"] < -0.5  # predicted about a third of the tripled revenue
    # with 2% noise the refitted curve's error is of the noise's order, not of the signal's
    assert base.iloc[0]["holdout_mape"] < 0.05


def test_bad_arguments_are_refused():
    spend, revenue = _series()
    catalog = pd.DataFrame({"channel_id": ["a"]})
    with pytest.raises(ValueError, match="holdout_weeks must be >= 1, got 0"):
        chn.holdout_check("per_channel", spend, revenue, catalog, holdout_weeks=0)
    with pytest.raises(ValueError, match="response_model must be one of"):
        chn.holdout_check("bayes", spend, revenue, catalog)
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\), got 1.5"):
        chn.holdout_errors({"a": _curve()}, spend, revenue, WEEKS[-5], level=1.5)
    with pytest.raises(ValueError, match="revenue is missing column"):
        chn.holdout_errors({"a": _curve()}, spend, revenue.drop(columns="revenue"), WEEKS[-5])
    # no spend history, or fewer weeks than held out: nothing to check, columns kept
    assert list(chn.holdout_check("per_channel", None, revenue, catalog).columns) == list(
        chn.HOLDOUT_COLUMNS
    )
    assert chn.holdout_check("per_channel", spend, revenue.head(5), catalog).empty


def _table(out_err, in_err, coverage, predicted=110.0):
    return pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "holdout_weeks": [13, 13],
            "holdout_mape": [out_err, out_err * 2],
            "insample_mape": [in_err, in_err * 2],
            "actual_revenue": [100.0, 100.0],
            "predicted_revenue": [predicted, predicted],
            "band_coverage": [coverage, coverage],
            "band_level": [0.9, 0.9],
        }
    )


def test_the_sentence_follows_the_numbers():
    good = chn.holdout_sentence(_table(0.10, 0.09, 0.92))
    assert "mean absolute error of 15% per week (in sample 14%), about as well" in good
    assert "the worst channel is b (20%)" in good
    assert "10% above the revenue that came in" in good
    assert "hold 24 of 26 held-out channel-weeks (92%), as many as their level promises" in good
    bad = chn.holdout_sentence(_table(0.30, 0.10, 0.3, predicted=80.0))
    assert "clearly worse than the weeks they were fitted on" in bad
    assert "20% below the revenue" in bad
    assert "hold 8 of 26 held-out channel-weeks (30%), fewer than their level" in bad
    assert "not checked out of sample" in chn.holdout_sentence(chn.empty_response_holdout())


def test_the_simulators_true_curves_predict_held_out_weeks_better_than_no_media(tiny_dataset):
    d = tiny_dataset
    weekly = pd.read_parquet(d / "truth" / "weekly_revenue.parquet")
    truth = truth_scoring.curves_from_truth(
        pd.read_parquet(d / "truth" / "response_curves.parquet")
    )
    spend = pd.read_csv(d / "marketing_spend.csv")
    revenue = weekly[["week_start", "channel_id", "total_revenue"]].rename(
        columns={"total_revenue": "revenue"}
    )
    first = sorted(pd.to_datetime(revenue["week_start"]).unique())[-13]
    true = chn.holdout_errors(truth, spend, revenue, first).set_index("channel_id")
    none = {c: cv.with_params(cv.params * [1, 0, 1, 1, 1]) for c, cv in truth.items()}
    flat = chn.holdout_errors(none, spend, revenue, first).set_index("channel_id")
    better = (true["holdout_mape"] < flat["holdout_mape"]).sum()
    assert better > len(true) / 2, pd.concat({"truth": true, "no media": flat}, axis=1)
