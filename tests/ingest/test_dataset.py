"""channelops.ingest.dataset: every mapping feature, the optional tables, and the dataset API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from _builders import FX_CSV, PRODUCTS_CSV, WEB_CSV, build_dataset, channels_csv
from channelops.ingest import dataset as dataset_module
from channelops.ingest.arrowtext import _text_to_float
from channelops.ingest.dataset import (
    LINE_COLUMNS,
    QUARANTINE_COLUMNS,
    TABLES,
    DatasetError,
    _base_currency,
    _channel_entries,
    _ChannelEntry,
    _reporting_timezone,
    load_dataset,
    read_all_exports,
    read_export,
)
from channelops.ingest.timestamps import _parse_iso, _parse_iso_aware, _parse_iso_general

TMALL_CSV = (
    "订单编号,下单时间,买家会员名,商家编码,购买数量,价格,订单状态,收货地址\n"
    "T1,2024-06-18 00:30:00,张三,TM-1,1,99.00,买家已付款,上海市\n"
    "T2,2024-06-18 10:00:00,李四,TM-2,3,20.00,交易成功,\n"
    "T3,2024-06-19 12:00:00,王五,TM-1,1,99.00,卖家已发货,北京市\n"
)
TMALL_MAPPING = {
    "columns": {
        "order_id": "订单编号",
        "order_ts": "下单时间",
        "buyer_ref": "买家会员名",
        "channel_sku": "商家编码",
        "quantity": "购买数量",
        "unit_price": "价格",
        "status": "订单状态",
        "ship_address": "收货地址",
    },
    "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
    "currency": "CNY",
    "values": {
        "status": {
            "等待买家付款": "placed",
            "买家已付款": "paid",
            "卖家已发货": "shipped",
            "交易成功": "delivered",
            "交易关闭": "cancelled",
        }
    },
}
MIN_MAPPING = {"columns": {}, "timestamp": {"format": "iso8601", "timezone": "UTC"}}
MIN_HEAD = "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price"


def _one(tmp_path, csv, mapping, **kw):
    root = build_dataset(tmp_path / "ds", exports={"c": csv}, mappings={"c": mapping}, **kw)
    ds = load_dataset(root)
    return ds, read_export(ds, "c")


def test_renames_status_values_and_local_timestamps(tmp_path):
    ds, r = _one(tmp_path, TMALL_CSV, TMALL_MAPPING)
    lines = r.lines
    assert list(lines.columns) == list(LINE_COLUMNS)
    assert r.rows_read == 3 and len(r.quarantine) == 0 and r.warnings == []
    assert lines["order_id"].tolist() == ["T1", "T2", "T3"]
    assert lines["buyer_ref"].tolist() == ["张三", "李四", "王五"]
    assert lines["status"].tolist() == ["paid", "delivered", "shipped"]
    # Shanghai is UTC+8: 00:30 local on the 18th is 16:30 UTC on the 17th
    assert lines["order_ts"].iloc[0] == pd.Timestamp("2024-06-17 16:30", tz="UTC")
    assert lines["currency"].tolist() == ["CNY"] * 3
    assert lines["ship_address"].tolist()[0] == "上海市"
    assert pd.isna(lines["ship_address"].iloc[1])  # empty -> <NA>
    assert lines["row"].tolist() == [2, 3, 4]
    assert lines["source_file"].unique().tolist() == ["orders/c.csv"]
    assert lines["channel_id"].unique().tolist() == ["c"]


def test_dtypes_follow_the_design_notes(tmp_path):
    _, r = _one(tmp_path, TMALL_CSV, TMALL_MAPPING)
    d = r.lines.dtypes
    for c in (
        "source_file",
        "channel_id",
        "order_id",
        "buyer_ref",
        "channel_sku",
        "buyer_name",
        "city",
        "currency",
        "status",
    ):
        assert d[c] == "string", c
    for c in ("row", "line_no", "quantity"):
        assert d[c] == "int64", c
    for c in ("unit_price", "discount"):
        assert d[c] == "float64", c
    assert str(d["order_ts"]) == "datetime64[ns, UTC]"
    q = r.quarantine
    assert list(q.columns) == list(QUARANTINE_COLUMNS) and q["row"].dtype == "int64"


def test_defaults_for_missing_optional_fields(tmp_path):
    csv = (
        MIN_HEAD + "\nA,2024-01-01T10:00:00,b1,S1,1,5\nB,2024-01-01T11:00:00,b2,S1,2,5\n"
        "A,2024-01-01T10:00:00,b1,S2,1,7\nA,2024-01-01T10:00:00,b1,S3,1,8\n"
    )
    ds, r = _one(tmp_path, csv, MIN_MAPPING)
    lines = r.lines
    assert lines["line_no"].tolist() == [1, 1, 2, 3]  # numbered within order, file order
    assert lines["discount"].tolist() == [0.0] * 4
    assert lines["status"].tolist() == ["paid"] * 4
    for f in ("buyer_name", "buyer_email", "buyer_phone", "ship_address", "postcode", "city"):
        assert lines[f].isna().all()
    # no currency anywhere: base currency, said in a warning
    assert lines["currency"].tolist() == ["CNY"] * 4
    assert r.warnings == [
        "orders/c.csv: no currency in mappings/c.yaml or channels.csv; "
        "assuming the base currency CNY"
    ]


def test_identity_mapping_for_canonically_named_columns(tmp_path):
    # columns named like canonical fields are used when the mapping does not map them
    _, r = _one(tmp_path, WEB_CSV, {"timestamp": {"format": "%Y-%m-%d %H:%M:%S"}})
    assert r.lines["discount"].tolist() == [1.0, 0.0, 0.0]  # empty discount -> 0
    assert r.lines["status"].tolist() == ["paid", "shipped", "delivered"]


def test_given_line_numbers_are_kept(tmp_path):
    csv = "oid,ln,ts,buyer,sku,qty,price\nA,7,2024-01-01,b,S,1,1\nA,9,2024-01-01,b,S,1,1\n"
    m = {
        "columns": {
            "order_id": "oid",
            "line_no": "ln",
            "order_ts": "ts",
            "buyer_ref": "buyer",
            "channel_sku": "sku",
            "quantity": "qty",
            "unit_price": "price",
        }
    }
    _, r = _one(tmp_path, csv, m)
    assert r.lines["line_no"].tolist() == [7, 9]


def test_iso8601_offsets_honoured_naive_in_mapping_timezone(tmp_path):
    csv = MIN_HEAD + (
        "\nA,2024-01-01T10:00:00+08:00,b,S,1,1\nB,2024-01-01T10:00:00Z,b,S,1,1\n"
        "C,2024-01-01 10:00:00,b,S,1,1\nD,2024-07-01 10:00:00,b,S,1,1\n"
        "E,2024-01-01,b,S,1,1\n"
    )
    m = {"timestamp": {"format": "iso8601", "timezone": "Europe/Berlin"}}
    _, r = _one(tmp_path, csv, m)
    assert r.lines["order_ts"].tolist() == [
        pd.Timestamp("2024-01-01 02:00", tz="UTC"),
        pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        pd.Timestamp("2024-01-01 09:00", tz="UTC"),  # CET = UTC+1
        pd.Timestamp("2024-07-01 08:00", tz="UTC"),  # CEST = UTC+2
        pd.Timestamp("2023-12-31 23:00", tz="UTC"),
    ]


def test_iso8601_is_the_default_and_channel_timezone_applies(tmp_path):
    csv = MIN_HEAD + "\nA,2024-01-01 10:00:00,b,S,1,1\n"
    _, r = _one(
        tmp_path,
        csv,
        {},
        tables={"channels": channels_csv(("c", "marketplace", "USD", "America/New_York"))},
    )
    assert r.lines["order_ts"].iloc[0] == pd.Timestamp("2024-01-01 15:00", tz="UTC")
    assert r.lines["currency"].iloc[0] == "USD"  # the channel's currency from channels.csv
    assert r.warnings == []


@pytest.mark.parametrize(
    ("fmt", "value"),
    [("unix_s", "1704103200"), ("unix_ms", "1704103200000"), ("unix_s", "1704103200.0")],
)
def test_unix_timestamps_are_utc(tmp_path, fmt, value):
    csv = MIN_HEAD + f"\nA,{value},b,S,1,1\n"
    _, r = _one(tmp_path, csv, {"timestamp": {"format": fmt, "timezone": "Asia/Shanghai"}})
    assert r.lines["order_ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")


def test_strftime_with_offset(tmp_path):
    csv = MIN_HEAD + "\nA,01/02/2024 10:00 +0100,b,S,1,1\n"
    _, r = _one(tmp_path, csv, {"timestamp": {"format": "%d/%m/%Y %H:%M %z"}})
    assert r.lines["order_ts"].iloc[0] == pd.Timestamp("2024-02-01 09:00", tz="UTC")


def test_timestamp_shorthand_string(tmp_path):
    csv = MIN_HEAD + "\nA,1704103200,b,S,1,1\n"
    _, r = _one(tmp_path, csv, {"timestamp": "unix_s"})
    assert r.lines["order_ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")


def test_currency_from_a_column_with_value_map(tmp_path):
    csv = (
        MIN_HEAD
        + ",cur\nA,2024-01-01,b,S,1,1,usd\nB,2024-01-01,b,S,1,1,RMB\nC,2024-01-01,b,S,1,1,\n"
    )
    m = {"currency": {"column": "cur"}, "values": {"currency": {"RMB": "CNY"}}}
    _, r = _one(
        tmp_path, csv, m, tables={"channels": channels_csv(("c", "cross_border", "EUR", "UTC"))}
    )
    # codes upper-cased, mapped through values, empty -> the channel's currency
    assert r.lines["currency"].tolist() == ["USD", "CNY", "EUR"]


def test_generic_value_maps(tmp_path):
    csv = MIN_HEAD + ",st\nA,2024-01-01,b,old-code,1,1,OK\nB,2024-01-01,b,S2,1,1,PAID\n"
    m = {
        "columns": {"status": "st"},
        "values": {"channel_sku": {"old-code": "S1"}, "status": {"OK": "delivered"}},
    }
    _, r = _one(tmp_path, csv, m)
    assert r.lines["channel_sku"].tolist() == ["S1", "S2"]
    assert r.lines["status"].tolist() == ["delivered", "paid"]  # canonical words, any case


def test_semicolon_decimal_comma_thousands(tmp_path):
    csv = (
        "order_id;order_ts;buyer_ref;channel_sku;quantity;unit_price;discount\n"
        "A;2024-01-01;b;S;2;1.234,50;0,50\n"
        'B;2024-01-01;"x;y";S;1;7,25;\n'
    )
    m = {"read": {"sep": ";", "decimal": ",", "thousands": "."}}
    _, r = _one(tmp_path, csv, m)
    assert r.lines["unit_price"].tolist() == [1234.5, 7.25]
    assert r.lines["discount"].tolist() == [0.5, 0.0]
    assert r.lines["buyer_ref"].tolist() == ["b", "x;y"]


def test_gbk_declared(tmp_path):
    csv = TMALL_CSV.encode("gbk")
    m = {**TMALL_MAPPING, "read": {"encoding": "gbk"}}
    _, r = _one(tmp_path, csv, m)
    assert r.lines["buyer_ref"].tolist() == ["张三", "李四", "王五"]
    assert r.lines["status"].tolist() == ["paid", "delivered", "shipped"]


def test_utf8_bom_is_transparent(tmp_path):
    _, r = _one(tmp_path, "\ufeff" + TMALL_CSV, TMALL_MAPPING)
    assert r.lines["order_id"].tolist() == ["T1", "T2", "T3"]


def test_quoted_fields_and_crlf(tmp_path):
    csv = (
        MIN_HEAD + ",buyer_name\r\n"
        'A,2024-01-01,b,S,1,1,"Smith, Jane"\r\nB,2024-01-01,b,S,1,1,"say ""hi"""\r\n'
    )
    _, r = _one(tmp_path, csv, {})
    assert r.lines["buyer_name"].tolist() == ["Smith, Jane", 'say "hi"']
    assert r.lines["row"].tolist() == [2, 3]


def test_header_only_gives_empty_lines_and_a_warning(tmp_path):
    _, r = _one(tmp_path, MIN_HEAD + "\n", {})
    assert len(r.lines) == 0 and len(r.quarantine) == 0 and r.rows_read == 0
    assert list(r.lines.columns) == list(LINE_COLUMNS)
    assert r.warnings[0] == (
        "orders/c.csv: header only, no data rows; channel 'c' contributes no order lines"
    )


def test_minimal_dataset_loads_with_every_optional_file_absent(tmp_path):
    root = build_dataset(tmp_path / "ds")
    ds = load_dataset(root)
    assert (ds.name, ds.base_currency, ds.timezone) == ("t", "CNY", "Asia/Shanghai")
    assert [c.id for c in ds.channels] == ["web"]
    for t in TABLES:
        assert not ds.has(t) and ds.table(t) is None
    assert ds.crm_channel_ids == []
    assert [p.relative_to(root).as_posix() for p in ds.input_files()] == [
        "dataset.yaml",
        "mappings/web.yaml",
        "orders/web.csv",
    ]
    r = read_export(ds, "web")
    assert len(r.lines) == 3


def test_load_accepts_the_yaml_path(tmp_path):
    root = build_dataset(tmp_path / "ds")
    assert load_dataset(root / "dataset.yaml").root == root.resolve()


def test_crm_ids_flag_and_default_from_kind(tmp_path):
    root = build_dataset(
        tmp_path / "ds",
        exports={"web": WEB_CSV, "tmall": WEB_CSV, "shop": WEB_CSV},
        channel_extra={"tmall": {"crm_ids": True}, "shop": {"crm_ids": False}},
        tables={
            "channels": channels_csv(
                ("web", "own_store", "CNY", "Asia/Shanghai"),
                ("tmall", "marketplace", "CNY", "Asia/Shanghai"),
                ("shop", "own_store", "CNY", "Asia/Shanghai"),
                ("jd", "marketplace", "CNY", "Asia/Shanghai"),
            )
        },
    )
    ds = load_dataset(root)
    assert ds.crm_channel_ids == ["web", "tmall"]
    assert [c.crm_ids for c in ds.channels] == [True, True, False]


def test_read_all_exports_concatenates(tmp_path):
    root = build_dataset(tmp_path / "ds", exports={"a": WEB_CSV, "b": WEB_CSV + "x,,,,,,,,\n"})
    ds = load_dataset(root)
    r = read_all_exports(ds)
    assert r.rows_read == 7 and len(r.lines) == 6 and len(r.quarantine) == 1
    assert r.lines.index.tolist() == list(range(6))
    assert r.lines["channel_id"].tolist() == ["a"] * 3 + ["b"] * 3
    assert r.quarantine["source_file"].tolist() == ["orders/b.csv"]
    only = read_all_exports(ds, channels=["b"])
    assert only.rows_read == 4


def test_unknown_channel_id_is_a_value_error(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "ds"))
    with pytest.raises(ValueError, match="unknown channel 'nope'; dataset.yaml has: web"):
        read_export(ds, "nope")


# ---- optional tables ----------------------------------------------------------------


def test_tables_are_typed(tmp_path):
    root = build_dataset(
        tmp_path / "ds",
        tables={
            "products": PRODUCTS_CSV,
            "fx_rates": FX_CSV,
            "channels": channels_csv(("web", "own_store", "CNY", "Asia/Shanghai")),
            "customers": "customer_id,signup_date,name,email,phone,address,postcode,city,"
            "birth_year,gender\nC1,2023-05-01,Ann,,,,,,1990,f\nC2,2023-06-01,,,,,,,,\n",
            "shipments": "order_id,channel_id,warehouse_id,promised_ts,shipped_ts,delivered_ts,"
            "carrier,cost\no1,web,W1,2024-03-02 12:00:00,2024-03-02T01:00:00Z,,SF,8\n",
        },
    )
    ds = load_dataset(root)
    p = ds.table("products")
    assert p["unit_cost"].dtype == "float64" and p["sku"].dtype == "string"
    fx = ds.table("fx_rates")
    assert str(fx["date"].dtype) == "datetime64[ns]"
    c = ds.table("customers")
    assert c["birth_year"].tolist()[0] == 1990 and pd.isna(c["birth_year"].iloc[1])
    assert str(c["signup_date"].dtype) == "datetime64[ns]"
    s = ds.table("shipments")
    assert s["promised_ts"].iloc[0] == pd.Timestamp("2024-03-02 04:00", tz="UTC")  # naive: CST
    assert s["shipped_ts"].iloc[0] == pd.Timestamp("2024-03-02 01:00", tz="UTC")
    assert pd.isna(s["delivered_ts"].iloc[0])
    # a copy: callers may mutate it
    p.loc[0, "name"] = "changed"
    assert ds.table("products")["name"].iloc[0] == "Tea"
    with pytest.raises(ValueError, match="unknown table 'orders'"):
        ds.table("orders")


def test_offset_timestamps_parse_as_pandas_does_and_out_of_range_fields_stay_invalid():
    """The fast path for ``YYYY-MM-DDTHH:MM:SS+HH:MM`` gives pandas' answer on every value:
    leap days, offsets either side of UTC, other ISO spellings, and impossible fields
    (Feb 30, hour 25, second 60, month 13) that Arrow alone would roll over."""
    values = [
        "2024-02-29T10:00:00+08:00", "2023-02-29T10:00:00+08:00", "2000-02-29T10:00:00+08:00",
        "1900-02-29T10:00:00+08:00", "2024-02-30T10:00:00+08:00", "2024-04-31T10:00:00+08:00",
        "2024-13-01T10:00:00+08:00", "2024-01-01T25:00:00+08:00", "2024-01-01T10:00:60+08:00",
        "2024-01-01T10:00:00-05:30", "2024-12-31T23:59:59+14:00", "2024-01-01T10:00:00Z",
        "2024-01-01 10:00:00+08:00", "2024-01-01T10:00:00.250+08:00", "2024-01-01T10:00+08:00",
        None, "", "2024-01-01T10:00:00+08:00 trailing",
    ]  # fmt: skip
    s = pd.Series(values, index=range(50, 50 + len(values)), dtype="string[pyarrow]")
    got = _parse_iso_aware(s)
    want = pd.to_datetime(s.astype(object), format="ISO8601", errors="coerce", utc=True)
    assert list(got.index) == list(s.index)
    pd.testing.assert_series_equal(got, want, check_names=False)
    # hand-checked: 10:00 at +08:00 is 02:00 UTC; 10:00 at -05:30 is 15:30 UTC
    assert got.iloc[0] == pd.Timestamp("2024-02-29 02:00", tz="UTC")
    assert got.iloc[9] == pd.Timestamp("2024-01-01 15:30", tz="UTC")
    assert got.iloc[[1, 3, 4, 5, 6, 7, 8]].isna().all()


def test_iso_fast_path_gives_the_general_paths_answer_on_mixed_columns():
    """``_parse_iso`` casts the strict ``YYYY-MM-DDTHH:MM:SS+HH:MM`` values with Arrow and
    sends every other value (other spellings, naive times, out-of-range fields, junk) to the
    general path: the result equals the general path's on every value, in the input's index."""
    strict = ["2024-02-29T10:00:00+08:00", "2024-01-01T10:00:00-05:30", "2024-12-31T23:59:59+14:00"]
    other = [
        "2024-01-01T10:00:00Z",
        "2024-01-01 10:00:00",
        "2024-03-31T02:30:00",
        "2024-02-30T10:00:00+08:00",
        None,
        "junk",
        "2024-01-01T10:00:00.5+08:00",
    ]
    for values in (strict, strict + other, other[:1] + strict, strict + [None]):
        s = pd.Series(values, index=range(7, 7 + len(values)), dtype="string[pyarrow]")
        got = _parse_iso(s, "Europe/Berlin")
        want = _parse_iso_general(s, "Europe/Berlin")
        pd.testing.assert_series_equal(got, want)
        assert str(got.dtype) == "datetime64[ns, UTC]"
    # hand-checked: 10:00 at +08:00 is 02:00 UTC
    assert _parse_iso(pd.Series(strict, dtype="string[pyarrow]"), "UTC").iloc[0] == (
        pd.Timestamp("2024-02-29 02:00", tz="UTC")
    )


def test_text_to_float_equals_pandas_to_numeric():
    """Plain decimals go through an Arrow cast, everything else through pandas: the numbers
    (and NaN for missing or non-numbers) are exactly pandas' own."""
    values = [
        "209.99",
        "-3",
        "0.10",
        "1e3",
        ".5",
        "5.",
        "+3",
        "inf",
        "nan",
        "abc",
        "",
        None,
        "12345678901234.5",
        "0.1234567890123456789",
        "1,5",
        " 4",
    ]
    got = _text_to_float(pa.chunked_array([pa.array(values, pa.string())]))
    want = (
        pd.to_numeric(pd.Series(values, dtype="string[pyarrow]"), errors="coerce")
        .astype("Float64")
        .to_numpy(dtype="float64", na_value=np.nan)
    )
    np.testing.assert_array_equal(got, want)
    assert got[0] == 209.99 and got[1] == -3.0
    plain = ["1.25", "-0.5", "42"]
    assert _text_to_float(pa.chunked_array([pa.array(plain)])).tolist() == [1.25, -0.5, 42.0]


# ---- the steps of load_dataset ------------------------------------------------------


def test_channel_entries_in_file_order_with_crm_ids_kept_as_written():
    chans = [
        {"id": "web", "orders": "o/web.csv", "mapping": "m/web.yaml"},
        {"id": "jd", "orders": "o/jd.csv", "mapping": "m/jd.yaml", "crm_ids": False},
    ]
    assert _channel_entries(chans, {}) == [
        _ChannelEntry("web", "o/web.csv", "m/web.yaml", None),
        _ChannelEntry("jd", "o/jd.csv", "m/jd.yaml", False),
    ]


def test_a_repeated_channel_id_is_reported_before_its_crm_ids():
    entry = {"id": "web", "orders": "o.csv", "mapping": "m.yaml"}
    lines = {("channels", 0): 5, ("channels", 1): 8, ("channels", 1, "crm_ids"): 11}
    with pytest.raises(DatasetError) as info:
        _channel_entries([entry, {**entry, "crm_ids": "yes"}], lines)
    assert (info.value.line, info.value.problem) == (8, "channel id 'web' appears twice")
    with pytest.raises(DatasetError, match="crm_ids of channel 'web' is not true/false"):
        _channel_entries([{**entry, "crm_ids": "yes"}], lines)


def test_base_currency_and_reporting_timezone():
    assert _base_currency({"base_currency": "EUR"}, {}) == "EUR"
    assert _reporting_timezone({"timezone": "Europe/Berlin"}, {}) == "Europe/Berlin"
    with pytest.raises(DatasetError, match=r"dataset.yaml, line 2: base_currency is not an ISO"):
        _base_currency({"base_currency": "eur"}, {("base_currency",): 2})
    with pytest.raises(DatasetError, match="timezone is not an IANA timezone name"):
        _reporting_timezone({"timezone": "CET+1"}, {})


def test_dataset_module_keeps_every_name_other_modules_import():
    """The reading side is split over several modules; dataset still offers every name, and
    the private helpers channelops.run.params reads order dates with."""
    for name in dataset_module.__all__:
        assert hasattr(dataset_module, name), name
    for name in ("_read_header", "_read_strings", "_clean_text", "_parse_order_ts"):
        assert callable(getattr(dataset_module, name)), name
    assert {
        "Dataset",
        "load_dataset",
        "read_export",
        "empty_quarantine",
        "PII_FIELDS",
        "STRING",
        "TABLES",
    } <= set(dataset_module.__all__)
