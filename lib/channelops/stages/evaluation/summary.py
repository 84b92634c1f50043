"""The executive summary and the ranking paragraph: findings written from the run's tables.

:func:`executive_summary` assembles five to eight sentences, one function per topic
(channels, growth, experiments, plan, policies, and fillers when fewer than five were
said). Every number in a sentence is formatted from a cell of the given tables, so the
summary cannot drift from them, and every data string in it is HTML-escaped
(:func:`channelops.stages.evaluation.escape_data`): the sentences are safe to put into
Markdown or HTML as they are.
"""

from __future__ import annotations

import pandas as pd

from channelops.frames import require_columns

from .plan import budget_moves_text, plan_gain_text
from .scorecard import ranking_key
from .text import escape_data, money_text, names_text

__all__ = [
    "SUMMARY_TABLE_COLUMNS",
    "MIN_SENTENCES",
    "MAX_SENTENCES",
    "channel_sentences",
    "growth_sentence",
    "experiment_sentence",
    "plan_sentence",
    "policy_sentence",
    "filler_sentences",
    "summary_table",
    "executive_summary",
    "ranking_text",
    "acquisition_text",
]

#: Columns of the key table under the summary, when the scorecard has them.
SUMMARY_TABLE_COLUMNS = (
    "channel_id",
    "rank",
    "revenue",
    "gross_margin",
    "contribution",
    "marketing_return_rate",
    "cac",
    "ltv_cac",
    "on_time_rate",
    "fill_rate",
)

#: The summary says at least this many things (fillers make up the rest) ...
MIN_SENTENCES = 5
#: ... and at most this many.
MAX_SENTENCES = 8

_SCORECARD_NEEDS = ["channel_id", "rank", "revenue", "gross_margin", "contribution", "ltv_cac"]


def _losers_verb(losers: list[str]) -> str:
    return "loses" if len(losers) == 1 else "lose"


def _cac_band(row: pd.Series, currency: str) -> str:
    """`` (interval 10 to 30 CNY)`` when the row has the cost of acquisition's interval."""
    if pd.notna(row.get("cac_lo")) and pd.notna(row.get("cac_hi")):
        return f" (interval {row['cac_lo']:,.0f} to {money_text(row['cac_hi'], currency)})"
    return ""


def _period_text(scorecard: pd.DataFrame) -> str:
    """``From 2024-01-01 to 2024-06-30, `` when the scorecard states its period, else ``In
    the data, ``."""
    if {"period_start", "period_end"} <= set(scorecard.columns) and scorecard[
        "period_start"
    ].notna().any():
        start = pd.Timestamp(scorecard["period_start"].min()).date()
        end = pd.Timestamp(scorecard["period_end"].max()).date()
        return f"From {start} to {end}, "
    return "Over the whole data, "


def channel_sentences(scorecard: pd.DataFrame, currency: str) -> list[str]:
    """What the channels sold and kept, who ranks first, who loses money, who acquires best.

    Args:
        scorecard: stage 06's ``scorecard`` (channel_id, rank, revenue, gross_margin,
            contribution, ltv_cac, cac); money in ``currency``.
        currency: base currency code.

    Returns:
        Three or four sentences: totals with the gross-margin rate; the first channel by
        :func:`ranking_key`; when contribution is known, the channels with a negative
        contribution (or that every channel covers its costs); the channel with the best
        LTV/CAC when any is known.

    Raises:
        ValueError: a column is missing or the scorecard is empty.
    """
    require_columns(scorecard, _SCORECARD_NEEDS, "scorecard")
    if scorecard.empty:
        raise ValueError("the scorecard is empty: no channel sold anything")
    sc = scorecard.sort_values("rank")
    total_rev = sc["revenue"].sum()
    top = sc.iloc[0]
    key = ranking_key(sc)
    when = _period_text(sc)
    if key == "revenue":
        out = [
            f"{when}the {len(sc)} channels sold {money_text(total_rev, currency)} of net revenue; their gross margin "
            "is unknown because the data has no product cost."
        ]
        out.append(
            f"{escape_data(top['channel_id'])} ranks first by revenue with "
            f"{money_text(top['revenue'], currency)}."
        )
    else:
        margin = sc["gross_margin"].sum()
        out = [
            f"{when}the {len(sc)} channels sold {money_text(total_rev, currency)} of net revenue and kept "
            f"{money_text(margin, currency)} of gross margin after product cost "
            f"and commission ({margin / total_rev:.1%})."
        ]
        label = (
            "contribution after fulfilment and marketing"
            if key == "contribution"
            else "gross margin"
        )
        out.append(
            f"{escape_data(top['channel_id'])} ranks first with {money_text(top[key], currency)} "
            f"of {label} on {money_text(top['revenue'], currency)} of revenue."
        )
    if key == "contribution":
        losers = sc.loc[sc["contribution"] < 0, "channel_id"].tolist()
        if losers:
            out.append(
                f"Not every channel earns its place yet: {names_text(losers)} "
                f"{_losers_verb(losers)} money after fulfilment and marketing."
            )
        else:
            out.append("Every channel covers its fulfilment and marketing cost.")
    ratio = sc.dropna(subset=["ltv_cac"])
    if len(ratio):
        best = ratio.sort_values("ltv_cac", ascending=False).iloc[0]
        out.append(
            f"The best acquisition channel is {escape_data(best['channel_id'])}: a new "
            f"customer costs {money_text(best['cac'], currency)}{_cac_band(best, currency)} "
            "and returns "
            f"{best['ltv_cac']:.1f}x that in lifetime margin."
        )
    return out


def growth_sentence(growth: pd.DataFrame | None) -> str | None:
    """How many customers were first seen and which channel brought the most.

    Args:
        growth: stage 06's ``user_base_growth`` (channel_id, new_customers), or None.

    Returns:
        The sentence, or None when ``growth`` is None or empty.

    Raises:
        ValueError: a column is missing.
    """
    if growth is None or not len(growth):
        return None
    require_columns(growth, ["channel_id", "new_customers"], "user_base_growth")
    new = growth.groupby("channel_id")["new_customers"].sum().sort_values(ascending=False)
    return (
        f"{int(new.sum()):,} customers were first seen in the data; "
        f"{escape_data(new.index[0])} brought the most ({int(new.iloc[0]):,}, "
        f"{new.iloc[0] / new.sum():.0%})."
    )


def experiment_sentence(experiments: pd.DataFrame | None) -> str | None:
    """The first experiment's effect with the interval it is decided on.

    Args:
        experiments: stage 06's ``experiment_results`` (name, welch_lo, welch_hi, diff,
            and the cuped_* columns when CUPED ran; level, start_date, end_date,
            mean_control, effect_shown and p_adjusted when known), or None.

    Returns:
        The difference in net revenue per customer with its interval (CUPED's when it
        ran), the same interval as a share of the control's mean, the window's dates, and
        what the interval says: above zero (raised), below (lowered), includes zero (not
        shown), or excludes zero but not after the correction across experiments; None
        when there is no experiment.

    Raises:
        ValueError: a column is missing.
    """
    if experiments is None or not len(experiments):
        return None
    require_columns(experiments, ["name", "welch_lo", "welch_hi"], "experiment_results")
    e = experiments.iloc[0]
    if "diff" not in e or pd.isna(e.get("diff")):
        return f"Experiment {escape_data(e['name'])}: too few units to compare."
    cuped = pd.notna(e.get("cuped_diff"))
    diff = float(e["cuped_diff"] if cuped else e["diff"])
    lo, hi = (e["cuped_lo"], e["cuped_hi"]) if cuped else (e["welch_lo"], e["welch_hi"])
    level = float(e["level"]) if pd.notna(e.get("level")) else 0.95
    mc = float(e["mean_control"]) if pd.notna(e.get("mean_control")) else float("nan")
    share = f", {lo / mc:+.1%} to {hi / mc:+.1%} of the control's mean" if mc > 0 else ""
    when = (
        f" ({pd.Timestamp(e['start_date']).date()} to {pd.Timestamp(e['end_date']).date()})"
        if pd.notna(e.get("start_date")) and pd.notna(e.get("end_date"))
        else ""
    )
    crosses = lo <= 0 <= hi
    shown = bool(e["effect_shown"]) if pd.notna(e.get("effect_shown")) else not crosses
    if shown:
        said = "the treatment raised revenue" if lo > 0 else "the treatment lowered revenue"
    elif crosses:
        said = "the interval includes zero, so no effect is shown"
    else:
        said = (
            "the interval excludes zero but not after correcting for the "
            f"{len(experiments)} experiments read together, so no effect is shown"
        )
    return (
        f"Experiment {escape_data(e['name'])}{when}: {diff:+,.1f} net revenue per customer "
        f"({level:.0%} interval {lo:+,.1f} to {hi:+,.1f}{share}); {said}."
    )


def plan_sentence(
    plan: pd.DataFrame | None, currency: str, gain: pd.DataFrame | None = None
) -> str | None:
    """What 02's plan runs and stops, where its budget moves, its profit against now.

    Args:
        plan: stage 06's ``plan_vs_actual`` (channel_id, selected, planned_budget,
            budget_change, actual_spend, planned_profit, actual_profit; per week; and
            period_start, period_end, weeks, planned_profit_lo/hi when known), or None.
        currency: base currency code.
        gain: 02's ``plan_vs_current`` when the run has it.

    Returns:
        One or two sentences: the channels the plan runs (a planned budget above 0) and
        the ones it gives no budget; the weekly budget it takes from and gives to each channel
        and the net change; then,
        with ``gain``, 02's like-for-like gain over the current allocation with its interval
        and a verdict that follows it (:func:`~channelops.stages.evaluation.plan.plan_gain_text`),
        else the planned weekly profit (with its interval when 02 gives one) against the
        actual weekly profit of the stated period, saying plainly when the plan expects
        less than now. None without a plan or without any actual spend.

    Raises:
        ValueError: a column is missing.
    """
    if plan is None or not len(plan):
        return None
    require_columns(
        plan,
        [
            "channel_id",
            "selected",
            "actual_spend",
            "budget_change",
            "planned_profit",
            "actual_profit",
        ],
        "plan_vs_actual",
    )
    if not plan["actual_spend"].notna().any():
        return None
    budget = plan["planned_budget"] if "planned_budget" in plan else plan["selected"].astype(float)
    running = plan.loc[plan["selected"].astype(bool) & (budget > 0), "channel_id"].tolist()
    stopped = plan.loc[~plan["channel_id"].isin(running), "channel_id"].tolist()
    text = (
        f"02's plan gives a budget to {len(running)} channel(s) ({names_text(running) or 'none'})"
    )
    if stopped:
        text += f" and none to {names_text(stopped)}"
    moves = budget_moves_text(plan, currency)
    if moves:
        text += f"; it {moves}"
    like_for_like = plan_gain_text(gain, currency)
    if like_for_like:
        return f"{text}. {like_for_like}"
    planned, actual = float(plan["planned_profit"].sum()), float(plan["actual_profit"].sum())
    band = ""
    if {"planned_profit_lo", "planned_profit_hi"} <= set(plan.columns) and plan[
        "planned_profit_lo"
    ].notna().any():
        band = (
            f" (interval {money_text(plan['planned_profit_lo'].sum(), currency)} to "
            f"{money_text(plan['planned_profit_hi'].sum(), currency)}, the channels' bounds added)"
        )
    period = ""
    if {"period_start", "period_end", "weeks"} <= set(plan.columns):
        r = plan.iloc[0]
        period = (
            f" in the last {int(r['weeks'])} weeks ({pd.Timestamp(r['period_start']).date()} "
            f"to {pd.Timestamp(r['period_end']).date()})"
        )
    verdict = (
        "The plan expects LESS profit than now: do not adopt it as it stands."
        if planned < actual
        else "The plan expects more profit than now."
    )
    return (
        f"{text}. It expects {money_text(planned, currency)} weekly profit{band} against "
        f"{money_text(actual, currency)} a week now{period}. {verdict}"
    )


def policy_sentence(policies: pd.DataFrame | None) -> str | None:
    """What the stock and order-flow policies gain, each next to its price.

    Args:
        policies: stage 06's ``policy_comparison`` (comparison, scope, metric, before,
            after, relative_delta), or None.

    Returns:
        "Policies: ..." with the first inventory scope's stock-value change ("less" or
        "more") next to its fill rate and stock-out days before and after when present,
        and the all-channel breach rate before and after next to the mean hours late (or
        mean cycle hours) before and after when present; None when neither is in the table.

    Raises:
        ValueError: a column is missing.
    """
    if policies is None or not len(policies):
        return None
    require_columns(
        policies,
        ["comparison", "scope", "metric", "before", "after", "relative_delta"],
        "policy_comparison",
    )
    said = []
    inv = policies.loc[policies["comparison"] == "inventory"]
    value = inv.loc[inv["metric"] == "average_stock_value"]
    if len(value):
        r = value.iloc[0]
        scope = inv.loc[inv["scope"] == r["scope"]].set_index("metric")
        delta = float(r["relative_delta"])
        more_or_less = "less" if delta < 0 else "more"
        part = (
            f"the forecast-driven stock policy ({escape_data(r['scope'])} stock) holds "
            f"{abs(delta):.1%} {more_or_less} stock value than the naive policy"
        )
        prices = []
        if "fill_rate" in scope.index:
            f = scope.loc["fill_rate"]
            prices.append(f"fill rate {f['before']:.1%} to {f['after']:.1%}")
        if "stockout_days" in scope.index:
            d = scope.loc["stockout_days"]
            prices.append(f"stock-out days {d['before']:,.0f} to {d['after']:,.0f}")
        said.append(part + (f" ({', '.join(prices)})" if prices else ""))
    ful = policies.loc[
        (policies["comparison"] == "fulfilment") & (policies["scope"] == "all channels")
    ].set_index("metric")
    if "breach_rate" in ful.index:
        r = ful.loc["breach_rate"]
        part = (
            f"prioritising orders moves the SLA breach rate from {r['before']:.1%} "
            f"to {r['after']:.1%}"
        )
        for metric, what in (
            ("mean_hours_late", "late orders are late by"),
            ("mean_cycle_hours", "the mean order takes"),
        ):
            if metric in ful.index:
                h = ful.loc[metric]
                part += f" while {what} {h['before']:,.1f} h before and {h['after']:,.1f} h after"
                break
        said.append(part)
    return f"Policies: {'; '.join(said)}." if said else None


def filler_sentences(scorecard: pd.DataFrame, currency: str, said: int) -> list[str]:
    """Sentences that bring a short summary up to :data:`MIN_SENTENCES`.

    Args:
        scorecard: stage 06's ``scorecard`` (channel_id, contribution, and aov when known).
        currency: base currency code.
        said: how many sentences the summary has so far.

    Returns:
        While fewer than five are said: the cheapest and dearest average order (when aov
        is known), then, when contribution is unknown, that no channel can yet be shown to
        earn its place after fulfilment and marketing. Empty when five are said.

    Raises:
        ValueError: ``said`` is negative or the scorecard lacks a column.
    """
    if said < 0:
        raise ValueError(f"said counts sentences, it cannot be {said}")
    require_columns(scorecard, ["channel_id", "contribution"], "scorecard")
    out: list[str] = []
    if said + len(out) < MIN_SENTENCES and "aov" in scorecard and scorecard["aov"].notna().any():
        a = scorecard.dropna(subset=["aov"]).sort_values("aov")
        lo_ch, hi_ch = a.iloc[0], a.iloc[-1]
        out.append(
            f"An average order is worth {money_text(lo_ch['aov'], currency)} on "
            f"{escape_data(lo_ch['channel_id'])} and {money_text(hi_ch['aov'], currency)} on "
            f"{escape_data(hi_ch['channel_id'])}."
        )
    if said + len(out) < MIN_SENTENCES and ranking_key(scorecard) != "contribution":
        out.append(
            "Fulfilment and marketing costs are not in the data, so no channel can yet be "
            "shown to earn its place after them."
        )
    return out


def summary_table(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The key table under the summary: the scorecard's :data:`SUMMARY_TABLE_COLUMNS` it
    has, best rank first.

    Raises:
        ValueError: the scorecard has no rank column.
    """
    require_columns(scorecard, ["rank"], "scorecard")
    sc = scorecard.sort_values("rank")
    return sc[[c for c in SUMMARY_TABLE_COLUMNS if c in sc]].reset_index(drop=True)


def executive_summary(
    scorecard: pd.DataFrame,
    experiments: pd.DataFrame | None,
    growth: pd.DataFrame | None,
    plan: pd.DataFrame | None,
    policies: pd.DataFrame | None,
    currency: str,
    gain: pd.DataFrame | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Five to eight sentences and the key table, from this run's tables only.

    Args:
        scorecard: stage 06's ``scorecard``; the others are stage 06's
            ``experiment_results``, ``user_base_growth``, ``plan_vs_actual`` and
            ``policy_comparison``, each None (or empty) when the run has none.
        currency: base currency code; money in the sentences is in it, rounded to units.
        gain: 02's ``plan_vs_current`` (the plan's like-for-like gain over now), or None.

    Returns:
        (sentences: :func:`channel_sentences`, then growth, experiment, plan and policy
        sentences when there is something to say, then :func:`filler_sentences`; at most
        :data:`MAX_SENTENCES`, data strings escaped; key table: :func:`summary_table`).

    Raises:
        ValueError: the scorecard is empty or a table lacks a column its sentence needs.
    """
    out = channel_sentences(scorecard, currency)
    for sentence in (
        growth_sentence(growth),
        experiment_sentence(experiments),
        plan_sentence(plan, currency, gain),
        policy_sentence(policies),
    ):
        if sentence:
            out.append(sentence)
    out += filler_sentences(scorecard.sort_values("rank"), currency, len(out))
    return out[:MAX_SENTENCES], summary_table(scorecard)


def ranking_text(scorecard: pd.DataFrame, currency: str) -> str:
    """One Markdown paragraph on the ranking: who is first and last, who loses money.

    Args:
        scorecard: stage 06's ``scorecard`` (channel_id, rank, revenue, gross_margin,
            contribution).
        currency: base currency code.

    Returns:
        Ranked by contribution when it is known, else by gross margin, else by revenue
        (and it says so);
        channel ids in bold and escaped, money rounded to units.

    Raises:
        ValueError: a column is missing or the scorecard is empty.
    """
    require_columns(
        scorecard, ["channel_id", "rank", "revenue", "gross_margin", "contribution"], "scorecard"
    )
    if scorecard.empty:
        raise ValueError("the scorecard is empty: no channel to rank")
    sc = scorecard.sort_values("rank")
    top, last = sc.iloc[0], sc.iloc[-1]
    first, bottom = escape_data(top["channel_id"]), escape_data(last["channel_id"])
    if ranking_key(sc) == "revenue":
        return (
            f"Without product costs (nor fulfilment and marketing costs) the ranking is by "
            f"revenue: **{first}** first ({money_text(top['revenue'], currency)}), "
            f"**{bottom}** last."
        )
    if ranking_key(sc) == "gross_margin":
        return (
            f"Without fulfilment and marketing costs the ranking is by gross margin after "
            f"commission: **{first}** first ({money_text(top['gross_margin'], currency)}), "
            f"**{bottom}** last."
        )
    text = (
        f"**{first}** earns the most after every cost "
        f"({money_text(top['contribution'], currency)} contribution on "
        f"{money_text(top['revenue'], currency)} revenue); **{bottom}** ranks last. "
    )
    losing = sc.loc[sc["contribution"] < 0, "channel_id"].tolist()
    if losing:
        return text + (
            f"{names_text(losing)} {_losers_verb(losing)} money once fulfilment and marketing "
            "are paid, which revenue alone hides."
        )
    return text + "Every channel covers its fulfilment and marketing."


def acquisition_text(scorecard: pd.DataFrame) -> str:
    """Which channels pay more to win a customer than the customer returns in margin.

    Args:
        scorecard: stage 06's ``scorecard`` (channel_id, rank, ltv_cac: lifetime margin per
            unit of acquisition cost).

    Returns:
        A Markdown sentence naming (escaped) the channels with LTV/CAC below 1, in rank
        order, or saying that every channel with a known LTV/CAC wins customers worth more
        than they cost, or that LTV/CAC is unknown everywhere.

    Raises:
        ValueError: a column is missing.
    """
    require_columns(scorecard, ["channel_id", "rank", "ltv_cac"], "scorecard")
    sc = scorecard.sort_values("rank")
    known = sc.dropna(subset=["ltv_cac"])
    if known.empty:
        return (
            "LTV/CAC is unknown for every channel (it needs marketing spend and 01's CLV), "
            "so acquisition cost cannot be weighed against lifetime margin."
        )
    dear = known.loc[known["ltv_cac"] < 1, "channel_id"].tolist()
    if not dear:
        return (
            "Every channel with a known LTV/CAC wins customers who return more in lifetime "
            "margin than they cost to acquire."
        )
    verb = "pays" if len(dear) == 1 else "pay"
    return (
        f"{names_text(dear)} {verb} more to win a customer than that customer returns in "
        "margin (LTV/CAC below 1, left of the dashed line in the right panel)."
    )
