"""Plot helpers for stage 06: scorecard, growth, segment mix, overlap, plan, experiments.

Each takes ``ax=None`` (``axes=None`` for a two-panel figure; a new figure is made),
returns the axes and labels them with units.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from channelops.frames import require_columns

__all__ = [
    "plot_scorecard",
    "plot_new_customers",
    "plot_segment_mix",
    "plot_channel_overlap",
    "plot_plan_vs_actual",
    "plot_experiment_forest",
]


def plot_scorecard(
    scorecard: pd.DataFrame, currency: str, axes: tuple[Axes, Axes] | None = None
) -> tuple[Axes, Axes]:
    """Revenue, margin and contribution per channel (left) and LTV/CAC (right).

    Args:
        scorecard: stage 06's ``scorecard`` in rank order (channel_id, revenue,
            gross_margin, contribution, ltv_cac).
        currency: base currency code (the money axis is in thousands of it).
        axes: two axes to draw on; None makes a 12 x 4.2 inch figure.

    Returns:
        (money axes, LTV/CAC axes); LTV/CAC bars green at 1 or more, red below, a dashed
        line at 1; the first-ranked channel on top.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(
        scorecard, ["channel_id", "revenue", "gross_margin", "contribution", "ltv_cac"], "scorecard"
    )
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    ax1, ax2 = axes
    shown = scorecard.set_index("channel_id")
    money = shown[["revenue", "gross_margin", "contribution"]].iloc[::-1] / 1e3
    money.plot.barh(ax=ax1, width=0.8)
    ax1.axvline(0, color="black", linewidth=0.8)
    ax1.set(
        xlabel=f"thousands {currency}",
        ylabel="",
        title="Revenue, margin after commission, contribution",
    )
    ratio = shown["ltv_cac"].iloc[::-1]
    ax2.barh(
        ratio.index, ratio.fillna(0), color=np.where(ratio.fillna(0) >= 1, "tab:green", "tab:red")
    )
    ax2.axvline(1, color="grey", linestyle="--")
    ax2.set(xlabel="lifetime margin / acquisition cost", title="LTV/CAC of new customers")
    ax1.figure.tight_layout()
    return ax1, ax2


def plot_new_customers(monthly: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers first seen on each channel per month, one line per channel.

    Args:
        monthly: from :func:`channelops.stages.evaluation.monthly_new_customers` (months x
            channels, customers).
        ax: axes to draw on; None makes a 10 x 4 inch figure.

    Raises:
        ValueError: ``monthly`` has no channel column.
    """
    if monthly.shape[1] == 0:
        raise ValueError("no channel to plot: monthly new customers has no columns")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    monthly.plot(ax=ax, marker="o", markersize=3)
    ax.set(
        xlabel="month first seen",
        ylabel="new customers",
        title="Customers first seen on each channel, per month",
    )
    ax.legend(title="", ncol=2, fontsize=8)
    return ax


def plot_segment_mix(mix: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heatmap of the segment shares of each channel's new customers.

    Args:
        mix: from :func:`channelops.stages.evaluation.segment_mix` (channels x segments,
            shares; rows sum to 1).
        ax: axes to draw on; None makes a figure 8 inches wide, 0.45 inch per channel.

    Raises:
        ValueError: ``mix`` is empty.
    """
    if mix.empty:
        raise ValueError("the segment mix is empty")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(mix) + 1.2))
    sns.heatmap(mix, annot=True, fmt=".0%", cmap="Blues", ax=ax, cbar=False)
    ax.set(xlabel="segment", ylabel="", title="Segment mix of each channel's new customers")
    return ax


def plot_channel_overlap(overlap: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heatmap of the customers shared by each pair of channels (diagonal: own customers).

    Args:
        overlap: from :func:`channelops.stages.evaluation.channel_overlap` (channels x
            channels, customers).
        ax: axes to draw on; None makes a 7 x 5.5 inch figure.

    Raises:
        ValueError: ``overlap`` is empty.
    """
    if overlap.empty:
        raise ValueError("the channel overlap is empty")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5.5))
    sns.heatmap(
        overlap, annot=True, fmt=",d", cmap="Greens", ax=ax, cbar_kws={"label": "customers on both"}
    )
    ax.set(xlabel="", ylabel="", title="Customers shared by each pair of channels")
    ax.grid(False)
    return ax


def plot_plan_vs_actual(
    pva: pd.DataFrame, currency: str, axes: tuple[Axes, Axes] | None = None
) -> tuple[Axes, Axes]:
    """Weekly budget (left) and weekly profit (right), now and under 02's plan.

    Args:
        pva: from :func:`channelops.stages.evaluation.plan_vs_actual` (channel_id,
            actual_spend, planned_budget, actual_profit, planned_profit; per week).
        currency: base currency code (both axes are in it per week).
        axes: two axes to draw on; None makes a 12 x 4 inch figure.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(
        pva,
        ["channel_id", "actual_spend", "planned_budget", "actual_profit", "planned_profit"],
        "plan_vs_actual",
    )
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4))
    ax1, ax2 = axes
    shown = pva.set_index("channel_id")
    shown[["actual_spend", "planned_budget"]].plot.bar(ax=ax1, rot=30)
    ax1.set(
        xlabel="", ylabel=f"{currency} per week", title="Weekly marketing budget: now and planned"
    )
    shown[["actual_profit", "planned_profit"]].plot.bar(ax=ax2, rot=30)
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set(
        xlabel="",
        ylabel=f"{currency} per week",
        title="Weekly profit: now and expected under the plan",
    )
    ax1.figure.tight_layout()
    return ax1, ax2


def plot_experiment_forest(
    forest: pd.DataFrame, currency: str, level: float, ax: Axes | None = None
) -> Axes:
    """Every experiment estimate with its interval, one row per experiment and method.

    Args:
        forest: from :func:`channelops.stages.evaluation.forest_rows` (name, method,
            estimate, lo, hi; currency per unit).
        currency: base currency code.
        level: the intervals' coverage (for the title).
        ax: axes to draw on; None makes a figure 8 inches wide, 0.5 inch per row.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(forest, ["name", "method", "estimate", "lo", "hi"], "forest rows")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.5 * len(forest) + 1.5))
    y = np.arange(len(forest))[::-1]
    err = [forest["estimate"] - forest["lo"], forest["hi"] - forest["estimate"]]
    ax.errorbar(forest["estimate"], y, xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(y, forest["name"] + " - " + forest["method"])
    ax.set(
        xlabel=f"treatment - control, {currency} per unit",
        title=f"Experiment effects with {level:.0%} intervals",
    )
    return ax
