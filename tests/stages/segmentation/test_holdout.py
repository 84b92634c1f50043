"""The holdout check: naive repeat rate, scores, frequency groups, weekly view, findings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from channelops.stages import segmentation as seg
from channelops.stages.segmentation import clv, holdout, workers
from channelops.stages.segmentation import next_period as nxt

MODEL = clv.BGNBDModel(r=0.25, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, n_customers=3)


def _orders() -> pd.DataFrame:
    # A: 01-01, 01-15, 01-29 before the cut-off (01-29), 02-05 and 02-12 after: T = 4 weeks
    # B: 01-22 only before, 02-05 after; C: first seen after the cut-off (not known).
    rows = [
        ("A", "2024-01-01"),
        ("A", "2024-01-15"),
        ("A", "2024-01-29"),
        ("A", "2024-02-05"),
        ("A", "2024-02-12"),
        ("B", "2024-01-22"),
        ("B", "2024-02-05"),
        ("C", "2024-02-06"),
    ]
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_ts": pd.to_datetime([r[1] for r in rows]),
            "revenue": 10.0,
        }
    )


def _summary() -> pd.DataFrame:
    return clv.rfm_summary(
        _orders(),
        "customer_id",
        "order_ts",
        "revenue",
        observation_end="2024-02-12",
        calibration_end="2024-01-29 00:00",
    )


def test_naive_repeat_rate_is_repeat_days_per_week_times_holdout_weeks():
    s = _summary()
    naive = holdout.naive_repeat_forecast(s)
    # A: 2 repeat days in 4 weeks x 2 holdout weeks = 1.0; B: no repeat -> 0
    assert naive.to_dict() == pytest.approx({"A": 1.0, "B": 0.0})
    first_day = s.assign(T=0.0, frequency=0)
    assert holdout.naive_repeat_forecast(first_day).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="non-negative"):
        holdout.naive_repeat_forecast(s.assign(T=-1.0))


def test_holdout_scores_hand_computed_and_baseline_required():
    actual = pd.Series([2, 1], index=["A", "B"])
    forecasts = {
        holdout.NAIVE: pd.Series([1.0, 0.0], index=["A", "B"]),
        "m": pd.Series([2.0, 0.5], index=["A", "B"]),
    }
    t = holdout.holdout_scores(actual, forecasts).set_index("model")
    assert t.loc[holdout.NAIVE, "mae"] == pytest.approx(1.0)
    assert t.loc["m", "mae"] == pytest.approx(0.25)
    assert t.loc["m", "mae_ratio"] == pytest.approx(0.25)
    assert t.loc["m", "total_error"] == pytest.approx(-0.5 / 3)
    with pytest.raises(ValueError, match="baseline"):
        holdout.holdout_scores(actual, {"m": forecasts["m"]})
    with pytest.raises(ValueError, match="no value for 1 of 2"):
        holdout.holdout_scores(actual, {holdout.NAIVE: forecasts[holdout.NAIVE].iloc[:1]})


def test_frequency_group_table_means_per_group():
    s = _summary()
    t = holdout.frequency_group_table(s, {"naive": holdout.naive_repeat_forecast(s)}, 2)
    assert t["label"].tolist() == ["0", "2+"]
    assert t.loc[2, "actual"] == 2.0 and t.loc[0, "actual"] == 1.0
    assert t.loc[2, "naive"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="max_frequency"):
        holdout.frequency_group_table(s, {}, 0)


def test_weekly_repeat_purchases_counts_and_expectations():
    s = _summary()
    w = holdout.weekly_repeat_purchases(_orders(), "2024-01-29", "2024-02-12", MODEL, s)
    # weeks end on 01-01, 01-08, ..., 01-29 (calibration) and 02-05, 02-12 (holdout)
    assert w["week_end"].iloc[-3:].dt.strftime("%m-%d").tolist() == ["01-29", "02-05", "02-12"]
    assert w["period"].tolist().count("holdout") == 2
    assert w["days"].tolist() == [7] * 7
    short = holdout.weekly_repeat_purchases(_orders(), "2024-01-29", "2024-02-07", MODEL, s)
    assert short["days"].iloc[-2:].tolist() == [7, 2]  # the last week ends on 02-07
    # repeat days: A on 01-15 (week to 01-15), 01-29, 02-05, 02-12; B on 02-05; C not known
    assert w["actual"].sum() == 5.0
    assert w.loc[w["period"] == "holdout", "actual"].tolist() == [2.0, 1.0]
    # the naive rate: A 0.5 a week, B 0 -> 0.5 per holdout week
    assert w.loc[w["period"] == "holdout", "naive"].tolist() == pytest.approx([0.5, 0.5])
    # holdout expectations add up to the conditional expectation over two weeks
    total = MODEL.expected_purchases(2.0, s["frequency"], s["recency"], s["T"]).sum()
    assert w.loc[w["period"] == "holdout", "bgnbd"].sum() == pytest.approx(total)
    # calibration: A from 01-01 (4 weeks) and B from 01-22 (1 week), unconditional
    cal = MODEL.expected_purchases_new(4.0) + MODEL.expected_purchases_new(1.0)
    assert w.loc[w["period"] == "calibration", "bgnbd"].sum() == pytest.approx(cal)
    with pytest.raises(ValueError, match="not after"):
        holdout.weekly_repeat_purchases(_orders(), "2024-01-29", "2024-01-29", MODEL, s)


def test_findings_follow_the_numbers():
    def scores(model_mae: float, total_error: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "model": [holdout.NAIVE, "BG/NBD"],
                "mae": [1.0, model_mae],
                "mae_ratio": [1.0, model_mae],
                "total_error": [0.0, total_error],
            }
        )

    better = holdout.holdout_findings(scores(0.8, 0.1))
    assert better[0].startswith("The BG/NBD forecast misses by 0.80") and "20% less" in better[0]
    assert "10% over" in better[-1]
    worse = holdout.holdout_findings(scores(1.2, -0.3))
    assert worse[0].startswith("No model beats the naive repeat rate")
    assert "30% under" in worse[-1]
    assert "matches" in holdout.holdout_findings(scores(0.8, 0.0))[1]


def _weekly_orders(n: int = 120, weeks: int = 40, seed: int = 3) -> pd.DataFrame:
    """Customer i buys every (i % 4 + 1) weeks from week i % 10 on."""
    rows = []
    for i in range(n):
        for w in range(i % 10, weeks, i % 4 + 1):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w, days=i % 5)
            rows.append((f"c{i:03d}", day, 10.0 + i % 7, "web" if i % 3 else "shop"))
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "revenue", "channel_id"])


def test_next_period_model_learns_a_regular_rhythm_and_scores_every_known_customer():
    orders = _weekly_orders()
    cut = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=30)
    model = nxt.fit_next_period(orders, cut, horizon_weeks=8, seed=1, min_customers=20)
    fc = nxt.next_period_forecast(model, orders, cut)
    known = orders.loc[orders["order_ts"] <= cut, "customer_id"].unique()
    assert sorted(fc.index) == sorted(known) and (fc["reason"] == "").all()
    truth = nxt.window_targets(orders, cut, 8, fc.index)["purchase_days"]
    # every customer keeps their rhythm: a model of the past windows gets it nearly right
    assert np.abs(fc["purchase_days"] - truth).mean() < 0.5
    weekly = fc.index[[int(c[1:]) % 4 == 0 for c in fc.index]]
    assert fc.loc[weekly, "purchase_days"].mean() > 6


def test_next_period_fits_side_by_side_equal_the_fits_one_after_the_other(monkeypatch):
    # the two regressors fitted in two threads at once are the ones each fitted alone in
    # one thread: byte-equal predictions (30 boosting rounds, not 200, to stay quick)
    regressor = nxt._regressor
    monkeypatch.setattr(
        nxt, "_regressor", lambda loss, seed: regressor(loss, seed).set_params(max_iter=30)
    )
    orders = _weekly_orders()
    known = nxt._known_purchases(orders, "2024-07-28")
    x = nxt._day_features(known.purchases, "2024-06-02", known.channels)
    y = nxt._window_targets(known.purchases, "2024-06-02", 8, x.index)
    targets = [("absolute_error", y["purchase_days"]), ("poisson", y["spend"])]
    both = nxt._fit_side_by_side(x, targets, 1)
    with threadpool_limits(limits=1):
        alone = [nxt._regressor(loss, 1).fit(x, target) for loss, target in targets]
    for fitted, single in zip(both, alone, strict=True):
        assert fitted.n_iter_ == single.n_iter_ == 30
        assert np.array_equal(fitted.predict(x), single.predict(x))
    assert not np.array_equal(both[0].predict(x), both[1].predict(x))  # each its own target
    # and the two models' forecasts, made side by side, are each model's own predictions
    model = nxt.NextPeriodModel(*both, list(x.columns), known.channels, 8, [], len(x))
    fc = nxt._forecast(model, known, "2024-07-28")
    now = nxt._day_features(known.purchases, "2024-07-28", known.channels)
    assert np.array_equal(fc["purchase_days"], np.clip(alone[0].predict(now), 0, None))
    assert np.array_equal(fc["spend"], np.clip(alone[1].predict(now), 0, None))

    # each fit sees one OpenMP thread in its worker, whatever the caller's setting
    seen = []

    class Probe:
        def fit(self, x, y):
            seen.append(_openmp_effective_n_threads())
            return self

    monkeypatch.setattr(nxt, "_regressor", lambda loss, seed: Probe())
    with threadpool_limits(limits=2, user_api="openmp"):
        nxt._fit_side_by_side(x, targets, 1)
    assert seen == [1, 1]


def test_next_period_without_history_says_why():
    orders = _weekly_orders(weeks=5)
    with pytest.raises(ValueError, match="no training window"):
        nxt.fit_next_period(orders, "2024-02-01", horizon_weeks=13)
    fc = nxt.next_period_forecast(None, orders, "2024-02-01", why_not="history too short")
    assert (fc["reason"] == "history too short").all() and fc["purchase_days"].isna().all()


def test_holdout_check_scores_three_forecasts_and_says_when_it_cannot():
    orders = _weekly_orders()
    end = orders["order_ts"].max().normalize()
    check = seg.holdout_check(orders, end, holdout_weeks=8, seed=2)
    assert check.reason == "" and check.cut_off == end - pd.Timedelta(weeks=8)
    assert check.scores["model"].tolist() == [holdout.NAIVE, "BG/NBD", nxt.NEXT_PERIOD]
    assert check.chosen == check.scores.sort_values("mae")["model"].iloc[0]
    assert len(check.summary) == len(check.next_period)
    spent = nxt.window_targets(orders, check.cut_off, 8, check.summary.index)["spend"].sum()
    assert check.spend_scores["actual_total"].iloc[0] == pytest.approx(spent)
    assert check.spend_scores["model"].tolist() == [
        holdout.NAIVE,
        "BG/NBD x Gamma-Gamma",
        nxt.NEXT_PERIOD,
    ]
    late = seg.holdout_check(orders, end, calibration_end="2030-01-01")
    assert "not inside the data" in late.reason and late.scores is None
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        seg.holdout_check(orders, end, calibration_end="end of May")


def test_forward_next_period_gives_every_customer_a_row_or_a_reason():
    orders = _weekly_orders()
    end = orders["order_ts"].max().normalize()
    fwd = seg.forward_next_period(orders, end, horizon_weeks=8, seed=1)
    assert list(fwd.columns) == ["next_purchase_days", "next_spend", "next_reason"]
    assert len(fwd) == orders["customer_id"].nunique() and (fwd["next_reason"] == "").all()
    assert (fwd["next_spend"] >= 0).all()
    short = seg.forward_next_period(_weekly_orders(weeks=5), pd.Timestamp("2024-02-05"), 13)
    assert short["next_reason"].str.startswith("no training window").all()
    assert short["next_purchase_days"].isna().all()


def test_no_identified_customer_gives_a_reason_not_a_crash():
    empty = _orders().iloc[:0].assign(channel_id=pd.Series(dtype=object))
    for end in (pd.NaT, pd.Timestamp("2024-06-30")):  # an all-guest store has no last day
        check = seg.holdout_check(empty, end)
        assert check.reason == "no identified customer bought: nothing to check"
        assert check.scores is None
    fwd = seg.forward_next_period(empty, pd.Timestamp("2024-06-30"))
    assert fwd.empty and list(fwd.columns) == ["next_purchase_days", "next_spend", "next_reason"]


def test_purchase_day_features_and_targets_by_hand():
    ts = pd.to_datetime
    orders = pd.DataFrame(
        {
            "customer_id": ["c2", "c2", "c2", "a", "c10", None],
            "order_ts": ts(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:00",
                    "2024-01-15 00:00",
                    "2024-01-29 00:00",
                    "2023-12-04 00:00",
                    "2024-01-20 00:00",
                ]
            ),
            "revenue": [10.0, 5.0, 30.0, 20.0, 40.0, 100.0],
            "channel_id": ["own", "own", "tmall", "own", "tmall", "own"],
        }
    )
    f = nxt.purchase_day_features(orders, "2024-01-29")
    assert list(f.index) == ["a", "c10", "c2"]  # sorted ids; the row without a customer is none's
    assert f.index.name == "customer_id"
    # c2: purchase days 01-01 (two orders, 15) and 01-15 (30); 4 weeks known, last 2 weeks ago
    c2 = f.loc["c2"]
    assert (c2["rate"], c2["rate_4w"], c2["rate_8w"], c2["rate_13w"]) == (0.25, 0.25, 0.5, 0.5)
    assert (c2["tenure_weeks"], c2["recency_weeks"]) == (4.0, 2.0)
    assert c2["log_spend_per_day"] == pytest.approx(np.log1p(22.5))
    assert (c2["share_own"], c2["share_tmall"]) == (0.5, 0.5)
    # a: first seen on the day itself; c10: one purchase 8 weeks back, outside the 8-week window
    assert (f.loc["a", "rate"], f.loc["a", "rate_4w"], f.loc["a", "share_own"]) == (0.0, 1.0, 1.0)
    assert (f.loc["c10", "rate_8w"], f.loc["c10", "rate_13w"]) == (0.0, 0.125)
    assert (f["month"] == 1).all()
    y = nxt.window_targets(orders, "2024-01-01", 4, f.index)
    assert y["purchase_days"].tolist() == [1.0, 0.0, 1.0]
    assert y["spend"].tolist() == [20.0, 0.0, 30.0]


def _quick_regressors(monkeypatch):
    """30 boosting rounds, not 200, to keep the two-workers tests quick."""
    regressor = nxt._regressor
    monkeypatch.setattr(
        nxt, "_regressor", lambda loss, seed: regressor(loss, seed).set_params(max_iter=30)
    )


def _assert_same(a, b):
    """Byte-equal frames (values, dtypes, index and columns), series, models or values."""
    if isinstance(a, (pd.DataFrame, pd.Series)):
        assert type(a) is type(b)
        assert a.equals(b) and list(a.index) == list(b.index)
        assert (pd.util.hash_pandas_object(a).to_numpy() == pd.util.hash_pandas_object(b)).all()
    else:
        assert a == b


def test_holdout_check_on_two_workers_equals_one_worker(monkeypatch):
    # the check's pieces (summary, BG/NBD, Gamma-Gamma, weekly view, the regressors' training
    # set, fits and forecasts) as tasks of two workers give what one worker taking them one
    # after the other gives, byte for byte
    _quick_regressors(monkeypatch)
    orders = _weekly_orders()
    end = orders["order_ts"].max().normalize()
    two = seg.holdout_check(orders, end, holdout_weeks=8, seed=2)
    monkeypatch.setattr(workers, "WORKERS", 1)
    one = seg.holdout_check(orders, end, holdout_weeks=8, seed=2)
    assert two.reason == one.reason == "" and two.bgnbd == one.bgnbd and two.chosen == one.chosen
    for name in ("summary", "next_period", "scores", "groups", "weekly", "spend_scores"):
        _assert_same(getattr(two, name), getattr(one, name))
    assert list(two.forecasts) == list(one.forecasts) == [holdout.NAIVE, "BG/NBD", nxt.NEXT_PERIOD]
    for name in two.forecasts:
        _assert_same(two.forecasts[name], one.forecasts[name])
    # and the gradient-boosted forecast is the one the model fitted alone in one thread makes
    with threadpool_limits(limits=1):
        model = nxt.fit_next_period(orders, two.cut_off, horizon_weeks=8, seed=2)
    alone = nxt.next_period_forecast(model, orders, two.cut_off)
    _assert_same(two.next_period, alone)


def test_lifetime_values_with_the_next_period_on_two_workers_equal_one_worker(monkeypatch):
    _quick_regressors(monkeypatch)
    orders = _weekly_orders()
    end = orders["order_ts"].max().normalize()
    two = seg.customer_lifetime_values(orders, end, next_period_weeks=8, seed=1)
    monkeypatch.setattr(workers, "WORKERS", 1)
    one = seg.customer_lifetime_values(orders, end, next_period_weeks=8, seed=1)
    for name in ("clv", "params", "next_period"):
        _assert_same(getattr(two, name), getattr(one, name))
    assert two.bgnbd == one.bgnbd and two.gamma_gamma == one.gamma_gamma
    # the same as the values without the forecast and the forecast on its own
    _assert_same(two.clv, seg.customer_lifetime_values(orders, end).clv)
    _assert_same(two.next_period, seg.forward_next_period(orders, end, horizon_weeks=8, seed=1))
    assert seg.customer_lifetime_values(orders, end).next_period is None


def test_workers_run_tasks_in_order_in_one_openmp_thread(monkeypatch):
    # one worker: the tasks run one after the other in submission order, and a task waiting
    # on an earlier one's future does not deadlock; every task sees one OpenMP thread
    monkeypatch.setattr(workers, "WORKERS", 1)
    ran = []

    def task(name, before=None):
        ran.append((name, _openmp_effective_n_threads(), before.result() if before else None))
        return name

    with threadpool_limits(limits=2, user_api="openmp"), workers.two_workers() as pool:
        first = pool.submit(task, "a")
        second = pool.submit(task, "b", before=first)
        assert second.result() == "b"
    assert ran == [("a", 1, None), ("b", 1, "a")]
