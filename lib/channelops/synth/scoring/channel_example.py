"""A small synthetic channel-selection instance with known curves, for tests and benchmarks.

It is not the simulator (``channelops.synth``); it only produces the few frames stage 02
needs, with the true curves in hand, so that fits and plans can be checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelops.audience import AGE_BANDS, TIER_BANDS
from channelops.response import adstock, hill
from channelops.stages.channel_selection.curves import ResponseCurve

KINDS = ("own_store", "marketplace", "social", "offline", "cross_border")


@dataclass
class ExampleInstance:
    """channels (channels.csv layout), true curves, segment profiles and target values."""

    channels: pd.DataFrame
    curves: dict[str, ResponseCurve]
    segment_profiles: pd.DataFrame
    target_segments: dict[str, float]


def example_instance(n_channels: int = 10, n_segments: int = 4, seed: int = 0) -> ExampleInstance:
    """Random but reproducible channels with Hill/adstock truth curves and audiences.

    Args:
        n_channels: number of candidate channels (ids ch00, ch01, ...).
        n_segments: number of customer segments (ids seg0, ...); the first two are targets.
        seed: random seed.

    Returns:
        An :class:`ExampleInstance`; money in base currency per week (fixed costs per month).
    """
    rng = np.random.default_rng(seed)
    ids = [f"ch{i:02d}" for i in range(n_channels)]
    rmax = rng.uniform(20_000, 80_000, n_channels)
    half_weekly = rng.uniform(3_000, 15_000, n_channels)
    decay = rng.uniform(0.1, 0.6, n_channels)
    slope = rng.uniform(0.8, 2.2, n_channels)
    base = rng.uniform(0.0, 5_000, n_channels)
    ages = rng.dirichlet(np.ones(len(AGE_BANDS)) * 1.5, n_channels)
    tiers = rng.dirichlet(np.ones(len(TIER_BANDS)) * 1.5, n_channels)
    channels = pd.DataFrame(
        {
            "channel_id": ids,
            "name": [f"Channel {i}" for i in range(n_channels)],
            "kind": [KINDS[i % len(KINDS)] for i in range(n_channels)],
            "commission_rate": rng.uniform(0.0, 0.15, n_channels).round(3),
            "fixed_cost_per_month": rng.uniform(2_000, 20_000, n_channels).round(0),
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            **{b: ages[:, j] for j, b in enumerate(AGE_BANDS)},
            **{b: tiers[:, j] for j, b in enumerate(TIER_BANDS)},
            "prior_weekly_revenue_max": (rmax * rng.uniform(0.8, 1.25, n_channels)).round(0),
            "prior_half_saturation_spend": (half_weekly * rng.uniform(0.8, 1.25, n_channels)).round(
                0
            ),
        }
    )
    curves = {
        ch: ResponseCurve(
            ch,
            float(base[i]),
            float(rmax[i]),
            float(decay[i]),
            float(half_weekly[i] / (1.0 - decay[i])),
            float(slope[i]),
            source="truth",
        )
        for i, ch in enumerate(ids)
    }
    seg_ages = rng.dirichlet(np.ones(len(AGE_BANDS)) * 1.5, n_segments)
    seg_tiers = rng.dirichlet(np.ones(len(TIER_BANDS)) * 1.5, n_segments)
    profiles = pd.DataFrame(
        {
            "segment": [f"seg{i}" for i in range(n_segments)],
            **{b: seg_ages[:, j] for j, b in enumerate(AGE_BANDS)},
            **{b: seg_tiers[:, j] for j, b in enumerate(TIER_BANDS)},
        }
    )
    targets = {"seg0": 3.0, "seg1": 1.0} if n_segments >= 2 else {"seg0": 1.0}
    return ExampleInstance(channels, curves, profiles, targets)


def simulate_history(
    curve: ResponseCurve,
    n_weeks: int = 104,
    noise: float = 0.05,
    seed: int = 0,
    start: str = "2023-01-02",
) -> pd.DataFrame:
    """Weekly spend and revenue drawn from a known curve.

    Spend is log-normal around the weekly half-saturation spend with occasional dark
    weeks; adstock starts in steady state at the first weeks' mean spend; revenue gets
    multiplicative Gaussian noise with standard deviation ``noise``.

    Returns:
        week_start, spend, revenue (base currency per week).
    """
    rng = np.random.default_rng(seed)
    typical = curve.hill_half_saturation * (1.0 - curve.adstock_decay)
    spend = typical * rng.lognormal(0.0, 0.6, n_weeks)
    spend[rng.random(n_weeks) < 0.08] = 0.0
    d = curve.adstock_decay
    a = adstock(spend, d, d * spend[:4].mean() / (1.0 - d))
    mean = curve.base_weekly_revenue + curve.revenue_max * hill(
        a, curve.hill_half_saturation, curve.hill_slope
    )
    revenue = mean * (1.0 + rng.normal(0.0, noise, n_weeks))
    return pd.DataFrame(
        {
            "week_start": pd.date_range(start, periods=n_weeks, freq="7D"),
            "spend": spend,
            "revenue": revenue,
        }
    )
