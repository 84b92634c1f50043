"""Plot helpers for channel selection: response curves, Pareto projections, parallel coordinates.

Each takes ``ax=None`` (a new figure is made), returns the axes and labels them with units;
:func:`plot_response_curves` makes its own grid of panels and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .curves import ResponseCurve

LABELS = {
    "profit": "expected profit (base currency / week)",
    "reach": "value-weighted target reach (probability)",
    "risk": "profit risk, sd (base currency / week)",
    "spend": "total spend (base currency / week)",
    "revenue": "revenue (base currency / week)",
}


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_response_curve(
    curve: ResponseCurve,
    max_spend: float | None = None,
    weekly: pd.DataFrame | None = None,
    level: float = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Steady-state weekly revenue against weekly spend, with the bootstrap band.

    Args:
        curve: the response curve.
        max_spend: right end of the spend axis (default: 3 x weekly half saturation, or the
            largest observed spend).
        weekly: optional observed weeks (spend, revenue) drawn as points.
        level: band coverage.
        ax: axes to draw on.

    Returns:
        The axes.
    """
    ax = _axes(ax)
    if max_spend is None:
        max_spend = 3.0 * curve.hill_half_saturation * (1.0 - curve.adstock_decay)
        if weekly is not None and len(weekly):
            max_spend = max(max_spend, float(weekly["spend"].max()) * 1.1)
    pred = curve.predict(np.linspace(0.0, max_spend, 200), level=level)
    ax.fill_between(
        pred["spend"], pred["revenue_lo"], pred["revenue_hi"], alpha=0.25, label=f"{level:.0%} band"
    )
    ax.plot(pred["spend"], pred["revenue"], label=f"{curve.source} curve")
    if weekly is not None and len(weekly):
        ax.scatter(
            weekly["spend"], weekly["revenue"], s=8, alpha=0.5, color="grey", label="observed weeks"
        )
    ax.set_xlabel("weekly spend (base currency / week)")
    ax.set_ylabel("weekly revenue (base currency / week)")
    ax.set_title(curve.channel_id)
    ax.legend(fontsize="small")
    return ax


def plot_response_curves(
    curves: pd.DataFrame,
    spend: pd.DataFrame | None,
    revenue: pd.DataFrame,
    currency: str = "base currency",
    ncols: int = 4,
) -> np.ndarray:
    """Every channel's response curve in a grid, its observed weeks as points.

    Args:
        curves: :func:`~channelops.stages.channel_selection.fit_response_curves` (channel_id,
            curve, source), one panel per row with a curve, in order.
        spend: weekly spend (week_start, channel_id, spend), or None (no points drawn).
        revenue: weekly revenue (week_start, channel_id, revenue).
        currency: the money unit named on the y axis.
        ncols: panels per row.

    Returns:
        The axes grid (rows x ncols); panels past the last channel are hidden. Money axes
        are in thousands; one legend, on the first panel.

    Raises:
        ValueError: no channel has a curve.
    """
    curves = curves[curves["curve"].notna()]  # an 'unavailable' channel has no curve
    if curves.empty:
        raise ValueError("no response curves to plot")
    if spend is None:
        spend = pd.DataFrame(columns=["week_start", "channel_id", "spend"])
    ids = list(curves["channel_id"])
    nrows = (len(ids) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 3.4 * nrows), squeeze=False)
    by_id = curves.set_index("channel_id")
    for i, (ax, cid) in enumerate(zip(axes.flat, ids, strict=False)):
        history = spend[spend["channel_id"] == cid].merge(revenue, on=["week_start", "channel_id"])
        plot_response_curve(
            by_id.loc[cid, "curve"], weekly=history if len(history) else None, ax=ax
        )
        ax.set_title(f"{cid} ({by_id.loc[cid, 'source']})", fontsize=11)
        ax.xaxis.set_major_formatter(_thousands)
        ax.yaxis.set_major_formatter(_thousands)
        ax.set_xlabel("weekly spend" if i // ncols == axes.shape[0] - 1 else "")
        ax.set_ylabel(f"weekly revenue, {currency}" if i % ncols == 0 else "")
        if i and ax.get_legend():
            ax.get_legend().remove()  # one legend, on the first panel
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return axes


def _thousands(value: float, _pos: int) -> str:
    """Tick label in thousands: 12,500 -> '12k' (matplotlib formatter)."""
    return f"{value / 1000:,.0f}k"


def plot_pareto_2d(
    front: pd.DataFrame,
    x: str = "profit",
    y: str = "reach",
    color: str | None = "risk",
    highlight: pd.Series | None = None,
    reference: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Two objectives of the front against each other, optionally coloured by a third.

    Args:
        front: the front table.
        x, y, color: column names (objectives or spend/revenue).
        highlight: a plan row (e.g. the recommendation) to mark.
        reference: another front (e.g. the exact one) drawn as a line.
        ax: axes to draw on.

    Returns:
        The axes.
    """
    ax = _axes(ax)
    if reference is not None:
        ref = reference.sort_values(x)
        ax.plot(ref[x], ref[y], color="black", lw=1, label="exact front")
    sc = ax.scatter(
        front[x],
        front[y],
        c=front[color] if color else None,
        s=14,
        cmap="viridis",
        label="NSGA-II plans",
    )
    if color:
        plt.colorbar(sc, ax=ax, label=LABELS.get(color, color))
    if highlight is not None:
        ax.scatter(
            [highlight[x]], [highlight[y]], marker="*", s=200, color="red", label="recommended"
        )
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    ax.legend(fontsize="small")
    return ax


def plot_parallel_coordinates(
    front: pd.DataFrame,
    columns: Sequence[str] = ("profit", "reach", "risk", "spend"),
    highlight: pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Parallel coordinates of the front, each axis min-max scaled to [0, 1].

    Args:
        front: the front table.
        columns: columns to show, in order.
        highlight: a plan row to draw in red.
        ax: axes to draw on.

    Returns:
        The axes; tick labels give each column's range in its own units.
    """
    ax = _axes(ax)
    cols = list(columns)
    values = front[cols].to_numpy(float)
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    xs = np.arange(len(cols))
    for row in (values - lo) / span:
        ax.plot(xs, row, color="steelblue", alpha=0.3, lw=0.8)
    if highlight is not None:
        h = (np.array([float(highlight[c]) for c in cols]) - lo) / span
        ax.plot(xs, h, color="red", lw=2.5, label="recommended")
        ax.legend(fontsize="small")
    ax.set_xticks(xs)
    ax.set_xticklabels(
        [f"{c}\n[{a:,.3g} .. {b:,.3g}]" for c, a, b in zip(cols, lo, hi, strict=True)],
        fontsize="small",
    )
    ax.set_ylabel("scaled value (0 = front min, 1 = front max)")
    ax.set_ylim(-0.05, 1.05)
    return ax


def plot_channel_returns(returns: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """ROAS and marginal ROAS per channel with their intervals (:func:`channel_returns`).

    Bars are revenue per unit of spend (incremental revenue / spend) and the revenue of the
    last unit (mROAS), whiskers the intervals; the dashed line per channel marks break-even
    for the last unit, 1 / margin_rate: below it the extra spend loses money.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(returns)), 4.0))
    r = returns.reset_index(drop=True)
    x = np.arange(len(r))
    for off, col, label in ((-0.2, "roas", "ROAS"), (0.2, "mroas", "marginal ROAS")):
        err = np.vstack([r[col] - r[f"{col}_lo"], r[f"{col}_hi"] - r[col]]).clip(min=0)
        ax.bar(x + off, r[col], width=0.4, yerr=np.nan_to_num(err), capsize=3, label=label)
    be = 1.0 / r["margin_rate"].where(r["margin_rate"] > 0)
    ax.hlines(be, x - 0.4, x + 0.4, colors="k", linestyles="--", label="break-even (1 / margin)")
    ax.set_xticks(x, r["channel_id"].astype(str), rotation=30, ha="right")
    ax.set_ylabel("revenue per unit of spend")
    ax.legend(fontsize=8)
    return ax
