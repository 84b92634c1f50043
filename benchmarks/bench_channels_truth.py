"""Score stage 02 against the simulator's truth at demo size: curve fit error per channel and
the recommended plan's true profit gap.

Run from the repository root (about 1 minute per seed on 2 shared CPUs):

    .venv/bin/python benchmarks/bench_channels_truth.py --seeds 42 3

For each seed it generates the multi_category dataset (``channelops.synth``), then:

* fits the response curves (``fit_response_curves``, n_boot 20) from two revenue sources:
  ``truth`` = the simulator's realised weekly total revenue (truth/weekly_revenue.parquet),
  and ``lines`` = what notebook 02 fits: 03's de-duplicated order lines (``ingest_lines``:
  loader, canonicalisation, repeated export rows removed) through ``weekly_channel_revenue``
  (cancelled orders excluded, so about 3.5% below ``truth``);
  with the calendar base (default) and with a constant base (``base_terms="none"``);
* prints |fitted / true - 1| of steady-state weekly revenue at 0.5x, 1x and 2x the median
  observed spend and at the recommended plan's spend;
* with simulator 2's truth, also scores the plan exactly (``true_weekly_profit``: halo,
  cannibalisation, margins after commission) against the best allocation of the same budget
  (``best_true_allocation``): sim2_capture = share of the best gain over no spend captured;
* optimises the plan as notebook 02 does (budget = mean total weekly spend of the last 13
  weeks, at least 2 channels, gross margin 0.45, NSGA-II at the default 100 x 200 and the CI
  40 x 40) and scores the recommended plan of each rule on the true curves against
  ``exact_best_plan`` on the true curves under the same constraints. Candidate channels
  without a true curve keep their prior on both sides. Segments for reach come from
  truth/customers.parquet (the notebook uses 01's segments), valued by total mean spend.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.stages import channel_selection as ch
from channelops.synth import generate_dataset
from channelops.synth.scoring import channels as truth_scoring
from channelops.synth.scoring import profit

GROSS_MARGIN = 0.45
RULES = {
    "knee": ("knee", None),
    "knee >= 98% profit (default)": ("knee", 0.98),
    "profit": ({"profit": 1.0}, None),
}


def _md(df: pd.DataFrame, fmt: str = "{:+.3f}", index: bool = False) -> str:
    """A markdown table (no tabulate dependency); floats formatted with ``fmt``."""
    if index:
        df = df.reset_index()
    cell = [
        [fmt.format(v) if isinstance(v, float) else str(v) for v in row]
        for row in df.itertuples(index=False)
    ]
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in cell])


def _lines_revenue(folder: Path) -> pd.DataFrame:
    from channelops.ingest.dataset import load_dataset
    from channelops.ingest.intake import ingest_lines

    ds = load_dataset(folder)
    lines = ingest_lines(ds).lines  # what 03 writes as order_lines and 02 reads
    return ch.weekly_channel_revenue(lines)


def _reach(folder: Path, catalog: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    people = pd.read_parquet(folder / "truth" / "customers.parquet")[
        ["customer_id", "segment", "mean_spend"]
    ]
    crm = pd.read_csv(folder / "customers.csv")[["customer_id", "birth_year", "city"]]
    tiers = pd.read_csv(folder / "locations.csv").set_index("city")["city_tier"]
    people = people.merge(crm, on="customer_id")
    people["city_tier"] = people["city"].map(tiers)
    reach = ch.segment_channel_reach(ch.segment_band_shares(people, 2024), catalog)
    value = people.groupby("segment")["mean_spend"].sum()
    return reach, (value / value.sum()).to_dict()


def _true_profit_capture(market, spends: dict[str, float], budget: float) -> dict[str, float]:
    """Simulator 2's exact scoring: the plan's true weekly profit (halo, cannibalisation,
    margins after commission; ``true_weekly_profit``; spend on candidate channels the
    simulator never ran counts as cost without return), the best allocation of the same
    budget over the simulated channels (``best_true_allocation``) and the share of the best
    gain over no spend the plan captures. NaN when the truth is not from simulator 2."""
    if market is None:
        return {"plan": np.nan, "best": np.nan, "capture": np.nan}
    known = set(market["response_curves"]["channel_id"])
    plan = {c: s for c, s in spends.items() if c in known}
    # candidate channels never ran in the simulator: their spend is cost without return
    elsewhere = sum(s for c, s in spends.items() if c not in known)
    p_plan = profit.true_weekly_profit(market, plan) - elsewhere
    p_best = profit.true_weekly_profit(market, profit.best_true_allocation(market, budget))
    p_zero = profit.true_weekly_profit(market, {})
    gain = p_best - p_zero
    return {"plan": p_plan, "best": p_best, "capture": (p_plan - p_zero) / gain if gain else np.nan}


def run_seed(seed: int, size: str, n_boot: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        generate_dataset(folder, scenario="multi_category", size=size, seed=seed)
        truth = truth_scoring.curves_from_truth(
            pd.read_parquet(folder / "truth" / "response_curves.parquet")
        )
        weekly = pd.read_parquet(folder / "truth" / "weekly_revenue.parquet")
        try:
            market = profit.load_market_truth(folder)
        except (ValueError, FileNotFoundError):
            market = None  # generator 1 truth: no exact scoring
        catalog = pd.read_csv(folder / "channels.csv")
        spend = pd.read_csv(folder / "marketing_spend.csv")
        sources = {
            "truth": weekly[["week_start", "channel_id", "total_revenue"]].rename(
                columns={"total_revenue": "revenue"}
            ),
            "lines": _lines_revenue(folder),
        }
        reach, targets = _reach(folder, catalog)
    budget = float(spend.groupby("week_start")["spend"].sum().tail(13).mean())
    cons = ch.PlanConstraints(total_budget=budget, min_channels=2)
    print(
        f"\n## seed {seed} ({size}): weekly budget {budget:,.0f}, "
        f"{weekly['week_start'].nunique()} weeks\n"
    )
    fits = {}
    rows = []
    for src, revenue in sources.items():
        for terms in ("calendar", "none"):
            t0 = time.perf_counter()
            cur = ch.fit_response_curves(
                spend, revenue, catalog, n_boot=n_boot, seed=seed, base_terms=terms
            )
            secs = time.perf_counter() - t0
            fits[(src, terms)] = cur
            err = truth_scoring.curve_errors(cur, truth, spend_multiples=(0.5, 1.0, 2.0))
            piv = err.pivot(index="channel_id", columns="level", values="error")
            r2 = cur.set_index("channel_id")["r2"]
            for cid in piv.index:
                rows.append(
                    {
                        "revenue": src,
                        "base": terms,
                        "channel": cid,
                        "r2": r2[cid],
                        **piv.loc[cid].to_dict(),
                        "fit_s": secs,
                    }
                )
    table = pd.DataFrame(rows)
    print("Fit error, fitted / true - 1 at 0.5x / 1x / 2x median observed spend:\n")
    print(_md(table))
    print("\nmax |error| per fit:\n")
    table["max_x1"] = table["x1"].abs()
    table["max_all"] = table[["x0.5", "x1", "x2"]].abs().max(axis=1)
    print(
        _md(table.groupby(["revenue", "base"])[["max_x1", "max_all"]].max(), "{:.3f}", index=True)
    )
    fitted = fits[("lines", "calendar")]
    best = None
    rows = []
    for pop, gen in ((100, 200), (40, 40)):
        t0 = time.perf_counter()
        res = ch.optimise_channel_plan(
            fitted,
            catalog,
            reach,
            cons,
            targets,
            pop_size=pop,
            n_gen=gen,
            seed=seed,
            gross_margin=GROSS_MARGIN,
        )
        secs = time.perf_counter() - t0
        for name, (rule, share) in RULES.items():
            plan = ch.recommend_plan(res, rule, min_profit_share=share)
            gap = truth_scoring.plan_profit_gap(
                plan, truth, fitted, catalog, reach, cons, targets, GROSS_MARGIN
            )
            best = gap["best_plan"]
            spends = {
                c: float(plan[f"budget_{c}"])
                for c in res.model.channel_ids
                if plan[f"selected_{c}"]
            }
            perr = truth_scoring.curve_errors(fitted, truth, spend_multiples=(), planned=spends)
            exact = _true_profit_capture(market, spends, budget)
            rows.append(
                {
                    "nsga2": f"{pop}x{gen}",
                    "nsga2_s": secs,
                    "rule": name,
                    "fitted_profit": plan["profit"],
                    "true_profit": gap["true_profit"],
                    "best_true_profit": gap["best_true_profit"],
                    "gap": gap["gap"],
                    "reach": plan["reach"],
                    "max_err_planned": float(perr["error"].abs().max()),
                    "sim2_true_profit": exact["plan"],
                    "sim2_best_profit": exact["best"],
                    "sim2_capture": exact["capture"],
                    "channels": plan["channels"],
                }
            )
    print("\nPlan (curves fitted from order lines, calendar base), scored on the true curves:\n")
    print(_md(pd.DataFrame(rows), "{:,.3f}"))
    assert best is not None
    print(
        f"\nbest true plan: {best['channels']}; spend "
        + ", ".join(
            f"{c}={best[f'budget_{c}']:,.0f}"
            for c in catalog["channel_id"]
            if best[f"selected_{c}"]
        )
    )


def _true_marginal_return(market, alloc: dict[str, float], step: float = 1.0) -> dict[str, float]:
    """Per funded simulated channel: true extra contribution of one more unit of spend, per
    unit (1.0 = break-even; halo, cannibalisation and margins included)."""
    base = profit.true_weekly_profit(market, alloc)
    out = {}
    for c, s in alloc.items():
        if s > 0:
            bumped = dict(alloc, **{c: s + step})
            out[c] = (profit.true_weekly_profit(market, bumped) - base) / step + 1.0
    return out


def _incremental_check(curves: pd.DataFrame, market, known: set[str]) -> pd.DataFrame:
    """Fitted incremental revenue at median spend, R(s) - R(0), against the truth's
    business-wide incremental revenue; whether the 90% band over the draws covers it; and the
    channel's lowest observed spend as a share of its median (R(0) lies below it)."""
    cmap = ch.as_curve_map(curves)
    tab = curves.set_index("channel_id")
    rows = []
    for c, s in tab["spend_median"].dropna().items():
        if c not in known:
            continue
        cv = cmap[c]
        fit = float(cv.revenue(s) - cv.revenue(0.0))
        d = cv.revenue_draws(np.array([0.0, s]))
        lo, hi = np.quantile(d[:, 1] - d[:, 0], [0.05, 0.95])
        true = float(profit.true_incremental_revenue(market, {c: float(s)})[c])
        rows.append(
            {
                "channel": c,
                "err": fit / true - 1,
                "covered": bool(lo <= true <= hi),
                "lift_tests": int(tab.loc[c].get("n_lift_tests", 0) or 0),
            }
        )
    return pd.DataFrame(rows)


def true_profit_02(
    market, margins: dict[str, float], fixed: dict[str, float], alloc: dict[str, float],
    running: set[str],
) -> float:  # fmt: skip
    """The simulator's true curves (halo and cannibalisation included) in 02's own
    accounting: each channel's revenue at 02's margin (``margins``: fulfilment and payment
    included, which the simulator's profit leaves out), a channel the allocation does not
    run sells nothing (its organic revenue is lost) and costs no fixed cost (``fixed``, per
    week), a running one pays it; spend on a channel the simulator never ran returns
    nothing. This is what 02's ``plan_vs_current`` predicts, so its interval is checked
    against it."""
    tc = market["response_curves"].set_index("channel_id").copy()
    tc["contribution_margin"] = [float(margins[c]) for c in tc.index]
    inside = {c: v for c, v in alloc.items() if c in tc.index}
    direct, _ = profit._direct(tc, inside)
    value = profit._value_factor(tc, market["halo"], margin=True)
    organic = sum(
        float(tc.at[c, "contribution_margin"] * tc.at[c, "base_weekly_revenue"])
        for c in tc.index
        if c in running
    )
    return (
        organic
        + float((direct * value).sum())
        - sum(alloc.values())
        - sum(float(fixed.get(c, 0.0)) for c in running)
    )


def score_issue20(
    folder: Path,
    seed: int,
    n_boot: int,
    pop: int,
    gen: int,
    models: list[str],
    joint_base: str = "calendar",
    max_slope: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Issue 20's checks on one dataset folder (with truth/), old and new approach.

    Fits: ``per_channel`` = :func:`fit_response_curves` (each channel's revenue on its own
    spend, calendar base; the previous default) and ``joint`` = :func:`fit_joint_response`
    (plus the shared-demand regressor and lift_tests.csv calibration); ``joint_averaged``
    = notebook 02's default (Hill slope at most ``max_slope``). Approaches: old =
    flat gross margin 0.45 less commission, no trimming; new = each channel's own margin
    (channelops.margins, as notebook 02), spend that does not pay its margin trimmed. All:
    curves fitted from the intake's lines as 02 does, budget = mean of the last 13 weeks,
    >= 2 channels, knee >= 98% profit, no reach. Scored with the simulator's true profit:
    capture = (plan - now) / (best - now), now = each channel's mean spend over the last 13
    weeks, best = best_true_allocation(budget).
    """
    from channelops.ingest.dataset import load_dataset
    from channelops.ingest.intake import ingest_lines
    from channelops.margins import channel_margin_rates, margin_rate_map
    from channelops.stages.channel_selection.joint import fit_joint_response, read_lift_tests

    ds = load_dataset(folder)
    lines = ingest_lines(ds).lines
    spend, catalog = ds.table("marketing_spend"), ds.table("channels")
    revenue = ch.weekly_channel_revenue(lines)
    lift_path = folder / "lift_tests.csv"
    lifts = read_lift_tests(str(lift_path)) if lift_path.exists() else None
    fits: dict[str, tuple[pd.DataFrame, float]] = {}
    for name in models:
        t0 = time.perf_counter()
        if name == "per_channel":
            cur = ch.fit_response_curves(spend, revenue, catalog, n_boot=n_boot, seed=seed)
        elif name in ("joint_averaged",):
            cur = ch.fit_channel_curves(
                name, spend, revenue, catalog, lifts, n_boot=n_boot, seed=seed, max_slope=max_slope
            )
        else:
            cur = fit_joint_response(
                spend, revenue, catalog, lifts, n_boot=n_boot, seed=seed, base_terms=joint_base
            )
        fits[name] = (cur, time.perf_counter() - t0)
    market = profit.load_market_truth(folder)
    known = set(market["response_curves"]["channel_id"])
    budget = ch.plan_budget(0.0, spend)
    cons = ch.PlanConstraints(total_budget=budget, min_channels=2)
    now = ch.current_allocation(spend, list(catalog["channel_id"]))

    def true_profit(alloc: dict[str, float]) -> float:
        other = sum(v for c, v in alloc.items() if c not in known)
        return (
            profit.true_weekly_profit(market, {c: v for c, v in alloc.items() if c in known})
            - other
        )

    best = profit.best_true_allocation(market, budget)
    p_now, p_best = true_profit(now), true_profit(best)
    margins = margin_rate_map(
        channel_margin_rates(
            lines, ds.table("products"), catalog, ds.table("shipments"), ds.table("warehouses")
        )
    )
    rows, incs = [], []
    for fit_name, (curves, fit_s) in fits.items():
        inc = _incremental_check(curves, market, known).assign(seed=seed, fit=fit_name)
        incs.append(inc)
        approaches = [("new: own margins", margins, True)]
        if fit_name == "per_channel":
            approaches.insert(0, ("old: flat 0.45", 0.45, False))
        for name, margin, trim in approaches:
            t1 = time.perf_counter()
            res = ch.optimise_channel_plan(
                curves, catalog, None, cons, {}, pop_size=pop, n_gen=gen, seed=seed,
                gross_margin=margin,
            )  # fmt: skip
            rec = ch.recommend_plan(res, "knee", min_profit_share=0.98)
            plan = {
                c: float(rec[f"budget_{c}"]) for c in res.model.channel_ids if rec[f"selected_{c}"]
            }
            if trim:
                plan = ch.trim_unpaid_spend(res.model, plan)
            cmp = ch.plan_vs_current(res.model, plan, now).set_index("allocation")
            secs = time.perf_counter() - t1
            p_plan = true_profit(plan)
            mret = _true_marginal_return(market, {c: v for c, v in plan.items() if c in known})
            unpaid = sorted(c for c, r in mret.items() if r < 0.9)
            gain_true = p_plan - p_now
            mdl = res.model
            m02 = dict(zip(mdl.channel_ids, mdl.net_share, strict=True))
            fixed = dict(zip(mdl.channel_ids, mdl.fixed_cost, strict=True))
            run_now = {
                c
                for c in mdl.channel_ids
                if (c in mdl.curves and mdl.curves[c].source == "fitted") or now.get(c, 0) > 0
            }
            gain_02 = true_profit_02(market, m02, fixed, plan, set(plan)) - true_profit_02(
                market, m02, fixed, now, run_now
            )
            g_lo, g_hi = cmp.loc["gain", "profit_lo"], cmp.loc["gain", "profit_hi"]
            rows.append(
                {
                    "seed": seed,
                    "fit": fit_name,
                    "approach": name,
                    "capture": gain_true / (p_best - p_now),
                    "achievable_gain_share": (p_best - p_now) / p_best,
                    "plan_spend": sum(plan.values()),
                    "best_spend": sum(best.values()),
                    "pred_gain": cmp.loc["gain", "profit"],
                    "pred_gain_lo": cmp.loc["gain", "profit_lo"],
                    "pred_gain_hi": cmp.loc["gain", "profit_hi"],
                    "true_gain": gain_true,
                    "gain_err": cmp.loc["gain", "profit"] / gain_true - 1,
                    "true_gain_02": gain_02,
                    "gain_err_02": cmp.loc["gain", "profit"] / gain_02 - 1,
                    "covers_true_gain": bool(g_lo <= gain_true <= g_hi),
                    "covers_true_gain_02": bool(g_lo <= gain_02 <= g_hi),
                    "point_inside": bool(g_lo <= cmp.loc["gain", "profit"] <= g_hi),
                    "p_beats_now": cmp.loc["gain", "prob_positive"],
                    "unpaid_channels": ",".join(unpaid) or "-",
                    "inc_within_20pct": int((inc["err"].abs() <= 0.2).sum()),
                    "inc_channels": len(inc),
                    "inc_covered_90": int(inc["covered"].sum()),
                    "fit_s": fit_s,
                    "plan_s": secs,
                }
            )
    return pd.DataFrame(rows), pd.concat(incs, ignore_index=True)


def _notebook_inputs(
    folder: Path,
    n_boot: int,
    seed: int,
    model: str = "joint_averaged",
    max_slope: float | None = None,
):
    """What notebook 02 plans from, on one demo folder: the fitted curves (``model``, Hill
    slope at most ``max_slope``), each channel's own margin table, the budget and the
    current allocation."""
    from channelops.ingest.dataset import load_dataset
    from channelops.ingest.intake import ingest_lines
    from channelops.margins import channel_margin_rates, margin_rate_map

    ds = load_dataset(folder)
    lines = ingest_lines(ds).lines
    spend, catalog = ds.table("marketing_spend"), ds.table("channels")
    revenue = ch.weekly_channel_revenue(lines)
    pc = ch.curve_catalog(catalog, [c.id for c in ds.channels])
    lifts = ch.dataset_lift_tests(ds.root, list(pc["channel_id"].astype(str)))
    t0 = time.perf_counter()
    curves = ch.fit_channel_curves(
        model, spend, revenue, pc, lifts, n_boot=n_boot, seed=seed, max_slope=max_slope
    )
    fit_s = time.perf_counter() - t0
    table = channel_margin_rates(
        lines, ds.table("products"), catalog, ds.table("shipments"), ds.table("warehouses")
    )
    budget = ch.plan_budget(0.0, spend)
    now = ch.current_allocation(spend, list(pc["channel_id"].astype(str)))
    return curves, pc, margin_rate_map(table), budget, now, fit_s, table


def decompose_capture(
    folder: Path,
    seed: int,
    n_boot: int,
    pop: int = 100,
    gen: int = 200,
    max_slope: float | None = None,
):
    """Where the notebook plan's capture of the achievable true gain is lost, step by step.

    Each row is a plan scored with the simulator's true profit; capture = (plan - now) /
    (best - now) as in :func:`score_issue20`. From the truth's side:

    * ``truth: best`` = best_true_allocation (1 by definition);
    * ``truth curves, no halo, true margins``: the same closed form with the halo and
      cannibalisation table emptied (a model of each channel's own revenue, exact);
    * ``truth curves, no halo, 02's margins``: ... and 02's own margin per channel
      (channelops.margins: it includes fulfilment, which the simulator's profit does not);

    from the fitted side (the notebook's joint_averaged curves, exact_best_plan):

    * ``fitted curves, true value per unit``: margin = the truth's margin-weighted value of
      a unit of the channel's revenue (halo included): only the curves are the model's;
    * ``fitted curves, 02's margins``: the model's own optimum;
    * ``..., no spend cap``: without the 2x-largest-observed-spend cap;
    * ``02: NSGA-II knee >= 98%, trimmed`` and ``02: NSGA-II best profit, trimmed``.
    """
    curves, pc, margins, budget, now, fit_s, mtab = _notebook_inputs(
        folder, n_boot, seed, max_slope=max_slope
    )
    market = profit.load_market_truth(folder)
    tc = market["response_curves"].set_index("channel_id")
    known = set(tc.index)
    ids = list(pc["channel_id"].astype(str))
    # the same truth with each channel's fulfilment and payment cost per unit of revenue
    # (from the data: shipments.csv) taken off its margin: the business's full variable cost
    mt = mtab.set_index("channel_id")
    cost = ((mt["fulfilment_cost"] + mt["payment_cost"]) / mt["revenue"]).fillna(0.0)
    full_rc = market["response_curves"].copy()
    full_rc["contribution_margin"] -= full_rc["channel_id"].map(cost).astype(float)
    full = {"response_curves": full_rc, "halo": market["halo"]}

    def true_profit(alloc: dict[str, float], truth=market) -> float:
        other = sum(v for c, v in alloc.items() if c not in known)
        inside = {c: v for c, v in alloc.items() if c in known}
        return profit.true_weekly_profit(truth, inside) - other

    p_now, p_now_full = true_profit(now), true_profit(now, full)
    best = profit.best_true_allocation(market, budget)
    p_best = true_profit(best)
    p_best_full = true_profit(profit.best_true_allocation(full, budget), full)
    nohalo = market["halo"].iloc[0:0]
    value = profit._value_factor(tc, market["halo"], margin=True)
    plans: dict[str, dict[str, float]] = {
        "truth: best": best,
        "truth with fulfilment cost: best": profit.best_true_allocation(full, budget),
    }
    for name, marg in (
        ("truth curves, no halo, true margins", tc["contribution_margin"]),
        ("truth curves, no halo, 02's margins", pd.Series({c: margins[c] for c in tc.index})),
    ):
        rc = market["response_curves"].copy()
        rc["contribution_margin"] = rc["channel_id"].map(marg).astype(float)
        plans[name] = profit.best_true_allocation({"response_curves": rc, "halo": nohalo}, budget)
    cons = ch.PlanConstraints(total_budget=budget, min_channels=2)
    true_value = {c: float(value[c]) if c in known else margins[c] for c in ids}
    for name, marg, c in (
        ("fitted curves, true value per unit", true_value, cons),
        ("fitted curves, 02's margins", margins, cons),
        (
            "fitted curves, 02's margins, no spend cap",
            margins,
            replace(cons, max_spend_multiple=None),
        ),
    ):
        row = ch.exact_best_plan(curves, pc, c, gross_margin=marg)
        plans[name] = {k: float(row[f"budget_{k}"]) for k in ids if row[f"selected_{k}"]}
    res = ch.optimise_channel_plan(
        curves, pc, None, cons, {}, pop_size=pop, n_gen=gen, seed=seed, gross_margin=margins
    )
    for name, rule, share in (
        ("02: NSGA-II knee >= 98%, trimmed", "knee", 0.98),
        ("02: NSGA-II best profit, trimmed", {"profit": 1.0}, None),
    ):
        rec = ch.recommend_plan(res, rule, min_profit_share=share)
        plan = {k: float(rec[f"budget_{k}"]) for k in ids if rec[f"selected_{k}"]}
        plans[name] = ch.trim_unpaid_spend(res.model, plan)
    rows, spends = [], []
    for name, plan in plans.items():
        p = true_profit(plan)
        rows.append(
            {
                "seed": seed,
                "plan": name,
                "capture": (p - p_now) / (p_best - p_now),
                "true_gain": p - p_now,
                "capture_full_cost": (true_profit(plan, full) - p_now_full)
                / (p_best_full - p_now_full),
                "spend": sum(plan.values()),
            }
        )
        spends.append({"seed": seed, "plan": name, **{k: plan.get(k, 0.0) for k in ids}})
    spends.append({"seed": seed, "plan": "now", **now})
    meta = {"seed": seed, "budget": budget, "best_gain": p_best - p_now, "p_best": p_best,
            "fit_s": fit_s}  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(spends), meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 3])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--n-boot", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=["per_channel", "joint"])
    ap.add_argument(
        "--joint-base", default="calendar", help="base_terms of the joint fit (calendar, trend)"
    )
    ap.add_argument(
        "--folders",
        nargs="+",
        help="issue-20 scoring of existing demo folders named demo<seed> (see score_issue20)",
    )
    ap.add_argument(
        "--decompose",
        nargs="+",
        help="demo folders named demo<seed>: where capture is lost (decompose_capture)",
    )
    ap.add_argument(
        "--max-slope", type=float, help="largest fitted Hill slope (notebook 02's max_hill_slope)"
    )
    args = ap.parse_args()
    np.set_printoptions(precision=3)
    if args.decompose:
        caps, sp = [], []
        for f in args.decompose:
            seed = int(Path(f).name.removeprefix("demo"))
            rows, spends, meta = decompose_capture(
                Path(f), seed, args.n_boot, max_slope=args.max_slope
            )
            print(meta, flush=True)
            caps.append(rows)
            sp.append(spends)
            print(_md(rows, "{:,.3f}"), flush=True)
            print(_md(spends, "{:,.0f}"), flush=True)
        cap = pd.concat(caps).pivot_table(
            index="plan", columns="seed", values="capture", sort=False
        )
        print("\n" + _md(cap, "{:.3f}", index=True))
        return
    if args.folders:
        out, incs = [], []
        for f in args.folders:
            seed = int(Path(f).name.removeprefix("demo"))
            rows, inc = score_issue20(
                Path(f), seed, args.n_boot, 100, 200, args.models, args.joint_base, args.max_slope
            )
            out.append(rows)
            incs.append(inc)
            print(_md(inc, "{:+.3f}"), flush=True)
        inc = pd.concat(incs, ignore_index=True)
        print("\nIncremental revenue at median spend, fitted / true - 1, per fit and seed:\n")
        print(
            _md(inc.pivot_table(index=["fit", "channel"], columns="seed", values="err"), index=True)
        )
        print("\n" + _md(pd.concat(out, ignore_index=True), "{:,.3f}"))
        return
    for seed in args.seeds:
        run_seed(seed, args.size, args.n_boot)


if __name__ == "__main__":
    main()
