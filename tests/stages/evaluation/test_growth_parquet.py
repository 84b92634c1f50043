"""06's placement and channel overlap from 03's order_lines file (DuckDB) give what the
pandas functions give on the same lines: the same segment for every customer of the tiny
run and the same overlap matrix and share."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import evaluation as ev


@pytest.fixture(scope="module")
def tiny_lines(tiny_run):
    path = tiny_run / "tables" / "order_lines.parquet"
    lines = pd.read_parquet(path, columns=list(ev.LINE_COLUMNS))
    known, _ = ev.identified_lines(lines, customer="customer_id")
    return path, known


def test_place_from_parquet_equals_place_in_segments(tiny_run, tiny_lines):
    path, known = tiny_lines
    model = pd.read_parquet(tiny_run / "tables" / "segment_model.parquet")
    want = ev.place_in_segments(known, model)
    got = ev.place_from_parquet(path, model)
    assert len(want) > 100 and want.nunique() > 1
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_index_type=False)
    # an earlier cut-off leaves out the customers who had not bought yet, as in pandas
    as_of = pd.Timestamp(known["order_ts_local"].quantile(0.5))
    early = ev.place_from_parquet(path, model, as_of)
    assert len(early) < len(want)
    pd.testing.assert_series_equal(
        early.sort_index(), ev.place_in_segments(known, model, as_of).sort_index()
    )


def test_overlap_from_parquet_equals_overlap_summary(tiny_lines):
    path, known = tiny_lines
    want, want_share = ev.overlap_summary(known)
    got, share = ev.overlap_from_parquet(path)
    pd.testing.assert_frame_equal(got, want)
    assert share == want_share


def test_place_from_parquet_refuses_a_file_without_customers(tmp_path, tiny_run):
    path = tmp_path / "lines.parquet"
    pd.DataFrame({"order_id": ["o1"], "channel_id": ["web"]}).to_parquet(path)
    model = pd.read_parquet(tiny_run / "tables" / "segment_model.parquet")
    with pytest.raises(ValueError, match=r"lines\.parquet lacks column\(s\) \['customer_id'"):
        ev.place_from_parquet(path, model)
