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
- :mod:`.order_flow` — the simulation's inputs and read-outs (ship-by hours, orders with
  deadlines, warehouse load, the policies' totals).
- :mod:`.delivery` — a day's delivery rounds: which orders, distances, the ``routes`` table
  and what each plan costs.
- :mod:`.service_desk` — the contact forecast per channel and pooled, and the agents
  scheduled after shrinkage with their cost.
- :mod:`.source` — the fulfilled orders and each shipment's order, joined in DuckDB over
  03's Parquet files (only the results come into pandas).
- :mod:`.tables` — empty, typed versions of the stage's tables for skipped sections.
- :mod:`.plots` — the notebook's charts; :mod:`.findings` — its "What we found" sentences.
"""

from .allocation import (
    ALLOCATION_COLUMNS,
    TransportResult,
    allocation_by_channel_own_warehouse,
    allocation_table,
    capacity_use,
    haversine_km,
    pooling_comparison,
    shipping_cost_matrix,
    solve_transportation,
)
from .delays import (
    DELAY_COLUMNS,
    DRIVER_COLUMNS,
    carrier_speeds,
    delay_drivers,
    delay_summary,
    least_punctual,
    overall_delays,
    shipment_delays,
)
from .delivery import (
    DayRoutes,
    fixed_cost_in_km,
    plan_day_routes,
    route_cost_summary,
    route_orders,
    route_plans_sentence,
    route_saving,
    routes_with_direct_trips,
    stop_distances,
    warehouse_row,
)
from .findings import (
    allocation_finding,
    delay_finding,
    order_counts_sentence,
    order_flow_finding,
    orders_sentence,
    routing_finding,
    staffing_finding,
)
from .order_flow import (
    breach_change,
    orders_in_window,
    policy_totals,
    ship_by_hours,
    simulation_orders,
    simulation_window,
    warehouse_load,
)
from .plots import (
    plot_allocation_by_warehouse,
    plot_breaches_by_channel,
    plot_cycle_times,
    plot_delay_distribution,
    plot_on_time,
    plot_route_plans,
    plot_staffing_schedule,
)
from .prepare import allocation_inputs, order_span_days, orders_for_logistics
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
from .service_desk import (
    STAFFING_COLUMNS,
    contact_forecast,
    pooled_forecast,
    queue_costs,
    scheduled_staffing,
    staffing_overview,
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
from .source import (
    FULFILLED_COLUMNS,
    SHIPMENT_COLUMNS,
    LogisticsOrders,
    logistics_orders,
    shipment_order_columns,
    start_shipment_order_columns,
)
from .staffing import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing_plan,
)
from .tables import (
    empty_allocation,
    empty_delay_analysis,
    empty_delay_drivers,
    empty_routes,
    empty_staffing_plan,
    empty_table,
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
    # the notebook's steps
    "ALLOCATION_COLUMNS",
    "DRIVER_COLUMNS",
    "STAFFING_COLUMNS",
    "allocation_finding",
    "allocation_inputs",
    "allocation_table",
    "breach_change",
    "capacity_use",
    "carrier_speeds",
    "contact_forecast",
    "delay_finding",
    "empty_allocation",
    "empty_delay_analysis",
    "empty_delay_drivers",
    "empty_routes",
    "empty_staffing_plan",
    "empty_table",
    "fixed_cost_in_km",
    "least_punctual",
    "order_flow_finding",
    "order_span_days",
    "orders_sentence",
    "orders_for_logistics",
    "orders_in_window",
    "overall_delays",
    "plot_allocation_by_warehouse",
    "plot_breaches_by_channel",
    "plot_cycle_times",
    "plot_delay_distribution",
    "plot_on_time",
    "plot_route_plans",
    "plot_staffing_schedule",
    "policy_totals",
    "pooled_forecast",
    "queue_costs",
    "route_cost_summary",
    "route_orders",
    "route_saving",
    "routes_with_direct_trips",
    "routing_finding",
    "scheduled_staffing",
    "ship_by_hours",
    "simulation_orders",
    "staffing_finding",
    "staffing_overview",
    "stop_distances",
    "warehouse_load",
    "warehouse_row",
    "DayRoutes",
    "FULFILLED_COLUMNS",
    "LogisticsOrders",
    "logistics_orders",
    "order_counts_sentence",
    "plan_day_routes",
    "route_plans_sentence",
    "shipment_order_columns",
    "SHIPMENT_COLUMNS",
    "start_shipment_order_columns",
    "simulation_window",
]
