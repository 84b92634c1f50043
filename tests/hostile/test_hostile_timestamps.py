"""Hostile inputs, case 1: implausible order timestamps.

Years 2099 and 1970 in an export of 2024 orders, and year 2300 (beyond what a timestamp
can hold, which used to crash the intake with a raw ArrowInvalid), are quarantined as
``implausible_timestamp``; the window is dataset.yaml's ``plausible_dates`` or, by
default, PLAUSIBLE_YEARS years either side of the export's median order date.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.contract import PLAUSIBLE_YEARS, REASONS
from channelops.ingest.dataset import DatasetError, load_dataset, read_export
from channelops.ingest.intake import ingest_lines, intake_accounting
from channelops.ingest.timestamps import _plausible_window

H = "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price\n"
ISO = {"timestamp": {"format": "iso8601", "timezone": "Asia/Shanghai"}}
GOOD = "".join(f"g{i},2024-03-0{i}T08:00:00+08:00,b,S,1,1\n" for i in range(1, 6))
BAD = (
    "x1,2099-03-01T08:00:00+08:00,b,S,1,1\n"
    "x2,1970-01-01T08:00:00+08:00,b,S,1,1\n"
    "x3,2300-03-01T08:00:00+08:00,b,S,1,1\n"
    "x4,2300-03-01 08:00:00,b,S,1,1\n"
    "x5,not a date,b,S,1,1\n"
)


def _ds(tmp_path, csv, mapping=ISO, yaml_extra=""):
    root = build_dataset(tmp_path / "ds", exports={"c": csv}, mappings={"c": mapping})
    if yaml_extra:
        with open(root / "dataset.yaml", "a") as fh:
            fh.write(yaml_extra)
    return load_dataset(root)


def test_reason_is_listed():
    assert "implausible_timestamp" in REASONS


def test_far_and_year_2300_quarantined_not_crashing(tmp_path):
    ds = _ds(tmp_path, H + GOOD + BAD)
    r = read_export(ds, "c")
    q = r.quarantine.set_index("value")["reason"].to_dict()
    assert q == {
        "2099-03-01T08:00:00+08:00": "implausible_timestamp",
        "1970-01-01T08:00:00+08:00": "implausible_timestamp",
        "2300-03-01T08:00:00+08:00": "implausible_timestamp",
        "2300-03-01 08:00:00": "implausible_timestamp",
        "not a date": "bad_timestamp",
    }
    assert sorted(r.lines["order_id"]) == ["g1", "g2", "g3", "g4", "g5"]
    # parsed: 1970, g1..g5, 2099 (seven); the median is g3, 2024-03-03 00:00 UTC
    assert "2014-03-03 to 2034-03-03" in r.quarantine["message"].iloc[0]
    dq = intake_accounting(ingest_lines(ds))
    assert dq["balanced"].all() and int(dq["q_implausible_timestamp"].iloc[0]) == 4


def test_strftime_and_unix_year_2300(tmp_path):
    fmt = {"timestamp": {"format": "%d/%m/%Y %H:%M", "timezone": "UTC"}}
    r = read_export(
        _ds(tmp_path / "a", H + "a,01/03/2024 08:00,b,S,1,1\nb,01/03/2300 08:00,b,S,1,1\n", fmt),
        "c",
    )
    assert r.quarantine["reason"].tolist() == ["implausible_timestamp"]
    unix = {"timestamp": {"format": "unix_s"}}
    r = read_export(
        _ds(
            tmp_path / "b",
            H + "a,1709280000,b,S,1,1\nb,10413792000,b,S,1,1\nc,1e30,b,S,1,1\n",
            unix,
        ),
        "c",
    )
    assert r.quarantine["reason"].tolist() == ["implausible_timestamp", "bad_timestamp"]


def test_plausible_dates_setting(tmp_path):
    ds = _ds(
        tmp_path, H + GOOD + BAD, yaml_extra="plausible_dates: {from: 1970-01-01, to: 2099-12-31}\n"
    )
    assert ds.plausible_dates == (dt.date(1970, 1, 1), dt.date(2099, 12, 31))
    r = read_export(ds, "c")
    assert sorted(r.quarantine["reason"]) == ["bad_timestamp"] + ["implausible_timestamp"] * 2
    assert "x1" in set(r.lines["order_id"]) and "x2" in set(r.lines["order_id"])


def test_window_is_inclusive_in_reporting_timezone():
    ts = pd.Series(pd.to_datetime(["2024-01-01"], utc=True))
    start, end, _ = _plausible_window(
        ts, (dt.date(2024, 1, 1), dt.date(2024, 1, 31)), "Asia/Shanghai"
    )
    assert start == pd.Timestamp("2023-12-31 16:00", tz="UTC")
    assert end == pd.Timestamp("2024-01-31 16:00", tz="UTC")
    start, end, _ = _plausible_window(ts, None, "UTC")
    assert (start.year, end.year) == (2024 - PLAUSIBLE_YEARS, 2024 + PLAUSIBLE_YEARS)
    assert _plausible_window(ts.iloc[:0], None, "UTC") is None


def test_same_window_on_rerun(tmp_path):
    ds = _ds(tmp_path, H + GOOD + BAD)
    a, b = read_export(ds, "c"), read_export(ds, "c")
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)


@pytest.mark.parametrize(
    "value, found",
    [
        ("{from: 2030-01-01, to: 2020-01-01}", "from is after"),
        ("{from: 2020-01-01}", "is not {from, to}"),
        ("{from: soon, to: 2020-01-01}", "plausible_dates.from is not a date"),
        ("{from: 2020-01-01, to: 2400-01-01}", "plausible_dates.to is not a date"),
    ],
)
def test_bad_plausible_dates(tmp_path, value, found):
    with pytest.raises(DatasetError) as info:
        _ds(tmp_path, H + GOOD, yaml_extra=f"plausible_dates: {value}\n")
    assert found in str(info.value) and str(info.value).startswith("dataset.yaml, line")
