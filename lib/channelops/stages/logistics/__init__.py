"""Stage 05, order and logistics: routing, warehouse allocation, service staffing.

The algorithmic core the 05 notebook calls:

- :mod:`.routing` — capacitated vehicle routing with PyVRP (:func:`solve_cvrp`) and a
  nearest-neighbour baseline, route checks and costs, a VRPLIB reader, a route plot.
- :mod:`.allocation` — warehouse-to-demand allocation as a transportation LP (HiGHS), with
  capacity shadow prices and the pooled-versus-own-warehouse channel comparison.
- :mod:`.staffing` — Erlang C service levels and the agents needed per hour.
- :mod:`.simulation` — order prioritisation and a simpy simulation of the warehouse order
  flow, FIFO against priority.
- :mod:`.delays` — on-time rates, delay distributions and the drivers of delay.
- :mod:`.prepare` — the notebook's data preparation (fulfilled orders, demand by region and
  channel, a day's delivery stops, hourly contacts and their forecast).
"""

from .allocation import (
    TransportResult,
    allocation_by_channel_own_warehouse,
    haversine_km,
    pooling_comparison,
    shipping_cost_matrix,
    solve_transportation,
)
from .delays import DELAY_COLUMNS, delay_drivers, delay_summary, shipment_delays
from .routing import (
    CVRPSolution,
    VRPLIBInstance,
    check_routes,
    euclidean_distances,
    nearest_neighbour_routes,
    parse_vrplib,
    plot_routes,
    read_vrplib,
    route_cost,
    routes_table,
    solve_cvrp,
)
from .simulation import (
    SIM_COLUMNS,
    SimConfig,
    busiest_window,
    dispatch_sla_hours,
    packers_per_warehouse,
    packing_pace,
    parse_hours,
    parse_shifts,
    priority_scores,
    simulate_order_flow,
    simulation_summary,
)
from .staffing import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing_plan,
)

__all__ = [
    "DELAY_COLUMNS",
    "SIM_COLUMNS",
    "SimConfig",
    "busiest_window",
    "delay_drivers",
    "delay_summary",
    "dispatch_sla_hours",
    "packers_per_warehouse",
    "packing_pace",
    "parse_hours",
    "parse_shifts",
    "priority_scores",
    "shipment_delays",
    "simulate_order_flow",
    "simulation_summary",
    "CVRPSolution",
    "TransportResult",
    "VRPLIBInstance",
    "agents_needed",
    "allocation_by_channel_own_warehouse",
    "average_speed_of_answer",
    "check_routes",
    "erlang_b",
    "erlang_c",
    "euclidean_distances",
    "haversine_km",
    "nearest_neighbour_routes",
    "parse_vrplib",
    "plot_routes",
    "pooling_comparison",
    "read_vrplib",
    "route_cost",
    "routes_table",
    "service_level",
    "shipping_cost_matrix",
    "solve_cvrp",
    "solve_transportation",
    "staffing_plan",
]
