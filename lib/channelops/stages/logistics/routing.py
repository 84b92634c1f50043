"""Delivery routing: the capacitated vehicle routing problem (CVRP).

One depot (a warehouse), customers with integer-like demands (parcels, crates, kg), identical
vehicles of one capacity. Every customer is visited exactly once; each route starts and ends
at the depot; the load of a route never exceeds the capacity; the total distance is minimised.

Node indices follow the caller's arrays: node ``i`` is row ``i`` of ``coords`` or of
``distances``, and ``depot`` is one of them (0 by default). Routes are lists of customer
node indices with the depot left out, in visiting order.

Distances. Pass either ``coords`` (Euclidean distances are computed) or a ``distances``
matrix (any units: km, minutes, cost; it need not be symmetric). With
``round_distances=True`` every distance is rounded to the nearest integer before solving
and costing; that is the TSPLIB/CVRPLIB ``EUC_2D`` convention, under which the published
best-known costs of the A and X sets are computed. Costs are always reported on the
distances the caller gave (rounded when asked), never on the solver's internal integers.

Solver. :func:`solve_cvrp` uses PyVRP (iterated local search) through its ``Model`` API.
PyVRP works on integers, so distances are multiplied by :data:`DISTANCE_SCALE` (1000) and
rounded: a distance of 12.3456 km becomes 12346 solver units, a resolution of 0.001 of the
caller's unit. Non-integer demands are scaled the same way (demands rounded up, capacity
down, so the solver never accepts a route that is overloaded in the caller's units).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyvrp import Model
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

#: Factor applied to distances (and to non-integer demands) before they go to PyVRP.
DISTANCE_SCALE = 1000

_MAX_SOLVER_INT = 2**53  # keep every scaled value exactly representable and far from overflow


@dataclass(frozen=True)
class CVRPSolution:
    """A set of routes for one depot.

    Attributes:
        routes: customer node indices per vehicle, in visiting order, depot excluded.
        cost: total distance of all routes on the caller's distances (depot legs included).
        n_vehicles: number of routes used.
        feasible: every customer served exactly once, no route over capacity, and no more
            routes than ``max_vehicles`` (checked by :func:`check_routes`, not by the solver).
        solver: ``"pyvrp"`` or ``"nearest_neighbour"``.
        runtime_s: wall-clock seconds spent building the routes.
        problems: what :func:`check_routes` found (empty when feasible).
    """

    routes: list[list[int]]
    cost: float
    n_vehicles: int
    feasible: bool
    solver: str
    runtime_s: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VRPLIBInstance:
    """A CVRP instance read from a VRPLIB/CVRPLIB text file.

    Attributes:
        name: the NAME field.
        coords: (n, 2) node coordinates; node 0 is the file's node 1.
        demands: (n,) integer demands, depot included (its demand is 0).
        capacity: vehicle capacity.
        depot: index of the depot node (0-based).
        distances: (n, n) EUC_2D distances, rounded to the nearest integer as CVRPLIB does.
        best_known: the optimal/best-known value quoted in the COMMENT, when there is one.
        comment: the COMMENT field.
    """

    name: str
    coords: np.ndarray
    demands: np.ndarray
    capacity: int
    depot: int
    distances: np.ndarray
    best_known: float | None
    comment: str


# --------------------------------------------------------------------------- distances


def euclidean_distances(coords: np.ndarray, *, round_distances: bool = False) -> np.ndarray:
    """Pairwise Euclidean distances between points.

    Args:
        coords: (n, 2) array of x, y positions (any planar unit).
        round_distances: round each distance to the nearest integer (TSPLIB ``EUC_2D``).

    Returns:
        (n, n) float array of distances in the unit of ``coords``.
    """
    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {xy.shape}")
    if not np.all(np.isfinite(xy)):
        raise ValueError("coords contain NaN or infinite values")
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.sqrt((diff**2).sum(axis=-1))
    # TSPLIB's nint(x) is floor(x + 0.5); np.round would round halves to even.
    return np.floor(dist + 0.5) if round_distances else dist


def route_cost(routes: Sequence[Sequence[int]], distances: np.ndarray, depot: int = 0) -> float:
    """Total length of routes that start and end at the depot.

    Args:
        routes: customer node indices per route, depot excluded.
        distances: (n, n) distance matrix; ``distances[i, j]`` is the leg from i to j.
        depot: depot node index.

    Returns:
        Sum over routes of depot -> first, consecutive legs, last -> depot, in the unit of
        ``distances``. Empty routes cost 0.
    """
    dist = np.asarray(distances, dtype=float)
    total = 0.0
    for route in routes:
        if len(route) == 0:
            continue
        path = [depot, *route, depot]
        total += float(sum(dist[a, b] for a, b in zip(path[:-1], path[1:], strict=True)))
    return total


def check_routes(
    routes: Sequence[Sequence[int]],
    demands: Sequence[float] | np.ndarray,
    capacity: float,
    depot: int = 0,
    max_vehicles: int | None = None,
) -> list[str]:
    """List what is wrong with a set of routes (an empty list means feasible).

    Args:
        routes: customer node indices per route, depot excluded.
        demands: (n,) demand per node (the depot's entry is ignored).
        capacity: vehicle capacity, same unit as demands.
        depot: depot node index.
        max_vehicles: largest number of routes allowed, or None for no limit.

    Returns:
        One readable sentence per problem: unknown nodes, the depot inside a route, empty
        routes, customers served twice or never, overloaded routes, too many routes.
    """
    dem = np.asarray(demands, dtype=float)
    n = len(dem)
    problems: list[str] = []
    seen: dict[int, int] = {}
    for r, route in enumerate(routes):
        if len(route) == 0:
            problems.append(f"route {r} is empty")
        load = 0.0
        for node in route:
            node = int(node)
            if not 0 <= node < n:
                problems.append(f"route {r} visits node {node}, outside 0..{n - 1}")
                continue
            if node == depot:
                problems.append(f"route {r} contains the depot {depot}; leave it out")
                continue
            if node in seen:
                where = (
                    f"twice in route {r}"
                    if seen[node] == r
                    else f"by route {seen[node]} and route {r}"
                )
                problems.append(f"customer {node} is served {where}")
            else:
                seen[node] = r
            load += dem[node]
        if load > capacity + 1e-9:
            problems.append(f"route {r} carries {load:g}, above the capacity {capacity:g}")
    missing = [i for i in range(n) if i != depot and i not in seen]
    if missing:
        problems.append(f"customers never served: {missing}")
    if max_vehicles is not None and len(routes) > max_vehicles:
        problems.append(f"{len(routes)} routes used, more than max_vehicles={max_vehicles}")
    return problems


def routes_table(
    routes: Sequence[Sequence[int]],
    demands: Sequence[float] | np.ndarray,
    distances: np.ndarray,
    depot: int = 0,
) -> pd.DataFrame:
    """One row per route: what it carries and how far it drives.

    Args:
        routes: customer node indices per route, depot excluded.
        demands: (n,) demand per node.
        distances: (n, n) distance matrix.
        depot: depot node index.

    Returns:
        DataFrame with columns route (0-based), n_stops, load (demand units), distance
        (distance units) and stops (the node sequence as text, e.g. ``"0-4-2-0"``).
    """
    dem = np.asarray(demands, dtype=float)
    rows = []
    for r, route in enumerate(routes):
        rows.append(
            {
                "route": r,
                "n_stops": len(route),
                "load": float(dem[list(route)].sum()) if len(route) else 0.0,
                "distance": route_cost([route], distances, depot),
                "stops": "-".join(str(int(i)) for i in [depot, *route, depot]),
            }
        )
    return pd.DataFrame(rows, columns=["route", "n_stops", "load", "distance", "stops"])


# --------------------------------------------------------------------------- validation


def _prepare(
    demands: Sequence[float] | np.ndarray,
    capacity: float,
    coords: np.ndarray | None,
    distances: np.ndarray | None,
    depot: int,
    round_distances: bool,
    max_vehicles: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate CVRP inputs; return (demands as floats, the distance matrix to cost on)."""
    if (coords is None) == (distances is None):
        raise ValueError(
            "give exactly one of coords= or distances= (got "
            + ("neither" if coords is None else "both")
            + ")"
        )
    if coords is not None:
        dist = euclidean_distances(coords, round_distances=round_distances)
    else:
        dist = np.asarray(distances, dtype=float)
        if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
            raise ValueError(f"distances must be a square (n, n) matrix, got shape {dist.shape}")
        if not np.all(np.isfinite(dist)):
            raise ValueError("distances contain NaN or infinite values")
        if np.any(dist < 0):
            i, j = np.argwhere(dist < 0)[0]
            raise ValueError(f"distances must be non-negative; distances[{i}, {j}] = {dist[i, j]}")
        if round_distances:
            dist = np.floor(dist + 0.5)
    n = dist.shape[0]
    dem = np.asarray(demands, dtype=float)
    if dem.ndim != 1 or len(dem) != n:
        raise ValueError(
            f"demands must have one entry per node ({n} nodes from "
            f"{'coords' if coords is not None else 'distances'}), got shape {dem.shape}"
        )
    if not 0 <= depot < n:
        raise ValueError(f"depot index {depot} is out of range 0..{n - 1}")
    if not np.all(np.isfinite(dem)) or np.any(dem < 0):
        raise ValueError("demands must be finite and non-negative")
    if dem[depot] != 0:
        raise ValueError(f"the depot (node {depot}) must have demand 0, got {dem[depot]:g}")
    if not (math.isfinite(capacity) and capacity > 0):
        raise ValueError(f"capacity must be a positive number, got {capacity}")
    too_big = np.flatnonzero(dem > capacity)
    if len(too_big):
        i = int(too_big[0])
        raise ValueError(
            f"customer {i} demands {dem[i]:g}, more than the vehicle capacity {capacity:g}; "
            "no single vehicle can serve it (split the order or raise the capacity)"
        )
    if max_vehicles is not None:
        if max_vehicles < 1:
            raise ValueError(f"max_vehicles must be at least 1, got {max_vehicles}")
        if dem.sum() > max_vehicles * capacity + 1e-9:
            raise ValueError(
                f"total demand {dem.sum():g} exceeds max_vehicles x capacity = "
                f"{max_vehicles} x {capacity:g}; no feasible plan exists"
            )
    return dem, dist


def _finish(
    routes: list[list[int]],
    dem: np.ndarray,
    capacity: float,
    dist: np.ndarray,
    depot: int,
    max_vehicles: int | None,
    solver: str,
    started: float,
) -> CVRPSolution:
    routes = [r for r in routes if r]
    problems = check_routes(routes, dem, capacity, depot, max_vehicles)
    return CVRPSolution(
        routes=routes,
        cost=route_cost(routes, dist, depot),
        n_vehicles=len(routes),
        feasible=not problems,
        solver=solver,
        runtime_s=time.perf_counter() - started,
        problems=problems,
    )


# --------------------------------------------------------------------------- solvers


def nearest_neighbour_routes(
    demands: Sequence[float] | np.ndarray,
    capacity: float,
    *,
    coords: np.ndarray | None = None,
    distances: np.ndarray | None = None,
    depot: int = 0,
    round_distances: bool = False,
    max_vehicles: int | None = None,
) -> CVRPSolution:
    """The simple baseline: drive to the nearest customer that still fits, else go home.

    Each vehicle leaves the depot and repeatedly visits the closest unserved customer whose
    demand fits in the remaining capacity (ties go to the lower index); when none fits it
    returns to the depot and the next vehicle starts. Deterministic.

    Args:
        demands: (n,) demand per node, 0 at the depot.
        capacity: vehicle capacity, same unit as demands.
        coords: (n, 2) positions; Euclidean distances are used. Exclusive with distances.
        distances: (n, n) non-negative distance matrix. Exclusive with coords.
        depot: depot node index.
        round_distances: round distances to the nearest integer (CVRPLIB convention).
        max_vehicles: fleet size; the solution is flagged infeasible if it needs more.

    Returns:
        A :class:`CVRPSolution` with ``solver="nearest_neighbour"``.
    """
    started = time.perf_counter()
    dem, dist = _prepare(demands, capacity, coords, distances, depot, round_distances, max_vehicles)
    unserved = [i for i in range(len(dem)) if i != depot]
    routes: list[list[int]] = []
    while unserved:
        route: list[int] = []
        here, room = depot, float(capacity)
        while True:
            fits = [i for i in unserved if dem[i] <= room + 1e-9]
            if not fits:
                break
            nxt = min(fits, key=lambda i: (dist[here, i], i))
            route.append(nxt)
            unserved.remove(nxt)
            room -= dem[nxt]
            here = nxt
        routes.append(route)
    return _finish(routes, dem, capacity, dist, depot, max_vehicles, "nearest_neighbour", started)


def _integer_demands(dem: np.ndarray, capacity: float) -> tuple[list[int], int]:
    """Demands and capacity as integers for PyVRP (scaled when not already whole)."""
    if np.all(dem == np.round(dem)) and float(capacity) == round(capacity):
        return [int(d) for d in dem], int(capacity)
    scaled = np.ceil(dem * DISTANCE_SCALE - 1e-9).astype(np.int64)
    return [int(d) for d in scaled], int(math.floor(capacity * DISTANCE_SCALE + 1e-9))


def solve_cvrp(
    demands: Sequence[float] | np.ndarray,
    capacity: float,
    *,
    coords: np.ndarray | None = None,
    distances: np.ndarray | None = None,
    depot: int = 0,
    time_limit: float = 10.0,
    seed: int = 0,
    max_vehicles: int | None = None,
    round_distances: bool = False,
    fixed_cost: float = 0.0,
    max_iterations: int | None = None,
) -> CVRPSolution:
    """Solve a CVRP with PyVRP within a time limit.

    Args:
        demands: (n,) demand per node, 0 at the depot (parcels, crates, kg; whole numbers
            are used as they are, fractional ones are scaled by :data:`DISTANCE_SCALE`).
        capacity: vehicle capacity, same unit as demands.
        coords: (n, 2) positions; Euclidean distances are used. Exclusive with distances.
        distances: (n, n) non-negative distance matrix (any unit, may be asymmetric).
            Exclusive with coords.
        depot: depot node index.
        time_limit: wall-clock seconds PyVRP may search (``MaxRuntime``).
        seed: PyVRP's random seed; the same seed and inputs give the same search, though
            the iterations completed within the time limit depend on machine speed.
        max_vehicles: fleet size; None means no limit (one vehicle per customer is offered).
        round_distances: round distances to the nearest integer first (CVRPLIB ``EUC_2D``
            convention; use it to compare with published best-known costs).
        fixed_cost: cost of using one vehicle, in distance units (e.g. a vehicle's day
            rate divided by its cost per km), so the search trades vehicles against
            distance; 0 (default) minimises distance alone. Not included in the returned
            cost.
        max_iterations: also stop after this many iterations (whichever comes first).
            With the same seed the search is then the same on any machine fast enough to
            finish the iterations inside ``time_limit``, so runs are reproducible.

    Returns:
        A :class:`CVRPSolution` with ``solver="pyvrp"``; its cost is the total distance on
        the given distances. ``feasible`` is False when PyVRP found no feasible plan in the time.

    Raises:
        ValueError: on inconsistent input (see the messages), e.g. a demand above capacity.
    """
    started = time.perf_counter()
    dem, dist = _prepare(demands, capacity, coords, distances, depot, round_distances, max_vehicles)
    customers = [i for i in range(len(dem)) if i != depot]
    if not customers:
        return _finish([], dem, capacity, dist, depot, max_vehicles, "pyvrp", started)
    _check_search(time_limit, fixed_cost, max_iterations)
    model = _pyvrp_model(dem, capacity, dist, coords, depot, customers, max_vehicles, fixed_cost)
    result = model.solve(_stop_criterion(time_limit, max_iterations), seed=seed, display=False)
    routes: list[list[int]] = []
    for route in result.best.routes():
        # Client activity idx counts clients only, in the order they were added.
        routes.append([customers[a.idx] for a in route if a.is_client()])
    return _finish(routes, dem, capacity, dist, depot, max_vehicles, "pyvrp", started)


def _check_search(time_limit: float, fixed_cost: float, max_iterations: int | None) -> None:
    """Raise ValueError on a search setting :func:`solve_cvrp` cannot use."""
    if time_limit <= 0:
        raise ValueError(f"time_limit must be positive seconds, got {time_limit}")
    if not (math.isfinite(fixed_cost) and fixed_cost >= 0):
        raise ValueError(f"fixed_cost must be a non-negative number, got {fixed_cost}")
    if max_iterations is not None and max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")


def _pyvrp_model(
    dem: np.ndarray,
    capacity: float,
    dist: np.ndarray,
    coords: np.ndarray | None,
    depot: int,
    customers: list[int],
    max_vehicles: int | None,
    fixed_cost: float,
) -> Model:
    """The PyVRP model of a validated CVRP, in solver integers (:data:`DISTANCE_SCALE`)."""
    n = len(dem)
    scaled = np.rint(dist * DISTANCE_SCALE)
    if scaled.max() * n >= _MAX_SOLVER_INT:
        raise ValueError(
            "distances are too large to scale to integers; rescale them (e.g. metres to km)"
        )
    int_demands, int_capacity = _integer_demands(dem, capacity)
    xy = np.asarray(coords, dtype=float) if coords is not None else np.zeros((n, 2))
    model = Model()
    # PyVRP uses coordinates only for plotting; with a matrix alone they are all zero.
    locations = [model.add_location(float(x), float(y)) for x, y in xy]
    model.add_depot(locations[depot])
    for i in customers:
        model.add_client(locations[i], delivery=int_demands[i])
    model.add_vehicle_type(
        num_available=max_vehicles if max_vehicles is not None else len(customers),
        capacity=int_capacity,
        fixed_cost=int(round(fixed_cost * DISTANCE_SCALE)),
    )
    for i in range(n):
        for j in range(n):
            if i != j:
                model.add_edge(locations[i], locations[j], distance=int(scaled[i, j]))
    return model


def _stop_criterion(time_limit: float, max_iterations: int | None) -> MaxRuntime | MultipleCriteria:
    """Stop after ``time_limit`` seconds, or after ``max_iterations`` if that comes first."""
    stop = MaxRuntime(time_limit)
    if max_iterations is not None:
        stop = MultipleCriteria([MaxIterations(int(max_iterations)), stop])
    return stop


# --------------------------------------------------------------------------- VRPLIB files


def parse_vrplib(text: str) -> VRPLIBInstance:
    """Parse the text of a VRPLIB/CVRPLIB CVRP file with ``EDGE_WEIGHT_TYPE : EUC_2D``.

    Args:
        text: the file's contents (NAME, COMMENT, DIMENSION, CAPACITY, NODE_COORD_SECTION,
            DEMAND_SECTION, DEPOT_SECTION).

    Returns:
        A :class:`VRPLIBInstance` with 0-based node indices and rounded EUC_2D distances.
    """
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        key, sep, value = line.partition(":")
        if line.upper().endswith("_SECTION"):
            current = line.upper()
            sections[current] = []
        elif sep and re.fullmatch(r"[A-Za-z_ ]+", key.strip()):
            header[key.strip().upper()] = value.strip()
            current = None
        elif current is not None:
            sections[current].append(line.split())
        else:
            raise ValueError(f"cannot read VRPLIB line: {raw!r}")

    weight_type = header.get("EDGE_WEIGHT_TYPE", "")
    if weight_type != "EUC_2D":
        raise ValueError(f"only EDGE_WEIGHT_TYPE EUC_2D is supported, got {weight_type!r}")
    for needed in ("DIMENSION", "CAPACITY"):
        if needed not in header:
            raise ValueError(f"VRPLIB header {needed} is missing")
    for needed in ("NODE_COORD_SECTION", "DEMAND_SECTION"):
        if needed not in sections:
            raise ValueError(f"VRPLIB {needed} is missing")
    n = int(header["DIMENSION"])
    coords = np.zeros((n, 2))
    demands = np.zeros(n, dtype=np.int64)
    for row in sections["NODE_COORD_SECTION"]:
        coords[int(row[0]) - 1] = [float(row[1]), float(row[2])]
    for row in sections["DEMAND_SECTION"]:
        demands[int(row[0]) - 1] = int(row[1])
    depots = [int(r[0]) for r in sections.get("DEPOT_SECTION", [["1"]]) if int(r[0]) > 0]
    if len(depots) != 1:
        raise ValueError(f"expected exactly one depot, got {depots}")
    comment = header.get("COMMENT", "")
    found = re.search(r"(?:Optimal|Best)[^:]*:\s*([0-9.]+)", comment, flags=re.IGNORECASE)
    return VRPLIBInstance(
        name=header.get("NAME", ""),
        coords=coords,
        demands=demands,
        capacity=int(float(header["CAPACITY"])),
        depot=depots[0] - 1,
        distances=euclidean_distances(coords, round_distances=True),
        best_known=float(found.group(1)) if found else None,
        comment=comment,
    )


def read_vrplib(path: str | Path) -> VRPLIBInstance:
    """Read a VRPLIB/CVRPLIB ``.vrp`` file (EUC_2D only); see :func:`parse_vrplib`."""
    return parse_vrplib(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- plotting


def plot_routes(
    coords: np.ndarray,
    routes: Sequence[Sequence[int]],
    depot: int = 0,
    ax=None,
    *,
    title: str | None = None,
    unit: str = "",
):
    """Draw routes on a map-like scatter plot, one colour per route.

    Args:
        coords: (n, 2) node positions (x = longitude or east, y = latitude or north).
        routes: customer node indices per route, depot excluded.
        depot: depot node index (drawn as a black square).
        ax: matplotlib axes to draw on; a new figure is made when None.
        title: axes title.
        unit: unit of the coordinates for the axis labels (e.g. ``"km"``).

    Returns:
        The matplotlib axes.
    """
    xy = np.asarray(coords, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    cmap = plt.get_cmap("tab10" if len(routes) <= 10 else "tab20")
    for r, route in enumerate(routes):
        path = [depot, *route, depot]
        ax.plot(
            xy[path, 0],
            xy[path, 1],
            "-o",
            color=cmap(r % cmap.N),
            ms=4,
            lw=1.2,
            label=f"route {r + 1}",
        )
    ax.scatter(xy[depot, 0], xy[depot, 1], marker="s", s=80, color="black", zorder=3, label="depot")
    suffix = f" ({unit})" if unit else ""
    ax.set_xlabel(f"x{suffix}")
    ax.set_ylabel(f"y{suffix}")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    if len(routes) <= 12:
        ax.legend(fontsize="small", loc="best")
    return ax
