"""The intake on a real export: a vendored sample of UCI Online Retail II (CC BY 4.0, Chen
2019; tests/data/online_retail/README.md), written as the two web stores' raw exports by the
benchmarks' converter. Every expected figure is recomputed here from the raw CSV text with
pandas, from the export's own conventions (blank Customer ID, ``C`` invoices, negative
quantities, the README's non-product codes), never from the intake's code."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from channelops.ingest import intake
from channelops.ingest.dataset import load_dataset

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "online_retail"
MAPPED = ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"]
#: the README's non-product codes (postage, manual, carriage, discount, samples, bad debt ...)
NOT_PRODUCTS = ["POST", "DOT", "M", "C2", "D", "S", "B", "ADJUST", "BANK CHARGES",
                "AMAZONFEE", "PADS", "TEST001", "gift_0001_*"]  # fmt: skip


def _export(channel: str) -> pd.DataFrame:
    df = pd.read_csv(SAMPLE / "orders" / f"{channel}.csv", dtype=str, keep_default_na=False)
    df["q"] = df["Quantity"].astype(int)
    df["p"] = df["Price"].astype(float)
    return df


def _not_product(code: str) -> bool:
    return any(fnmatch.fnmatchcase(code.upper(), p.upper()) for p in NOT_PRODUCTS)


@pytest.fixture(scope="module")
def ingested():
    result = intake.ingest_lines(load_dataset(SAMPLE))
    return result, intake.intake_accounting(result).set_index("channel_id")


@pytest.mark.parametrize("channel", ["uk_web", "intl_web"])
def test_nothing_quarantined_and_every_row_and_penny_accounted(ingested, channel):
    result, dq = ingested
    raw = _export(channel)
    repeat = raw.duplicated(subset=MAPPED)
    kept = raw.loc[~repeat]
    row = dq.loc[channel]
    assert (row["rows_read"], row["accepted"], row["duplicates"], row["quarantined"]) == (
        len(raw),
        len(kept),
        int(repeat.sum()),
        0,
    )
    assert row["money_export"] == pytest.approx((raw["q"] * raw["p"]).sum(), abs=0.005)
    assert row["money_duplicates"] == pytest.approx((raw["q"] * raw["p"])[repeat].sum(), abs=0.005)
    assert row["money_difference_pennies"] == 0 and row["money_reconciled"]


@pytest.mark.parametrize("channel", ["uk_web", "intl_web"])
def test_guests_reversals_and_non_products_as_the_export_writes_them(ingested, channel):
    result, dq = ingested
    kept = _export(channel).drop_duplicates(subset=MAPPED)
    cancelled = kept["Invoice"].str.startswith("C")
    returned = (kept["q"] < 0) & ~cancelled
    other = kept["StockCode"].map(_not_product)
    row = dq.loc[channel]
    assert row["guest_lines"] == (kept["Customer ID"] == "").sum()
    assert (row["cancelled_lines"], row["returned_lines"]) == (cancelled.sum(), returned.sum())
    assert row["reversal_lines"] == (kept["q"] < 0).sum()
    assert row["non_merchandise_lines"] == other.sum()
    lines = result.lines.loc[result.lines["channel_id"] == channel]
    sells = (kept["q"] > 0) & ~cancelled & ~other
    assert lines["demand_units"].sum() == kept.loc[sells, "q"].sum()
    void = (kept["q"] > 0) & cancelled  # a positive line of a cancelled invoice earns nothing
    net = (kept["q"] * kept["p"]).where(~void, 0.0).sum()
    assert lines["net_revenue_base"].sum() == pytest.approx(net, abs=0.005)


def test_the_sample_holds_what_it_is_meant_to_test(ingested):
    """Guests, cancellations, returns, non-products, negative adjustments and repeats."""
    _, dq = ingested
    for c in ("guest_lines", "cancelled_lines", "returned_lines", "non_merchandise_lines"):
        assert dq[c].sum() > 0, c
    assert dq["duplicates"].sum() > 0
    raw = pd.concat([_export("uk_web"), _export("intl_web")])
    assert (raw["p"] < 0).any()  # the bad-debt adjustments are accepted, not quarantined


def test_repeated_rows_keep_takes_the_repeats_as_real_lines(tmp_path):
    folder = shutil.copytree(SAMPLE, tmp_path / "or")
    for channel in ("uk_web", "intl_web"):
        path = folder / "mappings" / f"{channel}.yaml"
        mapping = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**mapping, "repeated_rows": "keep"}, sort_keys=False))
    result = intake.ingest_lines(load_dataset(folder))
    money = intake.money_accounting(result).set_index("channel_id")
    assert len(result.duplicates) == 0
    assert len(result.lines) == len(_export("uk_web")) + len(_export("intl_web"))
    assert (money["money_accepted"] == money["money_export"]).all()
    assert set(money["repeated_rows"]) == {"keep"}
