"""channelops.ingest.tables: typing one column of an optional table, and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.ingest.contract import DatasetError
from channelops.ingest.tables import _Col, _more, _typed_column

ROWS = np.array([2, 3, 4])


def _typed(values: list, t: _Col, tz: str = "Asia/Shanghai") -> pd.Series:
    return _typed_column(pd.Series(values, dtype="string[pyarrow]"), t, ROWS, "t.csv", "c", tz)


def test_each_kind_gets_its_type():
    assert _typed(["1", " 2.0 ", ""], _Col("int", nullable=True)).tolist()[:2] == [1, 2]
    assert str(_typed(["1", "2", "3"], _Col("int")).dtype) == "Int64"
    assert _typed(["1.5", "-2", "1e3"], _Col("float")).tolist() == [1.5, -2.0, 1000.0]
    assert _typed(["a", " b ", ""], _Col("str", nullable=True)).tolist()[:2] == ["a", "b"]
    dates = _typed(["2024-03-01", "2024-03-02T10:00:00", "2024-03-03"], _Col("date"))
    assert dates.tolist()[1] == pd.Timestamp("2024-03-02")  # time of day dropped
    ts = _typed(
        ["2024-03-01 08:00:00", "2024-03-01T00:00:00Z", ""], _Col("datetime", nullable=True)
    )
    # hand-checked: 08:00 naive in Shanghai and 00:00Z are the same instant
    assert ts.iloc[0] == ts.iloc[1] == pd.Timestamp("2024-03-01 00:00", tz="UTC")
    assert _typed(["UTC", "Europe/Berlin", "Asia/Shanghai"], _Col("tz")).tolist()[1] == (
        "Europe/Berlin"
    )


@pytest.mark.parametrize(
    ("values", "t", "line", "expected", "found"),
    [
        (["1", "x", "y"], _Col("float"), 3, "a number", "'x' (and 1 more such rows)"),
        (["1", "2", "2.5"], _Col("int"), 4, "a whole number", "'2.5'"),
        (["a", "b", "zz"], _Col("str", choices=("a", "b")), 4, "one of a, b", "'zz'"),
        (
            ["UTC", "Mars/Base", "UTC"],
            _Col("tz"),
            3,
            "an IANA timezone name such as Asia/Shanghai",
            "'Mars/Base'",
        ),
        (
            ["2024-03-01", "2024-13-01", "2024-03-02"],
            _Col("date"),
            3,
            "a date as YYYY-MM-DD",
            "'2024-13-01'",
        ),
    ],
)
def test_a_wrong_value_names_its_line_and_the_expected_type(values, t, line, expected, found):
    with pytest.raises(DatasetError) as info:
        _typed(values, t)
    e = info.value
    assert (e.file, e.line, e.column, e.problem) == ("t.csv", line, "c", "value of the wrong type")
    assert (e.expected, e.found) == (expected, found)


def test_an_empty_value_in_a_required_column():
    with pytest.raises(DatasetError, match=r"t.csv, line 2, column 'c': empty value"):
        _typed([" ", "1", ""], _Col("float"))


def test_more_counts_the_rows_after_the_first():
    assert _more(np.array([True, False])) == ""
    assert _more(np.array([True, True, True])) == " (and 2 more such rows)"
