"""Channel assortment: what each channel should list and feature, with expected revenue.

A customer's scores are turned into shares of their next purchase,
a[u, i] = max(s[u, i], 0) / sum_j max(s[u, j], 0) (overall popularity shares when a customer
has no positive score). A channel's affinity is the mix of its own customers' shares, each
customer weighted by their recency-weighted units on that channel:

    A[c, i] = sum_u w[u, c] a[u, i] / sum_u w[u, c]

A candidate channel (in channels.csv, no sales yet) has no customers; its mix comes from its
audience profile: segment g's weight is the Bhattacharyya match of the channel's age x tier
audience with the segment's (:func:`~channelops.audience.segment_channel_reach`)
times the segment's size, and A[c, i] = sum_g mix[c, g] * (mean of a[u, i] over g's customers).

Expected revenue over ``horizon_weeks``: the channel's weekly revenue (recent average for an
active channel, ``prior_weekly_revenue_max`` from channels.csv for a candidate) spread over
SKUs in proportion to A[c, i] * price[c, i]; expected units = expected revenue / price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import nnls

from channelops.audience import BAND_GROUPS

from .data import str_index
from .models import UNSEGMENTED, Recommender

_SHARE_ROWS = 256  # score rows turned into shares at a time (their block stays in cache)

__all__ = [
    "purchase_shares",
    "ShareSums",
    "share_sums",
    "affinities",
    "channel_affinity",
    "segment_affinity",
    "candidate_affinity",
    "unit_prices",
    "weekly_revenue",
    "channel_affinities",
    "build_assortment",
    "assortment_summary",
    "category_mix",
]

#: Audience columns that a candidate channel and 01's segment profiles must both carry for
#: the candidate to get an affinity (the age and city-tier bands of channels.csv).
PROFILE_BANDS = {"age_18_24", "tier_1"}


def purchase_shares(model: Recommender, rows: np.ndarray, batch_size: int = 20_000):
    """Yield (rows, shares) blocks: each customer's scores as shares of their next purchase.

    Shares are float64 (batch x SKUs); a customer with no positive score gets the overall
    popularity shares.
    """
    data = model._check_fitted()
    pop = np.asarray(data.matrix.sum(axis=0)).ravel()
    pop = pop / pop.sum()
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        s = np.array(model.score(part), dtype=np.float64)
        np.clip(s, 0.0, None, out=s)
        tot = s.sum(axis=1, keepdims=True)
        s /= np.where(tot > 0, tot, 1.0)
        empty = tot[:, 0] <= 0
        if empty.any():
            s[empty] = pop
        yield part, s


class ShareSums:
    """weights[j] @ shares, summed from the score batches :func:`~.models.recommend` computes.

    Pass it as ``recommend(..., on_scores=sums)``: each batch of scores it computes for the
    customers it knows is turned into shares exactly as :func:`purchase_shares` does and
    added up, so :func:`channel_affinities` (``sums=``) needs no second scoring pass over
    every customer. The sums are used only when the batches were exactly the rows and batch
    size :func:`purchase_shares` would have used (then they are the same numbers); otherwise
    the affinities score the customers themselves.

    Args:
        model: the fitted recommender that will be scored.
        rows: training rows whose shares are summed (every weight matrix's columns).
        weights: (groups_j x len(rows)) sparse matrices.
        batch_size: :func:`purchase_shares`'s batch size.
    """

    def __init__(
        self,
        model: Recommender,
        rows: np.ndarray,
        weights: list[sp.spmatrix],
        batch_size: int = 20_000,
    ) -> None:
        data = model._check_fitted()
        pop = np.asarray(data.matrix.sum(axis=0)).ravel()
        self.pop = pop / pop.sum()
        self.rows, self.batch_size = np.asarray(rows), batch_size
        self.cols = [sp.csc_matrix(w) for w in weights]
        self.sums = [np.zeros((w.shape[0], len(data.skus))) for w in weights]
        self.done, self.usable = 0, True
        self._block: np.ndarray | None = None  # float64 shares of a batch, reused
        self.weights: dict | None = None  # share_sums' weight matrices, for affinities

    def __call__(self, rows: np.ndarray, scores: np.ndarray) -> None:
        """Add one batch (``rows``: the training rows scored, ``scores``: their scores)."""
        stop = self.done + len(rows)
        expected = self.rows[self.done : self.done + self.batch_size]
        if not self.usable or not np.array_equal(rows, expected):
            self.usable = False  # not the batches purchase_shares would use
            return
        # the shares into one reused float64 block, _SHARE_ROWS rows at a time: each row's
        # clip, sum and division are the row's own (the same numbers as on the whole batch),
        # done while the rows are in cache and without a fresh block per batch
        n = len(rows)
        if self._block is None or len(self._block) < n:
            self._block = np.empty((n, len(self.pop)))
        s = self._block[:n]
        for i in range(0, n, _SHARE_ROWS):
            part = s[i : i + _SHARE_ROWS]
            np.copyto(part, scores[i : i + _SHARE_ROWS])
            np.clip(part, 0.0, None, out=part)
            tot = part.sum(axis=1, keepdims=True)
            part /= np.where(tot > 0, tot, 1.0)
            empty = tot[:, 0] <= 0
            if empty.any():
                part[empty] = self.pop
        for w, total in zip(self.cols, self.sums, strict=True):
            total += w[:, self.done : stop] @ s
        self.done = stop
        if self.done == len(self.rows):
            self._block = None  # every row added: the block is not needed again

    def totals(self, rows: np.ndarray) -> list[np.ndarray] | None:
        """The sums when every one of ``rows`` was added in :func:`purchase_shares`'s
        batches, else None."""
        if self.usable and self.done == len(self.rows) and np.array_equal(rows, self.rows):
            return self.sums
        return None


def _summed_shares(
    model: Recommender,
    rows: np.ndarray,
    weights: list[sp.csr_matrix],
    sums: ShareSums | None = None,
) -> list[np.ndarray]:
    """weights[j] @ shares for every j, scoring each customer once.

    Args:
        rows: training rows of the customers (columns of every weight matrix, in this order).
        weights: (groups_j x len(rows)) sparse matrices.
        sums: a :class:`ShareSums` that collected the same sums while :func:`recommend`
            scored these rows (used when complete; else the customers are scored here).

    Returns:
        One (groups_j x SKUs) float64 array per weight matrix.
    """
    data = model._check_fitted()
    if hasattr(model, "summed_shares"):  # the model aggregates without dense scores
        totals = model.summed_shares(rows, weights)
        if totals is not None:
            return totals
    if sums is not None:  # the same sums, taken from the batches recommend scored
        totals = sums.totals(rows)
        if totals is not None:
            return totals
    cols = [sp.csc_matrix(w) for w in weights]
    totals = [np.zeros((w.shape[0], len(data.skus))) for w in weights]
    start = 0
    for part, shares in purchase_shares(model, rows):
        stop = start + len(part)
        for w, total in zip(cols, totals, strict=True):
            total += w[:, start:stop] @ shares
        start = stop
    return totals


def _channel_weights(
    data, lines: pd.DataFrame, half_life_days: float
) -> tuple[sp.csr_matrix, pd.Index]:
    """(channels x customers) recency-weighted units of each known customer on each channel."""
    rows = data.rows(lines["customer_id"])  # -1: a customer the model does not know
    known = rows >= 0
    if not known.all():  # (when the model learned from these lines, every one is known)
        lines, rows = lines[known], rows[known]
    if lines.empty or "channel_id" not in lines:
        raise ValueError(
            "channel_affinity needs purchases with channel_id by customers the model knows"
        )
    age = ((data.as_of - lines["order_ts"]).dt.total_seconds() / 86400.0).clip(lower=0)
    w = lines["quantity"].to_numpy(float) * np.power(0.5, age.to_numpy() / half_life_days)
    ch_codes, channels = pd.factorize(lines["channel_id"], sort=True)
    weights = sp.csr_matrix((w, (ch_codes, rows)), shape=(len(channels), len(data.customers)))
    weights.sum_duplicates()
    return weights, pd.Index(channels, name="channel_id")


def _segment_onehot(data, segments: pd.Series) -> tuple[sp.csr_matrix, pd.Index]:
    """(segments x customers) indicator of each known, segmented customer's segment."""
    seg = segments.set_axis(str_index(segments.index))
    seg = seg[seg.index.isin(data.customers) & (seg != UNSEGMENTED)]
    if seg.empty:
        raise ValueError(
            "no segmented customer is known to the model: cannot build segment affinities"
        )
    codes, labels = pd.factorize(seg.astype(str), sort=True)
    onehot = sp.csr_matrix(
        (np.ones(len(seg)), (codes, data.rows(seg.index))),
        shape=(len(labels), len(data.customers)),
    )
    return onehot, pd.Index(labels, name="segment")


def _normalised(total: np.ndarray, index: pd.Index, skus: pd.Index) -> pd.DataFrame:
    """Rows of ``total`` divided by their sums, as a frame (index x skus)."""
    total /= total.sum(axis=1, keepdims=True)
    return pd.DataFrame(total, index=index, columns=skus)


def _affinity_weights(
    data, lines: pd.DataFrame | None, segments: pd.Series | None, half_life_days: float
) -> tuple[dict, np.ndarray]:
    """The weight matrices of :func:`affinities` ('channel', 'segment': (matrix, labels))
    and the training rows any of them weighs (sorted)."""
    weights = {}
    if lines is not None:
        weights["channel"] = _channel_weights(data, lines, half_life_days)
    if segments is not None:
        weights["segment"] = _segment_onehot(data, segments)
    rows = np.unique(np.concatenate([w.nonzero()[1] for w, _ in weights.values()]))
    return weights, rows


def affinities(
    model: Recommender,
    lines: pd.DataFrame | None,
    segments: pd.Series | None = None,
    half_life_days: float = 180.0,
    sums: ShareSums | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """:func:`channel_affinity` and :func:`segment_affinity` from one scoring pass.

    Each customer the model knows is scored once (the two functions called one after the
    other score them twice).

    Args:
        model: fitted on the purchases ``lines`` come from.
        lines: purchases with customer_id, channel_id, order_ts, quantity (None: no channel
            affinity).
        segments: customer_id -> segment (None: no segment affinity).
        half_life_days: recency weighting of a customer's units on a channel.
        sums: :func:`share_sums`, filled by :func:`~.models.recommend` (then no customer is
            scored again when it holds every customer's shares).

    Returns:
        (channel affinity or None, segment affinity or None): index channel_id / segment,
        columns sku, rows summing to 1.
    """
    data = model._check_fitted()
    wanted = {k for k, v in (("channel", lines), ("segment", segments)) if v is not None}
    if sums is not None and sums.weights is not None and set(sums.weights) == wanted:
        weights, rows = sums.weights, sums.rows  # built by share_sums from the same inputs
    else:
        weights, rows = _affinity_weights(data, lines, segments, half_life_days)
    totals = _summed_shares(model, rows, [w[:, rows] for w, _ in weights.values()], sums)
    out = {
        key: _normalised(total, index, data.skus)
        for (key, (_, index)), total in zip(weights.items(), totals, strict=True)
    }
    return out.get("channel"), out.get("segment")


def channel_affinity(
    model: Recommender, lines: pd.DataFrame, half_life_days: float = 180.0
) -> pd.DataFrame:
    """Share of each SKU in the predicted next purchases of each channel's customers.

    Args:
        model: fitted on the purchases ``lines`` come from.
        lines: purchases with customer_id, channel_id, order_ts, quantity.
        half_life_days: recency weighting of a customer's units on the channel.

    Returns:
        Matrix: index channel_id, columns sku, rows summing to 1.
    """
    return affinities(model, lines, None, half_life_days)[0]


def segment_affinity(model: Recommender, segments: pd.Series) -> pd.DataFrame:
    """Mean purchase shares of each segment's customers (customers the model knows).

    Returns:
        Matrix: index segment, columns sku, rows summing to 1; column n_customers is not
        included (use the segments table for sizes).
    """
    return affinities(model, lines=None, segments=segments)[1]


def audience_mix(
    segment_profiles: pd.DataFrame, channels: pd.DataFrame, prior_weight: float = 0.1
) -> pd.DataFrame:
    """Expected segment mix of each channel's buyers from its audience profile.

    A channel's audience q (its band shares, age and city tier stacked) is read as a mixture
    of the segments' profiles P (rows: segments' band shares): the mix w >= 0, sum w = 1
    minimises

        |P^T w - q|^2 + prior_weight * |w - pi|^2

    with pi the segments' shares of the customer base (the answer when the audience says
    nothing, and the tie-break when several mixes fit equally). Solved as a non-negative
    least squares with the sum-to-one row weighted heavily.

    Args:
        segment_profiles: segment, customers and the band shares (age_*, tier_*).
        channels: channel_id and the same band shares.
        prior_weight: pull towards the base's own mix (> 0).

    Returns:
        index channel_id, columns segment, rows summing to 1.
    """
    if not prior_weight > 0:
        raise ValueError(f"prior_weight must be > 0, got {prior_weight}")
    bands = [
        list(b)
        for b in BAND_GROUPS.values()
        if set(b) <= set(segment_profiles.columns) and set(b) <= set(channels.columns)
    ]
    if not bands:
        raise ValueError(
            "segment profiles and channels share no complete band group (age_*, tier_*)"
        )

    def stacked(frame: pd.DataFrame, name: str) -> np.ndarray:
        parts = []
        for b in bands:
            v = frame[b].to_numpy(float)
            if np.isnan(v).any() or (v < 0).any() or (v.sum(axis=1) <= 0).any():
                raise ValueError(f"{name}: missing, negative or all-zero shares in {b}")
            parts.append(v / v.sum(axis=1, keepdims=True))
        return np.hstack(parts)

    p = stacked(segment_profiles, "segment_profiles")
    q = stacked(channels, "channels")
    size = segment_profiles["customers"].to_numpy(float)
    pi = size / size.sum()
    n = len(pi)
    root = np.sqrt(prior_weight)
    big = 1e3
    a = np.vstack([p.T, root * np.eye(n), big * np.ones((1, n))])
    rows = []
    for target in q:
        b = np.concatenate([target, root * pi, [big]])
        w, _ = nnls(a, b)
        rows.append(w / w.sum())
    return pd.DataFrame(
        rows,
        index=pd.Index(channels["channel_id"].astype(str), name="channel_id"),
        columns=pd.Index(segment_profiles["segment"].astype(str), name="segment"),
    )


def candidate_affinity(
    seg_affinity: pd.DataFrame, segment_profiles: pd.DataFrame, channels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Affinity of candidate channels from their audience profiles.

    Args:
        seg_affinity: :func:`segment_affinity`.
        segment_profiles: 01's profiles (segment, customers, age and tier band shares).
        channels: candidate rows of channels.csv (channel_id and the same band shares).

    Returns:
        (affinity: index channel_id, columns sku; mix: index channel_id, columns segment,
        the expected segment mix of each candidate's buyers, :func:`audience_mix`).
    """
    prof = segment_profiles[segment_profiles["segment"].astype(str).isin(seg_affinity.index)]
    mix = audience_mix(prof, channels)
    affinity = mix[seg_affinity.index] @ seg_affinity
    return affinity, mix


def unit_prices(lines: pd.DataFrame, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Net unit price (revenue_base / quantity, base currency) per channel and SKU.

    Returns:
        channel_id, sku, price; plus a row per SKU with channel_id ``*`` (all channels, or the
        list price from ``products`` for SKUs never sold).
    """
    if "revenue_base" not in lines:
        raise ValueError(
            "order_lines is missing column 'revenue_base' (net revenue in base currency)"
        )
    agg = lines.groupby(["channel_id", "sku"], observed=True)[["revenue_base", "quantity"]].sum()
    per = (agg["revenue_base"] / agg["quantity"]).rename("price").reset_index()
    tot = lines.groupby("sku", observed=True)[["revenue_base", "quantity"]].sum()
    overall = (tot["revenue_base"] / tot["quantity"]).rename("price")
    if products is not None and "list_price" in products:
        listed = products.set_index(products["sku"].astype(str))["list_price"].astype(float)
        overall = overall.combine_first(listed)
    overall = overall.rename_axis("sku").reset_index().assign(channel_id="*")
    out = pd.concat([per, overall], ignore_index=True)
    out = out[out["price"] > 0]
    return out[["channel_id", "sku", "price"]]


def weekly_revenue(lines: pd.DataFrame, window_weeks: float = 13) -> pd.Series:
    """Mean weekly net revenue per channel over the last ``window_weeks`` weeks of data."""
    end = lines["order_ts"].max()
    recent = lines[lines["order_ts"] > end - pd.Timedelta(weeks=window_weeks)]
    return recent.groupby("channel_id")["revenue_base"].sum() / window_weeks


def channel_affinities(
    model: Recommender,
    lines: pd.DataFrame,
    channels: pd.DataFrame,
    profiles: pd.DataFrame,
    segments: pd.Series,
    half_life_days: float = 180.0,
    window_weeks: float = 13,
    sums: ShareSums | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame | None]:
    """Affinity, status and expected weekly revenue of every channel, active and candidate.

    Active channels (with purchases in ``lines``) get :func:`channel_affinity` and
    :func:`weekly_revenue`. Candidate channels (in ``channels``, no purchase yet) get
    :func:`candidate_affinity` from their audience profile and the
    ``prior_weekly_revenue_max`` of channels.csv (the active channels' median when it is
    missing), when both they and 01's ``profiles`` carry the audience bands. Every known
    customer is scored once for both affinities (:func:`affinities`).

    Args:
        model: the chosen recommender, fitted on the purchases ``lines`` come from.
        lines: purchases with customer_id, channel_id, sku, order_ts, quantity, revenue_base.
        channels: channels.csv (channel_id and, for candidates, the audience band shares).
        profiles: 01's segment_profiles.
        segments: customer_id -> segment.
        half_life_days: recency weighting of a customer's units on a channel.
        window_weeks: recent weeks that set an active channel's weekly revenue.
        sums: :func:`share_sums` of the same arguments, filled by :func:`~.models.recommend`
            (None: the customers are scored here).

    Returns:
        (affinity: index channel_id, columns sku, rows summing to 1; status: ``'active'`` or
        ``'candidate'`` per channel; weekly: expected weekly revenue per channel, base
        currency; mix: each candidate's expected segment mix, or None without a profiled
        candidate).
    """
    candidates, profiled = _candidates(lines, channels, profiles)
    active, seg_aff = affinities(
        model, lines, segments if profiled else None, half_life_days=half_life_days, sums=sums
    )
    status = pd.Series("active", index=active.index)
    weekly = weekly_revenue(lines, window_weeks)
    if not profiled:
        return active, status, weekly, None
    cand_aff, mix = candidate_affinity(seg_aff, profiles, candidates)
    prior = candidates.set_index("channel_id").get(
        "prior_weekly_revenue_max", pd.Series(dtype=float)
    )
    weekly = pd.concat([weekly, prior.reindex(cand_aff.index).fillna(weekly.median())])
    affinity = pd.concat([active, cand_aff])
    status = pd.concat([status, pd.Series("candidate", index=cand_aff.index)])
    return affinity, status, weekly, mix


def _candidates(
    lines: pd.DataFrame, channels: pd.DataFrame, profiles: pd.DataFrame
) -> tuple[pd.DataFrame, bool]:
    """(channels without purchases, True when they and 01's profiles carry the audience bands)."""
    candidates = channels[~channels["channel_id"].isin(lines["channel_id"].unique())]
    profiled = bool(len(candidates)) and PROFILE_BANDS <= set(profiles.columns) & set(
        candidates.columns
    )
    return candidates, profiled


def share_sums(
    model: Recommender,
    lines: pd.DataFrame,
    channels: pd.DataFrame,
    profiles: pd.DataFrame,
    segments: pd.Series,
    half_life_days: float = 180.0,
) -> ShareSums | None:
    """An empty :class:`ShareSums` for :func:`channel_affinities` of the same arguments, to
    pass to :func:`~.models.recommend` as ``on_scores`` (one scoring pass for both).

    Returns:
        None when the model does not need it: it aggregates its shares without scoring
        customers densely (``summed_shares``) or gives groups of customers one shared list.
    """
    data = model._check_fitted()
    if hasattr(model, "summed_shares") or model.shared_scores(np.zeros(1, np.intp)) is not None:
        return None
    _, profiled = _candidates(lines, channels, profiles)
    weights, rows = _affinity_weights(data, lines, segments if profiled else None, half_life_days)
    sums = ShareSums(model, rows, [w[:, rows] for w, _ in weights.values()])
    sums.weights = weights  # channel_affinities(..., sums=) reuses them
    return sums


def build_assortment(
    affinity: pd.DataFrame,
    weekly: pd.Series,
    prices: pd.DataFrame,
    list_size: int = 30,
    feature_size: int = 5,
    horizon_weeks: float = 13,
    status: pd.Series | None = None,
    sold: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Products to list and feature per channel, ranked by expected revenue.

    Args:
        affinity: index channel_id, columns sku, rows of demand shares.
        weekly: expected weekly revenue per channel (base currency).
        prices: :func:`unit_prices`.
        list_size: products to list per channel; feature_size: of those, how many to feature.
        horizon_weeks: period of the expected figures, weeks.
        status: channel_id -> 'active' / 'candidate'.
        sold: channel_id, sku pairs sold so far (for currently_sold).
        products: sku, category (for the category column).

    Returns:
        channel_id, channel_status, rank, sku, category, role ('feature' or 'list'),
        affinity_share, expected_units, expected_revenue (base currency, over horizon_weeks),
        currently_sold.
    """
    if list_size < 1 or feature_size < 0 or feature_size > list_size:
        raise ValueError(
            f"need 1 <= list_size and 0 <= feature_size <= list_size, got "
            f"list_size={list_size}, feature_size={feature_size}"
        )
    overall = prices[prices["channel_id"] == "*"].set_index("sku")["price"]
    frames = []
    for channel, share in affinity.iterrows():
        per = prices[prices["channel_id"] == channel].set_index("sku")["price"]
        price = per.reindex(share.index).combine_first(overall.reindex(share.index))
        weekly_revenue = float(weekly.get(channel, np.nan))
        frame = _channel_list(share, price, weekly_revenue * horizon_weeks, list_size)
        if frame is not None:
            frame.insert(0, "channel_id", channel)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["role"] = np.where(out["rank"] <= feature_size, "feature", "list")
    out["channel_status"] = (
        out["channel_id"].map(status).fillna("active") if status is not None else "active"
    )
    out["category"] = _categories(out["sku"], products)
    out["currently_sold"] = _currently_sold(out, sold)
    cols = [
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
    return out[cols]


def _channel_list(
    share: pd.Series, price: pd.Series, revenue: float, list_size: int
) -> pd.DataFrame | None:
    """One channel's list: ``revenue`` spread over SKUs in proportion to share * price.

    Args:
        share: the channel's affinity share per SKU (index sku).
        price: unit price per SKU on the channel (index sku, base currency; NaN: no price).
        revenue: the channel's expected revenue over the horizon (base currency).
        list_size: SKUs kept.

    Returns:
        sku, affinity_share, expected_revenue, expected_units, rank (1 = most revenue; ties
        by sku), the ``list_size`` first; ``None`` when no SKU has a positive share * price.
    """
    value = (share * price).fillna(0.0)
    if value.sum() <= 0:
        return None
    expected = revenue * value / value.sum()
    frame = pd.DataFrame(
        {
            "sku": share.index,
            "affinity_share": share.to_numpy(),
            "expected_revenue": expected.to_numpy(),
            "expected_units": (expected / price).to_numpy(),
        }
    )
    frame = frame.sort_values(["expected_revenue", "sku"], ascending=[False, True]).head(list_size)
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame


def _categories(sku: pd.Series, products: pd.DataFrame | None):
    """The category of each SKU from ``products`` (``<NA>`` without a category column)."""
    if products is not None and "category" in products:
        return sku.map(products.set_index(products["sku"].astype(str))["category"])
    return pd.NA


def _currently_sold(out: pd.DataFrame, sold: pd.DataFrame | None):
    """Whether each (channel_id, sku) of ``out`` is among the pairs of ``sold``."""
    if sold is None:
        return False
    key = sold["channel_id"].astype(str) + "\x1f" + sold["sku"].astype(str)
    return (out["channel_id"].astype(str) + "\x1f" + out["sku"].astype(str)).isin(key)


def assortment_summary(assortment: pd.DataFrame) -> pd.DataFrame:
    """Per channel: the expected revenue of its listing and how many listed products it has
    never sold (the listing gaps worth a test).

    Args:
        assortment: :func:`build_assortment`.

    Returns:
        Index (channel_id, channel_status); expected_revenue (base currency, over the
        assortment's horizon), not_sold_yet (listed products with currently_sold False).
    """
    t = assortment.assign(not_sold_yet=~assortment["currently_sold"].astype(bool))
    return t.groupby(["channel_id", "channel_status"]).agg(
        expected_revenue=("expected_revenue", "sum"), not_sold_yet=("not_sold_yet", "sum")
    )


def category_mix(assortment: pd.DataFrame) -> pd.DataFrame:
    """Each channel's listing by category: share of the listed products' expected revenue.

    Args:
        assortment: :func:`build_assortment` (channel_id, category, expected_revenue).

    Returns:
        channel_id x category, shares summing to 1 per channel (0 where a channel lists
        nothing of a category, NaN for a channel whose listing expects no revenue); no
        column when no listed product has a category (a catalogue without categories).
    """
    known = assortment[assortment["category"].notna()]
    mix = known.pivot_table(
        index="channel_id", columns="category", values="expected_revenue", aggfunc="sum"
    ).fillna(0.0)
    total = mix.sum(axis=1)
    return mix.div(total.where(total > 0), axis=0)
