"""Stage 00's streamed intake (issue 27): ``write_intake`` writes the accepted lines to a
Parquet file one channel at a time and keeps only per-channel sums, yet gives exactly the
tables of ``ingest_lines`` over all lines at once; the faster paths under it (fixed-width
timestamps, the repeat pre-filter) give pandas' and the full comparison's answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from _builders import PRODUCTS_CSV, build_dataset
from channelops.ingest import intake, timestamps
from channelops.ingest.buyers import buyer_records, lines_with_buyers
from channelops.ingest.contract import STRING
from channelops.ingest.dataset import load_dataset
from channelops.ingest.pii import LINE_PII_COLUMNS, drop_pii
from channelops.run.hashing import table_content_hash

H = "order_id,order_ts,buyer_ref,buyer_name,channel_sku,quantity,unit_price"
MAPPING = {
    "columns": {c: c for c in H.split(",")},
    "timestamp": {"format": "%d.%m.%Y %H:%M:%S", "timezone": "Asia/Shanghai"},
}
A_CSV = (
    H + "\n"
    "A1,01.03.2024 10:00:00,b1,Ann,SKU1,2,10\n"
    "A1,01.03.2024 10:00:00,b1,Ann,SKU2,1,5\n"
    "A1,01.03.2024 10:00:00,b1,Ann,SKU2,1,5\n"  # verbatim repeat of the row above
    "A2,30.02.2024 09:00:00,b2,Bo,SKU1,1,10\n"  # no 30 February: quarantined
    "A3,02.03.2024 11:00:00,,,SKU3,1,30\n"  # guest
    "A4,02.03.2024 12:00:00,b2,Bo,SKU1,-1,10\n"  # reversal
)
B_CSV = (
    H + "\n"
    "B1,1.3.2024 08:00:00,x9,Cy,SKU3,1,30\n"  # one-digit day and month: pandas parses it
    "B2,03.03.2024 08:00:00,x9,Cy,SKU1,3,10\n"
)


def _dataset(tmp_path, exports):
    root = build_dataset(
        tmp_path / "ds",
        exports=exports,
        mappings={c: MAPPING for c in exports},
        tables={"products": PRODUCTS_CSV},
    )
    return load_dataset(root)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """(ingest_lines' result, write_intake's result, folder) on a two-channel dataset."""
    tmp = tmp_path_factory.mktemp("write_intake")
    ds = _dataset(tmp, {"b": B_CSV, "a": A_CSV})
    return intake.ingest_lines(ds), intake.write_intake(ds, tmp / "lines.parquet"), tmp


def test_written_lines_are_the_ingested_lines_without_pii(both):
    ingested, written, tmp = both
    assert written.lines_written == 6  # b: 2; a: 6 rows - 1 repeat - 1 bad date
    got = pd.read_parquet(written.lines_file)
    want = drop_pii(ingested.lines, LINE_PII_COLUMNS)
    assert not set(LINE_PII_COLUMNS) & set(got.columns)
    assert got["order_id"].tolist() == ["B1", "B2", "A1", "A1", "A3", "A4"]  # channel order
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # the stored index numbers the canonical lines: a's repeat (its 3rd line) is missing
    assert got.index.tolist() == [0, 1, 2, 3, 5, 6]
    want.to_parquet(tmp / "want.parquet")
    assert table_content_hash(written.lines_file) == table_content_hash(tmp / "want.parquet")


def test_written_sums_equal_the_sums_over_all_lines(both):
    ingested, written, _ = both
    pd.testing.assert_frame_equal(
        intake.intake_accounting(written), intake.intake_accounting(ingested)
    )
    dq = intake.intake_accounting(written).set_index("channel_id")
    assert dq.loc["a", ["rows_read", "accepted", "duplicates", "quarantined"]].tolist() == [
        6,
        4,
        1,
        1,
    ]
    assert dq.loc["a", "guest_lines"] == 1 and dq.loc["a", "reversal_lines"] == 1
    assert dq.loc["a", "revenue_raw"] == 20 + 5 + 30 - 10
    pd.testing.assert_frame_equal(
        written.reconciliation, intake.revenue_reconciliation(ingested.lines)
    )
    pd.testing.assert_frame_equal(written.buyers, buyer_records(ingested.lines))
    assert written.buyers["buyer_ref"].tolist() == ["b1", "b2", "x9"]  # sorted by channel
    assert written.buyers["n_lines"].tolist() == [2, 1, 2]


def test_no_repeat_anywhere_writes_no_index_as_pandas(tmp_path):
    ds = _dataset(tmp_path, {"b": B_CSV})
    written = intake.write_intake(ds, tmp_path / "lines.parquet")
    want = drop_pii(intake.ingest_lines(ds).lines, LINE_PII_COLUMNS)
    assert isinstance(want.index, pd.RangeIndex)  # pandas writes no index column then
    assert "__index_level_0__" not in pq.ParquetFile(written.lines_file).schema_arrow.names
    want.to_parquet(tmp_path / "want.parquet")
    assert table_content_hash(written.lines_file) == table_content_hash(tmp_path / "want.parquet")
    assert not list(tmp_path.glob(".lines*"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("fmt", "values"),
    [
        (
            "%Y-%m-%d %H:%M:%S",
            ["2024-02-29 23:59:59", "2023-02-29 00:00:00", "2024-1-2 3:04:05", "2024-01-02 24:00:00",
             "2024-01-02 00:00:60", "2300-01-01 00:00:00", " 2024-01-02 00:00:00", None, "", "x"],
        ),
        (
            "%d.%m.%Y %H:%M:%S",
            ["31.12.2024 23:59:59", "31.04.2024 10:00:00", "1.3.2024 08:00:00", "01.13.2024 00:00:00"],
        ),
        (
            "%Y-%m-%d %H:%M:%S %z",
            ["2024-03-01 08:00:00 +0800", "2024-03-01 08:00:00 -0530", "2024-03-01 08:00:00 +08:00",
             "2024-03-01 08:00:00 +1500", "2024-03-01 08:00:00 Z", "2024-03-01 08:00:00"],
        ),
    ],
)  # fmt: skip
def test_fixed_width_timestamps_are_pandas_answers(fmt, values):
    s = pd.Series(values, dtype=STRING, index=range(10, 10 + len(values)))
    aware = "%z" in fmt
    want = pd.to_datetime(s, format=fmt, errors="coerce", utc=aware)
    got = timestamps._parse_fixed_width(s, fmt)
    pd.testing.assert_series_equal(got, want.astype(got.dtype))
    if aware:  # by hand: 08:00 at +08:00 is midnight UTC, at -05:30 13:30 UTC
        assert got.iloc[0] == pd.Timestamp("2024-03-01 00:00", tz="UTC")
        assert got.iloc[1] == pd.Timestamp("2024-03-01 13:30", tz="UTC")


def test_fixed_width_layout_refuses_other_formats():
    assert timestamps._fixed_width_layout("%Y/%m/%d %H:%M") is None  # no seconds
    assert timestamps._fixed_width_layout("%b %d %Y %H:%M:%S") is None  # month names
    assert timestamps._fixed_width_layout("%Y年%m月%d日 %H:%M:%S") is None  # non-ASCII
    assert timestamps._fixed_width_layout("%Y-%m-%dT%H:%M:%S")[2] == 19


def test_bad_fixed_width_timestamp_is_quarantined_with_its_row(both):
    ingested, _, _ = both
    q = ingested.quarantine
    bad = q[q["reason"] == "bad_timestamp"]
    assert bad[["channel_id", "row", "value"]].values.tolist() == [
        ["a", 5, "30.02.2024 09:00:00"]  # line 5 of the file (header: line 1)
    ]


def test_repeat_codes_group_as_the_full_comparison():
    frame = pd.DataFrame(
        {
            "source_file": pd.Series(["f"] * 6, dtype=STRING),
            "order_id": pd.Series(["o1", "o1", "o1", "o2", None, None], dtype=STRING),
            "order_ts": pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02", None, None], utc=True),
            "quantity": [1, 1, 1, 2, 3, 3],
            # rows 0 and 1 differ only here, outside the pre-filter's columns
            "status": pd.Series(["paid", "shipped", "paid", "paid", None, None], dtype=STRING),
        }
    )
    codes = intake._repeat_codes(frame)
    full = intake._group_codes(frame, list(frame.columns))
    assert (codes[:, None] == codes[None, :]).tolist() == (full[:, None] == full[None, :]).tolist()
    assert codes[0] == codes[2] and codes[4] == codes[5]
    assert len(set(codes.tolist())) == 4 and codes.max() < len(frame)
    assert np.array_equal(intake._group_codes(frame, ["order_ts"]), np.array([0, 0, 0, 1, 2, 2]))


def test_lines_with_buyers_leave_buyer_records_unchanged(both):
    ingested, _, _ = both
    lines = ingested.lines  # 6 lines, 1 guest
    mostly_guests = lines.assign(buyer_ref=lines["buyer_ref"].where(lines["order_id"] == "A1"))
    for frame in (lines, mostly_guests):
        pd.testing.assert_frame_equal(buyer_records(lines_with_buyers(frame)), buyer_records(frame))
    assert len(lines_with_buyers(lines)) == 6  # few guests: no rows copied
    assert len(lines_with_buyers(mostly_guests)) == 2  # the two A1 lines of b1
    assert buyer_records(lines_with_buyers(mostly_guests))["n_lines"].tolist() == [2]


def test_read_ahead_writes_what_the_serial_read_writes(tmp_path):
    """The next channel's export read in a worker while this one is written (issue 27):
    the same file, byte for byte in content, and the same tables as one thread gives."""
    ds = _dataset(tmp_path, {"b": B_CSV, "a": A_CSV, "c": B_CSV.replace("B", "C")})
    one = intake.write_intake(ds, tmp_path / "one.parquet", read_ahead=False)
    two = intake.write_intake(ds, tmp_path / "two.parquet", read_ahead=True)
    assert one.lines_written == two.lines_written == 8
    assert table_content_hash(one.lines_file) == table_content_hash(two.lines_file)
    for name in ("kinds", "reconciliation", "buyers"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    for x, y in zip(one.sums, two.sums, strict=True):
        pd.testing.assert_series_equal(x, y)
    for name in ("quarantine", "duplicates", "lines"):
        pd.testing.assert_frame_equal(getattr(one.ingested, name), getattr(two.ingested, name))
    for name in ("rows_read", "warnings", "money", "currency_filled", "repeated_rows"):
        assert getattr(one.ingested, name) == getattr(two.ingested, name)
    pd.testing.assert_frame_equal(intake.intake_accounting(one), intake.intake_accounting(two))


def test_read_ahead_raises_a_reads_error_as_the_serial_read(tmp_path):
    ds = _dataset(tmp_path, {"b": B_CSV, "a": A_CSV})
    (ds.root / ds.channel("a").source_file).write_text("order_id,quantity\nA1,1\n")
    errors = []
    for ahead in (False, True):
        with pytest.raises(Exception) as e:
            intake.write_intake(ds, tmp_path / f"{ahead}.parquet", read_ahead=ahead)
        errors.append((type(e.value), str(e.value)))
        assert not list(tmp_path.glob(f".{ahead}*"))  # no temporary file left behind
    assert errors[0] == errors[1] and "orders/a.csv does not have" in errors[0][1]


def test_no_rows_holds_none_of_the_lines(both):
    ingested, _, _ = both
    lines = ingested.lines
    empty = intake._no_rows(lines)
    pd.testing.assert_frame_equal(empty, lines.iloc[:0])

    def held(frame, c):  # bytes of memory the column's empty array keeps alive
        arr = frame[c].array
        if isinstance(arr, pd.arrays.ArrowExtensionArray):
            return sum(b.size for ch in arr.__arrow_array__().chunks for b in ch.buffers() if b)
        data = np.asarray(getattr(arr, "_ndarray", arr))
        return 0 if data.base is None else data.base.nbytes

    assert sum(held(lines.iloc[:0], c) for c in lines.columns) > 0  # a slice is a view
    assert {c: held(empty, c) for c in lines.columns} == dict.fromkeys(lines.columns, 0)
