"""The true expected weekly profit of any budget allocation, from the simulator's truth.

Simulator 2 (``channelops.synth``, generator 2.0) gives each channel a Weibull-lag,
negative-exponential direct response and lets its advertising lift other channels (halo)
and capture orders another channel would have had (cannibalisation). Held at a constant
weekly spend s_A, channel A's carry-over stock settles at s_A (the lag kernel sums to 1), so
its steady-state direct response is

    R_A(s_A) = saturation_revenue_max_A * (1 - exp(-s_A / saturation_spend_A)).

The true expected weekly profit of an allocation {A: s_A} (base currency per week) is

    sum_B m_B * base_B                                        (organic revenue)
  + sum_A R_A(s_A) * [ m_A + sum_B halo_AB m_B
                       - sum_B cann_AB m_B * v_B / v_A ]        (incremental, all channels)
  - sum_A s_A

with m_B the contribution margin of channel B's revenue (realised gross margin of its lines
minus its commission rate), base_B its mean weekly organic revenue, v its mean order value
(a moved order is worth v_B on B and was placed as an order of A). Optionally the customers
the ads acquire add their first-year value: kappa_A R_A(s_A) x value_52w_A x m_A.
Fixed costs are left out (they do not depend on the allocation).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "best_true_allocation",
    "load_market_truth",
    "true_incremental_revenue",
    "true_weekly_profit",
]

_CURVE_COLUMNS = (
    "channel_id",
    "saturation_spend",
    "saturation_revenue_max",
    "contribution_margin",
    "base_weekly_revenue",
    "mean_order_value",
)


def load_market_truth(truth: str | Path | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{'response_curves': ..., 'halo': ...} from a truth folder (or a dataset folder with
    truth/), or the same dict passed through after checking its columns."""
    if isinstance(truth, Mapping):
        tables = dict(truth)
    else:
        folder = Path(truth)
        if (folder / "truth").is_dir():
            folder = folder / "truth"
        tables = {
            "response_curves": pd.read_parquet(folder / "response_curves.parquet"),
            "halo": pd.read_parquet(folder / "halo.parquet"),
        }
    missing = [c for c in _CURVE_COLUMNS if c not in tables["response_curves"].columns]
    if missing:
        raise ValueError(
            f"truth response_curves lacks columns {missing}: it is not from simulator 2 "
            "(generator 2.0 or later)"
        )
    return tables


def _direct(curves: pd.DataFrame, allocation: Mapping[str, float]) -> pd.Series:
    unknown = sorted(set(allocation) - set(curves.index))
    if unknown:
        raise ValueError(f"allocation names channels the truth does not have: {unknown}")
    s = pd.Series({c: float(allocation.get(c, 0.0)) for c in curves.index})
    if (s < 0).any() or not np.isfinite(s).all():
        raise ValueError("allocation spends must be finite and >= 0 (base currency per week)")
    k = curves["saturation_spend"]
    return curves["saturation_revenue_max"] * (1.0 - np.exp(-s / k)), s


def _value_factor(curves: pd.DataFrame, halo: pd.DataFrame, margin: bool) -> pd.Series:
    """Per source channel: value (margin-weighted when margin) of one unit of its direct
    response across the business."""
    m = curves["contribution_margin"] if margin else pd.Series(1.0, index=curves.index)
    v = curves["mean_order_value"]
    f = m.copy().astype(float)
    for r in halo.itertuples():
        a, b = r.source_channel_id, r.target_channel_id
        if a not in f.index or b not in f.index:
            continue
        if r.kind == "halo":
            f[a] += r.share * m[b]
        else:
            f[a] -= r.share * m[b] * v[b] / v[a]
    return f


def true_incremental_revenue(
    truth: str | Path | Mapping[str, pd.DataFrame], allocation: Mapping[str, float]
) -> pd.Series:
    """Steady-state business-wide incremental weekly revenue caused by each channel's spend
    (halo and cannibalisation included), base currency per week, indexed by channel."""
    t = load_market_truth(truth)
    curves = t["response_curves"].set_index("channel_id")
    r, _ = _direct(curves, allocation)
    return r * _value_factor(curves, t["halo"], margin=False)


def true_weekly_profit(
    truth: str | Path | Mapping[str, pd.DataFrame],
    allocation: Mapping[str, float],
    include_new_customer_value: bool = False,
) -> float:
    """True expected weekly profit (base currency) of a constant weekly allocation.

    Args:
        truth: a dataset folder with truth/, the truth folder itself, or a dict with the
            'response_curves' and 'halo' tables of simulator 2.
        allocation: {channel_id: weekly spend}; channels left out spend 0. Unknown
            channels or negative spends raise ValueError.
        include_new_customer_value: add the first-year value of the customers the ads
            acquire (see the module docstring).

    Returns:
        Organic contribution + incremental contribution (halo and cannibalisation
        included, margins after commission) - spend, per week.
    """
    t = load_market_truth(truth)
    curves = t["response_curves"].set_index("channel_id")
    r, s = _direct(curves, allocation)
    m = curves["contribution_margin"]
    profit = float((m * curves["base_weekly_revenue"]).sum())
    profit += float((r * _value_factor(curves, t["halo"], margin=True)).sum())
    if include_new_customer_value:
        kappa = curves.get("new_customers_per_revenue", 0.0)
        value = curves.get("new_customer_value_52w", 0.0)
        profit += float((kappa * r * value * m).sum())
    return profit - float(s.sum())


def best_true_allocation(
    truth: str | Path | Mapping[str, pd.DataFrame],
    budget: float | None = None,
    channels: list[str] | None = None,
) -> dict[str, float]:
    """The allocation that maximises :func:`true_weekly_profit` (short-term), exactly.

    Each channel's profit f_A R_A(s) - s is concave where it pays (f_A > 0, the margin-
    weighted value factor), so at the optimum every funded channel has the same marginal
    profit: f_A (top_A / k_A) exp(-s_A / k_A) = 1 + lam, i.e.
    s_A = k_A ln(f_A top_A / (k_A (1 + lam))), clipped at 0; lam = 0 without a budget,
    else the smallest lam >= 0 with sum s_A <= budget (bisection).

    Args:
        truth: as for :func:`true_weekly_profit`.
        budget: total weekly spend allowed (base currency); None = unconstrained.
        channels: the channels that may spend (default: all).
    Returns:
        {channel_id: weekly spend} for every channel of the truth (0 where not funded).
    """
    t = load_market_truth(truth)
    curves = t["response_curves"].set_index("channel_id")
    if budget is not None and (not np.isfinite(budget) or budget < 0):
        raise ValueError(f"budget must be a finite number >= 0, got {budget}")
    allowed = curves.index if channels is None else pd.Index(channels)
    unknown = sorted(set(allowed) - set(curves.index))
    if unknown:
        raise ValueError(f"channels the truth does not have: {unknown}")
    f = _value_factor(curves, t["halo"], margin=True)
    k = curves["saturation_spend"]
    slope0 = (f * curves["saturation_revenue_max"] / k).where(curves.index.isin(allowed), 0.0)

    def spend(lam: float) -> pd.Series:
        ratio = (slope0 / (1.0 + lam)).clip(lower=1e-300)
        return (k * np.log(ratio)).clip(lower=0.0).where(slope0 > 0, 0.0)

    s = spend(0.0)
    if budget is not None and s.sum() > budget:
        lo, hi = 0.0, float(slope0.max())
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if spend(mid).sum() > budget else (lo, mid)
        s = spend(hi)
    return {str(c): float(v) for c, v in s.items()}
