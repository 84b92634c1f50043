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


def test_weekly_channel_revenue_by_hand():
    lines = _lines(
        [
            ("web", "2024-01-01 09:00", 10.0, "paid"),  # Monday
            ("web", "2024-01-07 23:59", 5.0, "shipped"),  # Sunday: same week
            ("web", "2024-01-03 12:00", 100.0, "cancelled"),  # never revenue
            ("web", "2024-01-08 00:00", 3.0, "returned"),  # counts in the week it was ordered
            ("app", "2024-01-03 23:30", 7.0, "delivered"),
        ]
    )
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
