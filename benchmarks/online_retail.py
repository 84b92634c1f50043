"""UCI Online Retail II (first year) written as the store's own raw exports, for benchmarks.

The file in ``../shared/data/online_retail_ii_2009_2010.parquet`` (Chen 2019, UCI Machine
Learning Repository, CC BY 4.0) is one store's whole invoice-line export. This module writes
it as a channelops dataset the way a user would set one up, with nothing invented:

* two channel exports in the retailer's own column names and shapes: the UK web store
  (``uk_web``: customers in the United Kingdom) and the international web store
  (``intl_web``: every other country), rows in the file's order, values as they are
  (guest lines with an empty ``Customer ID``, cancellation invoices starting with ``C``
  and negative quantities, postage and fee codes, zero and negative prices);
* one mapping per export, saying only what the export's columns mean and how the
  retailer's own conventions read (the intake contract's keys, docs/data-contract.md):
  ``status_rules`` (an invoice starting with ``C`` is a cancellation; any other negative
  quantity a return or stock write-off), ``non_merchandise`` (the file's one-letter codes
  ``M`` manual, ``D`` discount, ``S`` samples, ``B`` bad debt; the longer codes ``POST``,
  ``DOT``, ``BANK CHARGES``, ``gift_0001_*`` ... are in the intake's default list) and
  ``repeated_rows`` (the export has no line numbers: ``duplicate`` by default, ``keep`` to
  treat verbatim repeats as real repeated lines);
* ``dataset.yaml`` (base currency GBP, reporting timezone Europe/London);
* no CRM, product master, marketing spend or shipments: the file has none.

This is the one converter of this file: the forecasting, recommendation, customer
(segmentation/CLV) and intake benchmarks all build their dataset with
:func:`write_dataset`, so they measure the same thing.

    .venv/bin/python benchmarks/online_retail.py --out data/online_retail   # write it
    .venv/bin/channelops check data/online_retail                            # the intake's view
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

SOURCE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "online_retail_ii_2009_2010.parquet"
)
ATTRIBUTION = (
    "Online Retail II, UCI Machine Learning Repository (Chen, 2019), "
    "https://doi.org/10.24432/C5CG6D, CC BY 4.0"
)
EXPORT_COLUMNS = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]
DOMESTIC = "United Kingdom"


def raw_exports(retail: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the invoice lines into the two web stores' exports, in file order.

    Args:
        retail: the parquet file's frame (columns :data:`EXPORT_COLUMNS`).

    Returns:
        ``{"uk_web": ..., "intl_web": ...}``; every line lands in exactly one export.
    """
    missing = [c for c in EXPORT_COLUMNS if c not in retail.columns]
    if missing:
        raise ValueError(f"the Online Retail II frame lacks columns {missing}")
    out = retail[EXPORT_COLUMNS].copy()
    # the source stores Customer ID as a float (NaN for guests): the export shows an integer
    ids = out["Customer ID"]
    out["Customer ID"] = ids.map(lambda v: "" if pd.isna(v) else str(int(v)))
    domestic = out["Country"].eq(DOMESTIC)
    return {"uk_web": out[domestic], "intl_web": out[~domestic]}


#: The file's one-letter codes that are not merchandise (the intake's default list leaves
#: one-letter codes to the mapping): manual entries, discounts, samples, bad debt.
NON_MERCHANDISE = ["M", "D", "S", "B"]


def mapping(repeated_rows: str = "duplicate") -> dict:
    """The mapping of one export: what each of the retailer's columns means.

    Args:
        repeated_rows: ``duplicate`` (a verbatim repeat of a line is an export duplicate,
            kept once) or ``keep`` (a real repeated line).
    """
    return {
        "columns": {
            "order_id": "Invoice",
            "order_ts": "InvoiceDate",
            "buyer_ref": "Customer ID",
            "channel_sku": "StockCode",
            "quantity": "Quantity",
            "unit_price": "Price",
        },
        "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Europe/London"},
        "currency": "GBP",
        "status_rules": [
            {"order_id_prefix": "C", "status": "cancelled"},
            {"quantity": "negative", "status": "returned"},
        ],
        "non_merchandise": list(NON_MERCHANDISE),
        "repeated_rows": repeated_rows,
    }


def write_dataset(
    out: str | Path,
    source: str | Path = SOURCE,
    repeated_rows: str = "duplicate",
    retail: pd.DataFrame | None = None,
) -> Path:
    """Write the dataset folder: ``dataset.yaml``, ``orders/*.csv``, ``mappings/*.yaml``.

    Args:
        out: the dataset folder (created).
        source: the parquet file (read unless ``retail`` is given).
        repeated_rows: the mappings' repeated-line rule (see :func:`mapping`).
        retail: the file's frame, when the caller has it already (e.g. a sample).

    Returns:
        ``out`` as a Path.
    """
    out = Path(out)
    retail = pd.read_parquet(source) if retail is None else retail
    (out / "orders").mkdir(parents=True, exist_ok=True)
    (out / "mappings").mkdir(parents=True, exist_ok=True)
    channels = []
    for channel_id, frame in raw_exports(retail).items():
        frame.to_csv(out / "orders" / f"{channel_id}.csv", index=False)
        (out / "mappings" / f"{channel_id}.yaml").write_text(
            yaml.safe_dump(mapping(repeated_rows), sort_keys=False, allow_unicode=True)
        )
        channels.append(
            {
                "id": channel_id,
                "orders": f"orders/{channel_id}.csv",
                "mapping": f"mappings/{channel_id}.yaml",
            }
        )
    spec = {
        "name": "online_retail_ii_2009_2010",
        "base_currency": "GBP",
        "timezone": "Europe/London",
        "channels": channels,
    }
    (out / "dataset.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (out / "SOURCE.txt").write_text(ATTRIBUTION + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/online_retail", help="dataset folder to write")
    parser.add_argument("--source", default=str(SOURCE), help="the parquet file")
    parser.add_argument(
        "--repeated-rows", default="duplicate", choices=["duplicate", "keep"],
        help="the mappings' rule for verbatim repeats of a line",
    )  # fmt: skip
    args = parser.parse_args()
    folder = write_dataset(args.out, args.source, args.repeated_rows)
    print(f"wrote {folder} ({ATTRIBUTION})")


if __name__ == "__main__":
    main()
