"""channelops.response: geometric adstock, Hill saturation and the steady-state revenue curve."""

import numpy as np
import pandas as pd
import pytest

from channelops.response import adstock, hill, steady_state_revenue


def test_adstock_carries_a_share_of_last_week_over_by_hand():
    np.testing.assert_allclose(adstock([100, 0, 0, 50], 0.5), [100, 50, 25, 62.5])
    # 20 carried in: 10 + 0.5 * 20 = 20, then 10 + 0.5 * 20 = 20 again
    np.testing.assert_allclose(adstock(pd.Series([10.0, 10.0]), 0.5, initial=20), [20, 20])
    np.testing.assert_allclose(adstock([5.0, 7.0], 0.0), [5.0, 7.0])
    assert adstock([], 0.3).shape == (0,)


def test_adstock_of_constant_spend_settles_at_spend_over_one_minus_decay():
    assert adstock(np.full(200, 100.0), 0.6)[-1] == pytest.approx(100 / 0.4)


@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5])
def test_adstock_refuses_a_decay_outside_zero_to_one(decay):
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        adstock([1.0, 2.0], decay)


def test_hill_is_zero_half_and_four_fifths_by_hand():
    # x^2 / (x^2 + 2^2): 0, 4/8, 16/20
    np.testing.assert_allclose(hill([0, 2, 4], half_saturation=2, slope=2), [0, 0.5, 0.8])
    # slope 1 is concave: 6 / (6 + 2)
    assert hill(6.0, half_saturation=2, slope=1) == pytest.approx(0.75)
    # negative input counts as no spend
    assert hill(-3.0, half_saturation=2, slope=1) == 0.0


def test_steady_state_revenue_one_curve_and_several_draws_by_hand():
    p = np.array([1000, 5000, 0.6, 250, 1.0])  # base, revenue_max, decay, K, slope
    # spend 100 -> adstock 100 / 0.4 = 250 = K -> half of revenue_max
    assert steady_state_revenue(100.0, p) == pytest.approx(1000 + 5000 * 0.5)
    draws = np.array([p, [0, 1000, 0.0, 100, 1.0]])
    got = steady_state_revenue(np.array([100.0, 300.0]), draws)
    # draw 1: 300 -> 750 -> 750 / 1000; draw 2: 100 / 200 and 300 / 400
    np.testing.assert_allclose(got, [[3500, 1000 + 5000 * 0.75], [500, 750]])
    assert got.shape == (2, 2)
