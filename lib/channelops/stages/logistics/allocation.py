"""Warehouse-to-demand allocation as a transportation problem, solved to optimality.

Warehouses ``i`` have a daily capacity ``s_i`` (orders/day); demand points ``j`` (a region,
or a region and a sales channel) need ``d_j`` orders/day; shipping one order from ``i`` to
``j`` costs ``c_ij``. The linear programme

    minimise    sum_ij c_ij x_ij  (+ penalty * sum_j u_j when unmet demand is allowed)
    subject to  sum_j x_ij <= s_i          for every warehouse   (capacity)
                sum_i x_ij (+ u_j) = d_j   for every demand point (demand met)
                x_ij >= 0, u_j >= 0

is solved with HiGHS through ``scipy.optimize.linprog(method="highs")``. Its duals give the
shadow price of each warehouse's capacity: how much the total daily cost falls per extra
order/day of capacity (0 when the warehouse has spare capacity).

Channel coordination: when demand is keyed by (region, channel), the pooled problem lets
every channel draw on every warehouse; :func:`allocation_by_channel_own_warehouse` forbids
the lanes from a channel to the warehouses it does not own, and
:func:`pooling_comparison` puts the two side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

#: Mean Earth radius in km (IUGG), used by :func:`haversine_km`.
EARTH_RADIUS_KM = 6371.0088

_TOL = 1e-9

#: Columns of the ``allocation`` table.
ALLOCATION_COLUMNS = [
    "policy",
    "warehouse",
    "region",
    "channel",
    "flow",
    "unit_cost",
    "cost",
    "shadow_price",
]


@dataclass(frozen=True)
class TransportResult:
    """An optimal allocation.

    Attributes:
        flows: long form, one row per lane with a positive flow: warehouse, region,
            (channel, when demand is keyed by region and channel), flow (orders/day),
            unit_cost (cost per order), cost (flow x unit_cost, per day).
        total_cost: the optimal objective per day: shipping cost plus the penalty on any
            unmet demand.
        shipping_cost: the shipping part of total_cost.
        shadow_prices: per warehouse, the fall in total_cost per extra order/day of capacity
            (>= 0; 0 for a warehouse with spare capacity). Valid for small changes.
        demand_prices: per demand key, the rise in total_cost per extra order/day demanded.
        unmet: per demand key, orders/day left unserved (all 0 unless a penalty allowed it).
        utilisation: per warehouse, shipped / capacity (NaN for zero capacity).
        status: the solver's status text ("optimal" when solved).
    """

    flows: pd.DataFrame
    total_cost: float
    shipping_cost: float
    shadow_prices: pd.Series
    demand_prices: pd.Series
    unmet: pd.Series
    utilisation: pd.Series
    status: str


# --------------------------------------------------------------------------- shipping cost


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance between points on a spherical Earth.

    Args:
        lat1, lon1, lat2, lon2: latitudes and longitudes in decimal degrees (scalars or
            arrays that broadcast together).

    Returns:
        Distance in km (float or ndarray), with Earth radius :data:`EARTH_RADIUS_KM`.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def shipping_cost_matrix(
    warehouses: pd.DataFrame,
    regions: pd.DataFrame,
    weight_kg: float,
    cost_per_km_kg: float,
    base_cost: float,
    *,
    warehouse_col: str = "warehouse_id",
    region_col: str = "city",
) -> pd.DataFrame:
    """Cost of shipping one order from each warehouse to each region.

    ``cost = base_cost + cost_per_km_kg * weight_kg * haversine_km(warehouse, region)``

    Args:
        warehouses: one row per warehouse with ``warehouse_col``, lat, lon (degrees).
        regions: one row per region with ``region_col``, lat, lon (degrees).
        weight_kg: average shipped weight of one order (kg).
        cost_per_km_kg: carrier rate (currency per km per kg).
        base_cost: fixed cost per order (currency), e.g. handling and the last mile.
        warehouse_col: column naming the warehouse.
        region_col: column naming the region.

    Returns:
        DataFrame indexed by warehouse (rows) and region (columns), currency per order.
    """
    for frame, key, what in (
        (warehouses, warehouse_col, "warehouses"),
        (regions, region_col, "regions"),
    ):
        missing = {key, "lat", "lon"} - set(frame.columns)
        if missing:
            raise ValueError(f"{what} is missing column(s) {sorted(missing)}")
        if frame[key].duplicated().any():
            raise ValueError(f"{what}.{key} has duplicate values")
    if min(weight_kg, cost_per_km_kg, base_cost) < 0:
        raise ValueError("weight_kg, cost_per_km_kg and base_cost must be non-negative")
    km = haversine_km(
        warehouses["lat"].to_numpy(float)[:, None],
        warehouses["lon"].to_numpy(float)[:, None],
        regions["lat"].to_numpy(float)[None, :],
        regions["lon"].to_numpy(float)[None, :],
    )
    return pd.DataFrame(
        base_cost + cost_per_km_kg * weight_kg * km,
        index=pd.Index(warehouses[warehouse_col], name="warehouse"),
        columns=pd.Index(regions[region_col], name="region"),
    )


# --------------------------------------------------------------------------- the LP


def _validate(supply: pd.Series, demand: pd.Series, cost: pd.DataFrame) -> np.ndarray:
    """Check the inputs; return the (warehouse x demand key) unit-cost array (NaN = no lane)."""
    for s, what in ((supply, "supply"), (demand, "demand")):
        if not isinstance(s, pd.Series):
            raise TypeError(f"{what} must be a pandas Series")
        if s.index.has_duplicates:
            raise ValueError(f"{what} has duplicate keys: {list(s.index[s.index.duplicated()])}")
        values = s.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{what} must be finite and non-negative")
    if not isinstance(cost, pd.DataFrame):
        raise TypeError("cost must be a DataFrame (warehouses x regions)")
    missing_w = [w for w in supply.index if w not in cost.index]
    if missing_w:
        raise ValueError(f"cost has no row for warehouse(s) {missing_w}")
    rows = cost.loc[list(supply.index)]
    if isinstance(demand.index, pd.MultiIndex) and not isinstance(cost.columns, pd.MultiIndex):
        # Costs per region serve every channel in that region alike.
        regions = demand.index.get_level_values(0)
        missing_r = sorted(set(regions) - set(cost.columns), key=str)
        if missing_r:
            raise ValueError(f"cost has no column for region(s) {missing_r}")
        unit = rows[list(regions)].to_numpy(dtype=float)
    else:
        missing_r = [k for k in demand.index if k not in cost.columns]
        if missing_r:
            raise ValueError(f"cost has no column for demand key(s) {missing_r}")
        unit = rows[list(demand.index)].to_numpy(dtype=float)
    if np.any(np.isinf(unit)):
        raise ValueError("cost contains infinite values; use NaN to mark a lane as unavailable")
    return unit


def solve_transportation(
    supply: pd.Series,
    demand: pd.Series,
    cost: pd.DataFrame,
    *,
    unmet_penalty: float | None = None,
) -> TransportResult:
    """Allocate demand to warehouses at minimum shipping cost.

    Args:
        supply: warehouse -> capacity (orders/day).
        demand: region -> orders/day, or (region, channel) MultiIndex -> orders/day.
        cost: unit shipping cost (currency per order), warehouses as rows; columns are
            regions (shared by every channel in the region) or, for channel-specific costs,
            the same (region, channel) keys as ``demand``. NaN marks a lane that may not be
            used.
        unmet_penalty: currency per order/day of demand left unserved. None (default)
            requires all demand to be met and raises when it cannot be.

    Returns:
        A :class:`TransportResult` (flows, total_cost, shadow_prices, ...).

    Raises:
        ValueError: bad input, or (without ``unmet_penalty``) demand that capacity and the
            available lanes cannot meet.
    """
    unit = _validate(supply, demand, cost)
    s = supply.to_numpy(dtype=float)
    d = demand.to_numpy(dtype=float)
    _check_can_meet(s, d, unit, demand.index, unmet_penalty)
    c, bounds, a_ub, a_eq = _lp_arrays(unit, unmet_penalty)
    res = linprog(c, A_ub=a_ub, b_ub=s, A_eq=a_eq, b_eq=d, bounds=bounds, method="highs")
    if res.status == 2:
        raise ValueError(
            "the allocation is infeasible: the warehouses allowed to serve some "
            "demand lack the capacity; pass unmet_penalty= or open more lanes"
        )
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the allocation: {res.message}")
    return _transport_result(res, supply, demand, unit, unmet_penalty is not None)


def _check_can_meet(
    s: np.ndarray, d: np.ndarray, unit: np.ndarray, keys: pd.Index, unmet_penalty: float | None
) -> None:
    """Without a penalty, raise when capacity or the open lanes cannot meet the demand;
    with one, raise when the penalty is not a non-negative number."""
    if unmet_penalty is None:
        if d.sum() > s.sum() + _TOL:
            raise ValueError(
                f"demand {d.sum():g} orders/day exceeds total capacity {s.sum():g}; "
                "add capacity, or pass unmet_penalty= to allow unmet demand at a cost"
            )
        lane_ok = ~np.isnan(unit)
        stranded = [keys[j] for j in range(len(d)) if d[j] > 0 and not lane_ok[:, j].any()]
        if stranded:
            raise ValueError(f"no warehouse may serve demand {stranded} (all lanes are NaN)")
    elif not np.isfinite(unmet_penalty) or unmet_penalty < 0:
        raise ValueError(f"unmet_penalty must be a non-negative number, got {unmet_penalty}")


def _lp_arrays(
    unit: np.ndarray, unmet_penalty: float | None
) -> tuple[np.ndarray, list[tuple[float, float | None]], np.ndarray, np.ndarray]:
    """The LP in linprog's form: objective c, variable bounds, A_ub (one capacity row per
    warehouse) and A_eq (one demand row per key).

    Variables: x_ij row-major (i = warehouse, j = demand key), then u_j when a penalty
    allows unmet demand. A NaN unit cost closes its lane (upper bound 0).
    """
    m, n = unit.shape
    lane_ok = ~np.isnan(unit)
    n_x = m * n
    n_u = n if unmet_penalty is not None else 0
    c = np.concatenate([np.where(lane_ok, unit, 0.0).ravel(), np.full(n_u, unmet_penalty or 0.0)])
    bounds = [(0.0, None if ok else 0.0) for ok in lane_ok.ravel()] + [(0.0, None)] * n_u
    a_ub = np.zeros((m, n_x + n_u))
    for i in range(m):
        a_ub[i, i * n : (i + 1) * n] = 1.0
    a_eq = np.zeros((n, n_x + n_u))
    for j in range(n):
        a_eq[j, j:n_x:n] = 1.0
        if n_u:
            a_eq[j, n_x + j] = 1.0
    return c, bounds, a_ub, a_eq


def _transport_result(
    res, supply: pd.Series, demand: pd.Series, unit: np.ndarray, with_unmet: bool
) -> TransportResult:
    """A :class:`TransportResult` from linprog's optimal solution of :func:`_lp_arrays`."""
    m, n = unit.shape
    n_x = m * n
    s = supply.to_numpy(dtype=float)
    x = np.clip(res.x[:n_x].reshape(m, n), 0.0, None)
    u = np.clip(res.x[n_x:], 0.0, None) if with_unmet else np.zeros(n)
    x[x < _TOL] = 0.0
    u[u < _TOL] = 0.0
    flows = _flows_frame(supply.index, demand.index, x, unit)
    shipping = float(flows["cost"].sum())
    shipped = x.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(s > 0, shipped / s, np.nan)
    return TransportResult(
        flows=flows,
        total_cost=float(res.fun),
        shipping_cost=shipping,
        # HiGHS marginals are d(objective)/d(b); capacity rows give <= 0, so negate.
        shadow_prices=pd.Series(
            -res.ineqlin.marginals + 0.0, index=supply.index, name="shadow_price"
        ),
        demand_prices=pd.Series(res.eqlin.marginals + 0.0, index=demand.index, name="demand_price"),
        unmet=pd.Series(u, index=demand.index, name="unmet"),
        utilisation=pd.Series(util, index=supply.index, name="utilisation"),
        status="optimal",
    )


def _flows_frame(
    warehouses: pd.Index, keys: pd.Index, x: np.ndarray, unit: np.ndarray
) -> pd.DataFrame:
    """Long-form table of the positive flows."""
    ii, jj = np.nonzero(x)
    frame = pd.DataFrame({"warehouse": np.asarray(warehouses)[ii]})
    if isinstance(keys, pd.MultiIndex):
        names = [nm or f"level_{k}" for k, nm in enumerate(keys.names)]
        names[0] = "region"
        if len(names) > 1 and keys.names[1] is None:
            names[1] = "channel"
        for level, name in enumerate(names):
            frame[name] = np.asarray(keys.get_level_values(level))[jj]
    else:
        frame["region"] = np.asarray(keys)[jj]
    frame["flow"] = x[ii, jj]
    frame["unit_cost"] = unit[ii, jj]
    frame["cost"] = frame["flow"] * frame["unit_cost"]
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- channels


def allocation_by_channel_own_warehouse(
    supply: pd.Series,
    demand: pd.Series,
    cost: pd.DataFrame,
    channel_warehouses: Mapping[str, Sequence[str]],
    *,
    unmet_penalty: float | None = None,
) -> TransportResult:
    """Allocate when each channel may only ship from its own warehouses.

    Args:
        supply: warehouse -> capacity (orders/day). A warehouse listed for two channels is
            shared by them.
        demand: (region, channel) MultiIndex -> orders/day.
        cost: unit shipping cost, warehouses x regions (or x (region, channel)).
        channel_warehouses: channel -> the warehouses it owns; every channel in ``demand``
            must appear.
        unmet_penalty: as in :func:`solve_transportation`.

    Returns:
        The :class:`TransportResult` of the restricted problem.
    """
    if not isinstance(demand.index, pd.MultiIndex) or demand.index.nlevels != 2:
        raise ValueError("demand must be keyed by a (region, channel) MultiIndex")
    channels = demand.index.get_level_values(1)
    missing = sorted(set(channels) - set(channel_warehouses), key=str)
    if missing:
        raise ValueError(f"channel_warehouses has no entry for channel(s) {missing}")
    unknown = sorted(
        {w for ws in channel_warehouses.values() for w in ws} - set(supply.index), key=str
    )
    if unknown:
        raise ValueError(f"channel_warehouses names unknown warehouse(s) {unknown}")
    unit = pd.DataFrame(_validate(supply, demand, cost), index=supply.index, columns=demand.index)
    for key in demand.index:
        allowed = set(channel_warehouses[key[1]])
        unit.loc[[w for w in supply.index if w not in allowed], key] = np.nan
    return solve_transportation(supply, demand, unit, unmet_penalty=unmet_penalty)


def pooling_comparison(
    supply: pd.Series,
    demand: pd.Series,
    cost: pd.DataFrame,
    channel_warehouses: Mapping[str, Sequence[str]],
    *,
    unmet_penalty: float | None = None,
) -> pd.DataFrame:
    """Pooled allocation (channels share every warehouse) against separate warehouses.

    Args:
        supply, demand, cost, channel_warehouses, unmet_penalty: as in
            :func:`allocation_by_channel_own_warehouse`.

    Returns:
        DataFrame indexed by policy (``pooled``, ``separate``) with total_cost,
        shipping_cost, unmet (orders/day) and cost_per_order (shipping cost per order
        shipped); pooled is never dearer than separate.
    """
    results = {
        "pooled": solve_transportation(supply, demand, cost, unmet_penalty=unmet_penalty),
        "separate": allocation_by_channel_own_warehouse(
            supply, demand, cost, channel_warehouses, unmet_penalty=unmet_penalty
        ),
    }
    rows = []
    for policy, r in results.items():
        shipped = float(r.flows["flow"].sum())
        rows.append(
            {
                "policy": policy,
                "total_cost": r.total_cost,
                "shipping_cost": r.shipping_cost,
                "unmet": float(r.unmet.sum()),
                "cost_per_order": r.shipping_cost / shipped if shipped > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("policy")


def allocation_table(results: Mapping[str, TransportResult]) -> pd.DataFrame:
    """The ``allocation`` table: the flows of several allocations, one after the other.

    Args:
        results: policy name -> its :class:`TransportResult` (demand keyed by region and
            channel), e.g. ``{"pooled": ..., "own_warehouse": ...}``.

    Returns:
        DataFrame with :data:`ALLOCATION_COLUMNS`: policy, warehouse, region, channel,
        flow (orders/day), unit_cost (currency per order), cost (currency per day) and
        shadow_price (the warehouse's capacity shadow price under that policy, currency per
        day per extra order/day of capacity).

    Raises:
        ValueError: no results, or flows without a channel column.
    """
    if not results:
        raise ValueError("no allocations to put in the table")
    for name, r in results.items():
        if "channel" not in r.flows.columns:
            raise ValueError(
                f"the {name!r} allocation has no channel: key demand by (region, channel)"
            )
    return pd.concat(
        [
            r.flows.assign(policy=name, shadow_price=r.flows["warehouse"].map(r.shadow_prices))
            for name, r in results.items()
        ],
        ignore_index=True,
    )[ALLOCATION_COLUMNS]


def capacity_use(supply: pd.Series, pooled: TransportResult, own: TransportResult) -> pd.DataFrame:
    """Each warehouse's capacity, use and shadow price under the two layouts.

    Args:
        supply: warehouse -> capacity, orders/day.
        pooled: the pooled allocation (:func:`solve_transportation`).
        own: the own-warehouse allocation (:func:`allocation_by_channel_own_warehouse`).

    Returns:
        DataFrame indexed by warehouse: capacity (orders/day), pooled_use and own_use
        (shipped / capacity), pooled_shadow_price and own_shadow_price (currency per day
        per extra order/day of capacity).

    Raises:
        ValueError: a result names a warehouse that ``supply`` does not have.
    """
    for r in (pooled, own):
        extra = sorted(set(r.utilisation.index) - set(supply.index), key=str)
        if extra:
            raise ValueError(f"allocation has warehouse(s) {extra} not in supply")
    return pd.DataFrame(
        {
            "capacity": supply,
            "pooled_use": pooled.utilisation,
            "pooled_shadow_price": pooled.shadow_prices,
            "own_use": own.utilisation,
            "own_shadow_price": own.shadow_prices,
        }
    )
