"""Customer segmentation: features from order history, RFM scores, K-means segments, CLV.

Inputs are canonical, accepted order lines of the channels whose buyers carry CRM ids
(``channelops.ingest.canonical`` output: ``buyer_ref`` is the customer id, ``revenue_base`` in the
base currency, ``order_ts_local`` in the reporting timezone).

Typical use::

    orders = customer_orders(lines)
    features = customer_features(orders, as_of, lines=lines, products=products)
    rfm = rfm_scores(features, bins=5)
    model = fit_segments(features, k=0, seed=42)          # k=0: choose k (stability, share)
    segments = model.predict(features)
    profiles = segment_profiles(features, segments, lines=lines, products=products)
    model_table = model.as_table()                      # 01's segment_model table

Every step is vectorised over customers (groupby / bincount), so the cost grows with the
number of customers and lines, not with a loop over them (``benchmarks/bench_segmentation.py``
measures it, benchmarks/results/segmentation.md has the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

from channelops.audience import segment_band_shares
from channelops.customers import design_matrix, segment_model_table

from . import clv as clvm
from . import next_period as nxt
from .forecast_check import forward_columns
from .workers import two_workers

__all__ = [
    "CLUSTER_FEATURES",
    "SEGMENT_NAMES",
    "activity_heatmap",
    "rfm_scores",
    "SegmentModel",
    "k_selection",
    "fit_segments",
    "name_segments",
    "segment_profiles",
    "segment_migration",
    "CLVResult",
    "customer_lifetime_values",
    "prob_alive_grid",
]

#: Features the K-means model is fitted on by default. Money and counts are signed-log1p
#: transformed, shares are used as they are; then every column is standardised.
CLUSTER_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "aov", "discount_share")
#: The archetypes segments are named after, in the order they are assigned.
SEGMENT_NAMES = ("new", "dormant", "loyal_high_value", "bargain_hunter", "regular")


# ----------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------


def activity_heatmap(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders by weekday (rows, Mon..Sun) and local hour (columns 0..23)."""
    _require(orders, ["order_ts"], "orders")
    stamp = pd.DatetimeIndex(orders["order_ts"])
    counts = np.bincount(stamp.dayofweek * 24 + stamp.hour, minlength=7 * 24).reshape(7, 24)
    return pd.DataFrame(
        counts,
        index=pd.Index(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], name="weekday"),
        columns=pd.RangeIndex(24, name="hour"),
    )


def rfm_scores(features: pd.DataFrame, bins: int | Sequence[float] = 5) -> pd.DataFrame:
    """Quantile RFM scores 1..n (n best: recent, frequent, high spend).

    Args:
        features: with recency_days, frequency, monetary.
        bins: the number of equal-count bins, or the quantile cut points in (0, 1), e.g.
            ``[0.5, 0.8]`` for three scores (bottom half, next 30%, top 20%).

    Returns:
        r_score, f_score, m_score (int) and rfm_cell ("r-f-m" digits), on the features' index.
        Ties are broken by rank so every bin is used even with many equal frequencies.

    Raises:
        ValueError: fewer than two bins, cut points outside (0, 1) or not increasing.
    """
    _require(features, ["recency_days", "frequency", "monetary"], "features")
    if isinstance(bins, int | np.integer):
        if bins < 2:
            raise ValueError(f"RFM needs at least 2 bins, got {bins}")
        cuts = np.linspace(0, 1, int(bins) + 1)[1:-1]
    else:
        cuts = np.asarray(list(bins), dtype=float)
        if cuts.size == 0 or np.any((cuts <= 0) | (cuts >= 1)) or np.any(np.diff(cuts) <= 0):
            raise ValueError(
                f"RFM cut points must be increasing and inside (0, 1), got {list(bins)}"
            )

    def score(values: pd.Series, ascending: bool) -> np.ndarray:
        pct = values.rank(method="first", ascending=ascending).to_numpy() / max(len(values), 1)
        return np.searchsorted(cuts, pct, side="left") + 1

    out = pd.DataFrame(
        {
            "r_score": score(features["recency_days"], ascending=False),
            "f_score": score(features["frequency"], ascending=True),
            "m_score": score(features["monetary"], ascending=True),
        },
        index=features.index,
    )
    out["rfm_cell"] = (
        out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    )
    return out


# ----------------------------------------------------------------------------------------------
# K-means
# ----------------------------------------------------------------------------------------------


@dataclass
class SegmentModel:
    """A fitted segmentation that can place new customers: scaler, K-means and names.

    Attributes:
        features: the feature columns the model reads.
        mean, scale: the standardisation of the transformed features.
        kmeans: the fitted ``sklearn.cluster.KMeans`` (None for a single segment).
        names: segment name of each cluster label.
        centres: median feature values per segment name (original units).
        selection: the k-selection table (k, inertia, silhouette, chosen), empty when k was
            fixed.
        seed: the K-means seed.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    kmeans: object | None
    names: dict[int, str]
    centres: pd.DataFrame = field(default_factory=pd.DataFrame)
    selection: pd.DataFrame = field(default_factory=pd.DataFrame)
    seed: int = 0

    @property
    def k(self) -> int:
        return len(self.names)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The scaled design matrix K-means sees."""
        return (design_matrix(features, self.features) - self.mean) / self.scale

    def as_table(self) -> pd.DataFrame:
        """The model as the ``segment_model`` table that 06 and 07 place customers with
        (:func:`channelops.customers.place_in_segments`)."""
        centres = None if self.kmeans is None else self.kmeans.cluster_centers_
        return segment_model_table(self.features, self.mean, self.scale, centres, self.names)

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Segment name of each customer (index kept)."""
        if self.kmeans is None:
            labels = np.zeros(len(features), dtype=int)
        else:
            labels = self.kmeans.predict(self.transform(features))
        names = np.array([self.names[i] for i in range(len(self.names))], dtype=object)
        return pd.Series(names[labels], index=features.index, name="segment")


def k_selection(
    features: pd.DataFrame,
    k_min: int = 2,
    k_max: int = 8,
    seed: int = 0,
    columns: Sequence[str] = CLUSTER_FEATURES,
    sample_size: int = 10_000,
    min_share: float = 0.05,
    min_stability: float = 0.7,
    n_boot: int = 5,
) -> pd.DataFrame:
    """Stability, smallest segment, silhouette and inertia of K-means for each k.

    Stability is the mean adjusted Rand index between the K-means segments of the sample
    and those of a K-means fitted on a bootstrap resample of it (``n_boot`` resamples,
    seeded), both placing every sampled customer. Only a k whose segments are stable
    (stability >= ``min_stability``) and all hold at least ``min_share`` of the customers
    is a candidate (segments an analyst can act on and find again); among the candidates
    the best silhouette decides (among k within 0.01 of it, the smallest). When no k
    qualifies, every k is a candidate. K-means and silhouettes use a seeded sample of ``sample_size``
    customers, so the search costs the same for any number of customers.

    Returns:
        k, inertia (per customer), silhouette, stability (mean ARI, 0..1), min_share (the
        smallest segment's share of customers), elbow (True at the knee of the inertia
        curve), chosen (True for the chosen k). Empty when fewer than three customers.

    Raises:
        ValueError: ``min_share`` outside [0, 1) or ``n_boot`` < 1.
    """
    if not 0 <= min_share < 1 or n_boot < 1:
        raise ValueError(f"min_share must be in [0, 1) and n_boot >= 1, got {min_share}, {n_boot}")
    x, _, _ = _scaled(features, columns)
    rng = np.random.default_rng(seed)
    if len(x) > sample_size:
        x = x[np.sort(rng.choice(len(x), sample_size, replace=False))]
    n_distinct = len(np.unique(x, axis=0))
    k_max = min(k_max, n_distinct - 1, len(x) - 1)
    # the sample's distances are the same for every k: compute them once, not once per k
    # inside silhouette_score
    dist = None
    if k_max >= max(k_min, 2):
        with _one_thread():
            dist = pairwise_distances(x)
    boots = [rng.integers(0, len(x), len(x)) for _ in range(n_boot)]
    ks = list(range(max(k_min, 2), k_max + 1))
    # each k on its own (seeded K-means, the shared sample, distances and resamples read
    # only), so two threads take the k in turn; rows come back in the order of k
    with _one_thread(), ThreadPoolExecutor(max_workers=2) as workers:
        rows = list(workers.map(lambda k: _k_row(x, dist, boots, k, seed), ks))
    table = pd.DataFrame(rows, columns=["k", "inertia", "silhouette", "stability", "min_share"])
    if table.empty:
        return table.assign(elbow=pd.Series(dtype=bool), chosen=pd.Series(dtype=bool))
    table["elbow"] = False
    table.loc[_knee(table["k"].to_numpy(float), table["inertia"].to_numpy(float)), "elbow"] = True
    useful = (table["stability"] >= min_stability) & (table["min_share"] >= min_share)
    pool = table[useful] if useful.any() else table
    best = pool["silhouette"].max()
    chosen = pool.loc[pool["silhouette"] >= best - 0.01, "k"].min()
    table["chosen"] = table["k"] == chosen
    return table


def _k_row(
    x: np.ndarray, dist: np.ndarray | None, boots: list[np.ndarray], k: int, seed: int
) -> tuple[int, float, float, float, float]:
    """k, inertia per customer, silhouette, stability and smallest share of K-means with k
    segments on the sample ``x`` (``dist``: its distances), in one OpenMP thread."""
    with threadpool_limits(limits=1, user_api="openmp"):  # this thread's own setting
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
        sil = (
            silhouette_score(dist, km.labels_, metric="precomputed")
            if len(np.unique(km.labels_)) > 1
            else np.nan
        )
        aris = [
            adjusted_rand_score(
                km.labels_,
                KMeans(n_clusters=k, n_init=2, random_state=seed + 1 + b).fit(x[idx]).predict(x),
            )
            for b, idx in enumerate(boots)
        ]
    share = np.bincount(km.labels_, minlength=k).min() / len(x)
    return k, km.inertia_ / len(x), sil, float(np.mean(aris)), share


def _one_thread() -> threadpool_limits:
    """K-means in one BLAS/OpenMP thread: on a shared, loaded machine the threaded version
    is many times slower (benchmarks/results/segmentation.md has the figures)."""
    return threadpool_limits(limits=1)


def _knee(k: np.ndarray, y: np.ndarray) -> int:
    """Row of the point furthest below the chord from the first to the last point."""
    if len(k) < 3:
        return 0
    kn = (k - k[0]) / (k[-1] - k[0])
    yn = (y - y[-1]) / (y[0] - y[-1]) if y[0] != y[-1] else np.zeros_like(y)
    return int(np.argmax((1 - kn) - yn))


def _scaled(
    features: pd.DataFrame, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = design_matrix(features, columns)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    return (x - mean) / scale, mean, scale


def fit_segments(
    features: pd.DataFrame,
    k: int = 0,
    seed: int = 0,
    columns: Sequence[str] = CLUSTER_FEATURES,
    k_range: tuple[int, int] = (2, 8),
    n_init: int = 10,
    min_share: float = 0.05,
    min_stability: float = 0.7,
) -> SegmentModel:
    """K-means segments on the scaled features, named from their profiles.

    Args:
        features: from :func:`customer_features`.
        k: number of segments; 0 chooses it over ``k_range`` by bootstrap stability and
            the smallest segment's share (see :func:`k_selection`).
        seed: K-means seed; the same seed and data give the same segments and names.
        columns: the features to cluster on.
        k_range: smallest and largest k tried when ``k`` is 0.
        n_init: K-means restarts.
        min_share, min_stability: what a chosen k must meet (see :func:`k_selection`).

    Returns:
        The fitted :class:`SegmentModel`. One customer, or customers that are all alike,
        form a single segment.

    Raises:
        ValueError: no customers, a negative k, a missing column, or a fixed k larger than
            the number of customers.
    """
    n = len(features)
    if n == 0:
        raise ValueError("no customers to segment")
    if k < 0:
        raise ValueError(f"k must be 0 (choose) or a positive number of segments, got {k}")
    if k > n:
        raise ValueError(
            f"cannot form {k} segments from {n} customer(s); lower n_segments "
            "or set it to 0 to choose k from the data"
        )
    x, mean, scale = _scaled(features, columns)
    selection = pd.DataFrame()
    if k == 0:
        selection = k_selection(
            features,
            k_range[0],
            k_range[1],
            seed,
            columns,
            min_share=min_share,
            min_stability=min_stability,
        )
        k = int(selection.loc[selection["chosen"], "k"].iloc[0]) if len(selection) else 1
    k = min(k, len(np.unique(x, axis=0)))
    if k <= 1:
        km, labels = None, np.zeros(n, dtype=int)
    else:
        with _one_thread():
            km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
        labels = km.labels_
    centres = features[list(columns)].groupby(labels).median()
    names = name_segments(centres, features[list(columns)].median())
    model = SegmentModel(
        tuple(columns),
        mean,
        scale,
        km,
        names,
        centres.rename(index=names).rename_axis("segment"),
        selection,
        seed,
    )
    return model


def name_segments(centres: pd.DataFrame, overall: pd.Series | None = None) -> dict[int, str]:
    """Readable names from segment centres (original units), never from cluster numbers.

    Archetypes are assigned one at a time, each to the best remaining segment that clearly
    qualifies against the customer-level medians ``overall``: ``new`` (shortest tenure,
    under half the median), ``dormant`` (longest recency, above the median), and
    ``loyal_high_value`` (most orders and revenue, above the median); ``bargain_hunter``
    (highest discount share, or lowest order value without one); the rest are ``regular``.
    Repeated names get ``_2``, ``_3`` in order of falling monetary value, so the names do
    not depend on how K-means numbered the clusters.

    Args:
        centres: one row per cluster label with recency_days, frequency, monetary,
            tenure_days and optionally aov and discount_share.
        overall: customer-level medians of the same columns (default: centre medians).

    Returns:
        label -> name.
    """
    _require(centres, ["recency_days", "frequency", "monetary", "tenure_days"], "centres")
    ref = centres.median() if overall is None else overall
    left = list(centres.index)
    names: dict[int, str] = {}
    if len(left) == 1:
        return {int(left[0]): "all_customers"}

    def take(name: str, key: pd.Series, ascending: bool, ok: pd.Series) -> None:
        # ties go to the higher-value segment, so the result does not depend on label order
        frame = pd.DataFrame({"key": key, "value": centres["monetary"]})
        ranked = frame.sort_values(["key", "value"], ascending=[ascending, False]).index
        cand = [i for i in ranked if i in left and bool(ok[i])]
        if cand:
            names[int(cand[0])] = name
            left.remove(cand[0])

    c = centres
    take("new", c["tenure_days"], True, c["tenure_days"] < 0.5 * ref["tenure_days"])
    take("dormant", c["recency_days"], False, c["recency_days"] > ref["recency_days"])
    take(
        "loyal_high_value",
        c["frequency"].rank() + c["monetary"].rank(),
        False,
        (c["frequency"] >= ref["frequency"]) & (c["monetary"] > ref["monetary"]),
    )
    if "discount_share" in c and c["discount_share"].max() > 0:
        take(
            "bargain_hunter",
            c["discount_share"],
            False,
            c["discount_share"] > ref["discount_share"],
        )
    elif "aov" in c:
        take("bargain_hunter", c["aov"], True, c["aov"] < ref["aov"])
    for i in left:
        names[int(i)] = "regular"
    seen: dict[str, int] = {}
    for i in c["monetary"].sort_values(ascending=False, kind="stable").index:
        base = names[int(i)]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[int(i)] = f"{base}_{seen[base]}"
    return dict(sorted(names.items()))


# ----------------------------------------------------------------------------------------------
# profiles and migration
# ----------------------------------------------------------------------------------------------


def segment_profiles(
    features: pd.DataFrame,
    segments: pd.Series,
    rfm: pd.DataFrame | None = None,
    people: pd.DataFrame | None = None,
    as_of_year: int | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """Size, revenue share, means and top categories and channels per segment.

    Args:
        features: from :func:`customer_features` (``cat_`` and ``channel_`` columns give the
            top categories and channels).
        segments: segment name per customer, on the same index.
        rfm: optional :func:`rfm_scores`; adds mean r/f/m scores.
        people: optional per-customer birth_year and city_tier (same index); adds the
            age-band and city-tier shares in the layout of
            ``channelops.audience.segment_band_shares``.
        as_of_year: year for ages (needed with ``people``).
        top: how many categories and channels to list.

    Returns:
        One row per segment, by falling revenue: segment, customers, customer_share,
        revenue, revenue_share, recency_days, frequency, monetary, aov, tenure_days,
        discount_share, (r_score, f_score, m_score), top_categories, top_channels, (age and
        tier shares).
    """
    _require(features, ["recency_days", "frequency", "monetary", "aov", "tenure_days"], "features")
    seg = segments.reindex(features.index).rename("segment")
    if seg.isna().any():
        raise ValueError(f"{int(seg.isna().sum())} customers have features but no segment")
    df = features.join(seg)
    if rfm is not None:
        df = df.join(rfm[["r_score", "f_score", "m_score"]])
    cols = ["recency_days", "frequency", "monetary", "aov", "tenure_days"]
    cols += [c for c in ("discount_share", "r_score", "f_score", "m_score") if c in df]
    g = df.groupby("segment", sort=True)
    prof = g[cols].mean()
    prof.insert(0, "customers", g.size())
    prof.insert(1, "revenue", g["monetary"].sum())
    prof.insert(1, "customer_share", prof["customers"] / prof["customers"].sum())
    total = prof["revenue"].sum()
    prof.insert(3, "revenue_share", prof["revenue"] / total if total != 0 else 0.0)
    for prefix, out in (("cat_", "top_categories"), ("channel_", "top_channels")):
        mix_cols = [c for c in df.columns if c.startswith(prefix)]
        if mix_cols:
            weight = df[mix_cols].multiply(df["monetary"].clip(lower=0), axis=0)
            mix = weight.groupby(df["segment"]).sum()
            prof[out] = [
                ", ".join(
                    c[len(prefix) :]
                    for c in row.sort_values(ascending=False, kind="stable").index[:top]
                    if row[c] > 0
                )
                for _, row in mix.iterrows()
            ]
    if people is not None:
        if as_of_year is None:
            raise ValueError("as_of_year is needed to turn birth_year into age bands")
        bands = (
            segment_band_shares(people.join(seg, how="inner").reset_index(drop=True), as_of_year)
            .set_index("segment")
            .drop(columns="n_customers")
        )
        prof = prof.join(bands)
    return prof.sort_values("revenue", ascending=False, kind="stable").reset_index()


def segment_migration(before: pd.Series, after: pd.Series, absent: str = "(none)") -> pd.DataFrame:
    """Customers moving from each segment in one period to each segment in the next.

    Args:
        before, after: segment per customer in the earlier and the later period.
        absent: label for customers present in only one period (not yet acquired, or gone).

    Returns:
        A count table: rows the earlier segment, columns the later one, with a ``total``
        row and column.
    """
    both = pd.concat([before.rename("before"), after.rename("after")], axis=1)
    both = both.astype(object).fillna(absent)
    table = pd.crosstab(both["before"], both["after"], margins=True, margins_name="total")
    table.index.name, table.columns.name = "from", "to"
    return table


# ----------------------------------------------------------------------------------------------
# customer lifetime value
# ----------------------------------------------------------------------------------------------


@dataclass
class CLVResult:
    """BG/NBD + Gamma-Gamma fit and the per-customer values.

    Attributes:
        clv: per customer (index customer_id): frequency, recency, T, monetary_value,
            prob_alive, expected_purchases, expected_spend, clv.
        params: model, param, value, time_unit (with log_likelihood and n_customers rows).
        bgnbd, gamma_gamma: the fitted models.
        holdout: expected vs actual holdout purchases per frequency bucket, or None when
            the calibration period is the whole history.
        next_period: with ``next_period_weeks``, the gradient-boosted forecast of the next
            weeks (:func:`~channelops.stages.segmentation.forward_next_period`), else None.
    """

    clv: pd.DataFrame
    params: pd.DataFrame
    bgnbd: clvm.BGNBDModel
    gamma_gamma: clvm.GammaGammaModel | None
    holdout: pd.DataFrame | None
    next_period: pd.DataFrame | None = None


def customer_lifetime_values(
    orders: pd.DataFrame,
    observation_end: pd.Timestamp | str,
    calibration_end: pd.Timestamp | str | None = None,
    time_unit: str = "W",
    horizon: float = 52,
    annual_discount_rate: float = 0.10,
    next_period_weeks: float | None = None,
    seed: int = 0,
) -> CLVResult:
    """Fit BG/NBD and Gamma-Gamma on a calibration period and value every customer.

    The models are fitted on purchases up to ``calibration_end`` (the whole history when
    None or not before ``observation_end``); the holdout check compares their forecast
    with the purchases after it; the CLV of every customer is then computed from the full
    history up to ``observation_end`` with the calibrated parameters.

    With ``next_period_weeks``, the gradient-boosted forecast of the next weeks from all the
    data (:func:`~channelops.stages.segmentation.forward_next_period`) is made in the same
    call: the independent pieces (the summaries, each model's fit, the regressors' training
    set, fits and forecasts) run as tasks of two workers (:mod:`.workers`), each computing
    what it computes alone.

    Args:
        orders: from :func:`customer_orders`.
        observation_end: last day of data (inclusive).
        calibration_end: last day of the calibration period, or None.
        time_unit: "D", "W", "M" or "Y" for the models and the horizon.
        horizon: CLV horizon in ``time_unit`` periods.
        annual_discount_rate: yearly discount rate, converted to the time unit.
        next_period_weeks: the gradient-boosted forecast's window (weeks), or None for none.
        seed: the gradient-boosted regressors' seed.

    Returns:
        :class:`CLVResult`. When fewer than two repeat buyers have positive spend, the
        expected spend is each customer's own mean order value and no Gamma-Gamma row is
        written.
    """
    obs_end = pd.Timestamp(observation_end).normalize()
    cal_end = None if calibration_end in (None, "") else pd.Timestamp(calibration_end).normalize()
    if cal_end is not None and cal_end >= obs_end:
        cal_end = None
    args = dict(observation_end=obs_end, time_unit=time_unit)
    columns = (orders, "customer_id", "order_ts", "revenue")
    with two_workers() as pool:
        prepared = None
        if next_period_weeks is not None:
            prepared = pool.submit(nxt.prepare_fit, orders, obs_end, next_period_weeks)
        full_task = pool.submit(clvm.rfm_summary, *columns, **args)
        cal_task = (
            full_task
            if cal_end is None
            else pool.submit(clvm.rfm_summary, *columns, calibration_end=cal_end, **args)
        )
        cal = cal_task.result()
        if cal.empty:
            raise ValueError(f"no customers bought on or before calibration_end {cal_end.date()}")
        fitted = pool.submit(
            clvm.fit_bgnbd, cal["frequency"], cal["recency"], cal["T"], time_unit=time_unit
        )
        spend_model = pool.submit(_gamma_gamma, cal)
        valued = pool.submit(
            _values,
            orders,
            full_task.result(),
            fitted,
            spend_model,
            time_unit,
            horizon,
            annual_discount_rate,
        )
        next_period = (
            None if prepared is None else nxt.submit_fit_and_forecast(pool, prepared, seed)
        )
        bgnbd, gg, out = fitted.result(), spend_model.result(), valued.result()
        params = pd.concat(
            [bgnbd.to_frame()] + ([gg.to_frame()] if gg is not None else []), ignore_index=True
        )
        holdout = None if cal_end is None else clvm.calibration_holdout_table(bgnbd, cal)
        forward = None if next_period is None else forward_columns(next_period()[1])
        return CLVResult(out, params, bgnbd, gg, holdout, forward)


def _gamma_gamma(cal: pd.DataFrame) -> clvm.GammaGammaModel | None:
    """Gamma-Gamma fitted on the calibration summary; None when it cannot be fitted or its
    mean spend is infinite (q <= 1)."""
    try:
        gg = clvm.fit_gamma_gamma(cal["frequency"], cal["monetary_value"], nonpositive="drop")
    except ValueError:
        return None
    return gg if gg.q > 1 else None


def _values(
    orders: pd.DataFrame,
    full: pd.DataFrame,
    fitted: Future[clvm.BGNBDModel],
    spend_model: Future[clvm.GammaGammaModel | None],
    time_unit: str,
    horizon: float,
    annual_discount_rate: float,
) -> pd.DataFrame:
    """The per-customer table of :class:`CLVResult` from the fitted models."""
    bgnbd, gg = fitted.result(), spend_model.result()
    per_year = 365.25 / clvm.TIME_UNIT_DAYS[time_unit]
    rate = (1 + annual_discount_rate) ** (1 / per_year) - 1
    x, rec, big_t = full["frequency"], full["recency"], full["T"]
    if gg is not None:
        spend = gg.conditional_expected_average_value(x, full["monetary_value"])
        value = clvm.customer_lifetime_value(
            bgnbd, gg, full, horizon=horizon, discount_rate_per_period=rate
        )
    else:
        aov = orders.groupby("customer_id")["revenue"].mean().reindex(full.index).clip(lower=0)
        spend = aov
        unit = clvm.customer_lifetime_value(
            bgnbd,
            _UNIT_SPEND,
            full.assign(monetary_value=1.0),
            horizon=horizon,
            discount_rate_per_period=rate,
        )
        value = unit * aov
    out = full[["frequency", "recency", "T", "monetary_value"]].copy()
    out["prob_alive"] = bgnbd.prob_alive(x, rec, big_t)
    out["expected_purchases"] = bgnbd.expected_purchases(horizon, x, rec, big_t)
    out["expected_spend"] = spend
    out["clv"] = value
    out.index.name = "customer_id"
    return out


#: A spend model whose expected spend is exactly 1 per purchase (p large, q - 1 = p * gamma).
_UNIT_SPEND = clvm.GammaGammaModel(
    p=1e12, q=1e12 + 1.0, gamma=1.0, log_likelihood=0.0, n_customers=0
)


def prob_alive_grid(
    bgnbd: clvm.BGNBDModel, T: float, max_frequency: int = 20, n_recency: int = 20
) -> pd.DataFrame:
    """P(alive) of a customer first seen ``T`` periods ago, by recency and frequency.

    Returns:
        Rows: recency (time units, from 0 to T), columns: repeat purchases 0..max_frequency.
    """
    rec = np.linspace(0, T, n_recency + 1)
    freq = np.arange(max_frequency + 1)
    x, tx = np.meshgrid(freq, rec)
    tx = np.where(x == 0, 0.0, tx)
    p = bgnbd.prob_alive(x.ravel(), tx.ravel(), np.full(x.size, float(T))).reshape(x.shape)
    return pd.DataFrame(
        p,
        index=pd.Index(np.round(rec, 1), name="recency"),
        columns=pd.Index(freq, name="frequency"),
    )


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; has {list(frame.columns)}")
