"""Customer lifetime value: RFM summaries, BG/NBD purchases, Gamma-Gamma spend, discounted CLV.

The models are those of Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
alternative to the Pareto/NBD model" (BG/NBD) and "RFM and CLV: using iso-value curves for
customer base analysis" (Gamma-Gamma), fitted here by our own maximum likelihood (scipy L-BFGS-B
on log-parameters with analytic gradients). The `lifetimes` package is deliberately not used.

Time is measured in whole days and expressed in ``time_unit`` periods: "D" (day), "W" (7 days),
"M" (365.25/12 days) or "Y" (365.25 days). Money is in the unit of the transaction values.

Typical use::

    summary = rfm_summary(orders, "customer_id", "date", "amount",
                          observation_end="1998-06-30", calibration_end="1997-09-30")
    bgnbd = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    gg = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    clv = customer_lifetime_value(bgnbd, gg, summary, horizon=52, discount_rate_per_period=0.002)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, roots_jacobi

__all__ = [
    "TIME_UNIT_DAYS",
    "BGNBDModel",
    "GammaGammaModel",
    "rfm_summary",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "customer_lifetime_value",
    "calibration_holdout_table",
]

#: Length of one time unit in days.
TIME_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}

_SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
_HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]
# Log-parameter box for L-BFGS-B: parameters stay within [1e-7, 1e7], which keeps a degenerate
# fit (tiny or single-customer data) finite instead of running off to 0 or infinity.
_LOG_BOUND = 16.0

ArrayLike = pd.Series | np.ndarray | float | int


# ----------------------------------------------------------------------------------------------
# RFM summary
# ----------------------------------------------------------------------------------------------


def rfm_summary(
    transactions: pd.DataFrame,
    customer_col: str,
    time_col: str,
    value_col: str,
    observation_end: str | pd.Timestamp,
    time_unit: str = "W",
    calibration_end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Summarise transactions into the per-customer frequency/recency/T/monetary table.

    Purchases on the same calendar day by the same customer are merged into one purchase (values
    summed), as in Fader, Hardie & Lee (2005). Transactions after ``observation_end`` are ignored.

    Args:
        transactions: one row per transaction line, with ``customer_col``, ``time_col``
            (datetime or parseable; the time of day is ignored) and ``value_col`` (money).
        customer_col: customer id column; becomes the index of the result.
        time_col: transaction date/time column.
        value_col: transaction value column (money units; may be zero or negative, e.g. refunds).
        observation_end: last day of observation (inclusive).
        time_unit: unit of ``recency``, ``T`` and ``duration_holdout``: "D", "W", "M" or "Y".
        calibration_end: optional last day (inclusive) of the calibration period. When given,
            only customers whose first purchase is on or before it are kept, the calibration
            columns describe purchases up to it and the holdout columns the purchases after it.

    Returns:
        DataFrame indexed by customer (sorted) with columns
        ``frequency`` (repeat purchase days, int), ``recency`` (last minus first purchase, time
        units), ``T`` (calibration/observation end minus first purchase, time units),
        ``monetary_value`` (mean value of the repeat purchase days, money; 0 when frequency is 0)
        and, with ``calibration_end``, ``frequency_holdout`` (purchase days after it, int),
        ``monetary_value_holdout`` (mean value of those, money; 0 when none) and
        ``duration_holdout`` (length of the holdout period, time units). ``attrs["time_unit"]``
        records the unit.

    Raises:
        ValueError: on missing columns, unknown ``time_unit``, missing dates or values, or a
            calibration end after the observation end.
    """
    _require_columns(transactions, [customer_col, time_col, value_col], "transactions")
    days_per_unit = _days_per_unit(time_unit)
    obs_end = pd.Timestamp(observation_end).normalize()
    cal_end = obs_end if calibration_end is None else pd.Timestamp(calibration_end).normalize()
    if cal_end > obs_end:
        raise ValueError(
            f"calibration_end {cal_end.date()} is after observation_end {obs_end.date()}"
        )

    days = pd.to_datetime(transactions[time_col])
    if getattr(days.dt, "tz", None) is not None:
        days = days.dt.tz_localize(None)
    values = pd.to_numeric(transactions[value_col])
    if days.isna().any():
        raise ValueError(f"{int(days.isna().sum())} transactions have no date in '{time_col}'")
    if values.isna().any():
        raise ValueError(f"{int(values.isna().sum())} transactions have no value in '{value_col}'")

    customer = transactions[customer_col]
    ids = None
    if customer.dtype == object:
        # text ids grouped as their ranks in sorted order (the groups, their order and the
        # sums of the group-by on the text, without hashing a string per row in every
        # group-by below); a missing id is no customer, as the group-by drops it
        codes, ids = pd.factorize(customer, sort=True)
        customer = pd.Series(codes).where(codes >= 0)
    lines = pd.DataFrame(
        {
            "customer": customer.to_numpy(),
            "day": days.dt.normalize().to_numpy(),
            "value": values.to_numpy(dtype=float),
        }
    )
    lines = lines[lines["day"] <= obs_end]
    daily = lines.groupby(["customer", "day"], sort=True, as_index=False)["value"].sum()
    if ids is not None:
        daily["customer"] = daily["customer"].astype(np.int64)

    cal = daily[daily["day"] <= cal_end]
    grouped = cal.groupby("customer", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    n_days = grouped["day"].size()
    total = grouped["value"].sum()
    first_value = grouped["value"].first()  # daily is sorted by customer, day
    frequency = (n_days - 1).astype("int64")
    repeat_value = total - first_value
    monetary = np.where(frequency > 0, repeat_value / frequency.where(frequency > 0, 1), 0.0)

    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days / days_per_unit,
            "T": (cal_end - first).dt.days / days_per_unit,
            "monetary_value": monetary.astype(float),
        },
        index=first.index,
    )
    summary = summary.astype({"frequency": "int64", "recency": float, "T": float})
    summary.index.name = customer_col

    if calibration_end is not None:
        hold = daily[(daily["day"] > cal_end) & daily["customer"].isin(summary.index)]
        hold_grouped = hold.groupby("customer", sort=True)["value"]
        summary["frequency_holdout"] = (
            hold_grouped.size().reindex(summary.index, fill_value=0).astype("int64")
        )
        summary["monetary_value_holdout"] = (
            hold_grouped.mean().reindex(summary.index, fill_value=0.0).astype(float)
        )
        summary["duration_holdout"] = float((obs_end - cal_end).days / days_per_unit)
    if ids is not None:  # the ranks back to the ids
        summary.index = pd.Index(np.asarray(ids, dtype=object)[summary.index], name=customer_col)
    summary.attrs["time_unit"] = time_unit
    return summary


# ----------------------------------------------------------------------------------------------
# BG/NBD
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BGNBDModel:
    """Fitted BG/NBD purchase model (Fader, Hardie & Lee 2005).

    Purchase rates are Gamma(shape ``r``, rate ``alpha``) across customers, so ``alpha`` is in
    time units (the mean rate of an active customer is r/alpha purchases per time unit); the
    probability of dropping out after each purchase is Beta(``a``, ``b``).

    Attributes:
        r: shape of the purchase-rate distribution (dimensionless).
        alpha: rate (scale) of the purchase-rate distribution, in ``time_unit`` periods.
        a, b: parameters of the dropout-probability Beta distribution (dimensionless).
        log_likelihood: maximised log-likelihood (without any penalty), summed over customers.
        n_customers: customers in the fit.
        time_unit: unit of recency, T and t: "D", "W", "M" or "Y".
        converged: the optimiser reported success and no parameter sits on the search bound.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    time_unit: str = "W"
    converged: bool = True

    def prob_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """Probability that a customer with this history is still active at T.

        Args:
            frequency: repeat purchases in (0, T] (count).
            recency: time of the last purchase after the first (time units).
            T: time since the first purchase (time units).

        Returns:
            P(alive) in [0, 1]; a Series aligned to ``frequency`` if it is one, else an array
            (a float for scalar input). Customers without repeat purchases get 1.
        """
        x, tx, big_t = _as_history(frequency, recency, T)
        out = expit(-self._log_dropout_odds(x, tx, big_t))
        return _like(out, frequency)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """Expected purchases in (T, T + t] given the history (conditional expectation).

        Equation (10) of Fader, Hardie & Lee (2005), evaluated through Euler's transformation
        of the hypergeometric function, which keeps it accurate for frequent buyers.

        Args:
            t: length of the future period (time units); scalar, or an array broadcasting
                against the customers (e.g. shape (n_steps, 1) for a grid of horizons).
            frequency, recency, T: history as in :meth:`prob_alive`.

        Returns:
            Expected purchase count; a Series aligned to ``frequency`` if it is one and ``t`` is
            scalar, else an array.
        """
        x, tx, big_t = _as_history(frequency, recency, T)
        t_arr = np.asarray(t, dtype=float)
        if np.any(t_arr < 0):
            raise ValueError("t must be non-negative")
        alive_part, broken = self._alive_part(t_arr, x, big_t)
        if np.any(broken):
            # Degenerate fits (nobody seems to drop out: a -> 0 with r, alpha -> 1e5) put the
            # hypergeometric function far outside its accurate range; integrate instead.
            alive_part = np.array(alive_part, dtype=float, copy=True)
            shape = alive_part.shape
            xb, tb = np.broadcast_to(x, shape)[broken], np.broadcast_to(big_t, shape)[broken]
            alive_part[broken] = _alive_purchases_by_quadrature(
                self, xb, tb, np.broadcast_to(t_arr, shape)[broken]
            )
        out = alive_part * expit(-self._log_dropout_odds(x, tx, big_t))
        if t_arr.ndim == 0:
            return _like(out, frequency)
        return out

    def _alive_part(
        self, t: np.ndarray, x: np.ndarray, big_t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The bracket of eq. (10) in closed form, and where it cannot be trusted (not
        finite or negative: :func:`_alive_purchases_by_quadrature` is needed there)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        c = a + b + x - 1.0
        z = t / (alpha + big_t + t)
        # (1-z)^(r+x) 2F1(r+x, b+x; c; z) == (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)  (Euler)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            tail = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
            alive_part = c / (a - 1.0) * (1.0 - tail)
        return alive_part, ~np.isfinite(alive_part) | (alive_part < 0)

    def _expected_purchases_rows(
        self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray
    ) -> Iterator[np.ndarray]:
        """The rows of ``expected_purchases(t[:, None], x, tx, big_t)`` one at a time, each
        the same floats, without the (horizons x customers) matrix and its temporaries.

        ``x``, ``tx``, ``big_t`` are validated 1-D histories (:func:`_as_history`).

        Raises:
            _NeedsQuadrature: some element needs the quadrature; the caller then takes the
                whole matrix from :meth:`expected_purchases` (which integrates its broken
                elements together, the floats a row at a time would not reproduce).
        """
        alive = expit(-self._log_dropout_odds(x, tx, big_t))
        for step in np.asarray(t, dtype=float):
            alive_part, broken = self._alive_part(step, x, big_t)
            if np.any(broken):
                raise _NeedsQuadrature
            yield alive_part * alive

    def expected_purchases_new(self, t: ArrayLike) -> Any:
        """Expected purchases E[X(t)] in (0, t] for a newly acquired customer (unconditional).

        Args:
            t: time since the first purchase (time units); scalar or array.

        Returns:
            Expected repeat purchase count, same shape as ``t``.
        """
        t_arr = np.asarray(t, dtype=float)
        if t_arr.ndim == 0:
            return float(self.expected_purchases(t_arr, 0.0, 0.0, 0.0))
        # the expectation depends on t alone: evaluate each distinct t once
        distinct, where = np.unique(t_arr, return_inverse=True)
        zeros = np.zeros_like(distinct)
        out = np.asarray(self.expected_purchases(distinct, zeros, zeros, zeros), dtype=float)
        return out[where].reshape(t_arr.shape)

    def to_frame(self) -> pd.DataFrame:
        """Parameters as rows with columns ``model``, ``param``, ``value``, ``time_unit``.

        Includes ``log_likelihood`` and ``n_customers`` rows so the table is self-contained.
        """
        names = ["r", "alpha", "a", "b", "log_likelihood", "n_customers"]
        values = [self.r, self.alpha, self.a, self.b, self.log_likelihood, self.n_customers]
        return pd.DataFrame(
            {
                "model": "bgnbd",
                "param": names,
                "value": np.asarray(values, dtype=float),
                "time_unit": self.time_unit,
            }
        )

    def _log_dropout_odds(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """log of P(dropped out at last purchase) / P(alive) given the history; -inf if x == 0."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        xm1 = np.where(x > 0, x - 1.0, 0.0)
        odds = np.log(a) - np.log(b + xm1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
        return np.where(x > 0, odds, -np.inf)


class _NeedsQuadrature(Exception):
    """An expected purchase count needs the quadrature (a degenerate fit)."""


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    time_unit: str = "W",
    penalizer: float = 0.0,
    initial: tuple[float, float, float, float] | None = None,
) -> BGNBDModel:
    """Fit the BG/NBD model by maximum likelihood.

    The log-likelihood (Fader, Hardie & Lee 2005, eq. 6) is vectorised over customers and
    maximised over the log-parameters with L-BFGS-B and its analytic gradient.

    Args:
        frequency: repeat purchases per customer in the calibration period (count).
        recency: last minus first purchase time (time units); 0 when frequency is 0.
        T: calibration end minus first purchase time (time units).
        time_unit: unit of ``recency`` and ``T``, stored on the model ("D", "W", "M", "Y").
        penalizer: L2 penalty ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` added to the mean
            negative log-likelihood per customer; 0 (default) is plain maximum likelihood.
        initial: optional starting values (r, alpha, a, b); default (1, mean T / 2, 1, 1).

    Returns:
        The fitted :class:`BGNBDModel`.

    Raises:
        ValueError: on empty or invalid input, or when nobody made a repeat purchase (the
            likelihood then has no maximum: every customer looks like a one-off buyer).

    Note:
        With a handful of customers the maximum can sit at extreme parameter values (a single
        repeat buyer gives r and alpha near 1e5 with r/alpha close to x/T, and a near 0): the
        predictions stay usable, the parameters are not interpretable.
    """
    _days_per_unit(time_unit)
    x, tx, big_t = _as_history(frequency, recency, T)
    x, tx, big_t = np.atleast_1d(x), np.atleast_1d(tx), np.atleast_1d(big_t)
    n = x.size
    if n == 0:
        raise ValueError("fit_bgnbd needs at least one customer; got none")
    if not np.any(x > 0):
        raise ValueError(
            "fit_bgnbd needs at least one customer with a repeat purchase (frequency > 0); "
            f"all {n} customers bought on a single day only, so the BG/NBD likelihood has no "
            "maximum. Use a longer calibration period."
        )
    if penalizer < 0:
        raise ValueError(f"penalizer must be >= 0, got {penalizer}")

    neg_ll = _bgnbd_objective(x, tx, big_t)
    scale = float(np.mean(big_t)) / 2.0 if np.mean(big_t) > 0 else 1.0
    start = np.log(initial if initial is not None else (1.0, scale, 1.0, 1.0))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = neg_ll(theta)
        params = np.exp(theta)
        value = value / n + penalizer * float(np.sum(params**2))
        grad = grad / n + 2.0 * penalizer * params**2
        return value, grad

    theta, converged = _minimise(objective, start)
    log_lik = -neg_ll(theta)[0]
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    return BGNBDModel(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(log_lik),
        n_customers=int(n),
        time_unit=time_unit,
        converged=converged,
    )


def _alive_purchases_by_quadrature(
    model: BGNBDModel, x: np.ndarray, big_t: np.ndarray, t: np.ndarray, nodes: int = 48
) -> np.ndarray:
    """Expected purchases in (T, T + t] of a customer who is still active at T (1-D arrays).

    Given the history and being alive, the purchase rate is Gamma(r + x, alpha + T) and the
    dropout probability Beta(a, b + x) (Fader, Hardie & Lee 2005). An active customer with
    rate lam and dropout p buys (1 - exp(-lam p t)) / p times in expectation; the Gamma
    integral over lam is closed-form, the Beta integral over p is done numerically. This
    equals the bracket of eq. (10) and stays finite where the hypergeometric closed form
    does not: a -> 0 (nobody seems to drop out) and a, b both huge (everyone drops out with
    the same probability).

    The Beta integral uses Gauss-Jacobi quadrature (weight p^(a-1) (1-p)^(b+x-1)) while its
    parameters are moderate; when a + b + x is large the Beta is concentrated (standard
    deviation below 1 / sqrt(a + b + x)) and Gauss-Hermite nodes around its mean are used.
    """
    out = np.empty(x.shape, dtype=float)
    for xv in np.unique(x):
        rows = np.flatnonzero(x == xv)
        k = model.r + xv
        a, b = model.a, model.b + xv
        if a + b < _JACOBI_MAX:
            u, w = roots_jacobi(nodes, b - 1.0, a - 1.0)
            p = (1.0 + u) / 2.0
        else:
            z, w = hermegauss(5)
            mean = a / (a + b)
            sd = np.sqrt(mean * (1.0 - mean) / (a + b + 1.0))
            p = mean + sd * z
        w = w / w.sum()
        for start in range(0, rows.size, _QUADRATURE_CHUNK):
            sel = rows[start : start + _QUADRATURE_CHUNK]
            s = t[sel, None] / (model.alpha + big_t[sel, None])
            out[sel] = _alive_purchases_given_dropout(k, s, p[None, :]) @ w
    return out


#: Customers x horizons evaluated at a time (bounds the nodes x rows temporaries).
_QUADRATURE_CHUNK = 262_144


#: Beta parameters a + b above which Gauss-Jacobi nodes overflow (2^(a+b+1) in scipy).
_JACOBI_MAX = 600.0


def _alive_purchases_given_dropout(k: float, s: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(1 - (1 + p s)^-k) / p: expected purchases of an active customer whose rate is
    Gamma(k, alpha + T) and dropout probability p, with s = t / (alpha + T); k s at p = 0."""
    ps = p * s
    small = np.abs(ps) < 1e-12
    safe_p = np.where(small, 1.0, p)
    value = -np.expm1(-k * np.log1p(np.where(small, 0.0, ps))) / safe_p
    return np.where(small, k * s, value)


def _bgnbd_objective(
    x: np.ndarray, tx: np.ndarray, big_t: np.ndarray
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Negative BG/NBD log-likelihood (summed) and its gradient in log-parameters.

    The special functions of the purchase count alone (betaln, gammaln, digamma of
    ``x``-shifted arguments) are evaluated once per distinct count and spread to the
    customers by index: the same values element by element, evaluated once per distinct
    count (a few dozen) instead of once per customer.
    """
    repeat = x > 0
    ux, inv = np.unique(x, return_inverse=True)
    inv = inv.reshape(x.shape)
    uxm1 = np.where(ux > 0, ux - 1.0, 0.0)

    def per_customer(values: np.ndarray) -> np.ndarray:
        return values[inv]

    def neg_ll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        log_at, log_atx = np.log(alpha + big_t), np.log(alpha + tx)
        beta_ab = betaln(a, b)
        # still alive at T ...
        l_alive = per_customer(betaln(a, b + ux)) - beta_ab - (r + x) * log_at
        # ... or dropped out right after the last purchase (only possible if x > 0)
        l_drop = np.where(
            repeat, per_customer(betaln(a + 1.0, b + uxm1)) - beta_ab - (r + x) * log_atx, -np.inf
        )
        top = np.maximum(l_alive, l_drop)
        lse = top + np.log(np.exp(l_alive - top) + np.exp(l_drop - top))
        ll = per_customer(gammaln(r + ux)) - gammaln(r) + r * np.log(alpha) + lse
        w_alive = np.exp(l_alive - lse)
        w_drop = np.exp(l_drop - lse)

        psi_ab, psi_abx = digamma(a + b), per_customer(digamma(a + b + ux))
        d_r = (
            per_customer(digamma(r + ux))
            - digamma(r)
            + np.log(alpha)
            - w_alive * log_at
            - w_drop * log_atx
        )
        d_alpha = r / alpha - (r + x) * (w_alive / (alpha + big_t) + w_drop / (alpha + tx))
        d_a = psi_ab - psi_abx + w_drop / a
        d_b = (
            psi_ab
            - psi_abx
            - digamma(b)
            + w_alive * per_customer(digamma(b + ux))
            + w_drop * per_customer(digamma(b + uxm1))
        )
        grad = np.array([d_r.sum(), d_alpha.sum(), d_a.sum(), d_b.sum()])
        return -float(ll.sum()), -grad * np.array([r, alpha, a, b])

    return neg_ll


# ----------------------------------------------------------------------------------------------
# Gamma-Gamma
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaModel:
    """Fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

    Each transaction value is Gamma(shape ``p``, rate nu) for a customer, and nu is
    Gamma(shape ``q``, rate ``gamma``) across customers; ``gamma`` is in money units.

    Attributes:
        p, q: shape parameters (dimensionless).
        gamma: scale of the spend distribution (money units).
        log_likelihood: maximised log-likelihood of the customers' mean repeat spend.
        n_customers: repeat buyers in the fit.
        n_excluded: repeat buyers left out for a non-positive monetary value.
        converged: the optimiser reported success and no parameter sits on the search bound.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int
    n_excluded: int = 0
    converged: bool = True

    @property
    def mean_value(self) -> float:
        """Population mean spend per transaction, p * gamma / (q - 1) (money; needs q > 1)."""
        if self.q <= 1.0:
            raise ValueError(f"the mean spend is infinite when q <= 1 (q = {self.q:.4g})")
        return self.p * self.gamma / (self.q - 1.0)

    def conditional_expected_average_value(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> Any:
        """Expected spend per transaction given a customer's repeat purchases.

        A credibility-weighted mix of the population mean and the customer's own mean:
        p (gamma + x m) / (p x + q - 1). Customers with frequency 0 get the population mean.

        Args:
            frequency: repeat purchases (count).
            monetary_value: mean value of those purchases (money; ignored when frequency is 0).

        Returns:
            Expected spend per transaction (money); a Series aligned to ``frequency`` if it is
            one, else an array.
        """
        if self.q <= 1.0:
            raise ValueError(f"the expected spend is infinite when q <= 1 (q = {self.q:.4g})")
        x = np.asarray(frequency, dtype=float)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        out = self.p * (self.gamma + x * m) / (self.p * x + self.q - 1.0)
        return _like(out, frequency)

    def to_frame(self) -> pd.DataFrame:
        """Parameters as rows with columns ``model``, ``param``, ``value``, ``time_unit``.

        ``time_unit`` is empty: the spend model has no time scale. Includes
        ``log_likelihood``, ``n_customers`` and ``n_excluded`` rows.
        """
        names = ["p", "q", "gamma", "log_likelihood", "n_customers", "n_excluded"]
        values = [
            self.p,
            self.q,
            self.gamma,
            self.log_likelihood,
            self.n_customers,
            self.n_excluded,
        ]
        return pd.DataFrame(
            {
                "model": "gamma_gamma",
                "param": names,
                "value": np.asarray(values, dtype=float),
                "time_unit": "",
            }
        )


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    nonpositive: Literal["raise", "drop"] = "raise",
    penalizer: float = 0.0,
) -> GammaGammaModel:
    """Fit the Gamma-Gamma spend model on the repeat buyers by maximum likelihood.

    Only customers with frequency > 0 enter the fit; their ``monetary_value`` must be the mean
    value of their repeat purchases (as :func:`rfm_summary` gives) and must be positive.

    Args:
        frequency: repeat purchases per customer (count).
        monetary_value: mean value of the repeat purchases (money).
        nonpositive: what to do with repeat buyers whose monetary value is zero or negative:
            "raise" (default) raises ValueError, "drop" leaves them out and counts them in
            ``n_excluded``.
        penalizer: L2 penalty ``penalizer * (p^2 + q^2 + gamma^2)`` added to the mean negative
            log-likelihood per customer; 0 (default) is plain maximum likelihood.

    Returns:
        The fitted :class:`GammaGammaModel`.

    Raises:
        ValueError: on mismatched lengths, missing values, non-positive spend among repeat
            buyers (with ``nonpositive="raise"``) or fewer than two repeat buyers.
    """
    x = np.atleast_1d(np.asarray(frequency, dtype=float))
    m = np.atleast_1d(np.asarray(monetary_value, dtype=float))
    if x.shape != m.shape:
        raise ValueError(f"frequency and monetary_value differ in length: {x.size} vs {m.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
        raise ValueError("frequency and monetary_value must be finite (no NaN or inf)")
    if np.any(x < 0):
        raise ValueError("frequency must be non-negative")
    if nonpositive not in ("raise", "drop"):
        raise ValueError(f"nonpositive must be 'raise' or 'drop', got {nonpositive!r}")
    if penalizer < 0:
        raise ValueError(f"penalizer must be >= 0, got {penalizer}")

    repeat = x > 0
    bad = repeat & (m <= 0)
    n_bad = int(bad.sum())
    if n_bad and nonpositive == "raise":
        raise ValueError(
            f"{n_bad} of {int(repeat.sum())} repeat buyers have a non-positive monetary value "
            f"(smallest {m[bad].min():.4g}); the Gamma-Gamma model needs positive spend. Fix "
            "or remove them, or pass nonpositive='drop' to leave them out (counted in "
            "n_excluded)."
        )
    keep = repeat & ~bad
    x, m = x[keep], m[keep]
    n = x.size
    if n < 2:
        raise ValueError(
            f"fit_gamma_gamma needs at least two repeat buyers with positive spend; got {n}"
        )

    neg_ll = _gamma_gamma_objective(x, m)
    start = np.log([1.0, 2.0, float(np.mean(m))])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = neg_ll(theta)
        params = np.exp(theta)
        value = value / n + penalizer * float(np.sum(params**2))
        grad = grad / n + 2.0 * penalizer * params**2
        return value, grad

    theta, converged = _minimise(objective, start)
    p, q, gamma = (float(v) for v in np.exp(theta))
    return GammaGammaModel(
        p=p,
        q=q,
        gamma=gamma,
        log_likelihood=-neg_ll(theta)[0],
        n_customers=int(n),
        n_excluded=n_bad,
        converged=converged,
    )


def _gamma_gamma_objective(
    x: np.ndarray, m: np.ndarray
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Negative Gamma-Gamma log-likelihood of the mean spends and its gradient (log-params)."""
    log_m, log_x, xm = np.log(m), np.log(x), x * m

    def neg_ll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(theta)
        px = p * x
        log_gxm = np.log(gamma + xm)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1.0) * log_m
            + px * log_x
            - (px + q) * log_gxm
        )
        psi_pxq = digamma(px + q)
        d_p = x * (psi_pxq - digamma(px) + log_m + log_x - log_gxm)
        d_q = psi_pxq - digamma(q) + np.log(gamma) - log_gxm
        d_gamma = q / gamma - (px + q) / (gamma + xm)
        grad = np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])
        return -float(ll.sum()), -grad * np.array([p, q, gamma])

    return neg_ll


# ----------------------------------------------------------------------------------------------
# CLV and the calibration/holdout check
# ----------------------------------------------------------------------------------------------


def customer_lifetime_value(
    bgnbd: BGNBDModel,
    gg: GammaGammaModel,
    summary: pd.DataFrame,
    horizon: float,
    discount_rate_per_period: float = 0.0,
    time_unit: str | None = None,
    step: float = 1.0,
) -> pd.Series:
    """Discounted customer lifetime value over a horizon.

    The horizon is cut into steps; the purchases expected in step k (the difference of
    :meth:`BGNBDModel.expected_purchases` at the step's end and start) are valued at the
    Gamma-Gamma expected spend and discounted to today by (1 + d)^(k * step), i.e. cash flows
    are booked at the end of each step.

    Args:
        bgnbd: fitted purchase model; ``summary`` must be in its time unit.
        gg: fitted spend model.
        summary: per-customer ``frequency``, ``recency``, ``T`` (model time units) and
            ``monetary_value`` (money), e.g. from :func:`rfm_summary`.
        horizon: length of the future period, in ``time_unit`` periods.
        discount_rate_per_period: discount rate per ``time_unit`` period (e.g. 0.01 a month).
        time_unit: unit of ``horizon``, ``step`` and the discount rate; default the model's.
        step: length of one cash-flow step, in ``time_unit`` periods; must divide ``horizon``.

    Returns:
        Series ``clv`` (money, discounted) indexed like ``summary``.

    Raises:
        ValueError: on missing columns, a non-positive step, a horizon that is not a whole
            number of steps, or a discount rate <= -1.
    """
    _require_columns(summary, _SUMMARY_COLUMNS, "summary")
    _check_summary_unit(summary, bgnbd)
    unit = bgnbd.time_unit if time_unit is None else time_unit
    to_model = _days_per_unit(unit) / _days_per_unit(bgnbd.time_unit)
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if horizon < 0:
        raise ValueError(f"horizon must be non-negative, got {horizon}")
    n_steps = int(round(horizon / step))
    if not np.isclose(n_steps * step, horizon, rtol=1e-9, atol=1e-9):
        raise ValueError(f"horizon {horizon} is not a whole number of steps of {step}")
    if discount_rate_per_period <= -1:
        raise ValueError(f"discount_rate_per_period must be > -1, got {discount_rate_per_period}")

    ends = step * np.arange(n_steps + 1, dtype=float)  # in `unit` periods
    x = summary["frequency"].to_numpy(dtype=float)
    rec, big_t = summary["recency"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
    discount = (1.0 + discount_rate_per_period) ** -ends[1:]
    # step by step rather than `discount @ per_step`: a BLAS product's summation order can
    # follow memory alignment, so the same inputs gave values apart in the last digit; and
    # the expected purchases a step at a time (the same floats), not as a (steps x
    # customers) matrix, whose temporaries took 0.65 GB on the large data
    purchases_pv = np.zeros(x.size)
    try:
        hx, htx, hbig_t = _as_history(x, rec, big_t)
        previous = None
        for k, cumulative in enumerate(
            bgnbd._expected_purchases_rows(ends * to_model, hx, htx, hbig_t)
        ):
            if k:
                purchases_pv += discount[k - 1] * (cumulative - previous)
            previous = cumulative
    except _NeedsQuadrature:
        cumulative = bgnbd.expected_purchases((ends * to_model)[:, None], x, rec, big_t)
        per_step = np.diff(np.broadcast_to(cumulative, (n_steps + 1, x.size)), axis=0)
        purchases_pv = np.zeros(x.size)
        for k in range(n_steps):
            purchases_pv += discount[k] * per_step[k]
    spend = gg.conditional_expected_average_value(x, summary["monetary_value"].to_numpy(float))
    return pd.Series(purchases_pv * spend, index=summary.index, name="clv")


def calibration_holdout_table(
    bgnbd: BGNBDModel, summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean actual vs expected holdout purchases per calibration frequency (Fader-Hardie check).

    Args:
        bgnbd: purchase model fitted on the calibration columns of ``summary``.
        summary: :func:`rfm_summary` output with a calibration end (``frequency``,
            ``recency``, ``T``, ``frequency_holdout``, ``duration_holdout``).
        max_frequency: customers with at least this many calibration repeat purchases share
            the last bucket (labelled e.g. "7+").

    Returns:
        DataFrame indexed by ``frequency`` bucket (int) with ``label`` (str), ``n_customers``,
        ``actual`` and ``expected`` (mean holdout repeat purchases per customer, count).
    """
    _require_columns(
        summary, ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"], "summary"
    )
    _check_summary_unit(summary, bgnbd)
    if max_frequency < 1:
        raise ValueError(f"max_frequency must be >= 1, got {max_frequency}")
    expected = bgnbd.expected_purchases(
        summary["duration_holdout"].to_numpy(dtype=float),
        summary["frequency"],
        summary["recency"],
        summary["T"],
    )
    frame = pd.DataFrame(
        {
            "frequency": summary["frequency"].clip(upper=max_frequency).to_numpy(),
            "actual": summary["frequency_holdout"].to_numpy(dtype=float),
            "expected": np.asarray(expected, dtype=float),
        }
    )
    table = frame.groupby("frequency").agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean")
    )
    labels = [f"{k}+" if k == max_frequency else str(k) for k in table.index]
    table.insert(0, "label", labels)
    return table


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _minimise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray
) -> tuple[np.ndarray, bool]:
    """L-BFGS-B on log-parameters; returns the optimum and whether it is a proper interior one."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    start = np.clip(start, -_LOG_BOUND + 1.0, _LOG_BOUND - 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
    on_bound = bool(np.any(np.abs(res.x) > _LOG_BOUND - 1e-6))
    return res.x, bool(res.success and np.isfinite(res.fun) and not on_bound)


def _as_history(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast (frequency, recency, T) to float arrays."""
    x, tx, big_t = np.broadcast_arrays(
        np.asarray(frequency, dtype=float),
        np.asarray(recency, dtype=float),
        np.asarray(T, dtype=float),
    )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(tx)) and np.all(np.isfinite(big_t))):
        raise ValueError("frequency, recency and T must be finite (no NaN or inf)")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(tx < 0):
        raise ValueError("recency must be non-negative")
    if np.any(tx > big_t * (1 + 1e-9) + 1e-12):
        raise ValueError("recency must not exceed T (last purchase after the observation end?)")
    if np.any((x == 0) & (tx != 0)):
        raise ValueError("recency must be 0 for customers with frequency 0")
    return x, tx, big_t


def _like(values: np.ndarray, template: ArrayLike) -> Any:
    """Return ``values`` as a Series on ``template``'s index, a float, or an array."""
    if isinstance(template, pd.Series) and np.shape(values) == template.shape:
        return pd.Series(values, index=template.index)
    if np.ndim(values) == 0:
        return float(values)
    return values


def _days_per_unit(time_unit: str) -> float:
    if time_unit not in TIME_UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {time_unit!r}")
    return TIME_UNIT_DAYS[time_unit]


def _check_summary_unit(summary: pd.DataFrame, bgnbd: BGNBDModel) -> None:
    unit = summary.attrs.get("time_unit")
    if unit is not None and unit != bgnbd.time_unit:
        raise ValueError(
            f"summary is in time unit {unit!r} but the model was fitted in {bgnbd.time_unit!r}"
        )


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; has {list(frame.columns)}")
