"""Stage 07's next-basket baselines, repeat / explore metrics and the as-of-cut-off inputs,
on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import recommendation as rec

AS_OF = pd.Timestamp("2024-03-01", tz="UTC")


def _lines(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """Purchases from (customer, sku, days before AS_OF), one unit each."""
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "sku": [r[1] for r in rows],
            "order_ts": [AS_OF - pd.Timedelta(days=r[2]) for r in rows],
            "quantity": 1.0,
        }
    )


def _list(model, customer: str, k: int = 10) -> list[str]:
    recs = rec.recommend(model, [customer], k=k)
    return recs.sort_values("rank")["sku"].tolist()


@pytest.fixture
def shop() -> rec.Interactions:
    # a: X in 3 baskets, Y once 1 day ago, Z once 50 days ago; b and c: W recently, V old
    rows = [("a", "X", 1), ("a", "X", 10), ("a", "X", 20), ("a", "Y", 1), ("a", "Z", 50)]
    rows += [("b", "W", 2), ("b", "V", 100), ("c", "W", 3), ("c", "V", 90), ("c", "V", 95)]
    return rec.build_interactions(_lines(rows), as_of=AS_OF)


def test_recent_popularity_counts_only_the_window(shop):
    # last 4 weeks: X 3 baskets (days 1, 10, 20), W 2, Y 1; V (3 baskets) and Z (1) are
    # older, so they come last, V first on its all-time count
    model = rec.RecentPopularity(window_weeks=4).fit(shop)
    assert _list(model, "b") == ["X", "W", "Y", "V", "Z"]
    # a 20-week window takes V's three baskets in: V and X tie on 3 (all-time too)
    wide = rec.RecentPopularity(window_weeks=20).fit(shop)
    assert _list(wide, "b")[:2] == ["V", "X"]  # tie on 3 baskets; first column (V) first
    with pytest.raises(ValueError, match="window_weeks > 0"):
        rec.RecentPopularity(window_weeks=0)


def test_gp_topfreq_own_frequency_then_recency_then_popularity(shop):
    model = rec.GPTopFreq(window_weeks=4).fit(shop)
    # a: X (3 baskets) first, then Y (1 basket, 1 day old) before Z (1 basket, 50 days old),
    # then the popular SKUs a never bought: W (recent 2) before V (recent 0)
    assert _list(model, "a") == ["X", "Y", "Z", "W", "V"]
    # c: V (2 baskets) before W (1 basket) though W is more recent
    assert _list(model, "c")[:2] == ["V", "W"]


def test_tifu_knn_vector_and_neighbours_by_hand(shop):
    # group_size 1: each basket its own group; decay_group 0.5; a has 5 baskets (days 1,10,20,50)
    # -> baskets by recency: day 1 {X, Y} (g0), day 10 {X} (g1), day 20 {X} (g2), day 50 {Z} (g3)
    model = rec.TIFUKNN(neighbours=1, group_size=1, decay_group=0.5, alpha=1.0).fit(shop)
    v = model.vectors[shop.rows(["a"])].toarray().ravel()
    col = {s: i for i, s in enumerate(shop.skus)}
    assert v[col["X"]] == pytest.approx((1 + 0.5 + 0.25) / 4)
    assert v[col["Y"]] == pytest.approx(1 / 4)
    assert v[col["Z"]] == pytest.approx(0.125 / 4)
    # alpha 0: b's score is its one nearest neighbour's vector, c (same SKUs), not a
    nn = rec.TIFUKNN(neighbours=1, group_size=1, decay_group=0.5, alpha=0.0).fit(shop)
    got = nn.score(shop.rows(["b"]))[0]
    want = model.vectors[shop.rows(["c"])].toarray().ravel()
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="neighbours >= 1"):
        rec.TIFUKNN(neighbours=0)
    with pytest.raises(ValueError, match="alpha in"):
        rec.TIFUKNN(alpha=1.5)


def test_repeat_explore_head_from_repeat_tail_from_explore(shop):
    # k 3, 1 place to explore: a's two most frequent bought SKUs (X, Y), then the best new
    # SKU by item-item (a shares no buyer with W or V: both 0, tie -> first column: V),
    # then the other new SKU (W), and Z, a's remaining bought SKU, last
    model = rec.make_model("gp_topfreq+item_item@1", k=3).fit(shop)
    assert model.name == "gp_topfreq+item_item@1"
    assert _list(model, "a") == ["X", "Y", "V", "W", "Z"]
    # 0 places to explore: the repeat model's own order of the bought SKUs
    assert _list(rec.make_model("gp_topfreq+item_item@0", k=3).fit(shop), "a", k=3) == [
        "X",
        "Y",
        "Z",
    ]
    with pytest.raises(ValueError, match="<repeat>\\+<explore>@<places>"):
        rec.make_model("gp_topfreq+item_item@two")
    with pytest.raises(ValueError, match="explore_slots must be in"):
        rec.make_model("gp_topfreq+item_item@11", k=10)


def test_repeat_and_explore_metrics_by_hand():
    # u bought A, B before; in the test A (repeat) and C (new); list: A, C, D
    recs = pd.DataFrame({"customer_id": "u", "rank": [1, 2, 3], "sku": ["A", "C", "D"]})
    test = pd.DataFrame({"customer_id": ["u", "u"], "sku": ["A", "C"]})
    seen = pd.DataFrame({"customer_id": ["u", "u"], "sku": ["A", "B"]})
    out = rec.customer_metrics(recs, test, k=3, seen=seen).loc["u"]
    assert out["ndcg_repeat"] == pytest.approx(1.0)  # A at rank 1, one repeat SKU
    assert out["ndcg_explore"] == pytest.approx(1 / np.log2(3))  # C at rank 2, ideal rank 1
    assert out["recall_repeat"] == 1.0 and out["recall_explore"] == 1.0
    assert out["new_share"] == pytest.approx(2 / 3)  # C and D are new
    # no repeat SKU in the test: repeat metrics undefined (NaN), not zero
    only_new = rec.customer_metrics(recs, test[test["sku"] == "C"], k=3, seen=seen).loc["u"]
    assert np.isnan(only_new["ndcg_repeat"]) and only_new["ndcg_explore"] > 0


def test_training_inputs_do_not_move_when_test_purchases_change():
    rng = np.random.default_rng(3)
    days = rng.integers(0, 200, 600)
    rows = [(f"c{rng.integers(0, 40)}", f"S{rng.integers(0, 15)}", int(d)) for d in days]
    lines = _lines(rows)
    lines["sku"] = (
        np.where(lines["customer_id"].str[-1].isin(list("02468")), "E", "") + lines["sku"]
    )
    cats = pd.Series({s: s[0] for s in lines["sku"].unique()})
    cut = AS_OF - pd.Timedelta(days=40)
    changed = lines.copy()
    after = changed["order_ts"] >= cut
    changed.loc[after, "sku"] = "S0"  # every test purchase becomes another SKU
    changed.loc[after, "quantity"] = 9.0
    extra = _lines([("brand_new", "ES3", 5), ("c1", "S1", 3)])
    changed = pd.concat([changed, extra], ignore_index=True)
    a = rec.training_inputs(lines[lines["order_ts"] < cut], categories=cats)
    b = rec.training_inputs(changed[changed["order_ts"] < cut], categories=cats)
    assert (a[0].matrix != b[0].matrix).nnz == 0 and a[0].customers.equals(b[0].customers)
    pd.testing.assert_series_equal(a[1], b[1])
    # 01's segments measured at the end of the data must not reach models or the fallback:
    # the validation figures and the choice depend on the training purchases only
    kw = dict(
        k=5,
        cutoff=cut,
        validation_weeks=2,
        progress=False,
        model_options={"categories": cats, "num_threads": 1},
    )
    names = ["popularity", "segment_popularity", "gp_topfreq"]
    seg_a = pd.Series("one", index=lines["customer_id"].unique())
    ids_b = [*lines["customer_id"].unique(), "brand_new"]
    seg_b = pd.Series(np.resize(["x", "y"], len(ids_b)), index=ids_b)
    r1 = rec.offline_evaluation(lines, names, segments=seg_a, **kw)
    r2 = rec.offline_evaluation(changed, names, segments=seg_b, **kw)
    cols = ["precision_at_k", "recall_at_k", "ndcg_at_k", "ndcg_repeat", "new_share"]
    v1, v2 = r1.overall("validation")[cols], r2.overall("validation")[cols]
    pd.testing.assert_frame_equal(v1, v2)
    assert r1.chosen == r2.chosen

    # the new customer is served the overall popularity before the cut-off (the list every
    # warm customer gets from the popularity model), whatever segment 01 gives them
    def skus(recs, who):
        return recs.loc[recs["customer_id"] == who].sort_values("rank")["sku"].tolist()

    warm = r2.test_recs["popularity"]["customer_id"].iloc[0]
    assert warm != "brand_new"
    want = skus(r2.test_recs["popularity"], warm)
    assert skus(r2.test_recs["segment_popularity"], "brand_new") == want


def test_taste_groups_from_training_categories():
    lines = _lines([("a", "S1", 5), ("a", "S2", 4), ("a", "T1", 3), ("b", "T1", 1)])
    cats = pd.Series({"S1": "shoes", "S2": "shoes", "T1": "toys"})
    groups = rec.taste_groups(lines, cats)
    assert groups.to_dict() == {"a": "taste: shoes", "b": "taste: toys"}
    assert set(rec.taste_groups(lines, None)) == {rec.UNSEGMENTED}


def _overall(chosen_ndcg: float, explore: float) -> pd.DataFrame:
    cols = ["ndcg_at_k", "ndcg_repeat", "ndcg_explore", "new_share", "coverage"]
    return pd.DataFrame(
        [
            [chosen_ndcg, 0.6, explore, 0.25, 0.4],
            [0.40, 0.6, 0.01, 0.1, 0.3],
            [0.20, 0.3, 0.05, 0.5, 0.05],
            [0.30, 0.4, 0.03, 0.3, 0.5],
        ],
        index=["tifu_knn", "gp_topfreq", "popularity", "item_item"],
        columns=cols,
    )


def test_findings_follow_the_numbers():
    good = rec.recommendation_findings(_overall(0.44, 0.08), "tifu_knn", 10)
    assert "0.440 against 0.400 for GP-TopFreq" in good[0] and "1.10 x" in good[0]
    assert "so it beats it" in good[0]
    assert "25% of each list new" in good[1]
    assert "better than the best of popularity, item_item (popularity" in good[2]
    assert not any("*" in s for s in good)  # plain text, no markdown markup
    bad = rec.recommendation_findings(_overall(0.38, 0.02), "tifu_knn", 10)
    assert "does not beat it: the simple baseline is better" in bad[0] and "0.95 x" in bad[0]
    tie = rec.recommendation_findings(_overall(0.40, 0.02), "tifu_knn", 10)
    assert "the simple baseline is as good" in tie[0]
    # chosen for discovery: said only when the chosen model is not the best on validation
    val = pd.DataFrame(
        {"ndcg_at_k": [0.38, 0.40], "ndcg_explore": [0.06, 0.01]},
        index=["tifu_knn", "gp_topfreq"],
    )
    why = rec.recommendation_findings(
        _overall(0.44, 0.08), "tifu_knn", 10, validation=val, tolerance=0.08
    )
    assert why[1] == (
        "It was chosen for discovery: its validation NDCG@10 (0.380) is within 8% of the best "
        "(GP-TopFreq, 0.400), and of the models that close it found the most products new to "
        "the customers (validation explore NDCG@10 0.060 against 0.010)."
    )
    best_too = val.assign(ndcg_at_k=[0.41, 0.40])
    plain = rec.recommendation_findings(
        _overall(0.44, 0.08), "tifu_knn", 10, validation=best_too, tolerance=0.08
    )
    assert not any("chosen for discovery" in s for s in plain)
    assert "no better than the best" in bad[2]
    with pytest.raises(ValueError, match="has no test row"):
        rec.recommendation_findings(_overall(0.4, 0.1), "als_f8", 10)


def test_opposite_audiences_get_opposite_segment_mixes_and_lists():
    # two segments of equal size; "city" is young tier-1, "country" older tier-3; the
    # channels' audiences lean 70/30 one way and the other
    young = {"age_18_24": 0.8, "age_25_34": 0.2, "age_35_44": 0.0, "age_45_plus": 0.0}
    old = {"age_18_24": 0.0, "age_25_34": 0.0, "age_35_44": 0.3, "age_45_plus": 0.7}
    t1, t3 = (
        {"tier_1": 1.0, "tier_2": 0.0, "tier_3": 0.0},
        {"tier_1": 0.0, "tier_2": 0.0, "tier_3": 1.0},
    )
    profiles = pd.DataFrame(
        [
            {"segment": "city", "customers": 50, **young, **t1},
            {"segment": "country", "customers": 50, **old, **t3},
        ]
    )

    def audience(share_city: float) -> dict:
        return {
            b: share_city * (young | t1)[b] + (1 - share_city) * (old | t3)[b]
            for b in [*young, *t1]
        }

    channels = pd.DataFrame(
        [{"channel_id": "app", **audience(0.7)}, {"channel_id": "mail", **audience(0.3)}]
    )
    mix = rec.audience_mix(profiles, channels)
    # the audience is an exact 70/30 mixture: the fit recovers it, shrunk a little towards
    # the base mix (50/50) by the prior
    assert 0.67 < mix.loc["app", "city"] <= 0.7
    assert 0.3 <= mix.loc["mail", "city"] < 0.33
    seg_aff = pd.DataFrame(
        [[0.6, 0.3, 0.1, 0.0], [0.0, 0.1, 0.3, 0.6]],
        index=["city", "country"],
        columns=["phone", "earbuds", "kettle", "garden_hose"],
    )
    affinity, _ = rec.candidate_affinity(seg_aff, profiles, channels)
    assert affinity.loc["app"].idxmax() == "phone"
    assert affinity.loc["mail"].idxmax() == "garden_hose"
    with pytest.raises(ValueError, match="negative or all-zero shares"):
        rec.audience_mix(profiles, channels.assign(tier_1=-1.0))
    with pytest.raises(ValueError, match="prior_weight must be > 0"):
        rec.audience_mix(profiles, channels, prior_weight=0)
