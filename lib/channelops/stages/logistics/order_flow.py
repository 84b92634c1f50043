"""The inputs and the read-outs of the order-flow simulation (section 1 of the 05 notebook).

- :func:`ship_by_hours` — each channel's ship-by time, from shipments or a default;
- :func:`simulation_orders` — the fulfilled orders as the simulation reads them: local order
  time, ship-by deadline and the priority scores;
- :func:`orders_in_window` — the orders of the simulated window;
- :func:`simulation_window` — the simulated window's orders as the simulation reads them,
  without building the other days' rows;
- :func:`warehouse_load` — each warehouse's capacity, packers and load in the window;
- :func:`policy_totals` and :func:`breach_change` — the policies' totals over all channels
  and the relative change in breaches from FIFO to priority.

The simulation itself is :mod:`.simulation`.
"""

from __future__ import annotations

import pandas as pd

from .simulation import dispatch_sla_hours, priority_scores

__all__ = [
    "SIM_INPUT_COLUMNS",
    "ship_by_hours",
    "simulation_orders",
    "simulation_window",
    "orders_in_window",
    "warehouse_load",
    "policy_totals",
    "breach_change",
]

#: The fulfilled-order columns the simulation and the priority scores read.
SIM_INPUT_COLUMNS = [
    "order_id",
    "channel_id",
    "warehouse_id",
    "units",
    "revenue_base",
    "customer_id",
]

_SLA_COLUMNS = ["channel_id", "order_ts", "promised_ts", "shipped_ts", "delivered_ts"]


def ship_by_hours(
    fulfilled: pd.DataFrame, from_shipments: bool, min_hours: float, default_hours: float
) -> pd.Series:
    """Each channel's ship-by time: hours from order to the latest dispatch that keeps the
    delivery promise.

    Args:
        fulfilled: fulfilled orders with channel_id, and with order_ts, promised_ts,
            shipped_ts, delivered_ts when ``from_shipments``.
        from_shipments: derive the hours from the shipments (:func:`dispatch_sla_hours`);
            otherwise every channel gets ``default_hours``.
        min_hours: floor on the derived hours.
        default_hours: the hours without shipments.

    Returns:
        Series channel_id -> ship-by hours, named dispatch_sla_hours (channels sorted when
        defaulted). Without orders the default is used, over no channels.

    Raises:
        ValueError: ``default_hours`` is not positive, or a shipment column is missing.
    """
    if not default_hours > 0:
        raise ValueError(f"default_hours must be positive, got {default_hours}")
    if from_shipments and len(fulfilled):
        missing = sorted(set(_SLA_COLUMNS) - set(fulfilled.columns))
        if missing:
            raise ValueError(f"fulfilled is missing shipment column(s) {missing}")
        return dispatch_sla_hours(fulfilled[_SLA_COLUMNS], min_hours)
    return pd.Series(
        default_hours,
        index=pd.Index(sorted(fulfilled["channel_id"].unique()), name="channel_id"),
        name="dispatch_sla_hours",
    )


def simulation_orders(
    fulfilled: pd.DataFrame, ship_by: pd.Series, default_hours: float
) -> pd.DataFrame:
    """The orders as :func:`~.simulation.simulate_order_flow` reads them.

    Args:
        fulfilled: fulfilled orders with :data:`SIM_INPUT_COLUMNS` and order_ts_local.
        ship_by: channel_id -> ship-by hours (:func:`ship_by_hours`).
        default_hours: ship-by hours of a channel missing from ``ship_by``.

    Returns:
        :data:`SIM_INPUT_COLUMNS` plus order_ts (the local order time), deadline_ts
        (order_ts + the channel's ship-by hours) and value_score, customer_score in [0, 1]
        (:func:`~.simulation.priority_scores`); same index as ``fulfilled``.

    Raises:
        ValueError: a column is missing.
    """
    missing = {*SIM_INPUT_COLUMNS, "order_ts_local"} - set(fulfilled.columns)
    if missing:
        raise ValueError(f"fulfilled is missing column(s) {sorted(missing)}")
    out = fulfilled[SIM_INPUT_COLUMNS].assign(order_ts=fulfilled["order_ts_local"])
    hours = out["channel_id"].map(ship_by).fillna(default_hours)
    out["deadline_ts"] = out["order_ts"] + pd.to_timedelta(hours, unit="h")
    return out.join(priority_scores(out))


def simulation_window(
    fulfilled: pd.DataFrame,
    ship_by: pd.Series,
    default_hours: float,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """The orders of one window as the simulation reads them.

    The same rows and values as ``orders_in_window(simulation_orders(fulfilled, ship_by,
    default_hours), start, end)``: the priority scores still rank each order's value and
    its customer's spend among *all* fulfilled orders, but the deadlines and the other
    columns are built for the window's orders only (on a large business the window holds
    a few percent of the orders).

    Args:
        fulfilled: fulfilled orders with :data:`SIM_INPUT_COLUMNS` and order_ts_local.
        ship_by: channel_id -> ship-by hours (:func:`ship_by_hours`).
        default_hours: ship-by hours of a channel missing from ``ship_by``.
        start, end: the window on the local order time (e.g.
            :func:`~.simulation.busiest_window`).

    Returns:
        As :func:`simulation_orders`, for the orders with ``start <= order_ts_local < end``
        (index kept).

    Raises:
        ValueError: a column is missing, or ``end`` is not after ``start``.
    """
    missing = {*SIM_INPUT_COLUMNS, "order_ts_local"} - set(fulfilled.columns)
    if missing:
        raise ValueError(f"fulfilled is missing column(s) {sorted(missing)}")
    if not end > start:
        raise ValueError(f"the window must end after it starts, got {start} .. {end}")
    scores = priority_scores(fulfilled[["revenue_base", "customer_id"]])
    ts = fulfilled["order_ts_local"]
    inside = ((ts >= start) & (ts < end)).to_numpy()
    out = simulation_orders(fulfilled.loc[inside], ship_by, default_hours)
    return out.drop(columns=list(scores.columns)).join(scores.loc[inside])


def orders_in_window(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The orders with ``start <= order_ts < end``.

    Args:
        orders: rows with order_ts.
        start, end: the window, e.g. from :func:`~.simulation.busiest_window`.

    Returns:
        The rows of ``orders`` inside the window, index kept.

    Raises:
        ValueError: ``end`` is not after ``start``.
    """
    if not end > start:
        raise ValueError(f"the window must end after it starts, got {start} .. {end}")
    return orders[(orders["order_ts"] >= start) & (orders["order_ts"] < end)]


def warehouse_load(
    capacity: pd.Series,
    packers: pd.Series,
    pace: pd.Series,
    window: pd.DataFrame,
    days: int,
    scale: float = 1.0,
) -> pd.DataFrame:
    """How loaded each warehouse is in the simulated window.

    Args:
        capacity: warehouse -> daily_capacity_orders, orders per day.
        packers: warehouse -> packers (:func:`~.simulation.packers_per_warehouse`).
        pace: warehouse -> pack-time multiplier (:func:`~.simulation.packing_pace`).
        window: the window's orders, with warehouse_id.
        days: length of the window, days.
        scale: the capacity multiplier of the simulation.

    Returns:
        DataFrame indexed by warehouse: "capacity per day" (orders, scaled), "packers",
        "pack-time multiplier", "orders per day in the window" and "load" (orders per day /
        capacity per day; above 1 the backlog grows).

    Raises:
        ValueError: ``days`` or ``scale`` is not positive.
    """
    if days <= 0 or scale <= 0:
        raise ValueError(f"days and scale must be positive, got {days} and {scale}")
    per_day = window.groupby("warehouse_id").size().reindex(capacity.index).fillna(0) / days
    load = pd.DataFrame(
        {
            "capacity per day": capacity * scale,
            "packers": packers,
            "pack-time multiplier": pace,
            "orders per day in the window": per_day,
        }
    )
    load["load"] = load["orders per day in the window"] / load["capacity per day"]
    return load


def policy_totals(summary: pd.DataFrame) -> pd.DataFrame:
    """The all-channel rows of the ``fulfilment_sim`` table, one per policy.

    Args:
        summary: output of :func:`~.simulation.simulation_summary`.

    Returns:
        The ``channel_id == "all"`` rows indexed by policy (orders, cycle hours,
        sla_breaches, breach_rate, mean_hours_late).

    Raises:
        ValueError: there is no ``all`` row.
    """
    totals = summary[summary["channel_id"] == "all"].set_index("policy")
    if totals.empty:
        raise ValueError("the simulation summary has no 'all' rows")
    return totals


def breach_change(totals: pd.DataFrame, policy: str = "priority", baseline: str = "fifo") -> float:
    """Relative change in SLA breaches from ``baseline`` to ``policy``.

    Args:
        totals: output of :func:`policy_totals`.
        policy, baseline: the two policies compared.

    Returns:
        (breaches under policy - breaches under baseline) / breaches under baseline, e.g.
        -0.25 for a quarter fewer; 0.0 when the baseline has no breaches.

    Raises:
        ValueError: a policy is missing from ``totals``.
    """
    missing = sorted({policy, baseline} - set(totals.index))
    if missing:
        raise ValueError(f"no totals for policy {missing}")
    base = int(totals.loc[baseline, "sla_breaches"])
    other = int(totals.loc[policy, "sla_breaches"])
    return (other - base) / base if base else 0.0
