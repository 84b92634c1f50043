"""The sentences of the 04 notebook's "What we found", each computed from the numbers it
states; a comparison says which way it went, and a part 04 could not compute (no unit
costs: no stock policy) has no sentence (the stage's limitation sentence says why)."""

from __future__ import annotations

import pandas as pd

from .comparison import stock_tradeoff_finding

__all__ = [
    "accuracy_finding",
    "selection_finding",
    "interval_finding",
    "stock_findings",
    "forecast_findings",
]


def _direction(ratio: float) -> str:
    """``"12% lower"`` / ``"5% higher"`` / ``"the same"`` for a ratio to a reference."""
    if round(abs(ratio - 1), 2) == 0:
        return "about the same"
    return f"{abs(ratio - 1):.0%} {'lower' if ratio < 1 else 'higher'}"


def accuracy_finding(summary: pd.DataFrame) -> str:
    """The chosen models' weighted MASE against the seasonal naive's.

    Args:
        summary: :func:`~.models.model_summary` (model, weighted_mase), with rows ``chosen``
            and ``seasonal_naive``.

    Raises:
        KeyError: a model is missing.
    """
    wm = summary.set_index("model")["weighted_mase"]
    chosen, naive = float(wm["chosen"]), float(wm["seasonal_naive"])
    ratio = chosen / naive
    verdict = (
        "more accurate than"
        if round(ratio, 2) < 1
        else "less accurate than"
        if round(ratio, 2) > 1
        else "as accurate as"
    )
    return (
        f"In the rolling-origin backtest the chosen models are {verdict} the seasonal naive: "
        f"weighted MASE {chosen:.3f} against {naive:.3f} ({_direction(ratio)})."
    )


def selection_finding(summary: pd.DataFrame) -> str:
    """The chosen models against the best single candidate model (one model for every series).

    Args:
        summary: :func:`~.models.model_summary` (model, weighted_mase) with a ``chosen`` row
            and at least one candidate row.

    Raises:
        KeyError: no ``chosen`` row; ValueError: no candidate model beside it.
    """
    wm = summary.set_index("model")["weighted_mase"].dropna()
    chosen = float(wm["chosen"])
    single = wm.drop("chosen")
    if single.empty:
        raise ValueError("the summary has no single model to compare the choice with")
    best = str(single.idxmin())
    ratio = chosen / float(single[best])
    if round(ratio, 2) < 1:
        verdict = "choosing per series pays"
    elif round(ratio, 2) > 1:
        verdict = f"choosing per series does not pay; {best} alone would have done better"
    else:
        verdict = "choosing per series is no better than that one model"
    return (
        f"Against the best single model, {best} (weighted MASE {single[best]:.3f}), the chosen "
        f"models score {chosen:.3f} ({_direction(ratio)}): {verdict}."
    )


def interval_finding(coverage: pd.DataFrame, model: str = "chosen") -> str:
    """Out-of-sample coverage of ``model``'s intervals at each nominal level.

    Args:
        coverage: :func:`~.models.interval_coverage` (model, nominal, coverage).

    Raises:
        ValueError: no coverage row for ``model``.
    """
    rows = coverage[coverage["model"] == model].sort_values("nominal")
    if rows.empty:
        raise ValueError(f"no interval coverage for model {model!r}")
    parts = [f"{r.nominal:.0%} intervals cover {r.coverage:.1%}" for r in rows.itertuples()]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Out of sample, the {model} models' {listed} of the actual daily units."


def stock_findings(stock: pd.DataFrame, currency: str) -> list[str]:
    """What the stock policy reached in simulation, against the naive rule and per layout.

    Args:
        stock: :func:`~.inventory.compare_stock_layouts`' summary (stock, policy,
            target_fill_rate, fill_rate, average_stock_value); empty without unit costs.
        currency: code of the base currency.

    Returns:
        No sentence for an empty ``stock``; else one on the pooled layout (forecast policy
        against its target and the naive rule) and, with a per-channel layout, one
        comparing the stock each layout holds.
    """
    if stock.empty:
        return []
    s = stock.set_index(["stock", "policy"])
    ours, naive = s.loc[("pooled", "forecast_fill_rate")], s.loc[("pooled", "naive_days_of_cover")]
    out = [
        f"One pooled stock with a {ours['target_fill_rate']:.0%} fill-rate target served "
        f"{ours['fill_rate']:.1%} of the backtest demand in simulation, holding "
        f"{ours['average_stock_value']:,.0f} {currency} on average; the naive days-of-cover "
        f"rule tuned to the same fill rate ({naive['fill_rate']:.1%}) holds "
        f"{naive['average_stock_value']:,.0f} {currency}."
    ]
    if ("per_channel", "forecast_fill_rate") in s.index:
        per = s.loc[("per_channel", "forecast_fill_rate")]
        ratio = ours["average_stock_value"] / per["average_stock_value"]
        out.append(
            f"A separate stock per channel holds {per['average_stock_value']:,.0f} {currency} "
            f"at a fill rate of {per['fill_rate']:.1%}; pooled stock is {_direction(ratio)}."
        )
    return out


def forecast_findings(
    summary: pd.DataFrame,
    coverage: pd.DataFrame,
    stock: pd.DataFrame,
    currency: str,
    comparison: pd.DataFrame | None = None,
) -> list[str]:
    """Every sentence of 04's "What we found": accuracy, intervals, then stock (if any) and
    the same-rule trade-off (:func:`~.comparison.stock_tradeoff_finding`, when given)."""
    return [
        accuracy_finding(summary),
        selection_finding(summary),
        interval_finding(coverage),
        *stock_findings(stock, currency),
        *([] if comparison is None else stock_tradeoff_finding(comparison, currency)),
    ]
