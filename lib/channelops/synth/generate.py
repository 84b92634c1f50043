"""Orchestration: simulate chunk by chunk, append exports, write the contract and truth/."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from . import behaviour as bh
from . import exports as ex
from . import operations as ops
from . import truth2 as t2
from .presets import (
    BASE_CURRENCY,
    CHUNK_CUSTOMERS,
    FX_REF,
    GENERATOR_VERSION,
    MARKETS,
    REPORTING_TZ,
    SCENARIOS,
    SIZES,
    START_DATE,
    STYLES,
)
from .simulate import (
    SRC_ACQ,
    SRC_EXP,
    SRC_HALO,
    SRC_MKT,
    SRC_MOVED,
    SRC_NEW,
    START_EPOCH,
    Lines,
    OrderBatch,
    build_pricing,
    draw_favourites,
)
from .world import (
    build_calendar,
    build_catalog,
    build_customers,
    build_fx,
    cat,
    rng_for,
    segment_list,
    to_str,
)

EXPERIMENT_LIFT = 0.12
EXPERIMENT_NAME = "free_shipping_coupon"
_AGE_BANDS = ["age_18_24", "age_25_34", "age_35_44", "age_45_plus"]


def _concat_lines(a: Lines, b: Lines) -> Lines:
    off = int(a.order.max()) + 1 if len(a) else 0
    vals = {}
    for f in (
        "order",
        "cust",
        "ch",
        "utc",
        "day",
        "src",
        "line_no",
        "sku",
        "qty",
        "cents",
        "disc",
        "cur",
        "status",
        "revenue",
    ):
        x, y = getattr(a, f), getattr(b, f)
        vals[f] = np.concatenate([x, y + off if f == "order" else y])
    assert a.codes == b.codes
    return Lines(**vals, codes=a.codes)


def _subset(lines: Lines, sel: np.ndarray) -> Lines:
    vals = {
        f: getattr(lines, f)[sel]
        for f in (
            "order",
            "cust",
            "ch",
            "utc",
            "day",
            "src",
            "line_no",
            "sku",
            "qty",
            "cents",
            "disc",
            "cur",
            "status",
            "revenue",
        )
    }
    return Lines(**vals, codes=lines.codes)


def _dump_yaml(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _append(table: pa.Table, fh, header: bool) -> None:
    pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=header, quoting_style="none"))


def generate_dataset(
    out_dir: str | Path,
    scenario: str = "multi_category",
    size: str = "demo",
    seed: int = 42,
    progress: bool = False,
) -> dict[str, int]:
    """Simulate a multi-channel business and write its dataset folder plus truth/.

    Args:
        out_dir: dataset folder (created; the files it writes and the orders/, mappings/
            and truth/ sub-folders are replaced).
        scenario: one of SCENARIOS (multi_category, social, cross_border).
        size: one of SIZES (tiny, demo, large).
        seed: master seed; the same (scenario, size, seed) gives byte-identical files.
        progress: print one line per customer chunk to stderr.
    Returns:
        data rows per written file, keyed by the path relative to out_dir.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {sorted(SCENARIOS)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    scn, sz = SCENARIOS[scenario], SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("orders", "mappings", "truth"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir()
    active = [c for c in scn.channels if c.style is not None]
    styles = [STYLES[c.style] for c in active]
    C, T, W = len(active), sz.weeks * 7, sz.weeks
    mk_names = list(scn.markets)
    cal = build_calendar(scn, active, sz, seed)
    currencies = sorted({c for ch in active for c in ch.currencies if c != BASE_CURRENCY})
    fx = build_fx(currencies, cal, seed)
    fx_daily = {cur: fx.loc[fx["currency"] == cur, "rate_to_base"].to_numpy() for cur in currencies}
    catalog = build_catalog(scn, active, [s.sku for s in styles], sz, seed)
    pricing = build_pricing(active, catalog, {k: v[0] for k, v in FX_REF.items()})
    kg = catalog.products["weight_kg"].to_numpy()
    snapshot = START_EPOCH + T * 86400 - 8 * 3600
    exp_ch = [c.id for c in active].index(scn.experiment_channel)
    win = (T - 16 * 7, T - 8 * 7 - 1)

    states, handles = [], []
    for c, (ch, st) in enumerate(zip(active, styles, strict=True)):
        rel = f"orders/{ch.id}.csv"
        fh = open(out / rel, "wb")  # noqa: SIM115 - closed in the finally below
        fh.write(ex.header_line(st).encode("utf-8"))
        handles.append(fh)
        states.append(ex.ExportState(ch, st, c, str(out / rel), rel))
    side = {
        name: open(out / name, "wb")
        for name in ("customers.csv", "shipments.csv", "service_contacts.csv", "experiments.csv")  # noqa: SIM115
    }
    pq_writers: dict[str, pq.ParquetWriter] = {}

    def write_pq(name: str, df: pd.DataFrame) -> None:
        t = pa.Table.from_pandas(df, preserve_index=False)
        if name not in pq_writers:
            pq_writers[name] = pq.ParquetWriter(out / "truth" / name, t.schema)
        pq_writers[name].write_table(t)

    counts: dict[str, int] = {}
    acc = _truth_accumulators(C, T, W, len(kg))
    wk_rev, day_orders, day_units = acc["wk_rev"], acc["day_orders"], acc["day_units"]
    exp_orders, sku_units = acc["exp_orders"], acc["sku_units"]
    demand_acc = np.zeros((C, T))
    oos = bh.stockout_matrix(catalog, cal, rng_for(seed, "stockouts"))
    mstate = None
    curves = spend = None
    n_chunks = int(np.ceil(sz.customers / CHUNK_CUSTOMERS))
    segs = segment_list(scn)
    try:
        for k in range(n_chunks):
            cust = build_customers(scn, active, catalog.categories, sz, seed, k)
            cust.fav = draw_favourites(cust, catalog, pricing, rng_for(seed, "favourites", k))
            share = cust.n / sz.customers
            res, mstate = bh.simulate_chunk(
                cust, k, share, mstate, active, catalog, pricing, cal, fx_daily, mk_names, oos,
                exp_ch, win, EXPERIMENT_LIFT, seed,
                {"scale": sz.customers / 10_000},
            )  # fmt: skip
            spend, curves = mstate.spend, mstate.curves
            orgs, death, treat, elig = res.orgs, res.death, res.treat, res.elig
            _accumulate_truth(res, acc, T, W)
            _expected_demand_chunk(cust, death, cal, mstate, share, active, demand_acc)
            lines = bh.renumber(bh.subset_lines(res.lines, ~res.censored))
            lday = np.clip((lines.utc + 8 * 3600 - START_EPOCH) // 86400, 0, T - 1)
            # exports, per channel
            erng = rng_for(seed, "exports", k)
            oid_parts, och, ocity, outc, oday, ost, owt = [], [], [], [], [], [], []
            for c in range(C):
                sel = np.flatnonzero(lines.ch == c)
                sub = _subset(lines, sel)
                korder = ex.write_chunk(states[c], sub, cust, catalog.codes[c], erng, handles[c])
                if len(sub) == 0:
                    continue
                firsts = np.flatnonzero(sub.line_no == 1)
                w = np.bincount(
                    np.searchsorted(np.unique(sub.order), sub.order), weights=sub.qty * kg[sub.sku]
                )
                uo, first_pos = np.unique(sub.order, return_index=True)
                del firsts
                oid_parts.append(
                    ex._order_ids(
                        styles[c], korder[first_pos], sub.utc[first_pos], active[c].timezone
                    )
                )
                och.append(np.full(len(uo), c))
                ocity.append(cust.city[sub.cust[first_pos]])
                outc.append(sub.utc[first_pos])
                oday.append(lday[sel][first_pos])
                ost.append(sub.status[first_pos])
                owt.append(w)
            oid = pa.concat_arrays(oid_parts)
            och_a, outc_a = np.concatenate(och), np.concatenate(outc)
            ost_a = np.concatenate(ost)
            ship, info = ops.shipments_chunk(
                oid,
                och_a,
                np.concatenate(ocity),
                outc_a,
                np.concatenate(oday),
                ost_a,
                np.concatenate(owt),
                active,
                cal,
                snapshot,
                rng_for(seed, "ship", k),
            )
            _append(ship, side["shipments.csv"], k == 0)
            contacts = ops.contacts_chunk(
                och_a, outc_a, ost_a, info, active, snapshot, rng_for(seed, "contacts", k)
            )
            _append(contacts, side["service_contacts.csv"], k == 0)
            counts["shipments.csv"] = counts.get("shipments.csv", 0) + ship.num_rows
            counts["service_contacts.csv"] = (
                counts.get("service_contacts.csv", 0) + contacts.num_rows
            )
            # CRM and experiment units
            crm = np.flatnonzero(cust.in_crm & (cust.a < T))  # never-converted prospects: none
            crm_t = _crm_table(cust, crm, rng_for(seed, "crm", k))
            _append(crm_t, side["customers.csv"], k == 0)
            counts["customers.csv"] = counts.get("customers.csv", 0) + crm_t.num_rows
            units = np.sort(elig)
            ex_t = pa.table(
                {
                    "unit_id": ex.crm_ids(cust.idx[units]),
                    "unit_type": pa.array(["customer"] * len(units)),
                    "group": pa.array(np.where(treat[units], "treatment", "control").tolist()),
                    "start_date": pa.array([_date(win[0])] * len(units)),
                    "end_date": pa.array([_date(win[1])] * len(units)),
                    "name": pa.array([EXPERIMENT_NAME] * len(units)),
                }
            )
            _append(ex_t, side["experiments.csv"], k == 0)
            counts["experiments.csv"] = counts.get("experiments.csv", 0) + ex_t.num_rows
            write_pq(
                "customers.parquet",
                _truth_customers(
                    cust, orgs, death, active, segs, catalog.categories, mk_names, T, res
                ),
            )
            write_pq("favourites.parquet", _truth_favourites(cust, catalog, T))
            for st in states:
                for df in st.identity:
                    write_pq("buyer_identity.parquet", df)
                st.identity.clear()
            if progress:
                print(
                    f"synth: chunk {k + 1}/{n_chunks}: {cust.n} customers, {len(lines)} lines",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for fh in handles + list(side.values()):
            fh.close()
        for w in pq_writers.values():
            w.close()

    for st in states:
        counts[st.rel] = st.rows
    _write_static(
        out, scn, sz, seed, active, styles, catalog, fx, spend, curves, counts, day_orders, mk_names
    )
    _write_truth(
        out,
        scn,
        size,
        seed,
        active,
        states,
        curves,
        spend,
        wk_rev,
        day_orders,
        day_units,
        exp_orders,
        sku_units,
        catalog,
        cal,
        win,
        counts,
        segs,
        demand_acc,
        acc=acc,
        mstate=mstate,
        oos=oos,
    )
    return dict(sorted(counts.items()))


def _date(day: int | np.ndarray) -> str | np.ndarray:
    d = np.datetime64(START_DATE) + np.asarray(day).astype("timedelta64[D]")
    return str(d) if np.ndim(d) == 0 else d.astype(str)


def _crm_table(cust, rows: np.ndarray, rng: np.random.Generator) -> pa.Table:
    sel = pa.array(rows)
    p = {k: v.take(sel) for k, v in cust.pii.items()}
    phone = pa.compute.if_else(
        p["is_cn"], p["phone_national"], cat("+", p["phone_cc"], " ", p["phone_national"])
    )
    email = pa.compute.if_else(pa.array(rng.random(len(rows)) < 0.08), "", p["email"])
    return pa.table(
        {
            "customer_id": ex.crm_ids(cust.idx[rows]),
            "signup_date": pa.array(_date(cust.a[rows]).tolist(), pa.string()),
            "name": p["name"],
            "email": email,
            "phone": phone,
            "address": p["address"],
            "postcode": p["postcode"],
            "city": p["city"],
            "birth_year": to_str(cust.birth_year[rows]),
            "gender": p["gender"],
        }
    )


def _truth_customers(
    cust, orgs: OrderBatch, death: np.ndarray, active, segs, cats, mk_names, T: int, res
) -> pd.DataFrame:
    """True customers of a chunk (acquired ones only: a prospect the ads never converted
    never became a customer)."""
    n = cust.n
    acq_ch = np.full(n, -1, dtype=np.int64)
    first = np.isin(orgs.src, (SRC_ACQ, SRC_NEW))
    acq_ch[orgs.cust[first]] = orgs.ch[first]
    lines, obs = res.lines, ~res.censored
    value = np.bincount(lines.cust[obs], weights=lines.revenue[obs], minlength=n)
    in52 = obs & (lines.day < cust.a[lines.cust] + 364) & (lines.day > cust.a[lines.cust])
    v52 = np.bincount(lines.cust[in52], weights=lines.revenue[in52], minlength=n)
    has52 = cust.a + 364 <= T
    sel = np.flatnonzero(cust.a < T)
    life = np.floor(np.clip(cust.life_day, -(10**6), 10**6)).astype(int)
    df = pd.DataFrame(
        {
            "customer_id": ex.crm_ids(cust.idx).to_numpy(zero_copy_only=False),
            "segment": np.array([s.name for s in segs])[cust.seg],
            "acquisition_date": _date(np.minimum(cust.a, T)),
            "acquisition_channel": np.array([c.id for c in active] + [""])[acq_ch],
            "acquired_by": np.where(cust.acq_paid, "paid", "organic"),
            "in_crm": cust.in_crm,
            "market": np.array(mk_names)[cust.market],
            "bgnbd_lambda": cust.lam,
            "bgnbd_p": cust.p,
            "purchase_rate": cust.lam,
            "order_churn_p": cust.p,
            "daily_hazard": cust.hazard,
            "life_event_date": np.where(life < T, _date(np.minimum(life, T)), None),
            "life_event_factor": cust.life_factor,
            "habit": cust.habit,
            "price_sensitivity": cust.price_sens,
            "mean_spend": cust.nu,
            "discount_propensity": cust.disc,
            "age_band": np.array(_AGE_BANDS)[cust.age],
            "dropout_date": pd.Series(
                np.where(
                    np.isfinite(death),
                    _date(np.where(np.isfinite(death), np.floor(death), 0).astype(int)),
                    None,
                )
            ).astype("string"),
            "alive_at_end": ~np.isfinite(death) | (death >= T),
            "orders_good_experience": res.experience[:, 0].astype(np.int64),
            "churned_after_good": res.experience[:, 1].astype(bool),
            "orders_bad_experience": res.experience[:, 2].astype(np.int64),
            "churned_after_bad": res.experience[:, 3].astype(bool),
            "value_history": value,
            "value_52w_after_first": np.where(has52, v52, np.nan),
        }
    )
    df["life_event_date"] = df["life_event_date"].astype("string")
    for j, c in enumerate(cats):
        df[f"pref_cat_{c}"] = cust.catp[:, j]
    for j, ch in enumerate(active):
        df[f"pref_channel_{ch.id}"] = cust.pref[:, j]
    return df.iloc[sel].reset_index(drop=True)


def _truth_favourites(cust, catalog, T: int) -> pd.DataFrame:
    """Favourite SKUs: one row per (customer, category, favourite), in slot order (acquired
    customers only)."""
    i, k, j = np.nonzero((cust.fav >= 0) & (cust.a < T)[:, None, None])
    return pd.DataFrame(
        {
            "customer_id": ex.crm_ids(cust.idx[i]).to_numpy(zero_copy_only=False),
            "category": np.array(catalog.categories)[k],
            "sku": catalog.products["sku"].to_numpy()[cust.fav[i, k, j]],
            "slot": (j + 1).astype(np.int64),
        }
    )


def _expected_demand_chunk(cust, death, cal, mstate, share, active, acc: np.ndarray) -> None:
    """Accumulate expected orders per channel/day in acc, before stock-out censoring and
    conditional on the simulated lifetimes and life events: organic (lam x life-event factor
    x pref x m while alive) + acquisitions + the direct response (its orders spread over the
    week like the channel's multiplier) + halo - moved-away orders."""
    T = cal.horizon
    C, W = len(active), T // 7
    hi = np.clip(np.where(np.isfinite(death), np.ceil(death), T), 0, T).astype(np.int64)
    ev = np.clip(np.ceil(cust.life_day), 0, T).astype(np.int64)
    m = cal.mult[:, cal.idx(np.arange(T))]
    lo0 = np.clip(cust.a, 0, T)
    segs = ((lo0, np.minimum(hi, np.maximum(ev, lo0)), 1.0), (np.maximum(lo0, ev), hi, None))
    direct = mstate.resp * share / mstate.mhat[:, None]
    ids = [c.id for c in active]
    for a, ch in enumerate(active):
        for tgt, f in ch.halo.items():
            if tgt in ids:
                b = ids.index(tgt)
                direct[b] += f * mstate.resp[a] * share / mstate.mhat[b]
        for tgt, f in ch.cannibalises.items():
            if tgt in ids:
                direct[ids.index(tgt)] -= f * mstate.resp[a] * share / mstate.mhat[a]
    inh = (cust.a >= 0) & (cust.a < T)
    for c in range(C):
        for lo, up, fac in segs:
            live = lo < up
            w = cust.lam * cust.pref[:, c] * (cust.life_factor if fac is None else fac)
            diff = np.bincount(lo[live], weights=w[live], minlength=T + 1) - np.bincount(
                up[live], weights=w[live], minlength=T + 1
            )
            acc[c] += np.cumsum(diff)[:T] * m[c]
        org = inh & ~cust.acq_paid
        acc[c] += np.bincount(cust.a[org], weights=cust.pref[org, c], minlength=T)[:T]
        wk = m[c].reshape(-1, 7)
        extra = direct[c] - mstate.kappa[c] * mstate.resp[c] * share  # new ones counted below
        acc[c] += (np.maximum(extra, 0)[:, None] * wk / wk.sum(1, keepdims=True)).ravel()[:T]
        paid = inh & cust.acq_paid & (cust.acq_ch == c)
        acc[c] += np.bincount(cust.a[paid], minlength=T)[:T]
    del W


def _truth_accumulators(C: int, T: int, W: int, S: int) -> dict[str, np.ndarray]:
    """Zeroed truth accumulators. wk_rev kinds: 0 organic (incl. organic acquisitions),
    1 direct marketing response (extra, ad-acquired first and moved orders), 2 experiment,
    3 halo; all observed (after stock-out censoring); wk_dem: the same before censoring."""
    return {
        "wk_rev": np.zeros((4, C, W)),
        "wk_dem": np.zeros((4, C, W)),
        "day_orders": np.zeros((C, T)),
        "day_units": np.zeros((C, T)),
        "day_demand": np.zeros((C, T)),
        "day_censored_lines": np.zeros((C, T)),
        "exp_orders": np.zeros((C, T)),
        "sku_units": np.zeros((C, S)),
        "sku_demand": np.zeros((C, S)),
        "new_customers": np.zeros((C, W)),
        "moved_out": np.zeros((C, W)),
        "organic_new": np.zeros((C, W)),
    }


def _add(target: np.ndarray, index: tuple, weights=None) -> None:
    """target[index] += weights (1 when None), duplicates summed: np.add.at via bincount."""
    flat = np.ravel_multi_index(tuple(np.asarray(i, np.int64) for i in index), target.shape)
    scale = 1.0
    if weights is None or np.ndim(weights) == 0:
        scale, weights = (1.0 if weights is None else float(weights)), None
    w = None if weights is None else np.asarray(weights, float)
    add = np.bincount(flat, weights=w, minlength=target.size).reshape(target.shape)
    target += scale * add


def _accumulate_truth(res, acc: dict[str, np.ndarray], T: int, W: int) -> None:
    """Add a chunk's lines (Shanghai days of the order instant) to the truth accumulators."""
    lines, cens = res.lines, res.censored
    lday = np.clip((lines.utc + 8 * 3600 - START_EPOCH) // 86400, 0, T - 1)
    wk = np.minimum(lday // 7, W - 1)
    kind = np.select(
        [np.isin(lines.src, (SRC_MKT, SRC_NEW, SRC_MOVED)), lines.src == SRC_EXP,
         lines.src == SRC_HALO],
        [1, 2, 3], 0,
    )  # fmt: skip
    obs = ~cens
    _add(acc["wk_dem"], (kind, lines.ch, wk), lines.revenue)
    _add(acc["wk_rev"], (kind[obs], lines.ch[obs], wk[obs]), lines.revenue[obs])
    _add(acc["day_demand"], (lines.ch, lday), lines.qty)
    _add(acc["day_units"], (lines.ch[obs], lday[obs]), lines.qty[obs])
    _add(acc["day_censored_lines"], (lines.ch[cens], lday[cens]), 1)
    _add(acc["sku_demand"], (lines.ch, lines.sku), lines.qty)
    _add(acc["sku_units"], (lines.ch[obs], lines.sku[obs]), lines.qty[obs])
    # observed orders: an order with at least one line in stock
    o_obs = np.unique(lines.order[obs], return_index=True)[1]
    idx = np.flatnonzero(obs)[o_obs]
    _add(acc["day_orders"], (lines.ch[idx], lday[idx]), 1)
    xl = idx[lines.src[idx] == SRC_EXP]
    _add(acc["exp_orders"], (lines.ch[xl], lday[xl]), 1)
    acc["new_customers"] += res.new_customers
    acc["moved_out"] += res.moved_out
    o = res.orgs
    a = (o.src == SRC_ACQ) & (o.day >= 0) & (o.day < T)
    _add(acc["organic_new"], (o.ch[a], np.minimum(o.day[a] // 7, W - 1)), 1)


def _write_static(
    out: Path,
    scn,
    sz,
    seed,
    active,
    styles,
    catalog,
    fx,
    spend,
    curves,
    counts,
    day_orders,
    mk_names,
) -> None:
    # channels.csv: active and candidate channels
    rows = []
    cur = {r.channel_id: r for r in curves.itertuples()}
    prng = rng_for(seed, "priors")
    for ch in scn.channels:
        age = np.array(ch.age) / sum(ch.age)
        tiers = np.array(ch.tiers) / sum(ch.tiers)
        if ch.id in cur:
            r = cur[ch.id]
            prior_max = r.revenue_max * prng.uniform(0.7, 1.3)
            prior_half = r.hill_half_saturation * (1 - r.adstock_decay) * prng.uniform(0.7, 1.3)
        else:
            ref = curves["revenue_max"].median() * prng.uniform(0.3, 0.8)
            prior_max = ref
            prior_half = curves["typical_spend"].median() * prng.uniform(0.5, 1.2)
        rows.append(
            {
                "channel_id": ch.id,
                "name": ch.name,
                "kind": ch.kind,
                "commission_rate": ch.commission,
                "fixed_cost_per_month": ch.fixed_cost,
                "currency": ch.currencies[0],
                "timezone": ch.timezone,
                **{b: round(float(a), 3) for b, a in zip(_AGE_BANDS, age, strict=True)},
                "tier_1": round(float(tiers[0]), 3),
                "tier_2": round(float(tiers[1]), 3),
                "tier_3": round(float(1 - round(tiers[0], 3) - round(tiers[1], 3)), 3),
                "prior_weekly_revenue_max": round(float(prior_max), 2),
                "prior_half_saturation_spend": round(float(prior_half), 2),
            }
        )
    chdf = pd.DataFrame(rows)
    # age shares must sum to exactly 1 after rounding
    chdf["age_45_plus"] = (1 - chdf[_AGE_BANDS[:3]].sum(axis=1)).round(3)
    frames = {
        "channels.csv": chdf,
        "products.csv": catalog.products,
        "sku_map.csv": pd.DataFrame(
            [
                (ch.id, catalog.codes[c][i], catalog.products["sku"].iat[i])
                for c, ch in enumerate(active)
                for i in np.flatnonzero(catalog.listed[c])
            ],
            columns=["channel_id", "channel_sku", "sku"],
        ),
        "fx_rates.csv": fx.loc[fx["date"] >= START_DATE].reset_index(drop=True),
        "marketing_spend.csv": spend.assign(week_start=_date(spend["week"].to_numpy() * 7))[
            ["week_start", "channel_id", "spend", "impressions", "clicks"]
        ],
        "warehouses.csv": ops.warehouses_frame(day_orders.sum() / day_orders.shape[1]),
        "locations.csv": ops.locations_frame(),
    }
    for name, df in frames.items():
        df.to_csv(out / name, index=False, lineterminator="\n")
        counts[name] = len(df)
    for ch, st in zip(active, styles, strict=True):
        _dump_yaml(out / "mappings" / f"{ch.id}.yaml", ex.mapping_dict(ch, st))
        counts[f"mappings/{ch.id}.yaml"] = 1
    ds = {
        "name": f"{scn.name}_{_size_name(sz)}_{seed}",
        "base_currency": BASE_CURRENCY,
        "timezone": REPORTING_TZ,
        "channels": [
            {
                "id": ch.id,
                "orders": f"orders/{ch.id}.csv",
                "mapping": f"mappings/{ch.id}.yaml",
                "crm_ids": bool(ch.crm),
            }
            for ch in active
        ],
    }
    _dump_yaml(out / "dataset.yaml", ds)
    counts["dataset.yaml"] = 1
    del mk_names


def _size_name(sz) -> str:
    return next(k for k, v in SIZES.items() if v == sz)


def _write_truth(
    out: Path,
    scn,
    size: str,
    seed: int,
    active,
    states,
    curves,
    spend,
    wk_rev,
    day_orders,
    day_units,
    exp_orders,
    sku_units,
    catalog,
    cal,
    win,
    counts,
    segs,
    exp_d: np.ndarray,
    acc: dict,
    mstate,
    oos: np.ndarray,
) -> None:
    truth = out / "truth"
    C = wk_rev.shape[1]
    ids = [c.id for c in active]
    t2.write_marketing_truth(out, active, mstate, acc, catalog, cal, seed, counts)
    t2.write_stockouts(truth, bh.stockout_spells(oos), catalog)
    T = cal.horizon
    upo = day_units.sum(1) / np.maximum(day_orders.sum(1), 1)
    dem = []
    for c, cid in enumerate(ids):
        dem.append(
            pd.DataFrame(
                {
                    "channel_id": cid,
                    "date": _date(np.arange(T)),
                    "multiplier": cal.mult[c, cal.idx(np.arange(T))],
                    "promo": cal.promo[c, cal.idx(np.arange(T))],
                    "expected_orders": exp_d[c],
                    "units_per_order": upo[c],
                    "expected_units": exp_d[c] * upo[c],
                    "realised_orders": day_orders[c],
                    "realised_units": day_units[c],
                    "demand_units": acc["day_demand"][c],
                    "stockout_lines": acc["day_censored_lines"][c],
                    "demand_shock": cal.shock[cal.idx(np.arange(T))],
                    "experiment_orders": exp_orders[c],
                }
            )
        )
    pd.concat(dem, ignore_index=True).to_parquet(truth / "demand.parquet", index=False)
    share = sku_units / np.maximum(sku_units.sum(1, keepdims=True), 1)
    sk = []
    for c, cid in enumerate(ids):
        sk.append(
            pd.DataFrame(
                {
                    "channel_id": cid,
                    "sku": catalog.products["sku"],
                    "listed": catalog.listed[c],
                    "popularity": catalog.pop,
                    "launch_date": np.where(
                        catalog.launch >= 0, _date(np.maximum(catalog.launch, 0)), None
                    ),
                    "predecessor_sku": np.where(
                        catalog.predecessor >= 0,
                        catalog.products["sku"].to_numpy()[np.maximum(catalog.predecessor, 0)],
                        None,
                    ),
                    "complement_sku": catalog.products["sku"].to_numpy()[catalog.complement],
                    "demand_units": acc["sku_demand"][c],
                    "unit_share": share[c],
                    "units": sku_units[c],
                }
            )
        )
    pd.concat(sk, ignore_index=True).to_parquet(truth / "demand_sku.parquet", index=False)
    dups = [d for st in states for d in st.duplicates]
    pd.concat(dups, ignore_index=True).astype(
        {"row": "int64", "duplicate_of_row": "int64"}
    ).to_parquet(truth / "duplicate_rows.parquet", index=False)
    inv = [d for st in states for d in st.invalid]
    inv_df = (
        pd.concat(inv, ignore_index=True)
        if inv
        else pd.DataFrame(
            {
                "channel_id": [],
                "source_file": [],
                "row": [],
                "column": [],
                "export_column": [],
                "value": [],
                "reason": [],
            }
        )
    )
    inv_df = (
        inv_df.astype({"row": "int64"}).sort_values(["source_file", "row"]).reset_index(drop=True)
    )
    inv_df.to_parquet(truth / "invalid_rows.parquet", index=False)
    counts["truth/duplicate_rows.parquet"] = int(sum(len(d) for d in dups))
    counts["truth/invalid_rows.parquet"] = len(inv_df)
    exp_id = scn.experiment_channel
    _dump_yaml(
        truth / "experiment.yaml",
        {
            "name": EXPERIMENT_NAME,
            "channel_id": exp_id,
            "unit_type": "customer",
            "start_date": _date(win[0]),
            "end_date": _date(win[1]),
            "metric": f"revenue per unit on {exp_id} during the window: sum over the unit's "
            f"{exp_id} order lines with order date (Asia/Shanghai) in [start_date, "
            "end_date] of quantity x unit_price - discount in CNY, all statuses, "
            "averaged over all units of the group (units without orders count as 0)",
            "true_relative_lift": EXPERIMENT_LIFT,
            "how_applied": "each order of a treatment unit on the experiment channel inside the "
            "window (organic or marketing) spawns, with probability "
            f"{EXPERIMENT_LIFT}, one extra independent order 0-6 days later inside "
            "the window; extra orders never cause dropout, so expected revenue "
            "per treatment unit = (1 + lift) x that of a control unit",
            "assignment": "eligible units (CRM customers who prefer the channel, signed up before "
            "start_date) shuffled and alternately assigned, per chunk of 50,000 "
            "customers: groups differ by at most one unit per chunk",
        },
    )
    world = {
        "scenario": scn.name,
        "description": scn.description,
        "size": size,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "start_date": START_DATE,
        "end_date": _date(cal.horizon - 1),
        "base_currency": BASE_CURRENCY,
        "timezone": REPORTING_TZ,
        "segments": [
            {
                "name": s.name,
                "share": scn.segment_share[s.name],
                "lambda_per_day_mean": round(s.lam_mean, 5),
                "dropout_p_mean": round(s.p_a / (s.p_a + s.p_b), 4),
                "mean_order_value": s.spend_mean,
                "discount_rate": s.discount,
                "habit_probability": s.habit,
                "acquisition_window_horizon_fraction": list(s.acq),
            }
            for s in segs
        ],
        "channels": {
            "active": ids,
            "candidates": [c.id for c in scn.channels if c.style is None],
            "crm_ids": [c.id for c in active if c.crm],
        },
        "markets": {m: {"share": scn.markets[m], "currency": MARKETS[m][0]} for m in scn.markets},
        "purchase_process": (
            "Simulator 2 (not BG/NBD): per customer lambda ~ Gamma within the segment; the "
            "acquisition order happens on acquisition_date (prospects: only when an ad converts "
            "them, acquired_by = paid); while alive, purchases on channel c arrive at rate "
            "lambda * g(t) * pref_c * m_c(d), g = 1 before the customer's life event and "
            "life_event_factor after it (one life event, exponential waiting time with mean "
            "720 days, factor log-normal), m_c = truth/demand.parquet multiplier (trend, "
            "season, holidays, promotion price effect, market demand shock). Churn: a daily "
            "hazard (daily_hazard) plus, after each order, probability 0.5 * p + 0.25 if the "
            "order met a stock-out or a late delivery. Order value ~ Gamma(5, mean_spend/5) x "
            "(1 + 0.12 cos(2 pi (day of year - 350) / 365.25)) x 1.2 on promotion days."
        ),
        "product_choice": (
            "Per line: category by the customer's category taste (pref_cat_*); with the "
            "customer's own habit probability (truth/customers.parquet habit, Beta around the "
            "segment's habit_probability with concentration 4) one of the customer's 1-3 "
            "favourites of the category listed on the channel (truth/favourites.parquet); "
            "otherwise 4 candidates by popularity and the best of -0.5 (ln(price / line "
            "budget) / 0.55)^2 - price_sensitivity * ln(price / category median price) + "
            "Gumbel(0, 1). A line brings its complement SKU (truth/demand_sku.parquet "
            "complement_sku) with probability 0.12; a new SKU (launch_date) bought before its "
            "launch is its predecessor_sku. Lines of a SKU on a stock-out day "
            "(truth/stockouts.parquet) are lost sales: in the demand truth, not in the exports."
        ),
        "weekly_revenue": (
            "Direct response of channel c: R_t = saturation_revenue_max * (1 - exp(-E_t / "
            "saturation_spend)), E_t = sum_l w_l spend_{t-l}, w = discretised Weibull(lag_shape, "
            "lag_scale_weeks) lag kernel over 13 weeks, normalised "
            "(truth/response_curves.parquet). Its orders: ad-acquired first orders "
            "(new_customers_per_revenue x R_t new customers), orders moved from cannibalised "
            "channels (truth/halo.parquet kind cannibalisation), extra orders of existing "
            "customers; plus halo orders share x R_t on target channels. Business-wide "
            "incremental revenue = R_t (1 + net_halo_share). adstock_decay, "
            "hill_half_saturation, hill_slope, revenue_max are only the closest geometric + "
            "Hill curve to the steady state (not the process). truth/weekly_revenue.parquet: "
            "spend, carry-over stock (adstock), expected direct and incremental revenue, and "
            "realised revenue by cause, observed after stock-outs (demand_revenue: before); "
            "channelops.synth.scoring.profit.true_weekly_profit scores any allocation."
        ),
        "demand": (
            "truth/demand.parquet, per channel and date: multiplier m_c(d), promo, "
            "demand_shock; expected_orders (before stock-outs, conditional on the simulated "
            "lifetimes and life events: organic + acquisitions + direct response + halo - "
            "moved away); realised orders/units (observed, after stock-outs), demand_units "
            "(before), stockout_lines. truth/demand_sku.parquet: units (observed), "
            "demand_units, launch_date, predecessor_sku, complement_sku."
        ),
        "exports": {
            ch.id: {
                "style": ch.style,
                "timezone": ch.timezone,
                "currencies": list(ch.currencies),
                "crm_ids": bool(ch.crm),
            }
            for ch in active
        },
        "noise": {"duplicate_row_rate": ex.DUP_RATE, "invalid_row_rate": ex.INVALID_RATE},
        "counts": {k: int(v) for k, v in sorted(counts.items())},
    }
    _dump_yaml(truth / "world.yaml", world)
    del C
