"""The sentences of notebook 03's findings, each computed from the numbers it states.

A sentence that makes a claim (the scores separate, most customers buy on several
channels, there is something to review) says the opposite when the numbers do.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
    "score_spread_finding",
    "review_finding",
    "overlap_finding",
    "link_rate_finding",
    "integration_findings",
]


def _probability(weight: float) -> float:
    return 2**weight / (1 + 2**weight)


def _band(threshold: float, bits: float) -> tuple[float, float]:
    """Probabilities ``bits`` of match weight below and above ``threshold``."""
    w = math.log2(threshold / (1 - threshold))
    return _probability(w - bits), _probability(w + bits)


def score_spread_finding(
    pairs: pd.DataFrame,
    threshold: float,
    min_probability: float,
    open_buyers: int,
    bits: float = 3.0,
    sharp_share: float = 0.10,
) -> str:
    """What the histogram of scored pairs shows, or why it is empty.

    Args:
        pairs: :func:`~.merge.probabilistic_pairs` (match_probability; ``attrs['note']``).
        threshold: match probability of a link.
        min_probability: pairs scored below it were dropped (the histogram starts there).
        open_buyers: buyers the deterministic rules left alone (the ones the model scores).
        bits: half-width of the band around the threshold, bits of match weight.
        sharp_share: at most this share of the pairs in the band -> "separate sharply".

    Returns:
        One or two sentences: the pairs near the threshold and near 1, and whether the
        scores separate; for no pairs, why there are none.
    """
    n = len(pairs)
    if n == 0:
        note = str(pairs.attrs.get("note", ""))
        if "skipped" in note or "too few" in note:
            return (
                "The histogram is empty: the probabilistic model did not run "
                f"({note}), so only the deterministic rules linked buyers."
            )
        if open_buyers == 0:
            return (
                "The histogram is empty: the deterministic rules linked every buyer, "
                "so the model had no buyer left to score."
            )
        return (
            f"The histogram is empty: none of the {open_buyers:,} buyers the rules left "
            f"alone has a candidate pair scoring {min_probability:.2f} or more, so the "
            "model linked none of them."
        )
    p = pairs["match_probability"].astype(float)
    lo, hi = _band(threshold, bits)
    near = int(p.between(lo, hi).sum())
    top = int((p > hi).sum())
    head = (
        f"Of the {n:,} candidate pairs scored {min_probability:.2f} or more, {top:,} "
        f"({top / n:.0%}) score above {hi:.3f} and {near:,} ({near / n:.0%}) lie within "
        f"{bits:g} bits of match weight of the {threshold:.2f} threshold "
        f"({lo:.2f} to {hi:.3f})."
    )
    if near / n <= sharp_share:
        return head + " The scores separate sharply: the threshold decides few pairs."
    return (
        head + " The scores do not separate sharply: the choice of threshold changes many "
        "links, and the review file below is worth a reviewer's time."
    )


def review_finding(review: pd.DataFrame, threshold: float, bits: float = 3.0) -> str:
    """How many pairs a reviewer has to judge, and how near the threshold they are.

    Args:
        review: :func:`~.review.review_pairs` (match_probability, model).
        threshold: match probability of a link.
        bits: the band :func:`~.review.review_pairs` used.

    Returns:
        One sentence; says there is nothing to review when ``review`` is empty.
    """
    lo, hi = _band(threshold, bits)
    if review.empty:
        return (
            f"No pair the model decided lies within {bits:g} bits of the threshold "
            f"({lo:.2f} to {hi:.3f}): there is nothing for a reviewer to judge."
        )
    p = review["match_probability"].astype(float)
    above = int((p >= threshold).sum())
    return (
        f"{len(review):,} pairs lie within {bits:g} bits of the threshold, with "
        f"probabilities from {p.min():.3f} to {p.max():.3f}: {above:,} linked by the model "
        f"and {len(review) - above:,} not; a reviewer's decision settles each of them."
    )


def overlap_finding(overlap: pd.DataFrame) -> str:
    """How many customers buy on more than one channel.

    Args:
        overlap: :func:`~.merge.customer_overlap` (n_channels, customers, revenue_base).

    Returns:
        One sentence with the count and share of multi-channel customers and their share
        of the customers' revenue; "most" only when they are more than half.
    """
    total = int(overlap["customers"].sum()) if len(overlap) else 0
    if total == 0:
        return "No order line has a customer, so no customer overlap can be measured."
    multi = overlap["n_channels"] >= 2
    n_multi = int(overlap.loc[multi, "customers"].sum())
    revenue = float(overlap["revenue_base"].sum())
    rev_share = float(overlap.loc[multi, "revenue_base"].sum()) / revenue if revenue else 0.0
    if n_multi == 0:
        return (
            f"All {total:,} customers buy on one channel only: a per-channel view counts "
            "no customer twice."
        )
    verdict = (
        "most customers buy on several channels"
        if n_multi / total > 0.5
        else "most customers buy on one channel"
    )
    return (
        f"{n_multi:,} of {total:,} customers ({n_multi / total:.1%}) buy on two or more "
        f"channels, with {rev_share:.1%} of the customers' revenue: {verdict}, and a "
        f"per-channel view counts those {n_multi:,} more than once."
    )


def link_rate_finding(link_rate: pd.DataFrame, crm_channels: list[str], has_crm: bool) -> str:
    """How many buyers of the channels without CRM ids the business recognises.

    Args:
        link_rate: :func:`~.merge.crm_link_rate` (channel_id, buyers, linked_to_crm,
            link_rate).
        crm_channels: channels whose buyer_ref is a CRM id (linked by construction).
        has_crm: whether the dataset has a CRM (customers.csv).

    Returns:
        One sentence: the link rate over the other channels' buyers, lowest and highest
        channel.
    """
    if not has_crm:
        return "There is no CRM (customers.csv), so no buyer is linked to a known customer."
    other = link_rate.loc[~link_rate["channel_id"].isin(crm_channels)]
    if other.empty or int(other["buyers"].sum()) == 0:
        return "Every buyer comes from a channel that carries CRM ids, so all are known."
    rate = int(other["linked_to_crm"].sum()) / int(other["buyers"].sum())
    low = other.loc[other["link_rate"].idxmin()]
    high = other.loc[other["link_rate"].idxmax()]
    return (
        f"{rate:.1%} of the buyers of channels without CRM ids are linked to a CRM "
        f"customer, from {low['link_rate']:.1%} on {low['channel_id']} to "
        f"{high['link_rate']:.1%} on {high['channel_id']}; the rest are customers the "
        "CRM does not know."
    )


def integration_findings(
    links: pd.DataFrame,
    overlap: pd.DataFrame,
    link_rate: pd.DataFrame,
    prices: pd.DataFrame,
    review: pd.DataFrame,
    crm_channels: list[str],
    has_crm: bool,
    threshold: float,
    price_tolerance: float,
) -> list[str]:
    """The sentences of 03's "What we found", in order.

    Args:
        links: :func:`~.merge.link_buyers` (rule, customer_id).
        overlap, link_rate, review: as for the functions above.
        prices: :func:`~.merge.price_consistency` (conflict).
        crm_channels, has_crm, threshold: as above.
        price_tolerance: the spread above which a price is a conflict (0-1).

    Returns:
        Sentences: the links by rule, the link rate, the overlap, the price conflicts and
        the review.
    """
    rules = links["rule"].value_counts()
    model_links = int(rules.get("splink", 0))
    alone = int(rules.get("unlinked", 0))
    out = [
        f"{len(links):,} channel buyers resolve to {links['customer_id'].nunique():,} "
        f"customers; the probabilistic model linked {model_links:,} buyers the rules left "
        f"alone, and {alone:,} buyers match no other record.",
        link_rate_finding(link_rate, crm_channels, has_crm),
        overlap_finding(overlap),
    ]
    conflicts = int(prices["conflict"].sum()) if len(prices) else 0
    if len(prices):
        out.append(
            f"{conflicts:,} of {len(prices):,} SKUs sold on two or more channels differ in "
            f"price by more than {price_tolerance:.0%} between channels."
        )
    else:
        out.append("No SKU is sold on two or more channels, so no price can be compared.")
    out.append(review_finding(review, threshold))
    return out
