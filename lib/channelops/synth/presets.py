"""Scenario and size presets of the simulator: segments, channels, export styles.

Everything here is plain data. Rates are per day, money is in the base currency (CNY)
unless a field says otherwise, spend is per week.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .layouts import STYLES, ExportStyle  # noqa: F401 - re-exported

GENERATOR_VERSION = "2.0.0"  # 2.0: simulator 2 (docs/design-notes.md); 1.1: favourites
BASE_CURRENCY = "CNY"
REPORTING_TZ = "Asia/Shanghai"
START_DATE = "2023-01-02"  # a Monday: marketing weeks and the horizon line up
CHUNK_CUSTOMERS = 50_000  # fixed, so output never depends on the machine
# favourite SKUs per customer and category: 1, 2 or 3 with these probabilities
FAVOURITE_COUNT_P = (0.5, 0.3, 0.2)


@dataclass(frozen=True)
class SizePreset:
    """How big a world is: true customers, SKUs, horizon in weeks, and an activity factor
    scaling every purchase rate (a big customer base buys less often per head)."""

    customers: int
    skus: int
    weeks: int
    activity: float = 1.0


SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset(customers=800, skus=36, weeks=78),
    "demo": SizePreset(customers=10_000, skus=200, weeks=104),
    "large": SizePreset(customers=1_000_000, skus=2_000, weeks=104, activity=0.16),
}


@dataclass(frozen=True)
class Segment:
    """A latent customer segment and its purchase process.

    lam_mean: purchase rate while alive (orders per day), Gamma heterogeneity with
    shape lam_shape. p_a, p_b: Beta prior of the dropout probability after each purchase.
    spend_mean: mean order value (CNY), Gamma heterogeneity across customers with shape
    spend_shape; order values Gamma with shape order_shape around the customer's mean.
    discount: probability that an order uses a discount. acq: acquisition window as
    fractions of the horizon (negative = before the horizon starts). habit: probability
    that an order line in a category is a repeat of one of the customer's favourite SKUs
    of that category (habitual choice: replenishment, brand loyalty) rather than a fresh
    pick by popularity and price fit.
    """

    name: str
    share: float
    lam_mean: float
    lam_shape: float
    p_a: float
    p_b: float
    spend_mean: float
    spend_shape: float
    order_shape: float
    discount: float
    acq: tuple[float, float]
    crm_rate: float
    age: tuple[float, float, float, float]  # 18-24, 25-34, 35-44, 45+
    categories: dict[str, float] = field(default_factory=dict)  # relative category taste
    habit: float = 0.0  # P(line repeats a favourite SKU of its category)


# habit: share of a customer's lines in a category that repeat one of their 1-3 favourite
# SKUs there. Repeat-purchase studies of FMCG and fashion put the share of category
# purchases going to a shopper's usual product/brand at roughly 0.3-0.7 (Ehrenberg's
# Dirichlet regularities: heavy, loyal buyers at the top, deal-prone switchers at the
# bottom); new customers have not settled their habits yet, lapsing ones keep old habits.
SEGMENT_BASE = [
    Segment(
        "loyal_high_value",
        0.17,
        1 / 30,
        25.0,
        2.0,
        330.0,
        620.0,
        16.0,
        6.0,
        0.07,
        (-0.45, 0.05),
        0.75,
        (0.08, 0.34, 0.36, 0.22),
        habit=0.65,
    ),
    Segment(
        "bargain_hunter",
        0.30,
        1 / 40,
        25.0,
        2.0,
        165.0,
        95.0,
        16.0,
        5.0,
        0.80,
        (-0.30, 0.55),
        0.45,
        (0.30, 0.36, 0.22, 0.12),
        habit=0.3,
    ),
    Segment(
        "new",
        0.23,
        1 / 40,
        20.0,
        5.0,
        45.0,
        240.0,
        12.0,
        5.0,
        0.25,
        (0.80, 0.985),
        0.45,
        (0.34, 0.38, 0.18, 0.10),
        habit=0.4,
    ),
    Segment(
        "dormant",
        0.30,
        1 / 50,
        20.0,
        25.0,
        25.0,
        200.0,
        12.0,
        5.0,
        0.25,
        (-0.10, 0.40),
        0.45,
        (0.12, 0.30, 0.30, 0.28),
        habit=0.5,
    ),
]


@dataclass(frozen=True)
class ChannelPreset:
    """One channel of a scenario (active when it has a style, candidate otherwise).

    markets: the buyer markets it serves. currencies: export currencies (first = the
    channel's currency; several -> a currency column). seg_weight: relative preference of
    each segment (keyed by segment name). peaks: multipliers of holiday peaks by holiday
    key. spend: typical weekly marketing spend (CNY). mkt_ratio: direct marketing
    response at typical spend as a share of the channel's organic revenue (unless ``roas``
    is set: business-wide incremental revenue per CNY at typical spend). lag_weeks: scale of
    the Weibull lag kernel of the carry-over (weeks). saturation: negative-exponential
    saturation spend as a multiple of typical spend. always_on: the budget never goes dark
    (else dark in the weakest plan months). new_share: relative propensity of the channel's
    ads to acquire new customers (per CNY of direct response). halo: {channel: share of
    this channel's direct response landing as extra orders there}. cannibalises: {channel:
    share of this channel's direct response that are orders moved from there}. late_rate:
    base probability that an order arrives late (raised by peak backlog), raising churn.
    """

    id: str
    name: str
    kind: str
    style: str | None
    currencies: tuple[str, ...]
    timezone: str
    commission: float
    fixed_cost: float
    age: tuple[float, float, float, float]
    tiers: tuple[float, float, float]
    markets: tuple[str, ...]
    seg_weight: dict[str, float]
    crm: bool = False
    price_factor: float = 1.0
    peaks: dict[str, float] = field(default_factory=dict)
    promo_rate: float = 0.03
    live_rate: float = 0.0
    cancel_rate: float = 0.04
    return_rate: float = 0.04
    listing: float = 0.85
    spend: float = 20_000.0
    mkt_ratio: float = 1.3
    lag_weeks: float = 2.6
    saturation: float = 1.24
    always_on: bool = True
    new_share: float = 0.08
    halo: dict[str, float] = field(default_factory=dict)
    cannibalises: dict[str, float] = field(default_factory=dict)
    roas: float | None = None
    late_rate: float = 0.05
    sla_hours: float = 72.0
    hours: str = "online"


_CN_PEAKS = {"618": 3.0, "d11": 5.0, "d12": 1.8, "cny": 1.0}
_MK_PEAKS = {"618": 3.5, "d11": 6.0, "d12": 2.0, "cny": 1.0}
_OWN_PEAKS = {"618": 2.0, "d11": 3.0, "d12": 1.5, "cny": 1.0}
_XB_PEAKS = {"bf": 3.0, "cm": 2.0, "xmas": 1.4, "prime": 2.5, "d11": 2.0}


@dataclass(frozen=True)
class Scenario:
    """A scenario: its channels, category mix, market mix and segment mix."""

    name: str
    description: str
    channels: tuple[ChannelPreset, ...]
    categories: dict[str, float]
    markets: dict[str, float]
    segment_share: dict[str, float]
    trend_per_year: float = 0.12
    experiment_channel: str = "own_store"


CATEGORIES: dict[str, dict] = {
    # median list price (CNY), log-sd of price, weight range kg, cost share range
    "electronics": {"price": 900.0, "sd": 0.7, "kg": (0.2, 3.0), "cost": (0.55, 0.75)},
    "home": {"price": 180.0, "sd": 0.6, "kg": (0.3, 6.0), "cost": (0.40, 0.60)},
    "beauty": {"price": 160.0, "sd": 0.5, "kg": (0.05, 0.6), "cost": (0.25, 0.45)},
    "apparel": {"price": 220.0, "sd": 0.6, "kg": (0.2, 1.2), "cost": (0.30, 0.50)},
    "food": {"price": 60.0, "sd": 0.5, "kg": (0.2, 2.5), "cost": (0.50, 0.70)},
    "baby": {"price": 150.0, "sd": 0.6, "kg": (0.2, 4.0), "cost": (0.40, 0.60)},
    "accessories": {"price": 120.0, "sd": 0.6, "kg": (0.05, 0.5), "cost": (0.25, 0.45)},
    "tea": {"price": 140.0, "sd": 0.6, "kg": (0.1, 1.0), "cost": (0.35, 0.55)},
}

_SEG = ("loyal_high_value", "bargain_hunter", "new", "dormant")


def _sw(*w: float) -> dict[str, float]:
    return dict(zip(_SEG, w, strict=True))


SCENARIOS: dict[str, Scenario] = {
    "multi_category": Scenario(
        "multi_category",
        "A multi-category brand: own web store, Tmall (Chinese export), JD, Douyin, an "
        "offline store with membership, and a US cross-border marketplace.",
        (
            ChannelPreset(
                "own_store",
                "Own web store",
                "own_store",
                "own_web",
                ("CNY",),
                "Asia/Shanghai",
                0.006,
                80_000,
                (0.15, 0.38, 0.30, 0.17),
                (0.45, 0.35, 0.20),
                ("CN",),
                _sw(3.0, 1.0, 1.2, 1.0),
                crm=True,
                peaks=_OWN_PEAKS,
                return_rate=0.04,
                listing=1.0,
                spend=30_000,
                mkt_ratio=1.3,
                lag_weeks=2.4,
                saturation=1.36,
                sla_hours=72,
            ),
            ChannelPreset(
                "tmall",
                "Tmall flagship store",
                "marketplace",
                "tmall_cn",
                ("CNY",),
                "Asia/Shanghai",
                0.05,
                30_000,
                (0.22, 0.38, 0.25, 0.15),
                (0.35, 0.38, 0.27),
                ("CN",),
                _sw(1.5, 2.0, 2.0, 2.0),
                price_factor=0.97,
                peaks=_MK_PEAKS,
                spend=45_000,
                mkt_ratio=1.54,
                lag_weeks=2.2,
                saturation=1.12,
                sla_hours=72,
            ),
            ChannelPreset(
                "jd",
                "JD self-operated store",
                "marketplace",
                "jd",
                ("CNY",),
                "Asia/Shanghai",
                0.06,
                25_000,
                (0.15, 0.40, 0.30, 0.15),
                (0.40, 0.38, 0.22),
                ("CN",),
                _sw(1.3, 1.5, 1.0, 1.0),
                price_factor=0.98,
                peaks=_MK_PEAKS,
                spend=30_000,
                mkt_ratio=1.32,
                lag_weeks=2.4,
                saturation=1.3,
                sla_hours=48,
            ),
            ChannelPreset(
                "douyin",
                "Douyin shop",
                "social",
                "douyin",
                ("CNY",),
                "Asia/Shanghai",
                0.08,
                20_000,
                (0.38, 0.37, 0.17, 0.08),
                (0.25, 0.35, 0.40),
                ("CN",),
                _sw(0.4, 1.8, 2.2, 0.9),
                price_factor=0.95,
                peaks=_CN_PEAKS,
                live_rate=0.05,
                return_rate=0.12,
                listing=0.5,
                spend=35_000,
                mkt_ratio=1.98,
                lag_weeks=1.6,
                saturation=1.0,
                sla_hours=72,
                hours="evening",
            ),
            ChannelPreset(
                "offline_pos",
                "Flagship store (POS)",
                "offline",
                "pos",
                ("CNY",),
                "Asia/Shanghai",
                0.0,
                150_000,
                (0.10, 0.30, 0.32, 0.28),
                (0.70, 0.30, 0.00),
                ("CN",),
                _sw(2.0, 0.4, 0.6, 0.6),
                crm=True,
                price_factor=1.02,
                peaks={"618": 1.2, "d11": 1.3, "cny": 1.0},
                promo_rate=0.02,
                cancel_rate=0.0,
                return_rate=0.0,
                listing=0.6,
                spend=12_000,
                mkt_ratio=1.2,
                lag_weeks=2.6,
                saturation=1.42,
                sla_hours=0,
                hours="store",
            ),
            ChannelPreset(
                "amazon_us",
                "Amazon US",
                "cross_border",
                "amazon",
                ("USD",),
                "America/Los_Angeles",
                0.15,
                10_000,
                (0.20, 0.40, 0.25, 0.15),
                (0.60, 0.30, 0.10),
                ("US",),
                _sw(1.0, 1.0, 1.0, 1.0),
                price_factor=1.35,
                peaks=_XB_PEAKS,
                return_rate=0.06,
                listing=0.4,
                spend=15_000,
                mkt_ratio=1.32,
                lag_weeks=2.8,
                saturation=1.24,
                sla_hours=14 * 24,
            ),
            ChannelPreset(
                "wechat_mini",
                "WeChat mini-program",
                "social",
                None,
                ("CNY",),
                "Asia/Shanghai",
                0.006,
                15_000,
                (0.20, 0.40, 0.26, 0.14),
                (0.40, 0.35, 0.25),
                ("CN",),
                {},
            ),
            ChannelPreset(
                "pinduoduo",
                "Pinduoduo",
                "marketplace",
                None,
                ("CNY",),
                "Asia/Shanghai",
                0.03,
                10_000,
                (0.25, 0.30, 0.25, 0.20),
                (0.15, 0.30, 0.55),
                ("CN",),
                {},
            ),
        ),
        {"electronics": 1.0, "home": 1.2, "beauty": 1.0, "apparel": 1.2, "food": 0.8, "baby": 0.6},
        {"CN": 0.93, "US": 0.07},
        {"loyal_high_value": 0.18, "bargain_hunter": 0.32, "new": 0.18, "dormant": 0.32},
    ),
    "social": Scenario(
        "social",
        "A social-commerce brand: Douyin, Kuaishou and Xiaohongshu dominate, a WeChat "
        "mini-program is the own channel, Tmall is secondary; younger audience, live-stream "
        "spikes.",
        (
            ChannelPreset(
                "wechat_mini",
                "WeChat mini-program",
                "own_store",
                "own_web",
                ("CNY",),
                "Asia/Shanghai",
                0.006,
                20_000,
                (0.35, 0.40, 0.17, 0.08),
                (0.40, 0.35, 0.25),
                ("CN",),
                _sw(3.0, 1.0, 1.2, 1.0),
                crm=True,
                peaks=_OWN_PEAKS,
                live_rate=0.02,
                listing=1.0,
                spend=20_000,
                mkt_ratio=1.1,
                lag_weeks=2.6,
                saturation=1.3,
                hours="evening",
            ),
            ChannelPreset(
                "douyin",
                "Douyin shop",
                "social",
                "douyin",
                ("CNY",),
                "Asia/Shanghai",
                0.08,
                20_000,
                (0.42, 0.36, 0.15, 0.07),
                (0.25, 0.35, 0.40),
                ("CN",),
                _sw(1.0, 2.5, 3.0, 1.5),
                price_factor=0.95,
                peaks=_CN_PEAKS,
                live_rate=0.08,
                return_rate=0.15,
                listing=0.8,
                spend=60_000,
                mkt_ratio=2.2,
                lag_weeks=1.6,
                saturation=1.0,
                hours="evening",
            ),
            ChannelPreset(
                "kuaishou",
                "Kuaishou shop",
                "social",
                "kuaishou",
                ("CNY",),
                "Asia/Shanghai",
                0.07,
                15_000,
                (0.35, 0.35, 0.20, 0.10),
                (0.10, 0.30, 0.60),
                ("CN",),
                _sw(0.6, 2.0, 1.8, 1.2),
                price_factor=0.93,
                peaks=_CN_PEAKS,
                live_rate=0.07,
                return_rate=0.14,
                listing=0.6,
                spend=35_000,
                mkt_ratio=1.98,
                lag_weeks=1.8,
                saturation=1.12,
                hours="evening",
            ),
            ChannelPreset(
                "xiaohongshu",
                "Xiaohongshu store",
                "social",
                "xhs",
                ("CNY",),
                "Asia/Shanghai",
                0.05,
                12_000,
                (0.45, 0.40, 0.11, 0.04),
                (0.55, 0.35, 0.10),
                ("CN",),
                _sw(1.5, 0.8, 2.0, 1.0),
                peaks=_CN_PEAKS,
                live_rate=0.03,
                return_rate=0.08,
                listing=0.5,
                spend=20_000,
                mkt_ratio=1.54,
                lag_weeks=3.0,
                saturation=1.42,
                hours="evening",
            ),
            ChannelPreset(
                "tmall",
                "Tmall flagship store",
                "marketplace",
                "tmall_cn",
                ("CNY",),
                "Asia/Shanghai",
                0.05,
                30_000,
                (0.25, 0.38, 0.24, 0.13),
                (0.35, 0.38, 0.27),
                ("CN",),
                _sw(1.2, 1.0, 0.8, 1.2),
                price_factor=0.97,
                peaks=_MK_PEAKS,
                spend=25_000,
                mkt_ratio=1.32,
                lag_weeks=2.2,
                saturation=1.18,
            ),
            ChannelPreset(
                "bilibili",
                "Bilibili mall",
                "social",
                None,
                ("CNY",),
                "Asia/Shanghai",
                0.06,
                10_000,
                (0.55, 0.35, 0.08, 0.02),
                (0.50, 0.35, 0.15),
                ("CN",),
                {},
            ),
            ChannelPreset(
                "pinduoduo",
                "Pinduoduo",
                "marketplace",
                None,
                ("CNY",),
                "Asia/Shanghai",
                0.03,
                10_000,
                (0.25, 0.30, 0.25, 0.20),
                (0.15, 0.30, 0.55),
                ("CN",),
                {},
            ),
        ),
        {"beauty": 1.5, "apparel": 1.5, "food": 1.0, "accessories": 1.0, "home": 0.5},
        {"CN": 1.0},
        {"loyal_high_value": 0.13, "bargain_hunter": 0.35, "new": 0.24, "dormant": 0.28},
        trend_per_year=0.25,
        experiment_channel="wechat_mini",
    ),
    "cross_border": Scenario(
        "cross_border",
        "A cross-border seller shipping from China: a multi-currency global web store, "
        "Amazon US, a German marketplace, Shopee Singapore and AliExpress; several "
        "currencies and timezones, long shipping delays.",
        (
            ChannelPreset(
                "global_store",
                "Global web store",
                "own_store",
                "global_web",
                ("USD", "EUR", "GBP", "SGD"),
                "UTC",
                0.029,
                40_000,
                (0.18, 0.40, 0.27, 0.15),
                (0.60, 0.30, 0.10),
                ("US", "EU", "UK", "SG"),
                _sw(3.0, 1.0, 1.2, 1.0),
                crm=True,
                price_factor=1.3,
                peaks=_XB_PEAKS,
                listing=1.0,
                spend=30_000,
                mkt_ratio=1.1,
                lag_weeks=3.0,
                saturation=1.36,
                sla_hours=12 * 24,
            ),
            ChannelPreset(
                "amazon_us",
                "Amazon US",
                "cross_border",
                "amazon",
                ("USD",),
                "America/Los_Angeles",
                0.15,
                15_000,
                (0.20, 0.40, 0.25, 0.15),
                (0.60, 0.30, 0.10),
                ("US",),
                _sw(1.5, 2.0, 1.5, 1.5),
                price_factor=1.35,
                peaks=_XB_PEAKS,
                return_rate=0.07,
                listing=0.6,
                spend=40_000,
                mkt_ratio=1.54,
                lag_weeks=2.4,
                saturation=1.18,
                sla_hours=10 * 24,
            ),
            ChannelPreset(
                "eu_market",
                "German marketplace",
                "cross_border",
                "eu_market",
                ("EUR", "GBP"),
                "Europe/Berlin",
                0.12,
                12_000,
                (0.15, 0.38, 0.30, 0.17),
                (0.55, 0.35, 0.10),
                ("EU", "UK"),
                _sw(1.5, 2.0, 1.5, 1.5),
                price_factor=1.35,
                peaks=_XB_PEAKS,
                return_rate=0.08,
                listing=0.5,
                spend=25_000,
                mkt_ratio=1.32,
                lag_weeks=2.8,
                saturation=1.3,
                sla_hours=14 * 24,
            ),
            ChannelPreset(
                "shopee_sg",
                "Shopee Singapore",
                "cross_border",
                "shopee",
                ("SGD",),
                "Asia/Singapore",
                0.10,
                8_000,
                (0.30, 0.40, 0.20, 0.10),
                (0.80, 0.20, 0.00),
                ("SG",),
                _sw(1.0, 2.5, 2.0, 1.5),
                price_factor=1.2,
                peaks={"d11": 3.0, "d12": 2.5, "cny": 1.0},
                live_rate=0.02,
                listing=0.5,
                spend=15_000,
                mkt_ratio=1.54,
                lag_weeks=2.0,
                saturation=1.12,
                sla_hours=10 * 24,
            ),
            ChannelPreset(
                "aliexpress",
                "AliExpress",
                "cross_border",
                "aliexpress",
                ("USD", "EUR"),
                "Asia/Shanghai",
                0.08,
                5_000,
                (0.28, 0.36, 0.22, 0.14),
                (0.30, 0.40, 0.30),
                ("US", "EU"),
                _sw(0.8, 2.5, 1.5, 1.5),
                price_factor=1.1,
                peaks={"d11": 3.5, "bf": 2.0, "618": 1.5},
                return_rate=0.05,
                listing=0.7,
                spend=20_000,
                mkt_ratio=1.76,
                lag_weeks=1.8,
                saturation=1.06,
                sla_hours=20 * 24,
            ),
            ChannelPreset(
                "lazada",
                "Lazada",
                "cross_border",
                None,
                ("SGD",),
                "Asia/Singapore",
                0.09,
                6_000,
                (0.30, 0.40, 0.20, 0.10),
                (0.70, 0.30, 0.00),
                ("SG",),
                {},
            ),
            ChannelPreset(
                "temu_like",
                "Discount marketplace",
                "cross_border",
                None,
                ("USD",),
                "America/New_York",
                0.20,
                3_000,
                (0.25, 0.35, 0.25, 0.15),
                (0.30, 0.40, 0.30),
                ("US",),
                {},
            ),
        ),
        {"electronics": 1.0, "beauty": 1.0, "apparel": 1.0, "home": 0.8, "tea": 0.8},
        {"US": 0.40, "EU": 0.27, "UK": 0.13, "SG": 0.20},
        {"loyal_high_value": 0.18, "bargain_hunter": 0.32, "new": 0.18, "dormant": 0.32},
        trend_per_year=0.18,
        experiment_channel="global_store",
    ),
}

#: market -> (currency, standard UTC offset in hours used to place local shopping hours)
MARKETS: dict[str, tuple[str, float]] = {
    "CN": ("CNY", 8.0),
    "US": ("USD", -6.0),
    "EU": ("EUR", 1.0),
    "UK": ("GBP", 0.0),
    "SG": ("SGD", 8.0),
}

#: fx reference rates (CNY per unit) and daily log volatility
FX_REF: dict[str, tuple[float, float]] = {
    "USD": (7.15, 0.0025),
    "EUR": (7.80, 0.0035),
    "GBP": (9.05, 0.0040),
    "SGD": (5.32, 0.0025),
}

# Simulator 2 (generator 2.0): how each active channel's advertising works beyond its own
# curve. Halo: social video and search ads send buyers to the marketplaces (the "search
# after seeing" path); cannibalisation: marketplace ads capture own-store buyers who would
# have bought anyway; roas pins a channel's business-wide return at typical spend (set
# below break-even for one channel per scenario: short-video ads with high commission).
# See docs/design-notes.md, "Simulator 2: marketing".
_WORLD2: dict[str, dict[str, dict]] = {
    "multi_category": {
        "own_store": {"new_share": 0.05},
        "tmall": {"cannibalises": {"own_store": 0.15}, "mkt_ratio": 2.8},
        "jd": {
            "cannibalises": {"own_store": 0.08},
            "new_share": 0.06,
            "always_on": False,
            "mkt_ratio": 2.2,
        },
        "douyin": {
            "halo": {"tmall": 0.25, "jd": 0.1, "own_store": 0.05},
            "new_share": 0.2,
            "roas": 1.3,
            "always_on": False,
        },
        "offline_pos": {"halo": {"own_store": 0.1}, "new_share": 0.06},
        "amazon_us": {
            "new_share": 0.12,
            "always_on": False,
            "late_rate": 0.15,
            "mkt_ratio": 3.2,
        },
    },
    "social": {
        "douyin": {"halo": {"tmall": 0.2, "wechat_mini": 0.05}, "new_share": 0.2, "mkt_ratio": 3.5},
        "kuaishou": {"roas": 1.3, "new_share": 0.2, "always_on": False},
        "xiaohongshu": {
            "halo": {"tmall": 0.3, "douyin": 0.1},
            "new_share": 0.15,
            "mkt_ratio": 2.4,
        },
        "tmall": {"cannibalises": {"wechat_mini": 0.15}, "always_on": False, "mkt_ratio": 2.6},
    },
    "cross_border": {
        "global_store": {"late_rate": 0.12},
        "amazon_us": {
            "cannibalises": {"global_store": 0.15},
            "late_rate": 0.10,
            "mkt_ratio": 2.8,
        },
        "eu_market": {"late_rate": 0.12, "always_on": False},
        "shopee_sg": {"new_share": 0.12, "late_rate": 0.10},
        "aliexpress": {
            "roas": 1.2,
            "late_rate": 0.2,
            "always_on": False,
            "halo": {"amazon_us": 0.05},
        },
    },
}
SCENARIOS = {
    k: replace(
        v,
        channels=tuple(replace(c, **_WORLD2[k].get(c.id, {})) for c in v.channels),
    )
    for k, v in SCENARIOS.items()
}
