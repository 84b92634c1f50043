"""The strong next-basket baselines, and a repeat + explore blend.

Li et al. (2023, "A Next Basket Recommendation Reality Check", ACM TOIS) show that most of
what next-basket models score comes from repeat purchases and that simple baselines are
hard to beat, so 07 puts them in its candidate set:

* ``popularity_recent``: baskets holding SKU i in the last ``window_weeks`` weeks before the
  cut-off (the same list for everyone; older all-time counts break ties).
* ``gp_topfreq``: GP-TopFreq (Li et al. 2023): the customer's own SKUs by the number of
  their baskets holding them, ties by recency (the more recent last purchase first), the
  rest of the list filled with ``popularity_recent``.
* ``tifu_knn``: TIFU-KNN (Hu, He, Xu, Zhang & Wang 2020, "Modeling Personalized Item
  Frequency Information for Next-basket Recommendation", SIGIR): a time-decayed frequency
  vector per customer plus the mean vector of their nearest neighbours.
* ``<repeat>+<explore>@<n>``: a blend; the first k - n places are the ``repeat`` model's
  best SKUs the customer bought before, then the ``explore`` model's best SKUs new to the
  customer (e.g. ``explore``: :class:`~channelops.stages.recommendation.explore.Explorer`,
  the new products likeliest to be bought, or ``item_item``: co-bought neighbours of their
  habits), then the rest. n (places for discovery) is chosen on the validation window like
  any model (:func:`~channelops.stages.recommendation.evaluate.choose_model`).

:func:`make_model` builds any candidate (these and :mod:`.models`' own) from its name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .data import Interactions
from .explore import Explorer, NextBasket
from .models import Recommender, _check_matrix
from .models import make_model as _base_model

__all__ = [
    "RecentPopularity",
    "GPTopFreq",
    "TIFUKNN",
    "RepeatExplore",
    "make_model",
    "BASELINES",
]

#: Names of the baselines of this module.
BASELINES = ("popularity_recent", "gp_topfreq", "tifu_knn")
_CHUNK = 4096  # customers a blend scores at a time


def _events(data: Interactions, name: str):
    if data.events is None:
        raise ValueError(f"{name} needs basket events: build the data with build_interactions")
    return data.events


def _recent_counts(data: Interactions, window_weeks: float) -> np.ndarray:
    """Baskets per SKU in the last ``window_weeks`` weeks, plus all-time baskets / (1 + all)
    as a tie-break below one basket (float64, one value per SKU)."""
    ev = data.events
    n = data.shape[1]
    recent = np.bincount(ev.loc[ev["age_days"] <= 7.0 * window_weeks, "col"], minlength=n)
    total = np.bincount(ev["col"], minlength=n).astype(float)
    return recent + total / (1.0 + total.max())


class RecentPopularity(Recommender):
    """SKUs by baskets holding them in the last ``window_weeks`` weeks, for everyone.

    Args:
        window_weeks: the window before the training end (``as_of``), weeks (> 0).
    """

    name = "popularity_recent"

    def __init__(self, window_weeks: float = 4.0) -> None:
        if not window_weeks > 0:
            raise ValueError(f"popularity_recent needs window_weeks > 0, got {window_weeks}")
        self.window_weeks = window_weeks

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> RecentPopularity:
        _check_matrix(data, self.name)
        _events(data, self.name)
        self.data = data
        self.item_scores = _recent_counts(data, self.window_weeks).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return np.broadcast_to(self.item_scores, (len(rows), len(self.item_scores))).copy()

    def shared_scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One list for everyone."""
        self._check_fitted()
        return self.item_scores[None, :], np.zeros(len(rows), dtype=np.intp)


class GPTopFreq(Recommender):
    """GP-TopFreq (Li et al. 2023): the customer's most frequently bought SKUs, then popularity.

    s[u, i] = f[u, i] + 0.5 / (1 + a[u, i]) for a SKU the customer bought, with f the number
    of the customer's baskets holding i and a the age in days of the latest of them (so ties
    in f go to the more recent SKU and never overturn a higher f); every other SKU scores
    0.4 * p[i] / max p, p the recent popularity (:class:`RecentPopularity`), below any SKU
    bought. No parameter is tuned but the popularity window.
    """

    name = "gp_topfreq"

    def __init__(self, window_weeks: float = 4.0) -> None:
        self.popularity = RecentPopularity(window_weeks)

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> GPTopFreq:
        _check_matrix(data, self.name)
        ev = _events(data, self.name)
        self.data = data
        agg = ev.groupby(["row", "col"]).agg(f=("basket", "size"), a=("age_days", "min"))
        rows = agg.index.get_level_values(0).to_numpy()
        cols = agg.index.get_level_values(1).to_numpy()
        own = agg["f"].to_numpy(float) + 0.5 / (1.0 + agg["a"].to_numpy(float))
        self.own = sp.csr_matrix((own, (rows, cols)), shape=data.shape)
        pop = self.popularity.fit(data).item_scores.astype(float)
        self.fill = (0.4 * pop / max(pop.max(), 1e-12)).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        out = np.broadcast_to(self.fill, (len(rows), len(self.fill))).copy()
        own = self.own[rows].tocoo()
        out[own.row, own.col] = own.data
        return out


class TIFUKNN(Recommender):
    """TIFU-KNN (Hu et al. 2020): time-decayed item frequencies plus nearest neighbours.

    The customer's baskets, newest first, are cut into groups of ``group_size``; basket j of
    a group (0 = newest) weighs ``decay_within ** j``, group g (0 = newest) weighs
    ``decay_group ** g``. With b[t] the binary vector of basket t and G the number of groups:

        v[u] = sum_t decay_group ** g(t) * decay_within ** j(t) * b[t] / (group_size * G)

    The neighbours N(u) are the ``neighbours`` customers with the highest cosine of v
    (the customer left out), and the score is

        s[u] = alpha * v[u] + (1 - alpha) * mean_{w in N(u)} v[w]

    SKUs scoring 0 are ordered by recent popularity (a tie-break far below any score).

    With more customers than ``neighbour_pool``, the neighbours are searched among a seeded
    random sample of that many customers (the pool) instead of everyone: the search costs
    customers x pool similarities rather than customers squared, which is what makes a
    million customers feasible. With at most ``neighbour_pool`` customers the search is
    exact.

    Args:
        neighbours: k of the nearest-neighbour step (>= 1).
        group_size: baskets per group m (>= 1).
        decay_within, decay_group: r_b and r_g in (0, 1].
        alpha: weight of the customer's own vector, in [0, 1].
        batch_size: customers whose neighbours are searched at a time, at most; fewer when
            batch_size x candidates would pass 20 million similarities (80 MB).
        neighbour_pool: customers the neighbours are drawn from, at most (>= neighbours;
            None: everyone).
        seed: seed of the pool's sample.
    """

    name = "tifu_knn"

    def __init__(
        self,
        neighbours: int = 300,
        group_size: int = 7,
        decay_within: float = 0.9,
        decay_group: float = 0.7,
        alpha: float = 0.7,
        batch_size: int = 1000,
        neighbour_pool: int | None = 10_000,
        seed: int = 0,
    ) -> None:
        if neighbours < 1 or group_size < 1:
            raise ValueError(
                f"tifu_knn needs neighbours >= 1 and group_size >= 1, got {neighbours}, "
                f"{group_size}"
            )
        if not (0 < decay_within <= 1 and 0 < decay_group <= 1 and 0 <= alpha <= 1):
            raise ValueError(
                "tifu_knn needs decay_within and decay_group in (0, 1] and alpha in [0, 1], "
                f"got {decay_within}, {decay_group}, {alpha}"
            )
        if neighbour_pool is not None and neighbour_pool < neighbours:
            raise ValueError(
                f"tifu_knn needs neighbour_pool >= neighbours ({neighbours}) or None, got "
                f"{neighbour_pool}"
            )
        self.neighbours, self.group_size = neighbours, group_size
        self.decay_within, self.decay_group, self.alpha = decay_within, decay_group, alpha
        self.batch_size, self.neighbour_pool, self.seed = batch_size, neighbour_pool, seed

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> TIFUKNN:
        _check_matrix(data, self.name)
        ev = _events(data, self.name)
        self.data = data
        basket = ev["basket"].to_numpy()
        group, within = basket // self.group_size, basket % self.group_size
        n_groups = ev.groupby("row")["basket"].transform("max").to_numpy() // self.group_size + 1
        w = (
            np.power(self.decay_group, group)
            * np.power(self.decay_within, within)
            / (self.group_size * n_groups)
        )
        v = sp.csr_matrix((w, (ev["row"].to_numpy(), ev["col"].to_numpy())), shape=data.shape)
        v.sum_duplicates()
        self.vectors = v.astype(np.float32)
        norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=1)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        self.unit = (sp.diags(inv) @ v).astype(np.float32).tocsr()
        n = data.shape[0]
        if self.neighbour_pool is None or n <= self.neighbour_pool:
            self.pool = np.arange(n)
        else:
            rng = np.random.default_rng(self.seed)
            self.pool = np.sort(rng.choice(n, self.neighbour_pool, replace=False))
        self.pool_unit_t = self.unit[self.pool].T.tocsr()
        self.pool_vectors = self.vectors[self.pool]
        pop = _recent_counts(data, 4.0)
        self.fill = (1e-6 * pop / max(pop.max(), 1e-12)).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        out = np.empty((len(rows), self.data.shape[1]), np.float32)
        n = len(self.pool)
        where = np.full(self.data.shape[0], -1, np.int64)
        where[self.pool] = np.arange(n)
        k = min(self.neighbours, n - 1)
        batch = max(1, min(self.batch_size, 20_000_000 // max(n, 1)))
        # the pool's unit vectors as one dense (SKUs x pool) block: a sparse row times it
        # adds the same float32 products in the same order as the sparse product did (its
        # zero cells add exact zeros), without building a sparse result first
        pool_t = self.pool_unit_t.toarray() if k >= 1 and len(rows) else None
        for start in range(0, len(rows), batch):
            part = np.asarray(rows[start : start + batch])
            own = self.vectors[part].toarray()
            if k >= 1:
                sim = np.asarray(self.unit[part] @ pool_t)
                me = where[part]
                mine = me >= 0
                sim[np.nonzero(mine)[0], me[mine]] = -np.inf  # not one's own neighbour
                near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
                pick = sp.csr_matrix(
                    (
                        np.full(near.size, 1.0 / k, np.float32),
                        (np.repeat(np.arange(len(part)), k), near.ravel()),
                    ),
                    shape=(len(part), n),
                )
                mean_nn = (pick @ self.pool_vectors).toarray()
            else:
                mean_nn = np.zeros_like(own)
            out[start : start + len(part)] = (
                self.alpha * own + (1.0 - self.alpha) * mean_nn + self.fill
            )
        return out


class RepeatExplore(Recommender):
    """Repeat head, explore tail: the list's last ``explore_slots`` of ``k`` places go to SKUs
    new to the customer.

    Ranks (per customer, k = list length): first the ``repeat`` model's best
    min(k - explore_slots, SKUs bought) SKUs the customer bought in training, then the
    ``explore`` model's best SKUs they never bought, then the remaining bought SKUs. A
    customer with fewer than k - explore_slots SKUs bought gets more new ones.

    Args:
        repeat, explore: unfitted recommenders (fitted together by :meth:`fit`).
        explore_slots: places of the top k given to new SKUs (0 <= explore_slots <= k).
        k: the list length the places refer to.
    """

    def __init__(
        self, repeat: Recommender, explore: Recommender, explore_slots: int, k: int = 10
    ) -> None:
        if not 0 <= explore_slots <= k:
            raise ValueError(f"explore_slots must be in [0, k={k}], got {explore_slots}")
        self.repeat, self.explore = repeat, explore
        self.explore_slots, self.k = explore_slots, k
        self.name = f"{repeat.name}+{explore.name}@{explore_slots}"

    def fit(self, data: Interactions, segments: pd.Series | None = None) -> RepeatExplore:
        _check_matrix(data, self.name)
        self.repeat.fit(data, segments)
        self.explore.fit(data, segments)
        self.data = data
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Scores of ``rows``, computed ``_CHUNK`` customers at a time (row by row the same;
        the float64 temporaries stay small)."""
        data = self._check_fitted()
        rows = np.asarray(rows)
        out = np.empty((len(rows), data.shape[1]), np.float32)
        for start in range(0, len(rows), _CHUNK):
            out[start : start + _CHUNK] = self._score_chunk(rows[start : start + _CHUNK])
        return out

    def _score_chunk(self, rows: np.ndarray) -> np.ndarray:
        data = self._check_fitted()
        seen = (data.matrix[rows] > 0).toarray()
        rep = _unit_range(np.asarray(self.repeat.score(rows), dtype=np.float64))
        exp = _unit_range(np.asarray(self.explore.score(rows), dtype=np.float64))
        head = self.k - self.explore_slots
        rep_seen = np.where(seen, rep, -np.inf)
        if head > 0:  # the head-th largest bought score of each row (a partition, no sort)
            h = min(head, rep_seen.shape[1]) - 1
            kth = -np.partition(-rep_seen, h, axis=1)[:, h]
            top_seen = seen & (rep_seen >= kth[:, None])
        else:
            top_seen = np.zeros_like(seen)
        out = np.where(seen, rep, 2.0 + exp)  # new SKUs above the rest of the bought ones
        out[top_seen] += 4.0  # the head of the bought ones above everything
        return out.astype(np.float32)


def _unit_range(scores: np.ndarray) -> np.ndarray:
    """Each row rescaled into [0, 1] (order kept; a constant row becomes 0)."""
    lo = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - lo
    return np.divide(scores - lo, span, out=np.zeros_like(scores), where=span > 0)


def make_model(
    name: str,
    seed: int = 0,
    k: int = 10,
    popularity_window_weeks: float = 4.0,
    tifu_options: dict | None = None,
    explore_options: dict | None = None,
    **options,
) -> Recommender:
    """A fresh candidate from its name.

    Names: ``popularity_recent``, ``gp_topfreq``, ``tifu_knn``, ``explore``
    (:class:`~channelops.stages.recommendation.explore.Explorer`, new products only) and
    ``next_basket`` (:class:`~channelops.stages.recommendation.explore.NextBasket`;
    ``next_basket_x<w>``: with explore_weight w), with ``explore_options`` and ``seed``, ``<repeat>+<explore>@<n>``
    (a :class:`RepeatExplore` of two names, n places of ``k`` for new SKUs, e.g.
    ``gp_topfreq+item_item@3``), and every name of :func:`.models.make_model`
    (``options`` are its settings: ALS's and buy_again's ``categories``).

    Raises:
        ValueError: an unknown name.
    """
    if "+" in name and "@" in name:
        pair, _, slots = name.rpartition("@")
        repeat, _, explore = pair.partition("+")
        if not slots.isdigit() or not repeat or not explore:
            raise ValueError(
                f"unknown model {name!r}: a blend is named <repeat>+<explore>@<places>, "
                "e.g. gp_topfreq+item_item@3"
            )
        common = dict(
            seed=seed,
            k=k,
            popularity_window_weeks=popularity_window_weeks,
            tifu_options=tifu_options,
            explore_options=explore_options,
            **options,
        )
        return RepeatExplore(
            make_model(repeat, **common), make_model(explore, **common), int(slots), k
        )
    if name == "popularity_recent":
        return RecentPopularity(popularity_window_weeks)
    if name == "gp_topfreq":
        return GPTopFreq(popularity_window_weeks)
    if name == "tifu_knn":
        return TIFUKNN(**{"seed": seed, **(tifu_options or {})})
    if name in ("explore", "next_basket"):
        cls = Explorer if name == "explore" else NextBasket
        return cls(**{"seed": seed, **(explore_options or {})})
    if name.startswith("next_basket_x"):
        try:
            weight = float(name.removeprefix("next_basket_x"))
        except ValueError:
            raise ValueError(
                f"unknown model {name!r}: next_basket_x<weight> takes a number, e.g. next_basket_x2"
            ) from None
        return NextBasket(explore_weight=weight, **{"seed": seed, **(explore_options or {})})
    try:
        return _base_model(name, seed=seed, **options)
    except ValueError as err:
        raise ValueError(
            f"{err}; or one of {[*BASELINES, 'explore', 'next_basket']} or <repeat>+<explore>@<n>"
        ) from err
