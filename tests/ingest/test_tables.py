"""channelops.ingest.tables: typing one column of an optional table, and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.contract import DatasetError
from channelops.ingest.dataset import load_dataset
from channelops.ingest.tables import (
    TABLES,
    _Col,
    _more,
    _read_table,
    _typed_column,
    _typed_columns,
)

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


def _write(tmp_path, name: str, text: str):
    (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return _read_table(tmp_path, name, "Asia/Shanghai")


def test_customers_with_customer_id_alone_come_back_with_typed_na_columns(tmp_path):
    df = _write(tmp_path, "customers", "customer_id\nC1\nC2\n")
    expected = ["customer_id", *TABLES["customers"]["optional"]]
    assert sorted(df.columns) == sorted(expected)
    assert df["customer_id"].tolist() == ["C1", "C2"]
    assert df.drop(columns="customer_id").isna().all().all()
    assert str(df["birth_year"].dtype) == "Int64"
    assert str(df["signup_date"].dtype) == "datetime64[ns]"
    assert str(df["city"].dtype) == "string"


def test_customers_with_a_signup_date_only_type_it(tmp_path):
    df = _write(tmp_path, "customers", "customer_id,signup_date\nC1,2024-01-05\nC2,\n")
    assert df["signup_date"].iloc[0] == pd.Timestamp("2024-01-05")
    assert pd.isna(df["signup_date"].iloc[1])  # an empty optional value is NA, not an error
    assert df["name"].isna().all()


def test_products_with_empty_names_and_no_costs_are_read(tmp_path):
    df = _write(tmp_path, "products", "sku,name,category\nA,,toys\nB,Bee,\n")
    assert df["name"].isna().tolist() == [True, False]
    assert df["category"].isna().tolist() == [False, True]
    assert df["unit_cost"].dtype == "float64" and df["unit_cost"].isna().all()


def test_a_missing_truly_required_column_is_still_refused(tmp_path):
    with pytest.raises(DatasetError, match="missing required column 'sku'") as info:
        _write(tmp_path, "products", "name,category\nA,toys\n")
    assert info.value.line == 1


def test_a_wrong_value_in_a_present_optional_column_is_still_refused(tmp_path):
    with pytest.raises(DatasetError, match="value of the wrong type") as info:
        _write(tmp_path, "customers", "customer_id,birth_year\nC1,1980\nC2,nineteen\n")
    assert (info.value.line, info.value.column) == (3, "birth_year")


def test_a_channel_kind_outside_the_list_is_refused_but_blank_is_na(tmp_path):
    df = _write(tmp_path, "channels", "channel_id,kind\nx,\ny,marketplace\n")
    assert df["kind"].isna().tolist() == [True, False]
    assert df["commission_rate"].isna().all()
    with pytest.raises(DatasetError, match="value of the wrong type"):
        _write(tmp_path, "channels", "channel_id,kind\nx,bazaar\n")


def test_every_table_declares_its_key_among_its_required_columns():
    for name, spec in TABLES.items():
        for col in spec.get("key", ()):
            assert col in spec["required"], (name, col)
        assert not set(spec["required"]) & set(spec.get("optional", {})), name
        assert all(t.nullable for t in spec.get("optional", {}).values()), name


SHIPMENTS = (
    "order_id,channel_id,warehouse_id,promised_ts,cost,carrier,note\n"
    "o1,web,W1,2024-03-01 10:00:00,12.5,SF,a\n"
    "o2,web,W2,2024-03-02 10:00:00,,,b\n"
)


def test_some_columns_of_a_table_equal_the_whole_tables_columns(tmp_path):
    """shipments.csv has millions of rows on large data; the cost columns alone come back
    typed as the whole table has them (an absent optional column as missing values), and
    nothing is cached: a later whole read still parses every column."""
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"shipments": SHIPMENTS}))
    some = ds.table("shipments", columns=["cost", "channel_id", "delivered_ts"])
    assert list(some.columns) == ["cost", "channel_id", "delivered_ts"]
    assert ds._tables == {}, "a read of some columns is not cached"
    whole = ds.table("shipments")
    pd.testing.assert_frame_equal(some, whole[["cost", "channel_id", "delivered_ts"]])
    assert some["cost"].tolist()[0] == 12.5 and np.isnan(some["cost"].iloc[1])
    assert str(some["delivered_ts"].dtype) == "datetime64[ns, UTC]"
    # once cached whole, the columns are cut from the cache (and are a copy)
    cut = ds.table("shipments", columns=["warehouse_id"])
    cut.iloc[0, 0] = "changed"
    assert ds.table("shipments")["warehouse_id"].tolist() == ["W1", "W2"]
    assert ds.table("experiments", columns=["unit_id"]) is None  # no experiments.csv


def test_some_columns_still_checks_them_and_names_unknown_ones(tmp_path):
    bad = SHIPMENTS.replace("12.5", "twelve")
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"shipments": bad}))
    with pytest.raises(DatasetError) as info:
        ds.table("shipments", columns=["cost"])
    assert "shipments.csv" in str(info.value) and "line 2" in str(info.value)
    assert "'cost'" in str(info.value) and "a number" in str(info.value)
    assert ds.table("shipments", columns=["warehouse_id"])["warehouse_id"].tolist() == ["W1", "W2"]
    with pytest.raises(ValueError, match=r"shipments.csv has no declared column\(s\) \['note'\]"):
        ds.table("shipments", columns=["note"])
    missing = SHIPMENTS.replace("warehouse_id,", "").replace("W1,", "").replace("W2,", "")
    ds = load_dataset(build_dataset(tmp_path / "ds2", tables={"shipments": missing}))
    with pytest.raises(DatasetError, match="missing required column 'warehouse_id'"):
        ds.table("shipments", columns=["cost"])


def test_a_table_read_without_cache_is_the_same_and_not_kept(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"shipments": SHIPMENTS}))
    once = ds.table("shipments", cache=False)
    assert ds._tables == {}
    pd.testing.assert_frame_equal(once, ds.table("shipments"))
    assert once["note"].tolist() == ["a", "b"], "undeclared columns kept as text, as cached"
    assert ds.table("experiments", cache=False) is None


def _text_columns() -> dict[str, pd.Series]:
    text = {
        "n": ["1", " 2 ", "", "4"],
        "when": ["2024-03-01 08:00:00", "2024-03-01T09:00:00+09:00", "", "2024-03-02"],
        "free": ["a", "b", "c", "d"],  # undeclared: stays text
        "cost": ["1.5", "x1", "", "1e3"],
        "day": ["2024-03-01", "", "2024-13-01", "2024-03-04"],
    }
    return {c: pd.Series(v, dtype="string[pyarrow]") for c, v in text.items()}


_TYPES = {
    "n": _Col("int", nullable=True),
    "when": _Col("datetime", nullable=True),
    "cost": _Col("float", nullable=True),
    "day": _Col("date", nullable=True),
}


def test_columns_typed_side_by_side_equal_one_at_a_time():
    rows = np.arange(2, 6)
    good = {"n", "when", "free"}
    cols = _text_columns()
    wanted = ["free", "when", "n"]
    one = _typed_columns(cols, wanted, _TYPES, rows, "t.csv", "Asia/Shanghai", workers=1)
    two = _typed_columns(cols, wanted, _TYPES, rows, "t.csv", "Asia/Shanghai", workers=2)
    assert list(one) == list(two) == wanted and set(wanted) <= good
    for c in wanted:
        pd.testing.assert_series_equal(one[c], two[c])
    assert two["free"] is cols["free"]  # undeclared: the text itself
    assert two["when"].iloc[0] == two["when"].iloc[1] == pd.Timestamp("2024-03-01", tz="UTC")
    # two bad columns: the error of the first in the order asked, whatever finishes first
    for wanted in (["day", "n", "cost"], ["cost", "day"]):
        errors = []
        for workers in (1, 2):
            with pytest.raises(DatasetError) as info:
                _typed_columns(cols, wanted, _TYPES, rows, "t.csv", "UTC", workers=workers)
            errors.append(str(info.value))
        assert errors[0] == errors[1] and f"'{wanted[0]}'" in errors[0]
