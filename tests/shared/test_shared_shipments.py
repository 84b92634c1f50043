"""channelops.shipments: which warehouses serve each channel."""

import pandas as pd
import pytest

from channelops.shipments import warehouse_shares


def test_warehouse_shares_by_hand_with_own_stock_for_a_channel_that_ships_nothing():
    shipments = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "channel_id": ["web", "web", "web", "tm", "closed"],
            "warehouse_id": ["N", "N", "S", "S", "N"],
        }
    )
    out = warehouse_shares(shipments, ["web", "tm", "shop"])
    assert out.columns.tolist() == ["channel_id", "warehouse_id", "share"]
    got = {(c, w): s for c, w, s in out.itertuples(index=False, name=None)}
    # "closed" is not asked for; "shop" ships nothing and holds its own stock
    assert got == {
        ("tm", "S"): 1.0,
        ("web", "N"): pytest.approx(2 / 3),
        ("web", "S"): pytest.approx(1 / 3),
        ("shop", "shop_stock"): 1.0,
    }
    assert out.groupby("channel_id")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_warehouse_shares_without_shipments_gives_every_channel_its_own_stock():
    empty = pd.DataFrame({"order_id": [], "channel_id": [], "warehouse_id": []})
    out = warehouse_shares(empty, ("a", "b"))
    assert out["warehouse_id"].tolist() == ["a_stock", "b_stock"]
    assert out["share"].tolist() == [1.0, 1.0]


def test_warehouse_shares_needs_channel_and_warehouse():
    with pytest.raises(KeyError, match=r"shipments lacks columns \['warehouse_id'\]"):
        warehouse_shares(pd.DataFrame({"channel_id": ["web"]}), ["web"])
