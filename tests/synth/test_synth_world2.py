"""Simulator 2 (issue 19): one test per stylised fact the generating processes follow, on a
tiny multi_category world (seed 7) generated once per session, plus known-answer checks of
the true-profit scorer (docs/design-notes.md, "Simulator 2")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from channelops.ingest.dataset import load_dataset
from channelops.ingest.exports import read_export
from channelops.synth import generate_dataset
from channelops.synth import marketing as mkt
from channelops.synth.scoring.profit import (
    best_true_allocation,
    true_incremental_revenue,
    true_weekly_profit,
)
from channelops.synth.simulate import BAD_CHURN

LIFT_COLUMNS = [
    "channel_id",
    "start_date",
    "end_date",
    "spend_change",
    "incremental_revenue",
    "ci_low",
    "ci_high",
]


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world2") / "tiny"
    generate_dataset(folder, "multi_category", "tiny", 7)
    return folder


def _truth(folder, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / "truth" / f"{name}.parquet")


def test_month_of_year_explains_most_of_each_channels_spend(world) -> None:
    """Budgets follow the sales calendar: 12 month-of-year means explain >= 40% of the
    variance of every channel's weekly spend (marketing_spend.csv, an export)."""
    spend = pd.read_csv(world / "marketing_spend.csv")
    spend["month"] = pd.to_datetime(spend["week_start"]).dt.month
    for cid, g in spend.groupby("channel_id"):
        fitted = g.groupby("month")["spend"].transform("mean")
        r2 = 1 - ((g["spend"] - fitted) ** 2).sum() / ((g["spend"] - g["spend"].mean()) ** 2).sum()
        assert r2 >= 0.40, (cid, r2)
    # some channels always on, some go dark in their weakest months
    low = spend.groupby("channel_id")["spend"].min() / spend.groupby("channel_id")["spend"].mean()
    assert (low >= 0.3).any() and (low < 0.05).any(), low


def test_paid_channels_acquire_new_customers(world) -> None:
    """Customers whose first order came from an ad: counted per channel and week in
    truth/new_customers.parquet, marked paid in truth/customers.parquet, and their first
    order's channel is the acquiring channel (truth/export_lines)."""
    new = _truth(world, "new_customers")
    people = _truth(world, "customers")
    paid = people[people["acquired_by"] == "paid"]
    per_channel = new.groupby("channel_id")["new_customers_paid"].sum()
    assert (per_channel > 0).sum() >= 4, per_channel
    counted = paid["acquisition_channel"].value_counts().reindex(per_channel.index, fill_value=0)
    pd.testing.assert_series_equal(
        counted.astype(float), per_channel.astype(float), check_names=False
    )
    # paid acquisitions follow spend: more in weeks of higher direct response
    weekly = _truth(world, "weekly_revenue").merge(new, on=["channel_id", "week_start"])
    corr = weekly.groupby("channel_id").apply(
        lambda g: g["expected_marketing_revenue"].corr(g["new_customers_paid_x"]),
        include_groups=False,
    )
    assert corr.mean() > 0.1, corr
    lines = pd.read_parquet(world / "truth" / "export_lines")
    seen = lines.merge(paid[["customer_id", "acquisition_channel"]], on="customer_id")
    on_acq = (seen["channel_id"] == seen["acquisition_channel"]).groupby(seen["customer_id"]).any()
    assert on_acq.mean() > 0.8, on_acq.mean()


def test_halo_lifts_other_channels(world) -> None:
    """One channel's ads lift another's sales: halo revenue lands only on the targets of
    truth/halo.parquet, about as much as share x the sources' expected direct response."""
    halo = _truth(world, "halo")
    weekly = _truth(world, "weekly_revenue")
    h = halo[halo["kind"] == "halo"]
    assert len(h) >= 2
    got = weekly.groupby("channel_id")["halo_revenue"].sum()
    assert (got[~got.index.isin(h["target_channel_id"])] == 0).all()
    direct = weekly.groupby("channel_id")["expected_marketing_revenue"].sum()
    expect = (h["share"] * h["source_channel_id"].map(direct)).groupby(h["target_channel_id"]).sum()
    ratio = got[expect.index] / expect
    # realised Poisson orders, lost sales after stock-outs and order values that differ
    # from the target's mean order value keep it from 1
    assert ratio.between(0.6, 1.4).all(), ratio
    c = halo[halo["kind"] == "cannibalisation"]
    moved = weekly.groupby("channel_id")["moved_out_revenue"].sum()
    assert (moved[c["target_channel_id"].unique()] > 0).all()


def test_a_channel_is_below_break_even(world) -> None:
    """At typical spend, turning one channel's spend off raises the true weekly profit
    (halo, cannibalisation and margins after commission included); another channel pays."""
    curves = _truth(world, "response_curves")
    typical = dict(zip(curves["channel_id"], curves["typical_spend"], strict=True))
    base = true_weekly_profit(world, typical)
    gain = {c: base - true_weekly_profit(world, {**typical, c: 0.0}) for c in typical}
    assert min(gain.values()) < 0 < max(gain.values()), gain
    # the exact optimum under the same total budget beats typical and random splits of it
    budget = sum(typical.values())
    best = true_weekly_profit(world, best_true_allocation(world, budget))
    rng = np.random.default_rng(0)
    for w in rng.dirichlet(np.ones(len(typical)), 20):
        split = dict(zip(typical, budget * w, strict=True))
        assert best >= true_weekly_profit(world, split) - 1e-6
    assert best >= base - 1e-6


def test_true_weekly_profit_known_answer() -> None:
    """Two channels by hand: A (direct 1000 (1 - e^-1) at s = k = 500), halo 0.5 onto B and
    cannibalising 0.2 of B's orders; margins 0.4 / 0.3, order values 200 / 100."""
    curves = pd.DataFrame(
        {
            "channel_id": ["A", "B"],
            "saturation_spend": [500.0, 1000.0],
            "saturation_revenue_max": [1000.0, 2000.0],
            "contribution_margin": [0.4, 0.3],
            "base_weekly_revenue": [100.0, 200.0],
            "mean_order_value": [200.0, 100.0],
        }
    )
    halo = pd.DataFrame(
        {
            "source_channel_id": ["A", "A"],
            "target_channel_id": ["B", "B"],
            "kind": ["halo", "cannibalisation"],
            "share": [0.5, 0.2],
        }
    )
    t = {"response_curves": curves, "halo": halo}
    r = 1000 * (1 - np.exp(-1.0))
    value = 0.4 + 0.5 * 0.3 - 0.2 * 0.3 * 100 / 200
    expected = 0.4 * 100 + 0.3 * 200 + r * value - 500
    assert true_weekly_profit(t, {"A": 500.0}) == pytest.approx(expected)
    inc = true_incremental_revenue(t, {"A": 500.0})
    assert inc["A"] == pytest.approx(r * (1 + 0.5 - 0.2 * 0.5)) and inc["B"] == 0
    # best allocation: A's marginal profit 0.52 x 1000 / 500 x exp(-s / 500) = 1 at
    # s = 500 ln(1.04); B's value factor 0.3 x 2000 / 1000 < 1 never pays
    best = best_true_allocation(t)
    assert best["A"] == pytest.approx(500 * np.log(1.04)) and best["B"] == 0
    assert true_weekly_profit(t, best) > true_weekly_profit(t, {"A": best["A"] * 1.1})
    capped = best_true_allocation(t, budget=5.0)
    assert capped["A"] == pytest.approx(5.0, rel=1e-6)
    with pytest.raises(ValueError, match="budget"):
        best_true_allocation(t, budget=-1.0)
    with pytest.raises(ValueError, match="does not have"):
        true_weekly_profit(t, {"C": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        true_weekly_profit(t, {"A": -1.0})
    with pytest.raises(ValueError, match="not from simulator 2"):
        true_weekly_profit(
            {"response_curves": curves.drop(columns="mean_order_value"), "halo": halo}, {}
        )


def test_stockouts_censor_observed_sales(world) -> None:
    """Observed units never exceed the demand before censoring; on some days they are
    strictly lower, and only on days with lines lost to stock-outs."""
    dem = _truth(world, "demand")
    assert (dem["realised_units"] <= dem["demand_units"]).all()
    lower = dem["realised_units"] < dem["demand_units"]
    assert lower.sum() >= 20
    assert (dem.loc[lower, "stockout_lines"] > 0).all()
    spells = _truth(world, "stockouts")
    assert len(spells) > 0 and (spells["end_date"] >= spells["start_date"]).all()
    sku = _truth(world, "demand_sku")
    assert (sku["units"] <= sku["demand_units"]).all()


def test_churn_depends_on_experience(world) -> None:
    """After an order that met a stock-out or a late delivery, customers leave with
    probability BAD_CHURN more than after a good one (the base churn is the same mix)."""
    people = _truth(world, "customers")
    n_good, n_bad = people["orders_good_experience"].sum(), people["orders_bad_experience"].sum()
    p_good = people["churned_after_good"].sum() / n_good
    p_bad = people["churned_after_bad"].sum() / n_bad
    assert n_bad >= 200
    se = np.sqrt(p_bad * (1 - p_bad) / n_bad + p_good * (1 - p_good) / n_good)
    assert abs((p_bad - p_good) - BAD_CHURN) < 4 * se, (p_bad, p_good, se)


@pytest.fixture(scope="session")
def social_world(tmp_path_factory):
    """A second tiny world (social scenario, seed 7), pooled where one tiny world has too
    few customers for the statistic."""
    folder = tmp_path_factory.mktemp("world2_social") / "tiny"
    generate_dataset(folder, "social", "tiny", 7)
    return folder


def _life_event_rate_changes(world) -> tuple[np.ndarray, np.ndarray]:
    """Per customer with at least 60 days on each side of the life event (before churn):
    log(life_event_factor) and the change of the log order rate, orders read from every
    export through the intake and attributed with truth/export_lines."""
    ds = load_dataset(world)
    who = pd.read_parquet(world / "truth" / "export_lines")[["source_file", "row", "customer_id"]]
    parts = [
        read_export(ds, ch.id)
        .lines[["source_file", "row", "order_id", "order_ts", "quantity"]]
        .assign(ch=ch.id)
        for ch in ds.channels
    ]
    x = pd.concat(parts).merge(who, on=["source_file", "row"]).dropna(subset=["customer_id"])
    x = x[x["quantity"] > 0].drop_duplicates(["ch", "order_id"])
    x["d"] = x["order_ts"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
    people = _truth(world, "customers").set_index("customer_id")
    people = people[people["life_event_date"].notna()]
    x = x[x["customer_id"].isin(people.index)]
    ev = x["customer_id"].map(people["life_event_date"])
    before = x[x["d"] < ev].groupby("customer_id").size()
    after = x[x["d"] >= ev].groupby("customer_id").size()
    g = people.loc[people.index.isin(x["customer_id"])].copy()
    start = pd.Timestamp(x["d"].min())
    end = pd.Timestamp(x["d"].max())
    event = pd.to_datetime(g["life_event_date"])
    days_before = (event - pd.to_datetime(g["acquisition_date"]).clip(lower=start)).dt.days
    stop = pd.to_datetime(g["dropout_date"].fillna(str(end.date()))).clip(upper=end)
    days_after = (stop - event).dt.days
    ok = (days_before > 60) & (days_after > 60)
    nb = before.reindex(g.index, fill_value=0)[ok]
    na = after.reindex(g.index, fill_value=0)[ok]
    change = np.log((na + 0.5) / days_after[ok]) - np.log((nb + 0.5) / days_before[ok])
    return np.log(g.loc[ok, "life_event_factor"].to_numpy()), change.to_numpy()


def test_life_events_change_purchase_rates(world, social_world) -> None:
    """After a customer's life event the purchase rate moves with the event's factor: the
    change of the log order rate correlates with log(life_event_factor), pooled over two
    tiny worlds. Without life events the correlation would be 0 +- 1/sqrt(n); asked: 3
    standard errors."""
    pairs = [_life_event_rate_changes(w) for w in (world, social_world)]
    factor = np.concatenate([p[0] for p in pairs])
    change = np.concatenate([p[1] for p in pairs])
    n = len(factor)
    assert n >= 60
    corr = np.corrcoef(factor, change)[0, 1]
    assert corr > 3 / np.sqrt(n), (corr, n)


def test_habit_strength_varies_within_a_segment(world) -> None:
    """Habits are per customer: within a segment, customers with a stronger true habit
    re-buy their favourites in a visibly larger share of their exported lines."""
    people = _truth(world, "customers").set_index("customer_id")
    spread = people.groupby("segment")["habit"].std()
    assert (spread > 0.1).all(), spread
    lines = pd.read_parquet(world / "truth" / "export_lines")
    lines = lines[~lines["is_guest"] & lines["customer_id"].notna()]
    fav = _truth(world, "favourites")
    keys = pd.MultiIndex.from_frame(fav[["customer_id", "sku"]])
    lines["fav"] = pd.MultiIndex.from_frame(lines[["customer_id", "sku"]]).isin(keys)
    per = lines.groupby("customer_id").agg(share=("fav", "mean"), n=("fav", "size"))
    per = per[per["n"] >= 10].join(people[["segment", "habit"]])
    # with one habit per segment the correlation would be 0 +- 1/sqrt(n): ask for 4 sd
    checked = 0
    for seg, g in per.groupby("segment"):
        if len(g) >= 100:
            checked += 1
            assert g["share"].corr(g["habit"]) > 4 / np.sqrt(len(g)), seg
    assert checked >= 1


def test_complements_are_bought_together(world) -> None:
    """Among the SKU pairs bought in the same exported order, pairs (a, complement of a)
    (truth/demand_sku.parquet) are far more frequent than under shuffled complement maps
    (same targets, so the same popularity; without the complement process the ratio is 1)."""
    comp = _truth(world, "demand_sku").drop_duplicates("sku").set_index("sku")["complement_sku"]
    lines = pd.read_parquet(world / "truth" / "export_lines")
    lines = lines[lines["quantity"] > 0][["channel_id", "order_id", "sku"]].drop_duplicates()
    pairs = lines.merge(lines, on=["channel_id", "order_id"])
    pairs = pairs[pairs["sku_x"] != pairs["sku_y"]]
    assert len(pairs) >= 1000
    rng = np.random.default_rng(0)

    def share(cmap: pd.Series) -> float:
        return float((pairs["sku_x"].map(cmap) == pairs["sku_y"]).mean())

    shuffled = np.mean(
        [share(pd.Series(rng.permutation(comp.to_numpy()), index=comp.index)) for _ in range(20)]
    )
    assert share(comp) > 2 * shuffled, (share(comp), shuffled)


def test_new_products_take_their_predecessors_share(world) -> None:
    """A launched SKU sells nothing before its launch date and takes share from the
    product it replaces: the predecessor's daily units fall after the launch (expected to
    about 1 / (1 + 1.5) of before, the new SKU being 1.5 x as popular; asked: below 0.7),
    read from the Chinese channels' exports through the intake (order dates in Shanghai)."""
    ds = load_dataset(world)
    smap = pd.read_csv(world / "sku_map.csv", dtype=str)
    parts = []
    for ch in ("own_store", "tmall", "jd"):
        ln = read_export(ds, ch).lines
        ln = ln[ln["quantity"] > 0]
        code = smap[smap["channel_id"] == ch].set_index("channel_sku")["sku"]
        day = ln["order_ts"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
        parts.append(
            pd.DataFrame({"sku": ln["channel_sku"].map(code), "date": day, "q": ln["quantity"]})
        )
    x = pd.concat(parts)
    first, last = pd.Timestamp(x["date"].min()), pd.Timestamp(x["date"].max())
    sku = _truth(world, "demand_sku").drop_duplicates("sku").set_index("sku")
    new = sku[sku["launch_date"].notna()]
    assert len(new) >= 2
    before_units = after_units = before_days = after_days = 0.0
    for s, r in new.iterrows():
        assert x.loc[(x["sku"] == s) & (x["date"] < r.launch_date), "q"].sum() == 0, s
        assert x.loc[(x["sku"] == s) & (x["date"] >= r.launch_date), "q"].sum() > 0, s
        pred = x[x["sku"] == r.predecessor_sku]
        before_units += pred.loc[pred["date"] < r.launch_date, "q"].sum()
        after_units += pred.loc[pred["date"] >= r.launch_date, "q"].sum()
        before_days += (pd.Timestamp(r.launch_date) - first).days
        after_days += (last - pd.Timestamp(r.launch_date)).days + 1
    ratio = (after_units / after_days) / (before_units / before_days)
    assert ratio < 0.7, ratio


def test_lift_tests_written_with_intervals_around_the_truth(world) -> None:
    """lift_tests.csv has the contract's columns; each interval holds its estimate, the
    true effect lies within 3.5 standard errors of it, and the true effect recomputed from
    the truth's curves and the exported spend matches truth/lift_tests.parquet."""
    lt = pd.read_csv(world / "lift_tests.csv")
    assert list(lt.columns) == LIFT_COLUMNS and len(lt) >= 2
    assert (
        (lt["ci_low"] < lt["incremental_revenue"]) & (lt["incremental_revenue"] < lt["ci_high"])
    ).all()
    truth = _truth(world, "lift_tests")
    z = (truth["incremental_revenue"] - truth["true_incremental_revenue"]) / truth["standard_error"]
    assert (z.abs() < 3.5).all(), z
    assert (np.sign(truth["true_incremental_revenue"]) == np.sign(truth["spend_change"])).all()
    curves = _truth(world, "response_curves").set_index("channel_id")
    spend = pd.read_csv(world / "marketing_spend.csv")
    for r in truth.itertuples():
        s = spend.loc[spend["channel_id"] == r.channel_id, ["week_start", "spend"]]
        weeks = pd.to_datetime(s["week_start"])
        inside = ((weeks >= r.start_date) & (weeks <= r.end_date)).to_numpy()
        actual = s["spend"].to_numpy()
        if r.relative_change == -1.0:
            continue  # a dark test leaves no trace of the planned spend in the export
        planned = np.where(inside, actual / (1 + r.relative_change), actual)
        c = curves.loc[r.channel_id]
        d = mkt.response_of(c, actual) - mkt.response_of(c, planned)
        until = (weeks <= r.measured_until).to_numpy() & (weeks >= r.start_date).to_numpy()
        effect = d[until].sum() * (1 + c["net_halo_share"])
        assert effect == pytest.approx(r.true_incremental_revenue, rel=0.01)


def test_world_yaml_names_the_processes(world) -> None:
    w = yaml.safe_load((world / "truth" / "world.yaml").read_text(encoding="utf-8"))
    assert w["generator_version"].startswith("2.")
    assert "Weibull" in w["weekly_revenue"] and "life event" in w["purchase_process"]
