"""07's faster routes for large data give what the plain pandas routes give: the purchases
read from the Parquet file with Arrow, the basket numbers from one sort, and the per-customer
metrics matched on integer codes instead of merged string columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from channelops.stages import recommendation as rec
from channelops.stages.recommendation.data import _basket_events, in_sorted

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _order_lines() -> pd.DataFrame:
    """03's order lines with every kind of line 07 leaves out, and missing values."""
    rows = [
        # customer, order, sku, day, quantity, status, net revenue, guest, merchandise, demand
        ("c1", "o1", "A", 0, 2, "paid", 20.0, False, True, 2),
        ("c1", "o1", "POST", 0, 1, "paid", 5.0, False, False, 0),  # postage of a customer
        (None, "o2", "A", 1, 3, "paid", 30.0, True, True, 3),  # guest checkout
        (None, "o2", "FEE", 1, 1, "paid", 2.5, True, False, 0),  # the guest's fee
        ("c3", "o6", "B", 1, 1, "paid", 7.0, True, True, 1),  # flagged guest with an id
        ("c2", "o3", "B", 2, 1, "delivered", 10.0, False, True, 1),
        ("c2", "o4", "B", 3, -1, "returned", -10.0, False, True, 0),  # reversal
        ("c2", "o5", "A", 4, 4, "cancelled", 0.0, False, True, 0),
        ("c2", "o7", None, 5, 1, "paid", 3.0, False, True, 1),  # no SKU
        ("c4", "o8", "C", 6, np.nan, "paid", 3.0, False, True, 1),  # no quantity
        ("c4", "o9", "C", 7, 2, "paid", 6.0, False, None, 2),  # merchandise unknown: kept
        ("c1", "o10", "B", 8, 1, "paid", 4.0, None, True, 1),  # guest flag unknown: kept
    ]
    cols = ["customer_id", "order_id", "sku", "day", "quantity", "status", "net_revenue_base",
            "is_guest", "is_merchandise", "demand_units"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    df["order_ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    for c in ("is_guest", "is_merchandise"):
        df[c] = df[c].astype("boolean")
    channel = ["web"] * 4 + ["app"] * 5 + ["web"] * 3
    return df.assign(channel_id=channel, revenue_base=df["net_revenue_base"])


def test_read_purchases_equals_the_pandas_route(tmp_path):
    lines = _order_lines()
    path = tmp_path / "order_lines.parquet"
    lines.to_parquet(path, index=False)
    frame = pd.read_parquet(path).astype(
        {c: "string[pyarrow]" for c in ("customer_id", "order_id", "sku", "status", "channel_id")}
    )
    acc, purchases, codes = rec.read_purchases(path)
    assert acc.to_dict() == rec.purchase_accounting(frame).to_dict()
    # by hand: c1's A and B, c2's B, c4's C with a quantity; guests o2 and c3's o6
    assert (acc["purchase_lines"], acc["customers"], acc["guest_orders"]) == (4, 3, 2)
    assert acc["guest_revenue"] == pytest.approx(39.5)
    pd.testing.assert_frame_equal(purchases, rec.purchase_lines(frame))
    products = pd.DataFrame({"sku": ["A", "B", "C", "POST", "FEE"], "category": list("xxyzz")})
    assert set(codes["sku"]) == {"POST", "FEE"}
    pd.testing.assert_frame_equal(rec.catalogue(products, codes), rec.catalogue(products, frame))
    # read a few lines at a time: the same
    acc5, purchases5, codes5 = rec.read_purchases(path, batch_rows=5)
    assert acc5.to_dict() == acc.to_dict()
    pd.testing.assert_frame_equal(purchases5, purchases)
    pd.testing.assert_frame_equal(codes5, codes)


def test_read_purchases_without_demand_units_uses_status_and_quantity(tmp_path):
    lines = _order_lines().drop(columns=["demand_units", "is_guest", "is_merchandise"])
    path = tmp_path / "order_lines.parquet"
    lines.to_parquet(path, index=False)
    strings = ("customer_id", "order_id", "sku", "status", "channel_id")
    frame = pd.read_parquet(path).astype({c: "string[pyarrow]" for c in strings})
    acc, purchases, codes = rec.read_purchases(path)
    assert acc.to_dict() == rec.purchase_accounting(frame).to_dict()
    pd.testing.assert_frame_equal(purchases, rec.purchase_lines(frame))
    assert codes.empty


def test_read_purchases_bad_input(tmp_path):
    path = tmp_path / "order_lines.parquet"
    _order_lines().drop(columns="order_ts").to_parquet(path, index=False)
    with pytest.raises(
        ValueError, match=r"order_lines .*order_lines\.parquet.* missing .*order_ts"
    ):
        rec.read_purchases(path)
    guests = _order_lines().assign(is_guest=True)
    guests.to_parquet(path, index=False)
    with pytest.raises(ValueError, match="holds no purchase"):
        rec.read_purchases(path)
    acc, empty, _ = rec.read_purchases(path, allow_empty=True)
    assert empty.empty and acc["guest_lines"] == len(guests)


def test_basket_events_equal_a_dense_rank_and_first_of_each_event():
    rng = np.random.default_rng(5)
    n = 400
    rows = rng.integers(0, 30, n)
    cols = rng.integers(0, 12, n)
    ts = T0 + pd.to_timedelta(rng.integers(0, 20, n), unit="D")  # many shared instants
    age = rng.random(n) * 50
    got = _basket_events(rows, cols, pd.Series(ts), age)
    ref = pd.DataFrame({"row": rows, "col": cols, "ts": ts, "age_days": age})
    ref["basket"] = ref.groupby("row")["ts"].rank(method="dense", ascending=False).astype(int) - 1
    ref = ref.drop_duplicates(["row", "col", "basket"]).drop(columns="ts").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got, ref.astype({"row": np.int64, "col": np.int64, "basket": np.int64})
    )


def _merged_metrics(recs: pd.DataFrame, test: pd.DataFrame, k: int) -> pd.DataFrame:
    """Reference: the metrics from merged string columns."""
    truth = test[["customer_id", "sku"]].drop_duplicates()
    relevant = truth.groupby("customer_id").size()
    top = recs[recs["rank"] <= k]
    hit = top.merge(truth, on=["customer_id", "sku"])
    gain = (1.0 / np.log2(hit["rank"] + 1.0)).groupby(hit["customer_id"]).sum()
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    out = pd.DataFrame(index=relevant.index)
    hits = hit.groupby("customer_id").size().reindex(out.index, fill_value=0)
    out["recall_at_k"] = hits / relevant
    out["ndcg_at_k"] = gain.reindex(out.index, fill_value=0.0) / ideal[np.minimum(relevant, k) - 1]
    return out


def test_coded_metrics_equal_merged_strings_with_repeat_and_explore_apart():
    rng = np.random.default_rng(11)
    ids = [f"u{i}" for i in range(40)]
    skus = [f"s{j}" for j in range(25)]
    recs = pd.DataFrame(
        [(u, r + 1, s) for u in ids[5:] for r, s in enumerate(rng.choice(skus, 8, replace=False))],
        columns=["customer_id", "rank", "sku"],
    )
    test = pd.DataFrame({"customer_id": rng.choice(ids, 150), "sku": rng.choice(skus, 150)})
    seen = pd.DataFrame({"customer_id": rng.choice(ids, 200), "sku": rng.choice(skus, 200)})
    per = rec.customer_metrics(recs, test, 6, seen=seen)
    assert list(per.index) == sorted(test["customer_id"].unique())
    ref = _merged_metrics(recs, test, 6)
    np.testing.assert_allclose(per["ndcg_at_k"], ref["ndcg_at_k"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(per["recall_at_k"], ref["recall_at_k"], rtol=0, atol=1e-15)
    pairs = seen.drop_duplicates().assign(old=True)
    marked = test.merge(pairs, how="left", on=["customer_id", "sku"])
    for part, mask in (("repeat", marked["old"].notna()), ("explore", marked["old"].isna())):
        sub = _merged_metrics(recs, marked[mask], 6).reindex(per.index)
        np.testing.assert_allclose(per[f"ndcg_{part}"], sub["ndcg_at_k"], rtol=0, atol=1e-15)
    listed = recs[recs["rank"] <= 6].merge(pairs, how="left", on=["customer_id", "sku"])
    new = listed["old"].isna().groupby(listed["customer_id"]).mean().reindex(per.index)
    np.testing.assert_allclose(per["new_share"], new, rtol=0, atol=1e-15)
    assert per.loc[per.index.isin(ids[:5]), "new_share"].isna().all()  # no list


def _shop(n_customers: int = 50) -> pd.DataFrame:
    """Purchases of 10 SKUs on two channels; customers lean to the low or high SKUs."""
    rng = np.random.default_rng(4)
    rows = []
    for u in range(n_customers):
        lean = 0 if u % 2 else 5
        for _ in range(rng.integers(1, 6)):
            sku = f"s{lean + int(rng.integers(5))}"
            rows.append((f"c{u:02d}", sku, int(rng.integers(60)), ("web", "shop")[u % 2]))
    df = pd.DataFrame(rows, columns=["customer_id", "sku", "day", "channel_id"])
    df["order_ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    return rec.purchase_lines(df.assign(quantity=1.0, revenue_base=10.0))


def test_recommend_feeds_the_assortment_shares_so_customers_are_scored_once():
    lines = _shop()
    segments = pd.Series({f"c{u:02d}": f"g{u % 3}" for u in range(50)})
    profiles = pd.DataFrame({"segment": ["g0"], "customers": [1]})  # no bands: actives only
    channels = pd.DataFrame({"channel_id": ["web", "shop"]})
    model = rec.make_model("item_item").fit(rec.build_interactions(lines), segments)
    want = rec.channel_affinities(model, lines, channels, profiles, segments)[0]
    calls = []
    score = model.score
    model.score = lambda rows: calls.append(len(rows)) or score(rows)
    ids = model.data.customers
    sums = rec.share_sums(model, lines, channels, profiles, segments)
    recs = rec.recommend(model, ids, k=3, on_scores=sums, batch_size=20_000)
    assert calls == [len(ids)] and len(recs) == 3 * len(ids)
    got = rec.channel_affinities(model, lines, channels, profiles, segments, sums=sums)[0]
    assert calls == [len(ids)]  # no second pass
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # other batches than the affinities' own: the sums are not used, the answer is the same
    sums = rec.share_sums(model, lines, channels, profiles, segments)
    rec.recommend(model, ids, k=3, on_scores=sums, batch_size=7)
    got = rec.channel_affinities(model, lines, channels, profiles, segments, sums=sums)[0]
    assert sums.totals(sums.rows) is None and calls[-1] == len(ids)  # scored again
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # models that aggregate without dense scores, or share lists, need no sums
    assert rec.share_sums(rec.make_model("popularity").fit(model.data), lines, channels,
                          profiles, segments) is None  # fmt: skip


def test_in_sorted_equals_isin():
    rng = np.random.default_rng(3)
    haystack = np.unique(rng.integers(0, 500, 120))
    values = rng.integers(-5, 510, 2000)
    assert (in_sorted(values, haystack) == np.isin(values, haystack)).all()
    assert not in_sorted(values, haystack[:0]).any()
    assert in_sorted(values[:0], haystack).shape == (0,)


def test_sample_customers_keeps_every_line_of_the_seeded_ids():
    rng = np.random.default_rng(4)
    ids = np.array([f"c{i:03d}" for i in rng.integers(0, 60, 700)], dtype=object)
    lines = pd.DataFrame({"customer_id": ids, "sku": "A", "n": np.arange(len(ids))})
    got, total = rec.sample_customers(lines, 25, seed=9)
    distinct = pd.unique(lines["customer_id"])
    chosen = np.random.default_rng(9).choice(np.sort(distinct), size=25, replace=False)
    want = lines[lines["customer_id"].isin(chosen)].reset_index(drop=True)  # the plain route
    pd.testing.assert_frame_equal(got, want)
    assert total == len(distinct) and got["customer_id"].nunique() == 25
    same, n = rec.sample_customers(lines, 100, seed=9)
    assert same is lines and n == len(distinct)


def test_tifu_dense_pool_product_equals_the_sparse_product():
    lines = _shop()
    data = rec.build_interactions(lines)
    model = rec.make_model("tifu_knn", tifu_options={"neighbours": 3, "neighbour_pool": 8})
    model = model.fit(data)
    rows = np.arange(data.shape[0])
    sparse = (model.unit[rows] @ model.pool_unit_t).toarray()
    dense = np.asarray(model.unit[rows] @ model.pool_unit_t.toarray())
    assert sparse.tobytes() == dense.tobytes()  # the same float32 sums, bit for bit
    # the scores, against the same search written with the sparse product
    n, k = len(model.pool), 3
    where = np.full(data.shape[0], -1)
    where[model.pool] = np.arange(n)
    sim = sparse.copy()
    mine = where[rows] >= 0
    sim[np.nonzero(mine)[0], where[rows][mine]] = -np.inf
    near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    pick = sp.csr_matrix(
        (np.full(near.size, 1.0 / k, np.float32), (np.repeat(rows, k), near.ravel())),
        shape=(len(rows), n),
    )
    want = (
        model.alpha * model.vectors[rows].toarray()
        + (1.0 - model.alpha) * (pick @ model.pool_vectors).toarray()
        + model.fill
    )
    assert model.score(rows).tobytes() == want.astype(np.float32).tobytes()


def test_channel_weights_leave_out_customers_the_model_does_not_know():
    from channelops.stages.recommendation.assortment import _channel_weights

    lines = _shop()
    data = rec.build_interactions(lines[lines["customer_id"] != "c01"])
    weights, channels = _channel_weights(data, lines, 30.0)
    known = lines[lines["customer_id"].isin(data.customers)]
    age = (data.as_of - known["order_ts"]).dt.total_seconds().clip(lower=0) / 86400.0
    w = known["quantity"].to_numpy() * np.power(0.5, age.to_numpy() / 30.0)
    codes, names = pd.factorize(known["channel_id"], sort=True)
    want = sp.csr_matrix((w, (codes, data.rows(known["customer_id"]))), shape=weights.shape)
    want.sum_duplicates()
    assert list(channels) == list(names)
    assert (weights != want).nnz == 0
    assert weights[:, data.rows(["c03"])[0]].nnz > 0


def test_one_sort_of_the_events_serves_the_propensity_and_the_repeat_pairs():
    from channelops.stages.recommendation.explore import (
        _pair_order,
        _repeat_pairs,
        explore_propensity,
    )

    data = rec.build_interactions(_shop())
    events = data.events
    order = _pair_order(events)
    n_rows, n_cols = data.shape[0], data.shape[1] + 3  # a wider key orders the same way
    want = _repeat_pairs(events, n_rows, n_cols)
    got = _repeat_pairs(events, n_rows, n_cols, order=order)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(want, got, strict=True))
    plain = explore_propensity(events, n_rows)
    assert plain.tobytes() == explore_propensity(events, n_rows, order=order).tobytes()
    model = rec.make_model("next_basket", explore_options={"window_weeks": 3}).fit(data)
    assert model.state.pair_order is None  # used by the repeat pairs, then dropped
