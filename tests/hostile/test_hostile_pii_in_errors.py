"""Hostile inputs, case 2: error messages never quote personal data.

A malformed export line used to be quoted in the error ("... starting '280000000028,…,
张一诺,181 0667 37'"). Errors now name the file, the line and the column; quarantined values
of columns the mapping marks as personal are masked; no raw line is echoed.
"""

from __future__ import annotations

import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.csvread import _unclosed_quote_column, _without_row_text
from channelops.ingest.dataset import DatasetError, load_dataset, read_export
from channelops.ingest.pii import mask_field

H = "订单号,下单时间,会员,商品,数量,单价,收货人,手机\n"
MAPPING = {
    "columns": {
        "order_id": "订单号",
        "order_ts": "下单时间",
        "buyer_ref": "会员",
        "channel_sku": "商品",
        "quantity": "数量",
        "unit_price": "单价",
        "buyer_name": "收货人",
        "buyer_phone": "手机",
    },
    "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
}
GOOD = "280000000027,2024-03-01 08:00:00,m1,S,1,10,王小明,138 0013 8000\n"
SECRETS = ("张一诺", "181 0667 37", "王小明", "138 0013 8000", "280000000028")


def _read_err(tmp_path, csv: str) -> str:
    root = build_dataset(tmp_path / "ds", exports={"tmall": csv}, mappings={"tmall": MAPPING})
    with pytest.raises(DatasetError) as info:
        read_export(load_dataset(root), "tmall")
    return str(info.value)


def test_unclosed_quote_names_line_and_column_not_the_text(tmp_path):
    bad = '280000000028,2024-03-01 08:00:00,m2,S,1,10,"张一诺,181 0667 3712\n'
    msg = _read_err(tmp_path, H + bad + GOOD + GOOD)
    assert msg.splitlines()[0] == (
        "orders/tmall.csv, line 2, column '收货人': a quoted field is not closed"
    )
    assert not any(s in msg for s in SECRETS), msg


def test_table_ragged_row_not_echoed(tmp_path):
    customers = (
        "customer_id,signup_date,name,email,phone,address,postcode,city,birth_year,"
        "gender\nC1,2024-01-01,张一诺,zy@example.com,181 0667 3712,上海路1号,200000,"
        "Shanghai,1990,F,extra\n"
    )
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"customers": customers}))
    with pytest.raises(DatasetError) as info:
        ds.table("customers")
    msg = str(info.value)
    assert msg.startswith("customers.csv, line 2: wrong number of fields")
    assert "found: 11 fields" in msg and "张一诺" not in msg and "zy@" not in msg


def test_quarantined_personal_values_are_masked(tmp_path):
    # a careless mapping reads the quantity from the phone column: its rejected values
    # (phones, not numbers) must not appear in the quarantine's value or message
    m = {**MAPPING, "columns": {**MAPPING["columns"], "quantity": "手机"}}
    root = build_dataset(tmp_path / "ds", exports={"tmall": H + GOOD}, mappings={"tmall": m})
    q = read_export(load_dataset(root), "tmall").quarantine
    assert q[["column", "value", "reason"]].values.tolist() == [
        ["手机", "*********00", "bad_number"]
    ]
    assert "138" not in q["message"].iloc[0]


def test_arrow_error_text_loses_the_row():
    e = ValueError("CSV parse error: Expected 8 columns, got 3: 2800,张一诺,181 0667\nmore")
    assert _without_row_text(e) == "CSV parse error: Expected 8 columns, got 3"
    assert _without_row_text(ValueError("")) == "ValueError"


def test_unclosed_quote_column():
    assert _unclosed_quote_column('a,"b,c\nd', ",", ["x", "y"]) == "y"
    assert _unclosed_quote_column('a;b;"c\n', ";", ["x", "y"]) == "field 3"
    assert _unclosed_quote_column("a,b", ",", ["x", "y"]) is None


def test_mask_field_by_kind():
    v = pd.Series(["张一诺", "zy@example.com", "181 0667 3712"], dtype="string")
    assert mask_field("buyer_name", v.iloc[:1]).tolist() == ["张***"]
    assert mask_field("buyer_email", v.iloc[1:2]).tolist() == ["z***@example.com"]
    assert mask_field("buyer_phone", v.iloc[2:]).tolist() == ["*********12"]
