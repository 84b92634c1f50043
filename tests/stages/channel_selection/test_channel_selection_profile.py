"""Honest bands of the joint response model: the organic-level profile and the prior on the
cross-channel share, by hand and on a hand-built channel whose spend never went near zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.run.params import PARAM_RANGES
from channelops.stages import channel_selection as ch
from channelops.stages.channel_selection.joint import BaseProfile, fit_joint_response

N = 80
WEEKS = pd.date_range("2023-01-02", periods=N, freq="7D")
BASE, RMAX, K = 80_000.0, 60_000.0, 10_000.0  # revenue = BASE + RMAX * s / (s + K), decay 0
NOISE = 15_000.0


def test_profile_weights_by_hand():
    cost = np.array([10.0, 12.0, 18.0])
    # independent weeks: exp(-(cost - 10) / 2) = exp(0), exp(-1), exp(-4), normalised
    w = ch.profile_weights(cost, sigma2=1.0, rho=0.0)
    assert w == pytest.approx(np.exp([0.0, -1.0, -4.0]) / np.exp([0.0, -1.0, -4.0]).sum())
    # lag-1 autocorrelation 0.5: long-run variance (1 + 0.5) / (1 - 0.5) = 3 times larger
    w = ch.profile_weights(cost, sigma2=1.0, rho=0.5)
    e = np.exp(np.array([0.0, -2.0, -8.0]) / 6.0)
    assert w == pytest.approx(e / e.sum())
    # negative autocorrelation counts as none; above 0.9 as 0.9 (factor 19)
    assert ch.profile_weights(cost, 1.0, -0.4) == pytest.approx(ch.profile_weights(cost, 1.0, 0))
    e = np.exp(np.array([0.0, -2.0, -8.0]) / 38.0)
    assert ch.profile_weights(cost, 1.0, 0.97) == pytest.approx(e / e.sum())


def test_profile_median_by_hand():
    # weights centred on their levels: cumulative 0.05, 0.2, 0.45, 0.8 at levels 0..3, so 0.5
    # lies 0.05 / 0.35 of the way from level 2 to level 3
    prof = BaseProfile(
        levels=np.array([0.0, 1.0, 2.0, 3.0]),
        z=np.zeros((4, 5)),
        cost=np.zeros(4),
        weights=np.array([0.1, 0.2, 0.3, 0.4]),
    )
    assert ch.profile_median(prof) == pytest.approx(2.0 + 0.05 / 0.35)
    # all the weight on one level: that level
    prof.weights = np.array([0.0, 0.0, 1.0, 0.0])
    assert ch.profile_median(prof) == pytest.approx(2.0)


def _channel(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One channel, spend 9,000-14,000 every week (never near zero), noise sd 15,000: the
    level at zero spend is barely identified. True incremental revenue at 10,000: 30,000."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(9_000, 14_000, N)
    rev = BASE + RMAX * s / (s + K) + rng.normal(0, NOISE, N)
    spend = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "spend": s})
    revenue = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "revenue": rev})
    return spend, revenue, pd.DataFrame({"channel_id": ["a"], "commission_rate": 0.0})


def _band(curves: pd.DataFrame, s: float = 10_000.0) -> tuple[float, float, float]:
    cv = ch.as_curve_map(curves)["a"]
    d = cv.revenue_draws(np.array([0.0, s]))
    lo, hi = np.quantile(d[:, 1] - d[:, 0], [0.05, 0.95])
    return float(lo), float(cv.revenue(s) - cv.revenue(0.0)), float(hi)


def test_profiled_band_holds_the_true_effect_the_plain_bootstrap_misses():
    spend, revenue, cat = _channel(seed=1)
    kw = dict(n_boot=20, n_starts=1, base_terms="none", seed=0, shared_demand=False,
              passes=0, cross_channel_sd=0.0)  # fmt: skip
    plain = _band(fit_joint_response(spend, revenue, cat, profile_levels=0, **kw))
    prof = _band(fit_joint_response(spend, revenue, cat, **kw))
    true = RMAX * 10_000.0 / (10_000.0 + K)  # 30,000 a week at 10,000 of spend
    # refits around the least-squares optimum: a band of about 42k-103k, above the truth
    assert true < plain[0] < plain[1]
    # the profile spreads the draws over the organic levels the weeks cannot tell apart:
    # the true effect is inside, and so is the point (refitted at the profile's median)
    assert prof[0] <= true <= prof[2]
    assert prof[0] <= prof[1] <= prof[2]


def test_cross_channel_prior_scales_only_the_response_of_each_draw():
    spend, revenue, cat = _channel()
    kw = dict(n_boot=40, n_starts=1, base_terms="none", seed=0, shared_demand=False,
              passes=0, profile_levels=0)  # fmt: skip
    none = ch.as_curve_map(fit_joint_response(spend, revenue, cat, cross_channel_sd=0.0, **kw))
    some = ch.as_curve_map(fit_joint_response(spend, revenue, cat, cross_channel_sd=0.2, **kw))
    a, b = none["a"], some["a"]
    # same point curve, same draws except revenue_max, scaled by 1 + H, H ~ N(0, 0.2^2)
    assert b.params == pytest.approx(a.params)
    assert np.array_equal(b.draws[:, [0, 2, 3, 4]], a.draws[:, [0, 2, 3, 4]])
    h = b.draws[:, 1] / a.draws[:, 1] - 1.0
    assert abs(h.mean()) < 3 * 0.2 / np.sqrt(40) and 0.1 < h.std() < 0.3


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "wide"])
def test_cross_channel_sd_must_be_a_number_at_least_zero(bad):
    spend, revenue, cat = _channel()
    with pytest.raises(ValueError, match="cross_channel_sd"):
        ch.fit_channel_curves("joint", spend, revenue, cat, n_boot=1, cross_channel_sd=bad)
    assert PARAM_RANGES["cross_channel_sd"].contains(0.0)
    assert not PARAM_RANGES["cross_channel_sd"].contains(-0.1)
