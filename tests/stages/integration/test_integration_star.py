"""Stage 03's line tables built from Parquet files (streamed order lines, orders per
channel) equal the in-memory functions they replace, on hand-made lines."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from channelops.frames import arrow_string_dtype
from channelops.run.hashing import table_content_hash
from channelops.stages import integration as integ
from channelops.stages.integration import merge, star


def _lines() -> pd.DataFrame:
    """Eight lines, channels interleaved (not sorted), with a stored (non-range) index as
    the intake writes it: u1 on a in two orders (o1 of three lines), a guest order g1 on
    a, u2 on b, u9 on a (no link), a line of u3 on c marked guest although it has a
    buyer_ref, u1 on b. Revenue in tenths that do not add exactly in binary."""
    frame = pd.DataFrame(
        {
            "source_file": "orders/x.csv",
            "channel_id": ["a", "b", "a", "a", "c", "a", "a", "b"],
            "order_id": ["o1", "o3", "o1", "g1", "o5", "o1", "o4", "o6"],
            "line_no": [1, 1, 2, 1, 1, 3, 1, 1],
            "order_ts": pd.to_datetime(
                [
                    "2024-01-02",
                    "2024-01-05",
                    "2024-01-01",
                    "2024-01-03",
                    "2024-01-04",
                    "2024-01-02",
                    "2024-01-06",
                    "2024-01-07",
                ],
                utc=True,
            ),  # fmt: skip
            "buyer_ref": pd.array(
                ["u1", "u2", "u1", None, "u3", "u1", "u9", "u1"], dtype="string[pyarrow]"
            ),  # fmt: skip
            "is_guest": [False, False, False, True, True, False, False, False],
            "status": ["paid", "paid", None, "paid", "paid", "shipped", "paid", "paid"],
            "city": pd.array(
                [None, "SH", "BJ", None, None, "GZ", None, "SZ"], dtype="string[pyarrow]"
            ),  # fmt: skip
            "quantity": [1, 2, 1, 1, 1, -1, 3, 1],
            "revenue_base": [0.1, 2.5, 0.2, 7.0, 3.0, 0.3, 1.1, 9.9],
            "net_revenue_base": [0.1, 2.5, 0.2, 7.0, 0.0, 0.3, 1.1, 9.9],
            "demand_units": [1, 2, 1, 1, 0, 0, 3, 1],
            "buyer_name": ["Li", "Wang", "Li", "G", "Zhao", "Li", "Q", "Li"],  # personal
        },
        index=pd.Index([10, 11, 12, 13, 14, 15, 16, 17], name=None),
    )
    frame["order_ts_local"] = frame["order_ts"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return frame


LINKS = pd.DataFrame(
    {
        "channel_id": ["a", "b", "b", "c", "a"],
        "buyer_ref": pd.array(["u1", "u2", "u1", "u3", None], dtype="string"),
        "customer_id": ["C1", "C2", "C1", "C3", "C9"],  # C3 and C9 must reach no line
    }
)


@pytest.fixture
def intake_file(tmp_path):
    path = tmp_path / "intake_lines.parquet"
    _lines().to_parquet(path)  # index stored, as 00 writes it
    return path


def _in_memory(intake_file):
    lines = pq.read_table(intake_file).to_pandas(types_mapper=arrow_string_dtype)
    return integ.attach_customers(lines.reset_index(drop=True), LINKS)


@pytest.mark.parametrize("batch_rows", [3, 1000])
def test_streamed_order_lines_equal_attach_customers(intake_file, tmp_path, batch_rows):
    target = tmp_path / "order_lines.parquet"
    integ.write_order_lines(intake_file, LINKS, target, batch_rows=batch_rows)
    want = tmp_path / "want.parquet"
    _in_memory(intake_file).to_parquet(want, index=False)
    assert table_content_hash(target) == table_content_hash(want)
    got = integ.read_lines(target, ["customer_id", "buyer_name", "order_id"])
    # the guest line of u3 and the link with no buyer_ref reach no line; u9 has no link
    assert got["customer_id"].tolist() == ["C1", "C2", "C1", pd.NA, pd.NA, "C1", pd.NA, "C1"]
    assert list(got.columns) == ["customer_id", "order_id"]  # personal column left out
    assert not list(tmp_path.glob(".order_lines*"))  # no temporary file left behind


def test_orders_by_channel_equal_build_orders(intake_file, tmp_path):
    target = integ.write_order_lines(intake_file, LINKS, tmp_path / "ol.parquet", batch_rows=2)
    got = integ.orders_by_channel(target)
    want = integ.build_orders(_in_memory(intake_file))
    pd.testing.assert_frame_equal(got, want)
    o1 = got.set_index(["channel_id", "order_id"]).loc[("a", "o1")]
    assert o1["n_lines"] == 3 and o1["units"] == 1 and o1["customer_id"] == "C1"
    assert o1["revenue_base"] == pytest.approx(0.6)
    assert o1["order_ts"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert o1["status"] == "paid" and o1["city"] == "BJ"  # first non-missing value
    assert got["channel_id"].tolist() == ["a", "a", "a", "b", "b", "c"]


def test_write_order_lines_names_the_file_when_buyer_ref_is_missing(tmp_path):
    path = tmp_path / "intake_lines.parquet"
    _lines().drop(columns="buyer_ref").to_parquet(path)
    with pytest.raises(ValueError, match=r"intake_lines\.parquet.*no column buyer_ref"):
        integ.write_order_lines(path, LINKS, tmp_path / "order_lines.parquet")
    assert not (tmp_path / "order_lines.parquet").exists()


def test_empty_lines_give_empty_tables(tmp_path):
    path = tmp_path / "intake_lines.parquet"
    _lines().iloc[:0].to_parquet(path)
    target = integ.write_order_lines(path, LINKS, tmp_path / "order_lines.parquet")
    assert integ.line_count(target) == 0
    assert "customer_id" in pq.ParquetFile(target).schema_arrow.names
    assert integ.orders_by_channel(target).empty


def test_dimension_tables_fall_back_to_the_lines_skus_and_dataset_channels(tmp_path):
    path = tmp_path / "lines.parquet"
    pd.DataFrame({"sku": ["s2", "s1", "s2"]}).to_parquet(path)
    products, channels = integ.dimension_tables(None, None, ["b", "a"], path)
    assert products["sku"].tolist() == ["s1", "s2"]
    assert channels["channel_id"].tolist() == ["b", "a"]
    given = pd.DataFrame({"sku": ["x"]})
    assert integ.dimension_tables(given, None, [], path)[0] is given


def test_guest_summary_and_overlap_the_same_from_arrow_strings(intake_file, tmp_path):
    target = integ.write_order_lines(intake_file, LINKS, tmp_path / "ol.parquet")
    arrow = integ.read_lines(target, [*integ.GUEST_COLUMNS, "customer_id"])
    plain = arrow.astype({c: object for c in ("channel_id", "order_id", "customer_id")})
    pd.testing.assert_frame_equal(integ.guest_summary(arrow), integ.guest_summary(plain))
    got = integ.guest_summary(arrow).set_index("channel_id")
    assert got["guest_lines"].to_dict() == {"a": 1, "b": 0, "c": 1}
    known = integ.customer_lines(arrow)
    pd.testing.assert_frame_equal(
        integ.channel_overlap_matrix(known),
        integ.channel_overlap_matrix(integ.customer_lines(plain)),
    )
    assert integ.channel_overlap_matrix(known).loc["a", "b"] == 1  # C1 buys on a and b


def test_write_review_file_makes_the_folder(tmp_path):
    path = integ.write_review_file(pd.DataFrame({"customer_id": ["K1"]}), tmp_path, "x.csv")
    assert path == tmp_path / "review" / "x.csv"
    assert path.read_text().splitlines() == ["customer_id", "K1"]


def test_orders_on_codes_equal_build_orders_across_channels_and_missing_keys(intake_file):
    lines = _in_memory(intake_file)
    lines.loc[1, "order_id"] = pd.NA  # a line without an order id makes no order
    lines.loc[0, "customer_id"] = pd.NA  # o1's customer then comes from its second line
    want = integ.build_orders(lines)
    got = integ.orders_on_codes(lines)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(got) == 5 and got.loc[got["order_id"] == "o1", "customer_id"].item() == "C1"
    assert got.loc[got["order_id"] == "o4", "city"].isna().item()  # no line has one
    # text not in Arrow memory: the group-by of build_orders itself, the same table
    plain = lines.astype({"status": object})
    pd.testing.assert_frame_equal(integ.orders_on_codes(plain), integ.build_orders(plain))


def test_orders_and_guests_channel_by_channel_equal_all_lines_at_once(intake_file, tmp_path):
    target = integ.write_order_lines(intake_file, LINKS, tmp_path / "ol.parquet", batch_rows=3)
    orders, guests = integ.orders_and_guests(target)
    lines = _in_memory(intake_file)
    pd.testing.assert_frame_equal(orders, integ.build_orders(lines))
    pd.testing.assert_frame_equal(guests, integ.guest_summary(lines), check_exact=True)
    # a: the guest order g1 (7.0); c: u3's line marked guest, cancelled (net 0.0)
    got = guests.set_index("channel_id")
    assert got["guest_orders"].to_dict() == {"a": 1, "b": 0, "c": 1}
    assert got["guest_revenue_base"].to_dict() == {"a": 7.0, "b": 0.0, "c": 0.0}
    assert integ.orders_and_guests(target, guests=False)[1] is None


def _grouped(tmp_path):
    """The lines of _lines grouped by channel (c, a, b: not sorted), as the intake writes
    them."""
    path = tmp_path / "grouped.parquet"
    lines = _lines()
    order = {"c": 0, "a": 1, "b": 2}
    lines.iloc[lines["channel_id"].map(order).argsort(kind="stable")].to_parquet(path)
    return path


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 1000])
def test_star_lines_build_orders_as_written_when_channels_come_grouped(
    tmp_path, monkeypatch, batch_rows
):
    grouped = _grouped(tmp_path)
    want_file = integ.write_order_lines(grouped, LINKS, tmp_path / "want.parquet")
    want_orders, want_guests = integ.orders_and_guests(want_file)

    def no_read_back(*args, **kwargs):
        raise AssertionError("the file was read back")

    monkeypatch.setattr(star, "orders_and_guests", no_read_back)
    path, orders, guests = integ.write_star_lines(
        grouped, LINKS, tmp_path / "order_lines.parquet", batch_rows=batch_rows
    )
    assert table_content_hash(path) == table_content_hash(want_file)
    pd.testing.assert_frame_equal(orders, want_orders, check_exact=True)
    pd.testing.assert_frame_equal(guests, want_guests, check_exact=True)
    assert orders["channel_id"].tolist() == ["a", "a", "a", "b", "b", "c"]  # sorted
    o1 = orders.set_index(["channel_id", "order_id"]).loc[("a", "o1")]
    assert (o1["n_lines"], o1["units"], o1["status"], o1["city"]) == (3, 1, "paid", "BJ")
    assert guests.set_index("channel_id")["guest_lines"].to_dict() == {"a": 1, "b": 0, "c": 1}


def test_star_lines_read_the_file_back_when_a_channel_comes_back(intake_file, tmp_path):
    # _lines has a, b, a, ...: channel a comes back after b
    path, orders, guests = integ.write_star_lines(
        intake_file, LINKS, tmp_path / "order_lines.parquet", batch_rows=3
    )
    pd.testing.assert_frame_equal(orders, integ.build_orders(_in_memory(intake_file)))
    pd.testing.assert_frame_equal(guests, integ.guest_summary(_in_memory(intake_file)))
    with pytest.raises(ValueError, match="no column buyer_ref"):
        bad = tmp_path / "bad.parquet"
        _lines().drop(columns="buyer_ref").to_parquet(bad)
        integ.write_star_lines(bad, LINKS, tmp_path / "x.parquet")


def test_overlap_views_equal_overlap_and_matrix_each_alone():
    # K1 buys on a and b, K2 on b, K3 on c; guest lines (no customer) on a and on d only
    lines = pd.DataFrame(
        {
            "customer_id": pd.array(
                ["K2", "K1", None, "K1", "K3", None, "K2"], dtype="string[pyarrow]"
            ),
            "channel_id": pd.array(["b", "a", "a", "b", "c", "d", "b"], dtype="string[pyarrow]"),
            "revenue_base": [0.1, 0.2, 5.0, 0.3, 1.0, 7.0, 0.7],
        }
    )
    overlap, matrix = integ.overlap_views(lines)
    pd.testing.assert_frame_equal(overlap, integ.customer_overlap(lines), check_exact=True)
    want = integ.channel_overlap_matrix(integ.customer_lines(lines))
    pd.testing.assert_frame_equal(matrix, want, check_exact=True)
    assert overlap[["n_channels", "customers"]].values.tolist() == [[1, 2], [2, 1]]
    assert overlap["revenue_base"].tolist() == [1.8, 0.5]  # K2 0.8 + K3 1.0; K1 0.5
    assert list(matrix.index) == ["a", "b", "c"]  # d has guest lines only
    assert matrix.loc["a", "b"] == 1 and matrix.loc["b", "b"] == 2 and matrix.loc["c", "a"] == 0
    # a customer's line without a channel: the matrix's own function ("<NA>" channel)
    lines.loc[4, "channel_id"] = pd.NA
    overlap, matrix = integ.overlap_views(lines)
    want = integ.channel_overlap_matrix(integ.customer_lines(lines))
    pd.testing.assert_frame_equal(matrix, want, check_exact=True)
    assert "<NA>" in matrix.index


@pytest.mark.parametrize(
    "values",
    [
        ["o3", "o3", "o1", "o2", "o2", "o2"],  # each order one run: no hashing
        ["o2", "o1", "o2"],  # o2 in two runs: factorize itself
        ["o1", None, "o1"],  # a missing id: factorize itself
        ["ö", "o", "ä", "a"],  # code-point order, as Arrow and Python sort
        [],
    ],
)
def test_sorted_codes_equal_factorize_sorted(values):
    arr = pd.array(values, dtype="string[pyarrow]")
    codes, uniques = star._sorted_codes(arr)
    want_codes, want_uniques = pd.factorize(arr, sort=True)
    assert codes.tolist() == want_codes.tolist()
    pd.testing.assert_extension_array_equal(uniques, want_uniques)
    if values[:1] == ["o3"]:
        assert codes.tolist() == [2, 2, 0, 1, 1, 1] and list(uniques) == ["o1", "o2", "o3"]


@pytest.mark.parametrize("batch_rows", [2, 1000])
def test_overlap_from_the_written_lines_codes_equals_overlap_views_of_the_file(
    intake_file, tmp_path, batch_rows
):
    # interleaved channels (a, b, a, ...) and grouped ones; C3 and C9 link no line
    for source in (intake_file, _grouped(tmp_path)):
        path, orders, guests, codes = integ.write_star_lines(
            source, LINKS, tmp_path / "order_lines.parquet", batch_rows=batch_rows, codes=True
        )
        plain = integ.write_order_lines(source, LINKS, tmp_path / "plain.parquet", batch_rows)
        assert table_content_hash(path) == table_content_hash(plain)  # customers from codes
        lines = integ.read_lines(path, ["customer_id", "channel_id", "revenue_base"])
        want_overlap, want_matrix = integ.overlap_views(lines)
        assert len(codes.customer) == len(lines)
        assert ((codes.customer >= 0) == lines["customer_id"].notna().to_numpy()).all()
        overlap, matrix = integ.line_overlap_views(path, codes)
        pd.testing.assert_frame_equal(overlap, want_overlap, check_exact=True)
        pd.testing.assert_frame_equal(matrix, want_matrix, check_exact=True)
        assert integ.line_overlap_views(path, None)[0].equals(want_overlap)


def test_overlap_views_from_codes_with_skipped_customer_codes():
    # codes 0, 5, 9 of a longer sorted list of customers: the same tables as 0, 1, 2
    lines = pd.DataFrame(
        {
            "customer_id": pd.array(["K2", "K1", None, "K1", "K3", "K2"], dtype="string[pyarrow]"),
            "channel_id": pd.array(["b", "a", "a", "b", "c", "b"], dtype="string[pyarrow]"),
            "revenue_base": [0.1, 0.2, 5.0, 0.3, 1.0, 0.7],
        }
    )
    want = integ.overlap_views(lines)
    dense, _ = pd.factorize(lines["customer_id"], sort=True)
    sparse = np.where(dense >= 0, np.array([0, 5, 9])[dense], -1)
    chan, names = pd.factorize(lines["channel_id"], sort=True)
    got = integ.overlap_views_from_codes(sparse, chan, names, lines["revenue_base"].to_numpy())
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)
    chan[4] = -1  # K3's line without a channel: no matrix from codes
    assert (
        integ.overlap_views_from_codes(sparse, chan, names, lines["revenue_base"].to_numpy())[1]
        is None
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_customer_channel_pairs_equal_np_unique(seed):
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 50, 400)
    chan = rng.integers(0, 6, 400)
    got = merge._customer_channel_pairs(cust, chan, 6)
    assert got.tolist() == np.unique(cust * 6 + chan).tolist() and got.dtype == np.int64
    sparse = merge._customer_channel_pairs(cust * 10**9, chan, 6)  # too sparse for a table
    assert sparse.tolist() == np.unique(cust * 10**9 * 6 + chan).tolist()
    with_missing = merge._customer_channel_pairs(cust, np.where(chan == 0, -1, chan), 6)
    assert with_missing.tolist() == np.unique(cust * 6 + np.where(chan == 0, -1, chan)).tolist()


def test_order_lines_keep_dictionaries_only_for_repeated_values(intake_file, tmp_path):
    path = integ.write_order_lines(intake_file, LINKS, tmp_path / "order_lines.parquet")
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        meta.column(j).path_in_schema: meta.column(j).encodings for j in range(meta.num_columns)
    }
    assert "RLE_DICTIONARY" not in encodings["order_id"] + encodings["order_ts"]
    assert (
        "RLE_DICTIONARY" in encodings["channel_id"] and "RLE_DICTIONARY" in encodings["customer_id"]
    )
