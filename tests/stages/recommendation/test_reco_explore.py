"""Stage 07's discovery models (Explorer, NextBasket), the explore choice rule and
TIFU-KNN's neighbour pool, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import recommendation as rec

AS_OF = pd.Timestamp("2024-06-01", tz="UTC")


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
    return rec.recommend(model, [customer], k=k).sort_values("rank")["sku"].tolist()


@pytest.fixture(scope="module")
def co_bought() -> rec.Interactions:
    """A is followed by B: 40 customers bought A then B before the label window, 20 bought
    A before it and B in it; 30 others buy P, the best seller, again and again; q bought
    only A, 2 days ago."""
    rows = []
    for i in range(40):
        rows += [(f"old{i}", "A", 120), (f"old{i}", "B", 100)]
    for i in range(20):
        rows += [(f"mid{i}", "A", 70), (f"mid{i}", "B", 10)]
    for i in range(30):
        rows += [(f"pop{i}", "P", d) for d in (5, 30, 65, 90, 130)]
        rows += [(f"pop{i}", f"X{i % 3}", 65)]
    rows += [("q", "A", 2)]
    return rec.build_interactions(_lines(rows), as_of=AS_OF)


def test_explore_propensity_by_hand(co_bought):
    # baskets oldest -> newest. a: {X}, {X}, {X, Y}: counted (all but the first basket)
    # X old, X old, Y new -> 1 of 3; c: {P}, {Q}: Q new -> 1 of 1; b: one basket, none
    # counted. Everyone: 2 of 4 -> prior 0.5; weight 2: a (1 + 1) / (3 + 2), c 2 / 3, b 0.5
    lines = _lines([("a", "X", 30), ("a", "X", 20), ("a", "X", 10), ("a", "Y", 10)])
    lines = pd.concat([lines, _lines([("b", "Z", 5), ("c", "P", 9), ("c", "Q", 4)])])
    data = rec.build_interactions(lines, as_of=AS_OF)
    got = rec.explore_propensity(data.events, data.shape[0], prior_weight=2.0)
    want = {"a": 0.4, "b": 0.5, "c": 2 / 3}
    for who, value in want.items():
        assert got[data.rows([who])[0]] == pytest.approx(value)
    with pytest.raises(ValueError, match="prior_weight must be > 0"):
        rec.explore_propensity(data.events, data.shape[0], prior_weight=0)


def test_repeat_features_by_hand():
    # a: X in baskets 30 and 10 days ago, Y 10 days ago -> 2 baskets hold X of a's 2
    lines = _lines([("a", "X", 30), ("a", "X", 10), ("a", "Y", 10), ("b", "Y", 3)])
    data = rec.build_interactions(lines, as_of=AS_OF)
    table = rec.ItemStats(data.events, data.shape[1]).table
    prop = np.array([0.25, 0.5])
    feats = rec.repeat_features(data.events, data.shape[0], prop, table, half_life_days=10.0)
    ax = feats[(feats["row"] == data.rows(["a"])[0]) & (feats["col"] == 0)].iloc[0]
    assert ax["log_baskets_with"] == pytest.approx(np.log1p(2))
    assert ax["log_days_since_bought"] == pytest.approx(np.log1p(10))
    assert ax["share_of_baskets"] == pytest.approx(1.0)
    assert ax["log_days_since_last_basket"] == pytest.approx(np.log1p(10))
    assert ax["explore_propensity"] == 0.25
    assert ax["pop_4w"] == pytest.approx(np.log1p(1))  # X: 1 basket in 4 weeks (30 d > 28)
    # X: one buyer (a), who bought it in two baskets -> (1 + 1) / (1 + 2); Y: two buyers,
    # one basket each -> (0 + 1) / (2 + 2)
    assert ax["product_repeat_rate"] == pytest.approx(2 / 3)
    assert feats.loc[feats["col"] == 1, "product_repeat_rate"].tolist() == [0.25, 0.25]
    # X's baskets 30 and 10 days ago, half-life 10 days: 0.5 ** 3 + 0.5 ** 1 = 0.625
    assert ax["log_decayed_baskets"] == pytest.approx(np.log1p(0.625))
    assert list(feats.columns[2:]) == list(rec.REPEAT_FEATURES)
    with pytest.raises(ValueError, match="half_life_days must be > 0"):
        rec.repeat_features(data.events, data.shape[0], prop, table, half_life_days=0)
    with pytest.raises(ValueError, match="repeat_half_life_days > 0"):
        rec.NextBasket(repeat_half_life_days=-1)


def test_explorer_learns_what_follows_and_never_ranks_a_bought_sku_first(co_bought):
    model = rec.Explorer(window_weeks=8).fit(co_bought)
    assert model.coef_ is not None  # B bought in the label window: a model was fitted
    top = _list(model, "q")
    assert top[0] == "B"  # what follows A, not the best seller P
    assert top[-1] == "A"  # the one SKU q bought comes last
    # pop0's two bought SKUs come after every new one
    assert set(_list(model, "pop0")[-2:]) == {"P", "X0"}
    with pytest.raises(ValueError, match="window_weeks > 0"):
        rec.Explorer(window_weeks=0)


def test_explorer_without_a_label_window_falls_back():
    # every purchase is older than the 8-week window's start... none in it: no model
    data = rec.build_interactions(
        _lines([("a", "A", 100), ("b", "B", 90), ("b", "A", 80)]),
        as_of=AS_OF - pd.Timedelta(days=0),
    )
    model = rec.Explorer(window_weeks=1).fit(data)
    assert model.coef_ is None
    assert _list(model, "a")[0] == "B" and _list(model, "a")[-1] == "A"


def test_next_basket_mixes_by_probability_and_weight_moves_new_products_up(co_bought):
    base = rec.make_model("next_basket").fit(co_bought)
    heavy = rec.make_model("next_basket_x1000").fit(co_bought)
    assert heavy.name == "next_basket_x1000" and base.name == "next_basket"
    # pop0 re-buys P every month: P comes first; with a huge weight on new products some
    # new ones go ahead of it, and never fewer than with no weight
    base_list, heavy_list = _list(base, "pop0"), _list(heavy, "pop0")
    assert base_list[0] == "P"
    assert heavy_list.index("P") > 0
    new = {"A", "B", "X1", "X2"}
    assert sum(s in new for s in heavy_list[:3]) > sum(s in new for s in base_list[:3])
    with pytest.raises(ValueError, match="explore_weight > 0"):
        rec.NextBasket(explore_weight=0)
    with pytest.raises(ValueError, match="next_basket_x<weight> takes a number"):
        rec.make_model("next_basket_xlots")


def test_choose_model_explore_rule():
    val = pd.DataFrame(
        {"ndcg_at_k": [0.40, 0.39, 0.30], "ndcg_explore": [0.01, 0.03, 0.09]},
        index=["a", "b", "c"],
    )
    assert rec.choose_model(val) == "a"  # no tolerance: best NDCG
    assert rec.choose_model(val, 0.05) == "b"  # 0.39 >= 0.95 x 0.40; c is too far
    assert rec.choose_model(val, 0.3) == "c"  # 0.30 >= 0.7 x 0.40, best explore
    with pytest.raises(ValueError, match="explore_tolerance must be in"):
        rec.choose_model(val, 1.2)
    with pytest.raises(ValueError, match="needs ndcg_explore"):
        rec.choose_model(val[["ndcg_at_k"]], 0.05)


def test_tifu_neighbour_pool(co_bought):
    n = co_bought.shape[0]
    rows = np.arange(n)
    exact = rec.TIFUKNN(neighbours=5, neighbour_pool=None).fit(co_bought)
    same = rec.TIFUKNN(neighbours=5, neighbour_pool=n).fit(co_bought)
    np.testing.assert_array_equal(exact.score(rows), same.score(rows))
    # alpha 0, one neighbour from a pool of 5: each score is a pooled customer's vector
    pooled = rec.TIFUKNN(neighbours=1, neighbour_pool=5, alpha=0.0, seed=3).fit(co_bought)
    assert len(pooled.pool) == 5
    scores = pooled.score(rows) - pooled.fill
    vectors = pooled.vectors[pooled.pool].toarray()
    for r in rows[:20]:
        assert np.abs(vectors - scores[r]).max(axis=1).min() < 1e-6
    with pytest.raises(ValueError, match="neighbour_pool >= neighbours"):
        rec.TIFUKNN(neighbours=10, neighbour_pool=5)


def test_variants_share_one_fit_per_data(co_bought):
    base = rec.make_model("next_basket").fit(co_bought)
    weighted = rec.make_model("next_basket_x2").fit(co_bought)
    blend = rec.make_model("next_basket+explore@2").fit(co_bought)
    assert weighted.state is base.state and blend.explore.state is base.state
    assert weighted.repeat_scores is base.repeat_scores
    # other settings, or other data, fit anew
    other = rec.NextBasket(window_weeks=4).fit(co_bought)
    assert other.state is not base.state
    copy = rec.build_interactions(
        pd.DataFrame(
            {
                "customer_id": co_bought.customers[co_bought.events["row"]],
                "sku": co_bought.skus[co_bought.events["col"]],
                "order_ts": AS_OF - pd.to_timedelta(co_bought.events["age_days"], unit="D"),
                "quantity": 1.0,
            }
        ),
        as_of=AS_OF,
    )
    again = rec.make_model("next_basket").fit(copy)
    assert again.state is not base.state
    np.testing.assert_allclose(again.score(np.arange(5)), base.score(np.arange(5)), atol=1e-6)


def test_candidate_cells_kept_from_the_second_request_give_the_same_scores(co_bought):
    rows = np.arange(co_bought.shape[0])
    base = rec.make_model("next_basket").fit(co_bought)
    state = base.state
    state.cache.clear(), state.requested.clear()
    state.cached_cells = 0
    first = base.score(rows)
    assert not state.cache  # one request: nothing kept (lists for everyone)
    weighted = rec.make_model("next_basket_x2").fit(co_bought).score(rows)
    assert len(state.cache) == 1  # the second request of the same rows keeps them
    np.testing.assert_array_equal(base.score(rows), first)  # served from the cache
    np.testing.assert_array_equal(base.score(rows[:3]), first[:3])  # other rows: computed
    # the weight multiplies only the new products' probabilities: bought cells agree
    bought = co_bought.matrix[rows].toarray() > 0
    np.testing.assert_array_equal(weighted[bought], first[bought])
    assert (weighted[~bought] >= first[~bought]).all()
