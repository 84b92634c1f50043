"""Tests for channelops.stages.logistics.routing: CVRP with PyVRP, the baseline, checks, I/O."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from _builders import TEST_DATA
from channelops.stages.logistics import (  # noqa: E402
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

DATA = TEST_DATA

# A-n32-k5 reaches its optimum (784) within 0.1 s on every seed tried (see
# benchmarks/results/cvrp.md); 1 s leaves a tenfold margin for a slow or busy CI machine.
CVRP_TIME_LIMIT_S = 1.0


def brute_force_cvrp(demands, capacity, dist, depot=0) -> float:
    """Optimal CVRP cost by enumeration: every order of the customers, cut into routes."""
    customers = [i for i in range(len(demands)) if i != depot]
    best = np.inf
    for perm in itertools.permutations(customers):
        for cuts in itertools.product([False, True], repeat=len(perm) - 1):
            routes, current = [], [perm[0]]
            for node, cut in zip(perm[1:], cuts, strict=True):
                if cut:
                    routes.append(current)
                    current = []
                current.append(node)
            routes.append(current)
            if all(sum(demands[i] for i in r) <= capacity for r in routes):
                best = min(best, route_cost(routes, dist, depot))
    return best


@pytest.fixture(scope="module")
def a_n32_k5():
    return read_vrplib(DATA / "A-n32-k5.vrp")


@pytest.fixture
def tiny():
    """Five customers around a depot at the origin; capacity forces two or more routes."""
    coords = np.array([[0, 0], [2, 1], [3, 4], [-1, 3], [-3, -2], [1, -4]], dtype=float)
    demands = np.array([0, 4, 3, 5, 2, 4])
    return coords, demands, 9


# --------------------------------------------------------------------- known answers


def test_vrplib_reader_reads_a_n32_k5(a_n32_k5):
    inst = a_n32_k5
    assert inst.name == "A-n32-k5"
    assert inst.coords.shape == (32, 2)
    assert inst.capacity == 100
    assert inst.depot == 0
    assert inst.demands[0] == 0 and inst.demands.sum() == 410
    assert inst.best_known == 784
    assert inst.distances[0, 1] == 35  # hypot(96 - 82, 44 - 76) = 34.93, rounded
    assert np.allclose(inst.distances, inst.distances.T)


def test_solve_cvrp_reaches_best_known_on_a_n32_k5(a_n32_k5):
    inst = a_n32_k5
    sol = solve_cvrp(
        inst.demands,
        inst.capacity,
        coords=inst.coords,
        depot=inst.depot,
        round_distances=True,
        time_limit=CVRP_TIME_LIMIT_S,
        seed=1,
    )
    baseline = nearest_neighbour_routes(
        inst.demands, inst.capacity, coords=inst.coords, depot=inst.depot, round_distances=True
    )
    print(
        f"\nA-n32-k5: pyvrp {sol.cost:.0f} in {sol.runtime_s:.1f} s with {sol.n_vehicles} "
        f"vehicles; best known {inst.best_known:.0f}; nearest neighbour {baseline.cost:.0f} "
        f"with {baseline.n_vehicles} vehicles"
    )
    assert sol.feasible, sol.problems
    assert check_routes(sol.routes, inst.demands, inst.capacity, inst.depot) == []
    assert sorted(i for r in sol.routes for i in r) == list(range(1, 32))
    assert all(inst.demands[r].sum() <= inst.capacity for r in sol.routes)
    assert sol.cost == pytest.approx(route_cost(sol.routes, inst.distances, inst.depot))
    assert sol.cost <= 1.01 * inst.best_known
    assert sol.cost >= inst.best_known  # 784 is proven optimal, so never below it
    assert baseline.feasible
    assert baseline.cost > sol.cost


def test_solve_cvrp_matches_brute_force_on_tiny_case(tiny):
    coords, demands, capacity = tiny
    dist = euclidean_distances(coords)
    optimum = brute_force_cvrp(demands, capacity, dist)
    sol = solve_cvrp(demands, capacity, coords=coords, time_limit=0.3, seed=0)
    assert sol.feasible
    # Solver distances are scaled x1000 and rounded: at most 0.0005 per leg of difference.
    assert sol.cost == pytest.approx(optimum, abs=1e-2)
    assert nearest_neighbour_routes(demands, capacity, coords=coords).cost >= optimum - 1e-9


def test_solve_cvrp_on_asymmetric_distance_matrix_matches_brute_force():
    rng = np.random.default_rng(sum(map(ord, "asymmetric cvrp")))
    dist = rng.integers(1, 30, size=(6, 6)).astype(float)
    np.fill_diagonal(dist, 0)
    demands = np.array([0, 3, 3, 2, 4, 3])
    optimum = brute_force_cvrp(demands, 7, dist)
    sol = solve_cvrp(demands, 7, distances=dist, time_limit=0.3, seed=0)
    assert sol.feasible
    assert sol.cost == pytest.approx(optimum)
    assert sol.cost == pytest.approx(route_cost(sol.routes, dist))


def test_depot_not_at_index_zero(tiny):
    coords, demands, capacity = tiny
    order = [3, 1, 2, 0, 4, 5]  # the depot becomes node 3
    sol = solve_cvrp(demands[order], capacity, coords=coords[order], depot=3, time_limit=0.3)
    base = solve_cvrp(demands, capacity, coords=coords, time_limit=0.3)
    assert sol.feasible
    assert all(3 not in r for r in sol.routes)
    assert sol.cost == pytest.approx(base.cost, abs=1e-2)


def test_fractional_demands_and_max_vehicles(tiny):
    coords, demands, capacity = tiny
    frac = demands * 0.5  # kg, say
    sol = solve_cvrp(frac, capacity * 0.5, coords=coords, time_limit=0.3, max_vehicles=3)
    assert sol.feasible
    assert sol.n_vehicles <= 3


def test_fixed_cost_trades_vehicles_against_distance():
    # Two customers 1 from the depot but 1000 from each other (not a metric, on purpose):
    # by distance alone two out-and-back routes (4) beat one tour (1002); a fixed cost of
    # 2000 per vehicle makes one tour cheaper (1002 + 2000 < 4 + 4000).
    dist = np.array([[0, 1, 1], [1, 0, 1000], [1, 1000, 0]], dtype=float)
    free = solve_cvrp([0, 1, 1], 10, distances=dist, time_limit=0.3)
    assert free.n_vehicles == 2 and free.cost == 4
    dear = solve_cvrp([0, 1, 1], 10, distances=dist, time_limit=0.3, fixed_cost=2000)
    assert dear.n_vehicles == 1 and dear.cost == 1002
    with pytest.raises(ValueError, match="fixed_cost"):
        solve_cvrp([0, 1, 1], 10, distances=dist, fixed_cost=-1)


def test_iteration_cap_makes_the_search_reproducible(tiny):
    coords, demands, capacity = tiny
    runs = [
        solve_cvrp(demands, capacity, coords=coords, time_limit=30, seed=3, max_iterations=300)
        for _ in range(2)
    ]
    assert runs[0].routes == runs[1].routes and runs[0].feasible
    assert runs[0].runtime_s < 30  # the cap stopped it, not the clock
    with pytest.raises(ValueError, match="max_iterations"):
        solve_cvrp(demands, capacity, coords=coords, max_iterations=0)


def test_no_customers():
    sol = solve_cvrp([0], 10, coords=np.zeros((1, 2)))
    assert sol.routes == [] and sol.cost == 0 and sol.feasible


# --------------------------------------------------------------------- helpers


def test_route_cost_by_hand():
    dist = np.array([[0, 1, 2], [1, 0, 5], [2, 5, 0]], dtype=float)
    assert route_cost([[1, 2]], dist) == 1 + 5 + 2
    assert route_cost([[1], [2], []], dist) == 2 + 4


def test_check_routes_finds_each_problem():
    demands = [0, 5, 5, 5]
    problems = check_routes([[1, 1], [0, 2], []], demands, capacity=8, max_vehicles=2)
    text = " | ".join(problems)
    assert "customer 1 is served twice in route 0" in text
    assert "contains the depot" in text
    assert "route 0 carries 10" in text
    assert "route 2 is empty" in text
    assert "never served: [3]" in text
    assert "more than max_vehicles=2" in text
    assert check_routes([[1], [2, 3, 4]], demands, 10) == ["route 1 visits node 4, outside 0..3"]
    assert check_routes([[1, 2], [2, 3]], demands, 10) == [
        "customer 2 is served by route 0 and route 1"
    ]
    assert check_routes([[1], [2], [3]], demands, 5) == []


def test_routes_table_and_plot(tiny):
    coords, demands, capacity = tiny
    sol = nearest_neighbour_routes(demands, capacity, coords=coords)
    table = routes_table(sol.routes, demands, euclidean_distances(coords))
    assert list(table.columns) == ["route", "n_stops", "load", "distance", "stops"]
    assert table["load"].sum() == demands.sum()
    assert table["distance"].sum() == pytest.approx(sol.cost)
    ax = plot_routes(coords, sol.routes, title="tiny")
    assert ax.get_title() == "tiny"
    assert len(ax.lines) == sol.n_vehicles


def test_euclidean_rounding_is_nint():
    d = euclidean_distances(np.array([[0, 0], [0, 2.5], [0, 3.5]]), round_distances=True)
    assert d[0, 1] == 3 and d[0, 2] == 4  # halves round up, as TSPLIB's nint does


# --------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"demands": [0, 3, 12], "coords": np.zeros((3, 2))}, "more than the vehicle capacity"),
        ({"demands": [0, 3, 2], "coords": np.zeros((3, 2)), "depot": 3}, "out of range"),
        ({"demands": [0, 3], "coords": np.zeros((3, 2))}, "one entry per node"),
        ({"demands": [0, 3, 2]}, "neither"),
        ({"demands": [0, 3, 2], "coords": np.zeros((3, 2)), "distances": np.zeros((3, 3))}, "both"),
        ({"demands": [0, 3, 2], "distances": -np.ones((3, 3))}, "non-negative"),
        ({"demands": [0, 3, 2], "distances": np.ones((3, 2))}, "square"),
        ({"demands": [1, 3, 2], "coords": np.zeros((3, 2))}, "depot (node 0) must have demand 0"),
        (
            {"demands": [0, 8, 8], "coords": np.zeros((3, 2)), "max_vehicles": 1},
            "exceeds max_vehicles",
        ),
        ({"demands": [0, -1, 2], "coords": np.zeros((3, 2))}, "non-negative"),
    ],
)
@pytest.mark.parametrize("solver", [solve_cvrp, nearest_neighbour_routes])
def test_bad_input_is_rejected_clearly(solver, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        solver(capacity=10, **kwargs)


def test_vrplib_reader_rejects_explicit_weights():
    with pytest.raises(ValueError, match="EUC_2D"):
        parse_vrplib("NAME : x\nEDGE_WEIGHT_TYPE : EXPLICIT\nDIMENSION : 2\nCAPACITY : 5\n")
