"""The scorecard's small helpers: ratios that never divide by zero, the ranking key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import evaluation as ev


def test_safe_ratio_is_nan_where_nothing_to_divide_by():
    a = pd.Series([10.0, 5.0, 3.0, 8.0], index=list("wxyz"))
    b = pd.Series([4.0, 0.0, np.nan, 2.0], index=list("wxyz"))
    r = ev.safe_ratio(a, b)
    assert r["w"] == 2.5 and r["z"] == 4.0
    assert np.isnan(r["x"]) and np.isnan(r["y"])
    assert ev.safe_ratio(6.0, 3.0) == 2.0
    assert np.isnan(ev.safe_ratio(6.0, 0.0))


def test_safe_ratio_refuses_figures_on_different_indexes():
    a = pd.Series([1.0, 2.0], index=["x", "y"])
    with pytest.raises(ValueError, match="same index"):
        ev.safe_ratio(a, a.iloc[::-1])


def test_ranking_key_falls_back_to_gross_margin_without_costs():
    sc = pd.DataFrame({"contribution": [np.nan, 5.0], "gross_margin": [1.0, 2.0]})
    assert ev.ranking_key(sc) == "contribution"
    assert ev.ranking_key(sc.assign(contribution=np.nan)) == "gross_margin"
    with pytest.raises(ValueError, match="contribution"):
        ev.ranking_key(sc.drop(columns="contribution"))


def test_the_line_columns_cover_what_the_scorecard_reads():
    assert set(ev.LINE_COLUMNS) >= {
        "channel_id",
        "order_id",
        "customer_id",
        "sku",
        "quantity",
        "revenue_base",
        "status",
        "order_ts_local",
    }
    assert ev.ORDER_COLUMNS == ("channel_id", "order_id", "order_ts")
