"""channelops.ingest.canonical: known answers (UTC, local time, fx), SKU resolution, fx fallbacks,
and property tests: nothing lost and revenue reconciled to the cent on random messy exports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _builders import FX_CSV, PRODUCTS_CSV, build_dataset
from channelops.ingest.canonical import CANONICAL_COLUMNS, canonicalise
from channelops.ingest.dataset import LINE_COLUMNS, QUARANTINE_COLUMNS, load_dataset, read_export

H = "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price,discount,currency"
NY_MAPPING = {"timestamp": {"format": "%Y-%m-%d %H:%M", "timezone": "America/New_York"}}


def _canon(tmp_path, csv, mapping=None, tables=None, **kw):
    root = build_dataset(
        tmp_path / "ds", exports={"c": csv}, mappings={"c": mapping or {}}, tables=tables, **kw
    )
    ds = load_dataset(root)
    r = read_export(ds, "c")
    lines, q = canonicalise(r.lines, ds)
    assert r.rows_read == len(lines) + len(r.quarantine) + len(q)
    return ds, r, lines, q


def test_known_answer_utc_local_and_fx(tmp_path):
    # New York export, reporting in Shanghai, base CNY.
    # row 2: 2024-03-01 20:00 EST (UTC-5) = 2024-03-02 01:00 UTC = 2024-03-02 09:00 CST;
    #        the order date in Shanghai is 03-02, USD rate 7.1:
    #        2 x 10.00 USD x 7.1 - 1.00 x 7.1 = 142.0 - 7.1 = 134.9 CNY
    # row 3: 2024-03-10 03:30 EDT (UTC-4, after the spring-forward) = 07:30 UTC = 15:30 CST;
    #        no USD rate on 03-10: the nearest earlier (03-02, 7.1) applies: 3 x 1.5 x 7.1 = 31.95
    # row 4: EUR on 2024-03-01 16:00 EST = 21:00 UTC = 03-02 05:00 CST; EUR has only 03-01:
    #        7.8 applies: 1 x 100 x 7.8 = 780
    # row 5: CNY is the base: rate 1
    csv = H + (
        "\nA,2024-03-01 20:00,b,SKU1,2,10.00,1.00,USD\n"
        "B,2024-03-10 03:30,b,SKU2,3,1.50,0,USD\n"
        "C,2024-03-01 16:00,b,SKU3,1,100,,EUR\n"
        "D,2024-03-01 16:00,b,SKU3,1,100,,CNY\n"
    )
    ds, r, lines, q = _canon(
        tmp_path, csv, NY_MAPPING, tables={"products": PRODUCTS_CSV, "fx_rates": FX_CSV}
    )
    assert len(q) == 0
    assert list(lines.columns) == [*LINE_COLUMNS, *CANONICAL_COLUMNS]
    assert lines["order_ts"].tolist() == [
        pd.Timestamp("2024-03-02 01:00", tz="UTC"),
        pd.Timestamp("2024-03-10 07:30", tz="UTC"),
        pd.Timestamp("2024-03-01 21:00", tz="UTC"),
        pd.Timestamp("2024-03-01 21:00", tz="UTC"),
    ]
    assert lines["order_ts_local"].tolist() == [
        pd.Timestamp("2024-03-02 09:00"),
        pd.Timestamp("2024-03-10 15:30"),
        pd.Timestamp("2024-03-02 05:00"),
        pd.Timestamp("2024-03-02 05:00"),
    ]
    assert lines["fx_rate"].tolist() == [7.1, 7.1, 7.8, 1.0]
    assert lines["revenue_base"].round(2).tolist() == [134.9, 31.95, 780.0, 100.0]
    assert lines["unit_price_base"].round(4).tolist() == [71.0, 10.65, 780.0, 100.0]
    assert lines["discount_base"].round(4).tolist() == [7.1, 0.0, 0.0, 0.0]
    assert str(lines["order_ts_local"].dtype) == "datetime64[ns]"
    assert lines["sku"].dtype == "string"


def test_missing_fx_rate_before_the_first_rate(tmp_path):
    # 2024-02-29 in Shanghai is before the first USD rate (03-01)
    csv = H + "\nA,2024-02-29 10:00,b,SKU1,1,1,0,USD\nB,2024-03-01 10:00,b,SKU1,1,1,0,USD\n"
    _, _, lines, q = _canon(
        tmp_path, csv, {"timestamp": {"format": "%Y-%m-%d %H:%M"}}, tables={"fx_rates": FX_CSV}
    )
    assert lines["order_id"].tolist() == ["B"]
    assert list(q.columns) == list(QUARANTINE_COLUMNS)
    assert q[["row", "reason", "column", "value"]].values.tolist() == [
        [2, "missing_fx_rate", "currency", "USD"]
    ]
    assert q["message"].iloc[0] == (
        "no fx rate for 'USD' on or before 2024-02-29 (the order's "
        "date in Asia/Shanghai) in fx_rates.csv"
    )


def test_fx_uses_the_reporting_date_not_the_utc_date(tmp_path):
    # 2024-03-01 17:00 UTC is 03-02 01:00 in Shanghai: the 03-02 rate (7.1), not 03-01 (7.2)
    csv = H + "\nA,2024-03-01T17:00:00Z,b,SKU1,1,1,0,USD\n"
    _, _, lines, _ = _canon(tmp_path, csv, tables={"fx_rates": FX_CSV})
    assert lines["fx_rate"].tolist() == [7.1]


def test_unknown_currency_without_fx_table(tmp_path):
    csv = H + "\nA,2024-03-01,b,SKU1,1,1,0,USD\nB,2024-03-01,b,SKU1,1,1,0,CNY\n"
    _, _, lines, q = _canon(tmp_path, csv)
    assert lines["order_id"].tolist() == ["B"]
    assert q["reason"].tolist() == ["unknown_currency"]
    assert q["message"].iloc[0] == (
        "currency 'USD' is neither the base currency CNY nor in "
        "fx_rates.csv (the dataset has no fx_rates.csv)"
    )


def test_sku_map_then_master_fallback(tmp_path):
    csv = H + (
        "\nA,2024-03-01,b,TM-1,1,1,0,CNY\nB,2024-03-01,b,SKU2,1,1,0,CNY\n"
        "C,2024-03-01,b,TM-9,1,1,0,CNY\nD,2024-03-01,b,TM-BAD,1,1,0,CNY\n"
    )
    sku_map = "channel_id,channel_sku,sku\nc,TM-1,SKU1\nc,TM-BAD,GONE\nother,TM-9,SKU3\n"
    _, _, lines, q = _canon(tmp_path, csv, tables={"products": PRODUCTS_CSV, "sku_map": sku_map})
    assert lines["sku"].tolist() == ["SKU1", "SKU2"]  # mapped; a master SKU taken as is
    # TM-9 is mapped for another channel only; TM-BAD maps to a SKU not in products.csv
    assert q[["row", "reason", "column", "value"]].values.tolist() == [
        [4, "unknown_sku", "channel_sku", "TM-9"],
        [5, "unknown_sku", "channel_sku", "TM-BAD"],
    ]
    assert q["message"].iloc[0] == (
        "channel SKU 'TM-9' of channel c is not in sku_map.csv and "
        "is not a master SKU of products.csv"
    )


def test_no_sku_map_requires_master_skus(tmp_path):
    csv = H + "\nA,2024-03-01,b,SKU1,1,1,0,CNY\nB,2024-03-01,b,X,1,1,0,CNY\n"
    _, _, lines, q = _canon(tmp_path, csv, tables={"products": PRODUCTS_CSV})
    assert lines["sku"].tolist() == ["SKU1"]
    assert q["message"].tolist() == [
        "channel SKU 'X' of channel c is not a master SKU of "
        "products.csv (the dataset has no sku_map.csv)"
    ]


def test_first_problem_only(tmp_path):
    # unknown SKU and unknown currency on one line: reported once, as unknown_sku
    csv = H + "\nA,2024-03-01,b,X,1,1,0,XYZ\n"
    _, _, lines, q = _canon(tmp_path, csv, tables={"products": PRODUCTS_CSV})
    assert len(lines) == 0 and q["reason"].tolist() == ["unknown_sku"]


def test_empty_input(tmp_path):
    _, _, lines, q = _canon(tmp_path, H + "\n")
    assert len(lines) == 0 and len(q) == 0
    assert list(lines.columns) == [*LINE_COLUMNS, *CANONICAL_COLUMNS]


def test_missing_column_in_lines_is_a_key_error(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "ds"))
    with pytest.raises(KeyError):
        canonicalise(pd.DataFrame({"channel_id": ["web"]}), ds)


# ---- properties ---------------------------------------------------------------------

_GOOD = {
    "ts": st.sampled_from(
        ["2024-03-01 10:00:00", "2024-03-02 23:59:59", "2024-03-03 00:00:00", "2024-02-29 00:00:00"]
    ),
    "qty": st.integers(1, 50).map(str),
    "price": st.decimals(0, 10_000, places=2, allow_nan=False).map(str),
    "disc": st.one_of(st.just(""), st.decimals(0, 50, places=2, allow_nan=False).map(str)),
    "cur": st.sampled_from(["CNY", "USD", "EUR"]),
    "sku": st.sampled_from(["SKU1", "SKU2", "TM-1"]),
}
_BAD = {
    "ts": st.sampled_from(["", "2024-13-01 00:00:00", "yesterday", "1/2/2024"]),
    "qty": st.sampled_from(["", "0", "-1", "x", "1.5", "1e400"]),
    "price": st.sampled_from(["", "-1", "abc", "nan", "1,5"]),
    "disc": st.sampled_from(["-0.5", "ten"]),
    "cur": st.sampled_from(["XYZ", "usd"]),  # usd is upper-cased: fine
    "sku": st.sampled_from(["NOPE", " "]),
}
_FIELDS = ["ts", "qty", "price", "disc", "cur", "sku"]


@st.composite
def _messy_rows(draw):
    rows = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["good", "good", "bad", "ragged"]))
        vals = {f: draw(_GOOD[f]) for f in _FIELDS}
        if kind == "bad":
            f = draw(st.sampled_from(_FIELDS))
            vals[f] = draw(_BAD[f])
        line = [
            f"o{i // 2}",
            vals["ts"],
            f"b{i}",
            vals["sku"],
            vals["qty"],
            vals["price"],
            vals["disc"],
            vals["cur"],
        ]
        if kind == "ragged":
            line = line[: draw(st.integers(1, 7))] if draw(st.booleans()) else [*line, "x"]
        rows.append(",".join(line))
    return rows


def _expected_revenue(rows: list[str]) -> Decimal:
    """Independent reference: exact decimal revenue of the rows that should be accepted."""
    fx = {
        ("USD", "2024-03-01"): Decimal("7.2"),
        ("USD", "2024-03-02"): Decimal("7.1"),
        ("EUR", "2024-03-01"): Decimal("7.8"),
    }
    total = Decimal(0)
    for row in rows:
        f = row.split(",")
        if len(f) != 8:
            continue
        _, ts, _, sku, qty, price, disc, cur = f
        try:
            day = datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d")
            q, p = Decimal(qty), Decimal(price)
            d = Decimal(disc) if disc else Decimal(0)
        except (ValueError, ArithmeticError):
            continue
        if (
            not p.is_finite()
            or q != q.to_integral_value()
            or q == 0  # quantity 0 is quarantined; a negative one is a reversal
            or abs(q) >= 2**53
            or p < 0
            or d < 0
            or sku.strip() not in ("SKU1", "SKU2", "TM-1")
        ):
            continue
        cur = cur.upper()
        if cur == "CNY":
            rate = Decimal(1)
        else:
            dates = sorted(dt for (c, dt) in fx if c == cur and dt <= day)
            if cur not in ("USD", "EUR") or not dates:
                continue
            rate = fx[(cur, dates[-1])]
        total += q * p * rate - d * rate
    return total


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_messy_rows())
def test_property_nothing_lost_and_revenue_reconciles(tmp_path_factory, rows):
    root = build_dataset(
        tmp_path_factory.mktemp("prop"),
        exports={"c": H + "\n" + "".join(r + "\n" for r in rows)},
        mappings={"c": {"timestamp": {"format": "%Y-%m-%d %H:%M:%S"}}},
        tables={
            "products": PRODUCTS_CSV,
            "fx_rates": FX_CSV,
            "sku_map": "channel_id,channel_sku,sku\nc,TM-1,SKU3\n",
        },
    )
    ds = load_dataset(root)
    r = read_export(ds, "c")
    lines, q = canonicalise(r.lines, ds)
    # nothing lost, each row once
    assert r.rows_read == len(rows) == len(lines) + len(r.quarantine) + len(q)
    seen = np.concatenate([lines["row"], r.quarantine["row"], q["row"]])
    assert sorted(seen.tolist()) == list(range(2, len(rows) + 2))
    # revenue reconciles to the cent with the per-line formula and with exact decimals
    formula = (
        lines["quantity"] * lines["unit_price"] * lines["fx_rate"]
        - lines["discount"] * lines["fx_rate"]
    ).sum()
    assert abs(lines["revenue_base"].sum() - formula) < 0.005
    assert abs(
        Decimal(repr(float(lines["revenue_base"].sum()))) - _expected_revenue(rows)
    ) < Decimal("0.005")


def test_map_target_missing_from_master_falls_back_to_the_code_itself(tmp_path):
    """A sku_map entry whose target is not a master SKU is ignored, so a code that is itself
    a master SKU still resolves (as before the lookups moved to Arrow); lines keep their
    order and the unmapped SKU2 of another channel's entry does not leak in."""
    csv = H + (
        "\nA,2024-03-01,b,SKU2,1,1,0,CNY\nB,2024-03-01,b,TM-1,1,1,0,CNY\n"
        "C,2024-03-01,b,SKU3,1,1,0,CNY\n"
    )
    sku_map = "channel_id,channel_sku,sku\nc,SKU2,GONE\nc,TM-1,SKU1\nother,SKU3,SKU1\n"
    _, _, lines, q = _canon(tmp_path, csv, tables={"products": PRODUCTS_CSV, "sku_map": sku_map})
    assert lines["order_id"].tolist() == ["A", "B", "C"]
    assert lines["sku"].tolist() == ["SKU2", "SKU1", "SKU3"]
    assert str(lines["sku"].dtype) == "string" and q.empty
