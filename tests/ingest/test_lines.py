"""channelops.ingest.lines: line numbers, currency fallbacks and the empty frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.ingest.contract import LINE_COLUMNS, ChannelSpec, Mapping
from channelops.ingest.lines import _line_currencies, _line_numbers, _rows_where, empty_lines


def _channel(currency: str | None = None) -> ChannelSpec:
    m = Mapping(file="mappings/c.yaml", columns={}, currency=currency)
    return ChannelSpec("c", None, "orders/c.csv", m, False, ())  # type: ignore[arg-type]


def test_line_numbers_count_within_the_order_over_all_rows_read():
    order_id = pd.Series(["a", "b", "a", "a"], dtype="string[pyarrow]")
    ok = np.array([True, True, False, True])
    # the quarantined third row keeps its number: the last "a" is line 3, not 2
    assert _line_numbers(order_id, {}, ok).tolist() == [1, 1, 3]
    assert _line_numbers(order_id, {"line_no": np.array([5.0, 1, 2, 7])}, ok).tolist() == [5, 1, 7]


def test_rows_where_keeps_the_ok_rows_with_a_fresh_index():
    s = pd.Series(["x", "y", "z"], index=[10, 11, 12])
    assert _rows_where(np.array([True, False, True]))(s).to_dict() == {0: "x", 1: "z"}
    assert _rows_where(np.array([True, True, True]))(s).index.tolist() == [0, 1, 2]


def test_currency_falls_back_from_column_to_mapping_to_channels_csv_to_base():
    keep = _rows_where(np.array([True, True]))
    warnings: list[str] = []
    text = {"currency": pd.Series(["usd", None], dtype="string[pyarrow]")}
    chan_row = pd.Series({"currency": "EUR"})
    cur = _line_currencies(_channel(), text, keep, 2, chan_row, "CNY", warnings)
    assert cur.tolist() == ["USD", "EUR"] and "currency" not in text
    text = {"currency": pd.Series(["usd", None], dtype="string[pyarrow]")}
    assert _line_currencies(_channel("GBP"), text, keep, 2, chan_row, "CNY", warnings).tolist() == [
        "USD",
        "GBP",
    ]
    assert warnings == []
    cur = _line_currencies(_channel(), {}, keep, 2, None, "CNY", warnings)
    assert cur.tolist() == ["CNY", "CNY"]
    assert warnings == [
        "orders/c.csv: no currency in mappings/c.yaml or channels.csv; "
        "assuming the base currency CNY"
    ]
    assert _line_currencies(_channel(), {}, keep, 0, None, "CNY", []).tolist() == []


def test_currency_column_must_be_arrow_text():
    keep = _rows_where(np.array([True]))
    with pytest.raises((TypeError, AttributeError)):
        _line_currencies(
            _channel(), {"currency": pd.Series(["usd"], dtype=object)}, keep, 1, None, "CNY", []
        )


def test_empty_lines_has_the_line_columns_and_dtypes():
    df = empty_lines()
    assert list(df.columns) == list(LINE_COLUMNS) and len(df) == 0
    assert str(df["order_ts"].dtype) == "datetime64[ns, UTC]"
    assert df["quantity"].dtype == np.int64 and df["unit_price"].dtype == np.float64
