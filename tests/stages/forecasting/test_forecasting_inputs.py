"""04's dataset inputs: shipments counted per channel and warehouse without reading the file whole."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.ingest.contract import DatasetError
from channelops.ingest.tables import _read_table
from channelops.shipments import warehouse_shares
from channelops.stages import forecasting as fc

HEADER = "order_id,channel_id,warehouse_id,promised_ts,carrier\n"


class _Dataset:
    """The three things shipment_counts asks of a dataset; table() is the dataset's reader."""

    def __init__(self, root):
        self.root = root

    def has(self, name):
        return (self.root / f"{name}.csv").is_file()

    def table(self, name):
        return _read_table(self.root, name, "UTC")


def _inputs(counts):
    return fc.StageInputs(None, None, [], None, counts)


def test_shares_from_counted_shipments_match_the_whole_file(tmp_path):
    rows = [
        "o1,web, WH1 ,2024-01-02T10:00:00Z,DHL",
        "o2,web,WH1,2024-01-02T10:00:00Z,DHL",
        "o3,web,WH2,2024-01-02T10:00:00Z,",
        "o4,web,WH1,2024-01-02T10:00:00Z,UPS",
        '"o5",market,WH2,2024-01-02T10:00:00Z,"DHL, express"',
    ]
    (tmp_path / "shipments.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ds = _Dataset(tmp_path)
    counts = fc.shipment_counts(ds)
    assert counts.to_dict("list") == {
        "channel_id": ["market", "web", "web"],
        "warehouse_id": ["WH2", "WH1", "WH2"],
        "n": [1, 3, 1],
    }
    chosen = pd.DataFrame({"channel_id": ["web", "store", "web"]})
    got = fc.channel_warehouse_shares(_inputs(counts), chosen)
    # web ships 3 of 4 from WH1; the store ships nothing and holds its own stock; market is
    # not a channel of the forecasts
    assert got.to_dict("list") == {
        "channel_id": ["web", "web", "store"],
        "warehouse_id": ["WH1", "WH2", "store_stock"],
        "share": [0.75, 0.25, 1.0],
    }
    whole = warehouse_shares(ds.table("shipments"), ["store", "web"])
    pd.testing.assert_frame_equal(got, whole, check_dtype=False)


def test_no_shipments_file_and_a_blank_warehouse(tmp_path):
    ds = _Dataset(tmp_path)
    assert fc.shipment_counts(ds) is None
    assert fc.channel_warehouse_shares(_inputs(None), pd.DataFrame({"channel_id": ["a"]})) is None
    (tmp_path / "shipments.csv").write_text(
        HEADER + "o1,web,WH1,2024-01-02T10:00:00Z,DHL\no2,web,,2024-01-02T10:00:00Z,DHL\n"
    )
    with pytest.raises(DatasetError, match=r"shipments\.csv, line 3, column 'warehouse_id'"):
        fc.shipment_counts(ds)
    (tmp_path / "shipments.csv").write_text("order_id,channel_id\no1,web\n")
    with pytest.raises(DatasetError, match=r"shipments\.csv.*warehouse_id"):
        fc.shipment_counts(ds)
