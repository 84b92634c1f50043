"""Order prioritisation and a discrete-event simulation of the warehouse order flow.

Every order goes through five steps:

1. **receive** — the order arrives at ``order_ts``;
2. **check** — payment, address and fraud checks, a fixed ``check_minutes``;
3. **stock check** — with probability ``stockout_prob`` a line is short and the order
   waits ``restock_hours`` for stock;
4. **pick and pack** — at the order's warehouse, by one of that warehouse's packers, who
   work only on their shift; the pack time grows with the order's units;
5. **ship** — the parcel leaves with the next carrier pickup (``pickup_hours``).

Steps 1-3 and 5 have no capacity limit, so they are computed for all orders at once with
numpy. Step 4 is the bottleneck that queues: it is simulated with simpy, one process per
packer (:mod:`.packing`), and this is where the two policies differ:

- ``fifo`` — packers take the order that became ready first;
- ``priority`` — packers take the order with the earliest *effective deadline*
  ``deadline - w_value * value_score - w_customer * customer_score`` (hours), where the
  scores are percentile ranks in [0, 1] of the order's value and of its customer's spend;
  the channel's SLA enters through the deadline itself. An order that can no longer ship
  before its deadline (its deadline is earlier than the next pickup after packing it now)
  is set aside and packed only when no order that can still be saved is waiting. This is
  earliest-deadline-first with the lost cases moved to the back: plain earliest-deadline
  first minimises the largest lateness, but under overload it spends capacity on orders
  that are late anyway; setting those aside is what reduces the *number* of breaches.

Both policies see the same sampled check, stock-out and pack times (common random
numbers), so their difference is the policy alone.

Units: times inside the simulation are hours since the start of the simulated window;
inputs and outputs use pandas timestamps (UTC, naive or aware, consistently).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# the simpy model of step 4 (pick and pack) is in .packing
from .packing import _next_pickup_at, _on_shift, _OrderTimes, pack_times  # noqa: F401

__all__ = [
    "SimConfig",
    "parse_shifts",
    "parse_hours",
    "busiest_window",
    "dispatch_sla_hours",
    "priority_scores",
    "packers_per_warehouse",
    "packing_pace",
    "simulate_order_flow",
    "simulation_summary",
    "SIM_COLUMNS",
]

#: The columns of the ``fulfilment_sim`` table (stage 06 reads them by name).
SIM_COLUMNS = [
    "policy",
    "channel_id",
    "orders",
    "mean_cycle_hours",
    "p95_cycle_hours",
    "sla_breaches",
    "breach_rate",
    "mean_hours_late",
]

POLICIES = ("fifo", "priority")


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the order-flow simulation.

    Attributes:
        check_minutes: time for the order check (payment, address, fraud), minutes.
        stockout_prob: probability that an order waits for stock, in [0, 1].
        restock_hours: how long a short order waits for stock, hours.
        pack_minutes: pick-and-pack time of a one-unit order, minutes.
        pack_minutes_per_unit: extra pick-and-pack minutes per further unit.
        pack_cv: coefficient of variation of the pack time (log-normal; 0 = fixed).
        shifts: ``[(start_hour, end_hour, share), ...]`` local hours of each shift and the
            share of the warehouse's packers on it (``end_hour`` may be 24).
        pickup_hours: local hours of the carrier pickups; empty means a parcel ships the
            moment it is packed.
        value_weight_h: hours of deadline credit for the most valuable order (priority).
        customer_weight_h: hours of deadline credit for the highest-spending customer.
        tz_offset_h: hours added to the simulation clock to get local time (shifts and
            pickups are in local hours; 0 when the window starts at local midnight).
    """

    check_minutes: float = 10.0
    stockout_prob: float = 0.02
    restock_hours: float = 24.0
    pack_minutes: float = 6.0
    pack_minutes_per_unit: float = 1.5
    pack_cv: float = 0.3
    shifts: tuple[tuple[float, float, float], ...] = ((8.0, 16.0, 1.0), (16.0, 24.0, 0.6))
    pickup_hours: tuple[float, ...] = (11.0, 17.0, 22.0)
    value_weight_h: float = 6.0
    customer_weight_h: float = 6.0
    tz_offset_h: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.stockout_prob <= 1:
            raise ValueError(f"stockout_prob must be in [0, 1], got {self.stockout_prob}")
        for name in (
            "check_minutes",
            "restock_hours",
            "pack_minutes",
            "pack_minutes_per_unit",
            "pack_cv",
            "value_weight_h",
            "customer_weight_h",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {v}")
        if self.pack_minutes <= 0:
            raise ValueError(f"pack_minutes must be positive, got {self.pack_minutes}")
        if not self.shifts:
            raise ValueError("shifts is empty: give at least one (start, end, share) shift")
        for start, end, share in self.shifts:
            if not (0 <= start < end <= 24) or share < 0:
                raise ValueError(
                    f"bad shift ({start}, {end}, {share}): expected "
                    "0 <= start < end <= 24 local hours and a share >= 0"
                )
        if any(not 0 <= h < 24 for h in self.pickup_hours):
            raise ValueError(f"pickup_hours must be in [0, 24), got {self.pickup_hours}")

    @property
    def shift_hours(self) -> float:
        """Packer-hours per packer per day (sum of shift length x share)."""
        return sum((e - s) * share for s, e, share in self.shifts)


# --------------------------------------------------------------------------- parameters


def parse_shifts(text: str) -> tuple[tuple[float, float, float], ...]:
    """Parse ``"8-16:1.0,16-24:0.6"`` into ``((8, 16, 1.0), (16, 24, 0.6))``.

    Each item is ``start-end:share`` in local hours; ``share`` (default 1) is the share of
    the warehouse's packers on that shift.
    """
    out = []
    for item in (t.strip() for t in str(text).split(",")):
        if not item:
            continue
        span, _, share = item.partition(":")
        try:
            start, end = (float(x) for x in span.split("-"))
            out.append((start, end, float(share) if share else 1.0))
        except ValueError:
            raise ValueError(
                f"cannot read shift {item!r}: expected start-end:share, e.g. 8-16:1.0"
            ) from None
    if not out:
        raise ValueError(f"no shifts in {text!r}: expected e.g. '8-16:1.0,16-24:0.6'")
    return tuple(out)


def parse_hours(text: str) -> tuple[float, ...]:
    """Parse ``"11,17,22"`` into ``(11.0, 17.0, 22.0)``; an empty string gives ``()``."""
    try:
        return tuple(sorted(float(t) for t in str(text).split(",") if t.strip()))
    except ValueError:
        raise ValueError(f"cannot read hours {text!r}: expected e.g. '11,17,22'") from None


def busiest_window(ts: pd.Series, days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The ``days`` consecutive calendar days with the most orders.

    Args:
        ts: order timestamps (local time is best: days are calendar days of these values).
        days: window length in days (>= 1).

    Returns:
        (start, end): midnight of the first day and midnight after the last day.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if ts.empty:
        raise ValueError("no orders to choose a window from")
    daily = ts.dt.floor("D").value_counts().sort_index()
    full = daily.reindex(
        pd.date_range(daily.index.min(), daily.index.max(), freq="D"), fill_value=0
    )
    rolling = full.rolling(days, min_periods=1).sum()
    end_day = rolling.idxmax()
    start = max(end_day - pd.Timedelta(days=days - 1), full.index.min())
    return start, end_day + pd.Timedelta(days=1)


def dispatch_sla_hours(shipments: pd.DataFrame, min_hours: float = 24.0) -> pd.Series:
    """Each channel's dispatch SLA: its delivery promise minus its median transit time.

    Args:
        shipments: rows with channel_id, order_ts (or none: then shipped_ts is used as a
            lower bound), promised_ts, shipped_ts, delivered_ts (timestamps; NaT for parcels
            still in transit).
        min_hours: floor on the result, hours (a channel whose promise is shorter than
            its typical transit, e.g. cross-border, still gets this long to ship).

    Returns:
        Series channel_id -> hours from order to the latest ship time that still meets the
        promise for a parcel with the channel's median transit time.
    """
    need = {"channel_id", "order_ts", "promised_ts", "shipped_ts", "delivered_ts"}
    missing = need - set(shipments.columns)
    if missing:
        raise ValueError(f"shipments is missing column(s) {sorted(missing)}")
    promise_h = (shipments["promised_ts"] - shipments["order_ts"]).dt.total_seconds() / 3600
    transit_h = (shipments["delivered_ts"] - shipments["shipped_ts"]).dt.total_seconds() / 3600
    frame = pd.DataFrame(
        {"channel_id": shipments["channel_id"], "promise_h": promise_h, "transit_h": transit_h}
    )
    g = frame.groupby("channel_id", observed=True)
    sla = g["promise_h"].median() - g["transit_h"].median().fillna(0)
    return sla.clip(lower=min_hours).rename("dispatch_sla_hours")


def priority_scores(orders: pd.DataFrame) -> pd.DataFrame:
    """Value and customer scores in [0, 1] used by the priority policy.

    Args:
        orders: rows with revenue_base (order value, base currency) and customer_id.

    Returns:
        DataFrame (same index) with value_score (percentile rank of the order's value) and
        customer_score (percentile rank of the customer's total spend in ``orders``; 0 for
        an order with no customer_id).
    """
    for col in ("revenue_base", "customer_id"):
        if col not in orders.columns:
            raise ValueError(f"orders has no {col!r} column")
    value = orders["revenue_base"].astype(float).fillna(0.0)
    value_score = value.rank(pct=True, method="average")
    # group on integer codes of customer_id (NaN for a missing id, which dropna leaves out):
    # the same sums in the same order as grouping on the strings, at less cost
    codes = pd.factorize(orders["customer_id"])[0]
    customer = pd.Series(np.where(codes < 0, np.nan, codes), index=orders.index)
    spend = value.groupby(customer, dropna=True).transform("sum")
    customer_score = spend.rank(pct=True, method="average").fillna(0.0)
    return pd.DataFrame(
        {"value_score": value_score.fillna(0.0), "customer_score": customer_score},
        index=orders.index,
    )


def packers_per_warehouse(
    daily_capacity: pd.Series, config: SimConfig, mean_units: float = 1.0, scale: float = 1.0
) -> pd.Series:
    """Packers each warehouse needs so that a day of shifts packs its daily capacity.

    ``packers = ceil(scale * capacity * pack_minutes(mean_units) / 60 / shift_hours)``
    where ``shift_hours`` is the packer-hours per packer per day of :class:`SimConfig`.

    Args:
        daily_capacity: warehouse -> orders per day (``daily_capacity_orders``).
        config: the simulation parameters.
        mean_units: average units per order (sets the mean pack time).
        scale: multiply the capacity (e.g. 0.8 for a stress test).

    Returns:
        Series warehouse -> packers (at least 1).
    """
    if config.shift_hours <= 0:
        raise ValueError("the shifts give no working hours (every share is 0)")
    pack_h = (config.pack_minutes + config.pack_minutes_per_unit * max(mean_units - 1, 0)) / 60
    need = np.ceil(scale * daily_capacity.astype(float) * pack_h / config.shift_hours - 1e-9)
    return need.clip(lower=1).astype(int).rename("packers")


def packing_pace(
    daily_capacity: pd.Series,
    packers: pd.Series,
    config: SimConfig,
    mean_units: float = 1.0,
    scale: float = 1.0,
) -> pd.Series:
    """Pack-time multiplier per warehouse so that a day of shifts packs exactly its capacity.

    Whole packers (and shares of them rounded per shift) rarely give exactly
    ``scale x daily_capacity`` orders a day; multiplying each order's pack time by

    ``pace = packer-hours on shift per day / (scale x capacity x mean pack hours)``

    makes the simulated daily throughput equal the stated capacity, so ``scale`` changes
    capacity smoothly (0.8 = 20% less) instead of in steps of one packer.

    Args:
        daily_capacity: warehouse -> orders per day.
        packers: warehouse -> packers (see :func:`packers_per_warehouse`).
        config: the simulation parameters (shifts, pack times).
        mean_units: average units per order.
        scale: capacity multiplier (> 0).

    Returns:
        Series warehouse -> pace (> 1 slows packers down, < 1 speeds them up).
    """
    if scale <= 0:
        raise ValueError(f"capacity scale must be positive, got {scale}")
    pack_h = (config.pack_minutes + config.pack_minutes_per_unit * max(mean_units - 1, 0)) / 60
    hours = {
        w: sum(e - s for k in range(int(n)) for s, e in _on_shift(k, int(n), config))
        for w, n in packers.items()
    }
    need = scale * daily_capacity.reindex(packers.index).astype(float) * pack_h
    pace = pd.Series(hours, dtype=float) / need.where(need > 0)
    return pace.fillna(1.0).rename("pace")


# --------------------------------------------------------------------------- the clock


def next_pickup(t: np.ndarray, pickup_hours: Sequence[float], tz: float = 0.0) -> np.ndarray:
    """The first carrier pickup at or after each time t (hours); t itself when no pickups."""
    t = np.asarray(t, dtype=float)
    if not len(pickup_hours):
        return t.copy()
    hours = np.sort(np.asarray(pickup_hours, dtype=float))
    local = t + tz
    day = np.floor(local / 24.0)
    within = local - 24.0 * day
    idx = np.searchsorted(hours, within - 1e-9, side="left")
    nxt = np.where(idx < len(hours), hours[np.minimum(idx, len(hours) - 1)], hours[0] + 24.0)
    return t + (nxt - within)


# --------------------------------------------------------------------------- simulation


def simulate_order_flow(
    orders: pd.DataFrame,
    packers: pd.Series,
    config: SimConfig,
    *,
    policies: Sequence[str] = POLICIES,
    seed: int = 0,
    start: pd.Timestamp | None = None,
    pace: pd.Series | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Simulate the order flow of a window of orders under each policy.

    The policies share nothing but their inputs, so with ``workers`` 2 the first policy
    runs in a second Python process while this one runs the others (one simpy run holds
    the interpreter's lock, so a thread would not run beside it); every float is computed
    by the same code on the same inputs, so the result is the same as with ``workers`` 1
    (:func:`~.packing.pack_times`).

    Args:
        orders: one row per order with order_id, channel_id, warehouse_id, order_ts
            (timestamp), deadline_ts (latest ship time that meets the SLA), units (>= 1),
            and for the priority policy value_score and customer_score in [0, 1] (see
            :func:`priority_scores`; taken as 0 when absent).
        packers: warehouse_id -> number of packers (see :func:`packers_per_warehouse`).
        config: the simulation parameters.
        policies: any of ``"fifo"`` and ``"priority"``.
        seed: seed of the check, stock-out and pack-time draws (shared by the policies).
        pace: warehouse_id -> multiplier of the pack times (see :func:`packing_pace`);
            None means 1 everywhere.
        start: time zero of the clock (local midnight is best, as shifts and pickups are
            in local hours of the clock plus ``config.tz_offset_h``); default: midnight
            of the first order's day.
        workers: 1 runs the policies one after the other here; 2 runs the first in a
            second process meanwhile. None: 2 when this process may run on two cores or
            more, there are two policies or more and the window has at least
            :data:`~.packing.PARALLEL_MIN_ORDERS` orders (below that starting the second
            process costs more than it saves), else 1.

    Returns:
        One row per order and policy: policy, order_id, channel_id, warehouse_id, ready_h,
        pack_start_h, pack_end_h, ship_h, deadline_h (hours since ``start``),
        cycle_hours (ship - order), late_hours (ship - deadline, >= 0) and breach
        (shipped after the deadline). Orders still unpacked when the simulation ends
        (no packer on any shift) get ship_h = inf and count as breaches.
    """
    _check_flow_inputs(orders, packers, policies)
    if len(orders) == 0:
        return _empty_result()
    if start is None:
        start = orders["order_ts"].min().floor("D")
    times = _order_times(orders, config, seed, start, pace)
    wh = orders["warehouse_id"].to_numpy()
    n_packers = {w: int(packers[w]) for w in pd.unique(wh)}
    packed = pack_times(list(policies), times, wh, n_packers, config, workers)
    results = [
        _policy_result(policy, orders, times, *packed[policy], config) for policy in policies
    ]
    return pd.concat(results, ignore_index=True)


def _check_flow_inputs(orders: pd.DataFrame, packers: pd.Series, policies: Sequence[str]) -> None:
    """Raise ValueError when :func:`simulate_order_flow` cannot run on these inputs."""
    need = {"order_id", "channel_id", "warehouse_id", "order_ts", "deadline_ts", "units"}
    missing = need - set(orders.columns)
    if missing:
        raise ValueError(f"orders is missing column(s) {sorted(missing)}; expected {sorted(need)}")
    unknown = sorted(set(orders["warehouse_id"].dropna()) - set(packers.index), key=str)
    if unknown:
        raise ValueError(f"no packers given for warehouse(s) {unknown}")
    if orders["warehouse_id"].isna().any():
        raise ValueError("orders has rows without a warehouse_id")
    bad = [p for p in policies if p not in POLICIES]
    if bad:
        raise ValueError(f"unknown policy {bad}; expected some of {POLICIES}")


def _order_times(
    orders: pd.DataFrame,
    config: SimConfig,
    seed: int,
    start: pd.Timestamp,
    pace: pd.Series | None,
) -> _OrderTimes:
    """Steps 1-3 for all orders at once, and their pack times; the same draws serve every
    policy (the stock-outs are drawn first, then the pack-time noise)."""
    n = len(orders)
    arrive = ((orders["order_ts"] - start).dt.total_seconds() / 3600).to_numpy(float)
    deadline = ((orders["deadline_ts"] - start).dt.total_seconds() / 3600).to_numpy(float)
    units = orders["units"].astype(float).clip(lower=1).to_numpy()
    value = orders["value_score"].to_numpy(float) if "value_score" in orders else np.zeros(n)
    cust = orders["customer_score"].to_numpy(float) if "customer_score" in orders else np.zeros(n)
    rng = np.random.default_rng(seed)
    short = rng.random(n) < config.stockout_prob
    ready = arrive + config.check_minutes / 60 + np.where(short, config.restock_hours, 0.0)
    mean_pack_h = (config.pack_minutes + config.pack_minutes_per_unit * (units - 1)) / 60
    if config.pack_cv > 0:
        s2 = math.log1p(config.pack_cv**2)
        pack_h = mean_pack_h * rng.lognormal(-s2 / 2, math.sqrt(s2), n)
    else:
        pack_h = mean_pack_h
    if pace is not None:
        pack_h = pack_h * orders["warehouse_id"].map(pace).fillna(1.0).to_numpy(float)
    eff_deadline = deadline - config.value_weight_h * value - config.customer_weight_h * cust
    return _OrderTimes(arrive, deadline, ready, pack_h, eff_deadline)


def _policy_result(
    policy: str,
    orders: pd.DataFrame,
    times: _OrderTimes,
    pstart: np.ndarray,
    pend: np.ndarray,
    config: SimConfig,
) -> pd.DataFrame:
    """Step 5 (the next pickup) and the per-order rows of one policy."""
    ship = np.where(
        np.isfinite(pend),
        next_pickup(
            np.where(np.isfinite(pend), pend, 0.0), config.pickup_hours, config.tz_offset_h
        ),
        np.inf,
    )
    late = ship - times.deadline
    return pd.DataFrame(
        {
            "policy": policy,
            "order_id": orders["order_id"].to_numpy(),
            "channel_id": orders["channel_id"].to_numpy(),
            "warehouse_id": orders["warehouse_id"].to_numpy(),
            "ready_h": times.ready,
            "pack_start_h": pstart,
            "pack_end_h": pend,
            "ship_h": ship,
            "deadline_h": times.deadline,
            "cycle_hours": ship - times.arrive,
            "late_hours": np.clip(late, 0.0, None),
            "breach": late > 1e-9,
        }
    )


def _empty_result() -> pd.DataFrame:
    cols = [
        "policy",
        "order_id",
        "channel_id",
        "warehouse_id",
        "ready_h",
        "pack_start_h",
        "pack_end_h",
        "ship_h",
        "deadline_h",
        "cycle_hours",
        "late_hours",
        "breach",
    ]
    return pd.DataFrame({c: pd.Series(dtype=object if c in cols[:4] else float) for c in cols})


# --------------------------------------------------------------------------- summary


def simulation_summary(result: pd.DataFrame) -> pd.DataFrame:
    """The ``fulfilment_sim`` table: one row per policy and channel, plus ``all``.

    Args:
        result: the output of :func:`simulate_order_flow`.

    Returns:
        DataFrame with :data:`SIM_COLUMNS`: policy, channel_id (``"all"`` for the total),
        orders, mean_cycle_hours and p95_cycle_hours (order to ship, hours), sla_breaches
        (orders shipped after their deadline), breach_rate and mean_hours_late (mean
        lateness of the breached orders, hours; 0 when none).
    """
    if result.empty:
        counts = ("orders", "sla_breaches")
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype=object
                    if c in ("policy", "channel_id")
                    else "int64"
                    if c in counts
                    else float
                )
                for c in SIM_COLUMNS
            }
        )
    both = pd.concat([result, result.assign(channel_id="all")], ignore_index=True)
    late = both["late_hours"].where(both["breach"])
    both = both.assign(late_if_breach=late)
    g = both.groupby(["policy", "channel_id"], observed=True, sort=True)
    out = g.agg(
        orders=("order_id", "size"),
        mean_cycle_hours=("cycle_hours", "mean"),
        p95_cycle_hours=("cycle_hours", lambda x: float(np.quantile(x, 0.95))),
        sla_breaches=("breach", "sum"),
        mean_hours_late=("late_if_breach", "mean"),
    ).reset_index()
    out["sla_breaches"] = out["sla_breaches"].astype(int)
    out["breach_rate"] = out["sla_breaches"] / out["orders"]
    out["mean_hours_late"] = out["mean_hours_late"].fillna(0.0)
    return out[SIM_COLUMNS]
