"""Simulator 2's marketing truth: response curves, halo, weekly revenue by cause, paid and
organic acquisitions, stock-out spells and lift tests (truth/ and the dataset's
lift_tests.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import marketing as mkt
from .presets import START_DATE
from .world import rng_for

LIFT_SE_REL = 0.15  # lift-test standard error: share of the effect ...
LIFT_SE_ABS = 0.03  # ... plus this share of the channel's weekly revenue x sqrt(weeks)
Z95 = 1.959964


def _date(day) -> np.ndarray:
    d = np.datetime64(START_DATE) + np.asarray(day).astype("timedelta64[D]")
    return d.astype(str)


def halo_table(active) -> pd.DataFrame:
    """source_channel_id, target_channel_id, kind (halo | cannibalisation), share."""
    ids = {c.id for c in active}
    rows = [
        (c.id, t, kind, float(f))
        for c in active
        for kind, d in (("halo", c.halo), ("cannibalisation", c.cannibalises))
        for t, f in d.items()
        if t in ids
    ]
    return pd.DataFrame(rows, columns=["source_channel_id", "target_channel_id", "kind", "share"])


def net_factor(curves: pd.DataFrame, halo: pd.DataFrame) -> pd.Series:
    """Business-wide incremental revenue per unit of direct response, per source channel:
    1 + sum halo - sum cannibalised x (target order value / source order value)."""
    mov = curves.set_index("channel_id")["mean_order_value"]
    f = pd.Series(1.0, index=curves["channel_id"])
    for r in halo.itertuples():
        if r.kind == "halo":
            f[r.source_channel_id] += r.share
        else:
            f[r.source_channel_id] -= r.share * mov[r.target_channel_id] / mov[r.source_channel_id]
    return f


def write_marketing_truth(out: Path, active, mstate, acc, catalog, cal, seed, counts) -> None:
    """Write the marketing part of truth/ and lift_tests.csv (see docs/design-notes.md)."""
    truth = Path(out) / "truth"
    ids = [c.id for c in active]
    C, W = acc["wk_rev"].shape[1], acc["wk_rev"].shape[2]
    halo = halo_table(active)
    halo.to_parquet(truth / "halo.parquet", index=False)
    cur = mstate.curves.copy()
    cur["mean_order_value"] = mstate.mhat
    rev = acc["wk_rev"].sum(axis=(0, 2))
    cost = acc["sku_units"] @ catalog.products["unit_cost"].to_numpy()
    gm = 1.0 - cost / np.maximum(rev, 1.0)
    comm = np.array([c.commission for c in active])
    cur["gross_margin"] = gm
    cur["commission_rate"] = comm
    cur["contribution_margin"] = gm - comm
    cur["net_halo_share"] = net_factor(cur, halo).to_numpy() - 1.0
    cur = mkt.hill_equivalent(cur)
    cur["base_weekly_revenue"] = np.round(acc["wk_rev"][0].mean(axis=1), 2)
    cust = pd.read_parquet(
        truth / "customers.parquet",
        columns=["acquired_by", "acquisition_channel", "value_52w_after_first"],
    )
    paid = cust[cust["acquired_by"] == "paid"]
    v = paid.groupby("acquisition_channel")["value_52w_after_first"].mean()
    cur["new_customer_value_52w"] = (
        cur["channel_id"]
        .map(v)
        .fillna(float(paid["value_52w_after_first"].mean()) if len(paid) else 0.0)
    )
    cur.to_parquet(truth / "response_curves.parquet", index=False)
    spend = mstate.spend
    net = 1.0 + cur["net_halo_share"].to_numpy()
    wr = []
    for c, cid in enumerate(ids):
        s = spend.loc[spend["channel_id"] == cid].sort_values("week")["spend"].to_numpy()
        stock = mkt.stock_of(cur.iloc[c], s)
        wr.append(
            pd.DataFrame(
                {
                    "channel_id": cid,
                    "week_start": _date(np.arange(W) * 7),
                    "spend": s,
                    "adstock": stock,
                    "expected_marketing_revenue": mstate.resp[c],
                    "expected_incremental_revenue": mstate.resp[c] * net[c],
                    "organic_revenue": acc["wk_rev"][0, c],
                    "marketing_revenue": acc["wk_rev"][1, c],
                    "experiment_revenue": acc["wk_rev"][2, c],
                    "halo_revenue": acc["wk_rev"][3, c],
                    "moved_out_revenue": acc["moved_out"][c],
                    "new_customers_paid": acc["new_customers"][c],
                    "new_customers_organic": acc["organic_new"][c],
                    "total_revenue": acc["wk_rev"][:, c].sum(axis=0),
                    "demand_revenue": acc["wk_dem"][:, c].sum(axis=0),
                }
            )
        )
    weekly = pd.concat(wr, ignore_index=True)
    weekly.to_parquet(truth / "weekly_revenue.parquet", index=False)
    weekly[["channel_id", "week_start", "new_customers_paid", "new_customers_organic"]].to_parquet(
        truth / "new_customers.parquet", index=False
    )
    lt = lift_tests(mstate.lift, cur, weekly, seed)
    lt.to_parquet(truth / "lift_tests.parquet", index=False)
    cols = ["channel_id", "start_date", "end_date", "spend_change", "incremental_revenue"]
    lt[[*cols, "ci_low", "ci_high"]].to_csv(
        Path(out) / "lift_tests.csv", index=False, lineterminator="\n", float_format="%.2f"
    )
    counts["lift_tests.csv"] = len(lt)
    del C, catalog, cal


def write_stockouts(truth: Path, spells: pd.DataFrame, catalog) -> None:
    """truth/stockouts.parquet: sku, start_date, end_date (inclusive) of every stock-out
    spell (one stock for all channels; lines of the SKU ordered on those days, by the
    buyer's local date, are lost sales: kept in the demand truth, left out of the exports)."""
    skus = catalog.products["sku"].to_numpy()
    pd.DataFrame(
        {
            "sku": skus[spells["sku"].to_numpy()],
            "start_date": _date(spells["first_day"].to_numpy()),
            "end_date": _date(spells["last_day"].to_numpy()),
        }
    ).to_parquet(Path(truth) / "stockouts.parquet", index=False)


def lift_tests(tests: pd.DataFrame, curves: pd.DataFrame, weekly: pd.DataFrame, seed: int):
    """True and measured effects of the lift tests.

    True effect: business-wide revenue (halo and cannibalisation included) of the weeks
    from start to LIFT_POST_WEEKS after the end, with the test's spend minus with the
    planned spend. Measured: true + Normal(0, se), se = LIFT_SE_REL x |true| + LIFT_SE_ABS
    x sqrt(weeks) x the channel's mean weekly revenue; interval +- 1.96 se.
    """
    rng = rng_for(seed, "lift_measure")
    cols = [
        "channel_id", "start_date", "end_date", "spend_change", "incremental_revenue",
        "ci_low", "ci_high", "true_incremental_revenue", "standard_error", "relative_change",
        "measured_until",
    ]  # fmt: skip
    if len(tests) == 0:
        return pd.DataFrame(columns=cols)
    rows = []
    for t in tests.itertuples():
        r = curves.set_index("channel_id").loc[t.channel_id]
        w = weekly[weekly["channel_id"] == t.channel_id]
        actual = w["spend"].to_numpy()
        planned = np.asarray(t.planned, float)
        end = min(t.last_week + 1 + mkt.LIFT_POST_WEEKS, len(actual))
        d = mkt.response_of(r, actual) - mkt.response_of(r, planned)
        effect = float(d[t.first_week : end].sum() * (1 + r.net_halo_share))
        nw = end - t.first_week
        se = LIFT_SE_REL * abs(effect) + LIFT_SE_ABS * np.sqrt(nw) * w["total_revenue"].mean()
        meas = effect + rng.normal(0, se)
        rows.append(
            {
                "channel_id": t.channel_id,
                "start_date": str(_date(7 * t.first_week)),
                "end_date": str(_date(7 * t.last_week + 6)),
                "spend_change": round(t.spend_change, 2),
                "incremental_revenue": round(meas, 2),
                "ci_low": round(meas - Z95 * se, 2),
                "ci_high": round(meas + Z95 * se, 2),
                "true_incremental_revenue": effect,
                "standard_error": se,
                "relative_change": t.change,
                "measured_until": str(_date(7 * end - 1)),
            }
        )
    return pd.DataFrame(rows, columns=cols)
