"""Purchase processes and order lines of one chunk of customers (vectorised numpy).

Sources of orders (``src``): the acquisition order (SRC_ACQ organic, SRC_NEW when an ad
converted the customer), organic repeat purchases (SRC_ORGANIC), the direct response of a
channel's ads (SRC_MKT extra orders of existing customers, SRC_MOVED orders taken from a
cannibalised channel), halo orders on other channels (SRC_HALO) and experiment orders
(SRC_EXP). The flow per chunk is in ``channelops.synth.behaviour``.

* organic (not BG/NBD): while alive the customer buys at rate lam * g(t) * pref_c * m_c(d)
  (g = the life-event factor after the customer's life event, m_c = calendar multiplier),
  simulated by thinning; churn is a daily hazard plus, after each order, a probability
  that rises when the order met a stock-out or a late delivery (:func:`apply_churn`).
* marketing / halo: Poisson orders per channel and week, placed by customers alive that
  day, picked with weight lam * pref_c; they never trigger churn.
* experiment: each own-channel order of a treatment unit inside the experiment window
  spawns, with probability `lift`, one extra independent order a few days later inside
  the window.

Lines: each line picks a category by the customer's category taste, then a SKU. With the
customer's own habit probability the SKU is one of the customer's favourites of that
category (1-3 SKUs drawn once per customer, `draw_favourites`) listed on the order's
channel; otherwise the best of 4 candidates drawn by popularity, by price fit and the
customer's price sensitivity. A line may bring its complement SKU; a new SKU bought before
its launch is its predecessor. Order values follow the season and promotions; channel
price promotions cut prices by the day's promotion depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .presets import FAVOURITE_COUNT_P, MARKETS, START_DATE, ChannelPreset
from .world import COMPLEMENT_P, HAZARD_SHARE, Calendar, Catalog, Customers

STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
SRC_ACQ, SRC_ORGANIC, SRC_MKT, SRC_EXP = 0, 1, 2, 3
SRC_NEW, SRC_HALO, SRC_MOVED = 4, 5, 6  # ad-acquired first order, halo order, moved order
PAID_SOURCES = (SRC_MKT, SRC_NEW, SRC_MOVED)  # the direct response of the order's channel
BAD_CHURN = 0.25  # extra churn probability after an order with a stock-out or a late delivery
SUBSTITUTE_P = 0.45  # a stocked-out line is replaced by another SKU of the category
ORDER_VALUE_SEASON = 0.12  # amplitude of the yearly order-value cycle (peak mid-December)
PROMO_BASKET = 1.2  # order value factor on promotion days (stock-up)

_HOURS = {
    "online": np.array(
        [
            2.0,
            1.2,
            0.6,
            0.3,
            0.2,
            0.3,
            0.8,
            1.8,
            3.0,
            4.2,
            5.2,
            5.4,
            4.8,
            4.6,
            4.6,
            4.5,
            4.4,
            4.5,
            4.8,
            5.6,
            6.8,
            7.6,
            7.0,
            4.2,
        ]
    ),
    "evening": np.array(
        [
            3.0,
            1.8,
            0.8,
            0.3,
            0.2,
            0.2,
            0.5,
            1.0,
            1.8,
            2.4,
            3.0,
            3.2,
            3.4,
            3.0,
            2.8,
            2.8,
            3.0,
            3.4,
            4.5,
            6.5,
            9.0,
            10.5,
            9.5,
            6.0,
        ]
    ),
    "store": np.array(
        [
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            3.0,
            4.5,
            5.0,
            4.5,
            4.2,
            4.5,
            5.0,
            5.5,
            6.0,
            6.2,
            5.0,
            2.5,
            0,
            0,
        ],
        dtype=float,
    ),
}
START_EPOCH = int(np.datetime64(START_DATE, "s").astype(np.int64))  # START 00:00 UTC


@dataclass
class OrderBatch:
    """Orders of a chunk: customer (chunk-local index), channel, day, source."""

    cust: np.ndarray
    ch: np.ndarray
    day: np.ndarray
    src: np.ndarray

    def __len__(self) -> int:
        return len(self.cust)

    @staticmethod
    def concat(parts: list[OrderBatch]) -> OrderBatch:
        return OrderBatch(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("cust", "ch", "day", "src"))
        )


def _pick_channel(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Channel index per row, drawn from the customer's preference cumulative sums."""
    u = rng.random(len(rows))
    ch = np.zeros(len(rows), dtype=np.int64)
    for c in range(cum.shape[1] - 1):
        ch += u > cum[rows, c]
    return ch


def organic_orders(
    cust: Customers, cal: Calendar, rng: np.random.Generator
) -> tuple[OrderBatch, np.ndarray]:
    """Acquisition and candidate repeat purchases of every customer of the chunk.

    Not BG/NBD: while alive, a customer buys on channel c at rate
    lam * g(t) * pref_c * m_c(d), where g = 1 before the customer's life event and
    life_factor after it (m_c includes the yearly season, holidays and promotions), until a
    time-based churn at rate ``hazard``; simulated by thinning. Churn after an order
    (depending on its experience) is applied later by :func:`apply_churn`.

    Returns:
        orders sorted by (customer, day) with the acquisition first (days may be < 0 or
        >= horizon), and the hazard death day per customer (inf = none before the horizon).
    """
    T = cal.horizon
    n = cust.n
    cum = np.cumsum(cust.pref, axis=1)
    cum[:, -1] = 1.0
    mc = cal.mult.max(axis=1)
    mi = np.max(np.where(cust.pref > 0, mc[None, :], 0.0), axis=1)
    acquired = cust.a < T
    hz = cust.a + rng.exponential(1.0, n) / np.maximum(cust.hazard, 1e-12)
    hz = np.where(hz < T, hz, np.inf)
    acq_ch = _pick_channel(rng, cum, np.arange(n))
    acq_ch = np.where(cust.acq_ch >= 0, cust.acq_ch, acq_ch)
    end = np.minimum(np.where(np.isfinite(hz), hz, T), T)
    span = np.where(acquired, np.maximum(end - cust.a, 0), 0).astype(float)
    top = cust.lam * np.maximum(cust.life_factor, 1.0)
    ncand = rng.poisson(top * mi * span)
    rows = np.repeat(np.arange(n), ncand)
    t = cust.a[rows] + rng.random(len(rows)) * span[rows]
    ch = _pick_channel(rng, cum, rows)
    day = np.floor(t).astype(np.int64)
    g = np.where(t >= cust.life_day[rows], cust.life_factor[rows], 1.0)
    rate = cust.lam[rows] * g * cal.mult[ch, day - cal.d0]
    keep = rng.random(len(rows)) * (top * mi)[rows] < rate
    rows, ch, day = rows[keep], ch[keep], day[keep]
    acq = np.flatnonzero(acquired)
    src_acq = np.where(cust.acq_paid[acq], SRC_NEW, SRC_ACQ)
    cu = np.concatenate([acq, rows])
    src = np.concatenate([src_acq, np.full(len(rows), SRC_ORGANIC)])
    dd = np.concatenate([cust.a[acq], day])
    span_days = int(cal.horizon - cal.d0 + 2)
    key = (cu * span_days + (np.clip(dd, cal.d0 - 1, cal.horizon) - cal.d0 + 1)) * 2
    order = np.argsort(key + (src == SRC_ORGANIC), kind="stable")
    orders = OrderBatch(cu[order], np.concatenate([acq_ch[acq], ch])[order], dd[order], src[order])
    return orders, hz


def apply_churn(
    orders: OrderBatch,
    bad: np.ndarray,
    cust: Customers,
    hazard_death: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Churn after orders, depending on their experience.

    After each order the customer leaves with probability (1 - HAZARD_SHARE) * p + BAD_CHURN
    * bad (bad = the order met a stock-out or a late delivery).

    Args:
        orders: sorted by (customer, day) (as :func:`organic_orders` returns them).
        bad: bool per order.
    Returns:
        keep mask of orders (those up to and including the churn order), the death day
        per customer (float; inf = alive at the end) and a mask of the orders after which
        the customer churned.
    """
    q = (1 - HAZARD_SHARE) * cust.p[orders.cust] + BAD_CHURN * bad
    drop = rng.random(len(orders)) < q
    n = cust.n
    # index of the first dropping order per customer (len(orders) when none)
    idx = np.where(drop, np.arange(len(orders)), len(orders))
    cut = np.full(n, len(orders))
    np.minimum.at(cut, orders.cust, idx)
    keep = np.arange(len(orders)) <= cut[orders.cust]
    death = hazard_death.copy()
    has = cut < len(orders)
    dd = orders.day[np.minimum(cut[has], max(len(orders) - 1, 0))] + 0.5
    death[has] = np.minimum(death[has], dd)
    churned = np.arange(len(orders)) == cut[orders.cust]
    return keep, death, churned


def marketing_orders(
    cust: Customers,
    death: np.ndarray,
    cal: Calendar,
    expected_orders: np.ndarray,
    rng: np.random.Generator,
    src: int = SRC_MKT,
) -> OrderBatch:
    """Incremental marketing (or halo) orders of the chunk.

    Args:
        expected_orders: (channels, weeks) expected orders of this chunk per landing channel.
        src: source code of the orders (SRC_MKT or SRC_HALO).
    Returns:
        orders by alive customers, picked with weight lam * pref_c.
    """
    parts = []
    C, W = expected_orders.shape
    for c in range(C):
        n_w = rng.poisson(expected_orders[c])
        total = int(n_w.sum())
        w = cust.lam * cust.pref[:, c]
        if total == 0 or w.sum() <= 0:
            continue
        week = np.repeat(np.arange(W), n_w)
        wk_mult = cal.mult[c, cal.idx(np.arange(W * 7))].reshape(W, 7)
        wk_cum = np.cumsum(wk_mult, axis=1) / wk_mult.sum(axis=1, keepdims=True)
        u = rng.random(total)
        dow = np.minimum((u[:, None] > wk_cum[week]).sum(1), 6)
        day = week * 7 + dow
        cw = np.cumsum(w) / w.sum()
        who = np.full(total, -1)
        todo = np.arange(total)
        for _ in range(60):
            if len(todo) == 0:
                break
            pick = np.minimum(np.searchsorted(cw, rng.random(len(todo)), side="right"), cust.n - 1)
            ok = (cust.a[pick] <= day[todo]) & (death[pick] > day[todo])
            who[todo[ok]] = pick[ok]
            todo = todo[~ok]
        got = who >= 0
        parts.append(OrderBatch(who[got], np.full(got.sum(), c), day[got], np.full(got.sum(), src)))
    if not parts:
        return OrderBatch(*(np.zeros(0, dtype=np.int64) for _ in range(4)))
    return OrderBatch.concat(parts)


def experiment_orders(
    orders: OrderBatch,
    treat: np.ndarray,
    exp_ch: int,
    window: tuple[int, int],
    lift: float,
    rng: np.random.Generator,
) -> OrderBatch:
    """Extra orders caused by the experiment's treatment (see module docstring).

    Args:
        treat: bool per chunk customer, True for treatment units.
        window: first and last day of the experiment (inclusive).
    """
    lo, hi = window
    base = (orders.ch == exp_ch) & (orders.day >= lo) & (orders.day <= hi) & treat[orders.cust]
    base &= orders.src != SRC_EXP
    spawn = base & (rng.random(len(orders)) < lift)
    k = np.flatnonzero(spawn)
    day = np.minimum(orders.day[k] + rng.integers(0, 7, len(k)), hi)
    return OrderBatch(orders.cust[k], orders.ch[k], day, np.full(len(k), SRC_EXP))


@dataclass
class ChannelPricing:
    """Per channel: currency list, price in each currency (cents) per SKU, base price."""

    currencies: list[list[str]]  # per channel, its export currencies
    cents: list[np.ndarray]  # per channel (n_cur, n_sku) int64 cents
    base_price: np.ndarray  # (channels, skus) CNY at reference fx


def build_pricing(
    channels: list[ChannelPreset], catalog: Catalog, fx_ref: dict[str, float]
) -> ChannelPricing:
    """Channel prices: list price x channel factor, converted at reference fx rates."""
    lp = catalog.products["list_price"].to_numpy()
    curs, cents, base = [], [], []
    for ch in channels:
        p = lp * ch.price_factor
        base.append(p)
        curs.append(list(ch.currencies))
        rows = []
        for cur in ch.currencies:
            rate = fx_ref.get(cur, 1.0)
            local = p / rate
            local = np.where(local >= 20, np.floor(local) + 0.99, np.round(local, 1))
            rows.append(np.rint(local * 100).astype(np.int64))
        cents.append(np.vstack(rows))
    return ChannelPricing(curs, cents, np.vstack(base))


@dataclass
class Lines:
    """Order lines of a chunk (one entry per line; orders numbered by `order`)."""

    order: np.ndarray  # chunk-local order number
    cust: np.ndarray
    ch: np.ndarray
    utc: np.ndarray  # epoch seconds
    day: np.ndarray
    src: np.ndarray
    line_no: np.ndarray  # 1-based within the order
    sku: np.ndarray
    qty: np.ndarray
    cents: np.ndarray  # unit price, cents of the line currency
    disc: np.ndarray  # discount of the line, cents
    cur: np.ndarray  # currency code index into `codes`
    status: np.ndarray  # index into STATUSES
    revenue: np.ndarray  # CNY: qty * unit price - discount, at the day's fx rate
    codes: list[str]
    origin: np.ndarray | None = None  # index of the line's order in the OrderBatch given

    def __len__(self) -> int:
        return len(self.order)


def build_lines(
    orders: OrderBatch,
    cust: Customers,
    channels: list[ChannelPreset],
    catalog: Catalog,
    pricing: ChannelPricing,
    cal: Calendar,
    fx_daily: dict[str, np.ndarray],
    mk_names: list[str],
    rng: np.random.Generator,
) -> Lines:
    """Turn orders into lines: timestamps, baskets, quantities, prices, discounts, status.

    Orders on days outside [0, horizon) or after the export snapshot are dropped.
    """
    T = cal.horizon
    keep = (orders.day >= 0) & (orders.day < T)
    origin = np.flatnonzero(keep)
    cu, ch, day, src = (x[keep] for x in (orders.cust, orders.ch, orders.day, orders.src))
    n = len(cu)
    # time of day: channel hour profile in the buyer's local time
    hours_kind = np.array([list(_HOURS).index(c.hours) for c in channels])[ch]
    hour = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    for k, prof in enumerate(_HOURS.values()):
        sel = hours_kind == k
        hc = np.cumsum(prof) / prof.sum()
        hour[sel] = np.minimum(np.searchsorted(hc, u[sel], side="right"), 23)
    off = np.array([MARKETS[m][1] for m in mk_names])[cust.market[cu]]
    utc = (
        START_EPOCH
        + day * 86400
        + hour * 3600
        + rng.integers(0, 3600, n)
        - (off * 3600).astype(np.int64)
    )
    snapshot = START_EPOCH + T * 86400 - 8 * 3600
    ok = utc < snapshot
    cu, ch, day, src, utc, origin = cu[ok], ch[ok], day[ok], src[ok], utc[ok], origin[ok]
    n = len(cu)
    # target order value, CNY: the customer's mean, a yearly cycle peaking in December
    # (gifting) and bigger baskets on promotion days (stock-up)
    doy = cal.dates[cal.idx(day)].dayofyear.to_numpy() if n else np.zeros(0)
    season = 1 + ORDER_VALUE_SEASON * np.cos(2 * np.pi * (doy - 350) / 365.25)
    promo_o = cal.promo[ch, cal.idx(day)]
    z = rng.gamma(5.0, cust.nu[cu] / 5.0) * season * np.where(promo_o, PROMO_BASKET, 1.0)
    nl = 1 + np.minimum(rng.poisson(0.22, n), 3)
    oi = np.repeat(np.arange(n), nl)
    m = len(oi)
    budget = (z / nl)[oi]
    # category, then 4 candidate SKUs by popularity, then the best price fit
    K = len(catalog.categories)
    cc = np.cumsum(cust.catp[cu[oi]], axis=1)
    uu = rng.random(m)
    cat = np.minimum((uu[:, None] > cc).sum(1), K - 1)
    sens = cust.price_sens[cu[oi]] if cust.price_sens is not None else None
    best = _price_fit_pick(ch[oi], cat, budget, catalog, pricing, rng, sens)
    if cust.fav is not None:
        best = _habitual_pick(best, cu[oi], ch[oi], cat, cust, catalog, rng)
    # complements: a line brings its complement SKU along (when listed on the channel)
    if catalog.complement is not None:
        comp = catalog.complement[best]
        add = (comp >= 0) & (rng.random(len(best)) < COMPLEMENT_P)
        add &= catalog.listed[ch[oi], np.maximum(comp, 0)]
        k = np.flatnonzero(add)
        oi = np.concatenate([oi, oi[k]])
        best = np.concatenate([best, comp[k]])
        budget = np.concatenate([budget, pricing.base_price[ch[oi[k]], comp[k]]])
    # new products: before its launch a new SKU's buyers take its predecessor
    if catalog.launch is not None:
        early = day[oi] < catalog.launch[best]
        best = np.where(early, catalog.predecessor[best], best)
    # one line per SKU within an order
    o2 = np.lexsort((best, oi))
    oi, best, budget = oi[o2], best[o2], budget[o2]
    uniq = np.ones(len(oi), dtype=bool)
    uniq[1:] = (oi[1:] != oi[:-1]) | (best[1:] != best[:-1])
    oi, best, budget = oi[uniq], best[uniq], budget[uniq]
    m = len(oi)
    first = np.searchsorted(oi, oi)
    line_no = np.arange(m) - first + 1
    lch = ch[oi]
    price_b = pricing.base_price[lch, best]
    qty = 1 + np.minimum(rng.poisson(np.maximum(budget / price_b - 1.0, 0.0) * 0.8), 8)
    # currency: the buyer's market currency when the channel takes it
    codes = sorted({c for cl in pricing.currencies for c in cl})
    mk_cur = np.array([MARKETS[mm][0] for mm in mk_names])[cust.market[cu]]
    cur_pos = np.zeros(n, dtype=np.int64)
    cur_code = np.empty(n, dtype=object)
    for c, cl in enumerate(pricing.currencies):
        sel = ch == c
        pos = np.zeros(sel.sum(), dtype=np.int64)
        for k, code in enumerate(cl):
            pos[mk_cur[sel] == code] = k
        cur_pos[sel] = pos
        cur_code[sel] = np.array(cl)[pos]
    cur_idx = np.searchsorted(np.array(codes), cur_code.astype(str)) if n else np.zeros(0, int)
    cents = np.zeros(m, dtype=np.int64)
    for c in range(len(channels)):
        sel = lch == c
        cents[sel] = pricing.cents[c][cur_pos[oi[sel]], best[sel]]
    # discounts: order-level decision, deeper for heavy discount users
    promo = cal.promo[ch, cal.idx(day)]
    has_disc = rng.random(n) < np.clip(cust.disc[cu] + 0.25 * promo, 0, 0.97)
    rate = np.where(
        has_disc, rng.choice([0.05, 0.1, 0.15, 0.2, 0.3], n, p=[0.25, 0.3, 0.2, 0.15, 0.1]), 0.0
    )
    rate = np.where(has_disc & (cust.disc[cu] > 0.6), rate + 0.05, rate)
    if cal.depth is not None:  # a channel price promotion: everyone gets its price cut
        rate = np.maximum(rate, cal.depth[ch, cal.idx(day)])
    disc = np.rint(qty * cents * rate[oi]).astype(np.int64)
    # status from order age at the snapshot
    age = (snapshot - utc) / 86400.0
    transit = np.array(
        [
            3.0
            if c.kind != "cross_border" and "EU" not in c.markets and "US" not in c.markets
            else 10.0
            for c in channels
        ]
    )[ch]
    canc = np.array([c.cancel_rate for c in channels])[ch]
    ret = np.array([c.return_rate for c in channels])[ch]
    us = rng.random(n)
    st = np.full(n, 3)
    st = np.where(us < canc, 4, np.where(us < canc + ret, 5, st))
    st = np.where((age < transit) & (st != 4), np.where(us < 0.5 + canc, 2, 3), st)
    st = np.where((age < 1.5) & (st != 4), np.where(us < 0.55, 1, 2), st)
    st = np.where(age < 0.25, np.where(us < 0.35, 0, 1), st)
    offline = np.array([c.kind == "offline" for c in channels])[ch]
    st = np.where(offline, 1, st)
    fx = np.ones(n)
    for k, code in enumerate(codes):
        sel = cur_idx == k
        if code in fx_daily:
            fx[sel] = fx_daily[code][cal.idx(day[sel])]
    revenue = (qty * cents - disc) / 100.0 * fx[oi]
    return Lines(
        oi,
        cu[oi],
        lch,
        utc[oi],
        day[oi],
        src[oi],
        line_no,
        best,
        qty,
        cents,
        disc,
        cur_idx[oi],
        st[oi],
        revenue,
        codes,
        origin[oi],
    )


def _price_fit_pick(
    ch: np.ndarray,
    cat: np.ndarray,
    budget: np.ndarray,
    catalog: Catalog,
    pricing: ChannelPricing,
    rng: np.random.Generator,
    sens: np.ndarray | None = None,
) -> np.ndarray:
    """The non-habitual SKU choice: 4 candidates by popularity within the (channel, category)
    listing, keep the best price fit to the line budget (CNY) minus the customer's price
    sensitivity x log(price / the category's median list price), plus Gumbel noise.

    Args: per line channel index, category index, budget (CNY), price sensitivity (None =
    0). Returns SKU indices.
    """
    K = len(catalog.categories)
    m = len(ch)
    blk_sku, blk_cum, blk_end = _blocks(catalog)
    b = ch * K + cat
    best = np.zeros(m, dtype=np.int64)
    best_score = np.full(m, -np.inf)
    for _ in range(4):
        pos = np.searchsorted(blk_cum, b + rng.random(m), side="right")
        pos = np.minimum(pos, blk_end[b] - 1)
        sku = blk_sku[pos]
        price = pricing.base_price[ch, sku]
        score = -0.5 * (np.log(price / budget) / 0.55) ** 2 + rng.gumbel(0, 1, m)
        if sens is not None:
            score -= sens * np.log(price / _cat_median(catalog)[cat])
        better = score > best_score
        best[better], best_score[better] = sku[better], score[better]
    return best


def draw_favourites(
    cust: Customers, catalog: Catalog, pricing: ChannelPricing, rng: np.random.Generator
) -> np.ndarray:
    """Each customer's favourite SKUs per category, drawn once (vectorised).

    The number of favourites per (customer, category) is 1, 2 or 3 with probabilities
    FAVOURITE_COUNT_P. Each is drawn like an ordinary line on the customer's home channel
    (the one with the highest channel preference): popularity within the channel's listing
    of the category and price fit to a line budget drawn as in `build_lines` (order value
    Gamma(5, mean_spend / 5) over 1 + min(Poisson(0.22), 3) lines), so favourites follow
    the same aggregate demand shape. Repeated draws collapse into one favourite.

    Returns: (n, K, 3) int64 SKU indices, -1 for an empty slot.
    """
    n, K = cust.n, len(catalog.categories)
    F = len(FAVOURITE_COUNT_P)
    home = np.argmax(cust.pref, axis=1) if n else np.zeros(0, dtype=np.int64)
    count = 1 + rng.choice(F, (n, K), p=np.array(FAVOURITE_COUNT_P))
    nn = n * K * F
    ci = np.repeat(np.arange(n), K * F)
    kk = np.tile(np.repeat(np.arange(K), F), n)
    budget = rng.gamma(5.0, cust.nu[ci] / 5.0) / (1 + np.minimum(rng.poisson(0.22, nn), 3))
    fav = _price_fit_pick(home[ci], kk, budget, catalog, pricing, rng).reshape(n, K, F)
    fav[np.arange(F)[None, None, :] >= count[:, :, None]] = -1
    for j in range(1, F):  # a repeated draw is the same favourite
        dup = (fav[:, :, j : j + 1] == fav[:, :, :j]).any(axis=2)
        fav[:, :, j][dup] = -1
    return fav


def _habitual_pick(
    best: np.ndarray,
    cu: np.ndarray,
    ch: np.ndarray,
    cat: np.ndarray,
    cust: Customers,
    catalog: Catalog,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replace a line's SKU by one of the customer's favourites of its category, with the
    customer's habit probability, uniformly among the favourites listed on the line's
    channel (lines with none listed keep `best`)."""
    m = len(best)
    cand = cust.fav[cu, cat]  # (m, 3)
    ok = (cand >= 0) & catalog.listed[ch[:, None], np.maximum(cand, 0)]
    key = np.where(ok, rng.random(cand.shape), -1.0)
    pick = cand[np.arange(m), key.argmax(axis=1)]
    use = ok.any(axis=1) & (rng.random(m) < cust.habit[cu])
    return np.where(use, pick, best)


def _cat_median(catalog: Catalog) -> np.ndarray:
    """Median list price per category (CNY)."""
    lp = catalog.products["list_price"].to_numpy()
    return np.array([np.median(lp[catalog.cat_idx == k]) for k in range(len(catalog.categories))])


def _blocks(catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked popularity CDFs of listed SKUs per (channel, category) block.

    Block b = channel * K + category occupies (b, b + 1] of the cumulative axis.
    Returns: SKU per position, cumulative value per position, end position per block.
    """
    if catalog.blocks is not None:
        return catalog.blocks
    K = len(catalog.categories)
    skus, cums, ends = [], [], []
    pos = 0
    for c in range(catalog.listed.shape[0]):
        for k in range(K):
            sel = np.flatnonzero(catalog.listed[c] & (catalog.cat_idx == k))
            w = catalog.pop[sel]
            skus.append(sel)
            cums.append(c * K + k + np.cumsum(w) / w.sum())
            pos += len(sel)
            ends.append(pos)
    out = (np.concatenate(skus), np.concatenate(cums), np.array(ends))
    catalog.blocks = out
    return out
