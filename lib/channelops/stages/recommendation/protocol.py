"""The notebook's candidate set, model settings and per-group table, as small functions.

Notebook 07 states its parameters; these functions turn them into what
:func:`~channelops.stages.recommendation.evaluate.offline_evaluation` takes and shape its
result for the heatmap, so the notebook cells stay short and the logic is tested.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "BASELINE_NAMES",
    "candidate_names",
    "model_options",
    "evaluation_sentences",
    "group_grid",
]

#: The yardsticks every evaluation includes (Li et al. 2023's and the simplest).
BASELINE_NAMES = ("popularity", "popularity_recent", "gp_topfreq", "tifu_knn")


def candidate_names(
    als_factors: list[int], explore_weights: list[float], explore_places: list[int]
) -> list[str]:
    """The models the evaluation compares, in the order of its tables.

    Args:
        als_factors: one ALS candidate per entry (``als_f<f>``, each >= 1).
        explore_weights: one ``next_basket_x<w>`` candidate per weight (> 0; 1 is
            ``next_basket`` itself, always a candidate).
        explore_places: one ``next_basket+explore@<n>`` blend per entry (places of the list
            given to new products).

    Returns:
        Baselines, segment popularity, item-item, the ALS models, buy_again, next_basket,
        its explore-weighted variants and the blends; no name twice.

    Raises:
        ValueError: a factor < 1, a weight <= 0 or a negative number of places.
    """
    if any(f < 1 for f in als_factors):
        raise ValueError(f"als_factors must be >= 1 each, got {als_factors}")
    if any(not w > 0 for w in explore_weights):
        raise ValueError(f"explore_weights must be > 0 each, got {explore_weights}")
    if any(n < 0 for n in explore_places):
        raise ValueError(f"explore_places must be >= 0 each, got {explore_places}")
    names = [*BASELINE_NAMES, "segment_popularity", "item_item"]
    names += [f"als_f{f}" for f in als_factors]
    names += ["buy_again", "next_basket"]
    names += [f"next_basket_x{w:g}" for w in explore_weights if w != 1]
    names += [f"next_basket+explore@{n}" for n in explore_places]
    return list(dict.fromkeys(names))


def model_options(
    categories: pd.Series,
    als_regularization: float,
    als_alpha: float,
    als_iterations: int,
    popularity_window_weeks: float,
    tifu_neighbours: int,
    explore_window_weeks: float,
) -> dict:
    """Settings of the candidates (``model_options`` of the evaluation and of make_model).

    Args:
        categories: sku -> category (buy_again).
        als_regularization, als_alpha, als_iterations: ALS's lambda, alpha and sweeps.
        popularity_window_weeks: recent popularity's window (and GP-TopFreq's fill), weeks.
        tifu_neighbours: TIFU-KNN's k.
        explore_window_weeks: the label window of the explore and next_basket models, weeks
            (the evaluation's test period is the natural choice).
    """
    return dict(
        regularization=als_regularization,
        alpha=als_alpha,
        iterations=als_iterations,
        categories=categories,
        popularity_window_weeks=popularity_window_weeks,
        tifu_options={"neighbours": tifu_neighbours},
        explore_options={"window_weeks": explore_window_weeks},
    )


def evaluation_sentences(result, last_purchase: pd.Timestamp, seed: int) -> list[str]:
    """What the evaluation ran on, as plain sentences.

    Args:
        result: :class:`~channelops.stages.recommendation.evaluate.EvaluationResult`.
        last_purchase: the last purchase instant in the data (end of the test period).
        seed: the run's seed (the sample's).
    """
    if result.sampled:
        first = (
            f"evaluated on a random sample of {result.customers_evaluated:,} of the "
            f"{result.customers_total:,} customers (all their purchases; seed {seed}, "
            "eval_max_customers)"
        )
    else:
        first = f"evaluated on all {result.customers_total:,} customers"
    split = (
        f"train before {result.validation_start.date()} -> validate to {result.cutoff.date()} "
        f"-> test from {result.cutoff.date()} to {pd.Timestamp(last_purchase).date()}"
    )
    return [first, split]


def group_grid(
    metrics: pd.DataFrame, models: list[str], min_customers: int = 30, metric: str = "ndcg_at_k"
) -> tuple[pd.DataFrame, list[str]]:
    """Test figures per group (rows) and model (columns), for the heatmap.

    Args:
        metrics: the evaluation's metrics (split, model, group_by, group, customers, ...).
        models: the columns, in order (models missing from ``metrics`` are left out).
        min_customers: groups with fewer test customers are left out (too noisy).
        metric: the figure in the cells.

    Returns:
        (grid: index "<group_by>: <group> (<customers>)", one column per model; the groups
        left out as "<group_by>: <group>", sorted).
    """
    if min_customers < 0:
        raise ValueError(f"min_customers must be >= 0, got {min_customers}")
    tested = metrics[(metrics["split"] == "test") & (metrics["group_by"] != "all")]
    small = tested["customers"] < min_customers
    left_out = sorted({f"{b}: {g}" for b, g in tested.loc[small, ["group_by", "group"]].values})
    kept = tested[~small]
    grid = kept.pivot_table(index=["group_by", "group"], columns="model", values=metric)
    grid = grid[[m for m in models if m in grid.columns]]
    sizes = kept.drop_duplicates(["group_by", "group"]).set_index(["group_by", "group"])
    grid.index = [f"{b}: {g} ({sizes.loc[(b, g), 'customers']:,})" for b, g in grid.index]
    return grid, left_out
