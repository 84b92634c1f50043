"""channelops.customers: orders and features as of a date, the segment_model table, placement.

The first four tests are those of tests/stages/segmentation/test_segments.py that test only
these shared functions, here beside the module they test.
"""

import numpy as np
import pandas as pd
import pytest

from _builders import customer_lines
from channelops.customers import (
    GuestsLeftOut,
    customer_features,
    customer_orders,
    design_matrix,
    identified_lines,
    left_out_text,
    money_column,
    place_in_segments,
    segment_model_table,
)
from channelops.customers.sums import group_shares, shares_of_matrix

TS = pd.Timestamp


PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "category": ["tea", "home"]})
LINES = customer_lines(
    [
        ("c1", "o1", "web", "2024-01-06 20:00", "A", 90.0, 10.0, "paid"),  # Saturday evening
        ("c1", "o1", "web", "2024-01-06 20:00", "B", 10.0, 0.0, "paid"),
        ("c1", "o2", "pos", "2024-01-16 10:00", "B", 100.0, 0.0, "delivered"),
        ("c1", "o3", "web", "2024-01-20 10:00", "A", 500.0, 0.0, "cancelled"),  # not a purchase
        ("c2", "o4", "web", "2024-01-31 09:00", "A", 50.0, 0.0, "shipped"),  # one purchase
    ]
)
AS_OF = TS("2024-02-01")


def _features() -> pd.DataFrame:
    return customer_features(customer_orders(LINES), AS_OF, LINES, PRODUCTS)


def test_customer_orders_merges_lines_and_drops_cancelled():
    orders = customer_orders(LINES).set_index("order_id")
    assert sorted(orders.index) == ["o1", "o2", "o4"]
    assert orders.loc["o1", "revenue"] == 100.0
    assert orders.loc["o1", "discount"] == 10.0


def test_customer_features_by_hand():
    f = _features()
    c1, c2 = f.loc["c1"], f.loc["c2"]
    assert c1["frequency"] == 2 and c2["frequency"] == 1
    assert c1["monetary"] == 200.0 and c1["aov"] == 100.0
    assert c1["recency_days"] == pytest.approx(
        (AS_OF - TS("2024-01-16 10:00")).total_seconds() / 86400
    )
    assert c1["tenure_days"] == pytest.approx(
        (AS_OF - TS("2024-01-06 20:00")).total_seconds() / 86400
    )
    assert c1["mean_interval_days"] == pytest.approx(9.5833, abs=1e-3)
    assert np.isnan(c2["mean_interval_days"])  # one purchase: no interval
    assert c1["discount_share"] == pytest.approx(10.0 / 210.0)
    assert c1["weekend_share"] == 0.5 and c1["evening_share"] == 0.5
    assert c1["channel_web"] == 0.5 and c1["channel_pos"] == 0.5 and c2["channel_web"] == 1.0
    assert c1["cat_tea"] == pytest.approx(0.45) and c1["cat_home"] == pytest.approx(0.55)


def test_customer_features_ignore_orders_after_as_of():
    f = customer_features(customer_orders(LINES), TS("2024-01-10"))
    assert list(f.index) == ["c1"] and f.loc["c1", "frequency"] == 1


def test_customer_features_missing_column_and_no_purchases():
    with pytest.raises(ValueError, match="missing column"):
        customer_orders(LINES.drop(columns="status"))
    with pytest.raises(ValueError, match="no purchases up to"):
        customer_features(customer_orders(LINES), TS("2023-01-01"))


def test_customer_orders_without_discounts_and_order_time_is_the_first_line():
    lines = customer_lines(
        [
            ("c1", "o1", "web", "2024-01-02 10:00", "A", 4.0, 0.0, "paid"),
            ("c1", "o1", "web", "2024-01-02 09:00", "B", 6.0, 0.0, "paid"),
        ]
    ).drop(columns="discount_base")
    orders = customer_orders(lines)
    assert orders.columns.tolist() == [
        "customer_id",
        "order_id",
        "channel_id",
        "order_ts",
        "revenue",
        "discount",
    ]
    assert orders.iloc[0].tolist() == ["c1", "o1", "web", TS("2024-01-02 09:00"), 10.0, 0.0]


def test_category_mix_leaves_out_unknown_skus_and_refunds():
    lines = customer_lines(
        [
            ("c1", "o1", "web", "2024-01-02", "A", 30.0, 0.0, "paid"),
            ("c1", "o1", "web", "2024-01-02", "Z", 50.0, 0.0, "paid"),  # not in the products
            ("c1", "o2", "web", "2024-01-03", "B", 10.0, 0.0, "paid"),
            ("c1", "o3", "web", "2024-01-04", "B", 90.0, 0.0, "returned"),  # not a purchase
        ]
    )
    f = customer_features(customer_orders(lines), TS("2024-01-05"), lines, PRODUCTS)
    # 30 of tea and 10 of home among the known SKUs bought
    assert f.loc["c1", "cat_tea"] == pytest.approx(0.75)
    assert f.loc["c1", "cat_home"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="products is missing column"):
        customer_features(
            customer_orders(lines), TS("2024-01-05"), lines, PRODUCTS.drop(columns="category")
        )


def test_design_matrix_logs_amounts_keeps_shares_and_zeroes_nan():
    features = pd.DataFrame(
        {
            "monetary": [np.e - 1, 0.0],
            "recency_days": [-(np.e - 1), np.nan],
            "weekend_share": [0.25, 1.0],
            "channel_web": [0.5, np.nan],
        }
    )
    x = design_matrix(features, ["monetary", "recency_days", "weekend_share", "channel_web"])
    np.testing.assert_allclose(x, [[1.0, -1.0, 0.25, 0.5], [0.0, 0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"features is missing column\(s\) \['aov'\]"):
        design_matrix(features, ["monetary", "aov"])


def test_segment_model_table_in_long_form_and_shape_checked():
    table = segment_model_table(
        ["monetary", "weekend_share"],
        np.array([1.0, 0.5]),
        np.array([2.0, 0.25]),
        np.array([[0.0, 0.0], [1.0, 2.0]]),
        {0: "casual", 1: "weekend"},
    )
    assert table.columns.tolist() == ["label", "segment", "feature", "mean", "scale", "centre"]
    assert list(table.itertuples(index=False, name=None)) == [
        (0, "casual", "monetary", 1.0, 2.0, 0.0),
        (0, "casual", "weekend_share", 0.5, 0.25, 0.0),
        (1, "weekend", "monetary", 1.0, 2.0, 1.0),
        (1, "weekend", "weekend_share", 0.5, 0.25, 2.0),
    ]
    one = segment_model_table(["monetary"], np.array([0.0]), np.array([1.0]), None, {0: "all"})
    assert one["centre"].tolist() == [0.0]
    with pytest.raises(ValueError, match=r"centres have shape \(1, 2\); expected \(2, 2\)"):
        segment_model_table(["a", "b"], np.zeros(2), np.ones(2), np.zeros((1, 2)), {0: "x", 1: "y"})


def test_place_in_segments_picks_the_nearest_centre_by_hand():
    # standardised: (log1p(monetary) - 1) / 2 and (weekend_share - 0.5) / 0.25
    table = segment_model_table(
        ["monetary", "weekend_share"],
        np.array([1.0, 0.5]),
        np.array([2.0, 0.25]),
        np.array([[0.0, 0.0], [0.0, 2.0]]),
        {0: "casual", 1: "weekend"},
    )
    features = pd.DataFrame(
        {"monetary": [np.e - 1, np.e - 1, np.e - 1], "weekend_share": [0.5, 1.0, 0.70]},
        index=pd.Index(["u", "v", "w"], name="customer_id"),
    )
    # u at (0, 0), v at (0, 2), w at (0, 0.8): nearer 0 than 2
    placed = place_in_segments(features, table)
    assert placed.tolist() == ["casual", "weekend", "casual"]
    assert placed.index.tolist() == ["u", "v", "w"] and placed.name == "segment"
    with pytest.raises(ValueError, match="segment_model is empty"):
        place_in_segments(features, table.iloc[0:0])
    with pytest.raises(ValueError, match=r"segment_model is missing column\(s\) \['centre'\]"):
        place_in_segments(features, table.drop(columns="centre"))
    with pytest.raises(ValueError, match="features is missing column"):
        place_in_segments(features.drop(columns="weekend_share"), table)


def test_group_shares_and_shares_of_an_empty_row():
    codes = np.array([0, 0, 0, 1])
    shares = group_shares(
        codes, 3, np.array(["web", "app", "web", "app"]), np.array([1.0, 1.0, 2.0, 5.0]), "channel_"
    )
    assert list(shares) == ["channel_app", "channel_web"]  # groups sorted by name
    np.testing.assert_allclose(shares["channel_app"], [0.25, 1.0, 0.0])
    np.testing.assert_allclose(shares["channel_web"], [0.75, 0.0, 0.0])  # customer 2: none
    empty = shares_of_matrix(np.zeros((1, 2)), ["a", "b"], "cat_")
    assert empty["cat_a"].tolist() == [0.0] and empty["cat_b"].tolist() == [0.0]


# ------------------------------------------------------------------------------------ guests


def _guest_lines() -> pd.DataFrame:
    lines = customer_lines(
        [
            ("c1", "o1", "web", "2024-01-02", "A", 100.0, 0.0, "paid"),
            (None, "o2", "web", "2024-01-03", "A", 40.0, 0.0, "paid"),  # guest order o2
            (None, "o2", "web", "2024-01-03", "POST", 5.0, 0.0, "paid"),  # its postage
            (None, "o3", "pos", "2024-01-04", "B", 60.0, 0.0, "returned"),  # guest return
            ("c2", "o4", "pos", "2024-01-05", "B", 80.0, 0.0, "delivered"),
        ]
    )
    lines["is_guest"] = lines["buyer_ref"].isna()
    lines["is_merchandise"] = lines["sku"] != "POST"
    # net revenue: the returned sale counts 0; o4 had 30 refunded
    lines["net_revenue_base"] = [100.0, 40.0, 5.0, 0.0, 50.0]
    return lines


def test_identified_lines_leave_guests_out_and_count_them_by_hand():
    kept, left = identified_lines(_guest_lines())
    assert list(kept["order_id"]) == ["o1", "o4"]
    # 3 guest lines of 5, orders o2 and o3 of 4, net revenue 40 + 5 + 0 of 195
    assert left == GuestsLeftOut(3, 2, 45.0, 5, 4, 195.0)
    assert left_out_text(left, "CNY", "customer figures") == (
        "The customer figures leave out 3 guest lines (60.0%) in 2 orders (50.0%) worth 45 "
        "CNY of net revenue (23.1%): real orders without a buyer identity, still counted in "
        "revenue and demand."
    )


def test_without_the_flag_a_missing_customer_is_a_guest_and_gross_revenue_is_used():
    lines = _guest_lines().drop(columns=["is_guest", "net_revenue_base"])
    lines = lines.rename(columns={"buyer_ref": "customer_id"})
    kept, left = identified_lines(lines, customer="customer_id")
    assert money_column(lines) == "revenue_base"
    assert (left.lines, left.orders, left.revenue) == (3, 2, 105.0)
    assert len(kept) == 2
    none, nothing = identified_lines(kept, customer="customer_id")
    assert left_out_text(nothing, "CNY") == (
        "The customer figures leave nothing out: every line has a buyer identity."
    )
    with pytest.raises(ValueError, match="neither is_guest nor 'buyer_ref'"):
        identified_lines(lines)


def test_customer_orders_refuse_guest_lines_and_sum_the_money_asked_for():
    lines = _guest_lines()
    with pytest.raises(ValueError, match="3 lines have no buyer_ref"):
        customer_orders(lines)
    kept, _ = identified_lines(lines)
    orders = customer_orders(kept, money="net_revenue_base").set_index("order_id")
    assert orders.loc["o4", "revenue"] == 50.0  # net of the refund
    assert customer_orders(kept).set_index("order_id").loc["o4", "revenue"] == 80.0


def test_category_mix_leaves_out_non_merchandise_lines():
    lines = customer_lines(
        [
            ("c1", "o1", "web", "2024-01-02", "A", 30.0, 0.0, "paid"),
            ("c1", "o1", "web", "2024-01-02", "B", 10.0, 0.0, "paid"),
        ]
    )
    lines["is_merchandise"] = [True, False]  # B billed as a fee on this line
    f = customer_features(customer_orders(lines), TS("2024-01-05"), lines, PRODUCTS)
    assert f.loc["c1", "cat_tea"] == 1.0 and "cat_home" not in f
