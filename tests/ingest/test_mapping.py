"""channelops.ingest.mapping: each section of a mapping parsed on its own (plain dicts, no
files), with the known answer and the message of a wrong entry."""

from __future__ import annotations

import pytest

from channelops.ingest.contract import DatasetError, ReadDialect
from channelops.ingest.mapping import (
    _columns_section,
    _currency_section,
    _read_section,
    _timestamp_section,
    _values_section,
    _yaml_word,
)

REL = "mappings/c.yaml"
LINES = {
    ("columns",): 1,
    ("columns", "quantty"): 2,
    ("timestamp",): 3,
    ("timestamp", "format"): 4,
    ("currency",): 5,
    ("values", "status"): 6,
    ("read", "thousands"): 7,
}


def _error(fn, *args) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        fn(*args)
    return info.value


def test_columns_are_stripped_and_unknown_fields_get_a_guess():
    assert _columns_section({"columns": {"order_id": " 订单编号 "}}, REL, LINES) == {
        "order_id": "订单编号"
    }
    assert _columns_section({}, REL, LINES) == {}
    e = _error(_columns_section, {"columns": {"quantty": "Menge"}}, REL, LINES)
    assert (e.line, e.problem) == (2, "unknown canonical field 'quantty' in columns")
    assert e.fix == (
        "rename 'quantty' to a canonical field (did you mean 'quantity'?) or remove it"
    )
    e = _error(_columns_section, {"columns": {"order_id": 7}}, REL, LINES)
    assert e.problem == "columns.order_id is not a column name" and e.found == "7"


def test_timestamp_as_a_word_a_mapping_or_absent():
    assert _timestamp_section({}, REL, LINES) == ("iso8601", None)
    assert _timestamp_section({"timestamp": "unix_ms"}, REL, LINES) == ("unix_ms", None)
    assert _timestamp_section({"timestamp": {"timezone": "Europe/Berlin"}}, REL, LINES) == (
        "iso8601",
        "Europe/Berlin",
    )
    e = _error(_timestamp_section, {"timestamp": {"format": "YYYY-MM-DD"}}, REL, LINES)
    assert (e.line, e.problem) == (4, "timestamp.format is not a strftime pattern or special word")
    e = _error(_timestamp_section, {"timestamp": {"format": "%Y", "timezone": "Mars"}}, REL, LINES)
    assert e.problem == "timestamp.timezone is not an IANA timezone name"


def test_currency_is_a_code_or_a_column_never_both():
    assert _currency_section({}, REL, LINES, {}) == (None, None)
    assert _currency_section({"currency": "USD"}, REL, LINES, {}) == ("USD", None)
    assert _currency_section({"currency": {"column": " Währung "}}, REL, LINES, {}) == (
        None,
        "Währung",
    )
    # the same column under columns: and currency: is not a conflict
    assert _currency_section({"currency": {"column": "cur"}}, REL, LINES, {"currency": "cur"}) == (
        None,
        "cur",
    )
    e = _error(_currency_section, {"currency": "USD"}, REL, LINES, {"currency": "cur"})
    assert (e.line, e.problem, e.found) == (
        5,
        "currency is mapped twice",
        "currency: USD and columns.currency: cur",
    )
    e = _error(_currency_section, {"currency": "usd"}, REL, LINES, {})
    assert e.problem == "currency is not an ISO 4217 code"


def test_value_words_are_text_and_status_targets_are_statuses():
    values = {"status": {"已付款": "paid", True: "delivered", 3: "shipped"}}
    assert _values_section({"values": values}, REL, LINES) == {
        "status": {"已付款": "paid", "true": "delivered", "3": "shipped"}
    }
    e = _error(_values_section, {"values": {"status": {"x": "done", "y": "ok"}}}, REL, LINES)
    assert (e.line, e.problem, e.found) == (
        6,
        "values.status maps to a word that is not a status",
        "'done', 'ok'",
    )
    assert _yaml_word(False) == "false" and _yaml_word(" a ") == "a"


def test_read_dialect_defaults_and_checks():
    assert _read_section({}, REL, LINES) == ReadDialect()
    assert _read_section(
        {"read": {"sep": ";", "decimal": ",", "thousands": "."}}, REL, LINES
    ) == ReadDialect(sep=";", decimal=",", thousands=".")
    e = _error(_read_section, {"read": {"decimal": ",", "thousands": ","}}, REL, LINES)
    assert (e.line, e.problem) == (7, "read.decimal and read.thousands are the same character")
    e = _error(_read_section, {"read": {"encoding": "klingon"}}, REL, LINES)
    assert e.problem == "read.encoding is not a known text encoding"
