"""Exact references for the channel plan, by enumerating channel subsets.

For every subset of channels that the constraints allow (forced channels in, forced-out
channels out, count within [min, max], minimum spends within the budget), the budgets are
optimised continuously:

* best profit: profit is separable over channels, so a dynamic programme over a budget grid
  (max-plus convolution of the per-channel profit curves) finds the global optimum up to
  the grid step even for S-shaped curves; the best ``n_polish`` subsets are then refined
  with SLSQP from the grid solution.
* profit vs reach front: epsilon-constraint per subset, maximising profit subject to
  reach >= eps for eps between the subset's best-profit reach and its maximum reach
  (SLSQP, warm-started along eps); the union over subsets is filtered to the
  non-dominated set.

Both are meant for small instances (up to about 10 channels for the profit optimum,
4-6 channels for the front), to check NSGA-II in tests, benchmarks and the notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from pymoo.indicators.hv import HV
from scipy.optimize import minimize as sp_minimize

from .curves import ResponseCurve
from .plan import (
    SENSE,
    ChannelPlanError,
    PlanConstraints,
    PlanModel,
    build_plan_model,
    non_dominated,
    plans_table,
)


def _subsets(model: PlanModel) -> Iterator[np.ndarray]:
    """Every selection mask the count, force and minimum-spend constraints allow."""
    forced = np.flatnonzero(model.force_in)
    free = [i for i in range(model.n) if not model.force_in[i] and not model.force_out[i]]
    floor = np.where(np.isnan(model.fixed), model.lo, model.fixed)
    for k in range(max(model.min_channels - len(forced), 0), model.max_channels - len(forced) + 1):
        for extra in combinations(free, k):
            z = np.zeros(model.n, dtype=bool)
            z[forced] = True
            z[list(extra)] = True
            if (
                z.sum() >= max(model.min_channels, 1)
                and floor[z].sum() <= model.total_budget + 1e-9
            ):
                yield z


def _channel_profit(model: PlanModel, i: int, s: np.ndarray) -> np.ndarray:
    spend = np.zeros((len(s), model.n))
    spend[:, i] = s
    return model.net_share[i] * model.revenue(spend)[:, i] - s - model.fixed_cost[i]


def _grid_optimum(model: PlanModel, z: np.ndarray, grid: int) -> tuple[np.ndarray, float]:
    """Best spends for one subset on a budget grid (max-plus dynamic programme)."""
    fixed = ~np.isnan(model.fixed)
    spend = np.where(z & fixed, np.nan_to_num(model.fixed), 0.0)
    free = np.flatnonzero(z & ~fixed)
    budget = model.total_budget - spend.sum()
    h = budget / grid if budget > 0 else 1.0
    js = np.arange(grid + 1)
    diff = js[:, None] - js[None, :]
    valid_pair = diff >= 0
    value = np.where(js == 0, 0.0, -np.inf)
    choices = []
    for i in free:
        j0 = int(np.ceil(model.lo[i] / h - 1e-9))
        ok = (js >= j0) & (js * h <= model.hi[i] + 1e-9)
        if not ok.any() and j0 <= grid:
            ok[j0] = True
        f = np.where(ok, _channel_profit(model, i, js * h), -np.inf)
        cand = np.where(valid_pair, value[np.where(valid_pair, diff, 0)] + f[None, :], -np.inf)
        best_j = cand.argmax(axis=1)
        value = cand[js, best_j]
        choices.append(best_j)
    k = int(np.argmax(value))
    total = float(value[k])
    for i, best_j in zip(free[::-1], choices[::-1], strict=True):
        j = int(best_j[k])
        spend[i] = max(j * h, model.lo[i]) if j * h <= model.hi[i] + 1e-9 else model.lo[i]
        k -= j
    return spend, total


def _slsqp(
    model: PlanModel,
    z: np.ndarray,
    start: np.ndarray,
    objective: Callable[[np.ndarray], float],
    extra: list[dict] | None = None,
) -> np.ndarray | None:
    """Maximise ``objective(spend)`` over the free spends of subset z (None if infeasible)."""
    fixed = ~np.isnan(model.fixed)
    free = np.flatnonzero(z & ~fixed)
    if len(free) == 0:
        return start
    base = start.copy()
    budget = model.total_budget - base[z & fixed].sum()
    scale = max(budget, 1e-9)

    def full(x: np.ndarray) -> np.ndarray:
        s = base.copy()
        s[free] = x * scale
        return s

    cons = [{"type": "ineq", "fun": lambda x: budget / scale - x.sum()}]
    for c in extra or []:
        cons.append({"type": "ineq", "fun": (lambda x, g=c["fun"]: g(full(x)))})
    bounds = [(model.lo[i] / scale, min(model.hi[i], budget) / scale) for i in free]
    lower, upper = np.array(bounds).T
    x0 = np.clip(start[free] / scale, lower, upper)
    f_scale = max(abs(objective(full(x0))), 1e-9)  # SLSQP behaves with O(1) values
    res = sp_minimize(
        lambda x: -objective(full(x)) / f_scale,
        x0,
        method="SLSQP",
        bounds=bounds,
        constraints=cons,
        options={"maxiter": 200, "ftol": 1e-10},
    )
    x = np.clip(res.x, lower, upper)
    over = x.sum() - budget / scale
    if over > 1e-6:
        return None
    if over > 0:  # within solver tolerance: take the excess off proportionally above floor
        x = lower + (x - lower) * (budget / scale - lower.sum()) / max((x - lower).sum(), 1e-300)
    s = full(x)
    if extra and any(c["fun"](s) < -1e-6 for c in extra):
        return None
    return s


def _objective(model: PlanModel, z: np.ndarray, name: str) -> Callable[[np.ndarray], float]:
    zf = z.astype(float)
    return lambda s: float(model.objectives(zf, s)[name])


def exact_best_plan(
    curves: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    constraints: PlanConstraints,
    objective: str = "profit",
    reach: pd.DataFrame | None = None,
    target_segments: Mapping[str, float] | None = None,
    gross_margin: float | Mapping[str, float] = 1.0,
    grid: int = 400,
    n_polish: int = 10,
) -> pd.Series:
    """The best-profit plan by enumerating channel subsets.

    Args:
        curves, channels, constraints, gross_margin: as for ``optimise_channel_plan``.
        objective: only "profit" (weekly profit after commission, fixed cost and spend).
        reach, target_segments: optional, only to report the plan's reach.
        grid: budget grid steps of the dynamic programme (step = budget / grid).
        n_polish: best subsets refined with SLSQP.

    Returns:
        The plan as a row in the front layout (profit, reach, risk, revenue, spend,
        n_channels, channels, budget_<c>, selected_<c>) plus n_subsets (subsets enumerated).
    """
    if objective != "profit":
        raise ChannelPlanError(
            f"exact_best_plan supports objective='profit' only, got {objective!r}"
        )
    model = build_plan_model(curves, channels, reach, constraints, target_segments, gross_margin)
    results = [(z, *_grid_optimum(model, z, grid)) for z in _subsets(model)]
    if not results:
        raise ChannelPlanError("no channel subset satisfies the constraints")
    results.sort(key=lambda r: -r[2])
    best_s, best_z, best_v = None, None, -np.inf
    for z, s, _ in results[:n_polish]:
        f = _objective(model, z, "profit")
        for cand in (s, _slsqp(model, z, s, f)):
            if cand is not None and f(cand) > best_v:
                best_s, best_z, best_v = cand, z, f(cand)
    row = plans_table(model, best_z, best_s).iloc[0].copy()
    row["n_subsets"] = len(results)
    return row


def exact_front(
    curves: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    reach: pd.DataFrame,
    constraints: PlanConstraints,
    target_segments: Mapping[str, float],
    n_eps: int = 25,
    gross_margin: float | Mapping[str, float] = 1.0,
    grid: int = 200,
) -> pd.DataFrame:
    """The profit vs reach Pareto front by epsilon-constraint over every channel subset.

    Args:
        curves, channels, reach, constraints, target_segments, gross_margin: as for
            ``optimise_channel_plan``.
        n_eps: reach levels per subset between its best-profit and its maximum reach.
        grid: budget grid of the per-subset best-profit start.

    Returns:
        Non-dominated plans on (profit, reach) in the front layout, sorted by profit
        (highest first). Meant for small instances (4-6 channels).
    """
    model = build_plan_model(curves, channels, reach, constraints, target_segments, gross_margin)
    zs, ss = [], []
    for z in _subsets(model):
        profit_f = _objective(model, z, "profit")
        reach_f = _objective(model, z, "reach")
        s0, _ = _grid_optimum(model, z, grid)
        polished = _slsqp(model, z, s0, profit_f)
        if polished is not None and profit_f(polished) > profit_f(s0):
            s0 = polished
        s_max = _slsqp(model, z, _fill(model, z, s0), reach_f)
        points = [s0] + ([s_max] if s_max is not None else [])
        if s_max is not None and reach_f(s_max) > reach_f(s0) + 1e-9:
            prev = s0
            for eps in np.linspace(reach_f(s0), reach_f(s_max), n_eps)[1:-1]:
                cons = [{"fun": lambda s, e=eps, r=reach_f: 100.0 * (r(s) - e)}]
                start = prev if reach_f(prev) >= eps else s_max
                s = _slsqp(model, z, start, profit_f, cons)
                if s is not None:
                    points.append(s)
                    prev = s
        zs.extend([z] * len(points))
        ss.extend(points)
    table = plans_table(model, np.array(zs), np.array(ss))
    front = non_dominated(table, ("profit", "reach"))
    front = front.sort_values("profit", ascending=False, kind="stable").reset_index(drop=True)
    front["plan"] = np.arange(len(front))
    return front


def _fill(model: PlanModel, z: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Spread the unused budget over the free channels of z, up to their caps."""
    s = s.copy()
    free = z & np.isnan(model.fixed)
    room = np.where(free, model.hi - s, 0.0)
    left = model.total_budget - s[z].sum()
    if room.sum() > 0 and left > 0:
        s += room * min(1.0, left / room.sum())
    return s


def hypervolume_ratio(
    front: pd.DataFrame,
    exact: pd.DataFrame,
    objectives: Sequence[str] = ("profit", "reach"),
    ref_point: Sequence[float] | None = None,
    margin: float = 0.1,
) -> dict[str, object]:
    """Hypervolume of ``front`` relative to the ``exact`` front (pymoo ``HV``).

    Objectives are put in minimisation form (profit and reach negated). The reference
    point, unless given (in the objectives' own units, e.g. (profit, reach)), is the exact
    front's worst value per objective moved out by ``margin`` times its range.

    The exact front is a finite set of points (a staircase under the continuous front), so
    a dense NSGA-II front can score a ratio a little above 1; ``ratio_union`` (hv over the
    hypervolume of both fronts together) is at most 1 and drops wherever NSGA-II misses a
    part of the exact front.

    Returns:
        dict with hv, hv_exact, ratio (hv / hv_exact), ratio_union and ref_point (own
        units).
    """
    sense = np.array([SENSE[k] for k in objectives])
    F = np.column_stack([front[k].to_numpy(float) for k in objectives]) * sense
    E = np.column_stack([exact[k].to_numpy(float) for k in objectives]) * sense
    if ref_point is None:
        span = E.max(axis=0) - E.min(axis=0)
        ref = E.max(axis=0) + margin * np.where(span > 0, span, 1.0)
    else:
        ref = np.asarray(ref_point, dtype=float) * sense
    indicator = HV(ref_point=ref)
    hv, hv_exact = float(indicator(F)), float(indicator(E))
    hv_union = float(indicator(np.vstack([F, E])))
    return {
        "hv": hv,
        "hv_exact": hv_exact,
        "ratio": hv / hv_exact if hv_exact > 0 else np.nan,
        "ratio_union": hv / hv_union if hv_union > 0 else np.nan,
        "ref_point": tuple(float(v) for v in ref * sense),
    }
