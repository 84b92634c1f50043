"""Data strings enter stage 06's sentences escaped; money and name lists read the same everywhere."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import evaluation as ev

SCRIPT_NAME = "free<script>alert(4)</script>_coupon"


def test_escape_data_turns_markup_into_text():
    assert ev.escape_data(SCRIPT_NAME) == "free&lt;script&gt;alert(4)&lt;/script&gt;_coupon"
    assert ev.escape_data("a&b") == "a&amp;b"
    assert ev.escape_data('it\'s "x"') == "it&#x27;s &quot;x&quot;"
    assert ev.escape_data("own_store") == "own_store"  # a plain id is unchanged
    assert ev.escape_data(7) == "7"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_escape_data_refuses_a_missing_value(missing):
    with pytest.raises(ValueError, match="missing"):
        ev.escape_data(missing)


def test_money_text_rounds_to_units_with_separators():
    assert ev.money_text(1234.6, "CNY") == "1,235 CNY"
    assert ev.money_text(-3165.2, "E<R") == "-3,165 E&lt;R"
    with pytest.raises(ValueError):
        ev.money_text("a lot", "CNY")


def test_names_text_escapes_each_name():
    assert ev.names_text(["a", "b<c", "d"]) == "a, b&lt;c, d"
    assert ev.names_text([]) == ""
    with pytest.raises(ValueError):
        ev.names_text(["a", None])
