"""One chunk of customers through simulator 2: purchases, churn by experience, paid
acquisition, halo, cannibalisation, stock-outs (see docs/design-notes.md, "Simulator 2").

The flow per chunk:

1. organic purchases of the acquired customers (prospects stay silent), their lines, and
   churn after orders that met a stock-out or a late delivery (:func:`_organic_unit`);
2. on the first chunk, the marketing world is planned and calibrated (``MarketState``);
3. prospects converted by each channel's ads (count per week proportional to the channel's
   direct response), then their own organic life as in 1;
4. the direct response of each channel: orders moved from a cannibalised channel, extra
   orders of existing customers; halo orders on other channels; experiment orders;
5. stock-outs censor lines: the truth keeps every line (demand), the exports only the
   lines in stock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from . import marketing as mkt
from .presets import ChannelPreset
from .simulate import (
    SRC_HALO,
    SRC_MOVED,
    SRC_ORGANIC,
    ChannelPricing,
    Lines,
    OrderBatch,
    apply_churn,
    build_lines,
    experiment_orders,
    marketing_orders,
    organic_orders,
)
from .world import Calendar, Catalog, Customers, rng_for

OOS_RATE = 0.05  # share of SKU-days out of stock outside peaks (Gruen et al. 2002: ~8%)
OOS_MEAN_DAYS = 6.0  # mean length of a stock-out spell
OOS_PEAK = 4.0  # spells start this much more often on peak demand days
PROSPECT_FILL = 0.85  # expected share of the prospects the ads convert over the history
LINE_FIELDS = [f.name for f in fields(Lines) if f.name not in ("codes", "origin")]


@dataclass
class MarketState:
    """The planned marketing world, fixed on the first chunk.

    spend: marketing_spend frame (week, channel_id, spend, impressions, clicks). curves:
    truth response table. resp: (C, W) expected direct response (CNY). mhat: mean organic
    order value per channel (CNY). kappa: new customers per CNY of direct response (per
    channel, before the chunk share). lift: planned lift tests.
    """

    spend: pd.DataFrame
    curves: pd.DataFrame
    resp: np.ndarray
    mhat: np.ndarray
    kappa: np.ndarray
    lift: pd.DataFrame


@dataclass
class ChunkResult:
    """What one chunk produced: the true lines (before stock-out censoring) with a
    censored flag, the kept organic orders, death days, experiment units, paid
    acquisitions per channel and week, and moved-out revenue per (channel, week)."""

    lines: Lines
    censored: np.ndarray
    orgs: OrderBatch
    death: np.ndarray
    treat: np.ndarray
    elig: np.ndarray
    new_customers: np.ndarray  # (C, W)
    moved_out: np.ndarray  # (C, W) revenue (CNY) of orders moved away from the channel
    experience: np.ndarray  # (n, 4) good orders, churns after them, bad orders, churns after


def concat_lines(parts: list[Lines]) -> Lines:
    """Lines of several batches, order numbers offset so they stay unique."""
    parts = [p for p in parts if p is not None]
    vals: dict[str, list] = {f: [] for f in LINE_FIELDS}
    off = 0
    for p in parts:
        for f in LINE_FIELDS:
            x = getattr(p, f)
            vals[f].append(x + off if f == "order" else x)
        if len(p):
            off += int(p.order.max()) + 1
    return Lines(**{f: np.concatenate(v) for f, v in vals.items()}, codes=parts[0].codes)


def subset_lines(lines: Lines, sel: np.ndarray) -> Lines:
    """Lines selected by a mask or index (origin kept when present)."""
    vals = {f: getattr(lines, f)[sel] for f in LINE_FIELDS}
    org = lines.origin[sel] if lines.origin is not None else None
    return Lines(**vals, codes=lines.codes, origin=org)


def renumber(lines: Lines) -> Lines:
    """line_no 1..k again within each order (after some lines were removed)."""
    if len(lines) == 0:
        return lines
    o = np.argsort(lines.order, kind="stable")
    lines = subset_lines(lines, o)
    first = np.searchsorted(lines.order, lines.order)
    lines.line_no = np.arange(len(lines)) - first + 1
    return lines


def subset_customers(cust: Customers, idx: np.ndarray) -> Customers:
    """The customers idx of a chunk (PII left out: not needed to simulate)."""
    vals = {}
    for f in fields(Customers):
        v = getattr(cust, f.name)
        vals[f.name] = {} if f.name == "pii" else (v[idx] if isinstance(v, np.ndarray) else v)
    return Customers(**vals)


def stockout_matrix(catalog: Catalog, cal: Calendar, rng: np.random.Generator) -> np.ndarray:
    """(skus, horizon days) True when the SKU is out of stock (one stock for all channels).

    Spells start with daily probability p0 (OOS_PEAK x p0 on peak demand days, when a
    channel's multiplier is over twice its median) and last 1 + Geometric days (mean
    OOS_MEAN_DAYS); p0 gives OOS_RATE of SKU-days out of stock outside peaks.
    """
    S, T = len(catalog.pop), cal.horizon
    m = cal.mult[:, cal.idx(np.arange(T))]
    peak = (m > 2 * np.median(m, axis=1, keepdims=True)).any(axis=0)
    p0 = OOS_RATE / (OOS_MEAN_DAYS * (1 - OOS_RATE))
    start = rng.random((S, T)) < p0 * np.where(peak, OOS_PEAK, 1.0)[None, :]
    si, sd = np.nonzero(start)
    length = rng.geometric(1.0 / OOS_MEAN_DAYS, len(si))
    out = np.zeros((S, T), dtype=bool)
    rows = np.repeat(si, length)
    days = np.repeat(sd, length) + (
        np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    )
    ok = days < T
    out[rows[ok], days[ok]] = True
    return out


def stockout_spells(out: np.ndarray) -> pd.DataFrame:
    """Spells of a stock-out matrix: sku index, first and last day (inclusive)."""
    pad = np.zeros((out.shape[0], 1), dtype=bool)
    d = np.diff(np.hstack([pad, out, pad]).astype(np.int8), axis=1)
    s_i, s_d = np.nonzero(d == 1)
    e_i, e_d = np.nonzero(d == -1)
    return pd.DataFrame({"sku": s_i, "first_day": s_d, "last_day": e_d - 1})


def _late(ch: np.ndarray, day: np.ndarray, channels, cal: Calendar, rng) -> np.ndarray:
    """Late delivery per order: late_rate of the channel x peak backlog (as in operations:
    1 + 0.6 (m / median m - 1), clipped to [1, 6])."""
    T = cal.horizon
    dd = np.clip(day, 0, T - 1)
    m = cal.mult[ch, cal.idx(dd)]
    med = np.median(cal.mult[:, cal.idx(np.arange(T))], axis=1)[ch]
    backlog = np.clip(1 + 0.6 * (m / med - 1), 1, 6)
    rate = np.array([c.late_rate for c in channels])[ch]
    offline = np.array([c.kind == "offline" for c in channels])[ch]
    return (rng.random(len(ch)) < np.clip(rate * backlog, 0, 0.9)) & ~offline


def _organic_unit(cust, cal, catalog, pricing, channels, fx_daily, mk_names, oos, seed, key, k):
    """Organic orders, their lines and experience-driven churn of (a subset of) a chunk.

    Returns (kept orders, their lines with origin re-indexed to the kept orders, death,
    (n, 4) counts per customer: good orders, churns after them, bad orders, churns after
    them)."""
    orders, hz = organic_orders(cust, cal, rng_for(seed, f"organic{key}", k))
    lines = build_lines(
        orders, cust, channels, catalog, pricing, cal, fx_daily, mk_names,
        rng_for(seed, f"lines{key}", k),
    )  # fmt: skip
    cens = oos[lines.sku, lines.day]
    bad = np.bincount(lines.origin[cens], minlength=len(orders)) > 0
    bad |= _late(orders.ch, orders.day, channels, cal, rng_for(seed, f"late{key}", k))
    keep, death, churned = apply_churn(orders, bad, cust, hz, rng_for(seed, f"churn{key}", k))
    # experience truth per customer: orders and churns after good / bad orders
    cu = orders.cust[keep]
    b, c = bad[keep], churned[keep]
    exp = np.column_stack(
        [np.bincount(cu, weights=w, minlength=cust.n) for w in (~b, ~b & c, b, b & c)]
    )
    lines = subset_lines(lines, keep[lines.origin])
    new_index = np.cumsum(keep) - 1
    lines.origin = new_index[lines.origin]
    kept = OrderBatch(*(getattr(orders, f)[keep] for f in ("cust", "ch", "day", "src")))
    return kept, lines, death, exp


def plan_market(
    channels: list[ChannelPreset], cal: Calendar, weeks: int, scale: float, lines: Lines,
    share: float, n_prospects: int, seed: int,
) -> MarketState:  # fmt: skip
    """Plan spend and calibrate the response on the first chunk's organic lines."""
    C, W = len(channels), weeks
    rev = np.bincount(lines.ch, weights=lines.revenue, minlength=C)
    rep = lines.src == SRC_ORGANIC
    n_ord = np.bincount(lines.ch[rep & (lines.line_no == 1)], minlength=C)
    rev_rep = np.bincount(lines.ch[rep], weights=lines.revenue[rep], minlength=C)
    mhat = np.maximum(rev_rep / np.maximum(n_ord, 1), 1.0)
    organic_weekly = {ch.id: rev[c] / share / W for c, ch in enumerate(channels)}
    spend, shapes, lift = mkt.plan_spend(channels, cal, W, scale, rng_for(seed, "marketing"))
    curves = mkt.calibrate(shapes, channels, organic_weekly)
    resp = mkt.direct_response(curves, spend, W)
    w = np.array([c.new_share for c in channels])
    denom = float((w[:, None] * resp).sum())
    k = PROSPECT_FILL * n_prospects / share / denom if denom > 0 else 0.0
    kappa = k * w
    curves["new_customers_per_revenue"] = kappa
    return MarketState(spend, curves, resp, mhat, kappa, lift)


def _convert(cust: Customers, state: MarketState, share: float, rng) -> np.ndarray:
    """Prospects converted by ads: per channel and week Poisson(kappa_c R_ct x share) new
    customers, picked among the unconverted prospects the channel serves (weight = pref).
    Sets a, acq_ch and acq_paid of the converted; returns their indices."""
    C, W = state.resp.shape
    free = cust.prospect.copy()
    conv = []
    n_new = rng.poisson(state.kappa[:, None] * state.resp * share)
    for c in range(C):
        total = int(n_new[c].sum())
        pool = np.flatnonzero(free & (cust.pref[:, c] > 0))
        if total == 0 or len(pool) == 0:
            continue
        total = min(total, len(pool))
        w = cust.pref[pool, c]
        who = rng.choice(pool, total, replace=False, p=w / w.sum())
        week = np.repeat(np.arange(W), n_new[c])[:total]
        cust.a[who] = week * 7 + rng.integers(0, 7, total)
        cust.acq_ch[who] = c
        cust.acq_paid[who] = True
        free[who] = False
        conv.append(who)
    return np.sort(np.concatenate(conv)) if conv else np.zeros(0, dtype=np.int64)


def _moved_orders(
    orgs: OrderBatch, lines: Lines, channels, state: MarketState, share: float, rng
) -> tuple[OrderBatch, np.ndarray, np.ndarray]:
    """Cannibalisation: orders of the target channel's organic buyers that the source
    channel's ads capture (same customer and day, now on the source channel).

    Returns the moved orders (on the source channel), a bool mask of the organic orders
    they replace, and the moved-out revenue per (target channel, week)."""
    C, W = state.resp.shape
    ids = [c.id for c in channels]
    gone = np.zeros(len(orgs), dtype=bool)
    out_rev = np.zeros((C, W))
    order_rev = np.bincount(lines.origin, weights=lines.revenue, minlength=len(orgs))
    parts = []
    week = orgs.day // 7
    for a, ch in enumerate(channels):
        for tgt, frac in ch.cannibalises.items():
            if tgt not in ids:
                continue
            b = ids.index(tgt)
            n = rng.poisson(frac * state.resp[a] * share / state.mhat[a])
            cand = np.flatnonzero(
                (orgs.ch == b) & (orgs.src == SRC_ORGANIC) & (orgs.day >= 0) & (week < W) & ~gone
            )
            cw = week[cand]
            for t in np.flatnonzero(n):  # weeks with moves: ~100
                pool = cand[cw == t]
                pool = pool[~gone[pool]]
                m = min(int(n[t]), len(pool))
                if m == 0:
                    continue
                pick = rng.choice(pool, m, replace=False)
                gone[pick] = True
                out_rev[b, t] += order_rev[pick].sum()
                parts.append(
                    OrderBatch(
                        orgs.cust[pick], np.full(m, a), orgs.day[pick], np.full(m, SRC_MOVED)
                    )
                )
    moved = (
        OrderBatch.concat(parts)
        if parts
        else OrderBatch(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
    )
    return moved, gone, out_rev


def simulate_chunk(
    cust: Customers,
    k: int,
    share: float,
    state: MarketState | None,
    channels: list[ChannelPreset],
    catalog: Catalog,
    pricing: ChannelPricing,
    cal: Calendar,
    fx_daily: dict[str, np.ndarray],
    mk_names: list[str],
    oos: np.ndarray,
    exp_ch: int,
    win: tuple[int, int],
    lift: float,
    seed: int,
    plan_args: dict,
) -> tuple[ChunkResult, MarketState]:
    """Simulate chunk k (see the module docstring). ``state`` None: plan the market here."""
    C, W = len(channels), cal.horizon // 7
    args = (cal, catalog, pricing, channels, fx_daily, mk_names, oos, seed)
    orgs0, lo0, death, experience = _organic_unit(cust, *args, "", k)
    if state is None:
        state = plan_market(
            channels, cal, W, lines=lo0, share=share, n_prospects=int(cust.prospect.sum()),
            seed=seed, **plan_args,
        )  # fmt: skip
    conv = _convert(cust, state, share, rng_for(seed, "convert", k))
    new_customers = np.zeros((C, W))
    if len(conv):
        sub = subset_customers(cust, conv)
        orgs1, lo1, death1, exp1 = _organic_unit(sub, *args, "_new", k)
        death[conv] = death1
        experience[conv] = exp1
        orgs1 = OrderBatch(conv[orgs1.cust], orgs1.ch, orgs1.day, orgs1.src)
        lo1.cust = conv[lo1.cust]
        lo1.origin = lo1.origin + len(orgs0)
        np.add.at(new_customers, (cust.acq_ch[conv], np.clip(cust.a[conv] // 7, 0, W - 1)), 1)
        orgs = OrderBatch.concat([orgs0, orgs1])
        org_keep = lo0.origin
        lo = concat_lines([lo0, lo1])
        lo.origin = np.concatenate([org_keep, lo1.origin])
    else:
        orgs, lo = orgs0, lo0
    moved, gone, moved_out = _moved_orders(
        orgs, lo, channels, state, share, rng_for(seed, "moved", k)
    )
    lo = subset_lines(lo, ~gone[lo.origin])
    orgs_kept = OrderBatch(*(getattr(orgs, f)[~gone] for f in ("cust", "ch", "day", "src")))
    # direct response orders of existing customers: D - new-customer first orders - moved
    direct = state.resp * share / state.mhat[:, None]
    new_orders = np.zeros((C, W))
    np.add.at(new_orders, (cust.acq_ch[conv], np.clip(cust.a[conv] // 7, 0, W - 1)), 1)
    n_moved = np.zeros((C, W))
    np.add.at(n_moved, (moved.ch, np.clip(moved.day // 7, 0, W - 1)), 1)
    existing = np.maximum(direct - state.kappa[:, None] * state.resp * share - n_moved, 0.0)
    mo = marketing_orders(cust, death, cal, existing, rng_for(seed, "mkt", k))
    ids = [c.id for c in channels]
    halo = np.zeros((C, W))
    for a, ch in enumerate(channels):
        for tgt, frac in ch.halo.items():
            if tgt in ids:
                b = ids.index(tgt)
                halo[b] += frac * state.resp[a] * share / state.mhat[b]
    ho = marketing_orders(cust, death, cal, halo, rng_for(seed, "halo", k), SRC_HALO)
    # experiment: randomise eligible CRM units, then spawn treatment orders
    elig = np.flatnonzero(cust.in_crm & (cust.pref[:, exp_ch] > 0) & (cust.a < win[0]))
    perm = rng_for(seed, "assign", k).permutation(elig)
    treat = np.zeros(cust.n, dtype=bool)
    treat[perm[0::2]] = True
    xo = experiment_orders(
        OrderBatch.concat([orgs_kept, mo, moved]), treat, exp_ch, win, lift, rng_for(seed, "exp", k)
    )
    lm = build_lines(
        OrderBatch.concat([mo, ho, moved, xo]), cust, channels, catalog, pricing, cal, fx_daily,
        mk_names, rng_for(seed, "lines2", k),
    )  # fmt: skip
    lines = concat_lines([lo, lm])
    del new_orders
    censored = oos[lines.sku, lines.day]
    res = ChunkResult(
        lines, censored, orgs_kept, death, treat, elig, new_customers, moved_out, experience
    )
    return res, state
