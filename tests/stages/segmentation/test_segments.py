"""Tests for channelops.stages.segmentation: hand-made frames, edge cases, bad input, and the truth.

Known answer: the K-means segments should recover the simulator's latent segments (adjusted
Rand index >= 0.85 on the tiny multi-category dataset, seed 7). Since simulator 2 they do
not (a strict expected failure with the measured figure; benchmarks/results/segmentation.md
has the demo figures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

from _builders import copy_without, customer_lines
from channelops.customers import place_in_segments
from channelops.ingest.canonical import canonicalise
from channelops.ingest.dataset import load_dataset, read_all_exports
from channelops.stages import segmentation as seg

TS = pd.Timestamp


PRODUCTS = pd.DataFrame({"sku": ["A", "B"], "category": ["tea", "home"]})
LINES = customer_lines(
    [
        ("c1", "o1", "web", "2024-01-06 20:00", "A", 90.0, 10.0, "paid"),  # Saturday evening
        ("c1", "o1", "web", "2024-01-06 20:00", "B", 10.0, 0.0, "paid"),
        ("c1", "o2", "pos", "2024-01-16 10:00", "B", 100.0, 0.0, "delivered"),
        ("c1", "o3", "web", "2024-01-20 10:00", "A", 500.0, 0.0, "cancelled"),  # not a purchase
        ("c2", "o4", "web", "2024-01-31 09:00", "A", 50.0, 0.0, "shipped"),  # one purchase
    ]
)
AS_OF = TS("2024-02-01")


def _features() -> pd.DataFrame:
    return seg.customer_features(seg.customer_orders(LINES), AS_OF, LINES, PRODUCTS)


# ----------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------


def test_activity_heatmap_counts_orders():
    heat = seg.activity_heatmap(seg.customer_orders(LINES))
    assert heat.shape == (7, 24) and heat.to_numpy().sum() == 3
    assert heat.loc["Sat", 20] == 1


# ----------------------------------------------------------------------------------------------
# RFM
# ----------------------------------------------------------------------------------------------


def _rfm_frame(n: int = 10) -> pd.DataFrame:
    i = np.arange(n, dtype=float)
    return pd.DataFrame(
        {"recency_days": i, "frequency": i + 1, "monetary": 10 * (i + 1)},
        index=[f"c{k}" for k in range(n)],
    )


def test_rfm_scores_quantiles_and_custom_cut_points():
    five = seg.rfm_scores(_rfm_frame())
    assert five["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert five["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert five.loc["c9", "rfm_cell"] == "155"
    three = seg.rfm_scores(_rfm_frame(), bins=[0.5, 0.8])
    assert three["m_score"].tolist() == [1] * 5 + [2] * 3 + [3] * 2


def test_rfm_scores_bad_bins():
    with pytest.raises(ValueError, match="at least 2 bins"):
        seg.rfm_scores(_rfm_frame(), bins=1)
    with pytest.raises(ValueError, match="increasing and inside"):
        seg.rfm_scores(_rfm_frame(), bins=[0.8, 0.5])


# ----------------------------------------------------------------------------------------------
# naming and K-means
# ----------------------------------------------------------------------------------------------

CENTRES = pd.DataFrame(
    {
        "recency_days": [15, 550, 20, 22],
        "frequency": [40, 2, 24, 3],
        "monetary": [26800, 560, 4600, 1000],
        "tenure_days": [715, 600, 620, 78],
        "aov": [670, 280, 190, 300],
        "discount_share": [0.01, 0.0, 0.15, 0.02],
    }
)
OVERALL = pd.Series(
    {
        "recency_days": 30,
        "frequency": 10,
        "monetary": 2000,
        "tenure_days": 500,
        "aov": 250,
        "discount_share": 0.02,
    }
)


def test_names_come_from_profiles_not_cluster_numbers():
    names = seg.name_segments(CENTRES, OVERALL)
    assert names == {0: "loyal_high_value", 1: "dormant", 2: "bargain_hunter", 3: "new"}
    shuffled = CENTRES.iloc[[2, 0, 3, 1]].reset_index(drop=True)
    assert sorted(seg.name_segments(shuffled, OVERALL).items()) == [
        (0, "bargain_hunter"),
        (1, "loyal_high_value"),
        (2, "new"),
        (3, "dormant"),
    ]


def test_names_repeat_with_suffix_in_value_order():
    plain = pd.DataFrame(
        {
            "recency_days": [25, 25],
            "frequency": [5, 5],
            "monetary": [1200, 1500],
            "tenure_days": [500, 500],
            "aov": [240, 300],
            "discount_share": [0, 0],
        }
    )
    names = seg.name_segments(pd.concat([CENTRES, plain], ignore_index=True), OVERALL)
    assert names[5] == "regular" and names[4] == "regular_2"  # by falling monetary value
    assert names[0] == "loyal_high_value" and len(set(names.values())) == 6


def _blobs(n_per: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three well separated groups of customers in original units."""
    rng = np.random.default_rng(seed)
    groups = [(10, 30, 20000, 700, 0.01), (400, 2, 500, 600, 0.0), (15, 20, 3000, 600, 0.2)]
    rows, truth = [], []
    for g, (rec, freq, mon, ten, disc) in enumerate(groups):
        jitter = rng.lognormal(0, 0.1, size=(n_per, 4))
        rows.append(
            pd.DataFrame(
                {
                    "recency_days": rec * jitter[:, 0],
                    "frequency": np.round(freq * jitter[:, 1]),
                    "monetary": mon * jitter[:, 2],
                    "tenure_days": ten * jitter[:, 3],
                    "discount_share": disc + rng.uniform(0, 0.01, n_per),
                }
            )
        )
        truth += [g] * n_per
    f = pd.concat(rows, ignore_index=True)
    f["aov"] = f["monetary"] / f["frequency"]
    f.index = [f"c{i:04d}" for i in range(len(f))]
    return f, np.array(truth)


def test_fit_segments_chooses_k_and_is_deterministic():
    f, truth = _blobs()
    a = seg.fit_segments(f, k=0, seed=3, k_range=(2, 6))
    b = seg.fit_segments(f, k=0, seed=3, k_range=(2, 6))
    assert a.k == 3 and a.selection["chosen"].sum() == 1
    assert adjusted_rand_score(truth, a.predict(f)) == 1.0
    pd.testing.assert_series_equal(a.predict(f), b.predict(f))
    assert set(a.names.values()) == {"loyal_high_value", "dormant", "bargain_hunter"}


def test_k_selection_in_two_threads_equals_the_k_one_after_the_other():
    # each k's K-means, silhouette and bootstrap stability computed here one k after the
    # other in this thread, as the search did before it ran the k in two threads
    f, _ = _blobs(40, seed=5)
    table = seg.k_selection(f, 2, 6, seed=3, n_boot=3)
    x, _, _ = seg.segments._scaled(f, seg.CLUSTER_FEATURES)
    rng = np.random.default_rng(3)
    dist = pairwise_distances(x)
    boots = [rng.integers(0, len(x), len(x)) for _ in range(3)]
    rows = []
    with threadpool_limits(limits=1):
        for k in range(2, 7):
            km = KMeans(n_clusters=k, n_init=4, random_state=3).fit(x)
            sil = silhouette_score(dist, km.labels_, metric="precomputed")
            aris = [
                adjusted_rand_score(
                    km.labels_,
                    KMeans(n_clusters=k, n_init=2, random_state=4 + b).fit(x[i]).predict(x),
                )
                for b, i in enumerate(boots)
            ]
            share = np.bincount(km.labels_, minlength=k).min() / len(x)
            rows.append((k, km.inertia_ / len(x), sil, float(np.mean(aris)), share))
    serial = pd.DataFrame(rows, columns=["k", "inertia", "silhouette", "stability", "min_share"])
    pd.testing.assert_frame_equal(table[serial.columns], serial, check_exact=True)
    assert table.loc[table["chosen"], "k"].tolist() == [3]


def test_fit_segments_edge_cases():
    f, _ = _blobs(5)
    with pytest.raises(ValueError, match="cannot form 20 segments from 15 customer"):
        seg.fit_segments(f, k=20)
    with pytest.raises(ValueError, match="k must be 0"):
        seg.fit_segments(f, k=-1)
    with pytest.raises(ValueError, match="no customers"):
        seg.fit_segments(f.iloc[:0])
    with pytest.raises(ValueError, match="missing column"):
        seg.fit_segments(f.drop(columns="aov"))
    one = seg.fit_segments(f.iloc[:1], k=0)
    assert one.k == 1 and one.predict(f).unique().tolist() == ["all_customers"]
    alike = pd.concat([f.iloc[[0]]] * 6)
    alike.index = [f"d{i}" for i in range(6)]
    assert seg.fit_segments(alike, k=3).k == 1  # identical customers: one segment
    assert seg.fit_segments(f.iloc[:2], k=0).k == 1


def test_fit_segments_with_zero_and_negative_monetary():
    f, _ = _blobs(20)
    f.iloc[:3, f.columns.get_loc("monetary")] = [0.0, -50.0, -1e4]  # refunds exceed sales
    f["aov"] = f["monetary"] / f["frequency"]
    model = seg.fit_segments(f, k=3, seed=1)
    assert np.isfinite(model.transform(f)).all()
    assert model.predict(f).notna().all()


def test_segment_model_table_places_customers_as_kmeans_does():
    """06 and 07 place customers from 01's ``segment_model`` table, without stage 01's code:
    the nearest centre in the standardised space, as K-means' own predict."""
    f, _ = _blobs()
    model = seg.fit_segments(f, k=3, seed=0)
    table = model.as_table()
    assert len(table) == 3 * len(model.features)
    placed = place_in_segments(f, table)
    pd.testing.assert_series_equal(placed, model.predict(f))
    with pytest.raises(ValueError, match="segment_model is missing"):
        place_in_segments(f, table.drop(columns="centre"))


def test_segment_model_table_with_one_segment_places_everyone_there():
    f, _ = _blobs(5)
    model = seg.fit_segments(f.iloc[:1], k=1, seed=0)
    placed = place_in_segments(f, model.as_table())
    assert set(placed) == set(model.names.values())


# ----------------------------------------------------------------------------------------------
# profiles and migration
# ----------------------------------------------------------------------------------------------


def test_segment_profiles_by_hand():
    f = _features()
    segments = pd.Series({"c1": "loyal", "c2": "new"})
    people = pd.DataFrame({"birth_year": [1990, 1960], "city_tier": [1, 3]}, index=["c1", "c2"])
    prof = seg.segment_profiles(
        f, segments, rfm=seg.rfm_scores(f, bins=2), people=people, as_of_year=2024
    ).set_index("segment")
    assert list(prof.index) == ["loyal", "new"]  # by falling revenue
    assert prof["revenue_share"].sum() == pytest.approx(1.0)
    assert prof.loc["loyal", "revenue_share"] == pytest.approx(200 / 250)
    assert prof.loc["loyal", "top_categories"] == "home, tea"
    assert prof.loc["new", "top_channels"] == "web"
    assert prof.loc["loyal", "age_25_34"] == 1.0 and prof.loc["new", "tier_3"] == 1.0
    with pytest.raises(ValueError, match="no segment"):
        seg.segment_profiles(f, segments.iloc[:1])


def test_segment_migration_table():
    before = pd.Series({"a": "new", "b": "new", "c": "loyal"})
    after = pd.Series({"a": "loyal", "b": "new", "c": "loyal", "d": "new"})
    table = seg.segment_migration(before, after)
    assert table.loc["new", "loyal"] == 1 and table.loc["loyal", "loyal"] == 1
    assert table.loc["(none)", "new"] == 1  # acquired in the later period
    assert table.loc["total", "total"] == 4


# ----------------------------------------------------------------------------------------------
# CLV
# ----------------------------------------------------------------------------------------------


def _orders(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        k = rng.integers(1, 12)
        days = np.sort(rng.choice(700, size=k, replace=False))
        for j, d in enumerate(days):
            rows.append(
                (
                    f"c{c}",
                    f"o{c}_{j}",
                    "web",
                    TS("2023-01-01") + pd.Timedelta(days=int(d)),
                    float(rng.gamma(4, 50)),
                    0.0,
                )
            )
    return pd.DataFrame(
        rows, columns=["customer_id", "order_id", "channel_id", "order_ts", "revenue", "discount"]
    )


def test_clv_with_and_without_holdout():
    orders = _orders()
    end = orders["order_ts"].max().normalize()
    whole = seg.customer_lifetime_values(orders, end, calibration_end="")
    assert whole.holdout is None and len(whole.clv) == orders["customer_id"].nunique()
    assert (whole.clv["clv"] >= 0).all() and whole.clv["prob_alive"].between(0, 1).all()
    assert set(whole.params["model"]) == {"bgnbd", "gamma_gamma"}
    assert {"log_likelihood", "n_customers"} <= set(whole.params["param"])
    split = seg.customer_lifetime_values(
        orders, end, calibration_end=end - pd.Timedelta(weeks=20), time_unit="D", horizon=365
    )
    assert split.holdout is not None and split.holdout["n_customers"].sum() > 0
    assert (split.params["time_unit"].iloc[0]) == "D"
    grid = seg.prob_alive_grid(split.bgnbd, T=300, max_frequency=5, n_recency=4)
    assert grid.shape == (5, 6) and (grid[0] == 1).all()


def test_clv_when_everything_happens_on_one_day():
    orders = _orders(30)
    orders["order_ts"] = TS("2024-03-01 12:00")
    features = seg.customer_features(orders, TS("2024-03-02"))
    assert (features["tenure_days"] == features["recency_days"]).all()
    assert seg.fit_segments(features, k=0).k == 1 or features["monetary"].nunique() > 1
    with pytest.raises(ValueError, match="bought on a single day only"):
        seg.customer_lifetime_values(orders, TS("2024-06-30"))
    with pytest.raises(ValueError, match="no customers bought"):
        seg.customer_lifetime_values(orders, TS("2024-06-30"), calibration_end="2024-01-01")


def test_clv_spend_falls_back_without_two_repeat_buyers():
    orders = _orders(30)
    orders.loc[orders["customer_id"] != "c0", "order_ts"] = TS("2024-03-01 12:00")
    res = seg.customer_lifetime_values(orders, TS("2024-06-30"))
    assert res.gamma_gamma is None and set(res.params["model"]) == {"bgnbd"}
    assert np.isfinite(res.clv["clv"]).all() and (res.clv["clv"] >= 0).all()


# ----------------------------------------------------------------------------------------------
# the simulator's truth and a dataset without a CRM
# ----------------------------------------------------------------------------------------------


def _pipeline(root):
    ds = load_dataset(root)
    lines, _ = canonicalise(read_all_exports(ds, channels=ds.crm_channel_ids).lines, ds)
    lines, _ = seg.identified_lines(lines)  # guest checkouts are no customer
    orders = seg.customer_orders(lines, money=seg.money_column(lines))
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    return ds, seg.customer_features(orders, as_of, lines, ds.table("products"))


@pytest.mark.xfail(
    strict=True,
    reason="issue 26: on simulator 2 (life events, experience churn, paid acquisition) K-means recovers the true segments with ARI 0.465 on tiny seed 7 (bound 0.85); k = 4 is chosen (stability and segment share), the gap is in the features: simulated loyal customers churn (median recency 280 days), so recency separates them from no one",
)
def test_segments_recover_the_simulated_segments(tiny_dataset):
    _, features = _pipeline(tiny_dataset)
    model = seg.fit_segments(features, k=0, seed=7)
    truth = pd.read_parquet(tiny_dataset / "truth" / "customers.parquet").set_index("customer_id")
    found = model.predict(features)
    assert model.k == 4
    ari = adjusted_rand_score(truth.loc[found.index, "segment"], found)
    assert ari >= 0.85, f"ARI {ari:.3f}"
    # the names agree with the simulator's own segment names for most customers
    assert (truth.loc[found.index, "segment"] == found).mean() >= 0.9


def test_no_crm_file_buyers_are_the_customers(tiny_dataset, tmp_path):
    root = copy_without(tiny_dataset, tmp_path / "no_crm", "customers")
    ds, features = _pipeline(root)
    assert ds.table("customers") is None and ds.crm_channel_ids
    model = seg.fit_segments(features, k=4, seed=7)
    assert model.predict(features).nunique() == 4
