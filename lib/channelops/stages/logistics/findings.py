"""The sentences of the 05 notebook's "What we found", each computed from the numbers it
states. A sentence that compares two options says which way the comparison went."""

from __future__ import annotations

import pandas as pd

from .allocation import TransportResult

__all__ = [
    "orders_sentence",
    "order_counts_sentence",
    "order_flow_finding",
    "allocation_finding",
    "routing_finding",
    "delay_finding",
    "staffing_finding",
]


def orders_sentence(orders: pd.DataFrame, fulfilled: pd.DataFrame) -> str:
    """How many orders 05 serves, the guest orders among them, and how many went through a
    warehouse.

    Guest orders (no customer id: a guest checkout, or a channel that shares no buyer) are
    orders like any other: packed, allocated, routed and late like the rest; only the
    priority policy's customer score is 0 for them.

    Args:
        orders: 03's orders (customer_id; null for a guest order).
        fulfilled: the orders that went through a warehouse
            (:func:`~.prepare.orders_for_logistics`).

    Returns:
        e.g. "1,000 orders, 120 of them guest orders (12.0%), served like any other; 900
        went through a warehouse."

    Raises:
        KeyError: orders has no customer_id.
    """
    return order_counts_sentence(
        len(orders), int(orders["customer_id"].isna().sum()), len(fulfilled)
    )


def order_counts_sentence(n_orders: int, n_guests: int, n_fulfilled: int) -> str:
    """:func:`orders_sentence` from the counts (e.g. counted in DuckDB,
    :func:`~.source.logistics_orders`).

    Args:
        n_orders: 03's orders.
        n_guests: the orders without a customer id.
        n_fulfilled: the orders that went through a warehouse.

    Returns:
        e.g. "1,000 orders, 120 of them guest orders (12.0%), served like any other; 900
        went through a warehouse."

    Raises:
        ValueError: a count is negative, or there are more guests or fulfilled orders
            than orders.
    """
    if min(n_orders, n_guests, n_fulfilled) < 0 or max(n_guests, n_fulfilled) > n_orders:
        raise ValueError(
            f"order counts do not fit: {n_orders} orders, {n_guests} guest orders, "
            f"{n_fulfilled} fulfilled"
        )
    share = f" ({n_guests / n_orders:.1%})" if n_orders else ""
    return (
        f"{n_orders:,} orders, {n_guests:,} of them guest orders{share}, served like any "
        f"other; {n_fulfilled:,} went through a warehouse."
    )


def order_flow_finding(totals: pd.DataFrame, days: int) -> str:
    """SLA breaches of FIFO and of priority over the simulated window, and their price.

    Args:
        totals: :func:`~.order_flow.policy_totals` with rows ``fifo`` and ``priority``
            (orders, sla_breaches, breach_rate; mean_hours_late: mean lateness of the
            breached orders, hours; the lateness sentence is left out without it).
        days: length of the simulated window, days.

    Returns:
        Two sentences: each policy's late orders (count and share of the orders) and which
        way priority moved them; then whether the orders that are still late become later
        or less late by priority (mean hours late under each), or that no order is late.

    Raises:
        ValueError: a policy is missing.
    """
    missing = sorted({"fifo", "priority"} - set(totals.index))
    if missing:
        raise ValueError(f"no totals for policy {missing}")
    fifo_b = int(totals.loc["fifo", "sla_breaches"])
    prio_b = int(totals.loc["priority", "sla_breaches"])
    orders = int(totals.loc["fifo", "orders"])
    if fifo_b == prio_b == 0:
        return (
            f"In the {days} busiest days, none of the {orders:,} orders shipped after its "
            "deadline under either policy, so the packing order does not matter in this window."
        )

    def share(n: int) -> str:
        return f" ({n / orders:.1%})" if orders else ""

    if prio_b < fifo_b:
        turn = f"priority keeps {fifo_b - prio_b:,} more orders on time"
    elif prio_b > fifo_b:
        turn = f"priority makes {prio_b - fifo_b:,} more orders late"
    else:
        turn = "the same number"
    text = (
        f"In the {days} busiest days, {fifo_b:,} of {orders:,} orders{share(fifo_b)} shipped "
        f"after their deadline first in first out and {prio_b:,}{share(prio_b)} by priority: "
        f"{turn}."
    )
    if "mean_hours_late" not in totals.columns or not (fifo_b and prio_b):
        return text
    late_f = float(totals.loc["fifo", "mean_hours_late"])
    late_p = float(totals.loc["priority", "mean_hours_late"])
    if round(late_p, 1) > round(late_f, 1):
        return text + (
            f" The price: an order that is late anyway is later by priority, {late_p:,.1f} h "
            f"past its deadline on average against {late_f:,.1f} h first in first out."
        )
    if round(late_p, 1) < round(late_f, 1):
        return text + (
            f" The late orders are also less late by priority: {late_p:,.1f} h past their "
            f"deadline on average against {late_f:,.1f} h first in first out."
        )
    return text + f" The late orders are {late_f:,.1f} h past their deadline on average under both."


def allocation_finding(pooled: TransportResult, own: TransportResult, currency: str) -> str:
    """Daily cost of the pooled and own-warehouse layouts, and the most valuable capacity.

    Args:
        pooled: the pooled allocation.
        own: the own-warehouse allocation.
        currency: the base currency's code, e.g. ``"CNY"``.

    Returns:
        One sentence: both daily costs (currency per day) and the warehouse with the
        highest shadow price (currency per day per extra order of daily capacity), or
        that no warehouse is full.

    Raises:
        ValueError: the pooled allocation has no warehouses.
    """
    prices = pooled.shadow_prices
    if prices.empty:
        raise ValueError("the pooled allocation has no warehouses")
    top = prices.max()
    text = (
        f"Letting every channel use every warehouse costs {pooled.total_cost:,.0f} {currency} "
        f"a day against {own.total_cost:,.0f} {currency} with each channel on its own "
        "warehouse; "
    )
    if top > 0:
        return text + (
            f"the warehouse whose capacity is worth most is {prices.idxmax()} at "
            f"{top:.2f} {currency} a day per extra order of daily capacity."
        )
    return text + "no warehouse is full in the pooled plan, so extra capacity would save nothing."


def routing_finding(
    day: pd.Timestamp, warehouse_id: str, summary: pd.DataFrame, saving: float
) -> str:
    """PyVRP's plan for the routed day against the nearest-neighbour rule.

    Args:
        day: the routed day.
        warehouse_id: the depot.
        summary: :func:`~.delivery.route_cost_summary` with a ``pyvrp`` row.
        saving: :func:`~.delivery.route_saving` (share of the baseline's cost).

    Returns:
        One sentence with PyVRP's km and vehicles and how much cheaper (or dearer) it is.

    Raises:
        ValueError: no ``pyvrp`` row.
    """
    if "pyvrp" not in summary.index:
        raise ValueError("route summary has no 'pyvrp' row")
    km = summary.loc["pyvrp", "distance_km"]
    vehicles = summary.loc["pyvrp", "vehicles"]
    than = f"{saving:.0%} cheaper than" if saving >= 0 else f"{-saving:.0%} dearer than"
    return (
        f"On {day.date()} PyVRP routes {warehouse_id}'s parcels in {km:,.0f} km with "
        f"{vehicles} vehicle{'' if vehicles == 1 else 's'}, {than} the nearest-neighbour rule."
    )


def delay_finding(
    overall: pd.Series, speeds: pd.DataFrame, channels: pd.DataFrame | None = None
) -> str:
    """The on-time rate, the least and most punctual channel, and the fastest and slowest
    carrier at equal conditions.

    Args:
        overall: :func:`~.delays.overall_delays` (on_time_rate, a share).
        speeds: :func:`~.delays.carrier_speeds`, fastest first (may be empty when the
            shipments could not be placed on a map).
        channels: the ``channel`` rows of :func:`~.delays.delay_summary` (key,
            delivered, on_time_rate); None or fewer than two rows leaves the channels out.

    Returns:
        One sentence.

    Raises:
        ValueError: ``overall`` has no on_time_rate.
    """
    if "on_time_rate" not in overall.index:
        raise ValueError("overall has no on_time_rate")
    text = f"{overall['on_time_rate']:.0%} of deliveries arrive on time"
    if channels is not None and len(channels.dropna(subset=["on_time_rate"])) >= 2:
        ranked = channels.dropna(subset=["on_time_rate"]).sort_values("on_time_rate")
        worst, best = ranked.iloc[0], ranked.iloc[-1]
        text += (
            f", from {worst['on_time_rate']:.0%} of {int(worst['delivered']):,} on "
            f"{worst['key']}, the least punctual channel, to {best['on_time_rate']:.0%} on "
            f"{best['key']}"
        )
    if speeds.empty:
        return text + "; without distances the carriers' speeds are not compared."
    return (
        text + "; at equal distance, channel and handling the fastest carrier is "
        f"{speeds.iloc[0]['level']} and the slowest {speeds.iloc[-1]['level']}."
    )


def staffing_finding(
    staffing: pd.DataFrame,
    separate_cost: float,
    pooled_cost: float,
    target_service_level: float,
    target_wait_s: float,
) -> str:
    """Peak agents on the pooled desk and what pooling saves against a desk per channel.

    Args:
        staffing: the ``staffing_plan`` table with a ``pooled`` queue.
        separate_cost, pooled_cost: :func:`~.service_desk.queue_costs`, currency.
        target_service_level: share of contacts answered within the target.
        target_wait_s: the answer-time target, seconds.

    Returns:
        One sentence.

    Raises:
        ValueError: no pooled queue, or a non-positive separate cost.
    """
    pooled = staffing.loc[staffing["queue"] == "pooled", "scheduled_agents"]
    if pooled.empty:
        raise ValueError("staffing has no pooled queue")
    if separate_cost <= 0:
        raise ValueError(f"separate_cost must be positive, got {separate_cost}")
    saving = 1 - pooled_cost / separate_cost
    than = f"{saving:.0%} cheaper than" if saving >= 0 else f"{-saving:.0%} dearer than"
    return (
        f"Answering {target_service_level:.0%} of contacts within {target_wait_s} s needs up "
        f"to {int(pooled.max())} scheduled agents an hour on one pooled desk, {than} a desk "
        "per channel."
    )
