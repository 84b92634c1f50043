"""Property-based tests of the loader, the canonicaliser and duplicate removal together.

Hypothesis writes randomly messy multi-channel datasets: two CSV dialects (comma and
point; semicolon and decimal comma), two timestamp formats, mapped status words, every
kind of bad row (blank required fields, bad timestamps and numbers, non-positive
quantities, negative prices and discounts, unknown statuses, SKUs and currencies, a
currency with no rate yet, ragged and blank lines) and verbatim repeats of earlier rows.
The generator knows the fate of every row it writes, so the tests check each row's fate,
not only the totals:

* rows read = accepted + duplicates + quarantined, per channel (and ``dq_report`` agrees);
* each bad row is quarantined once, with its own reason; a repeat of a good row is a
  duplicate of the first copy; a repeat of a bad row is quarantined like the original;
* accepted revenue in the base currency equals an exact decimal recomputation from the
  generated values to the cent, per channel.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _builders import build_dataset
from channelops.ingest import intake
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import load_dataset, read_export

HEADER = ["order_id", "order_ts", "buyer_ref", "channel_sku", "quantity", "unit_price",
          "discount", "currency", "status"]  # fmt: skip
PRODUCTS = (
    "sku,name,category,unit_cost,list_price,weight_kg\nSKU1,Tea,food,4,10,0.2\n"
    "SKU2,Cup,home,2,5,0.3\nSKU3,Pot,home,10,30,1.0\n"
)
#: rate_to_base from each date on; GBP has no rate before April, so March GBP lines miss one
FX = {"USD": [("2024-03-01", "7.2"), ("2024-03-05", "7.1")], "EUR": [("2024-03-01", "7.8")],
      "GBP": [("2024-04-01", "9.0")]}  # fmt: skip
FX_CSV = "date,currency,rate_to_base\n" + "".join(
    f"{d},{c},{r}\n" for c, rows in FX.items() for d, r in rows
)
DIALECTS = {"point": {"sep": ",", "decimal": "."}, "comma": {"sep": ";", "decimal": ","}}
TS_FORMATS = ["%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M"]
STATUS_WORDS = {"Completed": "delivered", "已付款": "paid"}
#: kind of bad row -> the quarantine reason it must get
BAD_KINDS = {
    "missing": "missing_value",
    "bad_ts": "bad_timestamp",
    "bad_number": "bad_number",
    "zero_qty": "nonpositive_quantity",
    "negative_price": "negative_price",
    "negative_discount": "negative_discount",
    "unknown_status": "unknown_status",
    "unknown_sku": "unknown_sku",
    "unknown_currency": "unknown_currency",
    "missing_fx": "missing_fx_rate",
    "ragged": "ragged_row",
    "blank_line": "missing_value",  # read as a row whose fields are all empty
}


@dataclass
class Row:
    """One generated export line and what must become of it."""

    text: str
    fate: str  # "accepted", "duplicate" or a quarantine reason
    revenue: Decimal = Decimal(0)  # in the base currency, for accepted rows
    duplicate_of: int | None = None  # index of the original row, for duplicates


def _num(x: Decimal, decimal: str) -> str:
    return str(x).replace(".", decimal)


@st.composite
def channel_export(draw, cid: str) -> tuple[dict, list[Row]]:
    """A mapping and the rows of one channel export."""
    dialect = draw(st.sampled_from(sorted(DIALECTS)))
    sep, dec = DIALECTS[dialect]["sep"], DIALECTS[dialect]["decimal"]
    fmt = draw(st.sampled_from(TS_FORMATS))
    mapping = {
        "columns": {},
        "timestamp": {"format": fmt, "timezone": "Asia/Shanghai"},
        "values": {"status": STATUS_WORDS},
        "read": {"sep": sep, "decimal": dec},
    }
    rows: list[Row] = []
    for i in range(draw(st.integers(0, 18))):
        if rows and draw(st.integers(0, 5)) == 0:  # a verbatim repeat of an earlier row
            j = draw(st.integers(0, len(rows) - 1))
            orig = rows[j]
            while orig.fate == "duplicate":
                orig = rows[orig.duplicate_of]
                j = rows.index(orig)
            fate = "duplicate" if orig.fate == "accepted" else orig.fate
            rows.append(Row(orig.text, fate, duplicate_of=j))
            continue
        # good kinds: a plain line, a guest line (blank buyer), a reversal (negative quantity)
        kind = draw(st.sampled_from(["good"] * 4 + ["guest", "reversal"] + sorted(BAD_KINDS)))
        day = draw(st.integers(1, 10))
        ts = pd.Timestamp(2024, 3, day, draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        qty = Decimal(draw(st.integers(1, 20)))
        price = Decimal(draw(st.integers(0, 200_000))) / 100
        disc = Decimal(draw(st.integers(0, 500))) / 100
        currency = draw(st.sampled_from(["CNY", "CNY", "USD", "EUR"]))
        sku = draw(st.sampled_from(["SKU1", "SKU2", "TM-1"]))  # TM-1 -> SKU3 via sku_map
        status = draw(st.sampled_from(["paid", "shipped", "Completed", "已付款", ""]))
        ref = draw(st.sampled_from(["b1", "顾客7", "x y", "b'2"]))
        f = {
            "order_id": f"{cid}-{i}",
            "order_ts": ts.strftime(fmt),
            "buyer_ref": ref,
            "channel_sku": sku,
            "quantity": str(qty),
            "unit_price": _num(price, dec),
            "discount": draw(st.sampled_from([_num(disc, dec), ""])),
            "currency": currency,
            "status": status,
        }
        if kind == "guest":
            f["buyer_ref"] = draw(st.sampled_from(["", "  "]))
        elif kind == "reversal":
            qty = -qty
            f["quantity"] = str(qty)
        elif kind == "missing":
            required = [c for c in HEADER[:6] if c != "buyer_ref"]  # a blank buyer is a guest
            f[draw(st.sampled_from(required))] = draw(st.sampled_from(["", "  "]))
        elif kind == "bad_ts":
            f["order_ts"] = draw(st.sampled_from(["2024-02-30 25:61:00", "N/A", "yesterday"]))
        elif kind == "bad_number":
            field = draw(st.sampled_from(["quantity", "unit_price", "discount"]))
            f[field] = draw(st.sampled_from(["two", "1x", "abc"]))
        elif kind == "zero_qty":
            f["quantity"] = "0"
        elif kind == "negative_price":
            f["unit_price"] = _num(-price - 1, dec)
        elif kind == "negative_discount":
            f["discount"] = _num(-disc - Decimal("0.01"), dec)
        elif kind == "unknown_status":
            f["status"] = draw(st.sampled_from(["lost", "completed!"]))
        elif kind == "unknown_sku":
            f["channel_sku"] = draw(st.sampled_from(["NOPE9", "sku1"]))
        elif kind == "unknown_currency":
            f["currency"] = "XYZ"
        elif kind == "missing_fx":
            f["currency"] = "GBP"
        fields = [f[c] for c in HEADER]
        if kind == "ragged":
            fields = fields[: draw(st.integers(1, 8))] if draw(st.booleans()) else [*fields, "x"]
        text = "" if kind == "blank_line" else sep.join(fields)
        if kind in BAD_KINDS:
            rows.append(Row(text, BAD_KINDS[kind]))
            continue
        rate = Decimal(1)
        if currency != "CNY":
            rate = Decimal([r for d, r in FX[currency] if d <= ts.strftime("%Y-%m-%d")][-1])
        d = Decimal(f["discount"].replace(dec, ".")) if f["discount"] else Decimal(0)
        rows.append(Row(text, "accepted", qty * price * rate - d * rate))
    return mapping, rows


@st.composite
def messy_dataset(draw) -> dict[str, tuple[dict, list[Row]]]:
    n = draw(st.integers(1, 3))
    return {cid: draw(channel_export(cid)) for cid in ["web", "shop", "pos"][:n]}


def _write(root: Path, spec: dict[str, tuple[dict, list[Row]]]) -> Path:
    exports, mappings = {}, {}
    for cid, (mapping, rows) in spec.items():
        sep = mapping["read"]["sep"]
        exports[cid] = sep.join(HEADER) + "\n" + "".join(r.text + "\n" for r in rows)
        mappings[cid] = mapping
    sku_map = "channel_id,channel_sku,sku\n" + "".join(f"{c},TM-1,SKU3\n" for c in spec)
    return build_dataset(root, exports=exports, mappings=mappings,
                         tables={"products": PRODUCTS, "fx_rates": FX_CSV, "sku_map": sku_map})  # fmt: skip


def _merge(ds):
    """What stage 03 does up to the accounting: read, canonicalise, remove repeats."""
    results = {ch.id: read_export(ds, ch.id) for ch in ds.channels}
    raw = pd.concat([r.lines for r in results.values()], ignore_index=True)
    canon, canon_q = canonicalise(raw, ds)
    quarantine = pd.concat([*(r.quarantine for r in results.values()), canon_q],
                           ignore_index=True)  # fmt: skip
    lines, dups = intake.remove_duplicate_rows(canon, intake.line_no_numbered(ds))
    rows_read = pd.Series({cid: r.rows_read for cid, r in results.items()})
    return rows_read, lines, dups, quarantine


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=messy_dataset())
def test_every_row_has_its_fate_and_revenue_reconciles(spec):
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(_write(Path(tmp) / "ds", spec))
        rows_read, lines, dups, quarantine = _merge(ds)
    for cid, (_, rows) in spec.items():
        file = f"orders/{cid}.csv"
        acc = lines.loc[lines["channel_id"] == cid]
        dup = dups.loc[dups["channel_id"] == cid]
        q = quarantine.loc[quarantine["channel_id"] == cid]
        # rows read = accepted + duplicates + quarantined
        assert rows_read[cid] == len(rows) == len(acc) + len(dup) + len(q)
        # each row's fate, by its line number in the file (header = 1)
        fate = {int(r): "accepted" for r in acc["row"]}
        fate.update({int(r): "duplicate" for r in dup["row"]})
        fate.update({int(r): str(reason) for r, reason in zip(q["row"], q["reason"], strict=True)})
        expected = {k + 2: row.fate for k, row in enumerate(rows)}
        assert fate == expected, f"{file}: rows whose fate differs: " + str(
            {k: (fate.get(k), v) for k, v in expected.items() if fate.get(k) != v}
        )
        first = {
            k + 2: row.duplicate_of + 2 for k, row in enumerate(rows) if row.fate == "duplicate"
        }
        assert (
            dict(zip(dup["row"].astype(int), dup["duplicate_of_row"].astype(int), strict=True))
            == first
        )
        # accepted revenue reconciles to the cent with exact decimals
        want = sum((r.revenue for r in rows if r.fate == "accepted"), Decimal(0))
        got = Decimal(repr(float(acc["revenue_base"].sum())))
        assert abs(got - want) < Decimal("0.005"), (cid, got, want)
    # the stage's own accounting agrees (it raises when a channel does not balance)
    acc_n = lines.groupby("channel_id").size()
    dup_n = dups.groupby("channel_id").size()
    raw_rev = (lines["quantity"] * lines["unit_price"] - lines["discount"]).groupby(
        lines["channel_id"]).sum()  # fmt: skip
    base_rev = lines.groupby("channel_id")["revenue_base"].sum()
    report = intake.dq_report(rows_read, acc_n, dup_n, quarantine, raw_rev, base_rev)
    assert report["balanced"].all()
    assert np.allclose(report.set_index("channel_id")["revenue_base"],
                       base_rev.reindex(report["channel_id"]).fillna(0).round(2))  # fmt: skip
