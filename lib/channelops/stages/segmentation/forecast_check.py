"""01's holdout check in one call: the cut-off, the three forecasts, their scores and views.

The check always runs when the history allows it: the cut-off is ``calibration_end`` when
given, else ``holdout_weeks`` before the last day. BG/NBD is fitted on the calibration
period; the naive repeat rate and the gradient-boosted model (:mod:`.next_period`, trained
on windows before the cut-off) forecast the same customers; all are scored on what the
customers known at the cut-off did after it (:mod:`.holdout`). The forecast with the lowest
mean absolute error is the one chosen. The summary, the BG/NBD and Gamma-Gamma fits, the
weekly view and the gradient-boosted model's pieces are tasks of two workers
(:mod:`.workers`): the same numbers as one after the other, on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import clv as clvm
from . import holdout as ho
from . import next_period as nxt
from .workers import two_workers

__all__ = ["HoldoutCheck", "holdout_check", "holdout_cut_off", "forward_next_period"]


@dataclass
class HoldoutCheck:
    """What the holdout check found.

    Attributes:
        cut_off, observation_end: last days of the calibration and the holdout period.
        reason: why no check was made (empty when it was).
        summary: the calibration/holdout summary (weeks) of the customers known at the cut-off.
        bgnbd: BG/NBD fitted on the calibration period.
        forecasts: name -> holdout purchase days per customer.
        next_period: the gradient-boosted forecast with a ``reason`` per customer.
        scores, groups, weekly: :func:`.holdout.holdout_scores`,
            :func:`.holdout.frequency_group_table`, :func:`.holdout.weekly_repeat_purchases`.
        spend_scores: the same scores for the holdout spend (money per customer): the naive
            rate times the customer's spend per purchase day before the cut-off, BG/NBD
            times the Gamma-Gamma expected spend (when it can be fitted) and the
            gradient-boosted spend model.
        chosen: the forecast with the lowest error.
    """

    cut_off: pd.Timestamp | None
    observation_end: pd.Timestamp
    reason: str = ""
    summary: pd.DataFrame | None = None
    bgnbd: clvm.BGNBDModel | None = None
    forecasts: dict[str, pd.Series] | None = None
    next_period: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    weekly: pd.DataFrame | None = None
    spend_scores: pd.DataFrame | None = None
    chosen: str = ""


def holdout_cut_off(
    observation_end: pd.Timestamp, calibration_end: str = "", holdout_weeks: int = 13
) -> pd.Timestamp:
    """The calibration end: ``calibration_end`` when given, else ``holdout_weeks`` earlier.

    Raises:
        ValueError: ``calibration_end`` is not a date, or ``holdout_weeks`` < 1.
    """
    if calibration_end:
        try:
            return pd.Timestamp(calibration_end).normalize()
        except ValueError as err:
            raise ValueError(
                f"calibration_end must be a date YYYY-MM-DD, got {calibration_end!r}"
            ) from err
    if holdout_weeks < 1:
        raise ValueError(f"holdout_weeks must be at least 1, got {holdout_weeks}")
    return pd.Timestamp(observation_end).normalize() - pd.Timedelta(weeks=holdout_weeks)


def holdout_check(
    orders: pd.DataFrame,
    observation_end: pd.Timestamp,
    calibration_end: str = "",
    holdout_weeks: int = 13,
    seed: int = 0,
) -> HoldoutCheck:
    """Fit on the calibration period and score every forecast on the holdout.

    Args:
        orders: :func:`channelops.customers.customer_orders` (customer_id, order_ts,
            revenue, channel_id).
        observation_end: last day of data.
        calibration_end: the cut-off as YYYY-MM-DD; empty: ``holdout_weeks`` before the end.
        holdout_weeks: holdout length when ``calibration_end`` is empty.
        seed: the gradient-boosted model's seed.

    Returns:
        :class:`HoldoutCheck`; its ``reason`` says why nothing was checked (no orders, a
        cut-off outside the data, too few customers before it).
    """
    if orders.empty or pd.isna(observation_end):
        return HoldoutCheck(None, pd.NaT, "no identified customer bought: nothing to check")
    end = pd.Timestamp(observation_end).normalize()
    cut = holdout_cut_off(end, calibration_end, holdout_weeks)
    first = pd.to_datetime(orders["order_ts"]).min().normalize()
    if cut >= end or cut < first:
        return HoldoutCheck(
            None,
            end,
            f"the cut-off {cut.date()} is not inside the data ({first.date()} to {end.date()})",
        )
    # the holdout in weeks, as rfm_summary computes it (the gradient-boosted model's horizon)
    weeks = float((end - cut).days / clvm.TIME_UNIT_DAYS["W"])
    # the independent pieces as tasks of two workers (see .workers): the gradient-boosted
    # model's purchase days and training set first, the summary and the BG/NBD and
    # Gamma-Gamma fits beside it, then its two regressors and their forecasts
    with two_workers() as pool:
        prepared = pool.submit(nxt.prepare_fit, orders, cut, weeks)
        summary = pool.submit(
            clvm.rfm_summary,
            orders,
            "customer_id",
            "order_ts",
            "revenue",
            observation_end=end,
            calibration_end=cut,
        ).result()
        if (summary["frequency"] > 0).sum() < 2:
            return HoldoutCheck(
                cut, end, f"fewer than two customers bought twice before the cut-off {cut.date()}"
            )
        fitted = pool.submit(clvm.fit_bgnbd, summary["frequency"], summary["recency"], summary["T"])
        spend_per_day = pool.submit(_spend_per_day, orders, summary, cut)
        value = pool.submit(_gamma_gamma_value, summary)
        weekly = pool.submit(
            lambda: ho.weekly_repeat_purchases(orders, cut, end, fitted.result(), summary)
        )
        next_period = nxt.submit_fit_and_forecast(pool, prepared, seed)
        bgnbd = fitted.result()
        forecasts = {
            ho.NAIVE: ho.naive_repeat_forecast(summary),
            "BG/NBD": bgnbd.expected_purchases(
                weeks, summary["frequency"], summary["recency"], summary["T"]
            ),
        }
        _, nxt_fc = next_period()
        if nxt_fc["reason"].eq("").all():
            forecasts[nxt.NEXT_PERIOD] = nxt_fc["purchase_days"].reindex(summary.index)
        spend = _spend_forecasts(forecasts, spend_per_day.result(), value.result(), nxt_fc)
        scores = ho.holdout_scores(summary["frequency_holdout"], forecasts)
        spend_scores = ho.holdout_scores(
            summary["frequency_holdout"] * summary["monetary_value_holdout"], spend
        )
        return HoldoutCheck(
            cut_off=cut,
            observation_end=end,
            summary=summary,
            bgnbd=bgnbd,
            forecasts=forecasts,
            next_period=nxt_fc,
            scores=scores,
            groups=ho.frequency_group_table(summary, forecasts),
            weekly=weekly.result(),
            spend_scores=spend_scores,
            chosen=str(scores.sort_values("mae", kind="stable")["model"].iloc[0]),
        )


def _spend_per_day(orders: pd.DataFrame, summary: pd.DataFrame, cut: pd.Timestamp) -> pd.Series:
    """Each known customer's spend per purchase day before the cut-off (money, negative as 0)."""
    before = orders[pd.to_datetime(orders["order_ts"]) < cut + pd.Timedelta(days=1)]
    # summed per customer on their rows in the summary (the same rows, in the same order,
    # as a group-by on the ids), not on the ids' text
    pos = summary.index.get_indexer(before["customer_id"])
    known = pos >= 0
    spent = before["revenue"][known].groupby(pos[known]).sum().reindex(np.arange(len(summary)))
    spent.index = summary.index
    return spent.clip(lower=0) / (summary["frequency"] + 1)


def _gamma_gamma_value(summary: pd.DataFrame) -> pd.Series | None:
    """Gamma-Gamma's expected spend per purchase of each customer, fitted on the summary;
    None when it cannot be fitted (fewer than two repeat buyers with positive spend) or its
    mean spend is infinite (q <= 1)."""
    try:
        gg = clvm.fit_gamma_gamma(
            summary["frequency"], summary["monetary_value"], nonpositive="drop"
        )
    except ValueError:
        return None
    if gg.q <= 1:
        return None
    return gg.conditional_expected_average_value(
        summary["frequency"], summary["monetary_value"].clip(lower=0)
    )


def _spend_forecasts(
    days: dict[str, pd.Series],
    per_day: pd.Series,
    value: pd.Series | None,
    nxt_fc: pd.DataFrame,
) -> dict[str, pd.Series]:
    """Holdout spend per customer: each purchase-day forecast valued at a spend per day."""
    out = {ho.NAIVE: days[ho.NAIVE] * per_day}
    if value is not None:
        out["BG/NBD x Gamma-Gamma"] = days["BG/NBD"] * value
    if nxt.NEXT_PERIOD in days:
        out[nxt.NEXT_PERIOD] = nxt_fc["spend"].reindex(per_day.index)
    return out


def forward_next_period(
    orders: pd.DataFrame, last_day: pd.Timestamp, horizon_weeks: int = 13, seed: int = 0
) -> pd.DataFrame:
    """The gradient-boosted forecast of the next ``horizon_weeks`` from all the data.

    Args:
        orders: as for :func:`holdout_check`.
        last_day: last day of data (the model trains on windows ending on or before it).
        horizon_weeks: forecast window (weeks).
        seed: the regressors' seed.

    Returns:
        Indexed by customer_id (every customer with a purchase up to ``last_day``):
        ``next_purchase_days`` (purchase days), ``next_spend`` (money) and ``next_reason``
        (empty when forecast, else why not, e.g. a history shorter than one horizon).
    """
    _, out = nxt.fit_and_forecast(orders, last_day, horizon_weeks=horizon_weeks, seed=seed)
    return forward_columns(out)


def forward_columns(forecast: pd.DataFrame) -> pd.DataFrame:
    """A gradient-boosted forecast with :func:`forward_next_period`'s column names."""
    return forecast.rename(
        columns={
            "purchase_days": "next_purchase_days",
            "spend": "next_spend",
            "reason": "next_reason",
        }
    )
