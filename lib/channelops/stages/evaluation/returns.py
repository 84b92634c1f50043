"""What marketing returns: incremental margin per unit of spend, and what a customer costs.

* :func:`incremental_revenue`: the revenue each channel's spend added, from 02's fitted
  response curves (``response_curves``): week by week, ``revenue_max x hill(adstock(spend))``
  with the channel's carry-over, saturation and slope; the organic base (what the channel
  sells without spend) is left out. Channels whose curve is not fitted from their own data
  (02's ``source`` is ``prior`` or ``unavailable``) get NaN: a prior says nothing about what
  this channel's spend did.
* :func:`acquisition_model`: new customers per week regressed on the week's spend per
  channel, ``new_w = a + b spend_w + e_w`` (ordinary least squares, t interval on ``b``).
  ``b`` is the new customers one more unit of spend brings; the cost of acquisition is
  ``1 / b`` with the interval ``[1 / b_hi, 1 / b_lo]``. Where the interval of ``b`` reaches
  0 or below (or spend never varies), nothing in the data attributes acquisition to spend,
  and no cost of acquisition is shown.

Money in the base currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from channelops.frames import require_columns
from channelops.response import adstock, hill

__all__ = ["MIN_ACQUISITION_WEEKS", "incremental_revenue", "acquisition_model"]

#: Fewest spend weeks the acquisition regression needs.
MIN_ACQUISITION_WEEKS = 8

_CURVE = ["revenue_max", "adstock_decay", "hill_half_saturation", "hill_slope"]


def _weekly_spend(marketing: pd.DataFrame) -> pd.DataFrame:
    """week_start (timestamp), channel_id (str), spend summed per channel and week."""
    require_columns(marketing, ["week_start", "channel_id", "spend"], "marketing_spend")
    m = marketing.assign(
        week_start=pd.to_datetime(marketing["week_start"]),
        channel_id=marketing["channel_id"].astype(str),
        spend=pd.to_numeric(marketing["spend"], errors="coerce").fillna(0.0),
    )
    return m.groupby(["channel_id", "week_start"], as_index=False)["spend"].sum()


def incremental_revenue(marketing: pd.DataFrame, curves: pd.DataFrame | None) -> pd.DataFrame:
    """Revenue the spend added per channel over the spend weeks, by 02's response curves.

    Args:
        marketing: marketing_spend.csv (week_start, channel_id, spend).
        curves: 02's ``response_curves`` (channel_id, revenue_max, adstock_decay,
            hill_half_saturation, hill_slope; ``source`` when known: only ``fitted`` rows
            count), or None.

    Returns:
        Indexed by channel_id (every channel with spend): marketing_spend (sum),
        incremental_revenue (sum over the weeks of ``revenue_max x hill(adstock(spend))``,
        NaN without a fitted curve).

    Raises:
        ValueError: a column of marketing_spend is missing.
    """
    weekly = _weekly_spend(marketing)
    spend = weekly.groupby("channel_id")["spend"].sum()
    out = pd.DataFrame({"marketing_spend": spend, "incremental_revenue": np.nan})
    if curves is None or not len(curves) or not set(["channel_id", *_CURVE]) <= set(curves):
        return out
    c = curves.assign(channel_id=curves["channel_id"].astype(str))
    if "source" in c:
        c = c.loc[c["source"].astype(str) == "fitted"]
    c = c.drop_duplicates("channel_id").set_index("channel_id")
    for ch, g in weekly.groupby("channel_id"):
        if ch not in c.index:
            continue
        rmax, decay, half, slope = (float(c.at[ch, k]) for k in _CURVE)
        if not all(np.isfinite([rmax, decay, half, slope])) or half <= 0:
            continue
        s = g.sort_values("week_start")["spend"].to_numpy(float)
        out.at[ch, "incremental_revenue"] = float(
            np.sum(rmax * hill(adstock(s, decay), half, slope))
        )
    return out


def acquisition_model(
    marketing: pd.DataFrame, seen: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """New customers per week as a straight line in the week's spend, per channel.

    Args:
        marketing: marketing_spend.csv (week_start, channel_id, spend).
        seen: :func:`channelops.stages.evaluation.first_seen` (customer_id, first_seen,
            first_channel); a customer is new on the channel and in the week (week_start
            to week_start + 7 days) of their first line.
        level: coverage of the intervals.

    Returns:
        Indexed by channel_id (every channel with spend): weeks, new_per_spend (``b``: new
        customers per unit of spend) with new_per_spend_lo/hi, organic_new_per_week (``a``),
        incremental_new_customers (``b x`` total spend), cac (``1 / b``) with cac_lo and
        cac_hi, and acquisition_note: empty when a cost is shown, else why not (too few
        weeks, spend never varies, or the interval of ``b`` reaches 0: spend does not
        explain new customers here).

    Raises:
        ValueError: a column is missing or ``level`` is not in (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level is a coverage in (0, 1), got {level}")
    require_columns(seen, ["first_seen", "first_channel"], "first_seen")
    weekly = _weekly_spend(marketing)
    starts = np.sort(weekly["week_start"].unique())
    first = pd.to_datetime(seen["first_seen"]).to_numpy("datetime64[ns]")
    pos = np.searchsorted(starts, first, side="right") - 1
    ok = pos >= 0
    ok[ok] = first[ok] < starts[pos[ok]] + np.timedelta64(7, "D")
    new = (
        pd.DataFrame(
            {
                "channel_id": seen["first_channel"].astype(str).to_numpy()[ok],
                "week_start": starts[pos[ok]],
            }
        )
        .groupby(["channel_id", "week_start"])
        .size()
        .rename("new")
    )
    rows = {}
    for ch, g in weekly.groupby("channel_id"):
        y = new.reindex(pd.MultiIndex.from_arrays([[ch] * len(g), g["week_start"]])).fillna(0)
        rows[ch] = _acquisition_fit(g["spend"].to_numpy(float), y.to_numpy(float), level)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "channel_id"
    return out


def _acquisition_fit(spend: np.ndarray, new: np.ndarray, level: float) -> dict[str, object]:
    """OLS of ``new`` on ``spend`` with an intercept; the cost of acquisition when the slope's
    interval is above 0."""
    n = len(spend)
    rec: dict[str, object] = {"weeks": n, "acquisition_note": ""}
    nan_keys = ["new_per_spend", "new_per_spend_lo", "new_per_spend_hi", "organic_new_per_week"]
    rec.update(
        dict.fromkeys([*nan_keys, "incremental_new_customers", "cac", "cac_lo", "cac_hi"], np.nan)
    )
    sxx = float(((spend - spend.mean()) ** 2).sum())
    if n < MIN_ACQUISITION_WEEKS:
        rec["acquisition_note"] = f"{n} spend weeks, fewer than {MIN_ACQUISITION_WEEKS}"
        return rec
    if sxx <= 0:
        rec["acquisition_note"] = "spend never varies, so its effect cannot be told from the rest"
        return rec
    b = float(((spend - spend.mean()) * (new - new.mean())).sum() / sxx)
    a = float(new.mean() - b * spend.mean())
    resid = new - a - b * spend
    se = float(np.sqrt((resid**2).sum() / (n - 2) / sxx))
    t = float(stats.t.ppf(0.5 + level / 2, n - 2))
    lo, hi = b - t * se, b + t * se
    rec.update(
        new_per_spend=b,
        new_per_spend_lo=lo,
        new_per_spend_hi=hi,
        organic_new_per_week=a,
        incremental_new_customers=b * float(spend.sum()),
    )
    if lo <= 0:
        rec["acquisition_note"] = (
            "the interval of new customers per unit of spend reaches 0: nothing in the data "
            "attributes new customers to this channel's spend"
        )
        return rec
    rec.update(cac=1 / b, cac_lo=1 / hi, cac_hi=1 / lo)
    return rec
