"""Stage 07's "What we found": every sentence built from the figures it describes."""

from __future__ import annotations

import pandas as pd

__all__ = ["recommendation_findings"]


def _name(model: str) -> str:
    """A model's name for readers (no markdown markup)."""
    return {"gp_topfreq": "GP-TopFreq", "tifu_knn": "TIFU-KNN"}.get(model, model)


def recommendation_findings(
    test: pd.DataFrame,
    chosen: str,
    k: int,
    baseline: str = "gp_topfreq",
    validation: pd.DataFrame | None = None,
    tolerance: float | None = None,
) -> list[str]:
    """Findings of the offline evaluation, as plain sentences (no markup).

    Args:
        test: one row per model (index model) over the test customers: ndcg_at_k,
            ndcg_repeat, ndcg_explore, new_share, coverage
            (:meth:`~channelops.stages.recommendation.EvaluationResult.overall`).
        chosen: the model chosen on the validation window.
        k: list length.
        baseline: the yardstick model (GP-TopFreq: each customer's own most bought
            products); popularity and item_item, when present, are the explore yardsticks.
        validation, tolerance: the validation rows (ndcg_at_k, ndcg_explore) and the choice
            rule's explore tolerance; with both, a sentence says why the chosen model was
            chosen when it is not the best at validation NDCG@k.

    Returns:
        Sentences: the chosen model against the baseline (says plainly when it does not beat
        it), repeat and explore apart with the share of each list that is new, and the
        catalogue coverage.
    """
    if chosen not in test.index:
        raise ValueError(f"chosen model {chosen!r} has no test row; rows: {list(test.index)}")
    row = test.loc[chosen]
    out = []
    if baseline in test.index and baseline != chosen:
        base = test.loc[baseline, "ndcg_at_k"]
        ratio = row["ndcg_at_k"] / base if base > 0 else float("inf")
        if ratio > 1.0:
            verdict = "beats it"
        elif ratio == 1.0:
            verdict = "does not beat it: the simple baseline is as good"
        else:
            verdict = "does not beat it: the simple baseline is better"
        out.append(
            f"Chosen on the validation window: {_name(chosen)}. On the test weeks its "
            f"NDCG@{k} is {row['ndcg_at_k']:.3f} against {base:.3f} for {_name(baseline)} "
            f"(each customer's own most bought products; {ratio:.2f} x), so it {verdict}."
        )
    else:
        out.append(
            f"Chosen on the validation window: {_name(chosen)}, test NDCG@{k} "
            f"{row['ndcg_at_k']:.3f}."
        )
    if validation is not None and tolerance:
        best = validation["ndcg_at_k"].astype(float).idxmax()
        if best != chosen and chosen in validation.index:
            out.append(
                f"It was chosen for discovery: its validation NDCG@{k} "
                f"({validation.loc[chosen, 'ndcg_at_k']:.3f}) is within {tolerance:.0%} of the "
                f"best ({_name(best)}, {validation.loc[best, 'ndcg_at_k']:.3f}), and of the "
                f"models that close it found the most products new to the customers "
                f"(validation explore NDCG@{k} {validation.loc[chosen, 'ndcg_explore']:.3f} "
                f"against {validation.loc[best, 'ndcg_explore']:.3f})."
            )
    if {"ndcg_repeat", "ndcg_explore", "new_share"} <= set(test.columns):
        out.append(
            f"On products the customers had bought before its NDCG@{k} is "
            f"{row['ndcg_repeat']:.3f}; on products new to them {row['ndcg_explore']:.3f}, "
            f"with {row['new_share']:.0%} of each list new to the customer."
        )
        rivals = [m for m in ("popularity", "popularity_recent", "item_item") if m in test.index]
        rivals = [m for m in rivals if m != chosen]
        if rivals:
            best = test.loc[rivals, "ndcg_explore"].astype(float).idxmax()
            value = test.loc[best, "ndcg_explore"]
            word = "better" if row["ndcg_explore"] > value else "no better"
            out.append(
                f"For discovery it is {word} than the best of {', '.join(rivals)} "
                f"({best}, explore NDCG@{k} {value:.3f})."
            )
    if "coverage" in test.columns:
        out.append(f"Its lists use {row['coverage']:.0%} of the catalogue.")
    return out
