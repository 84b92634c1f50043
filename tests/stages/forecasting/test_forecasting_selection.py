"""Forecasting selection: weekday profile, combinations, the intermittent-model guard,
shrinkage toward the global model and the nested (earlier-windows-only) grading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import forecasting as fc
from channelops.stages.forecasting import models as fm


def _metrics(rows):
    """series_metrics-like rows from (sku, model, window, sq_err, rmsse) tuples."""
    df = pd.DataFrame(rows, columns=["sku", "model", "window", "sq_err", "rmsse"])
    return df.assign(channel_id="web")


def test_weekday_profile_forecasts_zero_on_a_closed_weekday_and_keeps_the_level():
    # four weeks, shut on the 7th day, 6 units on the others: level 36/7 per day
    y = np.array([[6, 6, 6, 6, 6, 6, 0] * 4], float)
    f = fc.forecast_matrix("weekday_profile", y, 7)
    assert f[0, 6] == 0.0
    np.testing.assert_allclose(f[0, :6], 6.0)
    # the week's units equal the moving average's (level x 7)
    assert f.sum() == pytest.approx(fc.forecast_matrix("moving_average", y, 7).sum())


def test_weekday_profile_without_recent_units_is_the_moving_average():
    y = np.zeros((1, 30))
    assert fc.forecast_matrix("weekday_profile", y, 5).tolist() == [[0.0] * 5]


def test_combo_is_the_mean_and_combo_median_the_median_of_its_members():
    rng = np.random.default_rng(5)
    y = rng.poisson(3.0, (4, 120)).astype(float)
    members = np.stack([fc.forecast_matrix(m, y, 7) for m in fm.COMBO_MEMBERS])
    cache: dict = {}
    np.testing.assert_allclose(fc.forecast_matrix("combo", y, 7, cache=cache), members.mean(0))
    np.testing.assert_allclose(fc.forecast_matrix("combo_median", y, 7), np.median(members, 0))
    assert set(fm.COMBO_MEMBERS) <= set(cache)  # members fitted once, kept for reuse


def test_intermittent_models_never_forecast_more_than_the_series_sold_lately():
    # one huge sale long ago, then small ones: croston's size estimate stays inflated
    y = np.zeros((1, 400))
    y[0, 5] = 10_000.0
    y[0, 250::60] = 2.0
    for model in ("croston_sba", "adida", "tsb"):
        f = fc.forecast_matrix(model, y, 14)
        assert f.max() <= 2.0 + 1e-9, model


def test_shrinkage_keeps_a_clear_winner_and_sends_a_narrow_one_to_the_global_model():
    # global model: ma (mean RMSSE 0.6 against 0.9); A is much better with naive, B barely
    m = _metrics(
        [
            ("A", "ma", 1, 100.0, 1.0),
            ("A", "naive", 1, 10.0, 0.3),
            ("B", "ma", 1, 100.0, 0.2),
            ("B", "naive", 1, 95.0, 1.5),
        ]
    )
    assert fc.global_model(m) == "ma"
    pick = fc.choose_models(m, shrink=0.2).set_index("sku")["model"]
    assert pick.to_dict() == {"A": "naive", "B": "ma"}
    assert fc.choose_models(m).set_index("sku")["model"].to_dict() == {"A": "naive", "B": "naive"}
    assert set(fc.choose_models(m, shrink=1.0)["model"]) == {"ma"}
    with pytest.raises(ValueError, match="shrink"):
        fc.choose_models(m, shrink=1.5)


def test_nested_choice_never_sees_the_window_it_is_scored_on():
    # window 1 says naive, window 2 says ma, window 3 says naive again
    m = _metrics(
        [
            ("A", "naive", 1, 1.0, 0.1),
            ("A", "ma", 1, 9.0, 0.9),
            ("A", "naive", 2, 30.0, 0.9),
            ("A", "ma", 2, 1.0, 0.1),
            ("A", "naive", 3, 1.0, 0.1),
            ("A", "ma", 3, 50.0, 0.9),
        ]
    )
    assert fc.choose_models(m, before_window=2)["model"].tolist() == ["naive"]
    assert fc.choose_models(m, before_window=3)["model"].tolist() == ["ma"]
    with pytest.raises(ValueError, match="no backtest window"):
        fc.choose_models(m, before_window=1)
    bt = pd.DataFrame(
        [("web", "A", w, model, 1.0, 1.0) for w in (1, 2, 3) for model in ("naive", "ma")],
        columns=["channel_id", "sku", "window", "model", "actual", "forecast"],
    )
    nested = fc.chosen_backtest(bt, m, nested=True)
    assert nested.set_index("window")["chosen_model"].to_dict() == {2: "naive", 3: "ma"}
    other = fc.chosen_backtest(bt, m)  # other windows, later ones included
    assert other.set_index("window")["chosen_model"].to_dict() == {1: "naive", 2: "naive", 3: "ma"}


def _population(n: int = 150, days: int = 112, seed: int = 11) -> pd.DataFrame:
    """Negative binomial daily counts around levels spread over three orders of magnitude."""
    rng = np.random.default_rng(seed)
    level = np.exp(rng.normal(0.0, 1.5, n))
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    y = rng.negative_binomial(2, 2 / (2 + level[:, None]), (n, days)).astype(float)
    return pd.DataFrame(
        {
            "channel_id": "web",
            "sku": np.repeat([f"S{i:03d}" for i in range(n)], days),
            "date": np.tile(dates, n),
            "units": y.reshape(-1),
        }
    )


def test_intervals_per_velocity_class_hold_nominal_coverage_where_pooled_ones_do_not():
    bt = fc.backtest(_population(), ["moving_average"], horizon=28, n_windows=3)
    vcov = fc.velocity_coverage(fc.chosen_backtest(bt), (0.8, 0.95), 5)
    per = vcov[vcov["method"] == "per_class"]
    assert sorted(per["velocity_class"].unique()) == [1, 2, 3, 4, 5]
    assert (abs(per["coverage"] - per["level"]) <= 0.05).all()
    pooled = vcov[(vcov["method"] == "pooled") & (vcov["velocity_class"] == 5)]
    # one pooled scale for all series under-covers the fastest fifth
    assert (pooled["coverage"].to_numpy() < pooled["level"].to_numpy() - 0.05).all()


def test_interval_score_by_hand_and_class_edges():
    # inside: width only; 2 below at 80%: width + 2 / 0.2 * 2
    np.testing.assert_allclose(
        fc.interval_score(np.array([3.0, 0.0]), np.array([1.0, 2.0]), np.array([5.0, 4.0]), 0.8),
        [4.0, 22.0],
    )
    f = pd.DataFrame({"channel_id": "w", "sku": list("ABCD"), "forecast": [1.0, 2.0, 3.0, 4.0]})
    edges = fc.velocity_edges(f, 2)
    assert edges.tolist() == [2.5]
    assert fc.velocity_class(f, edges).tolist() == [1, 1, 2, 2]
    with pytest.raises(ValueError, match="n_classes"):
        fc.velocity_edges(f, 0)


def test_a_model_without_scores_gets_the_widest_interval_not_a_zero_width_one():
    q = pd.DataFrame({"model": ["a", "b"], "level": 0.8, "q_lo": [-1.0, -2.0], "q_hi": [1.0, 3.0]})
    f = pd.DataFrame({"model": ["a", "new"], "forecast": [4.0, 4.0], "scale_mae": [0.0, 0.0]})
    out = fc.add_intervals(f, q, 0.8)  # scale = sqrt(4) = 2
    assert out["lower"].tolist() == [2.0, 0.0] and out["upper"].tolist() == [6.0, 10.0]
