"""Stage 04 on real data: its per-series choice against statsforecast baselines, same run.

Run from the repository root:

    .venv/bin/python benchmarks/bench_forecast_real.py [--dataset /tmp/or_forecast]

Data: the UCI Online Retail II file (``../shared/data/online_retail_ii_2009_2010.parquet``,
Chen 2019, CC BY 4.0), written as the store's two raw exports by
:func:`online_retail.write_dataset` and read by the intake as stage 00 reads it
(:func:`channelops.ingest.intake.ingest_lines`); daily demand per SKU x channel and the
backtest as notebook 04 builds them (``daily_demand``, ``demand_features``, ``backtest``
with the default models, ``series_metrics``, ``choose_models``, ``chosen_backtest``,
``forecast_future``).

Protocol (the forecasting issue):

* channel ``uk_web``; at each scored origin, the top ``--top`` SKUs by units over the 26
  weeks before it; ``--horizon`` days ahead; ``--origins`` rolling origins, the last
  ``origins x horizon`` days of the data cut into consecutive windows;
* 04 as it would run with the data ending at the origin: one backtest of ``--inner``
  windows before the origin (all series, both channels), ``choose_models`` on them,
  ``forecast_future`` with the conformal scores of ``chosen_backtest`` on those windows;
  nothing after the origin is seen;
* baselines fitted by statsforecast on the same histories (each series from its first
  sale to the origin): AutoETS(7), ADIDA, WindowAverage(28), SeasonalNaive(7);
* RMSSE per series and origin: RMSE over the window divided by the in-sample RMSE of the
  one-step naive forecast of that series' history (M5); the mean over series and origins,
  and that mean relative to SeasonalNaive(7). Target: chosen <= 0.95 x the best baseline.

Also printed: the models 04 picks, 04's own grading of its choice on the same windows
(each window scored with the model chosen on the *other* scored windows, later ones
included, as ``chosen_backtest`` does), and the coverage of 04's 80% and 95% intervals by
velocity quintile (units per day over the 26 weeks before the origin, within each origin's
top SKUs). Figures are printed as markdown tables, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import online_retail
import pandas as pd

from channelops.ingest.dataset import load_dataset
from channelops.ingest.intake import ingest_lines
from channelops.stages import forecasting as fc

with warnings.catch_warnings():
    # statsforecast imports tqdm.auto, which warns about missing ipywidgets
    warnings.simplefilter("ignore")
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

KEYS = ["channel_id", "sku"]
LEVELS = (0.8, 0.95)
BASELINES = ["AutoETS", "ADIDA", "WindowAverage", "SeasonalNaive"]
REFERENCE = "SeasonalNaive"
AUTOETS_CLIPPED = "AutoETS clipped at 0"
CHOSEN = "04 chosen"
CHOSEN_04_GRADING = "04 chosen, 04's grading"
#: England and Wales bank holidays over the data (gov.uk), substitute days included.
UK_BANK_HOLIDAYS = [
    "2009-01-01", "2009-04-10", "2009-04-13", "2009-05-04", "2009-05-25", "2009-08-31",
    "2009-12-25", "2009-12-28", "2010-01-01", "2010-04-02", "2010-04-05", "2010-05-03",
    "2010-05-31", "2010-08-30", "2010-12-27", "2010-12-28", "2011-01-03", "2011-04-22",
    "2011-04-25", "2011-04-29", "2011-05-02", "2011-05-30", "2011-08-29", "2011-12-26",
    "2011-12-27",
]  # fmt: skip


def intake(folder: Path):
    """Write the Online Retail II dataset into ``folder`` and ingest it as stage 00 does.

    Returns:
        what :func:`ingest_lines` returns (lines, quarantine, duplicates, rows_read ...).
    """
    online_retail.write_dataset(folder)
    return ingest_lines(load_dataset(folder))


def scored_origins(
    dates: pd.DatetimeIndex, horizon: int, n_origins: int, n_inner: int
) -> list[tuple[int, pd.Timestamp]]:
    """(backtest window, origin date) of each scored origin.

    The backtest (as :func:`backtest` numbers its windows) cuts ``n_origins + n_inner`` consecutive windows of ``horizon`` days from
    the end of ``dates`` (window 1 earliest); the last ``n_origins`` are scored, each after
    ``n_inner`` earlier windows that make 04's choice for it.

    Raises:
        ValueError: the data is too short for that many windows.
    """
    n_windows = n_origins + n_inner
    first = len(dates) - n_windows * horizon
    if first < 2 * horizon:
        raise ValueError(f"{len(dates)} days are too few for {n_windows} windows of {horizon} days")
    return [(w, dates[first + (w - 1) * horizon]) for w in range(n_inner + 1, n_windows + 1)]


def top_skus(
    series: pd.DataFrame, channel: str, origin: pd.Timestamp, n: int, weeks: int = 26
) -> pd.DataFrame:
    """The ``n`` SKUs of ``channel`` with the most units in the ``weeks`` before ``origin``.

    Returns:
        channel_id, sku, units (over those weeks), velocity (units per day), quintile
        (1 = slowest fifth of the ``n``, 5 = fastest).
    """
    start = origin - pd.Timedelta(days=7 * weeks)
    past = series[
        (series["channel_id"] == channel) & (series["date"] >= start) & (series["date"] < origin)
    ]
    if past.empty:
        raise ValueError(
            f"no demand on channel {channel!r} in the {weeks} weeks before {origin.date()}"
        )
    units = past.groupby(KEYS, sort=True)["units"].sum().nlargest(n).reset_index()
    units["velocity"] = units["units"] / (7 * weeks)
    ranks = units["velocity"].rank(method="first")
    units["quintile"] = pd.qcut(ranks, 5, labels=False) + 1
    return units


def m5_scale(series: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """In-sample RMSE of the one-step naive forecast of each series' history before ``origin``.

    Histories start at each series' first sale (as :func:`daily_demand` builds them), as in
    the M5 competition's RMSSE.

    Returns:
        channel_id, sku, scale (units per day; NaN with fewer than two days of history).
    """
    hist = series[series["date"] < origin].sort_values([*KEYS, "date"])
    step = hist.groupby(KEYS, sort=False)["units"].diff()
    sq = (step**2).groupby([hist["channel_id"], hist["sku"]], sort=True).mean()
    return np.sqrt(sq).rename("scale").reset_index()


def rmsse(scored: pd.DataFrame) -> pd.DataFrame:
    """RMSSE per (model, origin, series) of rows with actual, forecast and scale.

    Returns:
        model, origin, channel_id, sku, rmsse, days.
    """
    need = {"model", "origin", *KEYS, "actual", "forecast", "scale"}
    missing = need - set(scored)
    if missing:
        raise KeyError(f"scored rows lack columns {sorted(missing)}")
    se = (scored["forecast"] - scored["actual"]) ** 2
    g = scored.assign(se=se).groupby(["model", "origin", *KEYS], sort=True)
    out = g.agg(mse=("se", "mean"), scale=("scale", "first"), days=("se", "size")).reset_index()
    out["rmsse"] = np.sqrt(out["mse"]) / out["scale"].where(out["scale"] > 0)
    return out.drop(columns=["mse", "scale"])


def baseline_forecasts(series: pd.DataFrame, origin: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """statsforecast's baselines for every series in ``series``, fitted on the days before ``origin``.

    Returns:
        channel_id, sku, date, model (one of :data:`BASELINES`), forecast (as statsforecast
        returns it, not clipped) and AutoETS clipped at zero (not one of the target's
        baselines).
    """
    hist = series[series["date"] < origin]
    uid = hist["channel_id"] + "|" + hist["sku"]
    df = pd.DataFrame(
        {"unique_id": uid.to_numpy(), "ds": hist["date"].to_numpy(), "y": hist["units"].to_numpy()}
    )
    models = [
        sfm.AutoETS(season_length=7),
        sfm.ADIDA(),
        sfm.WindowAverage(window_size=28),
        sfm.SeasonalNaive(season_length=7),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = StatsForecast(models=models, freq="D", n_jobs=1).forecast(df=df, h=horizon)
    res = res.reset_index() if "unique_id" not in res.columns else res
    long = res.melt(
        id_vars=["unique_id", "ds"], value_vars=BASELINES, var_name="model", value_name="forecast"
    )
    ets = long[long["model"] == "AutoETS"]
    long = pd.concat(
        [long, ets.assign(model=AUTOETS_CLIPPED, forecast=ets["forecast"].clip(lower=0))]
    )
    parts = long["unique_id"].str.split("|", n=1, expand=True)
    return pd.DataFrame(
        {
            "channel_id": parts[0],
            "sku": parts[1],
            "date": long["ds"],
            "model": long["model"],
            "forecast": long["forecast"].to_numpy(float),
        }
    )


def forecast_at_origin(
    series: pd.DataFrame,
    features: pd.DataFrame,
    bt: pd.DataFrame,
    metrics: pd.DataFrame,
    window: int,
    n_inner: int,
    origin: pd.Timestamp,
    horizon: int,
    shrink: float = 0.0,
    classes: int = 1,
    model_kw: dict | None = None,
) -> pd.DataFrame:
    """04's forecast of every series from ``origin``, as 04 would make it on the data
    before ``origin``: choice on the ``n_inner`` backtest windows before it, conformal
    intervals from their chosen-model scores (all series of all channels).

    Returns:
        channel_id, sku, date, forecast, picked (the model 04 chose), lower_80, upper_80,
        lower_95, upper_95.
    """
    inner_w = list(range(window - n_inner, window))
    inner = bt[bt["window"].isin(inner_w)]
    inner_m = metrics[metrics["window"].isin(inner_w)]
    choice = fc.choose_models(inner_m, shrink=shrink)
    chosen_inner = fc.chosen_backtest(inner, inner_m, shrink=shrink)
    past = series[series["date"] < origin]
    feats = features[features["date"] < origin]
    out = None
    for lv in LEVELS:
        f = fc.forecast_future(
            past,
            choice,
            inner,
            horizon,
            lv,
            features=feats,
            chosen=chosen_inner,
            velocity_classes=classes,
            **(model_kw or {}),
        )
        tag = f"{round(lv * 100)}"
        f = f.rename(columns={"lower": f"lower_{tag}", "upper": f"upper_{tag}", "model": "picked"})
        out = (
            f
            if out is None
            else out.merge(f[[*KEYS, "date", f"lower_{tag}", f"upper_{tag}"]], on=[*KEYS, "date"])
        )
    return out


def scored_rows(
    series: pd.DataFrame,
    features: pd.DataFrame,
    bt: pd.DataFrame,
    channel: str,
    n_top: int,
    horizon: int,
    n_inner: int,
    windows: list[tuple[int, pd.Timestamp]],
    shrink: float = 0.0,
    classes: int = 1,
    model_kw: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every scored forecast (04's models, 04's choice both ways, baselines) with actual and scale.

    Returns:
        (rows: origin, window, channel_id, sku, date, model, forecast, actual, scale, for
         the top series; top: 04's honest-in-time forecast of the top series with picked
         model, intervals, actual, velocity and quintile; every: the same forecast of
         every series of every channel, with actual).
    """
    metrics = fc.series_metrics(bt)
    scored_w = [w for w, _ in windows]
    own = fc.chosen_backtest(
        bt[bt["window"].isin(scored_w)], metrics[metrics["window"].isin(scored_w)], shrink=shrink
    )
    rows, tops, every = [], [], []
    for w, origin in windows:
        top = top_skus(series, channel, origin, n_top)
        end = origin + pd.Timedelta(days=horizon)
        actual = series[(series["date"] >= origin) & (series["date"] < end)].rename(
            columns={"units": "actual"}
        )
        scale = m5_scale(series.merge(top[KEYS], on=KEYS), origin)
        mine = forecast_at_origin(
            series, features, bt, metrics, w, n_inner, origin, horizon, shrink, classes, model_kw
        )
        mine = mine.merge(actual, on=[*KEYS, "date"]).assign(origin=origin, window=w)
        every.append(mine)
        mine = mine.merge(top, on=KEYS)
        tops.append(mine)
        parts = [
            bt[bt["window"] == w][[*KEYS, "date", "model", "forecast"]].merge(top[KEYS], on=KEYS),
            own[own["window"] == w][[*KEYS, "date", "forecast"]]
            .merge(top[KEYS], on=KEYS)
            .assign(model=CHOSEN_04_GRADING),
            mine[[*KEYS, "date", "forecast"]].assign(model=CHOSEN),
            baseline_forecasts(series.merge(top[KEYS], on=KEYS), origin, horizon),
        ]
        block = (
            pd.concat(parts, ignore_index=True)
            .merge(actual, on=[*KEYS, "date"])
            .merge(scale, on=KEYS)
        )
        rows.append(block.assign(origin=origin, window=w))
    return (
        pd.concat(rows, ignore_index=True),
        pd.concat(tops, ignore_index=True),
        pd.concat(every, ignore_index=True),
        own,
    )


def accuracy_table(per_series: pd.DataFrame) -> pd.DataFrame:
    """Mean RMSSE per model over series and origins, relative to :data:`REFERENCE`, and per origin."""
    mean = per_series.groupby("model")["rmsse"].mean()
    by_origin = per_series.pivot_table(
        index="model", columns="origin", values="rmsse", aggfunc="mean"
    )
    by_origin.columns = [f"rel. {c.date()}" for c in by_origin.columns]
    ref_origin = by_origin.loc[REFERENCE]
    out = pd.DataFrame({"mean RMSSE": mean, "rel. to seasonal naive": mean / mean[REFERENCE]})
    out = out.join(by_origin.div(ref_origin, axis=1))
    out["series x origins"] = per_series.groupby("model")["rmsse"].count()
    return out.sort_values("mean RMSSE")


def _coverage(d: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
    """Share of days inside the 80% and 95% bounds, and mean widths, per value of ``by``."""
    cols = {}
    for lv in LEVELS:
        tag = f"{round(lv * 100)}"
        inside = (d["actual"] >= d[f"lower_{tag}"] - 1e-9) & (
            d["actual"] <= d[f"upper_{tag}"] + 1e-9
        )
        cols[f"coverage {tag}%"] = inside.groupby(by).mean()
        cols[f"mean width {tag}%"] = (d[f"upper_{tag}"] - d[f"lower_{tag}"]).groupby(by).mean()
    cols["mean actual"] = d["actual"].groupby(by).mean()
    cols["series x days"] = d["actual"].groupby(by).size()
    return pd.DataFrame(cols)


def coverage_table(top: pd.DataFrame, every: pd.DataFrame, n_top: int) -> pd.DataFrame:
    """Coverage of 04's intervals on the scored windows: the top series by velocity quintile,
    all of them, and every series of every channel (the population the intervals are
    calibrated on). Widths and actuals in units per day."""
    by_q = _coverage(top, top["quintile"].map(lambda q: f"top {n_top}, quintile {q}"))
    parts = [
        by_q,
        _coverage(top, pd.Series(f"top {n_top}, all", index=top.index)),
        _coverage(every, pd.Series("every series, both channels", index=every.index)),
    ]
    return pd.concat(parts).rename_axis("series")


def consistency(rows: pd.DataFrame) -> dict[str, float]:
    """Largest absolute difference between 04's models and statsforecast's same models
    (adida vs ADIDA, seasonal_naive vs SeasonalNaive), a check that both see the same data."""
    wide = rows.pivot_table(index=["origin", *KEYS, "date"], columns="model", values="forecast")
    return {
        "adida - ADIDA": float((wide["adida"] - wide["ADIDA"]).abs().max()),
        "seasonal_naive - SeasonalNaive": float(
            (wide["seasonal_naive"] - wide["SeasonalNaive"]).abs().max()
        ),
    }


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A markdown table of ``frame`` with its index as the first column, floats rounded."""
    d = frame.reset_index()

    def cell(v) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(map(str, d.columns)) + " |"
    rule = "|" + "---|" * len(d.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in d.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def report(
    rows: pd.DataFrame,
    top: pd.DataFrame,
    every: pd.DataFrame,
    n_top: int,
    seconds: float,
    own: pd.DataFrame | None = None,
    classes: int = 5,
) -> None:
    """Print the markdown tables and the target check."""
    per_series = rmsse(rows)
    acc = accuracy_table(per_series)
    print("## Mean RMSSE over series and origins\n")
    print(markdown(acc))
    best = acc.loc[BASELINES, "mean RMSSE"].idxmin()
    ratio = acc.loc[CHOSEN, "mean RMSSE"] / acc.loc[best, "mean RMSSE"]
    print(f"\nchosen / best baseline ({best}) mean RMSSE: {ratio:.3f} (target <= 0.95)")
    print(
        f"04's grading / best baseline: {acc.loc[CHOSEN_04_GRADING, 'mean RMSSE'] / acc.loc[best, 'mean RMSSE']:.3f}"
    )
    print("\n## Models 04 picks (series x origins)\n")
    picks = top.drop_duplicates(["origin", *KEYS])["picked"].value_counts()
    print(markdown(pd.DataFrame({"series x origins": picks, "share": picks / picks.sum()})))
    print("\n## 04's intervals on the scored windows (velocity quintile 1 = slowest)\n")
    print(markdown(coverage_table(top, every, n_top)))
    if own is not None:
        print(
            "\n## 04's chosen backtest, every series: intervals pooled vs per velocity class "
            "(cross-conformal over the scored windows; class 1 = slowest)\n"
        )
        vcov = fc.velocity_coverage(own, LEVELS, max(classes, 2))
        print(markdown(vcov.set_index(["method", "level", "velocity_class"])))
    neg = int((rows.loc[rows["model"].isin(BASELINES), "forecast"] < 0).sum())
    print(
        f"\nconsistency (max abs difference, units/day): {consistency(rows)}; "
        f"negative baseline forecasts: {neg}"
    )
    print(f"run time {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default=None, help="folder to write the dataset to (default: a temporary one)"
    )
    parser.add_argument("--channel", default="uk_web")
    parser.add_argument("--top", type=int, default=50, help="SKUs scored per origin")
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origins", type=int, default=3, help="scored rolling origins")
    parser.add_argument(
        "--inner", type=int, default=3, help="04's backtest windows before each origin"
    )
    parser.add_argument(
        "--shrink", type=float, default=0.2, help="choose_models' shrink toward the global model"
    )
    parser.add_argument(
        "--interval-classes", type=int, default=5, help="forecast_future's velocity_classes"
    )
    parser.add_argument(
        "--models",
        default=",".join(fc.DEFAULT_MODELS),
        help="04's candidate models, comma separated (default: 04's default set)",
    )
    parser.add_argument(
        "--uk-holidays", action="store_true", help="give 04's gbm the England bank holidays"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ingested = intake(Path(args.dataset or Path(tmp) / "online_retail"))
    read = sum(ingested.rows_read.values())
    lines = ingested.lines
    print(
        f"intake: {read:,} rows read, {len(ingested.lines):,} accepted, "
        f"{len(ingested.quarantine):,} quarantined ({len(ingested.quarantine) / read:.1%}), "
        f"{len(ingested.duplicates):,} repeated rows removed",
        file=sys.stderr,
    )
    series = fc.daily_demand(lines)
    features = fc.demand_features(lines, series)
    del lines, ingested
    dates = pd.date_range(series["date"].min(), series["date"].max(), freq="D")
    windows = scored_origins(dates, args.horizon, args.origins, args.inner)
    model_kw = {"holidays": pd.DatetimeIndex(UK_BANK_HOLIDAYS)} if args.uk_holidays else {}
    bt = fc.backtest(
        series,
        fc.model_names(args.models),
        args.horizon,
        args.origins + args.inner,
        features=features,
        **model_kw,
    )
    starts = bt.groupby("window")["date"].min()
    if any(starts[w] != origin for w, origin in windows):
        raise RuntimeError(f"backtest windows start on {starts.to_dict()}, expected {windows}")
    rows, top, every, own = scored_rows(
        series,
        features,
        bt,
        args.channel,
        args.top,
        args.horizon,
        args.inner,
        windows,
        args.shrink,
        args.interval_classes,
        model_kw,
    )
    print(
        f"{series.groupby(KEYS).ngroups:,} series, {dates[0].date()} to {dates[-1].date()}; "
        f"origins {', '.join(str(o.date()) for _, o in windows)}\n"
    )
    report(rows, top, every, args.top, time.perf_counter() - t0, own, args.interval_classes)


if __name__ == "__main__":
    main()
