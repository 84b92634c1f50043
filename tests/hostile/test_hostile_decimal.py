"""Careless inputs, case 5: ``1.234,56`` parses when the mapping says ``decimal: ","``
(it used to be a bad_number unless ``thousands: "."`` was declared too)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.arrowtext import _to_float
from channelops.ingest.contract import ReadDialect
from channelops.ingest.dataset import load_dataset, read_export

H = "order_id;order_ts;buyer_ref;channel_sku;quantity;unit_price\n"


def _floats(values, **dialect):
    s = pd.Series(values, dtype="string[pyarrow]")
    return _to_float(s, ReadDialect(**dialect)).tolist()


def test_dot_grouping_with_decimal_comma():
    got = _floats(
        ["1.234,56", "-12.345.678", "1.234", "12,5", "1.5", "1.23,4", " 2.000,00 ", None],
        decimal=",",
    )
    assert got[:5] == [1234.56, -12345678.0, 1234.0, 12.5, 1.5]
    assert np.isnan(got[5]) and got[6] == 2000.0 and np.isnan(got[7])


def test_declared_thousands_still_wins():
    assert _floats(["1 234,56"], decimal=",", thousands=" ") == [1234.56]
    assert _floats(["1.234,56"], decimal=".", thousands=",") == [pytest.approx(1.23456)]


def test_export_with_decimal_comma(tmp_path):
    csv = H + "A;2024-01-01;b;S;1;1.234,56\nB;2024-01-01;b;S;1;1.23,4\n"
    root = build_dataset(
        tmp_path / "ds", exports={"c": csv}, mappings={"c": {"read": {"sep": ";", "decimal": ","}}}
    )
    r = read_export(load_dataset(root), "c")
    assert r.lines["unit_price"].tolist() == [1234.56]
    assert r.quarantine[["row", "reason"]].values.tolist() == [[3, "bad_number"]]
