"""Tests for channelops.stages.logistics.plots: each chart draws what its data says (bar
heights, line points, labels) on the axes it is given, and returns them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from channelops.stages.logistics import (
    CVRPSolution,
    plot_allocation_by_warehouse,
    plot_breaches_by_channel,
    plot_cycle_times,
    plot_delay_distribution,
    plot_on_time,
    plot_route_plans,
    plot_staffing_schedule,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def heights(ax) -> list[float]:
    return [p.get_height() for p in ax.patches]


def test_breaches_by_channel_bars():
    summary = pd.DataFrame(
        {
            "policy": ["fifo", "fifo", "fifo", "priority", "priority", "priority"],
            "channel_id": ["a", "b", "all", "a", "b", "all"],
            "sla_breaches": [3, 1, 4, 2, 0, 2],
        }
    )
    ax = plot_breaches_by_channel(summary)
    # one bar group per policy (fifo, then priority), channels a and b in each
    assert heights(ax) == [3, 1, 2, 0]
    assert ax.get_title() == "SLA breaches by channel"
    with pytest.raises(ValueError, match="no channel rows"):
        plot_breaches_by_channel(summary[summary["channel_id"] == "all"])


def test_cycle_times_lines():
    flow = pd.DataFrame(
        {
            "policy": ["fifo"] * 4 + ["priority"] * 4,
            "cycle_hours": [2.0, 1.0, np.inf, 4.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    _, ax = plt.subplots()
    assert plot_cycle_times(flow, ax=ax) is ax
    fifo = ax.lines[0]
    # the unshipped order (inf) keeps the line at 3/4
    assert fifo.get_xdata().tolist() == [1.0, 2.0, 4.0]
    assert fifo.get_ydata().tolist() == [0.25, 0.5, 0.75]
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="cycle_hours"):
        plot_cycle_times(flow.drop(columns="cycle_hours"))


def test_allocation_by_warehouse_bars_and_capacity():
    allocation = pd.DataFrame(
        {
            "policy": ["pooled", "pooled", "own_warehouse"],
            "warehouse": ["W1", "W1", "W2"],
            "flow": [10.0, 5.0, 7.0],
        }
    )
    ax = plot_allocation_by_warehouse(allocation, pd.Series({"W2": 20.0, "W1": 30.0}))
    # warehouses sorted W1, W2; policies own_warehouse then pooled
    assert heights(ax) == [0.0, 7.0, 15.0, 0.0]
    assert ax.lines[0].get_ydata().tolist() == [30.0, 20.0]
    with pytest.raises(ValueError, match="flow"):
        plot_allocation_by_warehouse(allocation.drop(columns="flow"), pd.Series({"W1": 1.0}))


STOPS = pd.DataFrame(
    {
        "city": ["W1 (Beijing)", "Tianjin", "Langfang"],
        "x_km": [0.0, 1.0, 0.0],
        "y_km": [0.0, 0.0, 100.0],
    }
)
PLANS = {
    "pyvrp": CVRPSolution(routes=[[1, 2]], cost=200.0, n_vehicles=1, feasible=True, solver="pyvrp"),
    "nearest_neighbour": CVRPSolution(
        routes=[[1], [2]], cost=202.0, n_vehicles=2, feasible=True, solver="nearest_neighbour"
    ),
}


def test_route_plans_one_panel_per_plan():
    axes = plot_route_plans(STOPS, PLANS)
    assert [ax.get_title() for ax in axes] == [
        "pyvrp: 200 km, 1 vehicles",
        "nearest_neighbour: 202 km, 2 vehicles",
    ]
    # the depot is labelled by its warehouse id, without the city in brackets
    assert [t.get_text() for t in axes[0].texts] == ["W1", "Tianjin", "Langfang"]
    assert len(axes[1].lines) == 2  # two vehicles
    _, one = plt.subplots()
    with pytest.raises(ValueError, match="2 plans but 1 axes"):
        plot_route_plans(STOPS, PLANS, axes=[one])
    with pytest.raises(ValueError, match="no route plans"):
        plot_route_plans(STOPS, {})


def test_on_time_bars_worst_first():
    table = pd.DataFrame(
        {
            "dimension": ["channel", "channel", "carrier"],
            "key": ["a", "b", "x"],
            "on_time_rate": [0.9, 0.5, 0.7],
        }
    )
    ax = plot_on_time(table, "channel")
    assert [p.get_width() for p in ax.patches] == [0.5, 0.9]
    assert ax.get_title() == "On-time delivery by channel"
    with pytest.raises(ValueError, match="'region'"):
        plot_on_time(table, "region")


def test_delay_distribution_one_histogram_per_channel():
    delays = pd.DataFrame(
        {
            "delivered": [True, True, True, False],
            "channel_id": ["a", "a", "b", "b"],
            "delay_h": [-10.0, 500.0, 3.0, np.nan],
        }
    )
    ax = plot_delay_distribution(delays)
    assert len(ax.patches) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    # 500 h is clipped to 240 h: a's histogram ends there
    assert ax.patches[0].get_xy()[:, 0].max() == pytest.approx(240.0)
    with pytest.raises(ValueError, match="delay_h"):
        plot_delay_distribution(delays.drop(columns="delay_h"))


def test_staffing_schedule_heat_map_names_the_weekdays():
    staffing = pd.DataFrame(
        {
            "queue": "pooled",
            "weekday": [2, 2, 3, 3],
            "hour": [0, 1, 0, 1],
            "scheduled_agents": [1, 2, 3, 4],
        }
    )
    ax = plot_staffing_schedule(staffing)
    assert ax.images[0].get_array().tolist() == [[1, 2], [3, 4]]
    # a plan starting on a Wednesday is labelled Wed, Thu (not Mon, Tue)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Wed", "Thu"]
    with pytest.raises(ValueError, match="queue 'a'"):
        plot_staffing_schedule(staffing, "a")
