"""channelops.ingest.rowchecks: each row's first problem, on hand-made text columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.ingest.contract import Mapping
from channelops.ingest.rowchecks import _check_ranges, _check_rows, _Problems

MAPPING = Mapping(file="mappings/c.yaml", columns={}, timestamp_format="%Y-%m-%d %H:%M:%S")
FIELDS = {
    f: f"col_{f}"
    for f in (
        "order_id",
        "order_ts",
        "buyer_ref",
        "channel_sku",
        "quantity",
        "unit_price",
        "status",
    )
}


def _text(**columns: list) -> dict[str, pd.Series]:
    return {f: pd.Series(v, dtype="string[pyarrow]") for f, v in columns.items()}


def _reasons(problems: _Problems) -> list[str | None]:
    return [problems.found[k - 1][0] if k else None for k in problems.flag]


def test_each_row_keeps_its_first_problem_in_check_order():
    text = _text(
        order_id=["o1", None, "o3", "o4", "o5", "o6", "o7", None],
        order_ts=[
            "2024-03-01 08:00:00",
            "2024-03-01 08:00:00",
            "yesterday",
            *["2024-03-01 08:00:00"] * 5,
        ],
        buyer_ref=["c"] * 8,
        channel_sku=["s"] * 8,
        quantity=["2", "1", "1", "1.5", "0", "1", "1", "1.5"],
        unit_price=["10.5", "1", "1", "1", "1", "-1", "1", "1"],
        status=["paid", "paid", "paid", "paid", "paid", "paid", "weird", "paid"],
    )
    checked = _check_rows(text, FIELDS, MAPPING, "Asia/Shanghai")
    assert _reasons(checked.problems) == [
        None,
        "missing_value",
        "bad_timestamp",
        "bad_number",
        "nonpositive_quantity",
        "negative_price",
        "unknown_status",
        "missing_value",
    ]  # row 7: missing before bad number
    assert checked.problems.ok.tolist() == [True] + [False] * 7
    # hand-checked: 08:00 in Shanghai (UTC+8) is 00:00 UTC
    assert checked.order_ts.iloc[0] == pd.Timestamp("2024-03-01 00:00", tz="UTC")
    assert pd.isna(checked.order_ts.iloc[2])
    assert checked.nums["quantity"][0] == 2.0 and checked.nums["unit_price"][0] == 10.5
    assert checked.status.tolist()[:2] == ["paid", "paid"]
    messages = {reason: message for reason, _, message in checked.problems.found}
    assert messages["missing_value"](None) == "order_id is empty (column 'col_order_id')"
    assert messages["bad_number"](pd.Series(["1.5"]))[0] == "'1.5' is not a whole number"
    assert messages["bad_timestamp"](pd.Series(["yesterday"]))[0] == (
        "'yesterday' is not a timestamp in the form %Y-%m-%d %H:%M:%S"
    )


def test_line_no_below_one_and_no_status_column():
    fields = {
        f: f
        for f in (
            "order_id",
            "line_no",
            "order_ts",
            "buyer_ref",
            "channel_sku",
            "quantity",
            "unit_price",
        )
    }
    text = _text(
        order_id=["o1", "o1"],
        line_no=["1", "0"],
        order_ts=["2024-03-01 08:00:00"] * 2,
        buyer_ref=["c", "c"],
        channel_sku=["s", "s"],
        quantity=["1", "1"],
        unit_price=["1", "1"],
    )
    checked = _check_rows(text, fields, MAPPING, "UTC")
    assert _reasons(checked.problems) == [None, "bad_number"]
    assert checked.problems.found[0][2](pd.Series(["0"]))[0] == "'0' is not a whole number >= 1"
    assert checked.status is None


def test_problems_flag_only_rows_without_a_problem_yet():
    problems = _Problems(np.zeros(3, dtype=np.int16))
    problems.add("missing_value", "order_id", np.array([True, False, False]), lambda v: "a")
    problems.add("bad_number", "quantity", np.array([True, True, False]), lambda v: "b")
    problems.add("negative_price", "unit_price", np.array([True, False, False]), lambda v: "c")
    assert problems.flag.tolist() == [1, 2, 0]
    assert [p[0] for p in problems.found] == ["missing_value", "bad_number"]  # c flagged none


def test_range_checks_need_quantity_and_unit_price():
    problems = _Problems(np.zeros(1, dtype=np.int16))
    with pytest.raises(KeyError):
        _check_ranges(problems, {"unit_price": np.array([1.0])}, np.zeros(1, dtype=bool), False)
