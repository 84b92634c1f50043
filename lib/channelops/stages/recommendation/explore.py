"""Discovery: which products new to a customer they are likeliest to buy next.

Li et al. (2023, "A Next Basket Recommendation Reality Check") find that next-basket models
earn almost all of their accuracy on repeat purchases and recommend new products no better
than popularity. :class:`Explorer` scores only the products a customer has never bought, by
a logistic model of "bought in the next ``window_weeks`` weeks" learned from the training
purchases themselves: the purchases up to ``window_weeks`` before the training end give the
features, the last ``window_weeks`` the labels, so the model is calibrated on the same kind
of horizon it is judged on and never sees anything after the training end.

Features of a (customer u, new product j) pair, all as of the instant they are computed at:

* ``co_bought``: item-item co-occurrence, sum over u's products i of cos(i, j) (cosine of
  the binary buyer columns), and the same divided by u's largest value over new products;
* ``popularity``: log(1 + baskets holding j) in the last 1, 2, 4 and 12 weeks and over all
  time, and log(1 + days since j's first sale) (new products sell to new buyers);
* the customer: log(1 + products u bought) and u's explore propensity, the share of the
  products in u's baskets (all but the first) that u had never bought before, smoothed
  towards everyone's share with 5 pseudo-products.

Candidates (pairs the model is fitted on and scores) are, per customer, the new products
among the ``candidates`` best by co-occurrence or among the ``candidates`` most popular in
the last 1 or 4 weeks; other new products score below every candidate, ordered by recent
popularity, and products the customer bought score below those (a blend takes only the new
ones: :class:`~channelops.stages.recommendation.baselines.RepeatExplore`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from .data import Interactions, in_sorted
from .models import Recommender, _check_matrix, one_blas_thread

__all__ = [
    "Explorer",
    "NextBasket",
    "explore_propensity",
    "repeat_features",
    "ItemStats",
    "FEATURES",
    "REPEAT_FEATURES",
]

#: Feature names, in the order of the columns :meth:`Explorer.features` returns.
FEATURES = (
    "co_bought",
    "co_bought_relative",
    "log_products_bought",
    "explore_propensity",
    "pop_1w",
    "pop_2w",
    "pop_4w",
    "pop_12w",
    "pop_all",
    "log_days_on_sale",
)
#: Features of a product the customer bought before (:func:`repeat_features`).
REPEAT_FEATURES = (
    "log_baskets_with",
    "log_days_since_bought",
    "share_of_baskets",
    "log_baskets",
    "log_days_since_last_basket",
    "explore_propensity",
    "pop_4w",
    "product_repeat_rate",
    "log_decayed_baskets",
)
#: Half-life of :func:`repeat_features`' decayed basket count, days (chosen on the demo's
#: validation weeks among 30, 60, 90, 180 and 365 days; benchmarks/results/recommend.md).
REPEAT_HALF_LIFE_DAYS = 90.0
_WINDOWS = (1, 2, 4, 12)
_CHUNK = 4096  # customers whose dense feature blocks are built at a time
_PAIR_CHUNK = 1 << 20  # bought pairs whose repeat features are built at a time
_CACHED_CELLS = 6_000_000  # candidate cells whose probabilities a state keeps, at most


def explore_propensity(
    events: pd.DataFrame, n_rows: int, prior_weight: float = 5.0, order: np.ndarray | None = None
) -> np.ndarray:
    """Share of each customer's product purchases that were new to them, smoothed.

    Args:
        events: basket events (row, col, basket; 0 = the customer's latest basket), as in
            :class:`~channelops.stages.recommendation.data.Interactions`.
        n_rows: customers (rows) in the matrix.
        prior_weight: pseudo-products at everyone's share added to each customer.
        order: :func:`_pair_order` of ``events`` when already known (None: sorted here).

    Returns:
        float64 per row in [0, 1]: (new + w * p) / (counted + w), counting the products of
        every basket but the customer's first (in the first, all are new by definition); p
        is the same share over everyone (0.5 when nobody has two baskets).
    """
    if prior_weight <= 0:
        raise ValueError(f"prior_weight must be > 0 (pseudo-products), got {prior_weight}")
    if len(events) == 0:
        return np.full(n_rows, 0.5)
    row = events["row"].to_numpy()
    basket = events["basket"].to_numpy()
    first_of_pair = _group_max(_pair_key(events), basket, order)
    oldest = np.zeros(n_rows, basket.dtype)
    np.maximum.at(oldest, row, basket)
    oldest = oldest[row]
    counted = basket < oldest
    new = counted & (basket == first_of_pair)
    n_new = np.bincount(row, weights=new, minlength=n_rows)
    n_counted = np.bincount(row, weights=counted, minlength=n_rows)
    prior = n_new.sum() / n_counted.sum() if n_counted.sum() > 0 else 0.5
    return (n_new + prior_weight * prior) / (n_counted + prior_weight)


def _pair_key(events: pd.DataFrame, n_cols: int | None = None) -> np.ndarray:
    """One int64 per event: row x n_cols + col (a one-column key groups faster than two)."""
    col = events["col"].to_numpy().astype(np.int64)
    n = int(col.max()) + 1 if n_cols is None and len(col) else (n_cols or 1)
    return events["row"].to_numpy().astype(np.int64) * n + col


def _pair_order(events: pd.DataFrame) -> np.ndarray:
    """The events' stable sort by (row, col): the one order :func:`explore_propensity` and
    :func:`_repeat_pairs` both sort by (a key row x n + col, any n above the largest col,
    orders the events the same way), so a state sorts its events once for both."""
    return np.argsort(_pair_key(events), kind="stable")


def _group_max(key: np.ndarray, values: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Per element, the largest of ``values`` over the elements with the same ``key``
    (``order``: the stable argsort of ``key`` when already known)."""
    if len(key) == 0:
        return values.copy()
    if order is None:
        order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    top = np.maximum.reduceat(values[order], starts)
    out = np.empty_like(values)
    out[order] = np.repeat(top, np.diff(np.r_[starts, len(k)]))
    return out


def repeat_features(
    events: pd.DataFrame,
    n_rows: int,
    propensity: np.ndarray,
    item_table: np.ndarray,
    half_life_days: float = REPEAT_HALF_LIFE_DAYS,
) -> pd.DataFrame:
    """Features of every (customer, product bought) pair of ``events``, :data:`REPEAT_FEATURES`.

    Args:
        events: basket events (row, col, age_days, basket).
        n_rows: customers; propensity: :func:`explore_propensity` per row;
        item_table: :class:`ItemStats` ``table`` (its column 2 is pop_4w).
        half_life_days: half-life of the decayed basket count, days (> 0).

    Returns:
        One row per distinct (row, col), sorted by row then col: row, col and the features
        (baskets holding the product, days since its latest purchase, its share of the
        customer's baskets, the customer's baskets and days since their latest one, all
        logs of 1 + the value but the share; the customer's explore propensity; the
        product's pop_4w; and its repeat rate, (buyers who bought it in two baskets or
        more + 1) / (buyers + 2)); and log(1 + the decayed count of the baskets holding the
        product, each weighing 0.5 ** (its age in days / half_life_days)): frequency and
        recency in one figure, as TIFU-KNN's decayed vectors.

    Raises:
        ValueError: half_life_days <= 0.
    """
    n_cols = item_table.shape[0]
    parts = _repeat_pairs(events, n_rows, n_cols, half_life_days)
    out = pd.DataFrame(_repeat_matrix(parts, propensity, item_table), columns=list(REPEAT_FEATURES))
    out.insert(0, "col", parts[1])
    out.insert(0, "row", parts[0])
    return out


def _repeat_pairs(
    events: pd.DataFrame,
    n_rows: int,
    n_cols: int,
    half_life_days: float = REPEAT_HALF_LIFE_DAYS,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """What :func:`repeat_features` is computed from: per distinct (row, col) pair, sorted,
    row, col, f (its baskets) and last (its youngest age); per row n_baskets and recency;
    per col rate (the repeat rate); per pair decayed (its baskets weighted by
    0.5 ** (age / half_life_days)). ``order``: :func:`_pair_order` of ``events`` when
    already known (None: sorted here)."""
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0 (days), got {half_life_days}")
    key = _pair_key(events, n_cols)
    # one row per distinct pair, sorted: its events and the youngest age (a sort, no groupby)
    if order is None:
        order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, np.intp)
    pair = k[starts]
    f = np.diff(np.r_[starts, len(k)]).astype(float)
    age = events["age_days"].to_numpy(float)[order]
    del k, order
    last = np.minimum.reduceat(age, starts) if len(starts) else np.zeros(0)
    weight = np.exp2(-age / half_life_days)
    decayed = np.add.reduceat(weight, starts) if len(starts) else np.zeros(0)
    del age, weight
    row = pair // n_cols
    col = pair % n_cols
    n_baskets = np.zeros(n_rows)
    np.maximum.at(n_baskets, events["row"].to_numpy(), events["basket"].to_numpy() + 1.0)
    recency = np.full(n_rows, np.inf)
    np.minimum.at(recency, events["row"].to_numpy(), events["age_days"].to_numpy(float))
    buyers = np.bincount(col, minlength=n_cols).astype(float)
    again = np.bincount(col, weights=f >= 2, minlength=n_cols)
    rate = (again + 1.0) / (buyers + 2.0)  # share of the product's buyers who bought it again
    return row, col, f, last, n_baskets, recency, rate, decayed


def _repeat_matrix(parts, propensity: np.ndarray, item_table: np.ndarray, pick=None) -> np.ndarray:
    """The :data:`REPEAT_FEATURES` (float64 columns) of the pairs ``pick`` (a slice, mask
    or index array; None: all) of :func:`_repeat_pairs`."""
    row, col, f, last, n_baskets, recency, rate, decayed = parts
    if pick is not None:
        row, col, f, last, decayed = row[pick], col[pick], f[pick], last[pick], decayed[pick]
    columns = [
        np.log1p(f),
        np.log1p(last),
        f / np.maximum(n_baskets[row], 1.0),
        np.log1p(n_baskets[row]),
        np.log1p(recency[row]),
        propensity[row],
        item_table[col, 2],
        rate[col],
        np.log1p(decayed),
    ]
    # column-major, as a frame's float block gives it (means and products sum in that order)
    out = np.empty((len(row), len(columns)), order="F")
    for j, values in enumerate(columns):
        out[:, j] = values
    return out


class ItemStats:
    """Per-product popularity features of :data:`FEATURES` (pop_1w ... log_days_on_sale).

    Args:
        events: basket events with age_days (days before the instant the features are for).
        n_cols: products (columns).
    """

    def __init__(self, events: pd.DataFrame, n_cols: int) -> None:
        col = events["col"].to_numpy()
        age = events["age_days"].to_numpy(float)
        cols = [np.bincount(col[age <= 7.0 * w], minlength=n_cols) for w in _WINDOWS]
        cols.append(np.bincount(col, minlength=n_cols))
        first = np.zeros(n_cols)
        np.maximum.at(first, col, age)
        self.table = np.log1p(np.column_stack([*cols, first]).astype(float))  # (n_cols, 6)
        self.recent = cols[0] + cols[2] / (1.0 + cols[2].max())  # 1 week, ties by 4 weeks

    def top(self, n: int) -> np.ndarray:
        """Columns of the ``n`` products most popular in the last 1 or 4 weeks (union)."""
        n = min(n, len(self.recent))
        one = np.argsort(-self.table[:, 0], kind="stable")[:n]
        four = np.argsort(-self.table[:, 2], kind="stable")[:n]
        return np.union1d(one, four)


def _co_occurrence(bought: sp.csr_matrix) -> np.ndarray:
    """Cosine similarity of the binary product columns (n_cols x n_cols, float32)."""
    csc = bought.tocsc()
    norms = np.sqrt(np.asarray(csc.sum(axis=0)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = csc @ sp.diags(inv.astype(np.float32))
    return np.asarray((unit.T @ unit).todense(), dtype=np.float32)


def _binary(events: pd.DataFrame, shape: tuple[int, int]) -> sp.csr_matrix:
    """1 where the customer (row) bought the product (col) in ``events``."""
    m = sp.csr_matrix(
        (np.ones(len(events), np.float32), (events["row"].to_numpy(), events["col"].to_numpy())),
        shape=shape,
    )
    m.data[:] = 1.0
    return m


class _State:
    """What features are computed from, as of one instant."""

    def __init__(self, events: pd.DataFrame, shape: tuple[int, int], candidates: int) -> None:
        self.bought = _binary(events, shape)
        self.sim = _co_occurrence(self.bought)
        self.items = ItemStats(events, shape[1])
        # the events sorted by (row, col) once: for the propensity here and, in a
        # next_basket fit, for the repeat pairs (dropped once they are built)
        self.pair_order: np.ndarray | None = _pair_order(events)
        self.propensity = explore_propensity(events, shape[0], order=self.pair_order)
        self.n_bought = np.diff(self.bought.indptr)
        self.popular = self.items.top(candidates)
        self.candidates = candidates
        # (rows, model) -> (row, col, probability) of the candidate cells, kept from a chunk's
        # second request on: the variants and blends of one evaluation score the same
        # customers with the same model; lists for everyone ask for each chunk once
        self.cache: dict = {}
        self.requested: set = set()
        self.cached_cells = 0

    def cells(self, rows: np.ndarray):
        """Candidate cells of ``rows``: (bought mask (len(rows), n_cols), candidate mask,
        row and column of each candidate cell (row-major), its co_bought value, and each
        row's largest co_bought over new products)."""
        sub = self.bought[rows]
        at = (np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices)
        seen = np.zeros(sub.shape, bool)
        seen[at] = True
        # float32 as the product comes (the float64 values are the same numbers); the
        # candidates' values are widened to float64 below
        co = np.asarray(sub @ self.sim)
        co[at] = -np.inf
        n = co.shape[1]
        c = min(self.candidates, n)
        # the c-th largest value of each row, as the c-th smallest of the negated values
        # (the same value; a selection near the front stays fast when many values tie at 0)
        neg = np.negative(co)
        neg.partition(c - 1, axis=1)
        kth = -neg[:, c - 1]
        del neg
        cand = (co >= kth[:, None]) & (co > 0)
        cand[:, self.popular] = True
        cand[at] = False
        top = np.maximum(co.max(axis=1).astype(np.float64), 1e-12)
        r, j = np.divmod(np.flatnonzero(cand), n)  # np.nonzero's cells, in its order, faster
        return seen, cand, r, j, co[r, j].astype(np.float64), top

    def block(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate cells of ``rows`` and their features.

        Returns:
            (bought mask (len(rows), n_cols), candidate mask (same shape), features of the
            candidate cells in row-major order (n_cells, len(FEATURES)), float64).
        """
        seen, cand, r, j, co, top = self.cells(rows)
        feats = np.column_stack(
            [
                co,
                co / top[r],
                np.log1p(self.n_bought[rows][r]),
                self.propensity[rows][r],
                self.items.table[j],
            ]
        )
        return seen, cand, feats

    def logit(self, rows: np.ndarray, coef: np.ndarray, intercept: float):
        """:meth:`cells`' masks and cells and the linear score coef . features + intercept of
        each candidate cell, without building the feature matrix (the same sum, term by
        term): (bought mask, candidate mask, row, col, score)."""
        seen, cand, r, j, co, top = self.cells(rows)
        per_row = coef[2] * np.log1p(self.n_bought[rows]) + coef[3] * self.propensity[rows]
        per_col = self.items.table @ coef[4:]
        value = coef[0] * co + coef[1] * co / top[r] + per_row[r] + per_col[j] + intercept
        return seen, cand, r, j, value


class Explorer(Recommender):
    """Products new to the customer, by the probability of buying them in the next weeks.

    Args:
        window_weeks: the label window at the end of the training data, weeks (> 0); also
            the horizon the probabilities refer to.
        candidates: products per customer and source (co-occurrence, 1- and 4-week
            popularity) the model scores (>= 1).
        max_customers: customers whose pairs the logistic model is fitted on, at most (a
            seeded sample of those with a purchase before the label window).
        seed: seed of that sample.

    With no purchase in the label window, or no customer bought before it, or no positive
    pair, the model cannot be fitted and scores are co_bought_relative + the 1- and 4-week
    popularity features (``self.coef_`` None).
    """

    name = "explore"
    _reuses_early_split = False  # NextBasket's repeat fit reuses _fit_logistic's split

    def __init__(
        self,
        window_weeks: float = 8.0,
        candidates: int = 40,
        max_customers: int = 20_000,
        seed: int = 0,
    ) -> None:
        if not window_weeks > 0 or candidates < 1 or max_customers < 1:
            raise ValueError(
                "explore needs window_weeks > 0, candidates >= 1 and max_customers >= 1, got "
                f"{window_weeks}, {candidates}, {max_customers}"
            )
        self.window_weeks, self.candidates = window_weeks, candidates
        self.max_customers, self.seed = max_customers, seed
        self.coef_: np.ndarray | None = None

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> Explorer:
        _check_matrix(data, self.name)
        if data.events is None:
            raise ValueError("explore needs basket events: build the data with build_interactions")
        self.data = data
        key = ("explore", self.window_weeks, self.candidates, self.max_customers, self.seed)
        if key not in data.fitted:  # fitted once per data for every variant and blend
            with one_blas_thread():  # the same numbers on any machine
                model = self._fit_logistic(data)
                state = _State(data.events, data.shape, self.candidates)
                if not self._reuses_early_split:  # no repeat pairs to sort the events for
                    state.pair_order = None
            data.fitted[key] = (
                model,
                getattr(self, "mean_", None),
                getattr(self, "scale_", None),
                state,
            )
        self.model, self.mean_, self.scale_, self.state = data.fitted[key]
        self.coef_ = None if self.model is None else self.model.coef_.ravel()
        if not self._reuses_early_split:
            self.__dict__.pop("_early", None)
        return self

    def _fit_logistic(self, data: Interactions) -> LogisticRegression | None:
        """The logistic model on (features before the label window, bought in it)."""
        split = _label_window_split(data.events, self.window_weeks)
        if split is None:
            return None
        early, late = split
        state = _State(early, data.shape, self.candidates)
        self._early = (split, state)  # NextBasket's repeat fit reads the same, then drops it
        rows = np.unique(early["row"].to_numpy())
        if len(rows) > self.max_customers:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(rows, self.max_customers, replace=False))
        _, cand, x = state.block(rows)
        bought_late = _binary(late, data.shape)[rows].toarray() > 0
        y = bought_late[cand]
        if y.all() or not y.any():
            return None
        self.mean_, self.scale_ = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        return LogisticRegression(max_iter=2000).fit((x - self.mean_) / self.scale_, y)

    #: :meth:`score_into` computes this many rows at a time: parts of a batch that start at
    #: multiples of it are scored exactly as the whole batch is (:func:`.models.recommend`).
    score_rows = _CHUNK

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Per row: candidates 2 + probability, other new products 1 + a popularity
        tie-break in [0, 1), bought products 0 (computed ``_CHUNK`` customers at a time)."""
        self._check_fitted()
        rows = np.asarray(rows)
        out = np.empty((len(rows), self.data.shape[1]), np.float32)
        self.score_into(rows, out)
        return out

    def score_into(self, rows: np.ndarray, out: np.ndarray) -> None:
        """:meth:`score` written into ``out`` (float32, len(rows) x SKUs)."""
        self._check_fitted()
        rows = np.asarray(rows)
        for i in range(0, len(rows), _CHUNK):
            self._score_chunk(rows[i : i + _CHUNK], out[i : i + _CHUNK])

    def _candidate_values(self, rows: np.ndarray):
        """(position in ``rows`` and column of each candidate cell in row-major order, its
        value); kept on the state from the second request for the same rows by a model of
        the same fit on (up to ``_CACHED_CELLS`` cells)."""
        if self.model is None:
            _, cand, x = self.state.block(rows)
            value = x[:, 1] + x[:, 4] + x[:, 6]
            value = value / max(value.max(), 1e-12) if len(value) else value
            return *np.divmod(np.flatnonzero(cand), cand.shape[1]), value
        # the logistic model's probability, its standardisation folded into coef
        coef = self.model.coef_.ravel() / self.scale_
        intercept = float(self.model.intercept_[0]) - float(coef @ self.mean_)
        state = self.state
        key = (np.ascontiguousarray(rows).tobytes(), coef.tobytes(), intercept)
        if key in state.cache:
            return state.cache[key]
        _, _, r, j, logit = state.logit(rows, coef, intercept)
        out = r, j, 1.0 / (1.0 + np.exp(-logit))
        if key not in state.requested:
            state.requested.add(key)
        elif state.cached_cells + len(r) <= _CACHED_CELLS:
            state.cache[key] = out
            state.cached_cells += len(r)
        return out

    def _score_chunk(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Write the scores of ``rows`` into ``out`` (float32, len(rows) x SKUs)."""
        r, j, value = self._candidate_values(rows)
        recent = self.state.items.recent
        out[:] = (1.0 + recent / (1.0 + recent.max())).astype(np.float32)
        sub = self.state.bought[rows]
        out[np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices] = 0.0
        out[r, j] = 2.0 + value


def _standardised_logistic(x: np.ndarray, y: np.ndarray):
    """(fitted LogisticRegression on standardised x, mean, scale), or None with one class."""
    if y.all() or not y.any():
        return None
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
    return LogisticRegression(max_iter=2000).fit((x - mean) / scale, y), mean, scale


def _probability(fitted, x: np.ndarray) -> np.ndarray:
    model, mean, scale = fitted
    return model.predict_proba((x - mean) / scale)[:, 1]


class NextBasket(Explorer):
    """Every product ranked by its probability of purchase in the next weeks, bought before or not.

    Two logistic models learned like :class:`Explorer`'s (features before the last
    ``window_weeks`` of the training data, labels in them): the :class:`Explorer` model for
    products new to the customer and a repeat model on :data:`REPEAT_FEATURES` for the
    products they bought. Both give probabilities of the same event, so one ranking by
    probability mixes habits and discoveries per customer: a customer whose habits are
    weak or who often tries new products gets more new ones (ranking by probability is
    what maximises the expected number of hits in the list).

    Args:
        explore_weight: multiplies the probabilities of new products (>= 1: more discovery
            at some cost in overall accuracy; 1 ranks by probability alone).
        repeat_half_life_days: half-life of the repeat model's decayed basket count, days
            (> 0; :func:`repeat_features`).
        Others: as :class:`Explorer`'s.

    Falls back to the customer's baskets holding the product (repeat) and
    :class:`Explorer`'s fallback (new), repeats first, when a model cannot be fitted.
    """

    name = "next_basket"
    _reuses_early_split = True

    def __init__(
        self,
        explore_weight: float = 1.0,
        repeat_half_life_days: float = REPEAT_HALF_LIFE_DAYS,
        **options,
    ) -> None:
        if not explore_weight > 0:
            raise ValueError(f"next_basket needs explore_weight > 0, got {explore_weight}")
        if not repeat_half_life_days > 0:
            raise ValueError(
                f"next_basket needs repeat_half_life_days > 0 (days), got {repeat_half_life_days}"
            )
        super().__init__(**options)
        self.explore_weight = explore_weight
        self.repeat_half_life_days = repeat_half_life_days
        if explore_weight != 1.0:
            self.name = f"next_basket_x{explore_weight:g}"

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> NextBasket:
        super().fit(data, segments)
        key = ("repeat", self.window_weeks, self.candidates, self.max_customers, self.seed)
        key += (self.repeat_half_life_days,)
        if key not in data.fitted:
            data.fitted[key] = self._fit_repeat_scores(data)
        self.__dict__.pop("_early", None)
        self.repeat_model, self.repeat_scores = data.fitted[key]
        return self

    def _fit_repeat_scores(self, data: Interactions):
        """(the repeat model, CSR of the repeat scores of every bought cell)."""
        with one_blas_thread():
            repeat_model = self._fit_repeat(data)
            order, self.state.pair_order = self.state.pair_order, None  # used once, here
            parts = _repeat_pairs(data.events, *data.shape, self.repeat_half_life_days, order=order)
            del order
            scores = self._repeat_scores(data, repeat_model, self.model, self.state, parts)
        return repeat_model, scores

    def _repeat_scores(self, data: Interactions, repeat_model, explore_model, st, parts):
        """CSR of the repeat scores of every bought pair of ``parts`` (:func:`_repeat_pairs`
        of the whole data; ``st`` the whole data's :class:`_State`)."""
        value = np.empty(len(parts[0]), np.float32)
        for i in range(0, len(value), _PAIR_CHUNK):  # features of a million pairs at a time
            x = _repeat_matrix(parts, st.propensity, st.items.table, slice(i, i + _PAIR_CHUNK))
            if repeat_model is None or explore_model is None:
                value[i : i + _PAIR_CHUNK] = 2.0 + x[:, 0]  # repeats first, by baskets
            else:
                value[i : i + _PAIR_CHUNK] = _probability(repeat_model, x)
        return sp.csr_matrix((value, (parts[0], parts[1])), shape=data.shape)

    def _fit_repeat(self, data: Interactions):
        cached = self.__dict__.pop("_early", None)  # from _fit_logistic of this fit
        order = None
        if cached is None:
            split = _label_window_split(data.events, self.window_weeks)
            if split is None:
                return None
            prop = explore_propensity(split[0], data.shape[0])
            table = ItemStats(split[0], data.shape[1]).table
        else:
            split, state = cached
            prop, table, order = state.propensity, state.items.table, state.pair_order
        early, late = split
        n_rows, n_cols = data.shape[0], table.shape[0]
        parts = _repeat_pairs(early, n_rows, n_cols, self.repeat_half_life_days, order=order)
        del order
        rows = np.unique(parts[0])
        pick = None
        if len(rows) > self.max_customers:  # features of the sampled customers' pairs only
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(rows, self.max_customers, replace=False))
            pick = in_sorted(parts[0], rows)  # rows: sorted, distinct
        row, col = (parts[0], parts[1]) if pick is None else (parts[0][pick], parts[1][pick])
        late_key = late["row"].to_numpy().astype(np.int64) * n_cols + late["col"].to_numpy()
        y = in_sorted(row * n_cols + col, np.unique(late_key))
        return _standardised_logistic(_repeat_matrix(parts, prop, table, pick), y)

    def _score_chunk(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Write into ``out``, per row: the probability of each candidate (bought before or
        new; new ones times explore_weight); other new products -1 + a popularity
        tie-break in [0, 1)."""
        r, j, value = self._candidate_values(rows)
        recent = self.state.items.recent
        out[:] = (recent / (1.0 + recent.max()) - 1.0).astype(np.float32)
        out[r, j] = self.explore_weight * value
        own = self.repeat_scores[rows].tocoo()
        out[own.row, own.col] = own.data


def _label_window_split(
    events: pd.DataFrame, window_weeks: float
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Training events before the label window (ages and basket numbers shifted as if the
    window's start were now) and the events inside it; None when either side is empty.

    Args:
        events: ``Interactions.events`` (``row``, ``age_days`` in days before the cut-off,
            ``basket``, ...).
        window_weeks: the label window's length, in weeks.
    """
    horizon = 7.0 * window_weeks
    early = events[events["age_days"] > horizon].copy()
    late = events[events["age_days"] <= horizon]
    if early.empty or late.empty:
        return None
    early["age_days"] -= horizon
    row = early["row"].to_numpy()
    first = np.full(int(row.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, row, early["basket"].to_numpy().astype(np.int64))
    early["basket"] -= first[row]
    return early, late
