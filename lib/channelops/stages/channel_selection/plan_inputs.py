"""The plan's inputs that come from the run's data rather than from parameters: the weekly
budget when none is given, and the weights of the target segments in the reach objective.

Money is in the dataset's base currency per week.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["plan_budget", "recent_weekly_budget", "target_weights"]


def recent_weekly_budget(spend: pd.DataFrame, weeks: int = 13) -> float:
    """Mean total weekly marketing spend over the last ``weeks`` weeks with spend.

    Args:
        spend: marketing spend rows (week_start, spend; any number of channels per week).
        weeks: how many of the latest weeks to average (13: a quarter).

    Returns:
        The mean over those weeks of the spend summed over channels (base currency / week).

    Raises:
        ValueError: ``weeks`` below 1.
        KeyError: ``spend`` lacks week_start or spend.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be >= 1, got {weeks}")
    return float(spend.groupby("week_start")["spend"].sum().tail(weeks).mean())


def target_weights(profiles: pd.DataFrame, segments: Sequence[str] = ()) -> dict[str, float]:
    """Weights of the target segments in the reach objective: each segment's revenue share.

    Args:
        profiles: 01's segment_profiles (segment, revenue_share).
        segments: the target segments; empty means every segment of ``profiles``. A segment
            missing from ``profiles`` gets weight 0.

    Returns:
        ``{segment: revenue_share}`` in the order of ``segments`` (or of ``profiles``).

    Raises:
        KeyError: ``profiles`` lacks segment or revenue_share.
    """
    value = profiles.set_index("segment")["revenue_share"]
    return {s: float(value.get(s, 0.0)) for s in (segments or list(value.index))}


def plan_budget(weekly_budget: float, spend: pd.DataFrame | None, weeks: int = 13) -> float:
    """The weekly budget to plan: ``weekly_budget`` when set (> 0), else the mean of the
    last ``weeks`` weeks of spend (:func:`recent_weekly_budget`), else 0.0 when there is
    no spend history (no marketing_spend.csv, or no rows): no budget to plan.

    Base currency per week.
    """
    if weekly_budget > 0:
        return float(weekly_budget)
    if spend is None or spend.empty:
        return 0.0
    return recent_weekly_budget(spend, weeks=weeks)
