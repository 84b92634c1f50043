"""07's two threads give what one gives: each batch of lists scored in two parts side by side,
the validation and test windows evaluated side by side, each with BLAS at one thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from channelops.stages import recommendation as rec
from channelops.stages.recommendation.models import in_order

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _shop(n_customers: int = 90, seed: int = 8) -> pd.DataFrame:
    """Purchases of 12 SKUs on two channels over 120 days; customers lean to one half."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_customers):
        lean = 0 if u % 2 else 6
        for _ in range(rng.integers(1, 9)):
            sku = f"s{lean + int(rng.integers(6)):02d}"
            rows.append((f"c{u:03d}", sku, int(rng.integers(120)), ("web", "shop")[u % 3 == 0]))
    df = pd.DataFrame(rows, columns=["customer_id", "sku", "day", "channel_id"])
    df["order_ts"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    qty = rng.integers(1, 4, len(df)).astype(float)
    return rec.purchase_lines(df.assign(quantity=qty, revenue_base=10.0 * qty))


def test_in_order_keeps_the_order_and_at_most_the_workers_busy():
    busy, most, lock = [0], [0], threading.Lock()

    def slow(i):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.01 * (i % 3))  # later items may finish first
        with lock:
            busy[0] -= 1
        return i * i

    assert list(in_order(slow, range(12), 2)) == [i * i for i in range(12)]
    assert most[0] == 2
    assert list(in_order(slow, range(5), 1)) == [0, 1, 4, 9, 16]
    with pytest.raises(ZeroDivisionError):  # a worker's error reaches the caller
        list(in_order(lambda i: 1 // (i - 3), range(6), 2))


@pytest.mark.parametrize("exclude_seen", [False, True])
def test_lists_and_shares_scored_in_two_threads_equal_one_thread(exclude_seen):
    lines = _shop()
    segments = pd.Series({f"c{u:03d}": f"g{u % 3}" for u in range(100)})
    profiles = pd.DataFrame({"segment": ["g0"], "customers": [1]})  # no bands: actives only
    channels = pd.DataFrame({"channel_id": ["web", "shop"]})
    model = rec.make_model("next_basket_x2", seed=1, explore_options={"window_weeks": 3})
    model = model.fit(rec.build_interactions(lines), segments)
    model.score_rows = 2  # batches of 7 scored in parts of 4 and 3 (4,096 and the rest on data)
    ids = pd.Index([f"c{u:03d}" for u in range(100)])  # 10 unknown: segment fallback
    got = {}
    for workers in (1, 2):
        batches = []
        sums = rec.share_sums(model, lines, channels, profiles, segments)
        sums.batch_size = 7  # the affinities' batches: the sums are used

        def seen(rows, scores, sums=sums, batches=batches):
            batches.append((rows.copy(), scores.copy()))
            sums(rows, scores)

        recs = rec.recommend(model, ids, k=4, exclude_seen=exclude_seen, segments=segments,
                             batch_size=7, on_scores=seen, workers=workers)  # fmt: skip
        got[workers] = recs, batches, sums.totals(sums.rows)
    (recs1, batches1, sums1), (recs2, batches2, sums2) = got[1], got[2]
    pd.testing.assert_frame_equal(recs2, recs1, check_exact=True)
    assert len(batches1) == len(batches2) == 13  # 90 known customers, 7 a batch, in order
    for (r1, s1), (r2, s2) in zip(batches1, batches2, strict=True):
        assert (r1 == r2).all() and s1.tobytes() == s2.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(sums1, sums2, strict=True))
    if exclude_seen:  # the scores handed on are those before the bought SKUs were dropped
        rows, scores = batches1[0]
        want = np.asarray(model.score(rows))
        assert scores.tobytes() == want.tobytes()
        bought = set(zip(*model.data.matrix.nonzero(), strict=True))
        row_of = dict(zip(model.data.customers, range(len(model.data.customers)), strict=True))
        sku_col = {s: j for j, s in enumerate(model.data.skus)}
        assert not any(
            (row_of[c], sku_col[s]) in bought
            for c, s in zip(recs1["customer_id"], recs1["sku"], strict=True)
            if c in row_of
        )


def test_windows_evaluated_in_two_threads_equal_one_thread():
    lines = _shop(120)
    segments = pd.Series({f"c{u:03d}": f"g{u % 3}" for u in range(120)})
    names = ["als_f4", "next_basket_x2"]  # implicit's threads, BLAS, the fits' caches
    options = dict(
        categories=pd.Series({f"s{i:02d}": "xy"[i // 6] for i in range(12)}),
        iterations=3,
        explore_options={"window_weeks": 3},
    )
    args = dict(k=4, test_weeks=3, validation_weeks=3, progress=False, seed=1,
                segments=segments, model_options=options, explore_tolerance=0.1)  # fmt: skip
    one = rec.offline_evaluation(lines, names, workers=1, **args)
    two = rec.offline_evaluation(lines, names, workers=2, **args)
    pd.testing.assert_frame_equal(two.metrics, one.metrics, check_exact=True)
    assert two.chosen == one.chosen
    assert list(two.test_recs) == names
    for name in names:
        pd.testing.assert_frame_equal(two.test_recs[name], one.test_recs[name], check_exact=True)
