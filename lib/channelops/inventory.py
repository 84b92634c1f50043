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

__all__ = ["safety_stock", "reorder_point", "economic_order_quantity", "inventory_policy"]


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
