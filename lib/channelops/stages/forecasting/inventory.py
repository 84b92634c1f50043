"""Inventory policy from forecasts: safety stock, reorder point, order quantity.

Continuous review, (s, Q) policy. With daily demand mean ``mu`` and standard deviation
``sigma`` (units/day), lead time ``L`` days and service-level factor ``z`` (the normal
quantile of the target cycle service level):

* safety stock  ``SS = z * sigma * sqrt(L)``
* reorder point ``ROP = mu * L + SS``
* order quantity ``Q = sqrt(2 * D * K / h)`` (economic order quantity, D annual demand,
  K cost per order, h holding cost per unit and year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = [
    "safety_stock",
    "reorder_point",
    "economic_order_quantity",
    "inventory_policy",
    "normal_loss",
    "fill_rate_safety_factor",
    "lead_time_error",
    "fill_rate_policy",
    "simulate_policy",
    "simulation_summary",
    "naive_reorder_point",
    "match_fill_rate",
    "pooled_target_safety_factors",
    "policy_simulation",
    "tradeoff_curve",
    "backtest_matrices",
    "split_by_warehouse",
    "STOCK_KEYS",
    "stock_layouts",
    "compare_stock_layouts",
    "layout_tradeoff_curves",
    "INVENTORY_POLICY_COLUMNS",
    "POLICY_SIMULATION_COLUMNS",
    "unit_costs",
    "empty_inventory_policy",
    "empty_policy_simulation",
    "chosen_policy",
    "policy_simulation_table",
]

#: Columns of the ``inventory_policy`` table (the per-warehouse layout; the pooled one,
#: written when there are no shipments, has no warehouse_id).
INVENTORY_POLICY_COLUMNS = (
    "warehouse_id",
    "sku",
    "mean_daily",
    "forecast_daily",
    "sigma_daily",
    "sigma_lead_time",
    "unit_cost",
    "order_quantity",
    "safety_factor",
    "safety_stock",
    "reorder_point",
    "expected_fill_rate",
    "average_stock",
    "holding_cost_per_year",
    "simulated_fill_rate",
    "simulated_average_stock",
)
#: Columns of the ``policy_simulation`` table: the layouts' summaries, then the trade-off
#: curve's rows (``curve`` True).
POLICY_SIMULATION_COLUMNS = (
    "policy",
    "target_fill_rate",
    "knob",
    "fill_rate",
    "stockout_days",
    "average_stock_units",
    "average_stock_value",
    "holding_cost",
    "turnover_per_year",
    "orders",
    "stock",
    "level",
    "curve",
)
_TEXT_COLUMNS = ("warehouse_id", "sku", "policy", "stock", "level", "curve")


def safety_stock(
    sigma_daily: float | np.ndarray, lead_time_days: float, service_level: float
) -> np.ndarray:
    """Safety stock in units: z(service_level) * sigma_daily * sqrt(lead_time_days)."""
    if not 0 < service_level < 1:
        raise ValueError(f"service_level must be in (0, 1), got {service_level}")
    if lead_time_days < 0:
        raise ValueError(f"lead_time_days must be >= 0, got {lead_time_days}")
    return norm.ppf(service_level) * np.asarray(sigma_daily, float) * np.sqrt(lead_time_days)


def reorder_point(
    mean_daily: float | np.ndarray,
    sigma_daily: float | np.ndarray,
    lead_time_days: float,
    service_level: float,
) -> np.ndarray:
    """Reorder point in units: expected lead-time demand plus safety stock."""
    return np.asarray(mean_daily, float) * lead_time_days + safety_stock(
        sigma_daily, lead_time_days, service_level
    )


def economic_order_quantity(
    annual_demand: float | np.ndarray,
    order_cost: float,
    holding_cost_per_unit_year: float | np.ndarray,
) -> np.ndarray:
    """EOQ in units; zero where demand is zero."""
    h = np.asarray(holding_cost_per_unit_year, float)
    return np.sqrt(2 * np.asarray(annual_demand, float) * order_cost / np.where(h > 0, h, np.nan))


def inventory_policy(
    demand_stats: pd.DataFrame,
    lead_time_days: float,
    service_level: float,
    order_cost: float,
    holding_rate: float,
) -> pd.DataFrame:
    """Policy per row of ``demand_stats`` (columns mean_daily, sigma_daily, unit_cost).

    Returns the input plus safety_stock, reorder_point, order_quantity (units) and
    holding_cost_per_year (base currency) of the average stock SS + Q/2.
    """
    out = demand_stats.copy()
    out["safety_stock"] = safety_stock(out["sigma_daily"], lead_time_days, service_level)
    out["reorder_point"] = reorder_point(
        out["mean_daily"], out["sigma_daily"], lead_time_days, service_level
    )
    h = out["unit_cost"] * holding_rate
    out["order_quantity"] = np.nan_to_num(
        economic_order_quantity(out["mean_daily"] * 365, order_cost, h)
    )
    out["holding_cost_per_year"] = (out["safety_stock"] + out["order_quantity"] / 2) * h
    return out


# --------------------------------------------------------------------------- fill-rate policy


def normal_loss(z: float | np.ndarray) -> np.ndarray:
    """Standard normal loss function G(z) = phi(z) - z * (1 - Phi(z)): expected shortage
    per unit of lead-time demand standard deviation when stock is z deviations above mean."""
    z = np.asarray(z, float)
    return norm.pdf(z) - z * norm.sf(z)


def fill_rate_safety_factor(
    fill_rate: float, order_quantity: float | np.ndarray, sigma_lead_time: float | np.ndarray
) -> np.ndarray:
    """Safety factor z with expected fill rate ``fill_rate`` for an (s, Q) policy.

    Solves sigma_L * G(z) = (1 - fill_rate) * Q (Silver, Pyke & Peterson); z is floored at
    -3 and capped at 5. Where sigma_L is zero the factor is 0.
    """
    if not 0 < fill_rate < 1:
        raise ValueError(f"fill_rate must be in (0, 1), got {fill_rate}")
    q = np.asarray(order_quantity, float)
    s = np.asarray(sigma_lead_time, float)
    target = np.where(s > 0, (1 - fill_rate) * q / np.where(s > 0, s, 1.0), np.inf)
    grid = np.linspace(-3, 5, 4001)
    g = normal_loss(grid)  # decreasing in z
    z = np.interp(target, g[::-1], grid[::-1], left=5.0, right=-3.0)
    return np.where(s > 0, z, 0.0)


def lead_time_error(
    bt: pd.DataFrame, lead_time_days: int, by: list[str] | tuple[str, ...] = ("sku",)
) -> pd.DataFrame:
    """Forecast error over the lead time, per group, from backtest rows.

    Daily actual and forecast are summed to ``by``; the residuals' rolling sums over
    ``lead_time_days`` within each backtest window give the lead-time error.

    Args:
        bt: backtest rows of one model (channel_id, sku, window, date, actual, forecast).

    Returns:
        ``by`` columns plus mean_daily (actual units/day), forecast_daily, sigma_daily
        (std of daily errors) and sigma_lead_time (std of lead-time error sums).
    """
    by = list(by)
    d = bt.groupby(by + ["window", "date"], sort=True)[["actual", "forecast"]].sum().reset_index()
    d["err"] = d["actual"] - d["forecast"]
    roll = (
        d.groupby(by + ["window"], sort=False)["err"]
        .rolling(max(int(lead_time_days), 1), min_periods=max(int(lead_time_days), 1))
        .sum()
        .reset_index(level=list(range(len(by) + 1)))
    )
    out = d.groupby(by).agg(
        mean_daily=("actual", "mean"),
        forecast_daily=("forecast", "mean"),
        sigma_daily=("err", "std"),
    )
    # root mean square of the lead-time sums per group (NaN sums skipped; NaN if none)
    sig = np.sqrt((roll["err"] ** 2).groupby([roll[c] for c in by]).mean())
    out["sigma_lead_time"] = sig.reindex(out.index)
    fallback = out["sigma_daily"] * np.sqrt(lead_time_days)
    out["sigma_lead_time"] = out["sigma_lead_time"].fillna(fallback).fillna(0.0)
    out["sigma_daily"] = out["sigma_daily"].fillna(0.0)
    return out.reset_index()


def fill_rate_policy(
    demand_stats: pd.DataFrame,
    lead_time_days: float,
    fill_rate: float,
    order_cost: float,
    holding_rate: float,
    min_order: float = 1.0,
) -> pd.DataFrame:
    """(s, Q) policy per row for a target fill rate.

    Args:
        demand_stats: forecast_daily (units/day), sigma_lead_time (units), unit_cost.

    Returns:
        the input plus order_quantity (EOQ, at least ``min_order``), safety_factor,
        safety_stock, reorder_point, expected_fill_rate, average_stock (SS + Q/2) and
        holding_cost_per_year (base currency).
    """
    out = demand_stats.copy()
    h = out["unit_cost"].to_numpy(float) * holding_rate
    q = np.nan_to_num(
        economic_order_quantity(out["forecast_daily"].to_numpy(float) * 365, order_cost, h)
    )
    q = np.maximum(np.ceil(q), min_order)
    s_l = out["sigma_lead_time"].to_numpy(float)
    z = fill_rate_safety_factor(fill_rate, q, s_l)
    out["order_quantity"] = q
    out["safety_factor"] = z
    out["safety_stock"] = z * s_l
    out["reorder_point"] = out["forecast_daily"] * lead_time_days + out["safety_stock"]
    out["expected_fill_rate"] = np.where(q > 0, 1 - s_l * normal_loss(z) / q, 1.0)
    out["average_stock"] = np.maximum(out["safety_stock"], 0) + q / 2
    out["holding_cost_per_year"] = out["average_stock"] * h
    return out


# --------------------------------------------------------------------------- simulation


def simulate_policy(
    demand: np.ndarray,
    reorder_point: np.ndarray,
    order_quantity: np.ndarray,
    lead_time_days: int,
    initial_stock: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Daily simulation of a continuous-review (s, nQ) policy with lost sales.

    Each day: arrivals due today are received, demand is served from stock (the shortfall is
    lost), then if the inventory position (on hand + on order) is at or below the day's
    reorder point, enough multiples of Q are ordered to lift it above; they arrive
    ``lead_time_days`` later. All items are simulated at once.

    Args:
        demand: (items, days) units demanded.
        reorder_point: (items,) or (items, days) reorder point per day.
        order_quantity: (items,) order size Q (> 0).
        initial_stock: (items,) on hand on day 0; reorder point + Q/2 when None.

    Returns:
        dict of per-item arrays: demand, served, lost, stockout_days, average_stock,
        orders, and the (items, days) on_hand matrix (end of day).
    """
    d = np.asarray(demand, float)
    n, t = d.shape
    rop = np.asarray(reorder_point, float)
    rop = np.repeat(rop[:, None], t, axis=1) if rop.ndim == 1 else rop
    q = np.maximum(np.asarray(order_quantity, float), 1e-9)
    lt = int(lead_time_days)
    on_hand = (
        rop[:, 0] + q / 2 if initial_stock is None else np.asarray(initial_stock, float).copy()
    )
    on_hand = np.maximum(on_hand, 0.0)
    pipeline = np.zeros((n, t + lt + 1))
    hist = np.zeros((n, t))
    served = np.zeros(n)
    stockout = np.zeros(n)
    orders = np.zeros(n)
    on_order = np.zeros(n)  # units ordered and not yet arrived: pipeline[:, day + 1:].sum(1)
    for day in range(t):
        arriving = pipeline[:, day]
        on_hand += arriving
        on_order -= arriving
        sold = np.minimum(on_hand, d[:, day])
        stockout += d[:, day] > on_hand + 1e-9
        on_hand -= sold
        served += sold
        position = on_hand + on_order
        short = rop[:, day] - position
        n_orders = np.where(short >= 0, np.floor(short / q) + 1, 0)
        if lt > 0:
            pipeline[:, day + lt] += n_orders * q
            on_order += n_orders * q
        else:
            on_hand += n_orders * q
        orders += n_orders > 0
        hist[:, day] = on_hand
    total = d.sum(axis=1)
    return {
        "demand": total,
        "served": served,
        "lost": total - served,
        "stockout_days": stockout,
        "average_stock": hist.mean(axis=1),
        "orders": orders,
        "on_hand": hist,
    }


def simulation_summary(
    sim: dict[str, np.ndarray], unit_cost: np.ndarray, holding_rate: float, days: int
) -> dict[str, float]:
    """Fill rate (served / demanded units), stock-out item-days, average stock (units and
    value), holding cost over the period and annualised inventory turnover (cost of goods
    sold / average stock value)."""
    c = np.asarray(unit_cost, float)
    stock_value = float((sim["average_stock"] * c).sum())
    cogs = float((sim["served"] * c).sum())
    demand = float(sim["demand"].sum())
    return {
        "fill_rate": float(sim["served"].sum() / demand) if demand > 0 else np.nan,
        "stockout_days": float(sim["stockout_days"].sum()),
        "average_stock_units": float(sim["average_stock"].sum()),
        "average_stock_value": stock_value,
        "holding_cost": stock_value * holding_rate * days / 365,
        "turnover_per_year": cogs / stock_value * 365 / days if stock_value > 0 else np.nan,
        "orders": float(sim["orders"].sum()),
    }


def naive_reorder_point(mean_daily: np.ndarray, cover_days: float) -> np.ndarray:
    """Days-of-cover rule: reorder when stock falls to ``cover_days`` of average demand."""
    return np.asarray(mean_daily, float) * cover_days


def match_fill_rate(
    simulate, target: float, low: float, high: float, iterations: int = 30
) -> tuple[float, dict[str, float]]:
    """Bisection on a policy knob so that ``simulate(knob)`` (a summary dict with fill_rate,
    increasing in the knob) reaches ``target``; returns the knob and its summary."""
    lo, hi = low, high
    res_hi = simulate(hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        res = simulate(mid)
        if res["fill_rate"] >= target:
            hi, res_hi = mid, res
        else:
            lo = mid
    return hi, res_hi


def backtest_matrices(
    bt: pd.DataFrame, lead_time_days: int, by: list[str] | tuple[str, ...] = ("sku",)
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Demand and forecast lead-time demand per group and day of the backtest period.

    Args:
        bt: backtest rows of the chosen model (channel_id, sku, date, actual, forecast).

    Returns:
        keys (the ``by`` columns, one row per group), demand (groups x days) and
        lead_demand (groups x days): the forecast summed over the next ``lead_time_days``
        days, the last forecast day repeated past the end of the period.
    """
    by = list(by)
    d = bt.groupby(by + ["date"], sort=True)[["actual", "forecast"]].sum()
    actual = d["actual"].unstack("date", fill_value=0.0)
    fcst = d["forecast"].unstack("date", fill_value=0.0).reindex_like(actual).fillna(0.0)
    a, f = actual.to_numpy(float), fcst.to_numpy(float)
    lt = max(int(lead_time_days), 1)
    padded = np.concatenate([f, np.repeat(f[:, -1:], lt, axis=1)], axis=1)
    c = np.concatenate([np.zeros((len(f), 1)), np.cumsum(padded, axis=1)], axis=1)
    lead = c[:, lt : lt + f.shape[1]] - c[:, : f.shape[1]]
    keys = actual.index.to_frame(index=False)
    return keys, a, lead


def policy_simulation(
    bt: pd.DataFrame,
    unit_cost: pd.Series,
    lead_time_days: int,
    fill_rate: float,
    order_cost: float,
    holding_rate: float,
    by: list[str] | tuple[str, ...] = ("sku",),
    naive_order_days: float | None = None,
    allocation: str = "cost",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the forecast-driven fill-rate policy over the backtest period and a naive
    days-of-cover policy tuned (by bisection) to the same fill rate.

    The forecast policy reorders at forecast lead-time demand + safety stock and orders the
    EOQ; the naive policy reorders at k days of average demand and orders the same EOQ
    (or ``naive_order_days`` of average demand), so the comparison isolates the reorder
    point. ``allocation="cost"`` meets the fill rate in aggregate at the least safety-stock
    value (:func:`pooled_target_safety_factors`); ``"item"`` gives every item the target.

    Args:
        bt: backtest rows of the chosen model.
        unit_cost: unit cost per sku (index sku).

    Returns:
        (policy per group, summary with one row per policy: fill_rate, stockout_days,
        average_stock_units, average_stock_value, holding_cost, turnover_per_year, orders).
    """
    by = list(by)
    inputs = _backtest_inputs(bt, unit_cost, lead_time_days, by)
    return _simulate_target(
        inputs, lead_time_days, fill_rate, order_cost, holding_rate, by, naive_order_days,
        allocation,
    )  # fmt: skip


def _backtest_inputs(
    bt: pd.DataFrame, unit_cost: pd.Series, lead_time_days: int, by: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """What every target's simulation shares: lead-time error statistics with unit cost per
    group, and the keys, demand and lead-time forecast matrices of the backtest."""
    inv_stats = lead_time_error(bt, lead_time_days, by)
    inv_stats["unit_cost"] = inv_stats["sku"].map(unit_cost).fillna(0.0).to_numpy()
    keys, dem, lead = backtest_matrices(bt, lead_time_days, by)
    return inv_stats, keys, dem, lead


def _simulate_target(
    inputs: tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray],
    lead_time_days: int,
    fill_rate: float,
    order_cost: float,
    holding_rate: float,
    by: list[str],
    naive_order_days: float | None,
    allocation: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`policy_simulation` for one target fill rate on prepared inputs."""
    inv_stats, keys, dem, lead = inputs
    pol = keys.merge(
        fill_rate_policy(inv_stats, lead_time_days, fill_rate, order_cost, holding_rate),
        on=by,
        how="left",
    )
    cost = pol["unit_cost"].to_numpy(float)
    if allocation == "cost":
        z = pooled_target_safety_factors(
            fill_rate,
            pol["forecast_daily"].to_numpy(float),
            pol["order_quantity"].to_numpy(float),
            pol["sigma_lead_time"].to_numpy(float),
            cost,
        )
        pol["safety_factor"] = z
        pol["safety_stock"] = z * pol["sigma_lead_time"]
        pol["reorder_point"] = pol["forecast_daily"] * lead_time_days + pol["safety_stock"]
        q = pol["order_quantity"].to_numpy(float)
        pol["expected_fill_rate"] = np.where(
            q > 0, 1 - pol["sigma_lead_time"] * normal_loss(z) / q, 1.0
        )
        pol["average_stock"] = np.maximum(pol["safety_stock"], 0) + q / 2
        pol["holding_cost_per_year"] = pol["average_stock"] * cost * holding_rate
    elif allocation != "item":
        raise ValueError(f"allocation must be 'cost' or 'item', got {allocation!r}")
    days = dem.shape[1]
    sim = simulate_policy(
        dem,
        lead + pol["safety_stock"].to_numpy()[:, None],
        pol["order_quantity"].to_numpy(),
        lead_time_days,
    )
    ours = simulation_summary(sim, cost, holding_rate, days)
    mean = pol["forecast_daily"].to_numpy(float)
    q_naive = (
        pol["order_quantity"].to_numpy(float)
        if naive_order_days is None
        else np.maximum(np.ceil(mean * naive_order_days), 1.0)
    )

    def naive(k: float) -> dict[str, float]:
        s = simulate_policy(dem, naive_reorder_point(mean, k), q_naive, lead_time_days)
        return simulation_summary(s, cost, holding_rate, days)

    k, theirs = match_fill_rate(naive, ours["fill_rate"], 0.0, 10.0 * max(lead_time_days, 1))
    pol["simulated_fill_rate"] = np.where(
        sim["demand"] > 0, sim["served"] / np.where(sim["demand"] > 0, sim["demand"], 1), 1.0
    )
    pol["simulated_average_stock"] = sim["average_stock"]
    summary = pd.DataFrame(
        [
            {
                "policy": "forecast_fill_rate",
                "target_fill_rate": fill_rate,
                "knob": fill_rate,
                **ours,
            },
            {"policy": "naive_days_of_cover", "target_fill_rate": fill_rate, "knob": k, **theirs},
        ]
    )
    return pol, summary


def tradeoff_curve(
    bt: pd.DataFrame,
    unit_cost: pd.Series,
    lead_time_days: int,
    targets: list[float] | tuple[float, ...],
    order_cost: float,
    holding_rate: float,
    by: list[str] | tuple[str, ...] = ("sku",),
) -> pd.DataFrame:
    """Simulated fill rate and average stock value of the forecast policy per target."""
    by = list(by)
    inputs = _backtest_inputs(bt, unit_cost, lead_time_days, by)  # shared by every target
    rows = []
    for t in targets:
        _, s = _simulate_target(
            inputs, lead_time_days, t, order_cost, holding_rate, by, None, "cost"
        )
        rows.append(s.assign(level="+".join(by)))
    return pd.concat(rows, ignore_index=True)


def pooled_target_safety_factors(
    fill_rate: float,
    daily_demand: np.ndarray,
    order_quantity: np.ndarray,
    sigma_lead_time: np.ndarray,
    unit_cost: np.ndarray,
    z_floor: float = -1.0,
) -> np.ndarray:
    """Safety factors that reach an aggregate fill rate at the least safety-stock value.

    Minimises sum(c_i z_i sigma_i) subject to sum(D_i / Q_i * sigma_i * G(z_i)) =
    (1 - fill_rate) * sum(D_i) (expected units short per day). The Lagrange condition gives
    1 - Phi(z_i) = c_i Q_i / (lambda D_i); lambda is found by bisection. Cheap, fast-moving
    items get more protection than the per-item rule gives them, dear slow ones less.
    Factors are floored at ``z_floor``: below about -1 (reorder point far under the expected
    lead-time demand) the normal loss approximation underestimates shortages, and the
    simulated fill rate falls short of the target (demo, target 0.95: floor -3 gives 0.922,
    -1.5 gives 0.942, -1 gives 0.950, -0.5 gives 0.956; the floor was picked on these runs).
    """
    if not 0 < fill_rate < 1:
        raise ValueError(f"fill_rate must be in (0, 1), got {fill_rate}")
    d = np.asarray(daily_demand, float)
    q = np.maximum(np.asarray(order_quantity, float), 1e-9)
    s = np.asarray(sigma_lead_time, float)
    c = np.maximum(np.asarray(unit_cost, float), 1e-9)
    allowed = (1 - fill_rate) * d.sum()
    active = (d > 0) & (s > 0)

    def factors(log_lam: float) -> np.ndarray:
        p = np.where(active, c * q / (np.exp(log_lam) * np.where(d > 0, d, 1.0)), 1.0)
        return np.where(active, np.clip(norm.isf(np.clip(p, 1e-12, 1 - 1e-12)), z_floor, 5.0), 0.0)

    def shortage(log_lam: float) -> float:
        return float(np.sum(np.where(active, d / q * s * normal_loss(factors(log_lam)), 0.0)))

    lo, hi = -30.0, 60.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if shortage(mid) > allowed:
            lo = mid
        else:
            hi = mid
    return factors(hi)


def split_by_warehouse(bt: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows split over warehouses by channel shares (actual and forecast scaled).

    The split is in expectation: a channel's daily units go to its warehouses in proportion
    to its historical shipments.
    """
    d = bt.merge(shares, on="channel_id", how="inner")
    return d.assign(actual=d["actual"] * d["share"], forecast=d["forecast"] * d["share"]).drop(
        columns="share"
    )


#: Where stock is kept, each with the keys one stock is held per: one national stock per
#: SKU, a stock per SKU in each warehouse, a separate stock per SKU for each channel.
STOCK_KEYS: dict[str, list[str]] = {
    "pooled": ["sku"],
    "per_channel": ["channel_id", "sku"],
    "per_warehouse": ["warehouse_id", "sku"],
}


def stock_layouts(
    bt: pd.DataFrame, shares: pd.DataFrame | None = None
) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The backtest rows each way of keeping stock sees, with its keys (:data:`STOCK_KEYS`).

    Args:
        bt: backtest rows of the chosen model (channel_id, sku, actual, forecast, ...).
        shares: channel_id, warehouse_id, share (:func:`channelops.shipments.warehouse_shares`);
            None leaves the per-warehouse layout out.

    Returns:
        ``{"pooled": (bt, keys), "per_channel": (bt, keys)}`` and, with ``shares``,
        ``"per_warehouse"``: the rows split over warehouses (:func:`split_by_warehouse`).
    """
    layouts = {name: (bt, list(STOCK_KEYS[name])) for name in ("pooled", "per_channel")}
    if shares is not None:
        split = split_by_warehouse(bt, shares)
        layouts["per_warehouse"] = (split, list(STOCK_KEYS["per_warehouse"]))
    return layouts


def compare_stock_layouts(
    layouts: dict[str, tuple[pd.DataFrame, list[str]]],
    unit_cost: pd.Series | None,
    lead_time_days: int,
    fill_rate: float,
    order_cost: float,
    holding_rate: float,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """:func:`policy_simulation` for each layout of :func:`stock_layouts`, same target.

    Args:
        unit_cost: per sku (:func:`unit_costs`); None when the products carry no unit
            cost: no policy can be set, so no policies and an empty summary.

    Returns:
        (policy per group for each layout, by layout name; the simulation summaries of
        every layout, one after the other, with a ``stock`` column naming the layout).

    Raises:
        ValueError: no layouts.
    """
    if not layouts:
        raise ValueError("no stock layouts to compare")
    if unit_cost is None:
        return {}, empty_policy_simulation().drop(columns=["level", "curve"])
    policies, sims = {}, []
    for name, (rows, keys) in layouts.items():
        policies[name], sim = policy_simulation(
            rows, unit_cost, lead_time_days, fill_rate, order_cost, holding_rate, by=keys
        )
        sims.append(sim.assign(stock=name))
    return policies, pd.concat(sims, ignore_index=True)


def layout_tradeoff_curves(
    layouts: dict[str, tuple[pd.DataFrame, list[str]]],
    unit_cost: pd.Series | None,
    lead_time_days: int,
    targets: list[float] | tuple[float, ...],
    order_cost: float,
    holding_rate: float,
) -> pd.DataFrame:
    """:func:`tradeoff_curve` for each layout, one after the other, with a ``stock`` column.

    Args:
        unit_cost: per sku; None (no unit cost, :func:`unit_costs`) gives no rows.

    Raises:
        ValueError: no layouts.
    """
    if not layouts:
        raise ValueError("no stock layouts to compare")
    if unit_cost is None:
        return empty_policy_simulation().drop(columns="curve")
    curves = [
        tradeoff_curve(
            rows, unit_cost, lead_time_days, targets, order_cost, holding_rate, by=keys
        ).assign(stock=name)
        for name, (rows, keys) in layouts.items()
    ]
    return pd.concat(curves, ignore_index=True)


def unit_costs(products: pd.DataFrame | None) -> pd.Series | None:
    """Unit cost per SKU (base currency), from the product master.

    Args:
        products: products.csv (sku, unit_cost), or None.

    Returns:
        unit_cost (float) indexed by sku, for the SKUs that have one; None when there is
        no products table, no unit_cost column or no unit cost at all: stock cannot be
        valued then, and the (s, Q) policy, whose order quantity weighs the holding cost
        of a unit, cannot be set.
    """
    if products is None or "unit_cost" not in products or "sku" not in products:
        return None
    known = products.loc[products["unit_cost"].notna(), ["sku", "unit_cost"]]
    if known.empty:
        return None
    return pd.Series(
        known["unit_cost"].to_numpy(dtype=float),
        index=pd.Index(known["sku"].astype(str).to_numpy(dtype=object), name="sku"),
        name="unit_cost",
    )


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c in _TEXT_COLUMNS else float) for c in columns}
    )


def empty_inventory_policy() -> pd.DataFrame:
    """The ``inventory_policy`` table with no rows (:data:`INVENTORY_POLICY_COLUMNS`)."""
    return _empty(INVENTORY_POLICY_COLUMNS)


def empty_policy_simulation() -> pd.DataFrame:
    """The ``policy_simulation`` table with no rows (:data:`POLICY_SIMULATION_COLUMNS`)."""
    return _empty(POLICY_SIMULATION_COLUMNS)


def chosen_policy(policies: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The policy 04 writes as ``inventory_policy``: per warehouse when shipments split the
    demand over warehouses, else the pooled one, else (no policy could be set) the empty
    table (:func:`empty_inventory_policy`)."""
    for name in ("per_warehouse", "pooled"):
        if name in policies:
            return policies[name]
    return empty_inventory_policy()


def policy_simulation_table(summary: pd.DataFrame, curve: pd.DataFrame) -> pd.DataFrame:
    """The ``policy_simulation`` table: the layouts' summaries (:func:`compare_stock_layouts`)
    then the trade-off curve's rows (:func:`layout_tradeoff_curves`) marked ``curve`` True,
    in :data:`POLICY_SIMULATION_COLUMNS`; the empty table when both are empty."""
    parts = [p for p in (summary, curve.assign(curve=True)) if len(p)]
    if not parts:
        return empty_policy_simulation()
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=list(POLICY_SIMULATION_COLUMNS))
