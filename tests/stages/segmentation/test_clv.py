"""Tests for channelops.stages.segmentation.clv: tiny hand-made frames, bad input, and known answers.

Known answers: the CDNOW sample of Fader, Hardie & Lee (2005) (tests/data/cdnow_README.md):
BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (weeks) and Gamma-Gamma
p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers; the paper's worked example
E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226; and Monte-Carlo simulation of the BG/NBD process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from scipy.special import hyp2f1

from _builders import TEST_DATA
from channelops.stages.segmentation import clv

DATA = TEST_DATA / "cdnow_sample_transactions.csv"
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
REL_TOL = 0.005  # the issue asks for the published figures within 0.5%


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    transactions = pd.read_csv(DATA)
    return clv.rfm_summary(
        transactions,
        "customer_id",
        "date",
        "amount",
        observation_end="1998-06-30",
        time_unit="W",
        calibration_end="1997-09-30",
    )


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow_summary: pd.DataFrame) -> clv.BGNBDModel:
    s = cdnow_summary
    return clv.fit_bgnbd(s["frequency"], s["recency"], s["T"], time_unit="W")


@pytest.fixture(scope="module")
def cdnow_gg(cdnow_summary: pd.DataFrame) -> clv.GammaGammaModel:
    return clv.fit_gamma_gamma(cdnow_summary["frequency"], cdnow_summary["monetary_value"])


@pytest.fixture()
def tiny_transactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": ["A", "A", "A", "A", "A", "B", "C"],
            "ts": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:30",
                    "2024-01-08 00:00",
                    "2024-01-22 00:00",
                    "2024-01-29 00:00",
                    "2024-01-15 00:00",
                    "2024-01-25 00:00",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 30.0, 40.0, 7.0, 9.0],
        }
    )


# ----------------------------------------------------------------------------------------------
# rfm_summary
# ----------------------------------------------------------------------------------------------


def test_rfm_summary_hand_computed(tiny_transactions: pd.DataFrame) -> None:
    s = clv.rfm_summary(
        tiny_transactions,
        "customer",
        "ts",
        "amount",
        observation_end="2024-02-05",
        calibration_end="2024-01-22",
    )
    # C's first purchase is after the calibration end: not a calibration customer.
    assert list(s.index) == ["A", "B"]
    assert s.index.name == "customer"
    # A: days 01-01 (two lines merged), 01-08, 01-22 -> 2 repeats; holdout 01-29.
    assert s.loc["A", "frequency"] == 2
    assert s.loc["A", "recency"] == pytest.approx(3.0)
    assert s.loc["A", "T"] == pytest.approx(3.0)
    assert s.loc["A", "monetary_value"] == pytest.approx(25.0)  # mean of 20 and 30
    assert s.loc["A", "frequency_holdout"] == 1
    assert s.loc["A", "monetary_value_holdout"] == pytest.approx(40.0)
    # B: one purchase only.
    assert s.loc["B", ["frequency", "recency", "monetary_value"]].tolist() == [0, 0.0, 0.0]
    assert s.loc["B", "T"] == pytest.approx(1.0)
    assert s.loc["B", "frequency_holdout"] == 0
    assert s["duration_holdout"].tolist() == pytest.approx([2.0, 2.0])
    assert s["frequency"].dtype == np.int64
    assert s.attrs["time_unit"] == "W"


def test_rfm_summary_without_calibration_in_days(tiny_transactions: pd.DataFrame) -> None:
    s = clv.rfm_summary(
        tiny_transactions, "customer", "ts", "amount", observation_end="2024-02-05", time_unit="D"
    )
    assert list(s.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert s.loc["A", "frequency"] == 3
    assert s.loc["A", "recency"] == pytest.approx(28.0)
    assert s.loc["A", "T"] == pytest.approx(35.0)
    assert s.loc["A", "monetary_value"] == pytest.approx(30.0)
    assert s.loc["C", "T"] == pytest.approx(11.0)


def test_rfm_summary_ignores_transactions_after_observation_end(
    tiny_transactions: pd.DataFrame,
) -> None:
    s = clv.rfm_summary(tiny_transactions, "customer", "ts", "amount", observation_end="2024-01-20")
    assert list(s.index) == ["A", "B"]
    assert s.loc["A", "frequency"] == 1


def test_rfm_summary_all_purchases_on_one_day() -> None:
    tx = pd.DataFrame({"c": [1, 1, 2], "d": ["2024-03-01"] * 3, "v": [1.0, 2.0, 3.0]})
    s = clv.rfm_summary(tx, "c", "d", "v", observation_end="2024-03-15")
    assert s["frequency"].tolist() == [0, 0]
    assert s["recency"].tolist() == [0.0, 0.0]
    assert s["T"].tolist() == pytest.approx([2.0, 2.0])


def test_rfm_summary_empty_input_gives_empty_summary() -> None:
    tx = pd.DataFrame(
        {
            "c": pd.Series([], dtype=int),
            "d": pd.Series([], dtype="datetime64[ns]"),
            "v": pd.Series([], dtype=float),
        }
    )
    s = clv.rfm_summary(
        tx, "c", "d", "v", observation_end="2024-03-15", calibration_end="2024-03-01"
    )
    assert s.empty
    assert list(s.columns) == [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]


def test_rfm_summary_rejects_bad_input(tiny_transactions: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="missing column"):
        clv.rfm_summary(tiny_transactions, "customer", "ts", "revenue", "2024-02-05")
    with pytest.raises(ValueError, match="time_unit"):
        clv.rfm_summary(
            tiny_transactions, "customer", "ts", "amount", "2024-02-05", time_unit="fortnight"
        )
    with pytest.raises(ValueError, match="after observation_end"):
        clv.rfm_summary(
            tiny_transactions,
            "customer",
            "ts",
            "amount",
            "2024-02-05",
            calibration_end="2024-03-01",
        )
    bad = tiny_transactions.assign(amount=[1.0, np.nan, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="no value"):
        clv.rfm_summary(bad, "customer", "ts", "amount", "2024-02-05")


def test_rfm_summary_matches_cdnow_published_summary(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946  # repeat buyers in the Gamma-Gamma paper
    # Customer 1 (Hardie's spreadsheet): x = 2, t_x = 30.43, T = 38.86, zbar = 22.35.
    assert s.loc[1, "frequency"] == 2
    assert s.loc[1, "recency"] == pytest.approx(30.43, abs=0.005)
    assert s.loc[1, "T"] == pytest.approx(38.86, abs=0.005)
    assert s.loc[1, "monetary_value"] == pytest.approx((29.73 + 14.96) / 2)  # 22.35 rounded
    assert s["duration_holdout"].iloc[0] == pytest.approx(39.0)


# ----------------------------------------------------------------------------------------------
# BG/NBD
# ----------------------------------------------------------------------------------------------


def test_bgnbd_reproduces_published_cdnow_fit(cdnow_bgnbd: clv.BGNBDModel) -> None:
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(cdnow_bgnbd, name) == pytest.approx(published, rel=REL_TOL), name
    assert cdnow_bgnbd.log_likelihood == pytest.approx(PUBLISHED_LL, rel=REL_TOL)
    assert cdnow_bgnbd.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)
    assert cdnow_bgnbd.n_customers == 2357
    assert cdnow_bgnbd.converged


def test_bgnbd_conditional_expectation_matches_paper_example() -> None:
    # Fader, Hardie & Lee (2005), section 5: a customer with x=2, t_x=30.43, T=38.86 is
    # expected to make 1.226 purchases in the next 39 weeks (published parameters).
    model = clv.BGNBDModel(**PUBLISHED_BGNBD, log_likelihood=PUBLISHED_LL, n_customers=2357)
    assert model.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


def test_bgnbd_expectation_equals_direct_hypergeometric_form(
    cdnow_bgnbd: clv.BGNBDModel,
) -> None:
    # The library evaluates eq. (10) through Euler's transformation; compare with the
    # paper's form term by term on a grid of histories.
    m = cdnow_bgnbd
    x = np.array([0, 1, 2, 5, 10, 3])
    tx = np.array([0, 5.0, 30.43, 20.0, 35.0, 1.0])
    big_t = np.array([38.86, 38.0, 38.86, 38.0, 36.0, 39.0])
    t = 39.0
    c = m.a + m.b + x - 1
    head = (
        c
        / (m.a - 1)
        * (
            1
            - ((m.alpha + big_t) / (m.alpha + big_t + t)) ** (m.r + x)
            * hyp2f1(m.r + x, m.b + x, c, t / (m.alpha + big_t + t))
        )
    )
    odds = np.where(
        x > 0,
        m.a / (m.b + np.maximum(x - 1, 0)) * ((m.alpha + big_t) / (m.alpha + tx)) ** (m.r + x),
        0.0,
    )
    direct = head / (1 + odds)
    np.testing.assert_allclose(m.expected_purchases(t, x, tx, big_t), direct, rtol=1e-9)
    np.testing.assert_allclose(m.prob_alive(x, tx, big_t), 1 / (1 + odds), rtol=1e-12)


def _simulate_prior(model: clv.BGNBDModel, n: int, seed: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, seed)))
    lam = rng.gamma(model.r, 1.0 / model.alpha, size=n)
    p = rng.beta(model.a, model.b, size=n)
    return lam, p


def test_bgnbd_unconditional_expectation_matches_simulation(
    cdnow_bgnbd: clv.BGNBDModel,
) -> None:
    # Simulate the BG/NBD story: purchases are Poisson(lambda t), and the customer drops out
    # after each purchase with probability p, so X(t) = min(N(t), J) with J ~ Geometric(p).
    lam, p = _simulate_prior(cdnow_bgnbd, 1_000_000, "bgnbd-unconditional")
    rng = np.random.default_rng(sum(map(ord, "bgnbd-paths")))
    for t in (13.0, 39.0, 78.0):
        x_t = np.minimum(rng.poisson(lam * t), rng.geometric(p))
        mc, se = x_t.mean(), x_t.std() / np.sqrt(x_t.size)
        assert cdnow_bgnbd.expected_purchases_new(t) == pytest.approx(mc, abs=4 * se), t


@pytest.mark.parametrize(
    ("x", "tx", "big_t"), [(0, 0.0, 38.86), (1, 2.0, 38.0), (2, 30.43, 38.86), (4, 12.0, 30.0)]
)
def test_bgnbd_conditional_quantities_match_importance_sampling(
    cdnow_bgnbd: clv.BGNBDModel, x: int, tx: float, big_t: float
) -> None:
    # Posterior expectations by importance sampling from the fitted prior, using the
    # individual-level likelihood and E[X(t) | lambda, p, alive] = (1 - exp(-lambda p t)) / p.
    m = cdnow_bgnbd
    lam, p = _simulate_prior(m, 2_000_000, f"posterior-{x}")
    alive = (1 - p) ** x * lam**x * np.exp(-lam * big_t)
    dropped = (p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * tx)) if x > 0 else 0.0
    weight = alive + dropped
    t = 39.0
    prob_alive_mc = alive.sum() / weight.sum()
    expected_mc = (alive * (1 - np.exp(-lam * p * t)) / p).sum() / weight.sum()
    assert m.prob_alive(x, tx, big_t) == pytest.approx(prob_alive_mc, rel=0.02)
    assert m.expected_purchases(t, x, tx, big_t) == pytest.approx(expected_mc, rel=0.03)


def test_bgnbd_shapes_and_series_alignment(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary.head(5)
    alive = cdnow_bgnbd.prob_alive(s["frequency"], s["recency"], s["T"])
    assert isinstance(alive, pd.Series)
    assert alive.index.equals(s.index)
    one_time = s["frequency"] == 0
    assert (alive[one_time] == 1.0).all()  # no repeat purchase: cannot have dropped out
    grid = cdnow_bgnbd.expected_purchases(
        np.array([[0.0], [10.0], [20.0]]), s["frequency"], s["recency"], s["T"]
    )
    assert grid.shape == (3, 5)
    np.testing.assert_allclose(grid[0], 0.0, atol=1e-12)
    assert np.all(np.diff(grid, axis=0) > 0)
    assert isinstance(cdnow_bgnbd.expected_purchases_new(39.0), float)


def test_bgnbd_analytic_gradient_matches_finite_differences(
    cdnow_summary: pd.DataFrame,
) -> None:
    s = cdnow_summary
    objective = clv._bgnbd_objective(*(s[c].to_numpy(float) for c in ("frequency", "recency", "T")))
    theta = np.log([0.3, 4.0, 0.8, 2.4])
    grad_norm = np.linalg.norm(objective(theta)[1])
    error = check_grad(lambda th: objective(th)[0], lambda th: objective(th)[1], theta)
    assert error < 1e-5 * grad_norm


def test_bgnbd_to_frame(cdnow_bgnbd: clv.BGNBDModel) -> None:
    frame = cdnow_bgnbd.to_frame()
    assert list(frame.columns) == ["model", "param", "value", "time_unit"]
    assert frame["param"].tolist() == ["r", "alpha", "a", "b", "log_likelihood", "n_customers"]
    assert (frame["time_unit"] == "W").all()
    assert frame.set_index("param").loc["n_customers", "value"] == 2357


def test_bgnbd_penalizer_shrinks_parameters(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: clv.BGNBDModel
) -> None:
    s = cdnow_summary
    shrunk = clv.fit_bgnbd(s["frequency"], s["recency"], s["T"], penalizer=0.01)
    assert shrunk.alpha < cdnow_bgnbd.alpha
    assert shrunk.log_likelihood < cdnow_bgnbd.log_likelihood


def test_bgnbd_small_data_gives_finite_parameters() -> None:
    single = clv.fit_bgnbd([3], [20.0], [30.0])
    assert single.n_customers == 1
    assert all(np.isfinite([single.r, single.alpha, single.a, single.b]))
    assert np.isfinite(single.log_likelihood)
    assert 0.0 <= single.prob_alive(3, 20.0, 30.0) <= 1.0
    # one-time buyers among repeat buyers are fine
    model = clv.fit_bgnbd([0, 0, 1, 2], [0.0, 0.0, 3.0, 5.0], [10.0, 8.0, 9.0, 10.0])
    assert np.isfinite(model.expected_purchases(5.0, 0, 0.0, 10.0))


def test_bgnbd_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one customer"):
        clv.fit_bgnbd([], [], [])
    with pytest.raises(ValueError, match="repeat purchase"):
        clv.fit_bgnbd([0, 0], [0.0, 0.0], [5.0, 3.0])  # everyone bought on a single day
    with pytest.raises(ValueError, match="exceed T"):
        clv.fit_bgnbd([1, 2], [6.0, 1.0], [5.0, 3.0])
    with pytest.raises(ValueError, match="whole number"):
        clv.fit_bgnbd([1.5, 2], [1.0, 1.0], [5.0, 3.0])
    with pytest.raises(ValueError, match="recency must be 0"):
        clv.fit_bgnbd([0, 2], [1.0, 1.0], [5.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        clv.fit_bgnbd([1, 2], [np.nan, 1.0], [5.0, 3.0])
    with pytest.raises(ValueError, match="time_unit"):
        clv.fit_bgnbd([1, 2], [1.0, 1.0], [5.0, 3.0], time_unit="H")


# ----------------------------------------------------------------------------------------------
# Gamma-Gamma
# ----------------------------------------------------------------------------------------------


def test_gamma_gamma_reproduces_published_cdnow_fit(cdnow_gg: clv.GammaGammaModel) -> None:
    # The published figures use, per repeat buyer, the mean value of the calibration-period
    # REPEAT purchases (first purchase excluded, same-day lines merged) -- what rfm_summary
    # gives as monetary_value. Averaging all calibration purchases instead gives p = 14.3.
    for name, published in PUBLISHED_GG.items():
        assert getattr(cdnow_gg, name) == pytest.approx(published, rel=REL_TOL), name
    assert cdnow_gg.n_customers == 946
    assert cdnow_gg.n_excluded == 0
    assert cdnow_gg.converged


def test_gamma_gamma_conditional_value(cdnow_gg: clv.GammaGammaModel) -> None:
    g = cdnow_gg
    values = g.conditional_expected_average_value(
        pd.Series([0, 1, 50]), pd.Series([0.0, 100.0, 100.0])
    )
    assert values[0] == pytest.approx(g.mean_value)  # no repeats: population mean
    # more repeat purchases -> closer to the customer's own mean
    assert g.mean_value < values[1] < values[2] < 100.0
    expected = g.p * (g.gamma + 100.0) / (g.p + g.q - 1)
    assert values[1] == pytest.approx(expected)


def test_gamma_gamma_analytic_gradient_matches_finite_differences(
    cdnow_summary: pd.DataFrame,
) -> None:
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    objective = clv._gamma_gamma_objective(
        repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    )
    theta = np.log([5.0, 3.0, 12.0])
    grad_norm = np.linalg.norm(objective(theta)[1])
    error = check_grad(lambda th: objective(th)[0], lambda th: objective(th)[1], theta)
    assert error < 1e-5 * grad_norm


def test_gamma_gamma_nonpositive_spend() -> None:
    freq = [0, 2, 3, 1, 4, 2]
    money = [0.0, 10.0, -5.0, 0.0, 12.0, 8.0]  # two repeat buyers with non-positive spend
    with pytest.raises(ValueError, match="2 of 5 repeat buyers have a non-positive"):
        clv.fit_gamma_gamma(freq, money)
    model = clv.fit_gamma_gamma(freq, money, nonpositive="drop")
    assert model.n_excluded == 2
    assert model.n_customers == 3
    assert model.to_frame().set_index("param").loc["n_excluded", "value"] == 2


def test_gamma_gamma_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least two repeat buyers"):
        clv.fit_gamma_gamma([0, 0, 3], [0.0, 0.0, 10.0])  # one repeat buyer
    with pytest.raises(ValueError, match="at least two repeat buyers"):
        clv.fit_gamma_gamma([], [])
    with pytest.raises(ValueError, match="differ in length"):
        clv.fit_gamma_gamma([1, 2], [1.0])
    with pytest.raises(ValueError, match="nonpositive"):
        clv.fit_gamma_gamma([1, 2], [1.0, 2.0], nonpositive="ignore")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# CLV and the calibration/holdout check
# ----------------------------------------------------------------------------------------------


def test_clv_undiscounted_single_step_is_purchases_times_spend(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_gg: clv.GammaGammaModel, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary.head(20)
    value = clv.customer_lifetime_value(
        cdnow_bgnbd, cdnow_gg, s, horizon=52, discount_rate_per_period=0.0, step=52
    )
    purchases = cdnow_bgnbd.expected_purchases(52, s["frequency"], s["recency"], s["T"])
    spend = cdnow_gg.conditional_expected_average_value(s["frequency"], s["monetary_value"])
    pd.testing.assert_series_equal(value, (purchases * spend).rename("clv"))
    # with no discount the step size does not matter
    weekly = clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s, horizon=52, step=1)
    np.testing.assert_allclose(weekly, value, rtol=1e-10)


def test_clv_discounting_and_time_units(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_gg: clv.GammaGammaModel, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary.head(20)
    plain = clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s, horizon=12, time_unit="M")
    discounted = clv.customer_lifetime_value(
        cdnow_bgnbd, cdnow_gg, s, horizon=12, discount_rate_per_period=0.01, time_unit="M"
    )
    assert (discounted < plain).all() and (discounted > plain / 1.01**12).all()
    yearly = clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s, horizon=1, time_unit="Y")
    np.testing.assert_allclose(plain, yearly, rtol=1e-10)  # 12 months == 1 year
    purchases = cdnow_bgnbd.expected_purchases(365.25 / 7, s["frequency"], s["recency"], s["T"])
    spend = cdnow_gg.conditional_expected_average_value(s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(yearly, purchases * spend, rtol=1e-10)
    assert (clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s, horizon=0) == 0).all()


def test_clv_rejects_bad_input(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_gg: clv.GammaGammaModel, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary.head(5)
    with pytest.raises(ValueError, match="whole number of steps"):
        clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s, horizon=10, step=3)
    with pytest.raises(ValueError, match="missing column"):
        clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, s.drop(columns="T"), horizon=10)
    days = s.copy()
    days.attrs["time_unit"] = "D"
    with pytest.raises(ValueError, match="time unit"):
        clv.customer_lifetime_value(cdnow_bgnbd, cdnow_gg, days, horizon=10)


def test_calibration_holdout_table_on_cdnow(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_summary: pd.DataFrame
) -> None:
    table = clv.calibration_holdout_table(cdnow_bgnbd, cdnow_summary, max_frequency=7)
    assert table.index.tolist() == list(range(8))
    assert table["label"].iloc[-1] == "7+"
    assert table["n_customers"].sum() == 2357
    assert table.loc[0, "n_customers"] == 2357 - 946
    # Sanity, not a published figure: the fitted model expects 1,653 holdout repeat purchases
    # against 1,882 observed (12% short), so ask for the total within 15% ...
    actual_total = cdnow_summary["frequency_holdout"].sum()
    expected_total = (table["expected"] * table["n_customers"]).sum()
    assert actual_total == 1882
    assert expected_total == pytest.approx(actual_total, rel=0.15)
    # ... and, under the model, the conditional expectations summed over customers equal the
    # unconditional increase E[X(T + 39)] - E[X(T)] summed over the same customers.
    big_t = cdnow_summary["T"].to_numpy()
    increase = (
        cdnow_bgnbd.expected_purchases_new(big_t + 39.0) - cdnow_bgnbd.expected_purchases_new(big_t)
    ).sum()
    assert expected_total == pytest.approx(increase, rel=0.02)
    assert table["expected"].is_monotonic_increasing


def test_calibration_holdout_table_needs_holdout_columns(
    cdnow_bgnbd: clv.BGNBDModel, cdnow_summary: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="frequency_holdout"):
        clv.calibration_holdout_table(cdnow_bgnbd, cdnow_summary.drop(columns="frequency_holdout"))


def test_bgnbd_fit_is_invariant_to_the_time_unit(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: clv.BGNBDModel
) -> None:
    # Measuring time in days instead of weeks rescales alpha by 7, leaves r, a, b alone and
    # shifts the log-likelihood by -sum(x) ln 7 (the density of purchase times changes).
    s = cdnow_summary
    days = clv.fit_bgnbd(s["frequency"], s["recency"] * 7, s["T"] * 7, time_unit="D")
    assert days.alpha == pytest.approx(7 * cdnow_bgnbd.alpha, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(cdnow_bgnbd, name), rel=1e-4)
    shift = -s["frequency"].sum() * np.log(7)
    assert days.log_likelihood == pytest.approx(cdnow_bgnbd.log_likelihood + shift, abs=1e-3)


def test_bgnbd_alive_expectation_by_quadrature_equals_closed_form(
    cdnow_bgnbd: clv.BGNBDModel,
) -> None:
    # The quadrature fallback integrates the same model (Gamma rate, Beta dropout given the
    # history) numerically; on the CDNOW fit it must agree with eq. (10)'s bracket.
    m = cdnow_bgnbd
    x = np.array([0.0, 1, 2, 5, 10, 3])
    big_t = np.array([38.86, 38.0, 38.86, 38.0, 36.0, 39.0])
    t = np.full(6, 39.0)
    c = m.a + m.b + x - 1
    z = t / (m.alpha + big_t + t)
    bracket = c / (m.a - 1) * (1 - (1 - z) ** (m.r + x) * hyp2f1(m.r + x, m.b + x, c, z))
    quad = clv._alive_purchases_by_quadrature(m, x, big_t, t)
    np.testing.assert_allclose(quad, bracket, rtol=1e-7)


def test_bgnbd_predictions_finite_when_nobody_drops_out() -> None:
    # Every customer buys once a week up to the end of the data: no one drops out, the fit
    # runs to a -> 0 with huge r and alpha, where the hypergeometric closed form gives NaN.
    # The known answer: about 10 purchases in the next 10 weeks, and P(alive) near 1.
    rng = np.random.default_rng(20261206)
    big_t = rng.uniform(20, 52, 300)
    x = np.floor(big_t)
    tx = big_t - rng.uniform(0, 0.9, 300)
    model = clv.fit_bgnbd(x, tx, big_t)
    expected = model.expected_purchases(10.0, x, tx, big_t)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(expected, 10.0, rtol=0.05)
    assert np.all(model.prob_alive(x, tx, big_t) > 0.95)
    # and over a grid of horizons (the shape the CLV sum uses)
    grid = model.expected_purchases(np.array([[1.0], [5.0], [10.0]]), x, tx, big_t)
    np.testing.assert_allclose(grid.mean(axis=1), [1.0, 5.0, 10.0], rtol=0.05)


def test_bgnbd_predictions_finite_when_everyone_drops_out_alike() -> None:
    # a and b both huge: every customer drops out after a purchase with the same
    # probability p0 (the case of a 330,000-customer fit). With p fixed, the expectation
    # for an active customer is (1 - (1 + p0 t / (alpha + T))^-(r + x)) / p0 by hand.
    p0, scale = 0.0367, 2.0e6
    model = clv.BGNBDModel(
        r=2.2, alpha=33.0, a=p0 * scale, b=(1 - p0) * scale, log_likelihood=0.0, n_customers=1
    )
    x = np.array([0.0, 1, 4, 12, 39])
    tx = np.array([0.0, 5, 30, 60, 88])
    big_t = np.array([20.0, 40, 60, 80, 90])
    t = 13.0
    s = t / (model.alpha + big_t)
    by_hand = (1 - (1 + p0 * s) ** -(model.r + x)) / p0
    alive = model.prob_alive(x, tx, big_t)
    expected = model.expected_purchases(t, x, tx, big_t)
    np.testing.assert_allclose(expected, by_hand * alive, rtol=1e-3)
