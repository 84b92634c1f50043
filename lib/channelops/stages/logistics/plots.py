"""The 05 notebook's charts. Each takes ``ax=None`` (a new figure when None) and returns the
axes it drew on; the notebook saves the figure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .routing import CVRPSolution, plot_routes

__all__ = [
    "plot_breaches_by_channel",
    "plot_cycle_times",
    "plot_allocation_by_warehouse",
    "plot_route_plans",
    "plot_on_time",
    "plot_delay_distribution",
    "plot_staffing_schedule",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _axes(ax: Axes | None, **figure) -> Axes:
    if ax is None:
        _, ax = plt.subplots(**figure)
    return ax


def _need(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}")


def plot_breaches_by_channel(summary: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of SLA breaches per channel, one bar per policy.

    Args:
        summary: the ``fulfilment_sim`` table (policy, channel_id, sla_breaches).
        ax: axes to draw on.

    Returns:
        The axes (y: orders shipped after their deadline).

    Raises:
        ValueError: a column is missing or there are no channel rows.
    """
    _need(summary, ("policy", "channel_id", "sla_breaches"), "summary")
    rows = summary[summary["channel_id"] != "all"]
    if rows.empty:
        raise ValueError("summary has no channel rows to plot")
    ax = _axes(ax)
    rows.pivot(index="channel_id", columns="policy", values="sla_breaches").plot.bar(ax=ax)
    ax.set_ylabel("orders shipped after their deadline")
    ax.set_xlabel("channel")
    ax.set_title("SLA breaches by channel")
    return ax


def plot_cycle_times(flow: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of orders shipped within each number of hours from order, one line per policy.

    Args:
        flow: output of :func:`~.simulation.simulate_order_flow` (policy, cycle_hours;
            orders never shipped have inf and keep the line below 1).
        ax: axes to draw on.

    Returns:
        The axes (x: order to ship, hours, log scale; y: share of orders shipped).

    Raises:
        ValueError: a column is missing.
    """
    _need(flow, ("policy", "cycle_hours"), "flow")
    ax = _axes(ax)
    for policy, d in flow.groupby("policy"):
        c = np.sort(d["cycle_hours"].replace(np.inf, np.nan).dropna())
        ax.plot(c, np.arange(1, len(c) + 1) / len(d), label=policy)
    ax.set_xscale("log")
    ax.set_xlabel("order to ship, hours, log scale")
    ax.set_ylabel("share of orders shipped")
    ax.set_title("Cycle time")
    ax.legend()
    return ax


def plot_allocation_by_warehouse(
    allocation: pd.DataFrame, capacity: pd.Series, ax: Axes | None = None
) -> Axes:
    """Orders per day each warehouse ships under each policy, against its capacity.

    Args:
        allocation: the ``allocation`` table (policy, warehouse, flow in orders/day).
        capacity: warehouse -> capacity, orders/day (drawn as a black tick).
        ax: axes to draw on.

    Returns:
        The axes (y: orders per day).

    Raises:
        ValueError: a column is missing.
    """
    _need(allocation, ("policy", "warehouse", "flow"), "allocation")
    ax = _axes(ax)
    order = sorted(capacity.index)
    flows = allocation.groupby(["policy", "warehouse"])["flow"].sum().unstack("policy")
    flows.reindex(order).fillna(0.0).plot.bar(ax=ax)
    ax.plot(
        range(len(order)), capacity.reindex(order).to_numpy(), "k_", ms=30, mew=2, label="capacity"
    )
    ax.set_ylabel("orders per day")
    ax.set_xlabel("warehouse")
    ax.set_title("Orders per day shipped by each warehouse")
    ax.legend()
    return ax


def plot_route_plans(
    stops: pd.DataFrame, plans: Mapping[str, CVRPSolution], axes: Iterable[Axes] | None = None
) -> list[Axes]:
    """Each plan's rounds on a map of the stops, cities labelled.

    Args:
        stops: routed stops with city, x_km, y_km (km east and north of the depot).
        plans: solver name -> its solution on ``stops``.
        axes: one axes per plan; a new row of panels when None.

    Returns:
        The axes, one per plan (titles give each plan's km and vehicles).

    Raises:
        ValueError: no plans, or fewer axes than plans.
    """
    if not plans:
        raise ValueError("no route plans to plot")
    if axes is None:
        _, grid = plt.subplots(1, len(plans), figsize=(6 * len(plans), 5.5), squeeze=False)
        axes = grid[0]
    axes = list(axes)
    if len(axes) < len(plans):
        raise ValueError(f"{len(plans)} plans but {len(axes)} axes")
    xy = stops[["x_km", "y_km"]].to_numpy()
    for ax, (name, sol) in zip(axes, plans.items(), strict=False):
        plot_routes(
            xy,
            sol.routes,
            ax=ax,
            unit="km from depot",
            title=f"{name}: {sol.cost:,.0f} km, {sol.n_vehicles} vehicles",
        )
        for _, s in stops.iterrows():
            ax.annotate(
                s["city"].split(" (")[0],
                (s["x_km"], s["y_km"]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    return axes[: len(plans)]


def plot_on_time(delay_analysis: pd.DataFrame, dimension: str, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the on-time rate of each key of one dimension, worst at the bottom.

    Args:
        delay_analysis: the ``delay_analysis`` table.
        dimension: ``channel``, ``carrier`` or ``region``.
        ax: axes to draw on.

    Returns:
        The axes (x: on-time rate, a share).

    Raises:
        ValueError: the table has no rows of that dimension.
    """
    d = delay_analysis[delay_analysis["dimension"] == dimension].sort_values("on_time_rate")
    if d.empty:
        raise ValueError(f"delay_analysis has no {dimension!r} rows")
    ax = _axes(ax)
    ax.barh(d["key"], d["on_time_rate"])
    ax.set_xlabel("on-time rate")
    ax.set_title(f"On-time delivery by {dimension}")
    return ax


def plot_delay_distribution(delays: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Density of delivered-minus-promised hours per channel, clipped to -120..240 h.

    Args:
        delays: output of :func:`~.delays.shipment_delays` (delivered, channel_id, delay_h).
        ax: axes to draw on.

    Returns:
        The axes (x: hours, a black line at 0 = on the promise).

    Raises:
        ValueError: a column is missing.
    """
    _need(delays, ("delivered", "channel_id", "delay_h"), "delays")
    ax = _axes(ax)
    # only the two columns drawn, not a copy of every delivered shipment's row
    delivered = delays.loc[delays["delivered"].to_numpy(dtype=bool), ["channel_id", "delay_h"]]
    for ch, d in delivered.groupby("channel_id"):
        ax.hist(d["delay_h"].clip(-120, 240), bins=60, histtype="step", density=True, label=ch)
    ax.axvline(0, color="black", lw=1)
    ax.set_xlabel("delivered minus promised, hours, clipped to -120..240")
    ax.set_ylabel("density")
    ax.set_title("Delay distribution by channel")
    ax.legend(fontsize=7)
    return ax


def plot_staffing_schedule(
    staffing: pd.DataFrame, queue: str = "pooled", ax: Axes | None = None
) -> Axes:
    """Heat map of the scheduled agents of one queue, weekday by hour.

    Args:
        staffing: the ``staffing_plan`` table (queue, weekday 0 = Monday, hour,
            scheduled_agents).
        queue: the queue to draw.
        ax: axes to draw on.

    Returns:
        The axes (rows: weekdays; columns: local hour; a colour bar in agents).

    Raises:
        ValueError: the queue has no rows.
    """
    rows = staffing[staffing["queue"] == queue]
    if rows.empty:
        raise ValueError(f"staffing has no rows for queue {queue!r}")
    ax = _axes(ax, figsize=(10, 3.5))
    grid = rows.pivot(index="weekday", columns="hour", values="scheduled_agents")
    im = ax.imshow(grid.to_numpy(), aspect="auto", cmap="Blues")
    ax.set_yticks(range(len(grid.index)), [WEEKDAYS[int(d)] for d in grid.index])
    ax.set_xlabel("hour of day, local")
    ax.set_title(f"Scheduled agents, {queue} queue")
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, label="agents")
    return ax
