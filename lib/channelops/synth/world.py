"""The static world: calendar multipliers, fx rates, products, channel listings, customers.

Days are integers relative to the start date (day 0 = START_DATE in the reporting
timezone); negative days lie before the exported history (customers acquired earlier).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import geo
from .presets import (
    CATEGORIES,
    CHUNK_CUSTOMERS,
    FX_REF,
    SEGMENT_BASE,
    START_DATE,
    ChannelPreset,
    Scenario,
    SizePreset,
)

# price elasticity of demand to a temporary price cut: Bijmolt, van Heerde & Pieters (2005,
# JMR) meta-analysis, mean sales elasticity of price about -2.6; promotion depths 10-30%
PRICE_ELASTICITY = 2.5
PROMO_DEPTHS = np.array([0.1, 0.2, 0.3])
SHOCK_SD, SHOCK_RHO = 0.06, 0.85
NEW_SHARE = 0.1  # share of a category's SKUs launched during the history
NEW_POP_BOOST = 1.5  # a new SKU is more popular than the product it replaces
COMPLEMENT_P = 0.12  # probability a line brings its complement into the order  # weekly market demand shock (log), AR(1)
SCRAMBLE_P = 99_999_989  # a prime: (i * a + b) mod P is a bijection on 0..P-1


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator for one component (and chunk), independent of every other one.

    Args:
        seed: the dataset seed.
        keys: component name and optional chunk index; names are hashed with crc32 so
            the stream never depends on Python's hash randomisation.
    """
    spawn = tuple(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=spawn))


def scramble(i: np.ndarray, a: int, b: int = 12_345) -> np.ndarray:
    """Unique 8-digit pseudo-random codes for distinct non-negative integers i < P."""
    return (i.astype(np.int64) * a + b) % SCRAMBLE_P


def cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of arrow arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def to_str(a: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as strings, optionally zero-padded to width."""
    s = pc.cast(pa.array(a), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def take(choices: list[str], idx: np.ndarray) -> pa.Array:
    """choices[idx] as an arrow string array."""
    return pa.array(choices, pa.string()).take(pa.array(idx))


# --------------------------------------------------------------------------- calendar


@dataclass
class Calendar:
    """Daily multipliers of the purchase intensity per channel.

    days: day numbers d0 .. T-1. mult: (channels, len(days)) multiplier m_c(d) of the
    purchase rate (trend x weekday x yearly season x holiday peaks x channel promotions
    x live streams x promotion price effect x market demand shock). promo: same shape,
    True on promotion/peak days (more discounts).
    """

    d0: int
    horizon: int
    dates: pd.DatetimeIndex
    mult: np.ndarray
    promo: np.ndarray
    depth: np.ndarray | None = None  # price cut of the channel's promotion that day (0-1)
    shock: np.ndarray | None = None  # market demand shock factor per day (all channels)

    def idx(self, day: np.ndarray) -> np.ndarray:
        """Column index of day numbers in mult/promo."""
        return day - self.d0


_DOW = {
    "online": np.array([1.0, 0.98, 0.97, 0.98, 1.0, 1.08, 1.07]),
    "evening": np.array([0.95, 0.95, 0.97, 1.0, 1.05, 1.06, 1.1]),
    "store": np.array([0.75, 0.78, 0.8, 0.85, 1.05, 1.45, 1.35]),
}
_CNY = {
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
}
_PRIME = {
    2021: "2021-06-21",
    2022: "2022-07-12",
    2023: "2023-07-11",
    2024: "2024-07-16",
    2025: "2025-07-08",
    2026: "2026-07-14",
}


def _holiday_factor(
    dates: pd.DatetimeIndex, peaks: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    f = np.ones(len(dates))
    peak_day = np.zeros(len(dates), dtype=bool)
    m, dd, years = dates.month.values, dates.day.values, dates.year.values

    def bump(mask: np.ndarray, x: float, is_peak: bool = True) -> None:
        f[mask] *= x
        if is_peak:
            peak_day[mask] = True

    if "618" in peaks:
        pk = peaks["618"]
        bump((m == 6) & (dd >= 1) & (dd <= 17), 1 + (pk - 1) * 0.12)
        bump((m == 6) & (dd == 18), pk)
        bump((m == 6) & ((dd == 19) | (dd == 20)), 1 + (pk - 1) * 0.08, False)
    if "d11" in peaks:
        pk = peaks["d11"]
        bump(((m == 10) & (dd == 31)) | ((m == 11) & (dd <= 10)), 1 + (pk - 1) * 0.10)
        bump((m == 11) & (dd == 11), pk)
        bump((m == 11) & (dd == 12), 1 + (pk - 1) * 0.12, False)
    if "d12" in peaks:
        bump((m == 12) & (dd == 12), peaks["d12"])
    if "cny" in peaks:
        for y in np.unique(years):
            if int(y) in _CNY:
                off = (dates - pd.Timestamp(_CNY[int(y)])).days.values
                bump((off >= -14) & (off <= -3), 1.25, False)
                bump((off >= -2) & (off <= 6), 0.45, False)
    if "bf" in peaks or "cm" in peaks or "xmas" in peaks or "prime" in peaks:
        for y in np.unique(years):
            nov1 = pd.Timestamp(f"{int(y)}-11-01")
            thanks = nov1 + pd.Timedelta(days=(3 - nov1.weekday()) % 7 + 21)
            off = (dates - thanks).days.values
            if "bf" in peaks:
                bump(off == 1, peaks["bf"])
                bump((off >= -6) & (off <= 0), 1.2, False)
            if "cm" in peaks:
                bump(off == 4, peaks["cm"])
            if "prime" in peaks and int(y) in _PRIME:
                po = (dates - pd.Timestamp(_PRIME[int(y)])).days.values
                bump((po == 0) | (po == 1), peaks["prime"])
        if "xmas" in peaks:
            bump((m == 12) & (dd <= 20), peaks["xmas"], False)
            bump((m == 12) & (dd >= 25) & (dd <= 26), 0.6, False)
    return f, peak_day


def build_calendar(
    scn: Scenario, channels: list[ChannelPreset], size: SizePreset, seed: int
) -> Calendar:
    """Daily purchase-rate multipliers per active channel, from day d0 to the horizon end."""
    horizon = size.weeks * 7
    d0 = -int(np.ceil(0.5 * horizon)) - 7
    days = np.arange(d0, horizon)
    dates = pd.Timestamp(START_DATE) + pd.to_timedelta(days, unit="D")
    rng = rng_for(seed, "calendar")
    trend = np.exp(scn.trend_per_year * days / 365.25)
    doy = dates.dayofyear.values
    yearly = 1 + 0.10 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    mult = np.empty((len(channels), len(days)))
    promo = np.zeros((len(channels), len(days)), dtype=bool)
    depth = np.zeros((len(channels), len(days)))
    # market demand shock: weekly AR(1) in logs, shared by the channels (an unobserved
    # confounder: budgets are cut after it falls, see marketing.plan_spend)
    n_wk = len(days) // 7 + 2
    eps = rng_for(seed, "demand_shock").normal(0, SHOCK_SD * np.sqrt(1 - SHOCK_RHO**2), n_wk)
    z = np.zeros(n_wk)
    for k in range(1, n_wk):  # weeks, not rows
        z[k] = SHOCK_RHO * z[k - 1] + eps[k]
    shock = np.exp(np.repeat(z, 7)[: len(days)])
    for c, ch in enumerate(channels):
        hol, peak = _holiday_factor(dates, ch.peaks)
        promo_days = rng.random(len(days)) < ch.promo_rate
        live_days = rng.random(len(days)) < ch.live_rate
        live = np.where(live_days, rng.uniform(2.0, 3.5, len(days)), 1.0)
        dow = _DOW[ch.hours][dates.dayofweek.values]
        # price promotions: a price cut of depth d lifts demand by (1 - d)^-elasticity
        d = np.where(promo_days, rng.choice(PROMO_DEPTHS, len(days)), 0.0)
        depth[c] = d
        price_eff = np.power(1.0 - d, -PRICE_ELASTICITY)
        mult[c] = trend * yearly * dow * hol * price_eff * live * shock
        promo[c] = peak | promo_days | live_days
    return Calendar(d0, horizon, dates, mult, promo, depth, shock)


def build_fx(currencies: list[str], cal: Calendar, seed: int) -> pd.DataFrame:
    """Daily fx rates (CNY per unit) as a mean-reverting log random walk.

    Returns:
        rows date (YYYY-MM-DD), currency, rate_to_base over the exported horizon and the
        pre-history (the full calendar), sorted by currency then date.
    """
    rng = rng_for(seed, "fx")
    frames = []
    n = len(cal.dates)
    for cur in sorted(currencies):
        ref, vol = FX_REF[cur]
        eps = rng.normal(0, vol, n)
        x = np.empty(n)
        x[0] = rng.normal(0, 0.01)
        for k in range(1, n):  # n ~ 1,100 days: a tiny loop over days, not rows
            x[k] = 0.995 * x[k - 1] + eps[k]
        frames.append(
            pd.DataFrame(
                {
                    "date": cal.dates.strftime("%Y-%m-%d"),
                    "currency": cur,
                    "rate_to_base": np.round(ref * np.exp(x), 6),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "date": pd.Series([], dtype=object),
                "currency": pd.Series([], dtype=object),
                "rate_to_base": pd.Series([], dtype=float),
            }
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- products


@dataclass
class Catalog:
    """Products and per-channel listings.

    products: sku, name, category, unit_cost, list_price, weight_kg (CNY, kg).
    cat_idx: category index per SKU. pop: popularity weight per SKU (Zipf in category).
    listed: (channels, skus) bool. codes: per channel, the channel SKU code of every SKU.
    launch / predecessor: NEW_SHARE of each category's SKUs launch during the history and
    take their predecessor's buyers (a line choosing a new SKU before its launch buys the
    predecessor); complement: the SKU bought along with it (COMPLEMENT_P per line).
    """

    products: pd.DataFrame
    categories: list[str]
    cat_idx: np.ndarray
    pop: np.ndarray
    listed: np.ndarray
    codes: list[list[str]]
    blocks: tuple | None = None  # sampling tables, filled lazily by simulate._blocks
    launch: np.ndarray | None = None  # launch day per SKU (d0 for products sold all along)
    predecessor: np.ndarray | None = None  # SKU a new product replaces (-1: none)
    complement: np.ndarray | None = None  # SKU of another category bought with it (-1: none)


def _ean13(body12: int) -> str:
    s = f"{body12:012d}"
    tot = sum(int(ch) * (3 if k % 2 else 1) for k, ch in enumerate(s))
    return s + str((10 - tot % 10) % 10)


def sku_code(style: str, num: int, salt: int) -> str:
    """The channel listing code of SKU number num in a code style (salt varies per channel)."""
    x = int(scramble(np.array([num]), 7919 + 2 * salt)[0])
    if style == "master":
        return f"SKU{num:05d}"
    if style == "tm":
        return f"TM{num:05d}-{'ABCDEFGH'[num % 8]}"
    if style == "jd":
        return str(100_000_000_000 + x)
    if style == "dy":
        return str(3_600_000_000_000_000_000 + x * 7)
    if style == "ks":
        return f"KS{x:09d}"
    if style == "xhs":
        return f"6{x:023x}"
    if style == "ean":
        return _ean13(690_000_000_000 + x)
    if style == "asin":
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        v, out = x + 36**6 * (salt + 1), []
        for _ in range(8):
            v, r = divmod(v, 36)
            out.append(digits[r])
        return "B0" + "".join(reversed(out))
    if style == "shp":
        return f"SG-{num:06d}"
    if style == "ae":
        return str(1_005_000_000_000_000 + x)
    raise ValueError(f"unknown sku style {style!r}")


def build_catalog(
    scn: Scenario, channels: list[ChannelPreset], styles: list[str], size: SizePreset, seed: int
) -> Catalog:
    """Products in the scenario's categories, Zipf popularity, listings and SKU codes."""
    rng = rng_for(seed, "catalog")
    cats = list(scn.categories)
    w = np.array([scn.categories[c] for c in cats])
    counts = np.maximum(3, np.floor(w / w.sum() * size.skus)).astype(int)
    counts[np.argmax(w)] += size.skus - counts.sum()
    cat_idx = np.repeat(np.arange(len(cats)), counts)
    n = len(cat_idx)
    pop = np.empty(n)
    price = np.empty(n)
    cost = np.empty(n)
    kg = np.empty(n)
    names: list[str] = []
    for k, cname in enumerate(cats):
        sel = np.flatnonzero(cat_idx == k)
        spec = CATEGORIES[cname]
        ranks = rng.permutation(len(sel)) + 1
        pop[sel] = ranks**-1.15
        p = spec["price"] * np.exp(rng.normal(0, spec["sd"], len(sel)))
        price[sel] = np.where(p >= 100, np.floor(p / 10) * 10 + 9, np.floor(p) + 0.9)
        cost[sel] = np.round(price[sel] * rng.uniform(*spec["cost"], len(sel)), 2)
        kg[sel] = np.round(rng.uniform(*spec["kg"], len(sel)), 2)
        nouns = geo.PRODUCT_NOUNS[cname]
        for j, s in enumerate(sel):
            names.append(f"{nouns[(j + s) % len(nouns)]} {chr(65 + j % 26)}{100 + s}")
    skus = [f"SKU{i:05d}" for i in range(n)]
    products = pd.DataFrame(
        {
            "sku": skus,
            "name": names,
            "category": [cats[k] for k in cat_idx],
            "unit_cost": cost,
            "list_price": np.round(price, 2),
            "weight_kg": kg,
        }
    )
    listed = np.zeros((len(channels), n), dtype=bool)
    top = np.zeros(n, dtype=bool)
    for k in range(len(cats)):
        sel = np.flatnonzero(cat_idx == k)
        top[sel[np.argsort(-pop[sel])[: max(1, len(sel) // 5)]]] = True
    for c, ch in enumerate(channels):
        listed[c] = top | (rng.random(n) < ch.listing)
    codes = [[sku_code(st, i, c) for i in range(n)] for c, st in enumerate(styles)]
    launch, pred, comp = _launches_and_complements(
        cat_idx, pop, listed, size, rng_for(seed, "launch")
    )
    return Catalog(products, cats, cat_idx, pop, listed, codes, None, launch, pred, comp)


def _launches_and_complements(
    cat_idx: np.ndarray, pop: np.ndarray, listed: np.ndarray, size: SizePreset, rng
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New products (launch day, predecessor; pop and listing updated in place) and one
    complement per SKU in another category, drawn by popularity."""
    n = len(cat_idx)
    T = size.weeks * 7
    launch = np.full(n, -(10**6), dtype=np.int64)
    pred = np.full(n, -1, dtype=np.int64)
    for k in np.unique(cat_idx):
        sel = np.flatnonzero(cat_idx == k)
        m = max(1, int(round(NEW_SHARE * len(sel)))) if len(sel) >= 5 else 0
        if m == 0:
            continue
        new = rng.choice(sel, m, replace=False)
        old = np.setdiff1d(sel, new)
        p = pop[old] / pop[old].sum()
        pr = rng.choice(old, m, p=p)
        launch[new] = np.floor(rng.uniform(0.25, 0.75, m) * T).astype(np.int64)
        pred[new] = pr
        pop[new] = np.maximum(pop[new], pop[pr]) * NEW_POP_BOOST
        listed[:, new] = listed[:, pr]
    comp = np.full(n, -1, dtype=np.int64)
    for i in range(n):  # SKUs: a few thousand at most
        other = np.flatnonzero(cat_idx != cat_idx[i])
        if len(other):
            comp[i] = rng.choice(other, p=pop[other] / pop[other].sum())
    return launch, pred, comp


# --------------------------------------------------------------------------- customers


@dataclass
class Customers:
    """One chunk of true customers (arrays of equal length n).

    idx: global customer number; seg: segment index; market: market index; a: acquisition
    day; lam: purchase rate per day while alive; p: dropout probability after a purchase;
    nu: mean order value (CNY); disc: probability an order is discounted; catp: (n, K)
    category preferences; pref: (n, C) channel preferences (rows sum to 1); in_crm; age:
    age band index; city: index into geo.CITIES; pii: dict of arrow string arrays;
    habit: probability that a line repeats a favourite SKU (the segment's `habit`);
    fav: (n, K, 3) favourite SKU indices per category, -1 = empty slot (filled by
    simulate.draw_favourites). Simulator 2: habit is per customer (Beta around the
    segment's habit, concentration HABIT_CONC); price_sens: weight of log(price / category
    median) against a SKU (Gumbel choice utility); life_day / life_factor: the day of the
    customer's life event and the factor it multiplies the purchase rate by from then on;
    hazard: daily churn hazard independent of purchases; prospect: acquired only if the
    ads convert them (a = ACQ_NEVER until then); acq_ch: channel of the acquisition order
    (-1 = drawn from pref); acq_paid: acquired by paid advertising.
    """

    idx: np.ndarray
    seg: np.ndarray
    market: np.ndarray
    a: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    nu: np.ndarray
    disc: np.ndarray
    catp: np.ndarray
    pref: np.ndarray
    in_crm: np.ndarray
    age: np.ndarray
    city: np.ndarray
    gender: np.ndarray
    birth_year: np.ndarray
    pii: dict[str, pa.Array]
    habit: np.ndarray | None = None
    fav: np.ndarray | None = None
    price_sens: np.ndarray | None = None
    life_day: np.ndarray | None = None
    life_factor: np.ndarray | None = None
    hazard: np.ndarray | None = None
    prospect: np.ndarray | None = None
    acq_ch: np.ndarray | None = None
    acq_paid: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.idx)


_CAT_TILT = {  # segment -> category -> relative taste
    "loyal_high_value": {"electronics": 2.0, "beauty": 1.5, "tea": 1.5},
    "bargain_hunter": {"food": 2.0, "home": 1.6, "baby": 1.3, "accessories": 1.4},
    "new": {"apparel": 1.8, "beauty": 1.5, "accessories": 1.5},
    "dormant": {},
}
OWN_SHARE = 0.75
# Simulator 2 customer process (docs/design-notes.md, "Simulator 2: customers and products")
HABIT_CONC = 4.0  # Beta concentration of per-customer habit strengths around the segment's
PRICE_SENSITIVITY = {"loyal_high_value": 0.2, "bargain_hunter": 1.5, "new": 0.6, "dormant": 0.5}
LIFE_EVENT_MEAN_DAYS = 720.0  # one life event in about two years
LIFE_EVENT_SD = 0.6  # log-sd of the rate factor a life event brings
HAZARD_SHARE = 0.5  # daily hazard = HAZARD_SHARE * p * lambda (the rest churns per order)
RATE_SCALE = 1.85  # keeps the dataset sizes of generator 1 (churn by experience removes orders)
PROSPECT_P = 0.4  # share of in-history acquisitions that only ads can bring
ACQ_NEVER = (
    10**7
)  # acquisition day of a prospect the ads have not converted  # share of a CRM member's purchase intensity on the CRM channels


def segment_list(scn: Scenario) -> list:
    """The scenario's segments (base parameters, scenario shares)."""
    return [s for s in SEGMENT_BASE if scn.segment_share.get(s.name, 0) > 0]


def build_customers(
    scn: Scenario,
    channels: list[ChannelPreset],
    cats: list[str],
    size: SizePreset,
    seed: int,
    chunk: int,
) -> Customers:
    """Generate chunk number `chunk` of the true customer population (all vectorised)."""
    rng = rng_for(seed, "customers", chunk)
    i0 = chunk * CHUNK_CUSTOMERS
    i1 = min(size.customers, i0 + CHUNK_CUSTOMERS)
    n = i1 - i0
    idx = np.arange(i0, i1)
    horizon = size.weeks * 7
    segs = segment_list(scn)
    share = np.array([scn.segment_share[s.name] for s in segs])
    seg = rng.choice(len(segs), n, p=share / share.sum())
    mk_names = list(scn.markets)
    mk_p = np.array([scn.markets[m] for m in mk_names])
    market = rng.choice(len(mk_names), n, p=mk_p / mk_p.sum())

    lam = np.empty(n)
    p = np.empty(n)
    nu = np.empty(n)
    disc = np.empty(n)
    a = np.empty(n, dtype=np.int64)
    age = np.empty(n, dtype=np.int64)
    catp = np.empty((n, len(cats)))
    base_cat = np.array([scn.categories[c] for c in cats])
    for g, s in enumerate(segs):
        sel = np.flatnonzero(seg == g)
        m = len(sel)
        lam[sel] = rng.gamma(s.lam_shape, RATE_SCALE * s.lam_mean * size.activity / s.lam_shape, m)
        p[sel] = rng.beta(s.p_a, s.p_b, m)
        nu[sel] = rng.gamma(s.spend_shape, s.spend_mean / s.spend_shape, m)
        disc[sel] = rng.beta(10 * s.discount, 10 * (1 - s.discount), m)
        lo, hi = s.acq
        a[sel] = np.floor(rng.uniform(lo, hi, m) * horizon).astype(np.int64)
        age[sel] = rng.choice(4, m, p=np.array(s.age) / sum(s.age))
        tilt = np.array([_CAT_TILT[s.name].get(c, 1.0) for c in cats])
        alpha = 6.0 * base_cat * tilt / (base_cat * tilt).sum() * len(cats) / 2
        catp[sel] = rng.dirichlet(alpha, m) if m else np.empty((0, len(cats)))
    overseas = np.array([m != "CN" for m in mk_names])[market]
    nu = np.where(overseas, nu * 1.25, nu)

    # home city within the market, tier-weighted in China
    city = np.empty(n, dtype=np.int64)
    for k, mname in enumerate(mk_names):
        pool = [j for j, c in enumerate(geo.CITIES) if c[5] == mname]
        tiers = np.array([geo.CITIES[j][4] for j in pool])
        wt = (
            np.where(tiers == 1, 3.0, np.where(tiers == 2, 1.6, 1.0))
            if mname == "CN"
            else np.ones(len(pool))
        )
        sel = np.flatnonzero(market == k)
        city[sel] = np.array(pool)[rng.choice(len(pool), len(sel), p=wt / wt.sum())]
    tier = np.array([c[4] for c in geo.CITIES])[city] - 1

    # channel preferences: segment taste x audience fit x market served
    C = len(channels)
    pref = np.zeros((n, C))
    seg_names = [s.name for s in segs]
    for c, ch in enumerate(channels):
        sw = np.array([ch.seg_weight.get(sn, 0.0) for sn in seg_names])[seg]
        aud_age = np.array(ch.age) / np.mean(ch.age)
        aud_tier = np.array(ch.tiers) / np.mean(ch.tiers)
        served = np.isin(np.array(mk_names)[market], ch.markets)
        pref[:, c] = sw * aud_age[age] * np.sqrt(aud_tier[tier]) * served
    crm_cols = np.array([ch.crm for ch in channels])
    eligible = pref[:, crm_cols].sum(1) > 0 if crm_cols.any() else np.zeros(n, dtype=bool)
    crm_rate = np.array([s.crm_rate for s in segs])[seg]
    in_crm = eligible & (rng.random(n) < crm_rate)
    other = pref[:, ~crm_cols].sum(1)
    own = pref[:, crm_cols].sum(1)
    no_other = other <= 0
    in_crm = in_crm | (eligible & no_other)  # only served by CRM channels: a member
    scale_own = np.where(in_crm, OWN_SHARE / np.maximum(own, 1e-12), 0.0)
    scale_oth = np.where(
        in_crm, (1 - OWN_SHARE) / np.maximum(other, 1e-12), 1 / np.maximum(other, 1e-12)
    )
    scale_oth = np.where(in_crm & no_other, 0.0, scale_oth)
    scale_own = np.where(in_crm & no_other, 1 / np.maximum(own, 1e-12), scale_own)
    pref[:, crm_cols] *= scale_own[:, None]
    pref[:, ~crm_cols] *= scale_oth[:, None]
    gender = (rng.random(n) < 0.42).astype(np.int64)  # 1 = M
    birth_year = 2024 - np.array([21, 29, 39, 52])[age] - rng.integers(-3, 4, n)
    pii = _true_pii(rng, idx, market, mk_names, city, gender)
    hm = np.clip(np.array([s.habit for s in segs])[seg], 0.01, 0.99)
    habit = rng.beta(HABIT_CONC * hm, HABIT_CONC * (1 - hm))
    ps = np.array([PRICE_SENSITIVITY.get(s.name, 0.5) for s in segs])[seg]
    price_sens = ps * np.exp(rng.normal(0, 0.4, n))
    life_day = a + rng.exponential(LIFE_EVENT_MEAN_DAYS, n)
    life_factor = np.exp(rng.normal(0, LIFE_EVENT_SD, n))
    hazard = HAZARD_SHARE * p * lam
    prospect = (a >= 0) & (a < horizon) & (rng.random(n) < PROSPECT_P)
    a = np.where(prospect, ACQ_NEVER, a)
    return Customers(
        idx,
        seg,
        market,
        a,
        lam,
        p,
        nu,
        disc,
        catp,
        pref,
        in_crm,
        age,
        city,
        gender,
        birth_year,
        pii,
        habit,
        None,
        price_sens,
        life_day,
        life_factor,
        hazard,
        prospect,
        np.full(n, -1, dtype=np.int64),
        np.zeros(n, dtype=bool),
    )


def _true_pii(
    rng: np.random.Generator,
    idx: np.ndarray,
    market: np.ndarray,
    mk_names: list[str],
    city: np.ndarray,
    gender: np.ndarray,
) -> dict[str, pa.Array]:
    """The true PII of each customer (the CRM version when the customer is a member)."""
    n = len(idx)
    sw = np.array([s[2] for s in geo.SURNAMES])
    sur = rng.choice(len(sw), n, p=sw / sw.sum())
    gw = 1.0 / (np.arange(len(geo.GIVEN)) + 2.0) ** 0.8
    giv = rng.choice(len(geo.GIVEN), n, p=gw / gw.sum())
    name_zh = cat(take([s[0] for s in geo.SURNAMES], sur), take([g[0] for g in geo.GIVEN], giv))
    sur_py = take([s[1] for s in geo.SURNAMES], sur)
    giv_py = take([g[1] for g in geo.GIVEN], giv)
    lf = rng.integers(0, len(geo.LATIN_FIRST), n)
    ll = rng.integers(0, len(geo.LATIN_LAST), n)
    cn = np.array([m == "CN" for m in mk_names])[market]
    first_lat = pc.if_else(pa.array(cn), giv_py, take(geo.LATIN_FIRST, lf))
    last_lat = pc.if_else(pa.array(cn), sur_py, take(geo.LATIN_LAST, ll))
    name_latin = cat(first_lat, " ", last_lat)
    name = pc.if_else(pa.array(cn), name_zh, name_latin)
    # unique phone numbers: 8 scrambled digits after a 3-digit prefix
    body = scramble(idx, 48_271)
    pre = rng.integers(0, len(geo.PHONE_PREFIX_CN), n)
    area = rng.integers(201, 989, n)
    mk = np.array(mk_names)[market]
    cc = pa.array([geo.PHONE_CC[m] for m in mk_names]).take(pa.array(market))
    national = pc.if_else(
        pa.array(cn),
        cat(take(geo.PHONE_PREFIX_CN, pre), to_str(body, 8)),
        cat(to_str(area), to_str(body, 8)),
    )
    handle = cat(
        pc.utf8_lower(first_lat),
        pc.if_else(pa.array(rng.random(n) < 0.5), ".", ""),
        pc.utf8_lower(last_lat),
        to_str(scramble(idx, 16_807) % 100_000),
    )
    qq = to_str(10_000_000 + scramble(idx, 69_621) * 7 % 900_000_000)
    dom_cn = take(geo.EMAIL_DOMAINS_CN, rng.integers(0, len(geo.EMAIL_DOMAINS_CN), n))
    dom_in = take(geo.EMAIL_DOMAINS_INTL, rng.integers(0, len(geo.EMAIL_DOMAINS_INTL), n))
    use_qq = pa.array(cn & (rng.random(n) < 0.45))
    email = pc.if_else(
        use_qq, cat(qq, "@qq.com"), cat(handle, "@", pc.if_else(pa.array(cn), dom_cn, dom_in))
    )
    street_zh = cat(
        take(geo.DISTRICTS_ZH, rng.integers(0, len(geo.DISTRICTS_ZH), n)),
        take(geo.STREETS_ZH, rng.integers(0, len(geo.STREETS_ZH), n)),
        to_str(rng.integers(1, 400, n)),
        "号",
        to_str(rng.integers(1, 30, n)),
        "栋",
        to_str(rng.integers(101, 2800, n)),
        "室",
    )
    street_en = cat(
        to_str(rng.integers(1, 999, n)),
        " ",
        take(geo.STREETS_EN, rng.integers(0, len(geo.STREETS_EN), n)),
        " Apt ",
        to_str(rng.integers(1, 60, n)),
    )
    address = pc.if_else(pa.array(cn), street_zh, street_en)
    cprefix = take([c[1] for c in geo.CITIES], city)
    postcode = cat(pc.utf8_trim_whitespace(cprefix), to_str(rng.integers(0, 1000, n), 3))
    city_name = take([c[0] for c in geo.CITIES], city)
    del mk
    return {
        "name": name,
        "name_zh": name_zh,
        "name_latin": name_latin,
        "phone_cc": cc,
        "phone_national": national,
        "email": email,
        "address": address,
        "postcode": postcode,
        "city": city_name,
        "is_cn": pa.array(cn),
        "gender": take(["F", "M"], gender),
    }
