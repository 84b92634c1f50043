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

from . import exports as ex
from . import marketing as mkt
from . import operations as ops
from .presets import (
    BASE_CURRENCY,
    CHUNK_CUSTOMERS,
    FAVOURITE_COUNT_P,
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
    SRC_MKT,
    SRC_ORGANIC,
    START_EPOCH,
    Lines,
    OrderBatch,
    build_lines,
    build_pricing,
    draw_favourites,
    experiment_orders,
    marketing_orders,
    organic_orders,
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
    wk_rev = np.zeros((3, C, W))  # organic (incl. acquisition), marketing, experiment
    day_orders = np.zeros((C, T))
    day_units = np.zeros((C, T))
    exp_orders = np.zeros((C, T))
    demand_acc = np.zeros((C, T))
    sku_units = np.zeros((C, len(kg)))
    curves = None
    resp = None
    mhat0 = None
    spend = None
    n_chunks = int(np.ceil(sz.customers / CHUNK_CUSTOMERS))
    segs = segment_list(scn)
    try:
        for k in range(n_chunks):
            cust = build_customers(scn, active, catalog.categories, sz, seed, k)
            cust.fav = draw_favourites(cust, catalog, pricing, rng_for(seed, "favourites", k))
            share = cust.n / sz.customers
            orgs, death = organic_orders(cust, cal, rng_for(seed, "organic", k))
            lo = build_lines(
                orgs,
                cust,
                active,
                catalog,
                pricing,
                cal,
                fx_daily,
                mk_names,
                rng_for(seed, "lines", k),
            )
            rev = np.bincount(lo.ch, weights=lo.revenue, minlength=C)
            # mean value of repeat orders: marketing orders pick customers the same way
            rep = lo.src == SRC_ORGANIC
            n_ord = np.bincount(lo.ch[rep & (lo.line_no == 1)], minlength=C)
            rev_rep = np.bincount(lo.ch[rep], weights=lo.revenue[rep], minlength=C)
            if curves is None:  # calibrate the response curves on the first chunk
                organic_weekly = {ch.id: rev[c] / share / W for c, ch in enumerate(active)}
                spend, shapes = mkt.build_spend(
                    active, W, sz.customers / 10_000, rng_for(seed, "marketing")
                )
                curves = mkt.calibrate(shapes, active, organic_weekly)
                resp = mkt.expected_response(curves, spend, W)
                mhat0 = rev_rep / np.maximum(n_ord, 1)
            mhat = np.where(n_ord >= 20, rev_rep / np.maximum(n_ord, 1), mhat0)
            exp_counts = resp * share / np.maximum(mhat, 1.0)[:, None]
            mo = marketing_orders(cust, death, cal, exp_counts, rng_for(seed, "mkt", k))
            # experiment: randomise eligible CRM units, then spawn treatment orders
            elig = np.flatnonzero(cust.in_crm & (cust.pref[:, exp_ch] > 0) & (cust.a < win[0]))
            perm = rng_for(seed, "assign", k).permutation(elig)
            treat = np.zeros(cust.n, dtype=bool)
            treat[perm[0::2]] = True
            xo = experiment_orders(
                OrderBatch.concat([orgs, mo]),
                treat,
                exp_ch,
                win,
                EXPERIMENT_LIFT,
                rng_for(seed, "exp", k),
            )
            lm = build_lines(
                OrderBatch.concat([mo, xo]),
                cust,
                active,
                catalog,
                pricing,
                cal,
                fx_daily,
                mk_names,
                rng_for(seed, "lines2", k),
            )
            lines = _concat_lines(lo, lm)
            # truth accumulators (Shanghai weeks/days of the order instant)
            lday = np.clip((lines.utc + 8 * 3600 - START_EPOCH) // 86400, 0, T - 1)
            wk = lday // 7
            kind = np.select([lines.src == SRC_MKT, lines.src == SRC_EXP], [1, 2], 0)
            np.add.at(wk_rev, (kind, lines.ch, wk), lines.revenue)
            np.add.at(day_units, (lines.ch, lday), lines.qty)
            np.add.at(sku_units, (lines.ch, lines.sku), lines.qty)
            first_line = lines.line_no == 1
            np.add.at(day_orders, (lines.ch[first_line], lday[first_line]), 1)
            xl = first_line & (lines.src == SRC_EXP)
            np.add.at(exp_orders, (lines.ch[xl], lday[xl]), 1)
            _expected_demand_chunk(cust, death, cal, exp_counts, active, demand_acc)
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
            crm = np.flatnonzero(cust.in_crm)
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
                _truth_customers(cust, orgs, death, active, segs, catalog.categories, mk_names, T),
            )
            write_pq("favourites.parquet", _truth_favourites(cust, catalog))
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
    cust, orgs: OrderBatch, death: np.ndarray, active, segs, cats, mk_names, T: int
) -> pd.DataFrame:
    acq_ch = orgs.ch[orgs.src == SRC_ACQ]
    df = pd.DataFrame(
        {
            "customer_id": ex.crm_ids(cust.idx).to_numpy(zero_copy_only=False),
            "segment": np.array([s.name for s in segs])[cust.seg],
            "acquisition_date": _date(cust.a),
            "acquisition_channel": np.array([c.id for c in active])[acq_ch],
            "in_crm": cust.in_crm,
            "market": np.array(mk_names)[cust.market],
            "bgnbd_lambda": cust.lam,
            "bgnbd_p": cust.p,
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
        }
    )
    for j, c in enumerate(cats):
        df[f"pref_cat_{c}"] = cust.catp[:, j]
    for j, ch in enumerate(active):
        df[f"pref_channel_{ch.id}"] = cust.pref[:, j]
    return df


def _truth_favourites(cust, catalog) -> pd.DataFrame:
    """Favourite SKUs: one row per (customer, category, favourite), in slot order."""
    i, k, j = np.nonzero(cust.fav >= 0)
    return pd.DataFrame(
        {
            "customer_id": ex.crm_ids(cust.idx[i]).to_numpy(zero_copy_only=False),
            "category": np.array(catalog.categories)[k],
            "sku": catalog.products["sku"].to_numpy()[cust.fav[i, k, j]],
            "slot": (j + 1).astype(np.int64),
        }
    )


def _expected_demand_chunk(cust, death, cal, exp_counts, active, acc: np.ndarray) -> None:
    """Accumulate expected orders per channel/day (organic | lifetimes, + marketing) in acc."""
    T = cal.horizon
    lo = np.clip(cust.a, 0, T)
    hi = np.clip(np.where(np.isfinite(death), np.ceil(death), T), 0, T).astype(np.int64)
    live = lo < hi
    m = cal.mult[:, cal.idx(np.arange(T))]
    for c in range(len(active)):
        w = cust.lam * cust.pref[:, c]
        diff = np.bincount(lo[live], weights=w[live], minlength=T + 1) - np.bincount(
            hi[live], weights=w[live], minlength=T + 1
        )
        acc[c] += np.cumsum(diff)[:T] * m[c]
        inh = (cust.a >= 0) & (cust.a < T)
        acc[c] += np.bincount(cust.a[inh], weights=cust.pref[inh, c], minlength=T)[:T]
        wk = m[c].reshape(-1, 7)
        acc[c] += (exp_counts[c][:, None] * wk / wk.sum(1, keepdims=True)).ravel()


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
) -> None:
    truth = out / "truth"
    C, W = wk_rev.shape[1], wk_rev.shape[2]
    ids = [c.id for c in active]
    cur = curves.copy()
    cur["base_weekly_revenue"] = np.round(wk_rev[0].mean(axis=1), 2)
    cur.to_parquet(truth / "response_curves.parquet", index=False)
    resp = mkt.expected_response(curves, spend, W)
    wr = []
    for c, cid in enumerate(ids):
        s = spend.loc[spend["channel_id"] == cid].sort_values("week")
        wr.append(
            pd.DataFrame(
                {
                    "channel_id": cid,
                    "week_start": _date(np.arange(W) * 7),
                    "spend": s["spend"].to_numpy(),
                    "adstock": mkt.adstock(s["spend"].to_numpy(), curves["adstock_decay"].iat[c]),
                    "expected_marketing_revenue": resp[c],
                    "organic_revenue": wk_rev[0, c],
                    "marketing_revenue": wk_rev[1, c],
                    "experiment_revenue": wk_rev[2, c],
                    "total_revenue": wk_rev[:, c].sum(axis=0),
                }
            )
        )
    pd.concat(wr, ignore_index=True).to_parquet(truth / "weekly_revenue.parquet", index=False)
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
            "BG/NBD-like: per customer lambda ~ Gamma and p ~ Beta within the segment; the "
            "acquisition purchase happens on acquisition_date; while alive, purchases on "
            "channel c arrive at rate lambda * pref_c * m_c(d) (m_c = truth/demand.parquet "
            "multiplier), simulated by thinning; after each purchase the customer drops out "
            "with probability p. Order value ~ Gamma(5, mean_spend/5) CNY as the basket "
            "budget; 1-4 lines; category by the customer's category taste (pref_cat_*)."
        ),
        "product_choice": (
            "Habitual: each customer has 1-3 favourite SKUs per category (count 1/2/3 with "
            f"probabilities {list(FAVOURITE_COUNT_P)}; truth/favourites.parquet, slot = "
            "draw order), drawn once like an ordinary line on the customer's home channel "
            "(highest pref_channel_*). A line in a category is, with the segment's "
            "habit_probability, one of the customer's favourites of that category listed on "
            "the order's channel (uniformly among them); otherwise, or when none is listed "
            "there, 4 candidate SKUs are drawn by popularity (truth/demand_sku.parquet "
            "popularity) within the channel's listing of the category and the one with the "
            "best price fit -0.5 * (ln(price / line budget) / 0.55)^2 + Gumbel(0, 1) is taken; "
            "line budget = order value / number of lines. A SKU appears once per order."
        ),
        "weekly_revenue": (
            "E[weekly revenue of channel c in week t] = organic_t + R_t with R_t = revenue_max "
            "* A_t^s / (h^s + A_t^s), A_t = spend_t + adstock_decay * A_{t-1} (A_-1 = 0), "
            "h = hill_half_saturation, s = hill_slope (truth/response_curves.parquet). "
            "Revenue = sum of quantity * unit_price - discount converted to CNY at the "
            "order-date fx rate, over ALL simulated lines of the channel (every status; "
            "duplicates counted once; invalid rows included, they are ~0.3%), grouped by "
            "Monday weeks of the order date in Asia/Shanghai. base_weekly_revenue = mean of "
            "organic_t over the history. Marketing orders: Poisson per week with mean "
            "R_t / (mean organic order value of the channel), placed by alive customers. "
            "truth/weekly_revenue.parquet has spend, adstock, R_t and the realised parts."
        ),
        "demand": (
            "truth/demand.parquet, per channel and date: multiplier m_c(d); expected_orders = "
            "sum over customers alive that day of lambda * pref_c * m_c(d) + expected "
            "acquisitions + expected marketing orders (conditional on the simulated "
            "lifetimes; experiment orders excluded, see experiment_orders); units_per_order "
            "(channel mean); expected_units = expected_orders * units_per_order; realised "
            "orders/units. Expected units of SKU k on channel c on day d = expected_units(c, "
            "d) * unit_share(c, k) from truth/demand_sku.parquet (the SKU choice process is "
            "stationary; unit_share is its realised value)."
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
