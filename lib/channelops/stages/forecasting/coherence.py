"""Channel coherence: which level forecasts best, SKU x channel summed up or the SKU total.

04 forecasts each SKU x channel series; their sum is the SKU's forecast (bottom-up), so the
channel forecasts always add up to the SKU total. This module checks in the backtest
whether forecasting the SKU total directly would do better, and what the two reconciled
ways of making a coherent set from both give:

* ``bottom_up``: the SKU total is the sum of the channel forecasts;
* ``direct`` (SKU level) / ``top_down`` (channel level): the SKU total forecast directly
  (its own backtest and nested choice), split over the channels in proportion to their
  bottom-up forecasts;
* ``mint_diag``: minimum-trace reconciliation with a diagonal error covariance (WLS): the
  difference between the direct total and the bottom-up sum goes to the channels in
  proportion to their error variances, so the reconciled total is the inverse-variance
  weighted mean of the two. Each series' variance is its mean squared error in the other
  backtest windows (cross-fitted, as the conformal intervals are).

All three are coherent (the channels add up to the SKU) except ``direct`` against the
bottom-up channel forecasts, which is why it is given at the SKU level only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .models import BASELINE_MODELS, backtest, chosen_backtest, series_matrix

__all__ = [
    "ALL_CHANNELS",
    "SKU_LEVEL_MODELS",
    "coherence_finding",
    "level_accuracy",
    "level_backtest",
]

#: channel_id of the SKU-total series.
ALL_CHANNELS = "all channels"
#: Candidates of the SKU-total forecast: the quick models (the channel level has them too).
SKU_LEVEL_MODELS: tuple[str, ...] = BASELINE_MODELS
_KEY = ["sku", "window", "date"]


def _cross_mse(d: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per (keys, window): mean squared error of the series in its other windows (its own
    window's when it has no other), from rows with forecast and actual."""
    sq = (
        ((d["forecast"] - d["actual"]) ** 2)
        .groupby([d[k] for k in [*keys, "window"]])
        .agg(["sum", "size"])
    )
    tot = sq.groupby(level=keys).transform("sum")
    other_n = tot["size"] - sq["size"]
    other = (tot["sum"] - sq["sum"]) / other_n.where(other_n > 0)
    return other.fillna(sq["sum"] / sq["size"]).rename("var")


def level_backtest(
    series: pd.DataFrame,
    chosen: pd.DataFrame,
    horizon: int,
    n_windows: int,
    *,
    models: Sequence[str] = SKU_LEVEL_MODELS,
    shrink: float = 0.0,
    season: int = 7,
) -> pd.DataFrame:
    """Forecasts of every SKU total in the backtest windows of ``chosen``, four ways.

    Args:
        series: SKU x channel daily demand (:func:`.models.daily_demand`).
        chosen: :func:`.models.chosen_backtest` (nested) of the SKU x channel backtest.
        horizon, n_windows: as that backtest's.
        models: the SKU-total candidates, chosen per SKU the same nested way (``shrink``).

    Returns:
        One row per SKU x channel x window x day: channel_id, sku, window, date, actual,
        scale_rmse, bottom_up (the chosen forecast), top_down, mint_diag; and one row per
        SKU x window x day with channel_id :data:`ALL_CHANNELS`: actual, scale_rmse (of
        the SKU total), bottom_up, direct, mint_diag. Units per day.
    """
    keys, dates, _ = series_matrix(series)
    total = series.groupby(["sku", "date"], as_index=False)["units"].sum()
    total = total.assign(channel_id=ALL_CHANNELS)[["channel_id", "sku", "date", "units"]]
    bt_top = backtest(total, models, horizon, n_windows, season=season, dates=dates)
    top = chosen_backtest(bt_top, nested=True, shrink=shrink)
    top = top[top["window"].isin(chosen["window"].unique())]
    bottom = chosen[["channel_id", "sku", "window", "date", "actual", "forecast", "scale_rmse"]]
    b_var = _cross_mse(bottom, ["channel_id", "sku"])
    t_var = _cross_mse(top, ["sku"])
    bottom = bottom.join(b_var, on=["channel_id", "sku", "window"])
    sums = bottom.groupby(_KEY, sort=False)[["forecast", "var"]].sum()
    sums.columns = ["sum_b", "sum_var"]
    top = top[[*_KEY, "actual", "forecast", "scale_rmse"]].rename(columns={"forecast": "direct"})
    top = top.join(t_var, on=["sku", "window"])
    top = top.rename(columns={"var": "top_var"}).join(sums, on=_KEY, how="inner")
    w = top["sum_var"] / (top["sum_var"] + top["top_var"])
    top["mint_diag"] = top["sum_b"] + w.fillna(0.5) * (top["direct"] - top["sum_b"])
    top["bottom_up"] = top["sum_b"]
    bottom = bottom.merge(
        top[[*_KEY, "direct", "sum_b", "sum_var", "top_var"]], on=_KEY, how="inner"
    )
    n_ch = bottom.groupby(_KEY, sort=False)["forecast"].transform("size")
    share = np.where(
        bottom["sum_b"] > 0,
        bottom["forecast"] / bottom["sum_b"].where(bottom["sum_b"] > 0),
        1 / n_ch,
    )
    bottom["top_down"] = bottom["direct"] * share
    gain = bottom["var"] / (bottom["sum_var"] + bottom["top_var"])
    bottom["mint_diag"] = bottom["forecast"] + gain.fillna(0.0) * (
        bottom["direct"] - bottom["sum_b"]
    )
    bottom["bottom_up"] = bottom["forecast"]
    cols = ["channel_id", "sku", "window", "date", "actual", "scale_rmse"]
    low = bottom[[*cols, "bottom_up", "top_down", "mint_diag"]]
    high = top.assign(channel_id=ALL_CHANNELS)[[*cols, "bottom_up", "direct", "mint_diag"]]
    return pd.concat([low, high], ignore_index=True)


def level_accuracy(levels: pd.DataFrame) -> pd.DataFrame:
    """Mean RMSSE and WAPE of each way of forecasting, at the SKU x channel and SKU levels.

    Args:
        levels: :func:`level_backtest`.

    Returns:
        level (``sku x channel`` or ``sku``), method, mean_rmsse (over series x windows
        with a scale), wape (sum |error| / sum actual), series_windows; best first within
        each level.
    """
    rows = []
    for level, d in (
        ("sku x channel", levels[levels["channel_id"] != ALL_CHANNELS]),
        ("sku", levels[levels["channel_id"] == ALL_CHANNELS]),
    ):
        for method in ("bottom_up", "top_down", "direct", "mint_diag"):
            if method not in d or d[method].isna().all():
                continue
            err = d[method] - d["actual"]
            g = (err**2).groupby([d["channel_id"], d["sku"], d["window"]]).mean()
            scale = d.groupby(["channel_id", "sku", "window"])["scale_rmse"].first()
            r = np.sqrt(g) / scale.where(scale > 0)
            rows.append(
                {
                    "level": level,
                    "method": method,
                    "mean_rmsse": float(r.mean()),
                    "wape": float(err.abs().sum() / d["actual"].sum())
                    if d["actual"].sum() > 0
                    else np.nan,
                    "series_windows": int(r.notna().sum()),
                }
            )
    out = pd.DataFrame(rows, columns=["level", "method", "mean_rmsse", "wape", "series_windows"])
    return out.sort_values(["level", "mean_rmsse"], ascending=[False, True], ignore_index=True)


#: Relative RMSSE gaps below this are called a tie in :func:`coherence_finding`.
TIE = 0.005

_WORDS = {
    "bottom_up": "summing the channel forecasts (bottom-up)",
    "direct": "forecasting the SKU total directly",
    "top_down": "splitting the direct SKU total over the channels (top-down)",
    "mint_diag": "reconciling the two by their error variances (MinT, diagonal)",
}


def coherence_finding(acc: pd.DataFrame) -> str:
    """One sentence from :func:`level_accuracy`: which way forecasts the SKU totals best,
    by how much against bottom-up, and that the written forecasts are bottom-up.

    Raises:
        ValueError: ``acc`` has no SKU-level row.
    """
    sku = acc[(acc["level"] == "sku") & acc["mean_rmsse"].notna()]
    if sku.empty:
        raise ValueError("no SKU-level accuracy to describe")
    best = sku.sort_values("mean_rmsse", kind="stable").iloc[0]
    bu = sku.loc[sku["method"] == "bottom_up", "mean_rmsse"]
    head = (
        f"SKU totals are forecast best by {_WORDS[best['method']]}: mean RMSSE "
        f"{best['mean_rmsse']:.3f}"
    )
    if best["method"] == "bottom_up" or bu.empty:
        others = sku[sku["method"] != best["method"]]
        tail = (
            f", against {others['mean_rmsse'].min():.3f} for the next best way"
            if len(others)
            else ""
        )
        return (
            head + tail + "; the forecasts written are bottom-up, so channels add up to each SKU."
        )
    gap = 1 - best["mean_rmsse"] / float(bu.iloc[0])
    if gap < TIE:
        return (
            f"Forecasting the SKU totals another way does not pay: the best, "
            f"{_WORDS[best['method']]}, has mean RMSSE {best['mean_rmsse']:.3f} against "
            f"{float(bu.iloc[0]):.3f} for bottom-up (less than {TIE:.1%} apart); the forecasts "
            "written are bottom-up, so channels add up to each SKU."
        )
    mint = sku.loc[sku["method"] == "mint_diag", "mean_rmsse"]
    tail = ""
    if best["method"] != "mint_diag" and len(mint):
        m = float(mint.iloc[0])
        tail = (
            f"; MinT, which keeps the channels adding up, gets {m:.3f}"
            if m < (1 - TIE) * float(bu.iloc[0])
            else f"; MinT, which keeps the channels adding up, does not beat bottom-up ({m:.3f})"
        )
    return (
        head
        + f", {gap:.1%} below bottom-up ({float(bu.iloc[0]):.3f})"
        + tail
        + "; the forecasts written are bottom-up, so channels add up to each SKU."
    )
