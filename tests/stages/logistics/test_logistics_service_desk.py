"""Tests for channelops.stages.logistics.service_desk: the contact forecast, the pooled
queue, agents scheduled after shrinkage and their cost."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import (
    STAFFING_COLUMNS,
    contact_forecast,
    pooled_forecast,
    queue_costs,
    scheduled_staffing,
    staffing_overview,
)

TZ = "Asia/Shanghai"


def test_contact_forecast_fills_a_channel_without_history():
    # a: four contacts on Monday 11 March at 09:00, 6 minutes each. b: one contact of 12
    # minutes a week earlier, outside the one-week history: its profile is 0 and its
    # handle time the mean of all contacts, (4 x 6 + 12) / 5 = 7.2 minutes.
    ts = pd.to_datetime(["2024-03-11 09:30"] * 4 + ["2024-03-04 10:00"]).tz_localize(TZ)
    contacts = pd.DataFrame(
        {"contact_ts": ts, "channel_id": ["a"] * 4 + ["b"], "handle_minutes": [6.0] * 4 + [12.0]}
    )
    fc = contact_forecast(contacts, TZ, history_weeks=1, horizon_days=7)
    assert fc["hour_start"].min() == pd.Timestamp("2024-03-12")
    a = fc[fc["channel_id"] == "a"]
    monday9 = a[(a["weekday"] == 0) & (a["hour"] == 9)]
    assert monday9["contacts"].tolist() == [4.0] and a["contacts"].sum() == 4.0
    assert (a["handle_minutes"] == 6.0).all()
    b = fc[fc["channel_id"] == "b"]
    assert b["contacts"].sum() == 0.0 and b["handle_minutes"].tolist() == [7.2] * 7 * 24


def test_contact_forecast_needs_contacts():
    with pytest.raises(ValueError, match="no service contacts"):
        contact_forecast(
            pd.DataFrame(columns=["contact_ts", "channel_id", "handle_minutes"]), TZ, 1, 7
        )


def test_pooled_forecast_weights_handle_time_by_contacts():
    h1, h2 = pd.Timestamp("2024-03-12 09:00"), pd.Timestamp("2024-03-12 10:00")
    fc = pd.DataFrame(
        {
            "channel_id": ["a", "b", "a", "b"],
            "hour_start": [h1, h1, h2, h2],
            "weekday": 1,
            "hour": [9, 9, 10, 10],
            "contacts": [2.0, 1.0, 0.0, 0.0],
            "handle_minutes": [6.0, 12.0, 6.0, 12.0],
        }
    )
    pooled = pooled_forecast(fc, default_handle_minutes=5.0)
    # 09:00: 3 contacts, (2 x 6 + 1 x 12) / 3 = 8 minutes; 10:00: none -> the default 5
    assert pooled["contacts"].tolist() == [3.0, 0.0]
    assert pooled["handle_minutes"].tolist() == [8.0, 5.0]
    assert (pooled["queue"] == "pooled").all() and "hm" not in pooled
    with pytest.raises(ValueError, match="handle_minutes"):
        pooled_forecast(fc.drop(columns="handle_minutes"), 5.0)


def plan(queue: str, agents: list[int], contacts: list[float]) -> pd.DataFrame:
    """A staffing_plan output: every column but scheduled_agents and cost."""
    n = len(agents)
    return pd.DataFrame(
        {
            "queue": queue,
            "hour_start": pd.date_range("2024-03-12", periods=n, freq="h"),
            "weekday": 1,
            "hour": range(n),
            "contacts": contacts,
            "handle_minutes": 6.0,
            "traffic_erlangs": 0.5,
            "agents": agents,
            "service_level": 0.9,
            "prob_wait": 0.1,
            "asa_s": 3.0,
            "occupancy": 0.5,
        }
    )


def test_scheduled_staffing_adds_shrinkage_and_cost_by_hand():
    staffing = scheduled_staffing(
        [plan("a", [1, 3], [2.0, 3.0]), plan("pooled", [3], [5.0])],
        shrinkage=0.3,
        cost_per_agent_hour=45.0,
    )
    assert list(staffing.columns) == STAFFING_COLUMNS
    # ceil(1 / 0.7) = 2, ceil(3 / 0.7) = ceil(4.29) = 5
    assert staffing["scheduled_agents"].tolist() == [2, 5, 5]
    assert staffing["cost"].tolist() == [90.0, 225.0, 225.0]
    none = scheduled_staffing(
        [plan("a", [1, 3], [2.0, 3.0])], shrinkage=0.0, cost_per_agent_hour=45.0
    )
    assert none["scheduled_agents"].tolist() == [1, 3]


def test_scheduled_staffing_rejects_bad_settings():
    with pytest.raises(ValueError, match="shrinkage"):
        scheduled_staffing([plan("a", [1], [1.0])], shrinkage=1.0, cost_per_agent_hour=45.0)
    with pytest.raises(ValueError, match="no staffing plans"):
        scheduled_staffing([], shrinkage=0.3, cost_per_agent_hour=45.0)


def test_queue_costs_and_overview_by_hand():
    staffing = scheduled_staffing(
        [plan("a", [1, 3], [2.0, 3.0]), plan("b", [3], [1.0]), plan("pooled", [3], [6.0])],
        shrinkage=0.3,
        cost_per_agent_hour=45.0,
    )
    assert queue_costs(staffing) == (90.0 + 225.0 + 225.0, 225.0)
    overview = staffing_overview(staffing)
    assert overview.loc["a"].tolist() == [5.0, 5, 7, 315.0]
    assert overview.index.tolist() == ["a", "b", "pooled"]
    assert staffing_overview(staffing.iloc[0:0]).empty
    with pytest.raises(ValueError, match="channel queues"):
        queue_costs(staffing[staffing["queue"] == "pooled"])
    with pytest.raises(ValueError, match="scheduled_agents"):
        staffing_overview(staffing.drop(columns="scheduled_agents"))
