"""Empty, typed versions of stage 05's tables, written when an optional input is missing.

A skipped section still writes its table, with every column and the dtype a computed table
has: text columns ``object``, counts ``int64`` (``int32`` for the staffing plan's weekday
and hour), the hour start a timestamp, the others ``float64``, so an empty table and a
full one share a schema. Stage 06 and the run's checks read the columns by name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pandas as pd

from .allocation import ALLOCATION_COLUMNS
from .delays import DELAY_COLUMNS, DRIVER_COLUMNS
from .prepare import ROUTE_COLUMNS
from .service_desk import STAFFING_COLUMNS

__all__ = [
    "empty_table",
    "empty_allocation",
    "empty_routes",
    "empty_delay_analysis",
    "empty_delay_drivers",
    "empty_staffing_plan",
]


def empty_table(
    columns: Sequence[str],
    text_columns: Collection[str],
    dtypes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A table with no rows and the given columns.

    Args:
        columns: column names, in order.
        text_columns: the columns of dtype ``object``.
        dtypes: dtype of other columns by name (e.g. ``{"orders": "int64"}``); every column
            neither text nor here is ``float64``.

    Returns:
        An empty DataFrame with ``columns``.

    Raises:
        ValueError: a text or typed column is not among ``columns``, or a column name repeats.
    """
    dtypes = dict(dtypes or {})
    unknown = sorted((set(text_columns) | set(dtypes)) - set(columns))
    if unknown:
        raise ValueError(f"text or typed column(s) {unknown} are not among the columns")
    if len(set(columns)) != len(columns):
        raise ValueError(f"column names repeat: {list(columns)}")
    return pd.DataFrame(
        {
            c: pd.Series(dtype=object if c in text_columns else dtypes.get(c, "float64"))
            for c in columns
        }
    )


def empty_allocation() -> pd.DataFrame:
    """The ``allocation`` table with no rows (policy, warehouse, region, channel as text)."""
    return empty_table(ALLOCATION_COLUMNS, ALLOCATION_COLUMNS[:4])


def empty_routes() -> pd.DataFrame:
    """The ``routes`` table with no rows (solver and city as text, vehicle and stop int64)."""
    return empty_table(ROUTE_COLUMNS, ("solver", "city"), {"vehicle": "int64", "stop": "int64"})


def empty_delay_analysis() -> pd.DataFrame:
    """The ``delay_analysis`` table with no rows (dimension and key as text, the counts
    shipments and delivered int64)."""
    counts = {"shipments": "int64", "delivered": "int64"}
    return empty_table(DELAY_COLUMNS, ("dimension", "key"), counts)


def empty_delay_drivers() -> pd.DataFrame:
    """The ``delay_drivers`` table with no rows (term, kind, level as text, n int64)."""
    return empty_table(DRIVER_COLUMNS, ("term", "kind", "level"), {"n": "int64"})


def empty_staffing_plan() -> pd.DataFrame:
    """The ``staffing_plan`` table with no rows (queue as text, hour_start a timestamp,
    weekday and hour int32, the agent counts int64)."""
    typed = {
        "hour_start": "datetime64[ns]",
        "weekday": "int32",
        "hour": "int32",
        "agents": "int64",
        "scheduled_agents": "int64",
    }
    return empty_table(STAFFING_COLUMNS, ("queue",), typed)
