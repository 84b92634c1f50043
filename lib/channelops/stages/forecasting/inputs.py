"""What notebook 04 reads from the dataset besides the order lines, in one call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from channelops.shipments import warehouse_shares

from .holidays import dataset_holidays
from .inventory import unit_costs
from .models import model_names

__all__ = ["StageInputs", "stage_inputs", "channel_warehouse_shares"]


@dataclass(frozen=True)
class StageInputs:
    """The dataset's inputs to 04.

    Attributes:
        products: products.csv, or None.
        unit_cost: unit cost per SKU (base currency, :func:`.inventory.unit_costs`), or
            None: no stock policy then.
        models: the candidate models named by the ``forecast_models`` parameter.
        holidays: holiday days of the dataset's holidays.csv, or None without one.
        shipments: shipments.csv, or None.
    """

    products: pd.DataFrame | None
    unit_cost: pd.Series | None
    models: list[str]
    holidays: pd.DatetimeIndex | None
    shipments: pd.DataFrame | None


def stage_inputs(ds, forecast_models: str) -> StageInputs:
    """Read 04's inputs from the loaded dataset ``ds`` (:class:`channelops.ingest.Dataset`).

    Raises:
        ValueError: ``forecast_models`` names an unknown model, or holidays.csv has a bad
            row (:func:`.holidays.read_holidays`).
    """
    products = ds.table("products")
    return StageInputs(
        products=products,
        unit_cost=unit_costs(products),
        models=model_names(forecast_models),
        holidays=dataset_holidays(ds.root),
        shipments=ds.table("shipments") if ds.has("shipments") else None,
    )


def channel_warehouse_shares(inputs: StageInputs, chosen: pd.DataFrame) -> pd.DataFrame | None:
    """Each channel's share of shipped orders per warehouse (:func:`warehouse_shares`) for
    the channels of ``chosen``, or None without shipments."""
    if inputs.shipments is None:
        return None
    return warehouse_shares(inputs.shipments, sorted(chosen["channel_id"].unique()))
