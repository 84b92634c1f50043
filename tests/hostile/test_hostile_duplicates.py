"""Hostile inputs, case 4: conflicting duplicates.

The same order line exported twice with different content (prices 10.00 and 9,999.00)
used to be accepted twice. For exports carrying line_no, rows with the same (channel,
order_id, line_no) and different content are all quarantined as conflicting_duplicate;
verbatim repeats stay duplicates; the dq report still balances.
"""

from __future__ import annotations

import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.dataset import load_dataset
from channelops.ingest.intake import (
    ingest_lines,
    intake_accounting,
    split_conflicting_duplicates,
)

H = "order_id,line_no,order_ts,buyer_ref,channel_sku,quantity,unit_price,buyer_name\n"
ROWS = (
    "o1,1,2024-03-01 08:00:00,c1,S1,2,10.00,王小明\n"  # row 2
    'o1,1,2024-03-01 08:00:00,c1,S1,2,"9,999.00",王大明\n'  # row 3: conflicts with 2
    "o1,2,2024-03-01 08:00:00,c1,S2,1,5\n"  # row 4
    "o1,2,2024-03-01 08:00:00,c1,S2,1,5\n"  # row 5: repeat of 4
    "o2,1,2024-03-02 08:00:00,c2,S1,1,10.00\n"
)  # row 6


def _ingest(tmp_path, csv, mapping=None):
    m = mapping or {"read": {"thousands": ","}}
    ds = load_dataset(build_dataset(tmp_path / "ds", exports={"web": csv}, mappings={"web": m}))
    return ingest_lines(ds)


def test_conflicting_rows_both_quarantined(tmp_path):
    plain = ROWS.replace(",王小明", "").replace(",王大明", "")
    got = _ingest(tmp_path, H.replace(",buyer_name", "") + plain)
    assert sorted(got.lines["row"]) == [4, 6]
    q = got.quarantine
    assert q[["row", "reason", "value"]].values.tolist() == [
        [2, "conflicting_duplicate", "1"],
        [3, "conflicting_duplicate", "1"],
    ]
    assert q["message"].tolist() == [
        "order_id 'o1' line_no 1 also on row(s) 3 with different unit_price",
        "order_id 'o1' line_no 1 also on row(s) 2 with different unit_price",
    ]
    assert got.duplicates[["row", "duplicate_of_row"]].values.tolist() == [[5, 4]]
    dq = intake_accounting(got).iloc[0]
    assert (dq.rows_read, dq.accepted, dq.duplicates, dq.quarantined) == (5, 2, 1, 2)
    assert dq.balanced and dq.q_conflicting_duplicate == 2
    assert got.lines_parsed == 5


def test_message_names_personal_columns_without_values(tmp_path):
    got = _ingest(tmp_path, H + ROWS.replace("5\n", "5,张三\n").replace("10.00\n", "10.00,李四\n"))
    assert got.quarantine["row"].tolist() == [2, 3]
    msg = got.quarantine["message"].iloc[0]
    assert msg == (
        "order_id 'o1' line_no 1 also on row(s) 3 with different a personal field, unit_price"
    )  # names, never the values 王小明 / 王大明
    assert len(got.lines) == 2 and len(got.duplicates) == 1


def test_without_line_no_nothing_conflicts(tmp_path):
    csv = (
        "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price\n"
        "o1,2024-03-01 08:00:00,c1,S1,2,10.00\no1,2024-03-01 08:00:00,c1,S1,2,9999.00\n"
    )
    got = _ingest(tmp_path, csv, {})
    assert len(got.lines) == 2 and got.quarantine.empty


def test_split_needs_the_key_columns():
    lines = pd.DataFrame({"channel_id": ["a"], "order_id": ["o"], "row": [2]})
    with pytest.raises(KeyError):
        split_conflicting_duplicates(lines)


def test_split_leaves_numbered_channels():
    lines = pd.DataFrame(
        {
            "source_file": ["f", "f"],
            "row": [2, 3],
            "channel_id": ["a", "a"],
            "order_id": ["o", "o"],
            "line_no": [1, 1],
            "unit_price": [1.0, 2.0],
        }
    )
    kept, q = split_conflicting_duplicates(lines, ["a"])
    assert len(kept) == 2 and q.empty
    kept, q = split_conflicting_duplicates(lines)
    assert kept.empty and q["row"].tolist() == [2, 3]
