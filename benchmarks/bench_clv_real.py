"""01's purchase forecasts on a real store: Online Retail II, scored on a 13-week holdout.

Data: ``../shared/data/online_retail_ii_2009_2010.parquet`` (Chen 2019, UCI Machine Learning
Repository, CC BY 4.0), written by :func:`online_retail.write_dataset` (the one converter)
and read by the intake as stage 00 reads it; 01's per-customer view of it (guest lines left
out, purchases only, net revenue) is what is scored. For each cut-off (end of May 2010:
scored on June to August; end of August 2010: scored on September to November, the ramp to
the Christmas peak) :func:`channelops.stages.segmentation.holdout_check` (what 01 runs)
fits on the history up to the cut-off and scores, per customer known at the cut-off, the
purchase days in the next 13 weeks of: the naive repeat rate (repeat purchase days per week
before the cut-off x 13), BG/NBD, and the gradient-boosted next-period model (three seeds).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv_real.py   # writes results/clv_real.md
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import online_retail
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import cross_val_predict

from channelops.customers import customer_orders, identified_lines, money_column
from channelops.ingest.dataset import load_dataset
from channelops.ingest.intake import ingest_lines
from channelops.stages import segmentation as seg

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "clv_real.md"
CUT_OFFS = ("2010-05-31", "2010-08-31")
HOLDOUT_WEEKS = 13
SEEDS = (0, 1, 2)
#: Name of the bound: the same regressor fitted on the holdout itself.
BOUND = "bound: gradient boosting fitted on the holdout (5-fold CV over customers)"


def real_orders(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write and ingest the dataset; return 01's orders and the identified lines."""
    online_retail.write_dataset(folder)
    lines = ingest_lines(load_dataset(folder)).lines
    kept, _ = identified_lines(lines)
    return customer_orders(kept, money=money_column(kept)), kept


def known_at(lines: pd.DataFrame, cut: pd.Timestamp) -> int:
    """Non-guest buyers with any line (purchase or not) on or before the cut-off."""
    day = pd.to_datetime(lines["order_ts_local"]).dt.normalize()
    return int(lines.loc[day <= cut, "buyer_ref"].nunique())


def holdout_fitted_bound(orders: pd.DataFrame, cut: pd.Timestamp, actual: pd.Series) -> float:
    """MAE of the regressor trained on the holdout window itself, by 5-fold CV across
    customers: not a forecast (it sees the season it predicts), a bound on what these
    features can tell apart."""
    x = seg.next_period.purchase_day_features(orders, cut).reindex(actual.index)
    model = seg.next_period._regressor("absolute_error", 0)
    pred = cross_val_predict(model, x, actual.to_numpy(float), cv=5)
    return float(np.abs(pred - actual.to_numpy(float)).mean())


def segment_section(orders: pd.DataFrame, lines: pd.DataFrame, seed: int = 42) -> list[str]:
    """01's K-means segments (its default k search) and named RFM segments on the store,
    with the bootstrap stability of the chosen segments."""
    as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    features = seg.customer_features(orders, as_of, lines=lines, products=None)
    t = time.perf_counter()
    model = seg.fit_segments(features, k=0, seed=seed, k_range=(4, 8))
    took = time.perf_counter() - t
    found = model.predict(features)
    x = model.transform(features)
    rng = np.random.default_rng(seed)
    aris = []
    for b in range(20):
        idx = rng.integers(0, len(x), len(x))
        km = KMeans(n_clusters=model.k, n_init=10, random_state=seed + 1 + b).fit(x[idx])
        aris.append(adjusted_rand_score(found.to_numpy(), km.predict(x)))
    shares = found.value_counts(normalize=True).rename("customer_share").reset_index()
    rfm = seg.rfm_scores(features)
    named = seg.rfm_segment_table(features, seg.rfm_segments(rfm))
    return [
        "",
        f"## Segments ({len(features):,} customers, features as of {as_of.date()})",
        "",
        f"01's defaults (k searched over 4..8, min_segment_share 0.05, min_stability 0.7, "
        f"seed {seed}): k = {model.k} chosen in {took:.1f} s. Bootstrap stability of the "
        f"chosen segments (K-means with k = {model.k} refitted on 20 resamples of the "
        f"customers, adjusted Rand index against the segments): mean {np.mean(aris):.3f}, "
        f"min {np.min(aris):.3f}.",
        "",
        markdown(model.selection),
        "",
        markdown(shares),
        "",
        "Named RFM segments (score rules, 5 bins):",
        "",
        markdown(named),
    ]


def markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS), help="Markdown file to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        orders, lines = real_orders(Path(tmp) / "online_retail")
        prep = time.perf_counter() - t0
    parts = [
        "# 01 purchase forecasts on Online Retail II (13-week holdout)",
        "",
        "Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv_real.py`",
        "",
        f"{len(orders):,} orders of {orders['customer_id'].nunique():,} identified customers "
        f"(intake and orders: {prep:.0f} s). Scores are purchase days (days with a purchase) "
        "per customer known at the cut-off; mae_ratio is the MAE over the naive repeat "
        "rate's; total_error is (predicted - actual) / actual.",
    ]
    for cut_text in CUT_OFFS:
        cut = pd.Timestamp(cut_text)
        end = cut + pd.Timedelta(weeks=HOLDOUT_WEEKS)
        scope = orders[orders["order_ts"] < end + pd.Timedelta(days=1)]
        rows = []
        for seed in SEEDS:
            t = time.perf_counter()
            check = seg.holdout_check(scope, end, calibration_end=cut_text, seed=seed)
            took = time.perf_counter() - t
            scores = check.scores.assign(seed=str(seed))
            rows.append(scores if seed == SEEDS[0] else scores.iloc[2:])
        table = pd.concat(rows, ignore_index=True)
        actual = check.summary["frequency_holdout"]
        bound = holdout_fitted_bound(
            scope[scope["order_ts"] < cut + pd.Timedelta(days=1)], cut, actual
        )
        naive_mae = float(table["mae"].iloc[0])
        table = pd.concat(
            [table, pd.DataFrame([{"model": BOUND, "customers": len(actual), "mae": bound,
                                   "mae_ratio": bound / naive_mae, "seed": "0"}])],
            ignore_index=True,
        )  # fmt: skip
        unscored = int(check.next_period["reason"].ne("").sum())
        parts += [
            "",
            f"## Cut-off {cut.date()}, holdout to {end.date()}",
            "",
            f"Customers known at the cut-off: {len(check.summary):,} with a purchase "
            f"({known_at(lines, cut):,} non-guest buyers with any line, cancellations "
            f"included); rows scored by every forecast: {len(check.summary):,}; without a "
            f"gradient-boosted forecast: {unscored}. One check: {took:.1f} s.",
            "",
            markdown(table),
            "",
            "Spend in the holdout (GBP per customer; the same for each seed):",
            "",
            markdown(check.spend_scores),
            "",
            "Mean purchase days in the holdout by calibration repeat purchase days:",
            "",
            markdown(check.groups.reset_index(drop=True)),
            "",
            *[f"- {s}" for s in seg.holdout.holdout_findings(check.scores)],
        ]
    parts += segment_section(orders, lines)
    Path(args.out).write_text("\n".join(parts) + "\n")
    print("\n".join(parts))


if __name__ == "__main__":
    main()
