"""User-base growth read out: months without gaps, which channel shifts the segment mix, the
overlap table."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import evaluation as ev


def _growth(counts: dict[tuple[str, str], int], month: str = "2024-01-01") -> pd.DataFrame:
    rows = [(pd.Timestamp(month), ch, seg, n) for (ch, seg), n in counts.items()]
    return pd.DataFrame(rows, columns=["month", "channel_id", "segment", "new_customers"])


def test_monthly_new_customers_fills_the_months_without_anyone():
    growth = pd.concat(
        [
            _growth({("a", "x"): 2, ("a", "y"): 1, ("b", "x"): 1}),
            _growth({("a", "x"): 1}, "2024-03-01"),
        ]
    )
    m = ev.monthly_new_customers(growth)
    assert list(m.index) == list(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]))
    assert m["a"].tolist() == [3, 0, 1]  # 2 + 1 in January, nobody in February
    assert m["b"].tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="empty"):
        ev.monthly_new_customers(growth.iloc[:0])
    with pytest.raises(ValueError, match="new_customers"):
        ev.monthly_new_customers(growth.drop(columns="new_customers"))


def test_segment_lean_by_hand():
    # a: 3 x, 1 y; b: 1 x, 1 y -> all: 4/6 x, 2/6 y.
    # leans: a x 3/4 - 2/3 = +1/12, a y -1/12, b x 1/2 - 2/3 = -1/6, b y 1/2 - 1/3 = +1/6
    mix = ev.segment_mix(_growth({("a", "x"): 3, ("a", "y"): 1, ("b", "x"): 1, ("b", "y"): 1}))
    lean = ev.segment_lean(mix)
    assert lean.index[0] == ("b", "y") and lean.iloc[0] == pytest.approx(1 / 6)
    assert lean[("a", "x")] == pytest.approx(1 / 12)
    assert lean.iloc[-1] == pytest.approx(-1 / 6)
    with pytest.raises(ValueError, match="all channels"):
        ev.segment_lean(mix.drop(index="all channels"))


def test_segment_lean_text_follows_the_data():
    mix = ev.segment_mix(_growth({("a", "x"): 3, ("a", "y"): 1, ("b", "x"): 1, ("b", "y"): 1}))
    text = ev.segment_lean_text(mix)
    # b's newcomers are 1/2 y against 2/6 = 33% overall
    assert (
        "**b** brings the most extra **y** customers (50% of its newcomers against 33% overall)"
        in text
    )
    # flipped: b brings fewer y (none), so it now shifts the base towards x:
    # all x = 5/6 = 83%, b x = 100% (lean +1/6) beats a y = 1/4 - 1/6 = +1/12
    flipped = ev.segment_mix(_growth({("a", "x"): 3, ("a", "y"): 1, ("b", "x"): 2}))
    text = ev.segment_lean_text(flipped)
    assert (
        "**b** brings the most extra **x** customers (100% of its newcomers against 83% overall)"
        in text
    )
    with pytest.raises(ValueError, match="all channels"):
        ev.segment_lean_text(flipped.drop(index="all channels"))


def test_segment_lean_text_when_no_channel_shifts_the_mix():
    same = ev.segment_mix(_growth({("a", "x"): 1, ("a", "y"): 1, ("b", "x"): 2, ("b", "y"): 2}))
    assert "no channel shifts the customer base" in ev.segment_lean_text(same)
    single = ev.segment_mix(_growth({("a", "all"): 3, ("b", "all"): 1}))
    assert ev.segment_lean_text(single).startswith("There is a single segment")


def test_segment_lean_text_escapes_names():
    mix = ev.segment_mix(
        _growth({("a", "x"): 3, ("a", "y"): 1, ("b<i>", "x"): 1, ("b<i>", "<img src=1>"): 1})
    )
    text = ev.segment_lean_text(mix)
    assert "**b&lt;i&gt;** brings the most extra **&lt;img src=1&gt;** customers" in text
    assert "<" not in text


def test_overlap_table_by_hand():
    names = pd.Index(["a", "b"], name="channel_id")
    overlap = pd.DataFrame([[3, 1], [1, 2]], index=names, columns=names)
    t = ev.overlap_table(overlap)
    assert t.columns.tolist() == ["channel_id", "a", "b"]
    assert t.to_dict("list") == {"channel_id": ["a", "b"], "a": [3, 1], "b": [1, 2]}
    with pytest.raises(ValueError, match="same channels"):
        ev.overlap_table(overlap.iloc[:1])
