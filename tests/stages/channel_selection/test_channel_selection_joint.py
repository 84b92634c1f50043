"""The joint response model (shared demand, lift-test calibration) on hand-built series
with known curves, and lift_tests.csv checking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import channel_selection as ch
from channelops.stages.channel_selection.joint import (
    fit_joint_response,
    predict_lift_tests,
    read_lift_tests,
)

N = 80
WEEKS = pd.date_range("2023-01-02", periods=N, freq="7D")
# true curves: revenue_max * s / (s + K) at decay 0 (slope 1), K = 10,000 for all
RMAX = {"a": 60_000.0, "b": 50_000.0, "c": 40_000.0}
BASE = {"a": 100_000.0, "b": 120_000.0, "c": 90_000.0}
K = 10_000.0


def _true_inc(cid: str, s: float) -> float:
    return RMAX[cid] * s / (s + K)


def _data(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three channels whose organic revenue shares one weekly demand shock g; channel a's
    spend follows g (budgets planned on the season), b's and c's do not."""
    rng = np.random.default_rng(seed)
    g = rng.normal(0.0, 0.25, N)
    spend = {
        "a": np.clip(10_000 * (1 + 1.6 * g) + rng.normal(0, 1_000, N), 500, None),
        "b": rng.uniform(2_000, 20_000, N),
        "c": rng.uniform(2_000, 20_000, N),
    }
    sp, rv = [], []
    for cid, s in spend.items():
        rev = BASE[cid] * (1 + g) + RMAX[cid] * s / (s + K) + rng.normal(0, 2_000, N)
        sp.append(pd.DataFrame({"week_start": WEEKS, "channel_id": cid, "spend": s}))
        rv.append(pd.DataFrame({"week_start": WEEKS, "channel_id": cid, "revenue": rev}))
    cat = pd.DataFrame({"channel_id": list(RMAX), "commission_rate": 0.0})
    return pd.concat(sp), pd.concat(rv), cat


def _err(curves: pd.DataFrame, cid: str, s: float = 10_000.0) -> float:
    cv = ch.as_curve_map(curves)[cid]
    return float(cv.revenue(s) - cv.revenue(0.0)) / _true_inc(cid, s) - 1


def test_shared_demand_takes_the_season_out_of_the_curve():
    spend, rev, cat = _data()
    kw = dict(n_boot=0, n_starts=1, base_terms="none", seed=1)
    own = fit_joint_response(spend, rev, cat, passes=0, **kw)
    joint = fit_joint_response(spend, rev, cat, passes=2, **kw)
    # per channel, a's curve takes credit for the demand shock its spend follows (true
    # incremental revenue at 10,000/week: 30,000); with the other channels' shock it does not
    assert abs(_err(own, "a")) > 1.0
    assert abs(_err(joint, "a")) < 0.5 * abs(_err(own, "a"))
    assert abs(_err(joint, "c")) < 0.2
    assert joint.set_index("channel_id").loc["a", "shared_demand"] == 1.0
    assert own.set_index("channel_id").loc["a", "shared_demand"] == 0.0


def test_lift_test_pulls_the_curve_to_the_measured_effect():
    # one channel, spend never below 9,000 outside the test and the weekly noise large: the
    # level at zero spend is barely identified; a precise lift test that cut spend to 0 for
    # 4 weeks pins it
    rng = np.random.default_rng(3)
    s = rng.uniform(9_000, 14_000, N)
    first = 40
    planned = s[first : first + 4].copy()
    true_effect = -sum(_true_inc("a", v) for v in planned)  # decay 0: no carry-over
    s[first : first + 4] = 0.0
    rev = 80_000 + RMAX["a"] * s / (s + K) + rng.normal(0, 15_000, N)
    spend = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "spend": s})
    revenue = pd.DataFrame({"week_start": WEEKS, "channel_id": "a", "revenue": rev})
    cat = pd.DataFrame({"channel_id": ["a"], "commission_rate": 0.0})
    lift = pd.DataFrame(
        {
            "channel_id": ["a"],
            "start_date": [WEEKS[first]],
            "end_date": [WEEKS[first + 3] + pd.Timedelta(days=6)],
            "spend_change": [-float(planned.sum())],
            "incremental_revenue": [true_effect],
            "ci_low": [true_effect * 1.02],
            "ci_high": [true_effect * 0.98],
        }
    )
    lift["standard_error"] = (lift["ci_high"] - lift["ci_low"]) / (2 * 1.96)
    kw = dict(n_boot=0, n_starts=1, base_terms="none", seed=0, shared_demand=False)
    plain = fit_joint_response(spend, revenue, cat, None, **kw)
    cal = fit_joint_response(spend, revenue, cat, lift, **kw)
    pred_plain = predict_lift_tests(plain, spend, lift).loc[0]
    pred_cal = predict_lift_tests(cal, spend, lift).loc[0]
    # calibrated: the curve reproduces the precise measurement (se 1% of the effect)
    assert pred_cal["predicted"] == pytest.approx(true_effect, rel=0.03)
    assert pred_cal["within_ci"] and pred_cal["used_in_fit"]
    assert not pred_plain["used_in_fit"]
    assert abs(pred_plain["predicted"] / true_effect - 1) > 0.05
    assert cal.set_index("channel_id").loc["a", "n_lift_tests"] == 1.0


def test_draws_cover_and_table_has_the_fit_columns():
    spend, rev, cat = _data(seed=4)
    out = fit_joint_response(
        spend, rev, cat, n_boot=10, n_starts=1, passes=1, base_terms="none", seed=2
    )
    assert list(out.columns[: len(ch.RESPONSE_CURVE_COLUMNS)]) == list(ch.RESPONSE_CURVE_COLUMNS)
    assert (out["n_draws"] == 10).all()
    cv = ch.as_curve_map(out)["b"]
    assert cv.draws.shape == (10, 5)
    band = cv.predict([10_000.0])
    assert band["revenue_lo"].iloc[0] <= band["revenue"].iloc[0] <= band["revenue_hi"].iloc[0]


def _write(tmp_path, text: str) -> str:
    p = tmp_path / "lift_tests.csv"
    p.write_text(text)
    return str(p)


HEAD = "channel_id,start_date,end_date,spend_change,incremental_revenue,ci_low,ci_high\n"


def test_read_lift_tests_reads_and_derives_the_standard_error(tmp_path):
    p = _write(tmp_path, HEAD + "jd,2024-01-01,2024-01-28,1000,3920,0,7840\n")
    out = read_lift_tests(p, ["jd"])
    assert out.loc[0, "standard_error"] == pytest.approx(7840 / 3.919928)
    assert out.loc[0, "start_date"] == pd.Timestamp("2024-01-01")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("jd,2024-01-01,2024-01-28,abc,1,0,2\n", r"line 2, column spend_change: expected a number"),
        ("jd,2024-01-01,28/01/2024,1,1,0,2\n", r"line 2, column end_date: expected a date"),
        ("jd,2024-02-01,2024-01-28,1,1,0,2\n", r"line 2, column end_date: before start_date"),
        ("xx,2024-01-01,2024-01-28,1,1,0,2\n", r"line 2, column channel_id: not a channel"),
        ("jd,2024-01-01,2024-01-28,1,1,3,2\n", r"line 2, column ci_low: above ci_high"),
    ],
)
def test_read_lift_tests_bad_rows_name_file_line_and_column(tmp_path, body, match):
    p = _write(tmp_path, HEAD + body)
    with pytest.raises(ValueError, match=match) as err:
        read_lift_tests(p, ["jd"])
    assert "lift_tests.csv" in str(err.value)


def test_read_lift_tests_missing_column(tmp_path):
    p = _write(tmp_path, "channel_id,start_date\njd,2024-01-01\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['end_date'"):
        read_lift_tests(p)


def test_fit_channel_curves_rejects_an_unknown_model_and_reads_no_lift_file(tmp_path):
    spend, rev, cat = _data()
    with pytest.raises(
        ValueError,
        match=r"response_model must be one of \['per_channel', 'joint', 'joint_averaged'\]",
    ):
        ch.fit_channel_curves("bayes", spend, rev, cat)
    assert ch.dataset_lift_tests(tmp_path, ["a"]) is None
    (tmp_path / "lift_tests.csv").write_text(HEAD + "a,2023-03-06,2023-03-19,-100,-300,-500,-100\n")
    assert len(ch.dataset_lift_tests(tmp_path, ["a"])) == 1
