"""One day's delivery rounds (section 3 of the 05 notebook): which orders, the stops'
distances, the plans as the ``routes`` table, and what each plan costs.

The stops come from :func:`~.prepare.delivery_stops` and :func:`~.prepare.split_full_loads`,
the plans from :func:`~.routing.solve_cvrp` and :func:`~.routing.nearest_neighbour_routes`.
A plan's cost is ``vehicles x fixed cost per vehicle + km x cost per km``, counting the full
loads sent straight to their city (out and back) as vehicles and km of every plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .allocation import haversine_km
from .prepare import ROUTE_COLUMNS, routes_long
from .routing import CVRPSolution, nearest_neighbour_routes, solve_cvrp

__all__ = [
    "route_orders",
    "warehouse_row",
    "stop_distances",
    "fixed_cost_in_km",
    "routes_with_direct_trips",
    "route_cost_summary",
    "route_saving",
    "DayRoutes",
    "plan_day_routes",
    "route_plans_sentence",
]


def route_orders(
    fulfilled: pd.DataFrame, day: str = "", warehouse: str = ""
) -> tuple[pd.Timestamp, str, pd.DataFrame]:
    """The day and warehouse to route, and that day's orders from that warehouse.

    Args:
        fulfilled: fulfilled orders with order_ts_local (local time) and warehouse_id.
        day: ``YYYY-MM-DD``, or empty for the local day with the most orders.
        warehouse: a warehouse_id, or empty for the one with the most orders that day.

    Returns:
        (day, warehouse_id, orders): day as a midnight timestamp, and the rows of
        ``fulfilled`` ordered that local day and shipped from that warehouse.

    Raises:
        ValueError: no orders to choose from.
    """
    if fulfilled.empty:
        raise ValueError("no fulfilled orders to route")
    local_day = fulfilled["order_ts_local"].dt.normalize()
    chosen = pd.Timestamp(day) if day else local_day.value_counts().idxmax()
    on_day = fulfilled[local_day == chosen]
    wh_id = warehouse or on_day["warehouse_id"].value_counts().idxmax()
    return chosen, wh_id, on_day[on_day["warehouse_id"] == wh_id]


def warehouse_row(warehouses: pd.DataFrame, warehouse_id: str) -> pd.Series:
    """One warehouse's row of warehouses.csv, with its warehouse_id among the values.

    Args:
        warehouses: warehouses.csv (warehouse_id, city, lat, lon, ...).
        warehouse_id: the warehouse.

    Returns:
        The row as a Series (city, lat, lon, ..., warehouse_id).

    Raises:
        KeyError: no such warehouse.
    """
    row = warehouses.set_index("warehouse_id").loc[warehouse_id].copy()
    row["warehouse_id"] = warehouse_id
    return row


def stop_distances(stops: pd.DataFrame) -> np.ndarray:
    """Great-circle km between every pair of stops.

    Args:
        stops: rows with lat and lon (degrees), node order (e.g. :func:`~.prepare.delivery_stops`).

    Returns:
        (n, n) array of km; ``[i, j]`` is the distance from stop i to stop j.

    Raises:
        ValueError: a stop has no coordinates.
    """
    lat = stops["lat"].to_numpy(float)
    lon = stops["lon"].to_numpy(float)
    if np.isnan(lat).any() or np.isnan(lon).any():
        raise ValueError("every stop needs lat and lon")
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


def fixed_cost_in_km(fixed_cost: float, cost_per_km: float) -> float:
    """A vehicle's fixed cost expressed as the km that cost the same.

    Args:
        fixed_cost: cost of using one vehicle for a day, currency.
        cost_per_km: running cost, currency per km.

    Returns:
        fixed_cost / cost_per_km in km; 0.0 when driving is free (cost_per_km = 0).

    Raises:
        ValueError: a negative cost.
    """
    if fixed_cost < 0 or cost_per_km < 0:
        raise ValueError(f"costs must be non-negative, got {fixed_cost} and {cost_per_km}")
    return fixed_cost / cost_per_km if cost_per_km > 0 else 0.0


def _direct_trips(direct: pd.DataFrame, solver: str, first_vehicle: int) -> pd.DataFrame:
    """The full-load trips as ``routes`` rows of one solver, numbered from first_vehicle."""
    d = direct.assign(
        solver=solver,
        vehicle=np.arange(len(direct)) + first_vehicle,
        stop=1,
        cum_km=direct["distance_km"],
    )
    return d[ROUTE_COLUMNS]


def routes_with_direct_trips(
    plans: Mapping[str, CVRPSolution],
    stops: pd.DataFrame,
    distances: np.ndarray,
    direct: pd.DataFrame,
) -> pd.DataFrame:
    """The ``routes`` table: each plan's rounds, then its full-load trips.

    Args:
        plans: solver name -> its solution on ``stops``.
        stops: the routed stops (node 0 the depot).
        distances: (n, n) km between the stops.
        direct: full-load trips (city, load, distance_km out and back), from
            :func:`~.prepare.split_full_loads`.

    Returns:
        DataFrame with :data:`~.prepare.ROUTE_COLUMNS`; per solver, the rounds of
        :func:`~.prepare.routes_long` and then one row per direct trip (vehicles numbered
        after the rounds', stop 1, cum_km its distance_km).

    Raises:
        ValueError: no plans.
    """
    if not plans:
        raise ValueError("no route plans")
    parts = []
    for name, sol in plans.items():
        rounds = routes_long(sol.routes, stops, distances, name)
        trips = _direct_trips(direct, name, sol.n_vehicles + 1)
        parts.append(pd.concat([rounds, trips], ignore_index=True))
    return pd.concat(parts, ignore_index=True)


def route_cost_summary(
    plans: Mapping[str, CVRPSolution],
    direct: pd.DataFrame,
    fixed_cost: float,
    cost_per_km: float,
) -> pd.DataFrame:
    """What each plan costs, full-load trips included.

    Args:
        plans: solver name -> its solution (cost = km of its rounds).
        direct: full-load trips with distance_km (out and back).
        fixed_cost: cost of one vehicle for the day, currency.
        cost_per_km: running cost, currency per km.

    Returns:
        DataFrame indexed by solver: vehicles (rounds + direct trips), distance_km,
        cost (vehicles x fixed_cost + km x cost_per_km, currency), feasible, seconds (the
        solver's wall-clock time).

    Raises:
        ValueError: no plans, or a negative cost.
    """
    if not plans:
        raise ValueError("no route plans")
    if fixed_cost < 0 or cost_per_km < 0:
        raise ValueError(f"costs must be non-negative, got {fixed_cost} and {cost_per_km}")
    rows = []
    for name, sol in plans.items():
        km = sol.cost + direct["distance_km"].sum()
        vehicles = sol.n_vehicles + len(direct)
        rows.append(
            {
                "solver": name,
                "vehicles": vehicles,
                "distance_km": km,
                "cost": vehicles * fixed_cost + km * cost_per_km,
                "feasible": sol.feasible,
                "seconds": sol.runtime_s,
            }
        )
    return pd.DataFrame(rows).set_index("solver")


def route_saving(
    summary: pd.DataFrame, solver: str = "pyvrp", baseline: str = "nearest_neighbour"
) -> float:
    """Share of the baseline's cost that ``solver``'s plan saves.

    Args:
        summary: output of :func:`route_cost_summary`.
        solver, baseline: rows of ``summary``.

    Returns:
        1 - cost(solver) / cost(baseline), e.g. 0.12 for 12% cheaper; 0.0 when the
        baseline costs nothing.

    Raises:
        ValueError: a solver is missing from ``summary``.
    """
    missing = sorted({solver, baseline} - set(summary.index))
    if missing:
        raise ValueError(f"no cost for solver {missing}")
    base = summary.loc[baseline, "cost"]
    return 1 - summary.loc[solver, "cost"] / base if base > 0 else 0.0


@dataclass(frozen=True)
class DayRoutes:
    """The day's route plans (:func:`plan_day_routes`).

    Attributes:
        plans: solver name (``pyvrp``, ``nearest_neighbour``) -> its solution.
        routes: the ``routes`` table (:func:`routes_with_direct_trips`).
        summary: what each plan costs (:func:`route_cost_summary`).
        saving: share of the nearest-neighbour plan's cost that PyVRP saves
            (:func:`route_saving`; negative when PyVRP costs more).
    """

    plans: dict[str, CVRPSolution]
    routes: pd.DataFrame
    summary: pd.DataFrame
    saving: float


def plan_day_routes(
    stops: pd.DataFrame,
    distances: np.ndarray,
    direct: pd.DataFrame,
    vehicle_capacity: float,
    *,
    time_limit: float,
    max_iterations: int | None,
    seed: int,
    vehicle_fixed_cost: float,
    vehicle_cost_per_km: float,
) -> DayRoutes:
    """Route the day's stops with PyVRP and with the nearest-neighbour rule, and cost both.

    PyVRP minimises vehicles x fixed cost + km x cost per km (the fixed cost enters as its
    equivalent in km, :func:`fixed_cost_in_km`); the nearest-neighbour rule knows only
    distances. The full loads in ``direct`` count as vehicles and km of both plans.

    Args:
        stops: the routed stops (node 0 the depot, parcels per stop).
        distances: (n, n) km between the stops.
        direct: full-load trips (:func:`~.prepare.split_full_loads`).
        vehicle_capacity: parcels per vehicle.
        time_limit: PyVRP's search time, seconds.
        max_iterations: PyVRP stops after this many iterations (None: time limit only).
        seed: PyVRP's seed.
        vehicle_fixed_cost: cost of one vehicle for the day, currency.
        vehicle_cost_per_km: running cost, currency per km.

    Returns:
        :class:`DayRoutes`.

    Raises:
        ValueError: a negative cost, or a capacity or time limit PyVRP refuses.
    """
    parcels = stops["parcels"].to_numpy(float)
    plans = {
        "pyvrp": solve_cvrp(
            parcels,
            vehicle_capacity,
            distances=distances,
            time_limit=time_limit,
            seed=seed,
            max_iterations=max_iterations,
            fixed_cost=fixed_cost_in_km(vehicle_fixed_cost, vehicle_cost_per_km),
        ),
        "nearest_neighbour": nearest_neighbour_routes(
            parcels, vehicle_capacity, distances=distances
        ),
    }
    routes = routes_with_direct_trips(plans, stops, distances, direct)
    summary = route_cost_summary(plans, direct, vehicle_fixed_cost, vehicle_cost_per_km)
    return DayRoutes(plans, routes, summary, route_saving(summary))


def route_plans_sentence(summary: pd.DataFrame, saving: float) -> str:
    """PyVRP's plan against the nearest-neighbour rule's, in one sentence.

    Args:
        summary: :func:`route_cost_summary` with rows ``pyvrp`` and ``nearest_neighbour``.
        saving: :func:`route_saving` of that summary.

    Returns:
        e.g. "PyVRP 8,398 km with 1 vehicle vs nearest neighbour 10,907 km with 1: 22.8%
        cheaper" ("dearer" when PyVRP costs more, "the same cost" when equal).

    Raises:
        ValueError: a solver is missing from ``summary``.
    """
    missing = sorted({"pyvrp", "nearest_neighbour"} - set(summary.index))
    if missing:
        raise ValueError(f"no cost for solver {missing}")
    p, n = summary.loc["pyvrp"], summary.loc["nearest_neighbour"]
    pv = int(p["vehicles"])
    if saving > 0:
        verdict = f"{saving:.1%} cheaper"
    elif saving < 0:
        verdict = f"{-saving:.1%} dearer"
    else:
        verdict = "the same cost"
    return (
        f"PyVRP {p['distance_km']:,.0f} km with {pv} vehicle{'s' if pv != 1 else ''} vs "
        f"nearest neighbour {n['distance_km']:,.0f} km with {int(n['vehicles'])}: {verdict}"
    )
