"""Tests for channelops.stages.logistics.tables: the empty tables a skipped section writes."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages.logistics import (
    ALLOCATION_COLUMNS,
    DELAY_COLUMNS,
    DRIVER_COLUMNS,
    SIM_COLUMNS,
    STAFFING_COLUMNS,
    empty_allocation,
    empty_delay_analysis,
    empty_delay_drivers,
    empty_routes,
    empty_staffing_plan,
    empty_table,
    simulation_summary,
)
from channelops.stages.logistics.prepare import ROUTE_COLUMNS


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in frame.dtypes.items()}


def test_empty_table_types_text_and_numbers():
    t = empty_table(["name", "x", "y"], ("name",))
    assert t.empty and list(t.columns) == ["name", "x", "y"]
    assert dtypes(t) == {"name": "object", "x": "float64", "y": "float64"}


#: dtypes of the computed tables (a full ci run) that are neither text nor float64
COUNTS = {
    "vehicle": "int64",
    "stop": "int64",
    "shipments": "int64",
    "delivered": "int64",
    "hour_start": "datetime64[ns]",
    "weekday": "int32",
    "hour": "int32",
    "agents": "int64",
    "scheduled_agents": "int64",
    "n": "int64",
}


@pytest.mark.parametrize(
    ("make", "columns", "text"),
    [
        (empty_allocation, ALLOCATION_COLUMNS, {"policy", "warehouse", "region", "channel"}),
        (empty_routes, ROUTE_COLUMNS, {"solver", "city"}),
        (empty_delay_analysis, DELAY_COLUMNS, {"dimension", "key"}),
        (empty_staffing_plan, STAFFING_COLUMNS, {"queue"}),
        (empty_delay_drivers, DRIVER_COLUMNS, {"term", "kind", "level"}),
    ],
)
def test_each_empty_table_has_its_columns_and_the_computed_tables_types(make, columns, text):
    t = make()
    assert t.empty and list(t.columns) == columns
    assert dtypes(t) == {c: "object" if c in text else COUNTS.get(c, "float64") for c in columns}


def test_an_empty_simulation_summary_counts_in_integers():
    t = simulation_summary(pd.DataFrame())
    assert t.empty and list(t.columns) == SIM_COLUMNS
    assert dtypes(t)["orders"] == "int64" and dtypes(t)["sla_breaches"] == "int64"
    assert dtypes(t)["breach_rate"] == "float64" and dtypes(t)["policy"] == "object"


def test_empty_table_rejects_unknown_or_repeated_columns():
    with pytest.raises(ValueError, match="not among the columns"):
        empty_table(["a"], ("b",))
    with pytest.raises(ValueError, match="not among the columns"):
        empty_table(["a"], (), {"b": "int64"})
    with pytest.raises(ValueError, match="repeat"):
        empty_table(["a", "a"], ())
