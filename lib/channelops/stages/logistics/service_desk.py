"""The service desk's staffing plan (section 5 of the 05 notebook): the contact forecast per
channel and for one pooled queue, the agents scheduled after shrinkage, and their cost.

Per hour, :func:`~.staffing.staffing_plan` gives the agents N answering the target share of
contacts in time (Erlang C). Agents are not on contacts all the paid time (breaks, training,
absence: the *shrinkage* s), so ``scheduled = ceil(N / (1 - s))`` and the hour costs
``scheduled x cost per agent hour``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .prepare import hourly_contacts, seasonal_forecast

__all__ = [
    "STAFFING_COLUMNS",
    "contact_forecast",
    "pooled_forecast",
    "scheduled_staffing",
    "queue_costs",
    "staffing_overview",
]

#: Columns of the ``staffing_plan`` table.
STAFFING_COLUMNS = [
    "queue",
    "hour_start",
    "weekday",
    "hour",
    "contacts",
    "handle_minutes",
    "traffic_erlangs",
    "agents",
    "scheduled_agents",
    "service_level",
    "prob_wait",
    "asa_s",
    "occupancy",
    "cost",
]

_HOUR_KEYS = ["hour_start", "weekday", "hour"]


def contact_forecast(
    contacts: pd.DataFrame, timezone: str, history_weeks: int, horizon_days: int
) -> pd.DataFrame:
    """Contacts per channel and hour for the coming days, with their mean handle time.

    Args:
        contacts: service_contacts.csv (contact_ts, channel_id, handle_minutes).
        timezone: reporting timezone (IANA name) for the local hour.
        history_weeks: weeks of history the weekday-by-hour profile averages.
        horizon_days: days to forecast.

    Returns:
        :func:`~.prepare.seasonal_forecast` of :func:`~.prepare.hourly_contacts`:
        channel_id, hour_start, weekday, hour, contacts (per hour), handle_minutes (the
        channel's mean, minutes; the mean over all contacts for a channel without history).

    Raises:
        ValueError: no contacts.
    """
    if contacts.empty:
        raise ValueError("no service contacts to forecast from")
    fc = seasonal_forecast(hourly_contacts(contacts, timezone), history_weeks, horizon_days)
    fc["handle_minutes"] = fc["handle_minutes"].fillna(float(contacts["handle_minutes"].mean()))
    return fc


def pooled_forecast(forecast: pd.DataFrame, default_handle_minutes: float) -> pd.DataFrame:
    """The channels' forecasts as one queue: contacts summed per hour, handle time weighted.

    Args:
        forecast: output of :func:`contact_forecast`.
        default_handle_minutes: handle time of an hour without contacts, minutes.

    Returns:
        DataFrame hour_start, weekday, hour, contacts (sum over channels), handle_minutes
        (contact-weighted mean, minutes) and queue = ``"pooled"``.

    Raises:
        ValueError: a column is missing.
    """
    missing = {*_HOUR_KEYS, "contacts", "handle_minutes"} - set(forecast.columns)
    if missing:
        raise ValueError(f"forecast is missing column(s) {sorted(missing)}")
    pooled = (
        forecast.assign(hm=forecast["contacts"] * forecast["handle_minutes"])
        .groupby(_HOUR_KEYS, as_index=False)[["contacts", "hm"]]
        .sum()
    )
    busy = pooled["contacts"].where(pooled["contacts"] > 0)
    pooled["handle_minutes"] = (pooled["hm"] / busy).fillna(default_handle_minutes)
    return pooled.drop(columns="hm").assign(queue="pooled")


def scheduled_staffing(
    plans: Sequence[pd.DataFrame], shrinkage: float, cost_per_agent_hour: float
) -> pd.DataFrame:
    """The ``staffing_plan`` table: agents scheduled after shrinkage, and their cost.

    Args:
        plans: outputs of :func:`~.staffing.staffing_plan`, each with a queue column.
        shrinkage: share of paid agent time not spent on contacts, in [0, 1).
        cost_per_agent_hour: loaded cost of one agent hour, currency.

    Returns:
        The plans one after the other with :data:`STAFFING_COLUMNS`;
        scheduled_agents = ceil(agents / (1 - shrinkage)) and cost = scheduled_agents x
        cost_per_agent_hour (currency per hour).

    Raises:
        ValueError: no plans, shrinkage outside [0, 1) or a negative cost.
    """
    if not plans:
        raise ValueError("no staffing plans")
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage}")
    if cost_per_agent_hour < 0:
        raise ValueError(f"cost_per_agent_hour must be non-negative, got {cost_per_agent_hour}")
    staffing = pd.concat(list(plans), ignore_index=True)
    staffing["scheduled_agents"] = np.ceil(staffing["agents"] / (1 - shrinkage)).astype(int)
    staffing["cost"] = staffing["scheduled_agents"] * cost_per_agent_hour
    return staffing[STAFFING_COLUMNS]


def queue_costs(staffing: pd.DataFrame) -> tuple[float, float]:
    """Agent cost of one queue per channel and of the pooled queue.

    Args:
        staffing: output of :func:`scheduled_staffing`.

    Returns:
        (separate, pooled): summed cost of the channel queues and of ``"pooled"``, currency.

    Raises:
        ValueError: no pooled queue or no channel queue.
    """
    pooled = staffing["queue"] == "pooled"
    if not pooled.any() or pooled.all():
        raise ValueError("staffing needs both the pooled queue and channel queues")
    return float(staffing.loc[~pooled, "cost"].sum()), float(staffing.loc[pooled, "cost"].sum())


def staffing_overview(staffing: pd.DataFrame) -> pd.DataFrame:
    """One row per queue: contacts, the peak and the total of scheduled agents, and cost.

    Args:
        staffing: output of :func:`scheduled_staffing` (may be empty).

    Returns:
        DataFrame indexed by queue: contacts (forecast), peak_agents (most scheduled agents
        in an hour), agent_hours (sum of scheduled agents over the hours) and cost
        (currency).

    Raises:
        ValueError: a column is missing.
    """
    missing = {"queue", "contacts", "scheduled_agents", "cost"} - set(staffing.columns)
    if missing:
        raise ValueError(f"staffing is missing column(s) {sorted(missing)}")
    return staffing.groupby("queue").agg(
        contacts=("contacts", "sum"),
        peak_agents=("scheduled_agents", "max"),
        agent_hours=("scheduled_agents", "sum"),
        cost=("cost", "sum"),
    )
