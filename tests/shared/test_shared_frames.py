"""channelops.frames: integer join keys, look-ups, Arrow string dtypes, column checks."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from channelops.frames import (
    arrow_string_dtype,
    as_str_keys,
    left_lookup,
    lookup_columns,
    order_join_keys,
    require_columns,
    series_from_ns,
    take_rows,
)


def test_as_str_keys_leaves_text_alone_and_turns_numbers_into_text():
    text = pd.Series(["a", "b"], dtype=object)
    arrow = pd.Series(["a", None], dtype="string[pyarrow]")
    assert as_str_keys(text) is text and as_str_keys(arrow) is arrow
    assert as_str_keys(pd.Series([1, 20])).tolist() == ["1", "20"]


def test_order_join_keys_are_equal_exactly_where_both_columns_are():
    left = pd.DataFrame({"channel_id": ["a", "a", "b"], "order_id": ["1", "2", "1"]})
    right = pd.DataFrame(
        {"channel_id": ["a", "b", "c"], "order_id": ["2", "1", "1"]}, dtype="string[pyarrow]"
    )
    kl, kr = order_join_keys(left, right)
    assert kl.dtype == kr.dtype == np.int64
    # (a, 2) and (b, 1) are on both sides; (a, 1) only left, (c, 1) only right
    assert kl[1] == kr[0] and kl[2] == kr[1]
    assert kl[0] not in kr and kr[2] not in kl
    assert len(set(kl)) == 3


def test_order_join_keys_give_missing_values_a_key_of_their_own():
    left = pd.DataFrame({"k": ["x", None]}, dtype=object)
    right = pd.DataFrame({"k": [None, "x", "y"]}, dtype=object)
    kl, kr = order_join_keys(left, right, on=["k"])
    assert kl.tolist() == [kr[1], kr[0]]
    assert kr[2] not in kl


def test_take_rows_fills_minus_one_with_each_dtypes_missing_value():
    t = pd.Timestamp("2024-03-01 08:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "n": np.array([1, 2], dtype=np.int64),
            "s": pd.Series(["a", "b"], dtype="string"),
            "t": [t, t + pd.Timedelta(hours=1)],
        }
    )
    out = take_rows(frame, np.array([1, -1, 0]))
    assert out["n"].iloc[0] == 2.0 and np.isnan(out["n"].iloc[1]) and out["n"].iloc[2] == 1.0
    assert out["s"].dtype == "string" and out["s"].iloc[0] == "b" and out["s"].isna().iloc[1]
    assert out["t"].dtype == frame["t"].dtype and pd.isna(out["t"].iloc[1])
    assert out.index.tolist() == [0, 1, 2]


def test_lookup_columns_aligns_right_to_left_and_refuses_repeated_keys():
    left = pd.DataFrame({"channel_id": ["web", "app"], "order_id": ["o1", "o9"]}, index=[7, 3])
    right = pd.DataFrame(
        {"channel_id": ["app", "web"], "order_id": ["o1", "o1"], "city": ["Xi'an", "Hefei"]}
    )
    extra = lookup_columns(left, right)
    assert extra.index.tolist() == [7, 3]
    assert extra["city"].iloc[0] == "Hefei" and pd.isna(extra["city"].iloc[1])
    assert lookup_columns(left, pd.concat([right, right])) is None


def test_left_lookup_equals_a_left_merge_with_and_without_unique_keys():
    left = pd.DataFrame({"channel_id": ["web", "web", "app"], "order_id": ["o1", "o2", "o1"]})
    right = pd.DataFrame({"channel_id": ["web", "app"], "order_id": ["o1", "o1"], "units": [3, 4]})
    merged = left.merge(right, on=["channel_id", "order_id"], how="left")
    got = left_lookup(left, right)
    assert got.columns.tolist() == ["channel_id", "order_id", "units"]
    np.testing.assert_array_equal(got["units"].to_numpy(), [3.0, np.nan, 4.0])
    pd.testing.assert_frame_equal(got, merged)
    # a repeated key in right: the merge's repeated rows, not a silent first match
    twice = pd.concat([right, right.iloc[[0]].assign(units=5)], ignore_index=True)
    assert left_lookup(left, twice)["units"].tolist()[:2] == [3, 5]
    assert len(left_lookup(left, twice)) == 4


def test_arrow_string_dtype_maps_only_strings():
    assert arrow_string_dtype(pa.string()) == pd.StringDtype("pyarrow")
    assert arrow_string_dtype(pa.large_string()) == pd.StringDtype("pyarrow")
    assert arrow_string_dtype(pa.int64()) is None
    table = pa.table({"s": ["a", None], "n": [1, 2]})
    frame = table.to_pandas(types_mapper=arrow_string_dtype)
    assert frame["s"].dtype == pd.StringDtype("pyarrow") and frame["n"].dtype == np.int64


def test_require_columns_names_the_frame_and_what_is_missing():
    frame = pd.DataFrame({"a": [1], "b": [2]})
    require_columns(frame, ["a", "b"], "lines")  # all there: no error
    with pytest.raises(ValueError, match=r"lines is missing column\(s\) \['c'\]; has \['a', 'b'\]"):
        require_columns(frame, ["a", "c"], "lines")


def test_series_from_ns_keeps_the_time_zone_of_the_dtype():
    day = 86_400 * 10**9
    values = pa.chunked_array([[0, day]], type=pa.int64())
    naive = series_from_ns(values, np.dtype("datetime64[ns]"))
    assert naive.tolist() == [pd.Timestamp("1970-01-01"), pd.Timestamp("1970-01-02")]
    shanghai = series_from_ns(values, pd.DatetimeTZDtype(tz="Asia/Shanghai"))
    assert shanghai.iloc[0] == pd.Timestamp("1970-01-01 08:00", tz="Asia/Shanghai")
    assert str(shanghai.dtype) == "datetime64[ns, Asia/Shanghai]"
