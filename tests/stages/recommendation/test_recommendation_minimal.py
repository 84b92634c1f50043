"""Stage 07 on real orders and on a minimal dataset: guest lines and non-merchandise lines
are left out and counted, never recommended or counted as items; without products.csv and
channels.csv the stage still recommends and lists, with the tables' columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _builders import build_dataset
from channelops.ingest.dataset import load_dataset
from channelops.run.needs import limitation_sentence, missing_inputs
from channelops.stages import recommendation as rec

T0 = pd.Timestamp("2024-01-01", tz="UTC")

#: The columns 07 writes, as a full run writes them.
ASSORTMENT_COLUMNS = [
    "channel_id",
    "channel_status",
    "rank",
    "sku",
    "category",
    "role",
    "affinity_share",
    "expected_units",
    "expected_revenue",
    "currently_sold",
]


def _order_lines() -> pd.DataFrame:
    """03's order lines as the intake and 03 write them (demand_units by the contract)."""
    rows = [
        # customer, order, sku, day, quantity, status, net revenue, guest, merchandise, demand
        ("c1", "o1", "A", 0, 2, "paid", 20.0, False, True, 2),
        ("c1", "o1", "POST", 0, 1, "paid", 5.0, False, False, 0),  # postage of a customer
        (None, "o2", "A", 1, 3, "paid", 30.0, True, True, 3),  # guest checkout
        (None, "o2", "POST", 1, 1, "paid", 5.0, True, False, 0),  # the guest's postage
        ("c2", "o3", "B", 2, 1, "delivered", 10.0, False, True, 1),
        ("c2", "o4", "B", 3, -1, "returned", -10.0, False, True, 0),  # reversal
        ("c2", "o5", "A", 4, 4, "cancelled", 0.0, False, True, 0),
    ]
    cols = ["customer_id", "order_id", "sku", "day", "quantity", "status", "net_revenue_base",
            "is_guest", "is_merchandise", "demand_units"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    df["order_ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    return df.assign(channel_id="web", revenue_base=df["net_revenue_base"])


def test_guest_and_non_merchandise_lines_are_left_out_and_counted():
    lines = _order_lines()
    acc = rec.purchase_accounting(lines)
    assert acc.to_dict() == {
        "lines": 7,
        "purchase_lines": 2,
        "customers": 2,
        "guest_lines": 2,
        "guest_orders": 1,
        "guest_revenue": 35.0,
        "non_merchandise_lines": 1,
        "not_purchase_lines": 2,
    }
    assert rec.left_out_sentence(acc, "CNY") == (
        "07 learns from 2 purchase lines of 2 customers; left out: 2 guest lines (1 order, "
        "35 CNY net revenue) that no customer can be recommended for, 1 non-merchandise line "
        "(never recommended) and 2 cancelled, returned or reversed lines."
    )
    bought = rec.purchase_lines(lines)
    assert bought[["customer_id", "sku", "quantity"]].values.tolist() == [
        ["c1", "A", 2.0],
        ["c2", "B", 1.0],
    ]


def test_left_out_sentence_flips_with_the_numbers():
    lines = _order_lines().iloc[[0, 4]]
    assert rec.left_out_sentence(rec.purchase_accounting(lines)) == (
        "07 learns from 2 purchase lines of 2 customers; no line is left out."
    )


def test_non_merchandise_codes_are_never_recommended_nor_counted_as_items():
    lines = _order_lines()
    products = pd.DataFrame(
        {"sku": ["A", "B", "POST", "GIFT"], "category": ["tea", "cup", None, None],
         "merchandise": [True, True, None, False]}
    )  # fmt: skip
    cat = rec.catalogue(products, lines)
    assert cat["sku"].tolist() == ["A", "B"]  # POST from the lines, GIFT from the products
    bought = rec.purchase_lines(lines)
    data = rec.build_interactions(bought, skus=cat["sku"])
    assert data.skus.tolist() == ["A", "B"]
    model = rec.make_model("popularity").fit(data)
    recs = rec.recommend(model, ["c1", "c2", "new"], k=5)
    assert set(recs["sku"]) == {"A", "B"}
    # popularity is A's 2 units of c1 against B's 1 unit of c2: the guest's 3 units and the
    # cancelled 4 are no customer's taste
    assert recs[recs["customer_id"] == "new"]["sku"].tolist() == ["A", "B"]


def test_purchase_accounting_needs_the_purchase_columns():
    with pytest.raises(ValueError, match="customer_id"):
        rec.purchase_accounting(_order_lines().drop(columns="customer_id"))


def test_minimal_dataset_recommends_and_lists_without_products_or_channels(tmp_path):
    ds = load_dataset(build_dataset(tmp_path / "d"))  # dataset.yaml, one export, its mapping
    assert missing_inputs(ds, "07") == ["products", "channels"]
    assert limitation_sentence("07", missing_inputs(ds, "07")) == (
        "Stage 07 (recommendation): without products.csv, recommendations and assortments "
        "have no categories or list prices; without channels.csv, no candidate channel has an "
        "audience profile, so only active channels get an assortment."
    )
    # 03 writes products (sku only) and channels (channel_id only) from the lines
    lines = rec.purchase_lines(_order_lines())
    products = rec.catalogue(pd.DataFrame({"sku": ["A", "B"]}), _order_lines())
    assert list(products.columns) == ["sku", "category", "list_price"]
    assert products["category"].isna().all() and products["list_price"].isna().all()
    channels = pd.DataFrame({"channel_id": ["web"]})
    segments = pd.Series({"c1": "s1", "c2": "s2"}, name="segment")
    profiles = pd.DataFrame({"segment": ["s1", "s2"], "customers": [1, 1]})
    options = {"categories": products.set_index("sku")["category"]}
    model = rec.make_model("buy_again", **options).fit(
        rec.build_interactions(lines, skus=products["sku"]), segments
    )
    recs = rec.recommend(model, ["c1", "c2"], k=2, segments=segments)
    assert list(recs.columns) == ["customer_id", "rank", "sku", "score", "model"]
    affinity, status, weekly, mix = rec.channel_affinities(
        model, lines, channels, profiles, segments
    )
    assert mix is None and status.to_dict() == {"web": "active"}
    table = rec.build_assortment(
        affinity, weekly, rec.unit_prices(lines, products), list_size=2, feature_size=1,
        horizon_weeks=4, status=status, sold=lines[["channel_id", "sku"]], products=products,
    )  # fmt: skip
    assert list(table.columns) == ASSORTMENT_COLUMNS and table["category"].isna().all()
    assert set(table["sku"]) == {"A", "B"}
    assert np.isclose(table["expected_revenue"].sum(), weekly["web"] * 4)
    assert rec.category_mix(table).columns.empty  # nothing to plot without categories


def test_category_mix_by_hand():
    table = pd.DataFrame(
        {"channel_id": ["web", "web", "web", "shop"], "category": ["tea", "cup", "tea", pd.NA],
         "expected_revenue": [30.0, 10.0, 10.0, 5.0]}
    )  # fmt: skip
    mix = rec.category_mix(table)
    assert mix.loc["web"].to_dict() == {"cup": 0.2, "tea": 0.8}
    assert "shop" not in mix.index  # its only product has no category


def test_all_guest_lines_leave_nothing_to_learn_and_empty_tables_with_the_real_columns():
    guests = _order_lines().assign(customer_id=None, is_guest=True)
    assert rec.left_out_sentence(rec.purchase_accounting(guests), "CNY") == (
        "07 learns from 0 purchase lines of 0 customers; left out: 7 guest lines (5 orders, "
        "60 CNY net revenue) that no customer can be recommended for."
    )
    with pytest.raises(ValueError, match="no purchase"):
        rec.purchase_lines(guests)
    empty = rec.purchase_lines(guests, allow_empty=True)
    assert empty.empty and {"customer_id", "sku", "order_ts", "quantity"} <= set(empty.columns)
    # the empty tables have the columns (and dtypes) of the tables a real run writes
    lines = rec.purchase_lines(_order_lines())
    model = rec.make_model("popularity").fit(rec.build_interactions(lines))
    recs = rec.recommend(model, ["c1", "c2"], k=2)
    affinity, status, weekly, _ = rec.channel_affinities(
        model, lines, pd.DataFrame({"channel_id": ["web"]}), None, None
    )
    table = rec.build_assortment(
        affinity, weekly, rec.unit_prices(lines), list_size=2, feature_size=1, horizon_weeks=4,
        status=status, sold=lines[["channel_id", "sku"]],
        products=rec.catalogue(pd.DataFrame({"sku": ["A", "B"]})),
    )  # fmt: skip
    tables = rec.empty_tables()
    for name, real in (("recommendations", recs), ("channel_assortment", table)):
        assert tables[name].empty
        assert tables[name].dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict(), name
    assert list(tables["recommender_metrics"].columns) == list(rec.RECOMMENDER_METRICS_COLUMNS)
