"""Recommenders on the weighted customer x SKU matrix, and top-k lists with cold start.

Every model scores all SKUs for the customers it was trained on (``score(rows)``, a dense
block); :func:`recommend` turns scores into top-k lists and serves customers unseen in
training from their segment's popularity (or overall popularity when the segment is
unknown too).

* ``popularity``: s[i] = sum_u r[u, i], the same list for everyone.
* ``segment_popularity``: the same sum over the customer's segment only.
* ``item_item``: co-occurrence; sim[i, j] = cosine of the binary columns i and j (how
  often the two are bought by the same customers, normalised by how often each is bought),
  s[u, j] = sum_i 1[r[u, i] > 0] * sim[i, j].
* ``als``: matrix factorisation of implicit feedback (Hu, Koren & Volinsky 2008) with the
  `implicit` library: preferences p[u, i] = 1[r[u, i] > 0] and confidences
  c[u, i] = 1 + alpha * r[u, i]; minimise
  sum_{u,i} c[u, i] (p[u, i] - x_u . y_i)^2 + lambda (sum_u |x_u|^2 + sum_i |y_i|^2)
  by alternating least squares, R ~ U V^T; s[u, i] = x_u . y_i.
* ``buy_again``: repeat purchase. The customer's next line picks a category, then a SKU in
  it; both are the customer's own counts smoothed towards a prior (Dirichlet smoothing): the
  segment's category mix, and the SKU's share of its category on the channels the customer
  uses. Habits (the same SKU again and again) come first; see :class:`BuyAgain`.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .data import Interactions, str_index

with warnings.catch_warnings():
    # implicit imports tqdm.auto, which warns in a notebook kernel without ipywidgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    from implicit.cpu.als import AlternatingLeastSquares

__all__ = [
    "Recommender",
    "Popularity",
    "SegmentPopularity",
    "ItemItem",
    "ALS",
    "BuyAgain",
    "make_model",
    "recommend",
    "top_k",
    "UNSEGMENTED",
    "one_blas_thread",
    "in_order",
]

#: Segment label of customers the segments table does not know.
UNSEGMENTED = "unsegmented"
_TOP_K_ROWS = 2048  # rows top_k ranks at a time
#: Threads :func:`recommend` scores batches in (each batch's numbers are its own, so the
#: lists do not depend on it; numpy and scipy release the GIL in the products and sorts).
WORKERS = 2


def one_blas_thread() -> threadpool_limits:
    """BLAS at one thread while the context is open (process-wide).

    A multi-threaded BLAS may split a product's sums differently with the core count (the
    logistic fits' products on the large data: scores one float32 step apart), so the
    fits and scores run BLAS single-threaded: the same numbers on any machine, and
    :func:`recommend`'s and the evaluation's own threads use the cores instead.
    """
    return threadpool_limits(limits=1, user_api="blas")


def in_order(fn, items, workers: int = WORKERS):
    """``fn(item)`` for each item, yielded in the order of ``items``, computed by up to
    ``workers`` threads at once (at most ``workers`` results waiting or in progress beyond
    the one being yielded; ``workers`` <= 1: in this thread, one after the other)."""
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class Recommender(ABC):
    """A model fitted on :class:`~channelops.stages.recommendation.data.Interactions`."""

    name: str = "model"
    data: Interactions | None = None

    @abstractmethod
    def fit(self, data: Interactions, segments: pd.Series | None = None) -> Recommender:
        """Learn from the matrix; ``segments`` maps customer_id -> segment (optional)."""

    @abstractmethod
    def score(self, rows: np.ndarray) -> np.ndarray:
        """Scores (len(rows), n_skus) for training rows ``rows``; higher is better."""

    def shared_scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Scores of models that give whole groups of customers the same list, or None.

        Returns:
            (scores of each distinct list, (n_lists, n_skus); list number of each row), so
            that ``score(rows)`` equals ``scores[list_of_row]``; None for personal models.
            :func:`recommend` then ranks each distinct list once instead of once per customer.
        """
        return None

    def _check_fitted(self) -> Interactions:
        if self.data is None:
            raise RuntimeError(f"{self.name}: call fit() before scoring")
        return self.data


def _check_matrix(data: Interactions, name: str) -> None:
    if data.matrix.nnz == 0:
        raise ValueError(f"{name}: the interaction matrix is empty; nothing to learn from")


class Popularity(Recommender):
    """The most bought SKUs (recency- and quantity-weighted), the same for every customer."""

    name = "popularity"

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> Popularity:
        _check_matrix(data, self.name)
        self.data = data
        self.item_scores = np.asarray(data.matrix.sum(axis=0)).ravel().astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return np.broadcast_to(self.item_scores, (len(rows), len(self.item_scores))).copy()

    def shared_scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One list for everyone: (item scores as one row, zeros)."""
        self._check_fitted()
        return self.item_scores[None, :], np.zeros(len(rows), dtype=np.intp)


class SegmentPopularity(Recommender):
    """Popularity within the customer's segment; overall popularity without a segment."""

    name = "segment_popularity"

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> SegmentPopularity:
        _check_matrix(data, self.name)
        self.data = data
        self.overall = np.asarray(data.matrix.sum(axis=0)).ravel().astype(np.float32)
        seg = _segments_of(data.customers, segments)
        self.row_segment = seg.to_numpy()
        labels, codes = np.unique(self.row_segment, return_inverse=True)
        onehot = sp.csr_matrix(
            (np.ones(len(codes), np.float32), (codes, np.arange(len(codes)))),
            shape=(len(labels), len(codes)),
        )
        table = np.asarray((onehot @ data.matrix).todense(), dtype=np.float32)
        self.by_segment = {str(lab): table[g] for g, lab in enumerate(labels) if lab != UNSEGMENTED}
        return self

    def segment_scores(self, segment_labels) -> np.ndarray:
        """Scores per SKU for each segment label (overall popularity for unknown labels)."""
        self._check_fitted()
        return (
            np.vstack([self.by_segment.get(str(s), self.overall) for s in segment_labels])
            if len(segment_labels)
            else np.zeros((0, len(self.overall)), np.float32)
        )

    def score(self, rows: np.ndarray) -> np.ndarray:
        return self.segment_scores(self.row_segment[rows])

    def shared_scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One list per segment: (scores per distinct segment of ``rows``, segment number)."""
        self._check_fitted()
        labels, inverse = np.unique(self.row_segment[rows], return_inverse=True)
        return self.segment_scores(labels), inverse.reshape(-1)


class ItemItem(Recommender):
    """Item-item co-occurrence with cosine similarity of the binary purchase columns."""

    name = "item_item"

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> ItemItem:
        _check_matrix(data, self.name)
        self.data = data
        bought = (data.matrix > 0).astype(np.float32).tocsc()
        norms = np.sqrt(np.asarray(bought.multiply(bought).sum(axis=0)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        unit = bought @ sp.diags(inv)
        self.similarity = np.asarray((unit.T @ unit).todense(), dtype=np.float32)
        self.bought = bought.tocsr()
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.bought[rows] @ self.similarity, dtype=np.float32)


class ALS(Recommender):
    """Implicit-feedback matrix factorisation R ~ U V^T by alternating least squares.

    Args:
        factors: latent dimensions (columns of U and V).
        regularization: lambda, the L2 penalty on the factors.
        alpha: confidence scale, c = 1 + alpha * r.
        iterations: ALS sweeps.
        seed: initialisation seed.
        num_threads: worker threads of `implicit` (0 = every core).
    """

    name = "als"

    def __init__(
        self,
        factors: int = 16,
        regularization: float = 10.0,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 0,
        num_threads: int = 0,
    ) -> None:
        if factors < 1 or iterations < 1:
            raise ValueError(
                f"ALS needs factors >= 1 and iterations >= 1, got {factors}, {iterations}"
            )
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.num_threads = iterations, seed, num_threads
        self.name = f"als_f{factors}"

    def fit(
        self, data: Interactions, segments: pd.Series | None = None, show_progress: bool = False
    ) -> ALS:
        _check_matrix(data, self.name)
        # implicit's own threads do the work; a multi-threaded BLAS underneath would fight
        # them (and implicit warns about it), so BLAS runs single-threaded during the fit.
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=self.num_threads,
                calculate_training_loss=False,
            )
            model.fit(data.matrix.astype(np.float32).tocsr(), show_progress=show_progress)
        self.data = data
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self.user_factors[rows] @ self.item_factors.T


class BuyAgain(Recommender):
    """Repeat purchase: which category next, then which SKU in it, each a smoothed multinomial.

    With c[u, i] the customer's purchase lines of SKU i (unweighted), m[u, i] = c[u, i] ** gamma,
    k(i) the category of SKU i and m[u, k] the sum of m[u, i] over the category's SKUs:

        P(k | u)    = (m[u, k] + beta * pi[g(u), k]) / (m[u, .] + beta)
        P(i | u, k) = (m[u, i] + alpha * q[u, i]) / (m[u, k] + alpha)
        s[u, i]     = P(k(i) | u) * P(i | u, k(i))

    pi[g, k] is the category mix (share of m) of the customer's segment g, of everyone when
    the customer has none. q[u, i] is the SKU's share of its category's lines on the channels
    the customer buys on: sum_c P(c | u) n[c, i] / n[c, k(i)], with
    P(c | u) = (l[u, c] + delta rho[c]) / (l[u, .] + delta), l the customer's lines per
    channel and rho every channel's share of all lines (a channel with no line of the
    category uses the all-channel share). Without channels in the data q is the all-channel
    share; without ``categories`` every SKU is in one category.

    A customer with little history gets the segment's categories and the channels' best
    sellers; one who bought a SKU again and again gets it first. gamma > 1 ranks a SKU bought
    three times above three SKUs bought once each (habit rather than trial); alpha, beta and
    delta are pseudo-counts (how many of the customer's own lines the prior is worth).

    Args:
        categories: sku -> category (SKUs missing from it share one ``(unknown)`` category).
        alpha, beta, delta: prior weights of the SKU, category and channel choices, in lines.
        gamma: exponent on the line counts, >= 1 favours habits.

    The defaults (alpha 10, beta 30, gamma 1.5, delta 0.3) were chosen on the demo's
    validation window (the 8 weeks before the last 8), grid alpha 0.1-100, beta 0.3-300,
    gamma 1-2, delta 0.3-3 (benchmarks/results/recommend.md); the test period played no part.
    """

    name = "buy_again"

    def __init__(
        self,
        categories: pd.Series | None = None,
        alpha: float = 10.0,
        beta: float = 30.0,
        gamma: float = 1.5,
        delta: float = 0.3,
    ) -> None:
        if min(alpha, beta, delta) <= 0 or gamma <= 0:
            raise ValueError(
                f"buy_again needs alpha, beta, delta, gamma > 0, got {alpha}, {beta}, {delta}, "
                f"{gamma}"
            )
        self.categories = categories
        self.alpha, self.beta, self.gamma, self.delta = alpha, beta, gamma, delta

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> BuyAgain:
        _check_matrix(data, self.name)
        self.data = data
        counts = data.line_counts if data.line_counts is not None else data.matrix
        m = counts.astype(np.float64).tocsr(copy=True)
        m.data = np.power(m.data, self.gamma)
        self.m = m
        n_skus = len(data.skus)
        if self.categories is None:
            cat = pd.Series("(all)", index=data.skus)
        else:
            known = pd.Series(self.categories)
            known.index = known.index.astype(str)
            cat = known[~known.index.duplicated()].reindex(data.skus).astype(object)
            cat = cat.fillna("(unknown)")
        codes, labels = pd.factorize(cat.to_numpy(), sort=True)
        self.sku_category = codes
        self.category_labels = pd.Index(labels)
        onehot = sp.csr_matrix(
            (np.ones(n_skus), (np.arange(n_skus), codes)), shape=(n_skus, len(labels))
        )
        self.m_cat = np.asarray((m @ onehot).todense())  # customers x categories
        # category prior per customer: the segment's mix, everyone's without a segment
        seg = _segments_of(data.customers, segments).to_numpy()
        total = self.m_cat.sum(axis=0)
        prior = np.broadcast_to(total / total.sum(), self.m_cat.shape).copy()
        for g in np.unique(seg):
            if g == UNSEGMENTED:
                continue
            rows = seg == g
            mix = self.m_cat[rows].sum(axis=0)
            if mix.sum() > 0:
                prior[rows] = mix / mix.sum()
        m_u = self.m_cat.sum(axis=1, keepdims=True)
        self.category_prob = (self.m_cat + self.beta * prior) / (m_u + self.beta)
        # SKU share within its category, per channel, and each customer's channel mix
        all_lines = np.asarray(counts.sum(axis=0)).ravel()
        all_cat = all_lines @ onehot
        share_all = all_lines / np.maximum(np.asarray(all_cat).ravel()[codes], 1e-12)
        if data.channel_sku is not None and data.customer_channel is not None:
            per_channel = np.asarray(data.channel_sku.todense(), dtype=np.float64)
            by_cat = np.asarray(per_channel @ onehot)[:, codes]
            self.channel_share = np.where(
                by_cat > 0, per_channel / np.maximum(by_cat, 1e-12), share_all
            )
            lines_uc = np.asarray(data.customer_channel.todense(), dtype=np.float64)
            rho = lines_uc.sum(axis=0) / lines_uc.sum()
            self.channel_prob = (lines_uc + self.delta * rho) / (
                lines_uc.sum(axis=1, keepdims=True) + self.delta
            )
        else:
            self.channel_share = share_all[None, :]
            self.channel_prob = np.ones((len(data.customers), 1))
        self._alpha_share = (self.alpha * self.channel_share).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """s[u, i] = P(k(i) | u) / (m[u, k(i)] + alpha) * (m[u, i] + alpha q[u, i]), float32.

        Computed in float32 as one dense block (the channel prior alpha q, a (rows x
        channels) @ (channels x SKUs) product), the customer's own counts added at their
        non-zero cells only, and one per-category weight gathered to the SKUs: two dense
        temporaries per batch. Relative error against float64 about 1e-7.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.intp)
        weight = self.category_prob[rows] / (self.m_cat[rows] + self.alpha)  # rows x categories
        out = self.channel_prob[rows].astype(np.float32) @ self._alpha_share
        own = self.m[rows]
        at = np.repeat(np.arange(len(rows)), np.diff(own.indptr))
        out[at, own.indices] += own.data.astype(np.float32)
        out *= np.take(weight.astype(np.float32), self.sku_category, axis=1)
        return out

    def summed_shares(
        self, rows: np.ndarray, weights: list[sp.spmatrix]
    ) -> list[np.ndarray] | None:
        """weights[j] @ a for each j without scoring customers densely, a[u, i] = s[u, i] / s[u, .].

        The score is a per-category weight times own counts plus a channel prior:
        s[u, i] = w[u, k(i)] (m[u, i] + alpha sum_c P(c | u) share[c, i]), with
        w[u, k] = P(k | u) / (m[u, k] + alpha). So for a weight matrix V (groups x rows),
        scaled to V' = V / s[u, .]:

            V' @ a = V' @ (w[:, k] o m) + alpha sum_c share[c, :] o ((V' o P(c | .)) @ w)[:, k]

        a sparse product over the bought cells and one (groups x categories) product per
        channel. s[u, .] = sum_k w[u, k] (m[u, k] + alpha sum_c P(c | u) S[c, k]) with S[c, k]
        the channel's share summed over category k. Equal to the dense route
        (:func:`~channelops.stages.recommendation.assortment.purchase_shares`) up to float rounding
        (about 1e-7, the dense scores are float32).

        Args:
            rows: training rows (the columns of every weight matrix, in this order).
            weights: (groups_j x len(rows)) sparse matrices.

        Returns:
            One (groups_j x SKUs) float64 array per weight matrix; None when some customer
            has no positive score (then the caller scores densely).
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.intp)
        k = self.sku_category
        n_cat = len(self.category_labels)
        weight = self.category_prob[rows] / (self.m_cat[rows] + self.alpha)  # rows x categories
        onehot = sp.csr_matrix((np.ones(len(k)), (np.arange(len(k)), k)), shape=(len(k), n_cat))
        share_cat = np.asarray(self.channel_share @ onehot)  # channels x categories
        chan = self.channel_prob[rows]
        total = (weight * (self.m_cat[rows] + self.alpha * (chan @ share_cat))).sum(axis=1)
        if not (total > 0).all():
            return None  # a customer without any positive score: the dense route handles it
        own = self.m[rows].tocoo()
        own = sp.csr_matrix(
            (own.data * weight[own.row, k[own.col]], (own.row, own.col)), shape=own.shape
        )
        out = []
        for v in weights:
            v = sp.csr_matrix(v) @ sp.diags(1.0 / total)
            agg = np.asarray((v @ own).todense())
            for c in range(chan.shape[1]):
                per_cat = np.asarray(v @ (chan[:, c : c + 1] * weight))  # groups x categories
                agg += self.alpha * self.channel_share[c] * per_cat[:, k]
            out.append(agg)
        return out


def make_model(
    name: str,
    seed: int = 0,
    regularization: float = 10.0,
    alpha: float = 1.0,
    iterations: int = 15,
    num_threads: int = 0,
    categories: pd.Series | None = None,
) -> Recommender:
    """A fresh model from its name: popularity, segment_popularity, item_item, buy_again or
    als_f<factors>.

    ``regularization``, ``alpha``, ``iterations`` and ``num_threads`` are ALS settings;
    ``categories`` (sku -> category) is buy_again's.

    Raises:
        ValueError: an unknown name (with the known ones).
    """
    simple = {
        "popularity": Popularity,
        "segment_popularity": SegmentPopularity,
        "item_item": ItemItem,
    }
    if name in simple:
        return simple[name]()
    if name == "buy_again":
        return BuyAgain(categories=categories)
    if name.startswith("als_f") and name[5:].isdigit():
        return ALS(
            factors=int(name[5:]),
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            seed=seed,
            num_threads=num_threads,
        )
    raise ValueError(
        f"unknown model {name!r}; expected one of {sorted([*simple, 'buy_again'])} or "
        "als_f<factors>, e.g. als_f16"
    )


def _segments_of(customers: pd.Index, segments: pd.Series | None) -> pd.Series:
    """Segment label per customer id (``UNSEGMENTED`` when unknown)."""
    if segments is None:
        return pd.Series(UNSEGMENTED, index=customers, dtype=object)
    seg = pd.Series(segments)
    index = str_index(seg.index)
    if index is not seg.index:
        seg = seg.set_axis(index)
    if not seg.index.is_unique:  # cached on the index: free when the same table comes back
        seg = seg[~seg.index.duplicated()]
    return seg.reindex(str_index(customers)).astype(object).fillna(UNSEGMENTED)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and scores of the k best per row, best first (ties: lower column first).

    -inf scores (excluded SKUs) are returned too; callers drop them. The k-th best score of
    each row comes from ``np.partition`` (values only, no index array the size of
    ``scores``); the cells at or above it, a few per row, are then sorted by row, score
    (descending) and column.
    """
    k = min(k, scores.shape[1])
    if k <= 0 or scores.shape[0] == 0:
        return np.zeros((scores.shape[0], 0), int), np.zeros((scores.shape[0], 0))
    if scores.shape[0] > _TOP_K_ROWS:  # row by row the same; small temporaries
        parts = [top_k(scores[i : i + _TOP_K_ROWS], k) for i in range(0, len(scores), _TOP_K_ROWS)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    n = scores.shape[1]
    kth = np.partition(scores, n - k, axis=1)[:, n - k]  # the k-th largest value of each row
    row, col = np.divmod(np.flatnonzero(scores >= kth[:, None]), n)  # np.nonzero's, faster
    val = scores[row, col]
    order = np.lexsort((col, -val, row))
    row, col, val = row[order], col[order], val[order]
    start = np.searchsorted(row, np.arange(scores.shape[0]))
    keep = np.arange(len(row)) - start[row] < k
    return col[keep].reshape(-1, k), val[keep].reshape(-1, k)


def recommend(
    model: Recommender,
    customers,
    k: int = 10,
    exclude_seen: bool = False,
    segments: pd.Series | None = None,
    fallback: SegmentPopularity | None = None,
    batch_size: int = 20_000,
    on_scores=None,
    workers: int = WORKERS,
) -> pd.DataFrame:
    """Top-k SKUs for each customer; cold-start customers get their segment's popular SKUs.

    Args:
        model: a fitted recommender.
        customers: customer ids to serve (known or not).
        k: list length (capped at the catalogue size).
        exclude_seen: drop SKUs the customer bought in training (False: repeat purchases may
            be recommended, right for consumables).
        segments: customer_id -> segment, for the cold-start fallback.
        fallback: a fitted :class:`SegmentPopularity` (built from the model's data when None).
        batch_size: customers scored at a time (memory: batch_size x n_skus floats).
        on_scores: called as ``on_scores(rows, scores)`` with every batch of known
            customers scored (training rows, their scores before ``exclude_seen``), e.g. an
            :class:`~channelops.stages.recommendation.assortment.ShareSums`; not called for
            lists shared by groups of customers. Called in this thread, batch by batch in
            order.
        workers: 2 scores and ranks each batch in two parts side by side when the model
            can score into a given block (``score_into``: explore, next_basket); 1 in this
            thread. BLAS runs at one thread (:func:`one_blas_thread`); the scores and lists
            are the same either way.

    Returns:
        customer_id, rank (1 = best), sku, score, model (the model's name, or
        ``segment_popularity`` / ``popularity`` for customers unseen in training).

    Raises:
        ValueError: k < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (recommendations per customer), got {k}")
    data = model._check_fitted()
    ids = pd.Index(pd.unique(str_index(customers)))
    rows = data.rows(ids)
    known = rows >= 0
    known_ids, known_rows = ids[known], rows[known]
    frames = []
    shared = None if exclude_seen else model.shared_scores(known_rows)
    if shared is not None:
        frames.append(_shared_frame(known_ids, *shared, k, data.skus, model.name))
    else:
        # models that score into a given block (score_into) score each batch in two parts
        # side by side, into one block; the parts start at multiples of the model's own
        # chunk (score_rows), so every number is that of the whole batch scored at once
        split = workers > 1 and hasattr(model, "score_into")
        with one_blas_thread(), ThreadPoolExecutor(max_workers=1 if split else None) as pool:
            for start in range(0, len(known_rows), batch_size):
                part_rows = known_rows[start : start + batch_size]
                scores, idx, val = _ranked_batch(
                    model, part_rows, k, exclude_seen, pool if split else None
                )
                if on_scores is not None:
                    on_scores(part_rows, scores)
                del scores
                part_ids = known_ids[start : start + batch_size]
                frames.append(_frame(part_ids, idx, val, data.skus, model.name))
    if (~known).any():
        if fallback is None:
            fallback = SegmentPopularity().fit(data, segments)
        cold = ids[~known]
        seg = _segments_of(cold, segments).to_numpy()
        names = np.where(
            np.isin(seg, list(fallback.by_segment)), "segment_popularity", "popularity"
        )
        for label in np.unique(names):
            sel = names == label
            labels, inverse = np.unique(seg[sel], return_inverse=True)
            scores = fallback.segment_scores(labels)
            frames.append(_shared_frame(cold[sel], scores, inverse, k, data.skus, str(label)))
    if not frames:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=str),
                "rank": pd.Series(dtype=int),
                "sku": pd.Series(dtype=str),
                "score": pd.Series(dtype=float),
                "model": pd.Series(dtype=str),
            }
        )
    return pd.concat(frames, ignore_index=True)


def _ranked_batch(
    model: Recommender, rows: np.ndarray, k: int, exclude_seen: bool, pool=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores of ``rows``, :func:`top_k`'s columns and values): with ``exclude_seen`` the
    lists leave out the SKUs each customer bought, while the scores returned are those
    before (the bought cells' values put back after ranking).

    With a ``pool`` (one worker thread) and a model with ``score_into``, the rows are
    scored and ranked in two parts, the first in the pool, the second here, into one block.
    """
    unit = getattr(model, "score_rows", 0)
    half = -(-len(rows) // 2 // unit) * unit if pool is not None and unit else 0
    if not 0 < half < len(rows):
        scores = np.asarray(model.score(rows))
        return scores, *_rank_part(model, rows, scores, k, exclude_seen)
    scores = np.empty((len(rows), model.data.shape[1]), np.float32)

    def part(sl: slice):
        model.score_into(rows[sl], scores[sl])
        return _rank_part(model, rows[sl], scores[sl], k, exclude_seen)

    first = pool.submit(part, slice(0, half))
    try:
        idx2, val2 = part(slice(half, None))
    finally:
        idx1, val1 = first.result()
    return scores, np.concatenate([idx1, idx2]), np.concatenate([val1, val2])


def _rank_part(model: Recommender, rows: np.ndarray, scores: np.ndarray, k: int, exclude_seen):
    """:func:`top_k` of ``scores`` (the scores of ``rows``), without the bought SKUs when
    ``exclude_seen`` (their values are put back after)."""
    if not exclude_seen:
        return top_k(scores, k)
    seen = model.data.matrix[rows].nonzero()
    kept = scores[seen]
    scores[seen] = -np.inf
    idx, val = top_k(scores, k)
    scores[seen] = kept
    return idx, val


def _shared_frame(
    ids: pd.Index, scores: np.ndarray, list_of: np.ndarray, k: int, skus: pd.Index, name: str
) -> pd.DataFrame:
    """Lists for customers sharing a few score rows: rank each distinct row once, then copy.

    Args:
        ids: customer ids; scores: (n_lists, n_skus); list_of: row of ``scores`` per id.
    """
    idx, val = top_k(scores, k)
    return _frame(ids, idx[list_of], val[list_of], skus, name)


def _frame(
    ids: pd.Index, idx: np.ndarray, val: np.ndarray, skus: pd.Index, name: str
) -> pd.DataFrame:
    """Long table of top-k lists (idx, val from :func:`top_k`, one row per id), ranks 1..k.

    Excluded SKUs (-inf scores) are dropped and the ranks after them close up.
    """
    kk = idx.shape[1]
    finite = np.isfinite(val)
    rank = np.cumsum(finite, axis=1)  # rank among the kept SKUs of the row
    keep = finite.ravel()
    out = pd.DataFrame(
        {
            "customer_id": np.repeat(ids.to_numpy(dtype=object), kk)[keep],
            "rank": rank.ravel()[keep].astype(np.int64),
            "sku": skus.to_numpy(dtype=object)[idx.ravel()[keep]],
            "score": val.ravel()[keep].astype(np.float64),
            "model": name,
        }
    )
    return out
