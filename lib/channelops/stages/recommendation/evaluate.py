"""Offline evaluation on a time split, and model choice on a validation window.

For a customer u with test purchases T_u (distinct SKUs bought in the test period) and a
top-k list L_u, with hit_j = 1 when the j-th recommendation is in T_u:

* precision@k = |L_u & T_u| / k
* recall@k    = |L_u & T_u| / |T_u|
* NDCG@k      = DCG / IDCG, DCG = sum_j hit_j / log2(j + 1),
                IDCG = sum_{j <= min(k, |T_u|)} 1 / log2(j + 1)

each averaged over the customers who bought something in the test period (a customer with
no list counts as zero). Over a group of customers:

* coverage = distinct SKUs in the group's lists / SKUs in the catalogue
* novelty  = mean over all recommended items of -log2(p_i), p_i = share of training
  customers who bought i (smoothed: (n_i + 1) / (n + 1)); higher = less obvious items.

Protocol (:func:`offline_evaluation`): the test period is never used to choose. Models are
compared on a validation window (the last weeks before the cut-off, trained on what came
before it); the chosen model is the winner by NDCG@k, or, with an explore tolerance t
(:func:`choose_model`), of the models whose validation NDCG@k is at least (1 - t) x the
best, the one with the best validation explore NDCG@k (discovery bought with at most a
share t of the overall accuracy). Then every model is refitted on
everything before the cut-off and scored on the test period, so the test figures of all
models are honest out-of-sample figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from .baselines import make_model
from .data import (
    build_interactions,
    in_sorted,
    resolve_cutoff,
    sample_customers,
    str_index,
    time_split,
)
from .models import UNSEGMENTED, SegmentPopularity, in_order, one_blas_thread, recommend

__all__ = [
    "customer_metrics",
    "summarise_metrics",
    "customer_groups",
    "evaluate_models",
    "offline_evaluation",
    "EvaluationResult",
    "choose_model",
    "METRICS",
    "REPEAT_EXPLORE",
    "taste_groups",
    "training_inputs",
]

METRICS = ("precision_at_k", "recall_at_k", "ndcg_at_k", "coverage", "novelty")
#: Repeat and explore apart (Li et al. 2023), on the same top-k list: NDCG@k and recall@k
#: with only the test SKUs the customer bought before the cut-off as relevant (``_repeat``;
#: means over customers with at least one), or only those new to them (``_explore``); and
#: new_share, the share of the top k that is new to the customer.
REPEAT_EXPLORE = ("ndcg_repeat", "recall_repeat", "ndcg_explore", "recall_explore", "new_share")


def customer_metrics(
    recs: pd.DataFrame, test: pd.DataFrame, k: int, seen: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Precision, recall and NDCG at k per customer who bought in the test period.

    Args:
        recs: customer_id, rank, sku (ranks from 1).
        test: test-period purchases (customer_id, sku).
        k: list length evaluated (ranks > k are ignored).
        seen: training purchases (customer_id, sku): with it, the :data:`REPEAT_EXPLORE`
            columns too (NDCG with binary relevance, the ideal list capped at k).

    Returns:
        One row per test customer (index customer_id, sorted): relevant, hits,
        precision_at_k, recall_at_k, ndcg_at_k (and, with ``seen``, ndcg_repeat,
        recall_repeat (NaN for a customer with no repeat SKU in the test period),
        ndcg_explore, recall_explore (NaN with no new SKU) and new_share).

    Customers and SKUs are matched as integer codes (one int64 key per customer x SKU
    pair), not by merging string columns.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return _Relevance(test, seen).metrics(recs, k)


class _Relevance:
    """The test period's relevant pairs (and the training pairs) as integer keys, built once
    and used for every model's lists (:func:`customer_metrics`).

    A key is customer position x n + SKU code; SKUs in neither test nor training purchases
    take code ``len(skus)`` (never relevant, never bought).
    """

    def __init__(self, test: pd.DataFrame, seen: pd.DataFrame | None = None) -> None:
        test_ids = _as_str(test["customer_id"])
        test_skus = _as_str(test["sku"])
        self.customers = pd.Index(pd.unique(test_ids), name="customer_id").sort_values()
        parts = [test_skus]
        if seen is not None:
            seen_row = self.customers.get_indexer(_as_str(seen["customer_id"]))
            seen_sku = _as_str(seen["sku"])[seen_row >= 0]
            parts.append(seen_sku)
        self.skus = pd.Index(pd.unique(np.concatenate(parts)))
        self.n = np.int64(len(self.skus) + 1)
        self.truth = np.unique(
            self.customers.get_indexer(test_ids) * self.n + self._code(test_skus)
        )
        self.old = None
        if seen is not None:
            self.old = np.unique(seen_row[seen_row >= 0] * self.n + self._code(seen_sku))

    def _code(self, skus: np.ndarray) -> np.ndarray:
        code = self.skus.get_indexer(skus)
        return np.where(code < 0, len(self.skus), code).astype(np.int64)

    def metrics(self, recs: pd.DataFrame, k: int) -> pd.DataFrame:
        """:func:`customer_metrics` of the lists ``recs``."""
        customers, n = self.customers, self.n
        top = recs.loc[recs["rank"] <= k, ["customer_id", "sku", "rank"]]
        top_row = customers.get_indexer(_as_str(top["customer_id"]))
        mine = top_row >= 0  # rows of test customers' lists
        row = top_row[mine].astype(np.int64)
        key = row * n + self._code(_as_str(top["sku"])[mine])
        rank = top["rank"].to_numpy()[mine]
        out = _ranked_metrics(customers, row, key, rank, self.truth, n, k)
        if self.old is None:
            return out
        is_old = in_sorted(self.truth, self.old)
        for part, mask in (("repeat", is_old), ("explore", ~is_old)):
            sub = _ranked_metrics(customers, row, key, rank, self.truth[mask], n, k)
            none = sub["relevant"].to_numpy() == 0
            out[f"ndcg_{part}"] = sub["ndcg_at_k"].mask(none)
            out[f"recall_{part}"] = sub["recall_at_k"].mask(none)
        listed = np.bincount(row, minlength=len(customers))
        new = np.bincount(row, weights=~in_sorted(key, self.old), minlength=len(customers))
        with np.errstate(invalid="ignore", divide="ignore"):
            out["new_share"] = np.where(listed > 0, new / listed, np.nan)
        return out


def _as_str(values) -> np.ndarray:
    """Values as an object array of Python strings."""
    return str_index(values).to_numpy(dtype=object)


def _ranked_metrics(
    customers: pd.Index,
    row: np.ndarray,
    key: np.ndarray,
    rank: np.ndarray,
    truth: np.ndarray,
    n: np.int64,
    k: int,
) -> pd.DataFrame:
    """:func:`customer_metrics` without the repeat / explore columns, on integer codes.

    Args:
        customers: the test customers (sorted); row: each list entry's customer (position
            in ``customers``); key: its customer x SKU key (row * n + SKU code); rank: its
            rank; truth: the sorted distinct keys of the relevant pairs; k: list length.

    Returns:
        index customers: relevant (0 for a customer with nothing relevant), hits,
        precision_at_k, recall_at_k, ndcg_at_k.
    """
    relevant = np.bincount(truth // n, minlength=len(customers)).astype(np.int64)
    hit = in_sorted(key, truth)
    gain = 1.0 / np.log2(rank[hit].astype(float) + 1.0)
    # summed by pandas in list order, as a groupby over the merged hits did
    dcg = pd.Series(gain).groupby(row[hit]).sum().reindex(range(len(customers)), fill_value=0.0)
    hits = np.bincount(row[hit], minlength=len(customers)).astype(float)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    idcg = ideal[np.clip(np.minimum(relevant, k) - 1, 0, None)]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "relevant": relevant,
                "hits": hits,
                "precision_at_k": hits / k,
                "recall_at_k": hits / relevant,
                "ndcg_at_k": dcg.to_numpy() / idcg,
            },
            index=customers,
        )
    return out


def _item_information(train: pd.DataFrame) -> pd.Series:
    """Self-information -log2(p_i) of each SKU from the training customers who bought it."""
    n = train["customer_id"].nunique()
    buyers = train.groupby("sku")["customer_id"].nunique()
    return -np.log2((buyers + 1.0) / (n + 1.0))


def summarise_metrics(
    per_customer: pd.DataFrame,
    recs: pd.DataFrame,
    k: int,
    n_skus: int,
    information: pd.Series,
    groups: pd.Series | None = None,
    default_information: float | None = None,
    top: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Mean metrics (and coverage, novelty) over all test customers or per group.

    Args:
        per_customer: :func:`customer_metrics`.
        recs: the lists (customer_id, rank, sku).
        k: list length.
        n_skus: catalogue size, for coverage.
        information: -log2(p_i) per SKU (SKUs missing get ``default_information``, by
            default the largest value).
        groups: customer_id -> group label; None for one row over everyone.
        top: :func:`_scored_top` of the same arguments, to reuse across several groupings
            (None: computed here).

    Returns:
        group, customers, precision_at_k, recall_at_k, ndcg_at_k, coverage, novelty (and
        the :data:`REPEAT_EXPLORE` means when ``per_customer`` has them; NaN-skipping).
    """
    label = (
        pd.Series("all", index=per_customer.index)
        if groups is None
        else groups.reindex(per_customer.index).fillna("(none)").astype(str)
    )
    if top is None:
        top = _scored_top(per_customer, recs, k, information, default_information)
    # each list row's group from its customer's position, as integer codes
    codes, labels = pd.factorize(label.to_numpy())
    group = codes[top["_pos"].to_numpy()]
    sku = top["_sku"].to_numpy().astype(np.int64)
    width = np.int64(sku.max() + 1 if len(sku) else 1)
    pairs = np.unique(group * width + sku)
    distinct = pd.Series(np.bincount(pairs // width, minlength=len(labels)), index=labels)
    novelty = pd.Series(top["info"].to_numpy()).groupby(group).mean()
    novelty.index = labels[novelty.index]
    ranked = ["precision_at_k", "recall_at_k", "ndcg_at_k"]
    ranked += [c for c in REPEAT_EXPLORE if c in per_customer]
    means = per_customer.groupby(label)[ranked].mean()
    means.insert(0, "customers", label.value_counts())
    means["coverage"] = distinct.reindex(means.index).fillna(0) / n_skus
    means["novelty"] = novelty.reindex(means.index)
    means = means[[c for c in ("customers", *METRICS, *REPEAT_EXPLORE) if c in means]]
    means.index.name = "group"
    return means.reset_index()


def _scored_top(
    per_customer: pd.DataFrame,
    recs: pd.DataFrame,
    k: int,
    information: pd.Series,
    default_information: float | None = None,
) -> pd.DataFrame:
    """The top-k rows of the test customers' lists, with each SKU's information as ``info``,
    the customer's position in ``per_customer`` as ``_pos`` and a code of the SKU as ``_sku``."""
    pos = per_customer.index.get_indexer(recs["customer_id"])
    keep = (recs["rank"].to_numpy() <= k) & (pos >= 0)
    top = recs[keep]
    default = float(information.max()) if default_information is None else default_information
    return top.assign(
        info=top["sku"].map(information).fillna(default),
        _pos=pos[keep],
        _sku=pd.factorize(top["sku"])[0],
    )


def customer_groups(
    customers, train: pd.DataFrame, test: pd.DataFrame, segments: pd.Series | None
) -> pd.DataFrame:
    """Groups each test customer belongs to for the per-group metrics.

    Returns:
        index customer_id; segment (01's segment or ``unsegmented``), channel (the channel
        with most of the customer's test-period lines; ties: first by name) and cohort
        (``warm`` when the customer bought in training, ``cold`` otherwise).
    """
    ids = pd.Index(pd.unique(str_index(customers)), name="customer_id")
    out = pd.DataFrame(index=ids)
    seg = pd.Series(dtype=object) if segments is None else segments.copy()
    seg.index = str_index(seg.index)
    out["segment"] = seg[~seg.index.duplicated()].reindex(ids).astype(object).fillna(UNSEGMENTED)
    if "channel_id" in test:
        counts = test.groupby(["customer_id", "channel_id"]).size().reset_index(name="n")
        counts = counts.sort_values(
            ["customer_id", "n", "channel_id"], ascending=[True, False, True]
        )
        out["channel"] = counts.drop_duplicates("customer_id").set_index("customer_id")[
            "channel_id"
        ]
    out["cohort"] = np.where(ids.isin(train["customer_id"].astype(str).unique()), "warm", "cold")
    return out


def taste_groups(train: pd.DataFrame, categories: pd.Series | None = None) -> pd.Series:
    """Each customer's group as of the cut-off: the category of most of their lines in ``train``.

    Stands in for 01's segments inside the evaluation: 01 measures its segments at the end
    of the data, test period included, so a model or cold-start fallback fed with them
    would learn from the test period. These groups use the training lines only.

    Args:
        train: purchases before the cut-off (customer_id, sku).
        categories: sku -> category; None (or no category known) puts every customer in
            ``unsegmented``, so the fallback is overall popularity.

    Returns:
        customer_id -> ``"taste: <category>"`` (ties: first category by name), or
        ``unsegmented`` when none of the customer's SKUs has a category.
    """
    rows, ids = pd.factorize(train["customer_id"].astype(str))  # ids in order of appearance
    ids = pd.Index(ids, name="customer_id")
    if categories is None or categories.dropna().empty:
        return pd.Series(UNSEGMENTED, index=ids, dtype=object)
    cat = categories.set_axis(categories.index.astype(str))
    cat = cat[~cat.index.duplicated()]
    # lines per customer and category as integer codes; categories coded in name order
    sku_codes, skus = pd.factorize(train["sku"].astype(str))
    cat_codes, names = pd.factorize(cat.reindex(skus).to_numpy(dtype=object), sort=True)
    line_cat = cat_codes[sku_codes]
    known = line_cat >= 0
    n_cat = max(len(names), 1)
    counts = np.bincount(
        rows[known].astype(np.int64) * n_cat + line_cat[known], minlength=len(ids) * n_cat
    ).reshape(len(ids), n_cat)
    best = counts.argmax(axis=1)  # the most lines; ties: the first category by name
    labels = np.array(["taste: " + str(c) for c in names] or [UNSEGMENTED], dtype=object)
    out = np.where(counts.max(axis=1) > 0, labels[best], UNSEGMENTED)
    return pd.Series(out, index=ids, dtype=object, name="category")


def training_inputs(
    train: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    half_life_days: float = 180.0,
    skus=None,
    categories: pd.Series | None = None,
):
    """Everything the models and the cold-start fallback learn from, built from ``train`` only.

    Returns:
        (:class:`~channelops.stages.recommendation.data.Interactions`, the customers'
        :func:`taste_groups`, the fitted cold-start :class:`SegmentPopularity`).
    """
    data = build_interactions(train, as_of=as_of, half_life_days=half_life_days, skus=skus)
    groups = taste_groups(train, categories)
    return data, groups, SegmentPopularity().fit(data, groups)


def evaluate_models(
    train: pd.DataFrame,
    test: pd.DataFrame,
    model_names: list[str],
    k: int = 10,
    segments: pd.Series | None = None,
    half_life_days: float = 180.0,
    exclude_seen: bool = False,
    skus=None,
    seed: int = 0,
    model_options: dict | None = None,
    by: tuple[str, ...] = ("segment", "channel", "cohort"),
    progress: bool = True,
    as_of: pd.Timestamp | None = None,
    workers: int = 2,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Fit each model on ``train`` and score its lists on ``test``.

    Models and the cold-start fallback learn from ``train`` only (:func:`training_inputs`:
    the customers' groups are their :func:`taste_groups` as of the cut-off, not 01's
    segments); ``segments`` (01's) only label the per-segment rows of the report.
    ``as_of`` is the instant purchase ages are measured from (None: the last training
    purchase).

    Returns:
        (metrics: model, group_by ('all' or one of ``by``), group, customers, the
        :data:`METRICS` and :data:`REPEAT_EXPLORE`; recs: model name -> its lists for the
        test customers).
    """
    options = dict(model_options or {})
    data, taste, fallback = training_inputs(
        train, as_of, half_life_days, skus, options.get("categories")
    )
    info = _item_information(train)
    groups = customer_groups(test["customer_id"], train, test, segments)
    relevance = _Relevance(test, train[["customer_id", "sku"]])  # once for every model
    rows, lists = [], {}
    for name in tqdm(model_names, desc="models", disable=not progress, leave=False):
        model = make_model(name, seed=seed, k=k, **options).fit(data, taste)
        recs = recommend(
            model,
            groups.index,
            k=k,
            exclude_seen=exclude_seen,
            segments=taste,
            fallback=fallback,
            workers=workers,
        )
        recs["model"] = name  # the evaluated model; cold customers are served by the fallback
        lists[name] = recs
        per = relevance.metrics(recs, k)  # customer_metrics(recs, test, k, seen=train)
        n_skus = len(data.skus)
        top = _scored_top(per, recs, k, info)
        parts = [summarise_metrics(per, recs, k, n_skus, info, top=top).assign(group_by="all")]
        parts += [
            summarise_metrics(per, recs, k, n_skus, info, groups[g], top=top).assign(group_by=g)
            for g in by
            if g in groups
        ]
        rows.append(pd.concat(parts, ignore_index=True).assign(model=name))
    metrics = pd.concat(rows, ignore_index=True)
    cols = ["model", "group_by", "group", "customers", *METRICS, *REPEAT_EXPLORE]
    return metrics[cols], lists


def choose_model(validation: pd.DataFrame, explore_tolerance: float | None = None) -> str:
    """The model chosen from validation figures.

    Args:
        validation: one row per model (index model) with ndcg_at_k and, for a tolerance,
            ndcg_explore.
        explore_tolerance: None (or 0): the best ndcg_at_k. A share t in [0, 1): of the
            models with ndcg_at_k >= (1 - t) x the best, the best ndcg_explore (ties: the
            higher ndcg_at_k, then the first row).

    Raises:
        ValueError: no row, a tolerance outside [0, 1), or no ndcg_explore with a tolerance.
    """
    if validation.empty:
        raise ValueError("no validation figures to choose a model from")
    ndcg = validation["ndcg_at_k"].astype(float)
    if not explore_tolerance:
        return str(ndcg.idxmax())
    if not 0 <= explore_tolerance < 1:
        raise ValueError(f"explore_tolerance must be in [0, 1) (a share), got {explore_tolerance}")
    if "ndcg_explore" not in validation:
        raise ValueError("explore_tolerance needs ndcg_explore among the validation figures")
    close = validation[ndcg >= (1.0 - explore_tolerance) * ndcg.max()]
    ranked = close.assign(_e=close["ndcg_explore"].astype(float).fillna(-1.0), _n=ndcg)
    return str(ranked.sort_values(["_e", "_n"], ascending=False, kind="stable").index[0])


@dataclass
class EvaluationResult:
    """What :func:`offline_evaluation` found.

    Attributes:
        metrics: recommender_metrics rows: split ('validation' or 'test'), model, group_by,
            group, customers, k, the metrics, chosen (True on the chosen model's rows).
        chosen: name of the model chosen on validation (:func:`choose_model`).
        cutoff: start of the test period; validation_start: start of the validation window.
        test_recs: model name -> its lists for the test customers.
        customers_evaluated: customers whose purchases the evaluation used (the sample).
        customers_total: customers in the purchases given.
    """

    metrics: pd.DataFrame
    chosen: str
    cutoff: pd.Timestamp
    validation_start: pd.Timestamp
    test_recs: dict[str, pd.DataFrame]
    customers_evaluated: int = 0
    customers_total: int = 0

    @property
    def sampled(self) -> bool:
        """True when the evaluation ran on a sample of the customers."""
        return self.customers_evaluated < self.customers_total

    def overall(self, split: str = "test") -> pd.DataFrame:
        """One row per model over all customers of the split."""
        m = self.metrics
        return m[(m["split"] == split) & (m["group_by"] == "all")].set_index("model")


def offline_evaluation(
    lines: pd.DataFrame,
    model_names: list[str],
    k: int = 10,
    cutoff=None,
    test_weeks: float = 8,
    validation_weeks: float = 8,
    segments: pd.Series | None = None,
    half_life_days: float = 180.0,
    exclude_seen: bool = False,
    skus=None,
    seed: int = 0,
    model_options: dict | None = None,
    progress: bool = True,
    max_customers: int | None = None,
    explore_tolerance: float | None = None,
    workers: int = 2,
) -> EvaluationResult:
    """Choose a model on a validation window, then score every model on the test period.

    Args:
        lines: purchases (:func:`~channelops.stages.recommendation.data.purchase_lines`).
        model_names: candidates (see :func:`~channelops.stages.recommendation.models.make_model`).
        cutoff, test_weeks: the test period (:func:`~channelops.stages.recommendation.data.time_split`).
        validation_weeks: the validation window, the last weeks before the cut-off.
        max_customers: evaluate on all purchases of a random sample of this many customers
            (seeded with ``seed``; :func:`~channelops.stages.recommendation.data.sample_customers`) when
            there are more; None uses everyone. Every model is fitted and scored on the same
            sample, and the cut-offs and purchase ages are those of the full data, so with
            a sample at least as large as the customer base the result is the full one.
        explore_tolerance: the choice rule's share t (:func:`choose_model`); None: the best
            validation NDCG@k.
        workers: threads the validation and test windows are evaluated in (2: side by
            side; 1: one after the other). The result is the same.
        Others: as in :func:`evaluate_models`.
    """
    if not model_names:
        raise ValueError("model_names is empty: name at least one model, e.g. ['popularity']")
    ts = lines["order_ts"]
    cut = resolve_cutoff(ts, cutoff, test_weeks)
    val_start = cut - pd.Timedelta(weeks=validation_weeks)
    # ages are measured from the last training purchase of the full data, sampled or not
    as_of_train, as_of_inner = ts[ts < cut].max(), ts[ts < val_start].max()
    if segments is not None:  # Python-string ids once, not in every model's fit
        segments = segments.set_axis(str_index(segments.index))
    lines, n_total = sample_customers(lines, max_customers, seed)
    train, test, cut = time_split(lines, cut)
    inner, val, _ = time_split(train, val_start)
    common = dict(
        k=k,
        segments=segments,
        half_life_days=half_life_days,
        exclude_seen=exclude_seen,
        skus=skus,
        seed=seed,
        model_options=model_options,
        progress=progress,
    )
    windows = [(inner, val, as_of_inner), (train, test, as_of_train)]

    def window(job):
        fit_on, score_on, as_of = job
        return evaluate_models(fit_on, score_on, model_names, as_of=as_of, workers=1, **common)

    # the two windows are independent (each its own data, models and lists): one thread
    # each, BLAS at one thread, so each window's numbers are those of a serial run
    with one_blas_thread():
        (val_metrics, _), (test_metrics, test_recs) = in_order(window, windows, workers)
    overall = val_metrics[val_metrics["group_by"] == "all"].set_index("model")
    chosen = choose_model(overall, explore_tolerance)
    metrics = pd.concat(
        [val_metrics.assign(split="validation"), test_metrics.assign(split="test")],
        ignore_index=True,
    )
    metrics["k"] = k
    metrics["chosen"] = metrics["model"] == chosen
    cols = ["split", "model", "group_by", "group", "customers", "k", *METRICS, *REPEAT_EXPLORE]
    cols.append("chosen")
    n_sampled = lines["customer_id"].nunique()
    return EvaluationResult(metrics[cols], chosen, cut, val_start, test_recs, n_sampled, n_total)
