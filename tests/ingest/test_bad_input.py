"""The bad-input corpus (issue 5): each case with the exact message or quarantine reason.

File-level problems raise DatasetError with an exact message; row-level problems land in
the quarantine exactly once with the first problem; nothing is ever lost:
rows read == accepted + quarantined.
"""

from __future__ import annotations

import pandas as pd
import pytest

from _builders import WEB_CSV, build_dataset, channels_csv, write
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import DatasetError, load_dataset, read_export

H = "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price"
COLS = "order_id, order_ts, buyer_ref, channel_sku, quantity, unit_price"


def _err(fn, *args) -> str:
    with pytest.raises(DatasetError) as info:
        fn(*args)
    return str(info.value)


def _load_err(tmp_path, **kw) -> str:
    root = build_dataset(tmp_path / "ds", **kw)
    return _err(load_dataset, root)


def _read(tmp_path, csv, mapping=None, **kw):
    root = build_dataset(tmp_path / "ds", exports={"c": csv}, mappings={"c": mapping or {}}, **kw)
    ds = load_dataset(root)
    r = read_export(ds, "c")
    assert r.rows_read == len(r.lines) + len(r.quarantine)
    return ds, r


# ---- file-level problems: exact messages -------------------------------------------


def test_missing_dataset_yaml(tmp_path):
    (tmp_path / "empty").mkdir()
    assert _err(load_dataset, tmp_path / "empty") == (
        "dataset.yaml: file not found\n"
        "  expected: a dataset folder holding dataset.yaml\n"
        f"  found: no dataset.yaml in {tmp_path / 'empty'}\n"
        "  fix: pass the dataset folder that holds dataset.yaml, or generate one with "
        "`channelops synth --out <folder>`"
    )


def test_missing_dataset_folder(tmp_path):
    assert _err(load_dataset, tmp_path / "nope").splitlines()[2] == (
        f"  found: the folder {tmp_path / 'nope'} does not exist"
    )


def test_malformed_dataset_yaml_names_file_and_line(tmp_path):
    msg = _load_err(
        tmp_path,
        dataset_yaml="name: t\nbase_currency: CNY\ntimezone: UTC\n"
        "channels:\n  - id: web\n   orders: x.csv\n",
    )
    assert msg == (
        "dataset.yaml, line 6: malformed YAML (expected <block end>, but found "
        "'<block mapping start>', column 4)\n"
        "  expected: valid YAML\n"
        "  found: '   orders: x.csv'\n"
        "  fix: check the indentation, colons and quotes near line 6"
    )


def test_malformed_mapping_yaml(tmp_path):
    msg = _load_err(tmp_path, mappings={"web": "columns:\n  order_id: a\n    order_ts: b\n"})
    assert msg == (
        "mappings/web.yaml, line 3: malformed YAML (mapping values are not allowed here, "
        "column 13)\n"
        "  expected: valid YAML\n"
        "  found: '    order_ts: b'\n"
        "  fix: check the indentation, colons and quotes near line 3"
    )


def test_dataset_yaml_missing_key(tmp_path):
    msg = _load_err(tmp_path, dataset_yaml="name: t\ntimezone: UTC\nchannels: []\n")
    assert msg == (
        "dataset.yaml: missing required key 'base_currency'\n"
        "  expected: keys name, base_currency, timezone, channels\n"
        "  found: keys name, timezone, channels\n"
        "  fix: add `base_currency:` to dataset.yaml"
    )


def test_missing_export_file(tmp_path):
    root = build_dataset(tmp_path / "ds")
    (root / "orders" / "web.csv").unlink()
    assert _err(load_dataset, root) == (
        "orders/web.csv: file not found\n"
        "  expected: the export of channel 'web' named in dataset.yaml\n"
        f"  found: no such file in {root.resolve()}\n"
        "  fix: put the export at orders/web.csv or correct `orders:` of channel 'web' in "
        "dataset.yaml"
    )


def test_unknown_mapping_key_lists_export_columns(tmp_path):
    msg = _load_err(tmp_path, exports={"web": H + "\n"}, mappings={"web": {"colums": {}}})
    assert msg == (
        "mappings/web.yaml, line 1: unknown key 'colums' in a mapping\n"
        "  expected: keys among columns, timestamp, currency, values, read, fill_down, "
        "buyer_identity, status_rules, non_merchandise, repeated_rows\n"
        "  found: 'colums'\n"
        "  fix: remove 'colums' or rename it to one of the expected keys; orders/web.csv has "
        f"columns: {COLS}"
    )


def test_unknown_canonical_field(tmp_path):
    msg = _load_err(
        tmp_path, exports={"web": H + ",qty2\n"}, mappings={"web": {"columns": {"quantty": "qty2"}}}
    )
    assert msg == (
        "mappings/web.yaml, line 2: unknown canonical field 'quantty' in columns\n"
        "  expected: fields among order_id, line_no, order_ts, buyer_ref, buyer_name, "
        "buyer_email, buyer_phone, ship_address, postcode, city, channel_sku, quantity, "
        "unit_price, line_total, discount, refund, currency, status\n"
        "  found: 'quantty'\n"
        "  fix: rename 'quantty' to a canonical field (did you mean 'quantity'?) or remove it; "
        f"orders/web.csv has columns: {COLS}, qty2"
    )


def test_mapping_names_a_column_the_export_lacks(tmp_path):
    msg = _load_err(
        tmp_path, exports={"web": H + "\n"}, mappings={"web": {"columns": {"order_ts": "下单时间"}}}
    )
    assert msg == (
        "mappings/web.yaml, column '下单时间': columns.order_ts names column '下单时间', which "
        "orders/web.csv does not have\n"
        f"  expected: one of the export's columns: {COLS}\n"
        "  found: '下单时间'\n"
        "  fix: correct columns.order_ts in mappings/web.yaml to one of the export's columns"
    )


def test_currency_column_the_export_lacks(tmp_path):
    msg = _load_err(
        tmp_path, exports={"web": H + "\n"}, mappings={"web": {"currency": {"column": "cur"}}}
    )
    assert msg.splitlines()[0] == (
        "mappings/web.yaml, column 'cur': currency.column names "
        "column 'cur', which orders/web.csv does not have"
    )


def test_missing_required_column(tmp_path):
    msg = _load_err(
        tmp_path,
        exports={"web": "order_id,order_ts,buyer_ref,channel_sku,qty\n"},
        mappings={"web": {"columns": {"quantity": "qty"}}},
    )
    assert msg == (
        "orders/web.csv, line 1: missing required column for 'unit_price' (or 'line_total')\n"
        "  expected: a column mapped to unit_price in mappings/web.yaml (or a column named "
        "'unit_price')\n"
        "  found: columns order_id, order_ts, buyer_ref, channel_sku, qty; mappings/web.yaml "
        "maps quantity\n"
        "  fix: add `unit_price: <export column>` under `columns:` in mappings/web.yaml "
        "(or `line_total: <column>` when it holds the line's total)"
    )


def test_empty_file(tmp_path):
    assert _load_err(tmp_path, exports={"web": b""}) == (
        "orders/web.csv: the file is empty (0 bytes)\n"
        "  expected: a header row followed by data rows\n"
        "  found: 0 bytes\n"
        "  fix: re-export the file, or remove it from the dataset"
    )


def test_header_only_is_not_an_error(tmp_path):
    _, r = _read(tmp_path, H + "\n")
    assert (r.rows_read, len(r.lines), len(r.quarantine)) == (0, 0, 0)
    assert r.warnings == [
        "orders/c.csv: header only, no data rows; channel 'c' contributes no order lines"
    ]


def test_undeclared_gbk_export(tmp_path):
    # the header is plain ASCII; the first GBK bytes are in line 3
    csv = (H + "\nA,2024-01-01,b1,S,1,1\nB,2024-01-01,张三,S,1,1\n").encode("gbk")
    assert _load_err(tmp_path, exports={"web": csv}, mappings={"web": {}}) == (
        "orders/web.csv, line 3: the file is not valid UTF-8 text\n"
        "  expected: UTF-8 text, or the encoding declared in mappings/web.yaml\n"
        "  found: bytes 0xd5 0xc5 0xc8 0xfd at byte offset 95 that are not UTF-8; the file "
        "decodes as GBK\n"
        "  fix: declare the file's encoding in mappings/web.yaml: `read: {encoding: gbk}`"
    )


def test_undeclared_gbk_deep_in_the_file_fails_at_read(tmp_path):
    # past the first 8 KiB the header check does not see it; read_export does
    rows = "".join(f"A{i},2024-01-01,b,S,1,1\n" for i in range(2000))
    csv = (H + "\n" + rows + "B,2024-01-01,张三,S,1,1\n").encode("gbk")
    root = build_dataset(tmp_path / "ds", exports={"web": csv}, mappings={"web": {}})
    msg = _err(read_export, load_dataset(root), "web")
    assert msg.splitlines()[0] == "orders/web.csv, line 2002: the file is not valid UTF-8 text"
    assert msg.splitlines()[-1] == (
        "  fix: declare the file's encoding in mappings/web.yaml: `read: {encoding: gbk}`"
    )


def test_undeclared_gbk_header_fails_at_load(tmp_path):
    csv = ("订单," + H[9:] + "\nA,2024-01-01,b,S,1,1\n").encode("gbk")
    msg = _load_err(
        tmp_path, exports={"web": csv}, mappings={"web": {"columns": {"order_id": "订单"}}}
    )
    assert msg.splitlines()[0] == "orders/web.csv, line 1: the file is not valid UTF-8 text"
    assert msg.splitlines()[-1] == (
        "  fix: declare the file's encoding in mappings/web.yaml: `read: {encoding: gbk}`"
    )


def test_declared_gbk_works(tmp_path):
    csv = ("订单," + H[9:] + "\nA,2024-01-01,张三,S,1,1\n").encode("gbk")
    _, r = _read(tmp_path, csv, {"columns": {"order_id": "订单"}, "read": {"encoding": "gbk"}})
    assert r.lines["buyer_ref"].tolist() == ["张三"]


def test_semicolon_decimal_comma_declared_works(tmp_path):
    csv = H.replace(",", ";") + "\nA;2024-01-01;b;S;1;12,50\n"
    _, r = _read(tmp_path, csv, {"read": {"sep": ";", "decimal": ","}})
    assert r.lines["unit_price"].tolist() == [12.5]


def test_semicolon_export_undeclared_is_a_missing_column(tmp_path):
    # without `read: {sep: ";"}` the whole header is one column
    msg = _load_err(tmp_path, exports={"web": H.replace(",", ";") + "\n"}, mappings={"web": {}})
    assert msg.splitlines()[0] == "orders/web.csv, line 1: missing required column for 'order_id'"


def test_utf8_bom(tmp_path):
    _, r = _read(tmp_path, "\ufeff" + H + "\nA,2024-01-01,b,S,1,1\n")
    assert r.lines["order_id"].tolist() == ["A"]


def test_duplicate_column_names(tmp_path):
    msg = _load_err(tmp_path, exports={"web": H + ",quantity\n"}, mappings={"web": {}})
    assert msg == (
        "orders/web.csv, line 1: duplicate column names\n"
        "  expected: unique column names in the header\n"
        "  found: 'quantity' (columns 5, 7)\n"
        "  fix: rename the repeated columns in the header (and in mappings/web.yaml)"
    )


def test_channels_csv_must_list_every_channel(tmp_path):
    msg = _load_err(
        tmp_path, tables={"channels": channels_csv(("tmall", "marketplace", "CNY", "UTC"))}
    )
    assert msg == (
        "channels.csv: channel 'web' of dataset.yaml is not listed\n"
        "  expected: a row for every channel of dataset.yaml (web)\n"
        "  found: channel_id values tmall\n"
        "  fix: add a row for 'web' to channels.csv, or correct its id in dataset.yaml"
    )


def test_table_missing_required_column(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"products": "code,name\nA,b\n"}))
    assert _err(ds.table, "products") == (
        "products.csv, line 1: missing required column 'sku'\n"
        "  expected: columns sku\n"
        "  found: columns code, name\n"
        "  fix: add the column 'sku' to products.csv"
    )


def test_table_bad_value(tmp_path):
    csv = "date,currency,rate_to_base\n2024-01-01,USD,7.1\n2024-01-02,USD,seven\n2024-01-03,USD,x\n"
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"fx_rates": csv}))
    assert _err(ds.table, "fx_rates") == (
        "fx_rates.csv, line 3, column 'rate_to_base': value of the wrong type\n"
        "  expected: a number\n"
        "  found: 'seven' (and 1 more such rows)\n"
        "  fix: correct 'rate_to_base' on that line"
    )


def test_table_duplicate_key(tmp_path):
    csv = "date,currency,rate_to_base\n2024-01-01,USD,7.1\n2024-01-01,USD,7.2\n"
    ds = load_dataset(build_dataset(tmp_path / "ds", tables={"fx_rates": csv}))
    assert _err(ds.table, "fx_rates").splitlines()[:3] == [
        "fx_rates.csv, line 2: duplicate date + currency",
        "  expected: one row per date + currency",
        "  found: 2024-01-01 00:00:00, USD on lines 2, 3",
    ]


def test_unclosed_quote_is_a_dataset_error(tmp_path):
    csv = H + '\nA,2024-01-01,"b,S,1,1\nB,2024-01-01,b,S,1,1\nC,2024-01-01,b,S,1,1\n'
    root = build_dataset(tmp_path / "ds", exports={"web": csv}, mappings={"web": {}})
    assert _err(read_export, load_dataset(root), "web") == (
        "orders/web.csv, line 2, column 'buyer_ref': a quoted field is not closed\n"
        '  expected: every opening quote " closed within its field\n'
        "  found: a record of 3 lines and 3 fields, the quote opening in column 'buyer_ref'\n"
        '  fix: close the quote, or double a quote inside a quoted field ("")'
    )


def test_minimal_dataset_end_to_end(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "ds"))
    r = read_export(ds, "web")
    lines, q = canonicalise(r.lines, ds)
    assert len(lines) == 3 and len(q) == 0
    assert lines["sku"].tolist() == ["SKU1", "SKU2", "SKU1"]  # no products/sku_map: as is


# ---- row-level problems: exact reasons, first problem only -------------------------

ROWS = [
    # (csv line, reason, column, value)
    ("A,2024-01-01,b,S,1,1", None, None, None),
    (",2024-01-01,b,S,1,1", "missing_value", "order_id", ""),
    ("A,2024-01-01, ,S,1,1", None, None, None),  # no buyer: a guest line
    ("A,,b,S,x,1", "missing_value", "order_ts", ""),  # first problem only
    ("A,31/12/2024,b,S,1,1", "bad_timestamp", "order_ts", "31/12/2024"),
    ("A,not a date,b,S,-1,1", "bad_timestamp", "order_ts", "not a date"),
    ("A,2024-01-01,b,S,two,1", "bad_number", "quantity", "two"),
    ("A,2024-01-01,b,S,1.5,1", "bad_number", "quantity", "1.5"),
    ("A,2024-01-01,b,S,1,1..2", "bad_number", "unit_price", "1..2"),
    ("A,2024-01-01,b,S,1,inf", "bad_number", "unit_price", "inf"),
    ("A,2024-01-01,b,S,0,1", "nonpositive_quantity", "quantity", "0"),
    ("A,2024-01-01,b,S,-3,-1", "negative_price", "unit_price", "-1"),
    ("A,2024-01-01,b,S,-3,1", None, None, None),  # a reversal: units coming back
    ("A,2024-01-01,b,S,1,-0.01", "negative_price", "unit_price", "-0.01"),
    ("A,2024-01-01,b,POST,1,-5", None, None, None),  # a non-merchandise adjustment
    ("A,2024-01-01,b,S,2,0", None, None, None),  # free items are fine
]


def test_row_problems_each_quarantined_once_with_first_reason(tmp_path):
    csv = H + "\n" + "\n".join(r[0] for r in ROWS) + "\n"
    _, r = _read(tmp_path, csv)
    expected_bad = [
        (i + 2, reason, col, val) for i, (_, reason, col, val) in enumerate(ROWS) if reason
    ]
    q = r.quarantine
    assert list(zip(q["row"], q["reason"], q["column"], q["value"], strict=True)) == expected_bad
    assert r.lines["row"].tolist() == [2, 4, 14, 16, 17]
    assert r.lines["is_guest"].tolist() == [False, True, False, False, False]
    assert r.lines["is_merchandise"].tolist() == [True, True, True, False, True]
    assert q["source_file"].unique().tolist() == ["orders/c.csv"]
    assert q["channel_id"].unique().tolist() == ["c"]
    assert r.rows_read == len(ROWS)


def test_row_messages(tmp_path):
    csv = (
        H
        + ",discount,status\n"
        + "\n".join(
            [
                ",2024-01-01,b,S,1,1,0,paid",
                "A,31/12/2024,b,S,1,1,0,paid",
                "A,2024-01-01,b,S,two,1,0,paid",
                "A,2024-01-01,b,S,0,1,0,paid",
                "A,2024-01-01,b,S,1,-2,0,paid",
                "A,2024-01-01,b,S,1,2,-1,paid",
                "A,2024-01-01,b,S,1,2,0,lost",
                "A,2024-01-01,b,S,1,2",
            ]
        )
        + "\n"
    )
    _, r = _read(tmp_path, csv)
    assert r.quarantine["message"].tolist() == [
        "order_id is empty (column 'order_id')",
        "'31/12/2024' is not an ISO 8601 timestamp",
        "'two' is not a whole number",
        "quantity must not be 0 (a negative quantity is a reversal), found '0'",
        "unit_price of a merchandise line must be >= 0 (only non-merchandise codes such as "
        "discounts and adjustments may be negative), found '-2'",
        "discount must be >= 0, found '-1'",
        "'lost' is not a canonical status (placed, paid, shipped, delivered, cancelled, "
        "returned) and has no entry under values.status in mappings/c.yaml",
        "expected 8 fields (as in the header), found 6",
    ]
    assert r.quarantine["reason"].tolist() == [
        "missing_value",
        "bad_timestamp",
        "bad_number",
        "nonpositive_quantity",
        "negative_price",
        "negative_discount",
        "unknown_status",
        "ragged_row",
    ]


def test_ragged_rows_are_quarantined_not_dropped_or_filled(tmp_path):
    csv = (
        H
        + "\n"
        + "\n".join(
            [
                "A,2024-01-01,b,S,1,1",
                "B,2024-01-01,b,S,1",  # too few: pandas would fill with NaN
                "C,2024-01-01,b,S,1,1,extra",  # too many: pandas would raise or skip
                "",  # blank line: a row with every field empty
                'D,2024-01-01,"two\nlines",S,1,1',  # a quoted line break: one record
                "E,2024-01-01,b,S,1,1",
            ]
        )
        + "\n"
    )
    _, r = _read(tmp_path, csv)
    q = r.quarantine
    assert q[["row", "reason"]].values.tolist() == [
        [3, "ragged_row"],
        [4, "ragged_row"],
        [5, "missing_value"],
    ]
    assert q["value"].tolist()[:2] == ["B,2024-01-01,b,S,1", "C,2024-01-01,b,S,1,1,extra"]
    assert q["message"].tolist()[1] == "expected 6 fields (as in the header), found 7"
    assert pd.isna(q["column"].iloc[0])
    # rows are CSV records: the quoted line break does not shift the numbering
    assert r.lines["row"].tolist() == [2, 6, 7]
    assert r.lines["buyer_ref"].tolist()[1] == "two\nlines"
    assert r.rows_read == 6


def test_only_ragged_rows(tmp_path):
    _, r = _read(tmp_path, H + "\nA,1\nB,2\n")
    assert r.quarantine["row"].tolist() == [2, 3] and len(r.lines) == 0


def test_unknown_status_with_values_map(tmp_path):
    csv = H + ",st\nA,2024-01-01,b,S,1,1,已付款\nB,2024-01-01,b,S,1,1,已发货\n"
    _, r = _read(
        tmp_path, csv, {"columns": {"status": "st"}, "values": {"status": {"已付款": "paid"}}}
    )
    assert r.lines["status"].tolist() == ["paid"]
    assert r.quarantine[["row", "reason", "column", "value"]].values.tolist() == [
        [3, "unknown_status", "st", "已发货"]
    ]


def test_bad_unix_and_strftime_timestamps(tmp_path):
    csv = H + "\nA,1704103200,b,S,1,1\nB,17041O3200,b,S,1,1\nC,1e30,b,S,1,1\n"
    _, r = _read(tmp_path, csv, {"timestamp": {"format": "unix_s"}})
    assert r.quarantine["reason"].tolist() == ["bad_timestamp"] * 2
    assert r.quarantine["message"].iloc[0] == "'17041O3200' is not a unix timestamp in seconds"


def test_unknown_sku_and_currency_are_quarantined_by_canonicalise(tmp_path):
    csv = (
        H + ",currency\nA,2024-01-01,b,SKU1,1,1,CNY\nB,2024-01-01,b,NOPE,1,1,CNY\n"
        "C,2024-01-01,b,SKU1,1,1,XYZ\n"
    )
    ds, r = _read(
        tmp_path,
        csv,
        tables={"products": "sku,name,category,unit_cost,list_price,weight_kg\nSKU1,a,b,1,2,1\n"},
    )
    lines, q = canonicalise(r.lines, ds)
    assert len(lines) == 1
    assert q[["row", "reason", "column", "value"]].values.tolist() == [
        [3, "unknown_sku", "channel_sku", "NOPE"],
        [4, "unknown_currency", "currency", "XYZ"],
    ]
    assert r.rows_read == len(lines) + len(r.quarantine) + len(q)


def test_web_export_is_clean():
    # the builder's reference export has no problems (guards the other tests' baseline)
    assert WEB_CSV.count("\n") == 4


def test_write_helper_writes_bytes(tmp_path):
    p = write(tmp_path / "x" / "y.csv", b"\xff")
    assert p.read_bytes() == b"\xff"


# ---- against the simulator's truth ---------------------------------------------------


@pytest.mark.parametrize("scenario", ["multi_category", "social", "cross_border"])
def test_simulated_dataset_quarantine_matches_truth(tmp_path, scenario):
    """Every injected invalid row is quarantined with the truth's reason and export column,
    nothing else is, and every export row is accounted for."""
    synth = pytest.importorskip("channelops.synth")
    root = tmp_path / scenario
    synth.generate_dataset(root, scenario=scenario, size="tiny", seed=11)
    ds = load_dataset(root)
    quarantined = []
    for ch in ds.channels:
        r = read_export(ds, ch.id)
        lines, q = canonicalise(r.lines, ds)
        assert r.rows_read == len(lines) + len(r.quarantine) + len(q), ch.id
        quarantined += [r.quarantine, q]
    got = pd.concat(quarantined, ignore_index=True)
    truth = pd.read_parquet(root / "truth" / "invalid_rows.parquet")
    key = ["source_file", "row"]
    got_set = set(zip(got["source_file"], got["row"], got["reason"], got["column"], strict=True))
    want = set(
        zip(
            truth["source_file"], truth["row"], truth["reason"], truth["export_column"], strict=True
        )
    )
    assert got_set == want
    assert not got.duplicated(key).any()
