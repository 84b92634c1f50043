"""Stage 01 with no identified customer: its tables empty with the columns a run gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from _builders import customer_lines
from channelops.audience import audience_reach
from channelops.customers import SEGMENT_MODEL_COLUMNS
from channelops.customers.sums import BASE_COLUMNS
from channelops.stages import segmentation as seg


def _rows(n: int) -> list[tuple]:
    """Customer i buys i + 1 times, a week apart, for 10 x (i + 1) each time."""
    rows = []
    for i in range(n):
        for k in range(i + 1):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * k + i)
            rows.append((f"c{i}", f"o{i}_{k}", "web", day, "A", 10.0 * (i + 1), 0.0, "paid"))
    return rows


def test_empty_tables_have_the_columns_of_a_real_segmentation():
    lines = customer_lines(_rows(12))
    orders = seg.customer_orders(lines)
    products = pd.DataFrame({"sku": ["A"], "category": ["tea"]})
    features = seg.customer_features(orders, pd.Timestamp("2024-04-01"), lines, products)
    rfm = seg.rfm_scores(features, bins=3)
    model = seg.fit_segments(features, k=2, seed=1)
    segments = model.predict(features).to_frame().join(rfm)
    segments["rfm_segment"] = seg.rfm_segments(rfm, bins=3)
    profiles = seg.segment_profiles(features, segments["segment"], rfm=rfm)
    empty = seg.empty_segmentation_tables()
    # CLV as 01 builds it, on the CDNOW sample (a proper BG/NBD fit; these 12 customers never
    # drop out, which no purchase model can be fitted to)
    cdnow = pd.read_csv(Path(__file__).parents[2] / "data" / "cdnow_sample_transactions.csv")
    cd_orders = pd.DataFrame(
        {
            "customer_id": cdnow["customer_id"].astype(str),
            "order_ts": pd.to_datetime(cdnow["date"]),
            "revenue": cdnow["amount"],
        }
    )
    last_day = cd_orders["order_ts"].max().normalize()
    value = seg.customer_lifetime_values(cd_orders, observation_end=last_day)
    clv = value.clv.assign(segment="all_customers")
    clv = clv.join(seg.forward_next_period(cd_orders, last_day, 13, seed=1))
    real = {
        "clv": clv,
        "clv_params": value.params,
        # the mix columns are one per channel and category bought: none without customers
        "customer_features": features.join(rfm).drop(columns=["channel_web", "cat_tea"]),
        "segments": segments,
        "segment_profiles": profiles,
        "segment_model": model.as_table(),
    }
    for name, table in real.items():
        assert list(empty[name].columns) == list(table.columns), name
        assert empty[name].index.name == table.index.name and len(empty[name]) == 0, name
    assert list(empty["segment_model"].columns) == SEGMENT_MODEL_COLUMNS
    assert list(empty["customer_features"].columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert set(empty) == {
        "customer_features",
        "segments",
        "segment_profiles",
        "segment_model",
        "clv",
        "clv_params",
    }


def test_all_guest_lines_give_no_orders_and_no_reach():
    lines = customer_lines(_rows(3))
    lines["buyer_ref"] = None  # a channel exporting no buyer: every line a guest line
    kept, left = seg.identified_lines(lines)
    assert left.lines == 6 and left.orders == 6 and left.revenue == 140.0
    orders = seg.customer_orders(kept)
    assert orders.empty and list(orders.columns)[:2] == ["customer_id", "order_id"]
    people = pd.DataFrame({"segment": [], "birth_year": [], "city_tier": np.array([], float)})
    assert audience_reach(people, pd.DataFrame({"channel_id": ["x"]}), 2024) is None
