"""The intake contract of issue 18 (docs/data-contract.md): guest lines, reversals, status
rules, non-merchandise lines, fill-down, line totals, refunds, currency defaults, the
repeated-line rule and the money accounting, each on a hand-made export with the answer
computed by hand, and each new mapping key with a bad-input case."""

from __future__ import annotations

import numpy as np
import pytest

from _builders import PRODUCTS_CSV, build_dataset, channels_csv
from channelops.ingest import intake
from channelops.ingest.canonical import canonicalise
from channelops.ingest.contract import DatasetError
from channelops.ingest.dataset import load_dataset, read_export

H = "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price"
TS = {"timestamp": {"format": "%Y-%m-%d %H:%M:%S"}}


def _ingest(tmp_path, csv, mapping=None, **kw):
    root = build_dataset(
        tmp_path / "ds", exports={"c": csv}, mappings={"c": {**TS, **(mapping or {})}}, **kw
    )
    ds = load_dataset(root)
    return ds, intake.ingest_lines(ds)


def _load_error(tmp_path, csv, mapping, **kw) -> DatasetError:
    root = build_dataset(
        tmp_path / "ds", exports={"c": csv}, mappings={"c": {**TS, **mapping}}, **kw
    )
    with pytest.raises(DatasetError) as info:
        ds = load_dataset(root)
        read_export(ds, "c")
    return info.value


# ---- guests and reversals -------------------------------------------------------------


def test_blank_buyer_is_a_guest_line_and_negative_quantity_a_reversal(tmp_path):
    csv = (
        H + "\n"
        "A,2024-01-01 10:00:00,b1,SKU1,2,10\n"
        "B,2024-01-01 11:00:00,,SKU1,3,10\n"  # guest
        "C,2024-01-02 10:00:00,b1,SKU1,-1,10\n"  # reversal
        "D,2024-01-02 10:00:00,b1,SKU1,0,10\n"  # quantity 0: no line at all
    )
    _, r = _ingest(tmp_path, csv)
    lines = r.lines
    assert lines["order_id"].tolist() == ["A", "B", "C"]
    assert lines["is_guest"].tolist() == [False, True, False]
    assert lines["buyer_ref"].isna().tolist() == [False, True, False]
    assert lines["revenue_base"].tolist() == [20.0, 30.0, -10.0]
    assert lines["net_revenue_base"].tolist() == [20.0, 30.0, -10.0]
    assert lines["demand_units"].tolist() == [2, 3, 0]
    assert r.quarantine["reason"].tolist() == ["nonpositive_quantity"]


def test_buyer_identity_none_makes_every_line_a_guest(tmp_path):
    csv = "order_id,order_ts,channel_sku,quantity,unit_price\nA,2024-01-01 10:00:00,SKU1,1,5\n"
    _, r = _ingest(tmp_path, csv, {"buyer_identity": "none"})
    assert r.lines["is_guest"].tolist() == [True] and r.lines["buyer_ref"].isna().all()


def test_without_buyer_identity_none_a_missing_buyer_column_is_an_error(tmp_path):
    csv = "order_id,order_ts,channel_sku,quantity,unit_price\nA,2024-01-01 10:00:00,SKU1,1,5\n"
    e = _load_error(tmp_path, csv, {})
    assert e.file == "orders/c.csv" and "buyer_ref" in e.problem
    assert "buyer_identity: none" in e.fix


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        ({"buyer_identity": "nobody"}, "buyer_identity is not one of column, none"),
        (
            {"buyer_identity": "none", "columns": {"buyer_ref": "buyer_ref"}},
            "buyer_identity is none but columns maps buyer_ref",
        ),
    ],
)
def test_buyer_identity_bad_input(tmp_path, mapping, problem):
    e = _load_error(tmp_path, H + "\n", mapping)
    assert (e.file, e.problem) == ("mappings/c.yaml", problem)
    assert e.line is not None and e.fix


# ---- status rules -----------------------------------------------------------------------

RULES = {
    "status_rules": [
        {"order_id_prefix": "C", "status": "cancelled"},
        {"quantity": "negative", "status": "returned"},
        {"column": "Financial Status", "value": ["Refunded"], "status": "returned"},
    ],
    "values": {"status": {"Paid": "paid"}},
    "columns": {"status": "Financial Status"},
}


def test_status_rules_first_match_wins_before_the_word_map(tmp_path):
    csv = (
        H + ",Financial Status\n"
        "A1,2024-01-01 10:00:00,b,SKU1,2,10,Paid\n"  # no rule: the word map
        "C1,2024-01-01 10:00:00,b,SKU1,-2,10,Paid\n"  # prefix before negative quantity
        "A2,2024-01-01 10:00:00,b,SKU1,-1,10,Paid\n"  # negative quantity
        "A3,2024-01-01 10:00:00,b,SKU1,1,10,refunded\n"  # column rule, any case
        "A4,2024-01-01 10:00:00,b,SKU1,1,10,whatever\n"  # no rule, unknown word
        "A5,2024-01-01 10:00:00,b,SKU1,1,10,\n"  # no rule, blank: paid
    )
    _, r = _ingest(tmp_path, csv, RULES)
    assert r.lines["status"].tolist() == ["paid", "cancelled", "returned", "returned", "paid"]
    assert r.quarantine["reason"].tolist() == ["unknown_status"]
    # net revenue: A1 20, C1 -20 (reversal), A2 -10, A3 0 (a returned sale), A5 10
    assert r.lines["net_revenue_base"].tolist() == [20.0, -20.0, -10.0, 0.0, 10.0]
    assert r.lines["demand_units"].tolist() == [2, 0, 0, 0, 1]


def test_status_rules_without_a_status_column(tmp_path):
    csv = H + "\nA1,2024-01-01 10:00:00,b,SKU1,2,10\nC1,2024-01-01 10:00:00,b,SKU1,-2,10\n"
    _, r = _ingest(
        tmp_path, csv, {"status_rules": [{"order_id_prefix": "C", "status": "cancelled"}]}
    )
    assert r.lines["status"].tolist() == ["paid", "cancelled"]


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ("C", "status_rules is not a list"),
        (
            [{"order_id_prefix": "C", "quantity": "negative", "status": "cancelled"}],
            "needs exactly one of",
        ),
        ([{"order_id_prefix": "C", "status": "refunded"}], "status must be one of"),
        ([{"quantity": "positive", "status": "returned"}], "quantity must be `negative`"),
        ([{"column": "Financial Status", "status": "returned"}], "column needs a value"),
        ([{"prefix": "C", "status": "cancelled"}], "unknown key 'prefix'"),
    ],
)
def test_status_rules_bad_input(tmp_path, rules, problem):
    e = _load_error(tmp_path, H + "\n", {"status_rules": rules})
    assert e.file == "mappings/c.yaml" and problem in e.problem
    assert e.line is not None and e.expected and e.fix


def test_status_rule_column_must_be_in_the_export(tmp_path):
    rules = [{"column": "Financial Status", "value": "refunded", "status": "returned"}]
    e = _load_error(tmp_path, H + "\nA,2024-01-01 10:00:00,b,SKU1,1,1\n", {"status_rules": rules})
    assert e.file == "mappings/c.yaml" and e.column == "Financial Status"
    assert "does not have" in e.problem and e.line == 4


# ---- non-merchandise lines ---------------------------------------------------------------


def test_non_merchandise_codes_default_mapping_and_products(tmp_path):
    csv = (
        H + "\n"
        "A,2024-01-01 10:00:00,b,SKU1,2,10.5\n"
        "A,2024-01-01 10:00:00,b,POST,1,18\n"  # default list
        "A,2024-01-01 10:00:00,b,fee-7,1,2\n"  # mapping glob
        "A,2024-01-01 10:00:00,,M,1,-5\n"  # mapping code, negative adjustment
        "A,2024-01-01 10:00:00,b,SKU2,1,5.25\n"  # products.csv says not merchandise
        "A,2024-01-01 10:00:00,b,NOPE,1,1\n"  # merchandise, unknown
    )
    products = PRODUCTS_CSV.replace("weight_kg\n", "weight_kg,merchandise\n")
    products = (
        products.replace("0.2\n", "0.2,yes\n")
        .replace("0.3\n", "0.3,false\n")
        .replace("1.0\n", "1.0,\n")
    )
    _, r = _ingest(
        tmp_path, csv, {"non_merchandise": ["FEE-*", "M"]}, tables={"products": products}
    )
    lines = r.lines
    assert lines["sku"].tolist() == ["SKU1", "POST", "fee-7", "M", "SKU2"]
    assert lines["is_merchandise"].tolist() == [True, False, False, False, False]
    assert lines["demand_units"].tolist() == [2, 0, 0, 0, 0]
    assert lines["net_revenue_base"].tolist() == [21.0, 18.0, 2.0, -5.0, 5.25]
    assert r.quarantine[["value", "reason"]].values.tolist() == [["NOPE", "unknown_sku"]]


def test_negative_price_on_merchandise_is_quarantined(tmp_path):
    csv = H + "\nA,2024-01-01 10:00:00,b,SKU1,1,-3\nA,2024-01-01 10:00:00,b,DISCOUNT,1,-3\n"
    _, r = _ingest(tmp_path, csv)
    assert r.quarantine[["row", "reason"]].values.tolist() == [[2, "negative_price"]]
    assert r.lines["channel_sku"].tolist() == ["DISCOUNT"]


def test_non_merchandise_bad_input(tmp_path):
    e = _load_error(tmp_path, H + "\n", {"non_merchandise": "POST"})
    assert (e.file, e.problem, e.line) == ("mappings/c.yaml", "non_merchandise is not a list", 3)
    e = _load_error(tmp_path, H + "\n", {"non_merchandise": ["POST", {"a": 1}]})
    assert e.problem == "non_merchandise item 2 is not a text"


def test_products_merchandise_cell_must_be_true_or_false(tmp_path):
    products = "sku,merchandise\nSKU1,true\nSKU2,perhaps\n"
    ds, _ = None, None
    root = build_dataset(
        tmp_path / "ds",
        exports={"c": H + "\nA,2024-01-01 10:00:00,b,SKU1,1,1\n"},
        mappings={"c": TS},
        tables={"products": products},
    )
    ds = load_dataset(root)
    r = read_export(ds, "c")
    with pytest.raises(DatasetError) as info:
        canonicalise(r.lines, ds)
    e = info.value
    assert (e.file, e.line, e.column) == ("products.csv", 3, "merchandise")


# ---- fill-down, line totals, refunds, currency --------------------------------------------


def test_fill_down_within_an_order_only(tmp_path):
    csv = (
        "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price,currency,status\n"
        "A,2024-01-01 10:00:00,b,SKU1,1,10,USD,returned\n"
        "A,,,SKU2,2,1,,\n"
        "B,2024-01-02 10:00:00,,SKU1,1,10,,\n"  # a new order: nothing to fill from
        "A,,,SKU1,3,10,,\n"  # A again, later in the file
    )
    fx = "date,currency,rate_to_base\n2024-01-01,USD,7\n"
    _, r = _ingest(
        tmp_path,
        csv,
        {
            "fill_down": ["order_ts", "buyer_ref", "currency", "status"],
            "currency": {"column": "currency"},
        },
        tables={"fx_rates": fx},
    )
    lines = r.lines.sort_values("row")
    assert lines["currency"].tolist() == ["USD", "USD", "CNY", "USD"]
    assert lines["status"].tolist() == ["returned", "returned", "paid", "returned"]
    assert lines["is_guest"].tolist() == [False, False, True, False]
    assert r.currency_filled == {"c": 1}


@pytest.mark.parametrize(
    ("fill", "problem", "line"),
    [
        ("currency", "fill_down is not a list", 3),
        (["order_id"], "fill_down names 'order_id', which is not a canonical field it can fill", 4),
        (["curency"], "fill_down names 'curency', which is not a canonical field it can fill", 4),
    ],
)
def test_fill_down_bad_input(tmp_path, fill, problem, line):
    e = _load_error(tmp_path, H + "\n", {"fill_down": fill})
    assert (e.file, e.problem, e.line) == ("mappings/c.yaml", problem, line)


def test_fill_down_of_a_field_without_a_column(tmp_path):
    e = _load_error(tmp_path, H + "\nA,2024-01-01 10:00:00,b,SKU1,1,1\n", {"fill_down": ["status"]})
    assert e.problem == "fill_down names 'status', which has no column in orders/c.csv"


def test_line_total_gives_the_unit_price(tmp_path):
    csv = (
        "order_id,order_ts,buyer_ref,channel_sku,quantity,item-price\n"
        "A,2024-01-01 10:00:00,b,SKU1,2,21\n"
        "B,2024-01-01 10:00:00,b,SKU1,-1,-10.5\n"
        "C,2024-01-01 10:00:00,b,SKU1,2,-4\n"  # a merchandise total against its quantity
    )
    _, r = _ingest(tmp_path, csv, {"columns": {"line_total": "item-price"}})
    assert r.lines["unit_price"].tolist() == [10.5, 10.5]
    assert r.lines["revenue_base"].tolist() == [21.0, -10.5]
    assert r.quarantine[["column", "value", "reason"]].values.tolist() == [
        ["item-price", "-4", "negative_price"]
    ]


def test_unit_price_and_line_total_both_mapped_is_an_error(tmp_path):
    csv = H + ",total\n"
    e = _load_error(tmp_path, csv, {"columns": {"unit_price": "unit_price", "line_total": "total"}})
    assert e.problem == "columns maps both unit_price and line_total" and e.line == 5


def test_refund_reduces_net_revenue_and_its_sign_is_dropped(tmp_path):
    csv = (
        H + ",refund,status\n"
        "A,2024-01-01 10:00:00,b,SKU1,2,10,5,paid\n"  # partial refund
        "B,2024-01-01 10:00:00,b,SKU1,1,10,-4,paid\n"  # written negative
        "C,2024-01-01 10:00:00,b,SKU1,1,10,10,returned\n"  # whole line returned: 0
        "D,2024-01-01 10:00:00,b,SKU1,1,10,,paid\n"
        "E,2024-01-01 10:00:00,b,SKU1,1,10,ten,paid\n"
    )
    _, r = _ingest(tmp_path, csv)
    assert r.lines["refund_base"].tolist() == [5.0, 4.0, 10.0, 0.0]
    assert r.lines["net_revenue_base"].tolist() == [15.0, 6.0, 0.0, 10.0]
    assert r.quarantine[["column", "reason"]].values.tolist() == [["refund", "bad_number"]]


def test_currency_default_and_fallbacks_are_counted(tmp_path):
    csv = H + ",cur\nA,2024-01-01 10:00:00,b,SKU1,1,1,usd\nB,2024-01-01 10:00:00,b,SKU1,1,1,\n"
    fx = "date,currency,rate_to_base\n2024-01-01,USD,7\n2024-01-01,EUR,8\n"
    _, r = _ingest(
        tmp_path, csv, {"currency": {"column": "cur", "default": "EUR"}}, tables={"fx_rates": fx}
    )
    assert r.lines["currency"].tolist() == ["USD", "EUR"] and r.currency_filled == {"c": 1}
    # without a default: the channel's currency in channels.csv
    _, r = _ingest(
        tmp_path / "b",
        csv,
        {"currency": {"column": "cur"}},
        tables={
            "fx_rates": fx,
            "channels": channels_csv(("c", "own_store", "USD", "Asia/Shanghai")),
        },
    )
    assert r.lines["currency"].tolist() == ["USD", "USD"]
    dq = intake.intake_accounting(r)
    assert dq["currency_filled"].tolist() == [1]
    assert "1 blank currency cells took" in intake.intake_summary(
        dq, intake.revenue_reconciliation(r.lines)
    )


def test_currency_default_bad_input(tmp_path):
    e = _load_error(tmp_path, H + ",cur\n", {"currency": {"column": "cur", "default": "euro"}})
    assert (e.problem, e.line) == ("currency.default is not an ISO 4217 code", 5)


# ---- repeated rows and the money accounting ----------------------------------------------

REPEATS = (
    H + "\n"
    "A,2024-01-01 10:00:00,b,SKU1,1,10\n"
    "A,2024-01-01 10:00:00,b,SKU1,1,10\n"  # verbatim repeat
    "B,2024-01-01 10:00:00,b,SKU1,two,10\n"  # no money to count
    "C,2024-01-01 10:00:00,b,NOPE,3,2.5\n"  # unknown_sku: 7.50 quarantined
    "D,2024-01-01 10:00:00,,SKU1,-1,10\n"  # guest reversal
)


@pytest.mark.parametrize(("rule", "accepted", "dups"), [("duplicate", 2, 1), ("keep", 3, 0)])
def test_repeated_rows_rule_and_money_to_the_penny(tmp_path, rule, accepted, dups):
    _, r = _ingest(tmp_path, REPEATS, {"repeated_rows": rule}, tables={"products": PRODUCTS_CSV})
    assert len(r.lines) == accepted and len(r.duplicates) == dups
    money = intake.money_accounting(r).iloc[0]
    assert money["money_export"] == 10 + 10 + 7.5 - 10
    assert money["money_accepted"] == (20 if rule == "keep" else 10) - 10
    assert money["money_duplicates"] == (0 if rule == "keep" else 10)
    assert money["money_quarantined"] == 7.5
    assert money["rows_without_money"] == 1
    assert money["money_difference_pennies"] == 0 and money["money_reconciled"]
    assert money["repeated_rows"] == rule
    dq = intake.intake_accounting(r).iloc[0]
    assert (dq["guest_lines"], dq["reversal_lines"]) == (1, 1)
    text = intake.intake_summary(
        intake.intake_accounting(r), intake.revenue_reconciliation(r.lines)
    )
    assert "adds up to the penny on every channel: 17.50 read" in text
    assert (
        f"Repeated-line rule: on c, {'a verbatim repeat is a real' if rule == 'keep' else 'a verbatim repeat of a row is an export duplicate'}"
        in text
    )


def test_repeated_rows_bad_input(tmp_path):
    e = _load_error(tmp_path, H + "\n", {"repeated_rows": "drop"})
    assert (e.problem, e.line) == ("repeated_rows is not one of duplicate, keep", 3)


def test_money_difference_is_reported_not_hidden():
    money = {"c": {"export": 10.0, "accepted": 9.0, "duplicates": 0.0, "quarantined": 0.5,
                   "rows_without_money": 0.0}}  # fmt: skip
    r = intake.IngestResult(
        lines=None, quarantine=None, duplicates=None, rows_read={}, warnings=[], money=money
    )
    row = intake.money_accounting(r).iloc[0]
    assert row["money_difference_pennies"] == 50 and not row["money_reconciled"]
    assert np.isclose(row["money_export"] - row["money_accepted"], 1.0)


def test_a_status_rule_column_that_is_filled_down_is_filled_for_the_rule_too(tmp_path):
    """Shopify: Financial Status only on an order's first line; the rule reads it on every
    line of the order once status is filled down."""
    csv = (
        H + ",Financial Status\n"
        "A,2024-01-01 10:00:00,b,SKU1,1,10,refunded\n"
        "A,2024-01-01 10:00:00,b,SKU2,1,5,\n"
        "B,2024-01-01 11:00:00,b,SKU1,1,10,paid\n"
        "B,2024-01-01 11:00:00,b,SKU2,1,5,\n"
    )
    mapping = {
        "columns": {"status": "Financial Status"},
        "fill_down": ["status"],
        "status_rules": [{"column": "Financial Status", "value": "refunded", "status": "returned"}],
    }
    _, r = _ingest(tmp_path, csv, mapping)
    assert r.lines["status"].tolist() == ["returned", "returned", "paid", "paid"]
    assert r.lines["net_revenue_base"].tolist() == [0.0, 0.0, 10.0, 5.0]
