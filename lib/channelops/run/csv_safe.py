"""CSV cells that a spreadsheet cannot run: formula-like text gets a leading apostrophe.

A CSV opened in Excel, LibreOffice or Google Sheets runs a cell that starts with ``=``,
``+``, ``-`` or ``@`` (and, in some, a tab or carriage return) as a formula, so text from
the data (an experiment or product name such as ``=HYPERLINK(...)``) could do so. OWASP's
advice against CSV injection is followed: such a text cell is written with a leading
``'``, which the spreadsheet shows as text. Numbers are left alone (a negative number is a
number, not a formula).

Only pandas is used here, so the module can move next to the other frame helpers when a
stage needs it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise_cell", "neutralise_formulas"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text starting like a formula, else as is.

    >>> neutralise_cell("=1+1"), neutralise_cell("-x"), neutralise_cell(-3), neutralise_cell("a=b")
    ("'=1+1", "'-x", -3, 'a=b')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` ready for ``to_csv``: formula-like text cells neutralised.

    Every text cell (columns of object, string or category dtype), the column names and a
    text index go through :func:`neutralise_cell`; text columns come back as ``object``
    dtype. Numeric, boolean and date columns are unchanged.

    Raises:
        TypeError: ``df`` is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"neutralise_formulas takes a DataFrame, got {type(df).__name__}")
    out = df.copy()
    for i, dtype in enumerate(out.dtypes):
        if _is_text(dtype):
            out.isetitem(i, out.iloc[:, i].astype(object).map(neutralise_cell))
    out.columns = out.columns.map(neutralise_cell)
    if _is_text(out.index.dtype):
        out.index = out.index.map(neutralise_cell)
    return out


def _is_text(dtype: Any) -> bool:
    """True for the dtypes that can hold text: object, string, category."""
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )
