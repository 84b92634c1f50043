"""channelops.revenue: weekly revenue per channel, the target of the response curves."""

import pandas as pd
import pytest

from channelops.revenue import REVENUE_STATUSES, weekly_channel_revenue


def _lines(rows):
    return pd.DataFrame(
        {
            "channel_id": [r[0] for r in rows],
            "order_ts_local": pd.to_datetime([r[1] for r in rows]),
            "revenue_base": [r[2] for r in rows],
            "status": [r[3] for r in rows],
        }
    )


#: Lines of one fortnight by hand: (channel, local order time, revenue, status).
WEEK_ROWS = [
    ("web", "2024-01-01 09:00", 10.0, "paid"),  # Monday
    ("web", "2024-01-07 23:59", 5.0, "shipped"),  # Sunday: same week
    ("web", "2024-01-03 12:00", 100.0, "cancelled"),  # never revenue
    ("web", "2024-01-08 00:00", 3.0, "returned"),  # counts in the week it was ordered
    ("app", "2024-01-03 23:30", 7.0, "delivered"),
]


def test_weekly_channel_revenue_by_hand():
    lines = _lines(WEEK_ROWS)
    out = weekly_channel_revenue(lines)
    assert out.columns.tolist() == ["week_start", "channel_id", "revenue"]
    assert list(out.itertuples(index=False, name=None)) == [
        (pd.Timestamp("2024-01-01"), "app", 7.0),
        (pd.Timestamp("2024-01-01"), "web", 15.0),
        (pd.Timestamp("2024-01-08"), "web", 3.0),
    ]


def test_cancelled_lines_alone_earn_no_week():
    assert "cancelled" not in REVENUE_STATUSES
    out = weekly_channel_revenue(_lines([("web", "2024-01-01", 10.0, "cancelled")]))
    assert out.empty and out.columns.tolist() == ["week_start", "channel_id", "revenue"]


def test_lines_without_a_status_are_refused():
    with pytest.raises(KeyError, match="status"):
        weekly_channel_revenue(_lines([("web", "2024-01-01", 10.0, "paid")]).drop(columns="status"))


def _coded(lines):
    """``lines`` with channel codes as 06 reads them (first-appearance order, -1 missing)."""
    codes = pd.factorize(lines["channel_id"])[0].astype("int32")
    return lines.assign(**{"channel_id#code": codes})


def test_weekly_revenue_on_channel_codes_equals_the_names_path():
    lines = _lines(
        [
            *WEEK_ROWS,
            ("app", "1969-12-31 10:00", 2.0, "paid"),  # a Wednesday before 1970: week of 29 Dec
            ("web", None, 50.0, "paid"),  # no time, no week
            ("app", "2024-01-02 08:00", 4.0, None),  # no status, no revenue
        ]
    ).assign(quantity=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # reversal lines: a cancellation's reversal subtracts, a return's reversal is left out
    lines = pd.concat(
        [
            lines,
            _lines(
                [
                    ("web", "2024-01-09 10:00", -6.0, "cancelled"),
                    ("app", "2024-01-09 11:00", -7.0, "returned"),
                ]
            ).assign(quantity=[-1.0, -1.0]),
        ],
        ignore_index=True,
    )
    lines["channel_id"] = lines["channel_id"].astype(object)
    expected = [
        (pd.Timestamp("1969-12-29"), "app", 2.0),
        (pd.Timestamp("2024-01-01"), "app", 7.0),
        (pd.Timestamp("2024-01-01"), "web", 15.0),
        (pd.Timestamp("2024-01-08"), "web", -3.0),  # 3.0 returned, ordered that week; -6.0
    ]
    names = weekly_channel_revenue(lines)
    coded = weekly_channel_revenue(_coded(lines))
    pd.testing.assert_frame_equal(coded, names, check_exact=True)
    assert list(coded.itertuples(index=False, name=None)) == expected
    # nothing earned: the same empty table
    none = _coded(_lines([("web", "2024-01-01", 10.0, "cancelled")]))
    pd.testing.assert_frame_equal(
        weekly_channel_revenue(none), weekly_channel_revenue(none.drop(columns="channel_id#code"))
    )
