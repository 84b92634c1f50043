"""What notebook 04 reads from the dataset besides the order lines, in one call."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from channelops.engine import duckdb_connection

from .holidays import dataset_holidays
from .inventory import unit_costs
from .models import model_names

__all__ = ["StageInputs", "stage_inputs", "channel_warehouse_shares", "shipment_counts"]

#: The columns of shipments.csv that 04 uses.
SHIPMENT_KEYS = ("channel_id", "warehouse_id")


@dataclass(frozen=True)
class StageInputs:
    """The dataset's inputs to 04.

    Attributes:
        products: products.csv, or None.
        unit_cost: unit cost per SKU (base currency, :func:`.inventory.unit_costs`), or
            None: no stock policy then.
        models: the candidate models named by the ``forecast_models`` parameter.
        holidays: holiday days of the dataset's holidays.csv, or None without one.
        shipment_counts: shipments per (channel_id, warehouse_id) of shipments.csv
            (:func:`shipment_counts`), or None without shipments.
    """

    products: pd.DataFrame | None
    unit_cost: pd.Series | None
    models: list[str]
    holidays: pd.DatetimeIndex | None
    shipment_counts: pd.DataFrame | None


def shipment_counts(ds) -> pd.DataFrame | None:
    """Shipments per channel and warehouse, counted by DuckDB over the two columns of
    shipments.csv that 04 needs (the file is never read whole into pandas).

    Args:
        ds: the loaded dataset (:class:`channelops.ingest.Dataset`).

    Returns:
        channel_id, warehouse_id, n (shipments), sorted by channel_id then warehouse_id;
        None without shipments.csv.

    Raises:
        DatasetError: a column is missing or a channel_id / warehouse_id cell is blank; the
            dataset's own reader (``ds.table``) then reads the file to name the line.
    """
    if not ds.has("shipments"):
        return None
    path = Path(ds.root) / "shipments.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = [c.strip() for c in next(csv.reader(fh), [])]
    if not set(SHIPMENT_KEYS) <= set(header):
        ds.table("shipments")  # raises the reader's error naming the missing column
    con = duckdb_connection(threads=2, memory_limit="1GB")
    try:
        counts = con.execute(
            "SELECT trim(channel_id) AS channel_id, trim(warehouse_id) AS warehouse_id, "
            "count(*) AS n FROM read_csv(?, header = true, all_varchar = true) "
            "GROUP BY ALL",
            [str(path)],
        ).df()
    finally:
        con.close()
    blank = counts[["channel_id", "warehouse_id"]].isna() | counts[
        ["channel_id", "warehouse_id"]
    ].eq("")
    if blank.any(axis=None):
        ds.table("shipments")  # raises the reader's error naming the line and column
        raise ValueError("shipments.csv has a blank channel_id or warehouse_id")
    counts = counts.astype({"channel_id": object, "warehouse_id": object, "n": "int64"})
    return counts.sort_values(["channel_id", "warehouse_id"], ignore_index=True)


def stage_inputs(ds, forecast_models: str) -> StageInputs:
    """Read 04's inputs from the loaded dataset ``ds`` (:class:`channelops.ingest.Dataset`).

    Raises:
        ValueError: ``forecast_models`` names an unknown model, or holidays.csv has a bad
            row (:func:`.holidays.read_holidays`); DatasetError: shipments.csv lacks a
            channel or warehouse (:func:`shipment_counts`).
    """
    products = ds.table("products")
    return StageInputs(
        products=products,
        unit_cost=unit_costs(products),
        models=model_names(forecast_models),
        holidays=dataset_holidays(ds.root),
        shipment_counts=shipment_counts(ds),
    )


def channel_warehouse_shares(inputs: StageInputs, chosen: pd.DataFrame) -> pd.DataFrame | None:
    """Each channel's share of shipped orders per warehouse for the channels of ``chosen``,
    or None without shipments.

    The same table as :func:`channelops.shipments.warehouse_shares` on the whole
    shipments.csv: channel_id, warehouse_id, share (of the channel's shipments, summing to
    1 per channel); a channel with no shipments holds its own stock, pseudo-warehouse
    ``<channel_id>_stock`` with share 1.
    """
    if inputs.shipment_counts is None:
        return None
    channel_ids = sorted(chosen["channel_id"].unique())
    counts = inputs.shipment_counts
    share = counts["n"] / counts.groupby("channel_id")["n"].transform("sum")
    shipped = counts[["channel_id", "warehouse_id"]].assign(share=share)
    own = [c for c in channel_ids if c not in set(counts["channel_id"])]
    extra = pd.DataFrame(
        {"channel_id": own, "warehouse_id": [f"{c}_stock" for c in own], "share": 1.0}
    )
    out = pd.concat([shipped, extra], ignore_index=True)
    return out[out["channel_id"].isin(channel_ids)].reset_index(drop=True)
