"""What 02 reads column by column (channel_selection.source) gives the figures of the whole
tables: the shipment cost columns as the whole table has them; the margins the same
whatever the string type of the key columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.ingest.dataset import load_dataset
from channelops.stages import channel_selection as chn


def test_the_shipment_cost_columns_read_alone_equal_the_whole_table(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    got = ds.table("shipments", columns=chn.SHIPMENT_COST_COLUMNS)
    whole = ds.table("shipments")[chn.SHIPMENT_COST_COLUMNS]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), whole, check_exact=True)


LINES = pd.DataFrame(
    {
        "channel_id": ["b", "a", "b", "a", "c", "b"],
        "order_id": ["o2", "o1", "o2", "o3", "o4", "o5"],
        "sku": ["s1", "s2", None, "s1", "s9", "s2"],
        "quantity": [2, 1, 1, -1, 1, 3],
        "is_merchandise": [True, True, True, True, True, False],
        "net_revenue_base": [20.0, 15.0, 5.0, -10.0, 7.0, 0.3],
        "demand_units": [2, 1, 1, 0, 1, 0],
    }
)
PRODUCTS = pd.DataFrame({"sku": ["s1", "s2"], "unit_cost": [4.0, 6.0]})
CHANNELS = pd.DataFrame({"channel_id": ["a", "b", "c", "d"], "commission_rate": [0.1, 0, 0, 0]})
SHIP = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o2", "o4"],
        "channel_id": ["a", "b", "b", "zz"],
        "warehouse_id": ["w1", "w2", None, "w1"],
        "cost": [3.0, 2.0, 1.0, 9.0],
    }
)
WAREHOUSES = pd.DataFrame({"warehouse_id": ["w1", "w2"], "handling_cost_per_order": [0.5, 1.0]})


@pytest.mark.parametrize("kind", ["object", "string[pyarrow]", "category"])
def test_margins_do_not_depend_on_the_key_columns_string_type(kind):
    keys = ["channel_id", "order_id", "sku"]
    lines = LINES.astype({k: kind for k in keys})
    ship = SHIP.astype({k: kind for k in ("order_id", "channel_id", "warehouse_id")})
    m = chn.channel_margin_rates(lines, PRODUCTS, CHANNELS, ship, WAREHOUSES)
    m = m.set_index("channel_id")
    # by hand: b has o2 (20 + 5) and o5 (0.3, no merchandise): 2 orders; a has o1 (15) and
    # o3 (-10, a reversal): 1 order with revenue > 0; c one order, d none
    assert list(m.index) == ["a", "b", "c", "d"]
    assert m["orders"].tolist() == [1, 2, 1, 0]
    assert m["revenue"].tolist() == [5.0, 25.3, 7.0, 0.0]
    # cogs a: 1 x 6 (s2) - 1 x 4 (s1 back); b: 2 x 4 (s1) and the line without a SKU valued
    # at b's cost share 8/20 of its 5; c: s9 has no cost and c has no known cost share
    assert m["cogs"].tolist() == pytest.approx([2.0, 8.0 + 5.0 * 8.0 / 20.0, 0.0, 0.0])
    # fulfilment: a 3 + 0.5 (w1); b 2 + 1.0 (w2) + 1 (no warehouse); shipment of zz is no
    # channel of ours
    assert m["fulfilment_cost"].tolist() == [3.5, 4.0, 0.0, 0.0]
    assert m.loc["a", "commission"] == pytest.approx(0.5)
    assert np.isnan(m.loc["d", "margin_rate"])
