"""Empty, typed versions of stage 05's tables, written when an optional input is missing.

A skipped section still writes its table, with every column and a dtype per column: text
columns ``object``, the others ``float64`` (``delay_drivers`` keeps ``object`` columns, as
an empty fit has no numbers). Stage 06 and the run's checks read the columns by name.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

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


def empty_table(columns: Sequence[str], text_columns: Collection[str]) -> pd.DataFrame:
    """A table with no rows and the given columns.

    Args:
        columns: column names, in order.
        text_columns: the columns of dtype ``object``; every other column is ``float64``.

    Returns:
        An empty DataFrame with ``columns``.

    Raises:
        ValueError: a text column is not among ``columns``, or a column name repeats.
    """
    unknown = sorted(set(text_columns) - set(columns))
    if unknown:
        raise ValueError(f"text column(s) {unknown} are not among the columns")
    if len(set(columns)) != len(columns):
        raise ValueError(f"column names repeat: {list(columns)}")
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c in text_columns else float) for c in columns}
    )


def empty_allocation() -> pd.DataFrame:
    """The ``allocation`` table with no rows (policy, warehouse, region, channel as text)."""
    return empty_table(ALLOCATION_COLUMNS, ALLOCATION_COLUMNS[:4])


def empty_routes() -> pd.DataFrame:
    """The ``routes`` table with no rows (solver and city as text)."""
    return empty_table(ROUTE_COLUMNS, ("solver", "city"))


def empty_delay_analysis() -> pd.DataFrame:
    """The ``delay_analysis`` table with no rows (dimension and key as text)."""
    return empty_table(DELAY_COLUMNS, ("dimension", "key"))


def empty_delay_drivers() -> pd.DataFrame:
    """The ``delay_drivers`` table with no rows (every column ``object``)."""
    return pd.DataFrame(columns=DRIVER_COLUMNS)


def empty_staffing_plan() -> pd.DataFrame:
    """The ``staffing_plan`` table with no rows (queue as text)."""
    return empty_table(STAFFING_COLUMNS, ("queue",))
