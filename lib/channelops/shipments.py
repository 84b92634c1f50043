"""Shipment-derived figures several stages need: which warehouses serve each channel.

Stage-neutral: 04 splits its inventory policy by warehouse with these shares, and 06 weighs
stock turnover and fill rate per channel with them.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["warehouse_shares"]


def warehouse_shares(
    shipments: pd.DataFrame, channel_ids: list[str] | tuple[str, ...]
) -> pd.DataFrame:
    """Share of each channel's shipped orders per warehouse.

    Channels with no shipments (an offline store ships nothing) hold their own stock: one
    pseudo-warehouse ``<channel_id>_stock`` with share 1.

    Args:
        shipments: order_id, channel_id, warehouse_id (shipments.csv).
        channel_ids: every channel to cover.

    Returns:
        channel_id, warehouse_id, share (summing to 1 per channel).
    """
    missing = {"channel_id", "warehouse_id"} - set(shipments)
    if missing:
        raise KeyError(f"shipments lacks columns {sorted(missing)}")
    counts = shipments.groupby(["channel_id", "warehouse_id"]).size().rename("n").reset_index()
    counts["share"] = counts["n"] / counts.groupby("channel_id")["n"].transform("sum")
    own = [c for c in channel_ids if c not in set(counts["channel_id"])]
    extra = pd.DataFrame(
        {"channel_id": own, "warehouse_id": [f"{c}_stock" for c in own], "share": 1.0}
    )
    out = pd.concat([counts[["channel_id", "warehouse_id", "share"]], extra], ignore_index=True)
    return out[out["channel_id"].isin(channel_ids)].reset_index(drop=True)
