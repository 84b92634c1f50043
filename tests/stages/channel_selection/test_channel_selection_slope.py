"""The largest fitted Hill slope (notebook 02's ``max_hill_slope``) on a hand-built series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.run.params import PARAM_RANGES
from channelops.stages import channel_selection as ch


def _s_shaped_weeks(n: int = 70, seed: int = 0) -> pd.DataFrame:
    """Weekly revenue = 1000 + 2000 * s^3 / (40^3 + s^3), no carry-over, 1% noise, spend
    only between 20 and 60: an S-shaped truth never observed near zero spend."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(20.0, 60.0, n)
    r = 1000.0 + 2000.0 * s**3 / (40.0**3 + s**3)
    return pd.DataFrame(
        {
            "week_start": pd.date_range("2024-01-01", periods=n, freq="7D"),
            "spend": s,
            "revenue": r * (1.0 + 0.01 * rng.standard_normal(n)),
        }
    )


def test_slope_bounds_by_hand_and_bad_values():
    assert ch.slope_bounds(None) == (0.5, 4.0)
    assert ch.slope_bounds(1.0) == (0.5, 1.0)
    assert ch.slope_bounds(0.6) == (0.3, 0.6)  # the lower bound stays below the upper one
    for bad in (0, -1.0, 4.5, float("nan"), "steep"):
        with pytest.raises(ValueError, match=r"max_slope .* must be a number > 0 and <= 4"):
            ch.slope_bounds(bad)


def test_max_slope_keeps_the_fitted_curve_concave():
    weeks = _s_shaped_weeks()
    kw = dict(n_starts=2, n_boot=4, seed=1, base_terms="none")
    free = ch.fit_response_curve(weeks, "a", **kw)
    capped = ch.fit_response_curve(weeks, "a", max_slope=1.0, **kw)
    assert free.hill_slope > 1.5  # the data's S-shape (true slope 3) is what the free fit finds
    assert capped.hill_slope <= 1.0 + 1e-9
    assert (capped.draws[:, 4] <= 1.0 + 1e-9).all()
    # concave: the first unit of spend earns at least what a unit at 40 does
    m0 = float(capped.revenue(1.0) - capped.revenue(0.0))
    m40 = float(capped.revenue(41.0) - capped.revenue(40.0))
    assert m0 >= m40 > 0
    # and the S-shaped free fit says the first unit earns almost nothing
    assert float(free.revenue(1.0) - free.revenue(0.0)) < 0.1 * m40


def test_bad_max_slope_fails_before_any_fit():
    revenue = pd.DataFrame(columns=["week_start", "channel_id", "revenue"])
    channels = pd.DataFrame({"channel_id": ["a"]})
    with pytest.raises(ValueError, match="max_slope"):
        ch.fit_response_curves(None, revenue, channels, max_slope=0.0)
    with pytest.raises(ValueError, match="max_slope"):
        ch.fit_channel_curves("joint_averaged", None, revenue, channels, max_slope=9.0)


def test_run_parameter_ranges():
    r = PARAM_RANGES["max_hill_slope"]
    assert r.contains(1.0) and r.contains(4.0)
    assert not r.contains(0.0) and not r.contains(4.01) and not r.contains(float("nan"))
    t = PARAM_RANGES["target_return"]  # 02's trim: margin per unit of the last unit of spend
    assert t.contains(1.0) and t.contains(0.5)
    assert not t.contains(0.0) and not t.contains(-1.0) and not t.contains(float("nan"))


def test_joint_fit_and_its_draws_keep_the_bound():
    weeks = _s_shaped_weeks(40)
    other = _s_shaped_weeks(40, seed=5)
    spend = pd.concat(
        [w[["week_start", "spend"]].assign(channel_id=c) for c, w in (("a", weeks), ("b", other))]
    )
    revenue = pd.concat(
        [w[["week_start", "revenue"]].assign(channel_id=c) for c, w in (("a", weeks), ("b", other))]
    )
    channels = pd.DataFrame({"channel_id": ["a", "b"]})
    out = ch.fit_joint_response(
        spend, revenue, channels, None, n_boot=3, n_starts=1, passes=1, base_terms="trend",
        max_slope=1.0,
    )  # fmt: skip
    for curve in out["curve"]:
        assert curve.source == "fitted"
        assert curve.hill_slope <= 1.0 + 1e-9
        assert len(curve.draws) == 3 and (curve.draws[:, 4] <= 1.0 + 1e-9).all()
