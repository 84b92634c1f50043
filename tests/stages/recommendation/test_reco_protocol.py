"""Stage 07's notebook helpers: candidate set, model settings, evaluation sentences and the
per-group grid, on hand-made inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import recommendation as rec


def test_candidate_names_in_order_without_repeats():
    names = rec.candidate_names([8, 16], [1, 2, 2.5], [2])
    assert names[:4] == ["popularity", "popularity_recent", "gp_topfreq", "tifu_knn"]
    assert names[4:] == [
        "segment_popularity",
        "item_item",
        "als_f8",
        "als_f16",
        "buy_again",
        "next_basket",  # weight 1 is next_basket itself, not a second candidate
        "next_basket_x2",
        "next_basket_x2.5",
        "next_basket+explore@2",
    ]
    assert len(rec.candidate_names([8, 8], [], [])) == len(rec.candidate_names([8], [], []))
    for name in rec.candidate_names([8], [2], [3]):  # every name builds a model
        assert rec.make_model(name).name == name or name.startswith("als_f")
    with pytest.raises(ValueError, match="explore_weights must be > 0"):
        rec.candidate_names([8], [0], [])
    with pytest.raises(ValueError, match="explore_places must be >= 0"):
        rec.candidate_names([8], [], [-1])


def test_model_options_reach_the_models():
    cats = pd.Series({"A": "x"})
    opts = rec.model_options(cats, 5.0, 2.0, 3, 6.0, 40, 4.0)
    assert rec.make_model("tifu_knn", **opts).neighbours == 40
    assert rec.make_model("next_basket", **opts).window_weeks == 4.0
    assert rec.make_model("popularity_recent", **opts).window_weeks == 6.0
    als = rec.make_model("als_f8", **opts)
    assert (als.regularization, als.alpha, als.iterations) == (5.0, 2.0, 3)


def _metrics() -> pd.DataFrame:
    rows = [
        ("test", "m1", "all", "all", 100, 0.5),
        ("test", "m1", "cohort", "warm", 80, 0.6),
        ("test", "m1", "cohort", "cold", 20, 0.1),
        ("test", "m2", "cohort", "warm", 80, 0.4),
        ("test", "m2", "cohort", "cold", 20, 0.1),
        ("validation", "m1", "cohort", "warm", 70, 0.9),
    ]
    cols = ["split", "model", "group_by", "group", "customers", "ndcg_at_k"]
    return pd.DataFrame(rows, columns=cols)


def test_group_grid_keeps_groups_with_enough_customers():
    grid, small = rec.group_grid(_metrics(), ["m2", "m1", "m9"], min_customers=30)
    assert list(grid.columns) == ["m2", "m1"]  # the given order; unknown models left out
    assert list(grid.index) == ["cohort: warm (80)"]  # validation rows never enter
    assert grid.loc["cohort: warm (80)", "m1"] == 0.6
    assert small == ["cohort: cold"]
    with pytest.raises(ValueError, match="min_customers must be >= 0"):
        rec.group_grid(_metrics(), ["m1"], min_customers=-1)


def test_evaluation_sentences_say_sample_or_everyone():
    class Result:
        sampled = True
        customers_evaluated, customers_total = 100, 1_000
        validation_start = pd.Timestamp("2024-01-01")
        cutoff = pd.Timestamp("2024-02-26")

    first, split = rec.evaluation_sentences(Result(), pd.Timestamp("2024-04-21"), 7)
    assert first == (
        "evaluated on a random sample of 100 of the 1,000 customers (all their purchases; "
        "seed 7, eval_max_customers)"
    )
    assert (
        split
        == "train before 2024-01-01 -> validate to 2024-02-26 -> test from 2024-02-26 to 2024-04-21"
    )
    Result.sampled = False
    assert rec.evaluation_sentences(Result(), pd.Timestamp("2024-04-21"), 7)[0] == (
        "evaluated on all 1,000 customers"
    )
