"""Recommendation (stage 07): hand-computed metrics and weights, hand-made purchase patterns
the models must find, edge cases (unseen customers and products, one customer, one product,
bad input) and, on the simulator's tiny dataset, the chosen model against popularity and
against the true category preferences.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from channelops.ingest import buyers as byr
from channelops.ingest import intake
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import load_dataset, read_export
from channelops.stages import integration as integ
from channelops.stages import recommendation as rec
from channelops.stages.recommendation.assortment import purchase_shares
from channelops.synth.scoring import recommendation as truth_scoring

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _lines(rows: list[tuple]) -> pd.DataFrame:
    """Purchases from (customer_id, sku, day, quantity[, channel_id]) tuples."""
    out = []
    for r in rows:
        cust, sku, day, qty = r[:4]
        out.append(
            {
                "customer_id": cust,
                "sku": sku,
                "order_ts": T0 + pd.Timedelta(days=day),
                "quantity": qty,
                "channel_id": r[4] if len(r) > 4 else "web",
                "status": "paid",
                "revenue_base": 10.0 * qty,
            }
        )
    return pd.DataFrame(out)


def _blocks(n_per_group: int = 12) -> pd.DataFrame:
    """Two taste groups: g1 customers buy from {a1, a2, a3}, g2 from {b1, b2, b3}; b1 is the
    overall best seller (group 2 is larger and buys more)."""
    rows = []
    for u in range(n_per_group):
        for j, sku in enumerate(("a1", "a2", "a3")):
            if (u + j) % 3:  # each buys two of the three
                rows.append((f"g1_{u}", sku, u + j, 1, "web"))
    for u in range(2 * n_per_group):
        for j, sku in enumerate(("b1", "b2", "b3")):
            if (u + j) % 3:
                rows.append((f"g2_{u}", sku, u + j, 2 if sku == "b1" else 1, "shop"))
    return rec.purchase_lines(_lines(rows))


# ---------------------------------------------------------------- data


def test_interaction_weights_are_quantity_times_half_life_decay():
    lines = rec.purchase_lines(_lines([("u", "x", 0, 2), ("u", "x", 30, 1), ("v", "y", 60, 3)]))
    data = rec.build_interactions(lines, as_of=T0 + pd.Timedelta(days=60), half_life_days=30)
    m = pd.DataFrame(data.matrix.toarray(), index=data.customers, columns=data.skus)
    assert m.loc["u", "x"] == pytest.approx(2 * 0.25 + 1 * 0.5)  # 60 and 30 days old
    assert m.loc["v", "y"] == pytest.approx(3.0)
    assert m.loc["u", "y"] == 0


def test_cancelled_and_returned_lines_are_not_purchases():
    raw = _lines([("u", "x", 0, 1), ("u", "y", 0, 1), ("u", "z", 0, 1)])
    raw.loc[1, "status"], raw.loc[2, "status"] = "cancelled", "returned"
    assert rec.purchase_lines(raw)["sku"].tolist() == ["x"]


def test_missing_columns_and_bad_split_give_clear_errors():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['quantity'\]"):
        rec.purchase_lines(_lines([("u", "x", 0, 1)]).drop(columns="quantity"))
    lines = rec.purchase_lines(_lines([("u", "x", 0, 1), ("u", "y", 10, 1)]))
    with pytest.raises(ValueError, match="leaves 2 training and 0 test lines"):
        rec.time_split(lines, "2030-01-01")
    with pytest.raises(ValueError, match="half_life_days must be > 0"):
        rec.build_interactions(lines, half_life_days=0)


# ---------------------------------------------------------------- metrics


def test_metrics_hand_computed():
    recs = pd.DataFrame(
        {
            "customer_id": ["u"] * 3 + ["v"] * 3,
            "rank": [1, 2, 3] * 2,
            "sku": ["a", "b", "c", "d", "e", "f"],
        }
    )
    test = pd.DataFrame({"customer_id": ["u", "u", "v", "w"], "sku": ["b", "z", "f", "a"]})
    per = rec.customer_metrics(recs, test, k=3)
    # u: hit at rank 2 of 2 relevant; v: hit at rank 3 of 1; w: no list at all
    assert per.loc["u", "precision_at_k"] == pytest.approx(1 / 3)
    assert per.loc["u", "recall_at_k"] == pytest.approx(1 / 2)
    assert per.loc["u", "ndcg_at_k"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert per.loc["v", "ndcg_at_k"] == pytest.approx(1 / np.log2(4))
    assert per.loc["w", ["precision_at_k", "recall_at_k", "ndcg_at_k"]].tolist() == [0, 0, 0]
    info = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 1.0, "e": 1.0, "f": 1.0})
    summary = rec.summarise_metrics(per, recs, k=3, n_skus=12, information=info)
    assert summary.loc[0, "coverage"] == pytest.approx(6 / 12)
    assert summary.loc[0, "novelty"] == pytest.approx(9 / 6)
    assert summary.loc[0, "customers"] == 3


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("name", ["item_item", "als_f2"])
def test_personalised_models_find_the_taste_groups(name):
    lines = _blocks()
    data = rec.build_interactions(lines)
    # a light penalty for 36 customers (the default 10 is tuned for hundreds to thousands)
    model = rec.make_model(name, seed=1, regularization=0.1, num_threads=1).fit(data)
    recs = rec.recommend(model, ["g1_0", "g2_0"], k=3)
    top = recs.groupby("customer_id")["sku"].apply(set)
    assert top["g1_0"] == {"a1", "a2", "a3"}  # popularity would give b1, b2, b3
    assert top["g2_0"] == {"b1", "b2", "b3"}
    pop = rec.recommend(rec.Popularity().fit(data), ["g1_0"], k=3)
    assert set(pop["sku"]) == {"b1", "b2", "b3"}


def test_buy_again_scores_hand_computed():
    """u1 bought A twice and C once, u2 bought B once; A, B in category x, C in y; one channel.
    gamma 1, alpha 1, beta 1. Everyone's category mix: x 3/4, y 1/4; SKU shares within the
    category: A 2/3, B 1/3, C 1.
    u1: P(x) = (2 + 3/4) / (3 + 1) = 0.6875, P(y) = (1 + 1/4) / 4 = 0.3125;
        A = 0.6875 * (2 + 2/3) / (2 + 1), B = 0.6875 * (1/3) / 3, C = 0.3125 * (1 + 1) / (1 + 1).
    u2: P(x) = (1 + 3/4) / 2 = 0.875, P(y) = 1/8;
        A = 0.875 * (2/3) / 2, B = 0.875 * (1 + 1/3) / 2, C = 0.125 * 1 / 1."""
    lines = rec.purchase_lines(
        _lines([("u1", "A", 0, 1), ("u1", "A", 5, 3), ("u1", "C", 6, 1), ("u2", "B", 1, 1)])
    )
    data = rec.build_interactions(lines)
    cats = pd.Series({"A": "x", "B": "x", "C": "y"})
    model = rec.BuyAgain(categories=cats, alpha=1, beta=1, gamma=1).fit(data)
    got = pd.DataFrame(model.score(data.rows(["u1", "u2"])), columns=data.skus)
    want = [
        [0.6875 * (8 / 3) / 3, 0.6875 / 9, 0.3125],
        [0.875 / 3, 0.875 * (4 / 3) / 2, 0.125],
    ]
    np.testing.assert_allclose(got[["A", "B", "C"]].to_numpy(), want, rtol=1e-6)
    # a segment prior replaces everyone's category mix: u2 alone in its segment never buys y
    seg = pd.Series({"u1": "s1", "u2": "s2"})
    model = rec.BuyAgain(categories=cats, alpha=1, beta=1, gamma=1).fit(data, seg)
    assert model.score(data.rows(["u2"]))[0, data.skus.get_loc("C")] == 0.0


def test_buy_again_puts_habits_first_and_follows_the_channel():
    """v bought h three times and t1, t2 once each (one category): with gamma 1.5 the habit h
    ranks first. Among SKUs never bought, the best seller of v's own channel comes before the
    best seller overall."""
    rows = [("v", "h", d, 1, "shop") for d in (0, 10, 20)]
    rows += [("v", "t1", 1, 1, "shop"), ("v", "t2", 2, 1, "shop")]
    rows += [(f"s{j}", "s_best", j, 1, "shop") for j in range(3)]
    rows += [(f"w{j}", "w_best", j, 1, "web") for j in range(20)]
    data = rec.build_interactions(rec.purchase_lines(_lines(rows)))
    cats = pd.Series("one", index=["h", "t1", "t2", "s_best", "w_best"])
    recs = rec.recommend(rec.BuyAgain(categories=cats).fit(data), ["v"], k=5)
    assert recs["sku"].iloc[0] == "h"
    order = recs["sku"].tolist()
    assert order.index("s_best") < order.index("w_best")  # w_best: 20 lines, but on web
    pop = rec.recommend(rec.Popularity().fit(data), ["v"], k=1)
    assert pop["sku"].iloc[0] == "w_best"


def test_buy_again_without_categories_or_channels_and_bad_settings():
    lines = _blocks().drop(columns="channel_id")
    data = rec.build_interactions(lines)
    assert data.channels is None and data.customer_channel is None
    # alpha 1: the customer's own two lines outweigh the prior (the default 10 would not)
    recs = rec.recommend(rec.BuyAgain(alpha=1).fit(data), ["g1_0", "nobody"], k=3)
    own = set(lines.query("customer_id == 'g1_0'")["sku"])
    assert len(own) == 2 and set(recs.query("customer_id == 'g1_0'")["sku"].iloc[:2]) == own
    assert set(recs.query("customer_id == 'nobody'")["sku"]) == {"b1", "b2", "b3"}
    assert isinstance(rec.make_model("buy_again"), rec.BuyAgain)
    with pytest.raises(ValueError, match="buy_again needs alpha, beta, delta, gamma > 0"):
        rec.BuyAgain(alpha=0)


def test_als_fit_is_silent():
    """implicit warns when OpenBLAS runs several threads; the fit limits BLAS to one."""
    data = rec.build_interactions(_blocks())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec.make_model("als_f2", num_threads=1).fit(data)
    assert [str(w.message) for w in caught] == []


def test_exclude_seen_drops_bought_products():
    data = rec.build_interactions(_blocks())
    recs = rec.recommend(rec.Popularity().fit(data), ["g1_0"], k=10, exclude_seen=True)
    bought = set(_blocks().query("customer_id == 'g1_0'")["sku"])
    assert bought and not bought & set(recs["sku"])
    assert recs["rank"].tolist() == list(range(1, 6 - len(bought) + 1))


def test_unseen_customers_get_their_segment_popularity_or_overall():
    lines = _blocks()
    segments = pd.Series({f"g1_{u}": "one" for u in range(12)} | {"new_1": "one"})
    model = rec.make_model("item_item").fit(rec.build_interactions(lines), segments)
    recs = rec.recommend(model, ["new_1", "stranger", "g1_0"], k=3, segments=segments)
    by = recs.groupby("customer_id")
    assert by["model"].first().to_dict() == {
        "new_1": "segment_popularity",
        "stranger": "popularity",
        "g1_0": "item_item",
    }
    assert set(by.get_group("new_1")["sku"]) == {"a1", "a2", "a3"}  # segment "one" buys a*
    assert by.get_group("stranger")["sku"].iloc[0] == "b1"  # overall best seller


def test_unseen_product_is_a_column_with_no_evidence():
    lines = _blocks()
    data = rec.build_interactions(lines, skus=["a1", "a2", "a3", "b1", "b2", "b3", "new_sku"])
    for name in ("popularity", "item_item", "als_f2", "buy_again"):
        model = rec.make_model(name, num_threads=1).fit(data)
        recs = rec.recommend(model, ["g1_0"], k=7)
        assert len(recs) == 7
        scores = recs.set_index("sku")["score"]
        assert scores["new_sku"] == pytest.approx(0.0)  # no evidence: no preference either way
        assert recs["sku"].iloc[0] != "new_sku"
    # a product first bought in the test period counts as a miss, not an error
    per = rec.customer_metrics(
        recs, pd.DataFrame({"customer_id": ["g1_0"], "sku": ["brand_new"]}), 3
    )
    assert per.loc["g1_0", "hits"] == 0


def test_single_customer_and_single_product():
    one_customer = rec.purchase_lines(_lines([("u", "x", 0, 1), ("u", "y", 1, 2)]))
    data = rec.build_interactions(one_customer)
    for name in ("popularity", "segment_popularity", "item_item", "als_f2", "buy_again"):
        recs = rec.recommend(rec.make_model(name, num_threads=1).fit(data), ["u"], k=5)
        assert sorted(recs["sku"]) == ["x", "y"] and recs["rank"].tolist() == [1, 2]
    one_product = rec.purchase_lines(_lines([("u", "x", 0, 1), ("v", "x", 1, 1)]))
    data = rec.build_interactions(one_product)
    for name in ("popularity", "item_item", "als_f2", "buy_again"):
        recs = rec.recommend(rec.make_model(name, num_threads=1).fit(data), ["u", "v", "w"], k=10)
        assert recs.groupby("customer_id")["sku"].apply(list).to_dict() == {
            "u": ["x"],
            "v": ["x"],
            "w": ["x"],
        }


def test_bad_model_input_gives_clear_errors():
    data = rec.build_interactions(_blocks())
    with pytest.raises(ValueError, match="unknown model 'svd'"):
        rec.make_model("svd")
    with pytest.raises(ValueError, match="k must be >= 1"):
        rec.recommend(rec.Popularity().fit(data), ["g1_0"], k=0)
    with pytest.raises(RuntimeError, match="call fit"):
        rec.recommend(rec.Popularity(), ["g1_0"])


# ---------------------------------------------------------------- assortment


def test_channel_assortment_follows_each_channel_customer_mix():
    lines = _blocks()  # g1 buys a* on "web", g2 buys b* on "shop"
    model = rec.make_model("item_item").fit(rec.build_interactions(lines))
    affinity = rec.channel_affinity(model, lines)
    weekly = pd.Series({"web": 100.0, "shop": 50.0})
    table = rec.build_assortment(
        affinity,
        weekly,
        rec.unit_prices(lines),
        list_size=6,
        feature_size=3,
        horizon_weeks=2,
        sold=lines,
    )
    feat = table[table["role"] == "feature"].groupby("channel_id")["sku"].apply(set)
    assert feat["web"] == {"a1", "a2", "a3"} and feat["shop"] == {"b1", "b2", "b3"}
    # every SKU listed (6 = catalogue): expected revenue adds up to weekly x horizon
    totals = table.groupby("channel_id")["expected_revenue"].sum()
    assert totals["web"] == pytest.approx(200.0) and totals["shop"] == pytest.approx(100.0)
    assert not table.query("channel_id == 'web' and sku == 'b1'")["currently_sold"].iloc[0]


def test_candidate_channel_takes_the_segment_its_audience_matches():
    lines = _blocks()
    segments = pd.Series(
        {f"g1_{u}": "young" for u in range(12)} | {f"g2_{u}": "old" for u in range(24)}
    )
    model = rec.make_model("item_item").fit(rec.build_interactions(lines), segments)
    seg_aff = rec.segment_affinity(model, segments)
    bands = ["age_18_24", "age_25_34", "age_35_44", "age_45_plus", "tier_1", "tier_2", "tier_3"]
    profiles = pd.DataFrame(
        [["young", 12, 0.9, 0.1, 0, 0, 1, 0, 0], ["old", 24, 0, 0, 0.1, 0.9, 1, 0, 0]],
        columns=["segment", "customers", *bands],
    )
    channels = pd.DataFrame(
        [["teen_app", 0.95, 0.05, 0, 0, 1, 0, 0]], columns=["channel_id", *bands]
    )
    affinity, mix = rec.candidate_affinity(seg_aff, profiles, channels)
    assert mix.loc["teen_app", "young"] > 0.9
    assert set(affinity.loc["teen_app"].nlargest(3).index) == {"a1", "a2", "a3"}


def _young_and_old():
    """Segments of _blocks' customers and 01-style profiles: g1 are young, g2 older."""
    segments = pd.Series(
        {f"g1_{u}": "young" for u in range(12)} | {f"g2_{u}": "old" for u in range(24)}
    )
    profiles = pd.DataFrame(
        [["young", 12, 0.9, 0.1, 0, 0, 1, 0, 0], ["old", 24, 0, 0, 0.1, 0.9, 1, 0, 0]],
        columns=["segment", "customers", *BANDS],
    )
    return segments, profiles


BANDS = ["age_18_24", "age_25_34", "age_35_44", "age_45_plus", "tier_1", "tier_2", "tier_3"]


def test_channel_affinities_adds_profiled_candidates_with_their_prior_revenue():
    lines = _blocks()
    segments, profiles = _young_and_old()
    model = rec.make_model("item_item").fit(rec.build_interactions(lines), segments)
    channels = pd.DataFrame(
        [
            ["web", *[np.nan] * 7, np.nan],
            ["shop", *[np.nan] * 7, np.nan],
            ["teen_app", 0.95, 0.05, 0, 0, 1, 0, 0, 70.0],
            ["no_prior", 0.95, 0.05, 0, 0, 1, 0, 0, np.nan],
        ],
        columns=["channel_id", *BANDS, "prior_weekly_revenue_max"],
    )
    affinity, status, weekly, mix = rec.channel_affinities(
        model, lines, channels, profiles, segments, window_weeks=13
    )
    assert status.to_dict() == {"shop": "active", "web": "active", "teen_app": "candidate",
                                "no_prior": "candidate"}  # fmt: skip
    active = rec.weekly_revenue(lines, 13)
    assert weekly["teen_app"] == 70.0
    assert weekly["no_prior"] == pytest.approx(active.median())  # no prior: the active median
    pd.testing.assert_frame_equal(affinity.loc[["shop", "web"]], rec.channel_affinity(model, lines))
    np.testing.assert_allclose(affinity.sum(axis=1), 1.0)
    assert mix.loc["teen_app", "young"] > 0.9
    assert set(affinity.loc["teen_app"].nlargest(3).index) == {"a1", "a2", "a3"}


def test_channel_affinities_without_profiles_keeps_the_active_channels_only():
    lines = _blocks()
    segments, profiles = _young_and_old()
    model = rec.make_model("item_item").fit(rec.build_interactions(lines), segments)
    channels = pd.DataFrame({"channel_id": ["web", "shop", "teen_app"], "age_18_24": 1.0})
    affinity, status, weekly, mix = rec.channel_affinities(
        model, lines, channels, profiles[["segment", "customers"]], segments
    )
    assert mix is None and set(status) == {"active"}
    pd.testing.assert_frame_equal(affinity, rec.channel_affinity(model, lines))
    pd.testing.assert_series_equal(weekly, rec.weekly_revenue(lines, 13))
    with pytest.raises(KeyError, match="channel_id"):
        rec.channel_affinities(
            model, lines, channels.drop(columns="channel_id"), profiles, segments
        )


def test_assortment_summary_by_hand():
    assortment = pd.DataFrame(
        {
            "channel_id": ["web", "web", "new"],
            "channel_status": ["active", "active", "candidate"],
            "expected_revenue": [10.0, 5.0, 7.0],
            "currently_sold": [True, False, False],
        }
    )
    out = rec.assortment_summary(assortment)
    assert out.to_dict("index") == {
        ("new", "candidate"): {"expected_revenue": 7.0, "not_sold_yet": 1},
        ("web", "active"): {"expected_revenue": 15.0, "not_sold_yet": 1},
    }
    with pytest.raises(KeyError, match="currently_sold"):
        rec.assortment_summary(assortment.drop(columns="currently_sold"))


# ---------------------------------------------------------------- tiny dataset vs truth


@pytest.fixture(scope="module")
def tiny_merged(tiny_dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """03's order lines and customer links on the tiny dataset (deterministic links only)."""
    ds = load_dataset(tiny_dataset)
    raw = pd.concat([read_export(ds, ch.id).lines for ch in ds.channels], ignore_index=True)
    lines, _ = intake.remove_duplicate_rows(canonicalise(raw, ds)[0], intake.line_no_numbered(ds))
    links = integ.link_buyers(
        byr.buyer_records(lines), ds.table("customers"), crm_channels=list(ds.crm_channel_ids)
    )
    lines = lines.merge(
        links[["channel_id", "buyer_ref", "customer_id"]], on=["channel_id", "buyer_ref"]
    )
    return lines, links


@pytest.mark.xfail(
    strict=True,
    reason="issue 23: on simulator 2 (tiny seed 7) the chosen model (gp_topfreq) scores 0.588 "
    "vs 1.05 x GP-TopFreq = 0.617 (buy_again 0.592, popularity 0.534)",
)
def test_tiny_chosen_model_beats_popularity_and_recovers_category_tastes(tiny_merged, tiny_dataset):
    """Chosen on validation, scored on the last 8 weeks: NDCG@10 at least 1.05 x GP-TopFreq
    (each customer's own most bought SKUs, the strong next-basket baseline) and above
    popularity; the segment category lifts of its lists rank-correlate with the true ones.
    With 4 segments x 6 categories = 24 cells, Spearman's rho under no association has sd
    about 1/sqrt(23) = 0.21, so rho > 0.4 is about two sd above chance; popularity (the same
    list for everyone seen in training) sits near 0."""
    order_lines, links = tiny_merged
    lines = rec.purchase_lines(order_lines)
    products = pd.read_csv(tiny_dataset / "products.csv")
    result = rec.offline_evaluation(
        lines,
        ["popularity", "gp_topfreq", "item_item", "als_f8", "buy_again"],
        k=10,
        skus=products["sku"],
        seed=7,
        progress=False,
        model_options={"num_threads": 1, "categories": products.set_index("sku")["category"]},
    )
    test = result.overall("test")
    print(result.chosen, test[["ndcg_at_k", "coverage"]].round(3).to_dict())
    assert test.loc[result.chosen, "ndcg_at_k"] >= 1.05 * test.loc["gp_topfreq", "ndcg_at_k"]
    assert test.loc[result.chosen, "ndcg_at_k"] > 1.2 * test.loc["popularity", "ndcg_at_k"]
    assert test.loc[result.chosen, "coverage"] > 2 * test.loc["popularity", "coverage"]
    truth = truth_scoring.load_truth(tiny_dataset)
    id_map = truth_scoring.true_customer_ids(links, truth["buyer_identity"])
    scores = {
        m: truth_scoring.category_preference_recovery(r, products, truth["customers"], id_map)[1]
        for m, r in result.test_recs.items()
    }
    print({m: round(v["lift_spearman"], 3) for m, v in scores.items()})
    assert scores[result.chosen]["lift_spearman"] > 0.4
    assert abs(scores["popularity"]["lift_spearman"]) < 0.25


# ---------------------------------------------------------------- scale: same answers, less work


def _random_lines(n_customers: int = 60, seed: int = 3) -> pd.DataFrame:
    """Random purchases of 12 SKUs in 3 categories on 2 channels over 120 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_customers):
        for _ in range(rng.integers(1, 8)):
            rows.append(
                (
                    f"c{u:03d}",
                    f"s{rng.integers(12):02d}",
                    int(rng.integers(120)),
                    int(rng.integers(1, 4)),
                    ("web", "shop")[int(rng.integers(2))],
                )
            )
    return rec.purchase_lines(_lines(rows))


def _buy_again_reference(model: rec.BuyAgain, rows: np.ndarray) -> np.ndarray:
    """The formula of BuyAgain's docstring with dense arrays, as the first implementation."""
    k = model.sku_category
    own = model.m[rows].toarray()
    prior = model.channel_prob[rows] @ model.channel_share
    within = (own + model.alpha * prior) / (model.m_cat[rows][:, k] + model.alpha)
    return (model.category_prob[rows][:, k] * within).astype(np.float32)


def test_buy_again_sparse_scoring_equals_the_dense_formula():
    lines = _random_lines()
    data = rec.build_interactions(lines, skus=[f"s{i:02d}" for i in range(14)])  # 2 never sold
    cats = pd.Series({f"s{i:02d}": "xyz"[i % 3] for i in range(14)})
    segs = pd.Series({f"c{u:03d}": f"g{u % 2}" for u in range(0, 60, 2)})
    model = rec.BuyAgain(categories=cats).fit(data, segs)
    rows = np.array([5, 0, 17, 17, 3])
    np.testing.assert_allclose(model.score(rows), _buy_again_reference(model, rows), rtol=1e-6)
    rows = np.arange(data.shape[0])
    np.testing.assert_allclose(model.score(rows), _buy_again_reference(model, rows), rtol=1e-6)


@pytest.mark.parametrize("name", ["popularity", "segment_popularity"])
def test_shared_lists_rank_like_scoring_every_customer(name):
    """Popularity models rank each distinct list once and copy it: the same lists as
    ranking every customer's scores (top_k over model.score)."""
    lines = _random_lines()
    segs = pd.Series({f"c{u:03d}": f"g{u % 3}" for u in range(40)})
    data = rec.build_interactions(lines)
    model = rec.make_model(name).fit(data, segs)
    ids = data.customers[::-1]
    got = rec.recommend(model, ids, k=4, segments=segs)
    idx, val = rec.top_k(model.score(data.rows(ids)), 4)
    assert got["customer_id"].tolist() == list(np.repeat(ids, 4))
    assert got["sku"].tolist() == list(data.skus[idx.ravel()])
    assert got["score"].tolist() == list(val.ravel().astype(float))
    assert got["rank"].tolist() == [1, 2, 3, 4] * len(ids)


def test_one_pass_affinities_equal_the_separate_ones_and_the_hand_sum():
    lines = _random_lines()
    segs = pd.Series({f"c{u:03d}": f"g{u % 3}" for u in range(40)} | {"nobody": "g0"})
    data = rec.build_interactions(lines)
    model = rec.make_model("buy_again").fit(data, segs)
    ch, sg = rec.affinities(model, lines, segs)
    pd.testing.assert_frame_equal(ch, rec.channel_affinity(model, lines))
    pd.testing.assert_frame_equal(sg, rec.segment_affinity(model, segs))
    # by hand: the mean of each segment's customers' normalised scores
    s = model.score(np.arange(data.shape[0])).astype(float)
    shares = pd.DataFrame(s / s.sum(axis=1, keepdims=True), index=data.customers)
    known = segs[segs.index.isin(data.customers)]
    want = shares.loc[known.index].groupby(known.to_numpy()).mean()
    np.testing.assert_allclose(sg.to_numpy(), want.to_numpy(), rtol=1e-6)  # float32 scores


def test_sample_customers_is_seeded_and_keeps_whole_histories():
    lines = _random_lines()
    same, n = rec.sample_customers(lines, 60)
    assert n == 60 and same is lines
    part, n = rec.sample_customers(lines, 10, seed=1)
    assert n == 60 and part["customer_id"].nunique() == 10
    chosen = set(part["customer_id"])
    assert len(part) == lines["customer_id"].isin(chosen).sum()  # every line of the chosen
    shuffled, _ = rec.sample_customers(lines.sample(frac=1, random_state=0), 10, seed=1)
    assert set(shuffled["customer_id"]) == chosen  # independent of the lines' order
    assert set(rec.sample_customers(lines, 10, seed=2)[0]["customer_id"]) != chosen


def test_sampled_evaluation_equals_the_full_one_when_the_sample_holds_everyone():
    lines = _random_lines(80)
    args = dict(k=3, test_weeks=3, validation_weeks=3, progress=False, seed=1)
    full = rec.offline_evaluation(lines, ["popularity", "buy_again"], **args)
    same = rec.offline_evaluation(lines, ["popularity", "buy_again"], max_customers=80, **args)
    pd.testing.assert_frame_equal(full.metrics, same.metrics)
    assert (full.customers_evaluated, full.customers_total, full.sampled) == (80, 80, False)
    part = rec.offline_evaluation(lines, ["popularity", "buy_again"], max_customers=30, **args)
    assert (part.customers_evaluated, part.customers_total, part.sampled) == (30, 80, True)
    assert (part.cutoff, part.validation_start) == (full.cutoff, full.validation_start)
    n_test = part.overall("test")["customers"].iloc[0]
    assert 0 < n_test <= 30 < full.overall("test")["customers"].iloc[0]


def test_true_customer_ids_for_some_customers_equal_the_full_map(tiny_merged, tiny_dataset):
    _, links = tiny_merged
    identity = truth_scoring.load_truth(tiny_dataset)["buyer_identity"]
    full = truth_scoring.true_customer_ids(links, identity)
    some = full.index[::7]
    part = truth_scoring.true_customer_ids(links, identity, customers=some)
    pd.testing.assert_series_equal(part, full.loc[part.index])
    assert set(part.index) == set(some)


def test_purchase_lines_from_arrow_strings_equal_those_from_python_strings():
    raw = _lines([("u1", "A", 0, 1), ("u2", "B", 1, 0), ("u1", "C", 2, 2), (None, "A", 3, 1)])
    raw.loc[2, "status"] = "returned"
    arrow = raw.astype({c: "string[pyarrow]" for c in ("customer_id", "sku", "channel_id")})
    want = rec.purchase_lines(raw)
    assert want["customer_id"].tolist() == ["u1"] and want["quantity"].tolist() == [1.0]
    pd.testing.assert_frame_equal(rec.purchase_lines(arrow), want)


@pytest.mark.parametrize("channels", [True, False])
def test_buy_again_summed_shares_equal_the_dense_shares(channels):
    """BuyAgain aggregates shares from its factors; the dense route scores every customer."""
    lines = _random_lines()
    if not channels:
        lines = lines.drop(columns="channel_id")
    data = rec.build_interactions(lines, skus=[f"s{i:02d}" for i in range(14)])
    cats = pd.Series({f"s{i:02d}": "xyz"[i % 3] for i in range(14)})
    model = rec.BuyAgain(categories=cats).fit(data)
    rows = np.array([3, 0, 7, 11, 25, 40])
    rng = np.random.default_rng(0)
    weights = [
        sp.csr_matrix(rng.random((2, len(rows))) * (rng.random((2, len(rows))) < 0.6)),
        sp.csr_matrix(np.ones((1, len(rows)))),
    ]
    dense = np.vstack([shares for _, shares in purchase_shares(model, rows)])
    got = model.summed_shares(rows, weights)
    for w, g in zip(weights, got, strict=True):
        np.testing.assert_allclose(g, w @ dense, rtol=1e-6, atol=1e-12)


def test_top_k_equals_a_full_sort_with_ties_to_the_lower_column():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0], [5, 4, 3, 2, 1]])
    idx, val = rec.top_k(scores.astype(np.float32), 2)
    assert idx.tolist() == [[1, 2], [0, 1], [0, 1]]
    assert val.tolist() == [[3.0, 3.0], [0.0, 0.0], [5.0, 4.0]]
    rng = np.random.default_rng(5)
    many = rng.integers(0, 6, (300, 40)).astype(np.float32)  # many ties
    many[:, 3] = -np.inf
    idx, val = rec.top_k(many, 7)
    cols = np.arange(40)
    want = np.array([np.lexsort((cols, -row))[:7] for row in many])
    assert (idx == want).all() and (val == np.take_along_axis(many, want, axis=1)).all()
    idx, _ = rec.top_k(many, 50)  # k above the catalogue: every column, sorted
    assert idx.shape == (300, 40)
