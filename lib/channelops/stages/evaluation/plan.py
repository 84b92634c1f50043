"""Plan against actual: 02's recommended weekly plan next to what each channel did lately.

All money is per week in the base currency. The actual period is the last ``weeks`` weeks
that have both revenue and (when marketing_spend.csv exists) spend; actual profit is
revenue x the channel's real gross-margin rate after commission (the scorecard's), minus
spend and the fixed cost per week (monthly x 12 / 52).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.frames import require_columns
from channelops.margins import CODE_SUFFIX
from channelops.response import steady_state_revenue
from channelops.revenue import weekly_channel_revenue

from .scorecard import safe_ratio
from .text import escape_data, money_text

__all__ = [
    "PLAN_SHOWN_COLUMNS",
    "plan_vs_actual",
    "model_revenue_at",
    "plan_period_text",
    "model_fit_gap",
    "plan_text",
    "plan_gain_text",
    "budget_moves_text",
]

#: The columns of :func:`plan_vs_actual` the notebook shows, plan next to actual.
PLAN_SHOWN_COLUMNS = (
    "selected",
    "planned_budget",
    "actual_spend",
    "planned_revenue",
    "actual_revenue",
    "model_revenue_at_actual",
    "planned_profit",
    "actual_profit",
    "planned_revenue_per_spend",
    "actual_revenue_per_spend",
)

#: Columns of 02's ``response_curves`` that :func:`model_revenue_at` needs, in the order
#: :func:`channelops.response.steady_state_revenue` takes them.
CURVE_COLUMNS = (
    "base_weekly_revenue",
    "revenue_max",
    "adstock_decay",
    "hill_half_saturation",
    "hill_slope",
)


def plan_vs_actual(
    plan: pd.DataFrame | None,
    lines: pd.DataFrame,
    marketing: pd.DataFrame | None,
    scorecard: pd.DataFrame,
    channels: pd.DataFrame | None = None,
    curves: pd.DataFrame | None = None,
    weeks: int = 13,
) -> pd.DataFrame:
    """02's recommended weekly plan next to what each channel returned in its last weeks.

    Args:
        plan: 02's ``channel_plan`` (channel_id, selected, budget, revenue, profit; weekly);
            None when 02 did not run: an empty frame with channel_id, selected,
            planned_budget and actual_spend.
        lines: order lines (revenue per week as 02 measures it:
            :func:`channelops.revenue.weekly_channel_revenue`).
        marketing: marketing_spend.csv (None: actual spend NaN).
        scorecard: for each channel's actual gross_margin_rate (after commission, real COGS).
        channels: fixed_cost_per_month (None: 0).
        curves: 02's ``response_curves``; gives ``model_revenue_at_actual``, the fitted
            curve's steady-state revenue at the actual spend (is the model right?).
        weeks: the actual period: the last ``weeks`` weeks of spend (02 plans the budget of
            the last 13 weeks by default).

    Returns:
        channel_id, selected, planned_budget, planned_revenue, planned_profit,
        planned_revenue_per_spend, actual_spend, actual_revenue, actual_profit,
        actual_revenue_per_spend, model_revenue_at_actual, budget_change (planned -
        actual), revenue_change, profit_change, period_start, period_end and weeks (the
        actual period), and planned_profit_lo/hi when 02's plan has profit_lo/hi; all per week, base currency. actual_profit
        = revenue x gross_margin_rate - spend - fixed cost per week (monthly x 12 / 52).
    """
    if plan is None:
        return pd.DataFrame(columns=["channel_id", "selected", "planned_budget", "actual_spend"])
    require_columns(plan, ["channel_id", "selected", "budget", "revenue", "profit"], "channel_plan")
    # a frame over the columns weekly_channel_revenue reads (the channel's codes too, when
    # the lines have them: it groups on those), not a copy of them; its copy of the sold
    # lines (names path) then holds no more
    weekly = ["channel_id", "order_ts_local", "revenue_base", "status", "quantity"]
    weekly.append("channel_id" + CODE_SUFFIX)
    rev = weekly_channel_revenue(
        pd.DataFrame({c: lines[c] for c in weekly if c in lines.columns}, copy=False)
    )
    spend = _spend_weeks(marketing)
    first_week, last_week = _actual_period(rev["week_start"], spend, weeks)
    recent = rev.loc[(rev["week_start"] >= first_week) & (rev["week_start"] <= last_week)]
    n_weeks = max(recent["week_start"].nunique(), 1)
    actual_rev = recent.groupby(recent["channel_id"].astype(str))["revenue"].sum() / n_weeks
    out = _planned(plan)
    if spend is not None:
        sp = spend.loc[(spend["week_start"] >= first_week) & (spend["week_start"] <= last_week)]
        actual_spend = sp.groupby("channel_id")["spend"].sum() / n_weeks
        out["actual_spend"] = actual_spend.reindex(out.index).fillna(0.0)
    else:
        out["actual_spend"] = np.nan
    out["actual_revenue"] = actual_rev.reindex(out.index).fillna(0.0)
    out["actual_profit"] = _actual_profit(out, scorecard, channels)
    out["actual_revenue_per_spend"] = safe_ratio(out["actual_revenue"], out["actual_spend"])
    out["model_revenue_at_actual"] = model_revenue_at(out["actual_spend"], curves)
    out["budget_change"] = out["planned_budget"] - out["actual_spend"]
    out["revenue_change"] = out["planned_revenue"] - out["actual_revenue"]
    out["profit_change"] = out["planned_profit"] - out["actual_profit"]
    out["period_start"] = first_week
    out["period_end"] = last_week + pd.Timedelta(days=6)
    out["weeks"] = n_weeks
    return out.reset_index()


def _spend_weeks(marketing: pd.DataFrame | None) -> pd.DataFrame | None:
    """marketing_spend.csv with week_start as timestamps and channel_id as str (None: none)."""
    if marketing is None or not len(marketing):
        return None
    return marketing.assign(
        week_start=pd.to_datetime(marketing["week_start"]),
        channel_id=marketing["channel_id"].astype(str),
    )


def _actual_period(
    revenue_weeks: pd.Series, spend: pd.DataFrame | None, weeks: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last week start) of the last ``weeks`` weeks with revenue and spend data."""
    last_week = revenue_weeks.max()
    if spend is not None:
        last_week = min(last_week, spend["week_start"].max())
    return last_week - pd.Timedelta(weeks=weeks - 1), last_week


def _planned(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's weekly figures renamed planned_*, indexed by channel_id (str)."""
    out = plan[["channel_id", "selected", "budget", "revenue", "profit"]].rename(
        columns={
            "budget": "planned_budget",
            "revenue": "planned_revenue",
            "profit": "planned_profit",
        }
    )
    for bound in ("profit_lo", "profit_hi"):  # 02's interval of the planned profit
        if bound in plan:
            out[f"planned_{bound}"] = plan[bound].to_numpy()
    out["channel_id"] = out["channel_id"].astype(str)
    out = out.set_index("channel_id")
    out["planned_revenue_per_spend"] = safe_ratio(out["planned_revenue"], out["planned_budget"])
    return out


def _actual_profit(
    out: pd.DataFrame, scorecard: pd.DataFrame, channels: pd.DataFrame | None
) -> np.ndarray:
    """Weekly revenue x the channel's own margin rate (the scorecard's margin_rate: after
    product cost, commission, fulfilment and payment; gross_margin_rate where unknown) -
    spend - fixed cost; 0 for a channel with no revenue in the period (closed)."""
    sc = scorecard.set_index(scorecard["channel_id"].astype(str))
    rate = sc["gross_margin_rate"]
    if "margin_rate" in sc and sc["margin_rate"].notna().any():  # the channel's own margin
        rate = sc["margin_rate"].fillna(rate)
    fixed = (
        channels.set_index(channels["channel_id"].astype(str))["fixed_cost_per_month"]
        .reindex(out.index)
        .fillna(0.0)
        * 12
        / 52
        if channels is not None and "fixed_cost_per_month" in channels
        else 0.0
    )
    active = out["actual_revenue"] > 0
    return np.where(
        active, out["actual_revenue"] * rate.reindex(out.index) - out["actual_spend"] - fixed, 0.0
    )


def model_revenue_at(spend: pd.Series, curves: pd.DataFrame | None) -> pd.Series:
    """What 02's fitted response curve says each channel's weekly spend returns.

    Args:
        spend: weekly spend per channel_id (base currency per week).
        curves: 02's ``response_curves`` (channel_id and :data:`CURVE_COLUMNS`), or None.

    Returns:
        Steady-state weekly revenue (base currency per week) at ``spend``, per channel of
        ``spend``; NaN for a channel without a curve or a finite spend, and everywhere when
        ``curves`` is None, empty or lacks a curve column.

    Raises:
        ValueError: ``curves`` has no channel_id column.
    """
    out = pd.Series(np.nan, index=spend.index, dtype=float)
    if curves is None or not len(curves):
        return out
    require_columns(curves, ["channel_id"], "response_curves")
    need = list(CURVE_COLUMNS)
    if not set(need) <= set(curves.columns):
        return out
    c = curves.set_index(curves["channel_id"].astype(str))[need]
    for ch in spend.index.intersection(c.index):
        if np.isfinite(spend.at[ch]):
            out.at[ch] = float(steady_state_revenue(spend.at[ch], c.loc[ch].to_numpy(float)))
    return out


def plan_period_text(pva: pd.DataFrame, currency: str) -> str:
    """The line that says which weeks "actual" means: ``actual: weekly means over 13 weeks,
    2024-01-01 to 2024-03-31, CNY per week``.

    Args:
        pva: from :func:`plan_vs_actual` (period_start, period_end, weeks).
        currency: base currency code (escaped).

    Raises:
        ValueError: ``pva`` is empty or lacks the period columns.
    """
    require_columns(pva, ["period_start", "period_end", "weeks"], "plan_vs_actual")
    if pva.empty:
        raise ValueError("plan_vs_actual is empty: there is no actual period to state")
    start, end, n_weeks = pva[["period_start", "period_end", "weeks"]].iloc[0]
    return (
        f"actual: weekly means over {n_weeks} weeks, {start.date()} to {end.date()}, "
        f"{escape_data(currency)} per week"
    )


def model_fit_gap(pva: pd.DataFrame) -> float:
    """How far 02's curves are off the actual revenue, for the median channel.

    Args:
        pva: from :func:`plan_vs_actual` (model_revenue_at_actual, actual_revenue).

    Returns:
        Median over channels with revenue of ``|model revenue at actual spend / actual
        revenue - 1|`` (a share; 0.2 = 20% off); NaN when no channel has both.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(pva, ["model_revenue_at_actual", "actual_revenue"], "plan_vs_actual")
    actual = pva["actual_revenue"].where(pva["actual_revenue"] > 0)
    gap = (pva["model_revenue_at_actual"] / actual - 1).abs().dropna()
    return float(gap.median()) if len(gap) else float("nan")


def budget_moves_text(plan: pd.DataFrame, currency: str) -> str:
    """Where the weekly budget goes, as a clause: "takes X of weekly budget from a (..), b (..)
    and gives Y of weekly budget to c (..) (Z a week less in all)".

    What the plan takes from the channels it cuts and gives to the ones it raises (each
    largest first), and the net change when it does both and they differ: a plan that
    mostly cuts must not read as one that moves money around.

    Args:
        plan: rows with channel_id and budget_change (planned minus actual weekly spend).
        currency: base currency code.

    Returns:
        The clause (channel ids escaped), or "" when no channel's budget changes by half a
        unit or more.
    """
    ch = plan.set_index(plan["channel_id"].astype(str))["budget_change"].astype(float)
    ch = ch.loc[ch.abs() >= 0.5]
    parts = []
    for verb, prep, part in (("takes", "from", ch.loc[ch < 0]), ("gives", "to", ch.loc[ch > 0])):
        if len(part):
            items = part.abs().sort_values(ascending=False)
            parts.append(
                f"{verb} {money_text(items.sum(), currency)} of weekly budget {prep} "
                + ", ".join(
                    f"{escape_data(k)} ({money_text(v, currency)})" for k, v in items.items()
                )
            )
    if not parts:
        return ""
    net = float(ch.sum())
    text = " and ".join(parts)
    if abs(net) >= 0.5 and len(parts) == 2:
        text += f" ({money_text(abs(net), currency)} a week {'less' if net < 0 else 'more'} in all)"
    return text


#: The rows and columns of 02's ``plan_vs_current`` that :func:`plan_gain_text` reads.
GAIN_COLUMNS = ("allocation", "profit", "profit_lo", "profit_hi", "prob_positive")


def plan_gain_text(gain: pd.DataFrame | None, currency: str) -> str | None:
    """02's own plan-against-now comparison, like for like, with its interval and verdict.

    02 scores the plan and the current allocation (the mean weekly spend of the last 13
    weeks) on the same response model at the same average season, each channel at its own
    margin, over the model's draws; that is the plan's gain. The realised profit of the
    last weeks (:func:`plan_vs_actual`) is another season at another spend, so its
    difference to the plan's profit is not the gain (on Simulator 2 it is the Q4 peak, and
    1.4-11 times the true gain; benchmarks/results/channels.md).

    Args:
        gain: 02's ``plan_vs_current`` (rows ``now``, ``plan``, ``gain``; columns profit,
            profit_lo, profit_hi, prob_positive; money per week), or None.
        currency: base currency code.

    Returns:
        One sentence: the weekly profit gain with its interval and the share of draws in
        which the plan earns more, then a verdict that follows the interval (more profit
        when it lies above 0, LESS - do not adopt - when below, undecided when it spans 0).
        None without the table, its ``gain`` row or a finite gain, interval and share.

    Raises:
        ValueError: a column is missing.
    """
    if gain is None or not len(gain):
        return None
    require_columns(gain, list(GAIN_COLUMNS), "plan_vs_current")
    rows = gain.set_index("allocation")
    if "gain" not in rows.index:
        return None
    g = rows.loc["gain"]
    point, lo, hi, p = (float(g[c]) for c in ("profit", "profit_lo", "profit_hi", "prob_positive"))
    if not np.isfinite([point, lo, hi, p]).all():  # no draws: nothing like for like to say
        return None
    word = "more" if point >= 0 else "less"
    text = (
        f"Against the current allocation, at the same average season and on the same response "
        f"model, 02 expects the plan to earn {money_text(abs(point), currency)} a week {word} "
        f"profit (90% interval {money_text(lo, currency)} to {money_text(hi, currency)}; "
        f"more than now in {p:.0%} of the model's draws). "
    )
    if lo > 0:
        return text + "The plan expects more profit than now."
    if hi < 0:
        return text + "The plan expects LESS profit than now: do not adopt it as it stands."
    return text + "Whether it earns more than now is not settled: the interval spans 0."


def plan_text(pva: pd.DataFrame, currency: str, gain: pd.DataFrame | None = None) -> str:
    """The plan-vs-actual finding in Markdown: budget moved, profit promised against now,
    and how far 02's model is off at the actual spend.

    Args:
        pva: from :func:`plan_vs_actual` (budget_change, planned_profit, actual_profit and
            the columns of :func:`model_fit_gap`); money per week.
        currency: base currency code (escaped).
        gain: 02's ``plan_vs_current`` when the run has it (:func:`plan_gain_text`).

    Returns:
        Sentences stating the weekly budget the plan takes from and gives to each channel
        (:func:`budget_moves_text`); with ``gain``, 02's
        like-for-like gain (:func:`plan_gain_text`) and the realised profit of the period
        named as another season, not the gain; without it, the planned weekly profit with
        how much more or less it is than the realised profit; then the model's median
        error (or that 02's curves are not in this run).

    Raises:
        ValueError: a column is missing or ``pva`` is empty.
    """
    require_columns(
        pva, ["channel_id", "budget_change", "planned_profit", "actual_profit"], "plan_vs_actual"
    )
    if pva.empty:
        raise ValueError("plan_vs_actual is empty: there is no plan to describe")
    planned, actual = float(pva["planned_profit"].sum()), float(pva["actual_profit"].sum())
    moves = budget_moves_text(pva, currency)
    moved = f"The plan {moves}." if moves else "The plan leaves every channel's budget as it is."
    like_for_like = plan_gain_text(gain, currency)
    if like_for_like:
        text = (
            f"{moved} {like_for_like} The realised profit of "
            f"the period above, {money_text(actual, currency)} a week, is another season at "
            f"another spend: its difference to the plan's {money_text(planned, currency)} is "
            "not the plan's gain. "
        )
    else:
        better = "more" if planned >= actual else "less"
        text = (
            f"{moved} It expects {money_text(planned, currency)} weekly profit from its channels, "
            f"{money_text(abs(planned - actual), currency)} {better} than the "
            f"{money_text(actual, currency)} now. "
        )
    gap = model_fit_gap(pva)
    if np.isfinite(gap):
        text += (
            f"At the actual spend, 02's curves are off the actual revenue by {gap:.0%} for the "
            "median channel: the size of error to allow for when reading the plan's promise. "
        )
    else:
        text += (
            "02's response curves are not in this run, so the plan's promise cannot be checked. "
        )
    return text + "A closed channel's planned figures are 0."
