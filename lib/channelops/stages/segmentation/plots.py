"""Stage 01's plots: the choice of k, and the CLV model's calibration against its holdout."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from channelops.frames import require_columns

__all__ = ["plot_k_selection", "plot_calibration_holdout", "plot_weekly_repeat_purchases"]


def plot_k_selection(
    selection: pd.DataFrame, k: int, axes: tuple[Axes, Axes] | None = None
) -> tuple[Axes, Axes]:
    """Silhouette and inertia per number of segments, side by side.

    Args:
        selection: :func:`~channelops.stages.segmentation.k_selection` (k, inertia,
            silhouette, elbow); the elbow row gets a dotted line on the inertia panel.
        k: the number of segments chosen (dashed line on the silhouette panel).
        axes: two axes to draw on; a new 10 x 3.5 inch figure is made when None.

    Returns:
        The two axes (silhouette, inertia).

    Raises:
        ValueError: ``selection`` lacks a column, or has no rows.
    """
    require_columns(selection, ["k", "inertia", "silhouette", "elbow"], "selection")
    if selection.empty:
        raise ValueError("selection is empty: no k was compared")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1, ax2 = axes
    ax1.plot(selection["k"], selection["silhouette"], marker="o")
    ax1.axvline(k, color="grey", linestyle="--")
    ax1.set(
        xlabel="k, number of segments", ylabel="silhouette", title="Silhouette: higher is better"
    )
    ax2.plot(selection["k"], selection["inertia"], marker="o")
    ax2.axvline(selection.loc[selection["elbow"], "k"].iloc[0], color="grey", linestyle=":")
    ax2.set(
        xlabel="k, number of segments",
        ylabel="inertia per customer",
        title="Elbow: where the gain levels off",
    )
    return ax1, ax2


def plot_calibration_holdout(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Plot actual vs expected holdout purchases per calibration frequency bucket.

    Args:
        table: output of :func:`~channelops.stages.segmentation.clv.calibration_holdout_table`.
        ax: axes to draw on; a new figure is made when None.

    Returns:
        The axes.

    Raises:
        ValueError: ``table`` lacks label, actual or expected.
    """
    require_columns(table, ["label", "actual", "expected"], "table")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(table))
    ax.plot(positions, table["actual"], marker="o", label="actual")
    ax.plot(positions, table["expected"], marker="s", linestyle="--", label="BG/NBD expected")
    ax.set_xticks(positions, list(table["label"]))
    ax.set_xlabel("Repeat purchases in calibration period (count)")
    ax.set_ylabel("Mean repeat purchases in holdout period (count per customer)")
    ax.set_title("Calibration vs holdout")
    ax.legend()
    return ax


def plot_weekly_repeat_purchases(weekly: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Weekly repeat purchase days, actual against BG/NBD and the naive rate, cut-off marked.

    Args:
        weekly: :func:`~channelops.stages.segmentation.holdout.weekly_repeat_purchases`;
            with a ``days`` column, a partial week is drawn at its rate per 7 days.
        ax: axes to draw on; a new 9 x 3.5 inch figure is made when None.

    Returns:
        The axes.

    Raises:
        ValueError: ``weekly`` lacks a column.
    """
    require_columns(weekly, ["week_end", "period", "actual", "bgnbd", "naive"], "weekly")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    # a partial first or last week is shown at its weekly rate, not as a dip
    per_week = 7.0 / weekly["days"] if "days" in weekly else 1.0
    when = weekly["week_end"]
    ax.plot(when, weekly["actual"] * per_week, marker=".", label="actual")
    ax.plot(when, weekly["bgnbd"] * per_week, linestyle="--", label="BG/NBD expected")
    ax.plot(when, weekly["naive"] * per_week, linestyle=":", label="naive repeat rate")
    cal = weekly.loc[weekly["period"] == "calibration", "week_end"]
    if len(cal):
        ax.axvline(cal.max(), color="grey", linestyle="-", linewidth=0.8)
    ax.set(
        xlabel="week ending",
        ylabel="repeat purchase days per week",
        title="Repeat purchases of the customers known at the cut-off (grey line)",
    )
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()
    return ax
